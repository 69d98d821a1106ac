//! The users API over HTTP (API.md "Server-registered users"): API keys, upsert, read,
//! logout, temporary passwords answered through NEW_PASSWORD_REQUIRED, and environment
//! grants seen by `principal.can_access` on the next verify (through the embedding example).
#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use crate::embed_axum;
use tessera_testkit::app as common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{TestApp, password};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const USER: &str = "/v1/users/auth0%7C5f7c8ec7c33c6c004bbafe82";

#[tokio::test]
async fn the_users_api_needs_a_valid_api_key() {
    let app = TestApp::new();
    let key = app.api_key().await;
    let body = json!({"email": "a@example.com"});
    for (method, path) in [
        (Method::PUT, USER),
        (Method::GET, USER),
        (Method::DELETE, "/v1/users/x/tokens"),
    ] {
        for bad in [
            None,
            Some(""),
            Some("tsk_nope"),
            Some("tsa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            Some(&key[..key.len() - 1]),
        ] {
            let b = (method == Method::PUT).then_some(&body);
            app.users(method.clone(), path, bad, b)
                .await
                .expect_error(401, "unauthorized");
        }
        // the key given twice
        let req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("x-tessera-api-key", &key)
            .header("X-Tessera-Api-Key", &key)
            .body(Body::empty())
            .unwrap();
        app.send(req).await.expect_error(401, "unauthorized");
        // an authorization token is not an API key
        let u = app
            .active_user(&format!("keyless{}", method.as_str().to_lowercase()))
            .await;
        app.users(method.clone(), path, Some(&u.token), None)
            .await
            .expect_error(401, "unauthorized");
    }
    // the key check comes before the body's
    app.request(Method::PUT, USER, None, Some("text/plain"), "x")
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn upsert_read_and_logout() {
    let app = TestApp::new();
    let key = app.api_key().await;
    let created = app
        .users(
            Method::PUT,
            USER,
            Some(&key),
            Some(&json!({
                "email": "ada@example.com",
                "metadata": {"plan": "pro", "seats": [1, 2]},
                "environments": {"prod": true, "staging": true, "dev": false},
                "createToken": true,
                "unknownMember": 1
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let c = created.json();
    assert_eq!(c["externalId"], "auth0|5f7c8ec7c33c6c004bbafe82");
    assert_eq!(c["email"], "ada@example.com");
    assert_eq!(c["metadata"], json!({"plan": "pro", "seats": [1, 2]}));
    assert_eq!(c["environments"], json!({"prod": true, "staging": true}));
    assert_eq!(c["createdAt"], "2026-01-01T00:00:00+00:00");
    assert!(c["username"].as_str().unwrap().starts_with("x-"));
    let token = c["userToken"].as_str().unwrap().to_owned();
    assert!(token.starts_with("tsa_"));
    assert_eq!(c["expiresAt"], "2026-01-02T00:00:00+00:00");
    // the userToken is the login: an active user's authorization token
    let r = app.get("/profile/retrieve-profile-id", Some(&token)).await;
    assert_eq!(r.json()["profileId"], c["profileId"]);
    assert_eq!(r.json()["state"], "active");

    // update: 200, fields kept unless given, no token unless asked
    app.clock.advance(60);
    let updated = app
        .users(
            Method::PUT,
            USER,
            Some(&key),
            Some(&json!({"environments": {"staging": false, "qa": true}})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let u = updated.json();
    assert_eq!(u["environments"], json!({"prod": true, "qa": true}));
    assert_eq!(u["email"], "ada@example.com");
    assert_eq!(u["profileId"], c["profileId"]);
    assert_eq!(u["updatedAt"], "2026-01-01T00:01:00+00:00");
    assert!(u.get("userToken").is_none());

    // read
    let read = app.users(Method::GET, USER, Some(&key), None).await;
    assert_eq!(read.status, StatusCode::OK);
    let mut expected = u.clone();
    expected.as_object_mut().unwrap().remove("userToken");
    assert_eq!(read.json(), expected);
    let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "createdAt",
            "email",
            "environments",
            "externalId",
            "metadata",
            "profileId",
            "updatedAt",
            "username"
        ]
    );
    app.users(Method::GET, "/v1/users/unknown-id", Some(&key), None)
        .await
        .expect_error(404, "not_found");

    // logout: every token of the user ends
    let second = app
        .users(
            Method::PUT,
            USER,
            Some(&key),
            Some(&json!({"createToken": true})),
        )
        .await
        .json()["userToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .users(Method::DELETE, &format!("{USER}/tokens"), Some(&key), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert!(r.body.is_empty());
    for t in [&token, &second] {
        app.get("/profile/retrieve-profile-id", Some(t))
            .await
            .expect_error(401, "unauthorized");
    }
    app.users(
        Method::DELETE,
        "/v1/users/unknown-id/tokens",
        Some(&key),
        None,
    )
    .await
    .expect_error(404, "not_found");
    // the user has no password: no password login
    let name = c["username"].as_str().unwrap();
    app.post_json(
        "/v1/login",
        &json!({"username": name, "password": password("anything")}),
    )
    .await
    .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn upsert_validation_names_the_field() {
    let app = TestApp::new();
    let key = app.api_key().await;
    let put = |path: &'static str, body: Value| {
        let app = app.clone();
        let key = key.clone();
        async move { app.users(Method::PUT, path, Some(&key), Some(&body)).await }
    };
    for (body, field) in [
        (json!({"email": "not an address"}), "email"),
        (json!({"email": 5}), "email"),
        (json!({"metadata": [1]}), "metadata"),
        (json!({"metadata": "x"}), "metadata"),
        (json!({"environments": {"bad name": true}}), "environments"),
        (json!({"environments": {"prod": "yes"}}), "environments"),
        (json!({"environments": ["prod"]}), "environments"),
        (json!({"createToken": "true"}), "createToken"),
        (json!({"username": 7}), "username"),
        (json!({"temporaryPassword": password("tmp")}), "username"),
        (
            json!({"username": "tempuser", "temporaryPassword": "short"}),
            "temporaryPassword",
        ),
    ] {
        let r = put(USER, body.clone()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.text()
        );
        assert!(
            r.json()["errors"][field].is_array(),
            "{body}: expected errors.{field}: {}",
            r.text()
        );
    }
    let r = put("/v1/users/has%20space", json!({})).await;
    r.expect_error(422, "validation_failed");
    assert!(r.json()["errors"]["externalId"].is_array());
    let r = put(USER, json!({"username": "Bad Name!"})).await;
    r.expect_error(422, "invalid_username");

    // metadata up to 16 KiB fits, though the rest of the API stops at 16 KiB bodies
    let big = json!({"metadata": {"k": "v".repeat(16 * 1024 - 10)}});
    let r = put(USER, big).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = put(USER, json!({"metadata": {"k": "v".repeat(16 * 1024)}})).await;
    r.expect_error(422, "validation_failed");
    let r = put(USER, json!({"metadata": {"k": "v".repeat(40 * 1024)}})).await;
    r.expect_error(413, "payload_too_large");

    // a username is taken by another user
    app.active_user("taken-name").await;
    let r = put("/v1/users/other", json!({"username": "taken-name"})).await;
    r.expect_error(422, "username_taken");
}

#[tokio::test]
async fn a_temporary_password_leads_to_new_password_required() {
    let app = TestApp::new();
    let key = app.api_key().await;
    let temp = password("temporary");
    let r = app
        .users(
            Method::PUT,
            "/v1/users/idp-42",
            Some(&key),
            Some(&json!({"username": "Temp.User", "temporaryPassword": temp})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["username"], "temp.user");

    let login = app
        .post_json(
            "/v1/login",
            &json!({"username": "temp.user", "password": temp}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let j = login.json();
    assert_eq!(j["challenge_name"], "NEW_PASSWORD_REQUIRED");
    assert!(
        j.get("access_token").is_none(),
        "no tokens with a challenge: {j}"
    );
    let session = j["session"].as_str().unwrap().to_owned();
    assert!(session.starts_with("tss_"));
    // the temporary password opens nothing else
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "temp.user"), ("password", &temp)],
    )
    .await
    .expect_error(401, "unauthorized");

    let answer = |session: &str, name: &str, pw: &str| json!({"session": session, "username": name, "new_password": pw});
    let next = password("chosen by the user");
    // wrong user, bad session, weak password
    app.active_user("someone-else").await;
    app.post_json(
        "/v1/new-password-required",
        &answer(&session, "someone-else", &next),
    )
    .await
    .expect_error(401, "unauthorized");
    app.post_json(
        "/v1/new-password-required",
        &answer("tss_nope", "temp.user", &next),
    )
    .await
    .expect_error(401, "unauthorized");
    let weak = app
        .post_json(
            "/v1/new-password-required",
            &answer(&session, "temp.user", "password12345678"),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.json()["errors"]["new_password"].is_array(),
        "{}",
        weak.text()
    );

    let done = app
        .post_json(
            "/v1/new-password-required",
            &answer(&session, "temp.user", &next),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text());
    let t = done.json();
    let access = t["access_token"].as_str().unwrap();
    assert!(t["refresh_token"].is_string() && t["id_token"].is_string());
    assert_eq!(
        app.get("/device/retrieve-profile-devices", Some(access))
            .await
            .status,
        StatusCode::OK
    );
    // the session is single use; the new password logs in with tokens
    app.post_json(
        "/v1/new-password-required",
        &answer(&session, "temp.user", &password("again")),
    )
    .await
    .expect_error(401, "unauthorized");
    app.v1_login("temp.user", &next).await;

    // an expired session (5 min)
    app.users(
        Method::PUT,
        "/v1/users/idp-43",
        Some(&key),
        Some(&json!({"username": "late.user", "temporaryPassword": temp})),
    )
    .await;
    let s = app
        .post_json(
            "/v1/login",
            &json!({"username": "late.user", "password": temp}),
        )
        .await
        .json()["session"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(300);
    app.post_json("/v1/new-password-required", &answer(&s, "late.user", &next))
        .await
        .expect_error(401, "unauthorized");
}

async fn env_status(app: &axum::Router, env: &str, token: &str) -> StatusCode {
    let req = Request::get(format!("/environments/{env}"))
        .header("x-dpt-authorization", token)
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn environment_grants_show_on_the_next_verify() {
    let app = TestApp::new();
    let key = app.api_key().await;
    let service = embed_axum::app(app.engine.clone());
    let put = |body: Value| {
        let app = app.clone();
        let key = key.clone();
        async move {
            app.users(Method::PUT, "/v1/users/env-user", Some(&key), Some(&body))
                .await
        }
    };
    let r = put(json!({"environments": {"prod": true}, "createToken": true})).await;
    let token = r.json()["userToken"].as_str().unwrap().to_owned();
    assert_eq!(env_status(&service, "prod", &token).await, StatusCode::OK);
    assert_eq!(
        env_status(&service, "staging", &token).await,
        StatusCode::FORBIDDEN
    );
    // grant staging, revoke prod: the same token sees it at once
    put(json!({"environments": {"prod": false, "staging": true}})).await;
    assert_eq!(
        env_status(&service, "prod", &token).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        env_status(&service, "staging", &token).await,
        StatusCode::OK
    );
    // the engine's principal says the same
    let p = app.engine.verify(&token).await.unwrap();
    assert!(p.can_access("staging") && !p.can_access("prod"));
    // logout ends it
    app.users(
        Method::DELETE,
        "/v1/users/env-user/tokens",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(
        env_status(&service, "staging", &token).await,
        StatusCode::UNAUTHORIZED
    );
}
