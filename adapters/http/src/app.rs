//! [`App`]: the whole API as one tower service, the routes and, around them once per
//! request, what [`crate::finish`] does (request id, span, handler timeout, breaker,
//! metrics, JSON error bodies).
//!
//! The request's route label (its path template, for metrics, the breaker and the error
//! page) is found here in a table of the routes' templates, before the router is called,
//! rather than by a layer on every route: `Router::layer` wraps each route in one more boxed
//! service that axum clones (an allocation) and calls through a boxed future for every
//! request. The table is built from the same [`Routes`] list the router is, so the two
//! cannot disagree (`matchit`, the matcher axum uses, on the same templates).

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::response::Response;
use tracing::Instrument as _;

use crate::AppState;
use crate::finish::Finishing;
use crate::metrics::{RouteMetrics, UNMATCHED};
use crate::routes::Routes;

/// The whole HTTP API over one engine: what [`crate::app()`] builds and
/// [`crate::server::serve`] runs. Cheap to clone (two reference counts).
///
/// It is a `tower::Service` for any `http_body::Body` (as a `Router` is); to put it in an
/// axum `Router` of your own, use `Router::fallback_service` or `nest_service` (or take
/// [`crate::router`], which is that).
#[derive(Debug, Clone)]
pub struct App {
    routes: Router,
    shared: Arc<Shared>,
}

/// What [`App`]'s clones and their requests share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) state: AppState,
    table: matchit::Router<usize>,
    entries: Box<[RouteEntry]>,
    unmatched: RouteEntry,
}

/// One route label and what is known of it before its first request.
#[derive(Debug)]
pub(crate) struct RouteEntry {
    /// The path template, or [`UNMATCHED`].
    pub(crate) label: &'static str,
    /// The breaker answers for it while the store is down.
    pub(crate) needs_store: bool,
    /// A page a person sees: the breaker's answer is the HTML error page.
    pub(crate) is_page: bool,
    /// Its metrics handle, made on its first request (so `/metrics` lists the routes that
    /// were asked for, as before).
    metrics: OnceLock<Arc<RouteMetrics>>,
}

impl RouteEntry {
    fn new(label: &'static str) -> Self {
        Self {
            label,
            needs_store: needs_store(label),
            is_page: is_page(label),
            metrics: OnceLock::new(),
        }
    }

    /// The route's metrics handle in `state`'s registry.
    pub(crate) fn metrics(&self, state: &AppState) -> &RouteMetrics {
        self.metrics.get_or_init(|| state.metrics.route(self.label))
    }
}

impl Shared {
    /// The entry at `index` (from [`Self::find`]).
    pub(crate) fn entry(&self, index: Option<usize>) -> &RouteEntry {
        index
            .and_then(|i| self.entries.get(i))
            .unwrap_or(&self.unmatched)
    }

    /// The index of the route serving `path`, if one does.
    fn find(&self, path: &str) -> Option<usize> {
        self.table.at(path).ok().map(|m| *m.value)
    }
}

impl App {
    /// `routes` with the unmatched fallback `fallback`, over `state`.
    pub(crate) fn new(routes: Routes, fallback: Router<AppState>, state: AppState) -> Self {
        let (router, paths) = routes.into_parts();
        let mut table = matchit::Router::new();
        let mut entries = Vec::with_capacity(paths.len());
        for path in paths {
            // a template given twice (two method routers merged by axum) is one route
            if table.insert(path, entries.len()).is_ok() {
                entries.push(RouteEntry::new(path));
            }
        }
        Self {
            routes: router.merge(fallback).with_state(state.clone()),
            shared: Arc::new(Shared {
                state,
                table,
                entries: entries.into_boxed_slice(),
                unmatched: RouteEntry::new(UNMATCHED),
            }),
        }
    }

    /// The route labels this app serves (path templates), in the order they were added.
    #[must_use]
    pub fn route_labels(&self) -> Vec<&'static str> {
        self.shared.entries.iter().map(|e| e.label).collect()
    }
}

impl<B> tower::Service<http::Request<B>> for App
where
    B: HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Finishing;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // the router is always ready
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Finishing {
        let req: Request = req.map(Body::new);
        let shared = &self.shared;
        let index = shared.find(req.uri().path());
        let entry = shared.entry(index);
        let state = &shared.state;
        state.health.start();
        // the breaker: while the store is known down, a route that needs it answers at once
        let open = state.health.is_down() && entry.needs_store;
        let id = crate::request_id::next();
        let method = req.method().clone();
        // Off by default (`TESSERA_LOG=tessera_http=debug` turns it on): an `info` span would
        // format its fields for every request.
        let span = tracing::debug_span!("request", request_id = %id, method = %method, route = entry.label);
        let handler =
            (!open).then(|| tower::Service::call(&mut self.routes, req).instrument(span.clone()));
        Finishing::new(Arc::clone(shared), index, id, method, span, handler)
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
                | UNMATCHED
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
