//! # tessera-http
//!
//! The HTTP adapter: the Privicore-compatible API of `docs/API.md` on axum, plus the JSON
//! token API (`/v1/login`…), the users API (`/v1/users/…`), `/.well-known/jwks.json` and
//! the OAuth 2.1 / OpenID Connect provider's back channel (`/oauth-application/…`,
//! `/oauth2/token`, `/oauth2/userinfo`, `/oauth2/introspect`, `/oauth2/revoke`,
//! `/oauth2/jwks`, the discovery documents).
//!
//! [`app()`] builds the whole API over an `Arc<Engine>` as one service, [`App`] ([`router`]
//! gives it as an axum `Router`, to nest in your own). Handlers are thin: extract (the
//! strict [`Form`] or [`JsonBody`], the [`Authenticated`] token check, the [`ApiKey`] check),
//! read the route's typed request body from it, make one engine call, return a typed serde
//! reply; every error goes through [`ApiError`]. The `#[utoipa::path]` on each handler and
//! those types are what `GET /openapi.json` serves (one shape per wire type). Around the
//! routes, once per request, [`App`] adds a request id and a tracing span, metrics by route
//! label, a handler timeout (408), the breaker, and a final pass that gives every error
//! response (including the framework's own 404/405/413) the JSON error body.
//!
//! The router also serves `GET /ws`, the command channel of [`crate::ws`].
//!
//! Services that embed the engine use [`AuthLayer`] with [`Authenticated`] / [`Active`].
//! [`server::serve`] is the hardened accept loop (connection limit, header read timeout,
//! graceful shutdown) the `tessera` binary runs the [`App`] on.
//!
//! This crate depends on `tessera-core` only: no storage backend, no CLI. The `tessera`
//! binary (crate `tessera-server`) adds those.

#![forbid(unsafe_code)]

mod api_key;
mod app;
mod auth;
mod connection;
mod error;
mod fields;
mod finish;
pub mod form;
mod health;
mod json;
pub mod metrics;
mod oauth_wire;
pub mod openapi;
mod pages;
mod qr_svg;
mod query;
mod reply;
mod request_id;
mod routes;
pub mod server;
mod watchdog;
pub mod ws;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::Engine;

pub use api_key::{API_KEY_HEADER, ApiKey};
pub use app::App;
pub use auth::{AUTH_HEADER, Active, AuthLayer, AuthService, Authenticated, verify_headers};
pub use error::{ApiError, ErrorBody};
pub use finish::Finishing;
pub use form::{BODY_LIMIT, Form};
pub use json::JsonBody;
pub use metrics::Metrics;

/// `Content-Type` of every JSON reply.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";
/// The header carrying a command id (Privicore).
pub const CAB_ID_HEADER: &str = "x-dpt-cab-id";
/// The header carrying the request id of every reply.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Settings of the HTTP layer (the engine has its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Largest request body, in bytes (default 16 KiB). `PUT /v1/users/{externalId}`
    /// accepts 16 KiB more, so that its metadata object (up to 16 KiB) fits.
    pub body_limit: usize,
    /// Longest time a request may take, body read included, before a 408 (default 30 s).
    pub request_timeout: Duration,
    /// Serve `GET /generate-keys` (default true; a development convenience).
    pub generate_keys: bool,
    /// Serve `GET /metrics` on this router (default true; false when it has its own
    /// listener).
    pub metrics_route: bool,
    /// The `/ws` channel's settings.
    pub ws: crate::ws::WsConfig,
    /// How often the background prober probes the store (default 100 ms): the health
    /// route answers from its last probe, and while the store is down the breaker answers
    /// 503 `storage_unavailable` at once.
    pub health_interval: Duration,
    /// Longest wait for one probe (default 1 s); a slower store counts as down.
    pub health_probe_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: form::BODY_LIMIT,
            request_timeout: Duration::from_secs(30),
            generate_keys: true,
            metrics_route: true,
            ws: crate::ws::WsConfig::default(),
            health_interval: Duration::from_millis(100),
            health_probe_timeout: Duration::from_secs(1),
        }
    }
}

/// What every handler gets: one `Arc`, so that the per-request clone of the `State`
/// extractor is one reference count, not one per part.
#[derive(Debug, Clone)]
pub struct AppState(Arc<AppParts>);

/// The parts of [`AppState`] (reached through it by `Deref`).
#[derive(Debug)]
pub struct AppParts {
    /// The engine.
    pub engine: Arc<Engine>,
    /// HTTP settings.
    pub cfg: Arc<HttpConfig>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The open `/ws` channels.
    pub channels: Arc<crate::ws::Channels>,
    /// The storage state the health check answers from.
    pub(crate) health: Arc<health::Health>,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl AppState {
    /// A router's state as an [`AppState`], when it is one (on tessera's own router). The
    /// extractors are generic over the state, so that they also serve an embedder's router
    /// (under [`AuthLayer`], with the embedder's state); on tessera's they find the engine
    /// and the settings here, with no per-request copy into the request's extensions.
    pub(crate) fn of<S: 'static>(state: &S) -> Option<&Self> {
        (state as &dyn std::any::Any).downcast_ref()
    }
}

/// The whole HTTP API over `engine`, as an axum `Router` (to serve, or to nest in a router
/// of your own). [`app()`] is the same API as one service, the form
/// [`server::serve`] runs (one service level less per request).
pub fn router(engine: Arc<Engine>, cfg: HttpConfig) -> Router {
    Router::new().fallback_service(app(engine, cfg))
}

/// The whole HTTP API over `engine`.
pub fn app(engine: Arc<Engine>, cfg: HttpConfig) -> App {
    app_with_metrics(engine, cfg, Arc::new(Metrics::default()))
}

/// [`app()`] with a given metrics registry (shared with a separate metrics listener).
pub fn app_with_metrics(engine: Arc<Engine>, cfg: HttpConfig, metrics: Arc<Metrics>) -> App {
    let state = AppState(Arc::new(AppParts {
        channels: Arc::new(crate::ws::Channels::new(cfg.ws.max_channels)),
        health: Arc::new(health::Health::new(
            &engine,
            cfg.health_interval,
            cfg.health_probe_timeout,
        )),
        engine,
        cfg: Arc::new(cfg),
        metrics,
    }));
    let mut routes = routes::profile::routes()
        .merge(routes::keys::routes())
        .merge(routes::device::routes())
        .merge(routes::directory::routes())
        .merge(routes::utility::routes())
        .merge(routes::token_api::routes())
        .merge(routes::password_reset::routes())
        .merge(routes::users::routes(state.cfg.body_limit))
        .merge(routes::jwks::routes())
        .merge(routes::oauth_applications::routes())
        .merge(routes::oauth_access_token::routes())
        .merge(routes::oauth_token::routes())
        .merge(routes::oauth_userinfo::routes())
        .merge(routes::oauth_introspection::routes())
        .merge(routes::oauth_discovery::routes())
        .merge(routes::authorize::routes())
        .merge(routes::account::routes())
        .merge(crate::ws::routes());
    if state.cfg.metrics_route {
        routes = routes.merge(metrics_routes());
    }
    App::new(routes, Router::new().fallback(not_found), state)
}

/// A router serving only `GET /metrics` (for `--metrics-listen`).
pub fn metrics_only(engine: Arc<Engine>, metrics: Arc<Metrics>) -> Router {
    let cfg = HttpConfig::default();
    let state = AppState(Arc::new(AppParts {
        health: Arc::new(health::Health::new(
            &engine,
            cfg.health_interval,
            cfg.health_probe_timeout,
        )),
        engine,
        cfg: Arc::new(cfg),
        metrics,
        channels: Arc::new(crate::ws::Channels::new(1)),
    }));
    let (routes, _) = metrics_routes().into_parts();
    routes.fallback(not_found).with_state(state)
}

fn metrics_routes() -> routes::Routes {
    routes::Routes::new().route("/metrics", axum::routing::get(routes::utility::metrics))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Give an error response the JSON error body (framework-made ones have none), with the
/// request id on 5xx.
fn json_error(res: Response, request_id: &str) -> Response {
    let status = res.status();
    let mut body = match res.extensions().get::<ErrorBody>() {
        // rendered by ApiError: complete unless the request id is missing
        Some(_) if !status.is_server_error() => return res,
        Some(b) => b.clone(),
        // JSON already, or an HTML error page of the OAuth front channel
        None if is_json(&res) || is_html(&res) => return res,
        None => ApiError::from_status(status).body(),
    };
    if status.is_server_error() {
        body.request_id = Some(request_id.to_owned());
    }
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.extensions.insert(body.clone());
    Response::from_parts(parts, json_bytes(&body).into())
}

fn is_html(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == pages::HTML.as_bytes())
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Serialize `value` to JSON bytes (our types always serialize).
pub(crate) fn json_bytes<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

/// A JSON reply of `value` with `Content-Type: application/json; charset=utf-8`.
pub(crate) fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_body(status, json_bytes(value))
}

/// A reply of `body`, JSON already, with `Content-Type: application/json; charset=utf-8`.
pub(crate) fn json_body(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        )],
        body.into(),
    )
        .into_response()
}

/// The 202 of a command the engine recorded (with its change, in one transaction):
/// `X-DPT-CAB-ID` and `["<id>"]`.
pub(crate) fn accepted<T>(done: &tessera_core::Accepted<T>) -> reply::Accepted {
    reply::Accepted(done.command.id.hyphenated().to_string())
}
