//! The embedding example (`examples/embed_axum.rs`): public, token and active-only routes.

use crate::embed_axum;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tessera_core::{KeyPair, MemoryStore, OsRandom};
use tower::ServiceExt as _;

async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header("x-dpt-authorization", t);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn public_token_and_active_routes() {
    let (engine, _clock) = tessera_testkit::test_engine(Arc::new(MemoryStore::new()));
    let app = embed_axum::app(Arc::clone(&engine));
    let pw = "velvet otter quasar lantern embed 7291";
    let id = engine.register_profile("embedder", pw).await.unwrap().value;
    let token = engine
        .authenticate("embedder", pw, None)
        .await
        .unwrap()
        .token;
    let token = token.expose();

    assert_eq!(get(&app, "/", None).await.0, StatusCode::OK);
    for path in ["/me", "/reports"] {
        for bad in [None, Some("tsa_nope")] {
            let (status, body) = get(&app, path, bad).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(body["error"], "unauthorized");
            assert_eq!(body["status"], 401);
        }
    }
    let (status, body) = get(&app, "/me", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["state"], "incomplete");
    let (status, body) = get(&app, "/reports", Some(token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "profile_incomplete");

    // register a key: the profile becomes active and /reports opens
    let me = engine.verify(token).await.unwrap();
    let keys = KeyPair::generate(&OsRandom);
    engine
        .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
        .await
        .unwrap();
    let (status, body) = get(&app, "/reports", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["for"], id.hyphenated().to_string());
}
