//! The accept loop: header read timeout (slow or idle clients are cut), the connection
//! limit, and graceful shutdown finishing in-flight requests.
#![allow(clippy::disallowed_methods)] // Instant::now measures the test itself

use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use tessera_http::server::{ServerConfig, serve};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

fn app() -> Router {
    Router::new().route("/", get(|| async { "ok" })).route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            "slow ok"
        }),
    )
}

async fn start(cfg: ServerConfig) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        serve(listener, app(), cfg, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (addr, tx, task)
}

/// Read until the peer closes; returns what was read (or what came before an error).
async fn read_all(s: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf).into_owned()
}

fn cfg(header_ms: u64, max_connections: usize) -> ServerConfig {
    ServerConfig {
        max_connections,
        header_read_timeout: Duration::from_millis(header_ms),
        shutdown_grace: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn slow_and_idle_clients_are_cut() {
    let (addr, _stop, _task) = start(cfg(300, 16)).await;
    // headers never finished (slowloris)
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_all(&mut slow).await;
    assert!(started.elapsed() < Duration::from_secs(3), "not cut");
    assert!(!got.contains("200 OK"), "{got}");
    // a keep-alive connection idle after its request is closed too
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let got = read_all(&mut idle).await;
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "idle connection not cut"
    );
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let (addr, _stop, _task) = start(cfg(400, 1)).await;
    // the only slot is taken by a client that sends nothing; it is cut after 400 ms
    let _hog = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    let mut next = TcpStream::connect(&addr).await.unwrap();
    next.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let got = read_all(&mut next).await;
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "served before a slot was free: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let (addr, stop, task) = start(cfg(5_000, 16)).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let got = read_all(&mut s).await;
    assert!(
        got.starts_with("HTTP/1.1 200 OK") && got.ends_with("slow ok"),
        "{got}"
    );
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("serve returns after shutdown")
        .unwrap();
    // no longer accepting
    assert!(TcpStream::connect(&addr).await.is_err());
}
