//! Token authentication for handlers: the [`Authenticated`] and [`Active`] extractors and
//! the [`AuthLayer`] tower layer, for tessera's own router and for services that embed the
//! engine.
//!
//! The token is read from the `X-DPT-AUTHORIZATION` header only (any letter case, as HTTP
//! header names are case-insensitive), given exactly once. Never from the query string, never
//! from `Authorization: Bearer`. A token that is wrong, revoked or expired answers one 401
//! body for all; only a request without the header (or with it twice, or with the token in
//! `Authorization: Bearer`) gets a 401 whose message says so. A storage failure during the
//! check answers 503 (never a success).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use tessera_core::{Engine, Principal};

use super::error::ApiError;
use super::metrics::Metrics;
use crate::AppState;

/// The authorization header (Privicore's name; matched case-insensitively).
pub const AUTH_HEADER: &str = "x-dpt-authorization";
/// [`AUTH_HEADER`] as a header name, made once (a `&str` name is parsed at every lookup).
const AUTH: HeaderName = HeaderName::from_static(AUTH_HEADER);

/// Verify the `X-DPT-AUTHORIZATION` header of `headers` with `engine`.
pub async fn verify_headers(engine: &Engine, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let mut values = headers.get_all(&AUTH).iter();
    let value = match (values.next(), values.next()) {
        (Some(value), None) => value,
        (Some(_), Some(_)) => {
            return Err(ApiError::unauthorized_hint(
                "send the X-DPT-AUTHORIZATION header once",
            ));
        }
        (None, _) if headers.contains_key(axum::http::header::AUTHORIZATION) => {
            return Err(ApiError::unauthorized_hint(
                "send the token in the X-DPT-AUTHORIZATION header, not in Authorization",
            ));
        }
        (None, _) => {
            return Err(ApiError::unauthorized_hint(
                "this route needs an authorization token in the X-DPT-AUTHORIZATION header",
            ));
        }
    };
    let text = value.to_str().map_err(|_| ApiError::unauthorized())?;
    Ok(engine.verify(text).await?)
}

/// The principal of the request's token. On tessera's own router (the engine from its
/// [`AppState`], `state`) each handler has one extractor that asks, so the check runs
/// there; under an embedder's [`AuthLayer`] the first layer or extractor that asks puts the
/// principal into the extensions and the others reuse it.
async fn principal_of(parts: &mut Parts, state: Option<&AppState>) -> Result<Principal, ApiError> {
    if let Some(p) = parts.extensions.get::<Principal>() {
        return Ok(p.clone());
    }
    let ext = &parts.extensions;
    let (engine, metrics, from_layer): (&Engine, Option<&Metrics>, bool) =
        if let Some(state) = state {
            (&state.engine, Some(&state.metrics), false)
        } else if let Some(engine) = ext.get::<Arc<Engine>>() {
            (engine, ext.get::<Arc<Metrics>>().map(|m| &**m), true)
        } else {
            tracing::error!("Authenticated used without AuthLayer: no engine in the request");
            return Err(ApiError::from_status(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            ));
        };
    let result = verify_headers(engine, &parts.headers).await;
    if let Some(m) = metrics {
        m.token_verified(result.is_ok());
    }
    let principal = result?;
    if from_layer {
        parts.extensions.insert(principal.clone());
    }
    Ok(principal)
}

/// The holder of a valid authorization token, in any state: the handler applies the state
/// rules (or the engine does). Needs [`AuthLayer`] (any mode) on the route, which provides
/// the engine; tessera's own [`super::router`] has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync + 'static> FromRequestParts<S> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        principal_of(parts, AppState::of(state)).await.map(Self)
    }
}

/// The holder of a valid token of an **active** profile; other states answer 403 with the
/// state's code (`profile_incomplete`, `device_pending`, `device_rejected`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active(pub Principal);

impl<S: Send + Sync + 'static> FromRequestParts<S> for Active {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let p = principal_of(parts, AppState::of(state)).await?;
        p.require_active()?;
        Ok(Self(p))
    }
}

/// What [`AuthLayer`] demands of each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only make the engine available to the extractors.
    Attach,
    /// A valid token (401 otherwise).
    Token,
    /// A valid token of an active profile (401 / 403 otherwise).
    Active,
}

/// A tower layer that verifies `X-DPT-AUTHORIZATION` against an engine.
///
/// - [`AuthLayer::new`]: no check; makes the engine available to [`Authenticated`] and
///   [`Active`] below it (routes may mix public and protected handlers).
/// - [`AuthLayer::require_token`]: every request needs a valid token (401 otherwise).
/// - [`AuthLayer::require_active`]: and an active profile (403 with the state's code).
///
/// On success the [`Principal`] is put into the request extensions.
#[derive(Debug, Clone)]
pub struct AuthLayer {
    engine: Arc<Engine>,
    mode: Mode,
}

impl AuthLayer {
    /// Attach `engine` for the extractors, checking nothing by itself.
    #[must_use]
    pub const fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            mode: Mode::Attach,
        }
    }

    /// Refuse requests without a valid token (401).
    #[must_use]
    pub fn require_token(self) -> Self {
        Self {
            mode: Mode::Token,
            ..self
        }
    }

    /// Refuse requests without a valid token of an active profile (401 / 403).
    #[must_use]
    pub fn require_active(self) -> Self {
        Self {
            mode: Mode::Active,
            ..self
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> tower::Service<Request> for AuthService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The ready service is the one to call; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let AuthLayer { engine, mode } = self.layer.clone();
        Box::pin(async move {
            req.extensions_mut().insert(Arc::clone(&engine));
            if mode != Mode::Attach {
                let (mut parts, body) = req.into_parts();
                let checked = principal_of(&mut parts, None).await.and_then(|p| {
                    if mode == Mode::Active {
                        p.require_active()?;
                    }
                    Ok(p)
                });
                if let Err(e) = checked {
                    return Ok(e.into_response());
                }
                req = Request::from_parts(parts, body);
            }
            inner.call(req).await
        })
    }
}
