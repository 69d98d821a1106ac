//! The accept loop: HTTP/1.1 on hyper (with upgrades, for WebSockets) with a connection
//! limit, a header read timeout and a graceful shutdown that lets in-flight requests finish
//! and tells WebSocket channels to close.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};

use crate::connection::{Conn, ConnService};

/// Limits of the accept loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Open connections at most; further clients wait in the listen backlog (default 1024).
    pub max_connections: usize,
    /// Longest time to receive a request's headers, and to wait for the next request on a
    /// keep-alive connection; slower or idle connections are closed after between this
    /// and 1.5 × this (default 10 s; see the connection watchdog).
    pub header_read_timeout: Duration,
    /// How long shutdown waits for in-flight requests (default 30 s).
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Why a connection's watcher stops it.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// Shutdown: finish the request in flight, then close.
    Drain,
    /// No request head within the header read timeout: close now.
    Close,
}

/// Handed to every upgrade request (`Upgrade` header) as an extension by [`serve`]:
/// long-lived work such a request starts (a WebSocket channel) holds a clone to learn of
/// shutdown, and `serve` waits (within the grace period) until every clone is dropped.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Completes once shutdown has begun (at once if it has).
    pub async fn requested(&mut self) {
        // An error means the server is gone: that is a shutdown too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

/// Serve `app` on `listener` until `shutdown` completes, then stop accepting and wait (at
/// most `cfg.shutdown_grace`) for open requests, and for the holders of [`Shutdown`]
/// (WebSocket channels, which close on the signal), to finish.
///
/// Connections are served with HTTP upgrades enabled (for `GET /ws`); an upgraded
/// connection leaves the connection limit once upgraded (channels have their own limit).
///
/// `app` is [`crate::app()`]'s [`crate::App`] (or any `Router`): each connection gets a clone
/// and calls it in place.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower::Service<hyper::Request<Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let max = cfg
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let permits = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut http = hyper::server::conn::http1::Builder::new();
    // the header read timeout is the connection's watchdog (crate::watchdog), not hyper's
    // timer per request
    http.header_read_timeout(None).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = Arc::clone(&permits).acquire_owned() => p.map_err(std::io::Error::other)?,
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // e.g. EMFILE: back off instead of spinning
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        // The shutdown signal goes into the extensions of upgrade requests (the only ones
        // that start long-lived work) by the connection's service, rather than by a router
        // layer (which would wrap every route in one more service per request).
        let conn_state = Arc::new(Conn::new(Shutdown(stop_rx.clone())));
        let service = ConnService::new(app.clone(), Arc::clone(&conn_state));
        let conn = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        // A watcher task per connection waits for shutdown and for the header read
        // timeout, and tells the connection's task by a oneshot: the connection's task,
        // woken for every request, polls only the connection and that oneshot (polling
        // the shutdown `watch` there would take a lock all connections share at each wake).
        let (stop_conn, mut stopped) = oneshot::channel::<Stop>();
        let mut stop = stop_rx.clone();
        let head_timeout = cfg.header_read_timeout;
        tokio::spawn(async move {
            let mut stop_conn = stop_conn;
            let why = tokio::select! {
                _ = stop.wait_for(|s| *s) => Stop::Drain,
                () = conn_state.watchdog.head_timeout(head_timeout) => Stop::Close,
                () = stop_conn.closed() => return,
            };
            let _ = stop_conn.send(why);
        });
        tokio::spawn(async move {
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                why = &mut stopped => {
                    if matches!(why, Ok(Stop::Close)) {
                        // no request head in time (slow or idle client): close
                        drop(permit);
                        return;
                    }
                    // finish the request in flight, then close
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    drop(app);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    tracing::info!(
        open = max - permits.available_permits(),
        "shutting down: waiting for in-flight requests and channels"
    );
    let drained = async {
        let _ = permits.acquire_many(max as u32).await;
        stop_tx.closed().await;
    };
    if tokio::time::timeout(cfg.shutdown_grace, drained)
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
    Ok(())
}

/// Completes on SIGTERM or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
