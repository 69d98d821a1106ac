//! Failure answers of the `/v1` routes: a full hash queue (503 `overloaded` with
//! `Retry-After`), a failing store (503 `storage_unavailable` with a request id and no
//! internals; a refresh that failed leaves its token usable; an API key is never accepted
//! on a failed read).

use tessera_testkit::app as common;

use axum::http::{Method, StatusCode};
use common::{TestApp, password};
use serde_json::json;
use tessera_http::HttpConfig;
use tessera_testkit::faulty::{FaultyStore, SECRET_DETAIL};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hash_queue_is_503_overloaded_on_v1_login() {
    let app = TestApp::with_tiny_hash_pool();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let a = app.clone();
            tokio::spawn(async move {
                a.post_json(
                    "/v1/login",
                    &json!({"username": format!("flood{i}"), "password": password("flood")}),
                )
                .await
            })
        })
        .collect();
    let mut overloaded = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            r.expect_error(503, "overloaded");
            let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!(retry >= 1);
            overloaded += 1;
        } else {
            r.expect_error(401, "unauthorized");
        }
    }
    assert!(
        overloaded > 0,
        "24 concurrent logins on 1 worker with a queue of 1"
    );
}

#[tokio::test]
async fn storage_failures_are_503_without_internals() {
    let store = FaultyStore::memory();
    let app = TestApp::with(store.clone(), HttpConfig::default());
    let u = app.active_user("stored").await;
    let key = app.api_key().await;
    let (_, refresh, _) = app.v1_login("stored", &u.password).await;

    store.fail_all(true);
    let refresh_body = json!({"username": "stored", "refresh_token": refresh});
    let replies = vec![
        app.post_json(
            "/v1/login",
            &json!({"username": "stored", "password": u.password}),
        )
        .await,
        app.post_json("/v1/token-refresh", &refresh_body).await,
        app.post_json("/v1/token-revoke", &json!({"refresh_token": refresh}))
            .await,
        app.users(Method::GET, "/v1/users/someone", Some(&key), None)
            .await,
    ];
    for r in replies {
        r.expect_error(503, "storage_unavailable");
        assert!(r.json()["requestId"].is_string(), "{}", r.text());
        assert!(!r.text().contains(SECRET_DETAIL), "{}", r.text());
    }
    // the JWKS key is in memory once loaded
    assert_eq!(
        app.get("/.well-known/jwks.json", None).await.status,
        StatusCode::OK
    );
    // forgot-password too, once the store is known down (the breaker): a reset code could
    // not be stored, so the client is told to come back rather than wait for a mail
    let r = app
        .post_json("/v1/forgot-password", &json!({"username": "stored"}))
        .await;
    r.expect_error(503, "storage_unavailable");
    assert_eq!(r.headers["retry-after"], "1");

    // nothing changed: the refresh token still rotates once the store is back (and the
    // health prober has closed the breaker)
    store.fail_all(false);
    app.until_status("/utility/check-server-health", None, StatusCode::OK)
        .await;
    let r = app.post_json("/v1/token-refresh", &refresh_body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
