//! What [`crate::App`] does around every request once its handler has answered (or the
//! breaker has, or the handler timeout): the request id header, one error line per 5xx
//! with that id (and the id in its body), the JSON error body of bare errors, metrics,
//! the end of the request's span. (The extractors, [`crate::Authenticated`],
//! [`crate::Form`], [`crate::JsonBody`], find the [`crate::AppState`] as the router's state:
//! nothing is put into the request's extensions.)
//!
//! [`Finishing`] is a named future rather than a boxed `async` block: the server's
//! connection polls it in place. The timeout is lazy: a handler that is done on its first
//! poll (most are: the token check reads a cache) never arms a timer.
//!
//! The request span is at `debug` level: at `info` no span is made per request (an `info`
//! span formats its fields for every request); the audit lines and the error lines stay.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::http::{HeaderName, Method, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::future::RouteFuture;
use tokio::time::{Instant, Sleep};
use tracing::instrument::Instrumented;
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use crate::app::Shared;
use crate::error::ErrorDetail;
use crate::health::Health;
use crate::{ErrorBody, REQUEST_ID_HEADER, json_error};

/// [`REQUEST_ID_HEADER`] as a header name, made once (a `&str` name is parsed and copied
/// at every insert).
const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);

/// The router's future, as [`crate::App`] calls it.
type Handler = Instrumented<RouteFuture<Infallible>>;

pin_project_lite::pin_project! {
    /// The response of one request to [`crate::App`].
    pub struct Finishing {
        // `None` when the breaker answered, and once the handler has
        #[pin]
        handler: Option<Handler>,
        // armed when the handler is not done on its first poll
        timer: Option<Pin<Box<Sleep>>>,
        started: Instant,
        id: Uuid,
        method: Method,
        span: tracing::Span,
        shared: Arc<Shared>,
        route: Option<usize>,
    }
}

impl std::fmt::Debug for Finishing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finishing")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("route", &self.shared.entry(self.route).label)
            .finish_non_exhaustive()
    }
}

impl Finishing {
    /// The request `id` to the route at `route` of `shared` (`None`: unmatched), by `method`;
    /// `handler` is `None` when the breaker answers.
    pub(crate) fn new(
        shared: Arc<Shared>,
        route: Option<usize>,
        id: Uuid,
        method: Method,
        span: tracing::Span,
        handler: Option<Handler>,
    ) -> Self {
        Self {
            handler,
            timer: None,
            started: Instant::now(),
            id,
            method,
            span,
            shared,
            route,
        }
    }
}

impl Future for Finishing {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let entry = this.shared.entry(*this.route);
        let state = &this.shared.state;
        let breaker = this.handler.is_none();
        let res = match this.handler.as_mut().as_pin_mut() {
            None if entry.is_page => crate::pages::storage_unavailable_page().into_response(),
            None => crate::ApiError::storage_unavailable().into_response(),
            Some(handler) => match handler.poll(cx) {
                Poll::Ready(Ok(res)) => res,
                Poll::Ready(Err(never)) => match never {},
                Poll::Pending => {
                    let deadline = *this.started + state.cfg.request_timeout;
                    let timer = this
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    ready!(timer.as_mut().poll(cx));
                    StatusCode::REQUEST_TIMEOUT.into_response()
                }
            },
        };
        // done: a later poll answers the breaker's way rather than polling a finished future
        this.handler.set(None);
        let status = res.status();
        let mut buf = [0u8; Hyphenated::LENGTH];
        let id: &str = this.id.hyphenated().encode_lower(&mut buf);
        // a breaker answer is not a new failure: no error line per refused request
        if status.is_server_error() && !breaker {
            failed(&res, id, this.method, entry.label, &state.health);
        }
        let mut res = if status.is_client_error() || status.is_server_error() {
            json_error(res, id)
        } else {
            res
        };
        res.headers_mut()
            .insert(REQUEST_ID, crate::request_id::header(id));
        entry
            .metrics(state)
            .record(this.method, status.as_u16(), this.started.elapsed());
        this.span
            .in_scope(|| tracing::debug!(status = status.as_u16(), "request finished"));
        Poll::Ready(Ok(res))
    }
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
