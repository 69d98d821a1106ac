//! The JSON token API over HTTP (API.md "Token API"): login, the access token on Privicore
//! routes, refresh rotation and reuse detection, revocation, change-password, id tokens
//! checked against the JWKS, and the concurrency of refresh.
#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use tessera_testkit::app as common;

use axum::http::StatusCode;
use base64::Engine as _;
use common::{TestApp, password};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_core::Timestamp;

async fn refresh(app: &TestApp, name: &str, token: &str) -> common::Reply {
    app.post_json(
        "/v1/token-refresh",
        &json!({"username": name, "refresh_token": token}),
    )
    .await
}

/// `token` works on a Privicore route (any state).
async fn works(app: &TestApp, token: &str) -> bool {
    let r = app.get("/profile/retrieve-profile-id", Some(token)).await;
    match r.status {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => {
            r.expect_error(401, "unauthorized");
            false
        }
        s => panic!("unexpected {s}: {}", r.text()),
    }
}

#[tokio::test]
async fn login_gives_tokens_whose_access_token_works_on_privicore_routes() {
    let app = TestApp::new();
    let u = app.active_user("tokenuser").await;
    let r = app
        .post_json(
            "/v1/login",
            &json!({"username": "TokenUser", "password": u.password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    let j = r.json();
    let mut keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "id_token", "refresh_token"]
    );
    assert_eq!(j["expires_in"], 86_400);
    let access = j["access_token"].as_str().unwrap();
    assert!(access.starts_with("tsa_"));
    assert!(j["refresh_token"].as_str().unwrap().starts_with("tsr_"));
    // the access token is an ordinary authorization token, on an active-only route too
    let r = app
        .get("/device/retrieve-profile-devices", Some(access))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .post("/profile/retrieve-token-expiry", Some(access), &[])
        .await;
    assert_eq!(r.json()["expiresIn"], 86_400);
    // the refresh token is not an authorization token
    assert!(!works(&app, j["refresh_token"].as_str().unwrap()).await);

    // bad credentials: one body for a wrong password and an unknown user
    let wrong = app
        .post_json(
            "/v1/login",
            &json!({"username": "tokenuser", "password": password("wrong")}),
        )
        .await;
    let unknown = app
        .post_json(
            "/v1/login",
            &json!({"username": "nobody-here", "password": password("wrong")}),
        )
        .await;
    wrong.expect_error(401, "unauthorized");
    assert_eq!(wrong.body, unknown.body);
}

#[tokio::test]
async fn login_is_throttled_with_retry_after() {
    let app = TestApp::new();
    let u = app.active_user("throttled").await;
    let mut last = None;
    for _ in 0..8 {
        let r = app
            .post_json(
                "/v1/login",
                &json!({"username": "throttled", "password": password("nope")}),
            )
            .await;
        last = Some(r);
    }
    let r = last.unwrap();
    r.expect_error(429, "too_many_attempts");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    // even the right password waits
    let r = app
        .post_json(
            "/v1/login",
            &json!({"username": "throttled", "password": u.password}),
        )
        .await;
    r.expect_error(429, "too_many_attempts");
    app.clock.advance(retry);
    app.v1_login("throttled", &u.password).await;
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = TestApp::new();
    let u = app.active_user("rotator").await;
    let (a0, r0, _) = app.v1_login("rotator", &u.password).await;
    let other_login = app.v1_login("rotator", &u.password).await;

    let r = refresh(&app, "rotator", &r0).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    let (a1, r1) = (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(j["id_token"].is_string() && j["expires_in"] == 86_400);
    assert_ne!(r1, r0);
    assert!(works(&app, &a0).await && works(&app, &a1).await);

    // the next rotation works from r1
    let r = refresh(&app, "rotator", &r1).await;
    assert_eq!(r.status, StatusCode::OK);
    let (a2, r2) = (
        r.json()["access_token"].as_str().unwrap().to_owned(),
        r.json()["refresh_token"].as_str().unwrap().to_owned(),
    );

    // reusing r0: 401, and every token of the family stops working
    refresh(&app, "rotator", &r0)
        .await
        .expect_error(401, "unauthorized");
    for t in [&a0, &a1, &a2] {
        assert!(!works(&app, t).await, "family access token still works");
    }
    refresh(&app, "rotator", &r2)
        .await
        .expect_error(401, "unauthorized");
    // another login's family is untouched
    assert!(works(&app, &other_login.0).await);
    assert_eq!(
        refresh(&app, "rotator", &other_login.1).await.status,
        StatusCode::OK
    );

    // a username that does not own the token, and garbage
    let (_, r_other, _) = app.v1_login("rotator", &u.password).await;
    app.active_user("someoneelse").await;
    refresh(&app, "someoneelse", &r_other)
        .await
        .expect_error(401, "unauthorized");
    for bad in ["", "tsr_short", "tsa_AAAA", &"x".repeat(5000)] {
        refresh(&app, "rotator", bad)
            .await
            .expect_error(401, "unauthorized");
    }
    // the refused attempt by another name did not use the token up
    assert_eq!(
        refresh(&app, "rotator", &r_other).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_tokens_expire_with_their_family() {
    let app = TestApp::new();
    let u = app.incomplete_user("expiring").await;
    let (a, r, _) = app.v1_login("expiring", &u.password).await;
    app.clock.advance(86_400);
    assert!(!works(&app, &a).await, "access token outlived 24 h");
    let next = refresh(&app, "expiring", &r).await;
    assert_eq!(next.status, StatusCode::OK);
    let r1 = next.json()["refresh_token"].as_str().unwrap().to_owned();
    app.clock.advance(90 * 86_400);
    refresh(&app, "expiring", &r1)
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_refreshes_of_one_token_one_succeeds() {
    let app = TestApp::new();
    let u = app.active_user("racer").await;
    let (_, r0, _) = app.v1_login("racer", &u.password).await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let r0 = r0.clone();
            tokio::spawn(async move { refresh(&app, "racer", &r0).await })
        })
        .collect();
    let mut ok = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::OK => ok.push(r.json()),
            _ => r.expect_error(401, "unauthorized"),
        }
    }
    assert_eq!(ok.len(), 1, "exactly one rotation wins");
}

#[tokio::test]
async fn token_revoke_ends_the_refresh_token_and_its_access_tokens() {
    let app = TestApp::new();
    let u = app.active_user("revoker").await;
    let (a0, r0, _) = app.v1_login("revoker", &u.password).await;
    let r = refresh(&app, "revoker", &r0).await;
    let a1 = r.json()["access_token"].as_str().unwrap().to_owned();
    let r1 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let (keep_a, keep_r, _) = app.v1_login("revoker", &u.password).await;

    let r = app
        .post_json("/v1/token-revoke", &json!({"refresh_token": r1}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], 200);
    assert!(r.json()["message"].is_string());
    for t in [&a0, &a1] {
        assert!(!works(&app, t).await);
    }
    refresh(&app, "revoker", &r1)
        .await
        .expect_error(401, "unauthorized");
    app.post_json("/v1/token-revoke", &json!({"refresh_token": r1}))
        .await
        .expect_error(401, "unauthorized");
    app.post_json("/v1/token-revoke", &json!({"refresh_token": "tsr_nope"}))
        .await
        .expect_error(401, "unauthorized");
    // the other login is untouched
    assert!(works(&app, &keep_a).await);
    assert_eq!(
        refresh(&app, "revoker", &keep_r).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn change_password_with_an_access_token() {
    let app = TestApp::new();
    let u = app.active_user("changer").await;
    let (a, r, _) = app.v1_login("changer", &u.password).await;
    let other = app.login("changer", &u.password).await;
    let new_pw = password("changer-next");
    let change = |token: &str, previous: &str, proposed: &str| json!({"access_token": token, "previous_password": previous, "proposed_password": proposed});

    app.post_json(
        "/v1/change-password",
        &change("tsa_bad", &u.password, &new_pw),
    )
    .await
    .expect_error(401, "unauthorized");
    let wrong = app
        .post_json(
            "/v1/change-password",
            &change(&a, &password("not it"), &new_pw),
        )
        .await;
    wrong.expect_error(422, "wrong_password");
    assert!(wrong.json()["errors"]["previous_password"].is_array());
    let weak = app
        .post_json(
            "/v1/change-password",
            &change(&a, &u.password, "password12345678"),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.json()["errors"]["proposed_password"].is_array(),
        "{}",
        weak.text()
    );

    let ok = app
        .post_json("/v1/change-password", &change(&a, &u.password, &new_pw))
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.json()["status"], 200);
    // the presented token stays; the other sessions and the refresh token end
    assert!(works(&app, &a).await);
    assert!(!works(&app, &other).await);
    refresh(&app, "changer", &r)
        .await
        .expect_error(401, "unauthorized");
    app.post_json(
        "/v1/login",
        &json!({"username": "changer", "password": u.password}),
    )
    .await
    .expect_error(401, "unauthorized");
    app.v1_login("changer", &new_pw).await;

    // a key-less profile's token is refused as on /profile/change-password
    let inc = app.incomplete_user("changer-incomplete").await;
    let (ia, _, _) = app.v1_login("changer-incomplete", &inc.password).await;
    app.post_json(
        "/v1/change-password",
        &change(&ia, &inc.password, &password("incomplete next")),
    )
    .await
    .expect_error(403, "profile_incomplete");
}

#[tokio::test]
async fn id_tokens_verify_with_the_jwks() {
    let app = TestApp::new();
    // jsonwebtoken checks `exp` against the real time: run the engine's clock on it
    let now = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap();
    app.clock.set(Timestamp(now));
    let u = app.active_user("idtoken").await;
    let (_, r, id_token) = app.v1_login("idtoken", &u.password).await;

    let jwks = app.get("/.well-known/jwks.json", None).await;
    assert_eq!(jwks.status, StatusCode::OK);
    assert!(
        jwks.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let set: JwkSet = serde_json::from_slice(&jwks.body).unwrap();
    assert_eq!(set.keys.len(), 1);
    let verify = |jwt: &str| {
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        let jwk = set
            .find(header.kid.as_deref().unwrap())
            .expect("kid in JWKS");
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["tessera"]);
        v.set_issuer(&["http://127.0.0.1:9009"]);
        jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &v)
            .unwrap()
            .claims
    };
    let claims = verify(&id_token);
    assert_eq!(claims["sub"], u.profile_id);
    assert_eq!(claims["username"], "idtoken");
    assert_eq!(claims["profile_type"], "user");
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 86_400);
    // the JWKS key is the server key of /public-key/retrieve-cab-public-key
    let cab = app.get("/public-key/retrieve-cab-public-key", None).await;
    let cab_hex = cab.json()["publicKey"].as_str().unwrap().to_owned();
    let x = jwks.json()["keys"][0]["x"].as_str().unwrap().to_owned();
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&x)
        .unwrap();
    assert_eq!(&cab_hex[8..72], hex::encode(raw));
    // refreshed id tokens verify too; a tampered one does not
    let refreshed = refresh(&app, "idtoken", &r).await.json();
    verify(refreshed["id_token"].as_str().unwrap());
    let mut parts: Vec<String> = id_token.split('.').map(str::to_owned).collect();
    parts[1] =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"someone else"}"#);
    let header = jsonwebtoken::decode_header(&id_token).unwrap();
    let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&["tessera"]);
    assert!(
        jsonwebtoken::decode::<Value>(&parts.join("."), &DecodingKey::from_jwk(jwk).unwrap(), &v)
            .is_err()
    );
}
