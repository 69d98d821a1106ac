//! The bare baseline of `benches/http.sh`: an axum server with one route, `GET /hello` →
//! `hello` (text/plain), nothing else (no middleware, no state). The figure tessera's own
//! routes are compared with: what a user would get by putting their check in axum itself.
//!
//! `cargo run --release -p tessera-benches --bin bare_hello -- [127.0.0.1:0]`; prints
//! `bare listening on http://ADDR` once bound. Same runtime shape as the `tessera` binary
//! (tokio multi-thread, one worker per CPU, the system allocator).

use axum::Router;
use axum::routing::get;

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let local = listener.local_addr().expect("local address");
        println!("bare listening on http://{local}");
        let app = Router::new().route("/hello", get(|| async { "hello" }));
        axum::serve(listener, app).await.expect("serve");
    });
}
