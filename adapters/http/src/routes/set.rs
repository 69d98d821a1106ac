//! A router and the path templates it serves, built together: [`crate::App`] finds a
//! request's route label (for metrics, the breaker and the error page) in a table of these
//! templates before it calls the router, so that the routes need no layer of their own
//! (`Router::layer` wraps every route in one more boxed service, cloned for each request).

use axum::Router;
use axum::routing::MethodRouter;

use crate::AppState;

/// Routes under construction: what each API module returns.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Routes {
    /// No routes.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Serve `path` (an axum path template, e.g. `/v1/users/{externalId}`) with `methods`.
    pub(crate) fn route(mut self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.router = self.router.route(path, methods);
        self.paths.push(path);
        self
    }

    /// These routes and `other`'s.
    pub(crate) fn merge(mut self, other: Self) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// The router and its path templates.
    pub(crate) fn into_parts(self) -> (Router<AppState>, Vec<&'static str>) {
        (self.router, self.paths)
    }
}
