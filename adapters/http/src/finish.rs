//! The one layer of the router: request id and span, the handler timeout (408), the
//! breaker, metrics, JSON bodies for bare errors, the request id in 5xx bodies and one error
//! line per 5xx with that id. (The extractors, [`crate::Authenticated`], [`crate::Form`],
//! [`crate::JsonBody`], find the [`AppState`] as the router's state: nothing is put into
//! the request's extensions.)
//!
//! One layer rather than a stack: `Router::layer` wraps every route in one boxed service per
//! layer, and each level costs a clone and a boxed future per request. The timeout is lazy:
//! a handler that is done on its first poll (most are: the token check reads a cache) never
//! arms a timer.
//!
//! The request span is at `debug` level: at `info` no span is made per request (an `info`
//! span formats its fields for every request); the audit lines and the error lines stay.
//!
//! A tower layer rather than `middleware::from_fn`: the layer makes one service per route,
//! and that service keeps its route's [`RouteMetrics`] handle once resolved, so a request
//! looks nothing up by name. What the service and its future hold is one `Arc` (axum clones
//! the service for every request, and each reference count shared by the CPUs is a cache
//! line they pass between them).

use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};
use tracing::Instrument as _;
use uuid::fmt::Hyphenated;

use crate::error::ErrorDetail;
use crate::health::Health;
use crate::metrics::{RouteMetrics, UNMATCHED};
use crate::{AppState, ErrorBody, REQUEST_ID_HEADER, json_error};

/// [`REQUEST_ID_HEADER`] as a header name, made once (a `&str` name is parsed and copied
/// at every insert).
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// Makes [`Finish`] services sharing one state.
#[derive(Debug, Clone)]
pub(crate) struct FinishLayer {
    state: AppState,
}

impl FinishLayer {
    pub(crate) const fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> tower::Layer<S> for FinishLayer {
    type Service = Finish<S>;

    fn layer(&self, inner: S) -> Finish<S> {
        Finish {
            inner,
            shared: Arc::new(Shared {
                state: self.state.clone(),
                route: OnceLock::new(),
            }),
        }
    }
}

/// The service of [`FinishLayer`] around one route (or the fallback).
#[derive(Debug, Clone)]
pub(crate) struct Finish<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// What a [`Finish`] service and its requests share.
#[derive(Debug)]
struct Shared {
    state: AppState,
    /// The metrics of the route this service serves, resolved on its first request.
    route: OnceLock<Arc<RouteMetrics>>,
}

/// What a request's future keeps of its service: the shared part, and the metrics of its
/// route when the matched path is not the service's (never, as the router makes one
/// service per route).
struct Route {
    shared: Arc<Shared>,
    other: Option<Arc<RouteMetrics>>,
}

impl Route {
    /// The route of a request with `extensions` on `shared`'s service.
    fn of(shared: &Arc<Shared>, extensions: &axum::http::Extensions) -> Self {
        let path = extensions
            .get::<MatchedPath>()
            .map_or(UNMATCHED, MatchedPath::as_str);
        let cached = shared
            .route
            .get_or_init(|| shared.state.metrics.route(path));
        let other = (cached.route() != path).then(|| shared.state.metrics.route(path));
        Self {
            shared: Arc::clone(shared),
            other,
        }
    }

    /// The route's metrics (`None` never: `Route::of` fills the service's cell).
    fn metrics(&self) -> Option<&RouteMetrics> {
        self.other
            .as_deref()
            .or_else(|| self.shared.route.get().map(|r| &**r))
    }

    /// The route's label.
    fn route(&self) -> &'static str {
        self.metrics().map_or(UNMATCHED, RouteMetrics::route)
    }

    /// Count one finished request.
    fn record(&self, method: &Method, status: u16, elapsed: std::time::Duration) {
        if let Some(m) = self.metrics() {
            m.record(method, status, elapsed);
        }
    }
}

impl<S> tower::Service<Request> for Finish<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let started = tokio::time::Instant::now();
        let route = Route::of(&self.shared, req.extensions());
        let state = &route.shared.state;
        let deadline = started + state.cfg.request_timeout;
        let health = &state.health;
        health.start();
        // the breaker: while the store is known down, a route that needs it answers at once
        let open = health.is_down() && needs_store(route.route());
        let id = crate::request_id::next();
        let method = req.method().clone();
        // Off by default (`TESSERA_LOG=tessera_http=debug` turns it on): an `info` span would
        // format its fields for every request.
        let span = tracing::debug_span!("request", request_id = %id, method = %method, route = route.route());
        // `poll_ready` readied `self.inner` (axum calls a fresh clone of this service per
        // request), so it is the one to call.
        let handler = (!open).then(|| self.inner.call(req).instrument(span.clone()));
        Box::pin(async move {
            let mut res = match handler {
                Some(handler) => within(deadline, handler).await,
                None if is_page(route.route()) => {
                    crate::pages::storage_unavailable_page().into_response()
                }
                None => crate::ApiError::storage_unavailable().into_response(),
            };
            let status = res.status();
            let mut buf = [0u8; Hyphenated::LENGTH];
            let id: &str = id.hyphenated().encode_lower(&mut buf);
            // a breaker answer is not a new failure: no error line per refused request
            if status.is_server_error() && !open {
                failed(&res, id, &method, route.route(), &route.shared.state.health);
            }
            if status.is_client_error() || status.is_server_error() {
                res = json_error(res, id);
            }
            if let Ok(v) = HeaderValue::from_str(id) {
                res.headers_mut().insert(REQUEST_ID, v);
            }
            route.record(&method, status.as_u16(), started.elapsed());
            span.in_scope(|| tracing::debug!(status = status.as_u16(), "request finished"));
            Ok(res)
        })
    }
}

/// The handler's response, or a bare 408 (given its JSON body by [`json_error`]) once
/// `deadline` passes. The timer is armed only if the handler is not done on its first poll.
async fn within<F>(deadline: tokio::time::Instant, handler: F) -> Response
where
    F: Future<Output = Result<Response, Infallible>>,
{
    let mut handler = pin!(handler);
    let first = poll_fn(|cx| Poll::Ready(handler.as_mut().poll(cx))).await;
    let done = match first {
        Poll::Ready(done) => done,
        Poll::Pending => match tokio::time::timeout_at(deadline, handler).await {
            Ok(done) => done,
            Err(_) => return StatusCode::REQUEST_TIMEOUT.into_response(),
        },
    };
    match done {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// Whether a route needs the store (the breaker answers for it while the store is down):
/// all but health (it answers from the prober's state), metrics, the OpenAPI document, key
/// generation, the pages' stylesheet, the `/.well-known/` documents (discovery is
/// configuration; the JWKS keys are in memory once loaded, and their handler answers 503
/// itself when they are not) and unmatched paths.
fn needs_store(route: &str) -> bool {
    !route.starts_with("/.well-known/")
        && !matches!(
            route,
            "/utility/check-server-health"
                | "/metrics"
                | "/openapi.json"
                | "/generate-keys"
                | "/assets/tessera.css"
                | crate::metrics::UNMATCHED
        )
}

/// Whether a route is a page a person sees (the OAuth sign-in pages, the account console):
/// the breaker answers it with the HTML error page rather than a JSON body.
fn is_page(route: &str) -> bool {
    route.starts_with("/account")
        || matches!(
            route,
            "/oauth2/authorize"
                | "/oauth2/continue"
                | "/oauth2/login"
                | "/oauth2/new-password"
                | "/oauth2/consent"
                | "/oauth2/cancel"
                | "/oauth-application/request-authorization-code"
        )
}

/// A 5xx: one error line with the request id (the one its body shows) and the detail, if
/// the error had one (not for 503 `overloaded`); a storage failure marks the store down for
/// the health check.
fn failed(res: &Response, id: &str, method: &Method, route: &'static str, health: &Health) {
    let code = res
        .extensions()
        .get::<ErrorBody>()
        .map(|b| b.error.as_str());
    let detail = res.extensions().get::<ErrorDetail>().map(|d| d.0.as_str());
    match code {
        Some("storage_unavailable") => health.mark_down(),
        // load shedding, not a failure (and logging every shed request would add load)
        Some("overloaded") => return,
        _ => {}
    }
    tracing::error!(
        request_id = %id,
        method = %method,
        route,
        status = res.status().as_u16(),
        error = code.unwrap_or("-"),
        detail = detail.unwrap_or("-"),
        "request failed"
    );
}
