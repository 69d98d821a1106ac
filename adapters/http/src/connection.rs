//! The hyper service of one connection of [`crate::server::serve`], and what the
//! connection's requests share.
//!
//! hyper-util's `TowerToHyperService` clones the whole tower service for every request: the
//! router (one reference count that every connection on every CPU shares) and what the
//! service's closures hold. Here the connection keeps its router and calls it in place, and
//! what its requests share is one `Arc` of this connection alone: a request touches no
//! reference count another CPU writes.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use axum::response::Response;
use hyper::body::Incoming;
use hyper::header::UPGRADE;

use crate::server::Shutdown;
use crate::watchdog::Watchdog;

/// What one connection's requests share.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The connection's request activity (its header read timeout).
    pub(crate) watchdog: Watchdog,
    /// Handed to upgrade requests (the only ones that start long-lived work).
    signal: Shutdown,
}

impl Conn {
    pub(crate) fn new(signal: Shutdown) -> Self {
        Self {
            watchdog: Watchdog::default(),
            signal,
        }
    }
}

/// The hyper service of one connection: its app (a [`crate::App`] or a `Router`), called
/// in place (hyper calls the service by `&self`, a tower service is called by `&mut self`:
/// the lock is this connection's alone, so it is never contended).
#[derive(Debug)]
pub(crate) struct ConnService<S> {
    router: Mutex<S>,
    conn: Arc<Conn>,
}

impl<S> ConnService<S> {
    pub(crate) fn new(router: S, conn: Arc<Conn>) -> Self {
        Self {
            router: Mutex::new(router),
            conn,
        }
    }
}

impl<S> hyper::service::Service<hyper::Request<Incoming>> for ConnService<S>
where
    S: tower::Service<hyper::Request<Incoming>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Marked<S::Future>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Marked<S::Future> {
        self.conn.watchdog.started();
        if req.headers().contains_key(UPGRADE) {
            req.extensions_mut().insert(self.conn.signal.clone());
        }
        let mut router = self.router.lock().unwrap_or_else(PoisonError::into_inner);
        // `App` and `Router` are always ready (their `poll_ready` returns `Ready` at once)
        let inner = tower::Service::call(&mut *router, req);
        Marked {
            inner,
            conn: Arc::clone(&self.conn),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's response; the connection's watchdog learns when it is ready.
    pub(crate) struct Marked<F> {
        #[pin]
        inner: F,
        conn: Arc<Conn>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Marked<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx));
        this.conn.watchdog.finished();
        Poll::Ready(res)
    }
}
