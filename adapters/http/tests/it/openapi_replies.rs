//! Every route driven through the router for its success and main error statuses, each
//! reply checked against the response the OpenAPI document declares (see
//! [`super::openapi_contract::Contract`]).

use tessera_testkit::app as common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::TestApp;
use serde_json::json;

use super::openapi_contract::Contract;

#[tokio::test]
#[allow(clippy::too_many_lines)] // one walk over every route
async fn every_reply_matches_its_documented_response() {
    let store = std::sync::Arc::new(tessera_core::MemoryStore::new());
    let app = TestApp::with(store.clone(), tessera_http::HttpConfig::default());
    let mut c = Contract::new(&app).await;
    let pw = common::password("contract");

    // ---- profile
    let r = app.register("contractuser", &pw).await;
    c.check("post", "/profile/register-profile", &r);
    let r = app.register("contractuser", &pw).await;
    c.check("post", "/profile/register-profile", &r);
    let r = app
        .request(
            Method::POST,
            "/profile/register-profile",
            None,
            Some("text/plain"),
            "x",
        )
        .await;
    c.check("post", "/profile/register-profile", &r);
    let r = app
        .post(
            "/profile/authenticate",
            None,
            &[("username", "contractuser"), ("password", &pw)],
        )
        .await;
    c.check("post", "/profile/authenticate", &r);
    let r = app
        .post(
            "/profile/authenticate",
            None,
            &[
                ("username", "contractuser"),
                ("password", "wrong wrong wrong"),
            ],
        )
        .await;
    c.check("post", "/profile/authenticate", &r);
    let r = app
        .post(
            "/profile/authenticate",
            None,
            &[
                ("username", "contractuser"),
                ("password", &pw),
                ("ttl", "5"),
            ],
        )
        .await;
    c.check("post", "/profile/authenticate", &r);

    let incomplete = app.incomplete_user("contractincomplete").await;
    let owner = app.active_user("contractowner").await;
    for token in [Some(owner.token.as_str()), Some("tsa_bad")] {
        let r = app.get("/profile/retrieve-profile-id", token).await;
        c.check("get", "/profile/retrieve-profile-id", &r);
        let r = app.post("/profile/retrieve-token-expiry", token, &[]).await;
        c.check("post", "/profile/retrieve-token-expiry", &r);
        let r = app
            .post(
                "/profile/reauthorize-authorization-token",
                token,
                &[("ttl", "86400")],
            )
            .await;
        c.check("post", "/profile/reauthorize-authorization-token", &r);
    }
    let r = app
        .post(
            "/profile/reauthorize-authorization-token",
            Some(&owner.token),
            &[("ttl", "7")],
        )
        .await;
    c.check("post", "/profile/reauthorize-authorization-token", &r);

    let rv = "/profile/revoke-authorization-token";
    let session = app.login("contractuser", &pw).await;
    let r = app
        .post(rv, Some(&session), &[("scope", "sometimes")])
        .await;
    c.check("post", rv, &r);
    let r = app.post(rv, Some(&session), &[]).await;
    c.check("post", rv, &r);
    let r = app.post(rv, Some(&session), &[]).await;
    c.check("post", rv, &r);

    let qr = "/profile/generate-qr-token";
    let r = app.post(qr, Some(&owner.token), &[("ttl", "600")]).await;
    c.check("post", qr, &r);
    let r = app
        .send(
            Request::post(qr)
                .header("X-DPT-AUTHORIZATION", &owner.token)
                .header("accept", "image/svg+xml")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    c.check("post", qr, &r);
    for (token, fields) in [
        (Some(owner.token.as_str()), &[("ttl", "59")][..]),
        (Some(owner.token.as_str()), &[("ttl", "901")][..]),
        (Some(incomplete.token.as_str()), &[][..]),
        (None, &[][..]),
    ] {
        let r = app.post(qr, token, fields).await;
        c.check("post", qr, &r);
    }

    let cp = "/profile/change-password";
    let r = app
        .post(
            cp,
            Some(&incomplete.token),
            &[
                ("currentPassword", &incomplete.password),
                ("newPassword", "x"),
            ],
        )
        .await;
    c.check("post", cp, &r);
    let r = app
        .post(
            cp,
            Some(&owner.token),
            &[
                ("currentPassword", "wrong wrong wrong wrong"),
                ("newPassword", &common::password("new")),
            ],
        )
        .await;
    c.check("post", cp, &r);
    let r = app.post(cp, None, &[]).await;
    c.check("post", cp, &r);

    // ---- public keys
    let r = app.get("/generate-keys", None).await;
    c.check("get", "/generate-keys", &r);
    let rk = "/public-key/register-public-key";
    let r = app
        .post(rk, Some(&incomplete.token), &[("publicKey", "00")])
        .await;
    c.check("post", rk, &r);
    let r = app.post(rk, None, &[]).await;
    c.check("post", rk, &r);
    let mut keyed = app.incomplete_user("contractkeyed").await;
    let r = app.register_key(&mut keyed).await;
    c.check("post", rk, &r);
    let pk = "/public-key/retrieve-public-key";
    let r = app.get(pk, Some(&owner.token)).await;
    c.check("get", pk, &r);
    let r = app
        .get(
            &format!("{pk}?profileId={}", uuid::Uuid::new_v4()),
            Some(&owner.token),
        )
        .await;
    c.check("get", pk, &r);
    let r = app
        .get(
            &format!("{pk}?profileId={}", keyed.profile_id),
            Some(&owner.token),
        )
        .await;
    c.check("get", pk, &r);
    let r = app.get(pk, None).await;
    c.check("get", pk, &r);
    let r = app.get("/public-key/retrieve-cab-public-key", None).await;
    c.check("get", "/public-key/retrieve-cab-public-key", &r);

    // ---- devices
    let device = app.pending_device(&owner, "contractdevice").await;
    let ru = "/device/request-unique-identifier";
    let token = app.qr_token(&owner).await;
    let r = app
        .post(
            ru,
            None,
            &[
                ("qrToken", &token),
                ("username", "contractdevice2"),
                ("password", &pw),
                ("deviceName", "d2"),
            ],
        )
        .await;
    let command = r.command_id();
    c.check("post", ru, &r);
    let r = app
        .post(
            ru,
            None,
            &[
                ("qrToken", "tsq_bad"),
                ("username", "contractdevice3"),
                ("password", &pw),
            ],
        )
        .await;
    c.check("post", ru, &r);
    let rui = "/device/retrieve-unique-identifier";
    for id in [command.as_str(), &uuid::Uuid::new_v4().to_string(), "nope"] {
        let r = app.post(rui, None, &[("commandId", id)]).await;
        c.check("post", rui, &r);
    }
    let rs = "/request-status/{commandId}";
    for id in [command.as_str(), &uuid::Uuid::new_v4().to_string()] {
        let r = app.get(&format!("/request-status/{id}"), None).await;
        c.check("get", rs, &r);
    }
    let devices = "/device/retrieve-profile-devices";
    for token in [
        Some(owner.token.as_str()),
        Some(device.user.token.as_str()),
        None,
    ] {
        let r = app.get(devices, token).await;
        c.check("get", devices, &r);
    }
    let meta = "/device/configure-device-meta";
    for (token, id, m) in [
        (
            Some(owner.token.as_str()),
            device.device_id.as_str(),
            r#"{"a":1}"#,
        ),
        (
            Some(owner.token.as_str()),
            device.device_id.as_str(),
            "not json",
        ),
        (
            Some(owner.token.as_str()),
            &uuid::Uuid::new_v4().to_string(),
            "{}",
        ),
        (None, device.device_id.as_str(), "{}"),
    ] {
        let r = app
            .post(meta, token, &[("deviceIdentifier", id), ("meta", m)])
            .await;
        c.check("post", meta, &r);
    }
    let r = app
        .post(
            meta,
            Some(&device.user.token),
            &[("deviceIdentifier", &device.device_id), ("meta", "{}")],
        )
        .await;
    c.check("post", meta, &r);
    let conf = "/device/retrieve-device-configuration/{deviceIdentifier}";
    for (token, id) in [
        (Some(owner.token.as_str()), device.device_id.as_str()),
        (Some(device.user.token.as_str()), device.device_id.as_str()),
        (Some(owner.token.as_str()), "nope"),
        (None, device.device_id.as_str()),
    ] {
        let r = app
            .get(
                &format!("/device/retrieve-device-configuration/{id}"),
                token,
            )
            .await;
        c.check("get", conf, &r);
    }
    for route in [
        "/device/approve-device",
        "/device/reject-device",
        "/device/remove",
    ] {
        for (token, id) in [
            (Some(incomplete.token.as_str()), device.device_id.clone()),
            (Some(owner.token.as_str()), uuid::Uuid::new_v4().to_string()),
            (Some(owner.token.as_str()), "nope".to_owned()),
            (None, device.device_id.clone()),
        ] {
            let r = app.post(route, token, &[("deviceIdentifier", &id)]).await;
            c.check("post", route, &r);
        }
    }
    let r = app
        .post(
            "/device/approve-device",
            Some(&owner.token),
            &[("deviceIdentifier", &device.device_id)],
        )
        .await;
    c.check("post", "/device/approve-device", &r);
    let r = app
        .post(
            "/device/approve-device",
            Some(&owner.token),
            &[("deviceIdentifier", &device.device_id)],
        )
        .await;
    c.check("post", "/device/approve-device", &r);
    let other = app.pending_device(&owner, "contractdevice4").await;
    let r = app
        .post(
            "/device/reject-device",
            Some(&owner.token),
            &[("deviceIdentifier", &other.device_id)],
        )
        .await;
    c.check("post", "/device/reject-device", &r);
    let r = app
        .post(
            "/device/remove",
            Some(&owner.token),
            &[("deviceIdentifier", &device.device_id)],
        )
        .await;
    c.check("post", "/device/remove", &r);

    // ---- utility
    let r = app.get("/utility/check-server-health", None).await;
    c.check("get", "/utility/check-server-health", &r);
    let r = app.get("/openapi.json", None).await;
    c.check("get", "/openapi.json", &r);
    let r = app.get("/metrics", None).await;
    c.check("get", "/metrics", &r);
    let r = app.get("/ws", None).await;
    c.check("get", "/ws", &r);
    let r = app
        .send(
            Request::get("/ws")
                .header("origin", "https://evil.example")
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    c.check("get", "/ws", &r);

    // ---- token API
    app.register("contractv1", &pw).await;
    let r = app
        .post_json(
            "/v1/login",
            &json!({"username": "contractv1", "password": pw}),
        )
        .await;
    c.check("post", "/v1/login", &r);
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    for body in [
        json!({"username": "contractv1", "password": "wrong wrong wrong"}),
        json!({"username": 1}),
    ] {
        let r = app.post_json("/v1/login", &body).await;
        c.check("post", "/v1/login", &r);
    }
    let r = app
        .request(
            Method::POST,
            "/v1/login",
            None,
            Some("application/json"),
            "{",
        )
        .await;
    c.check("post", "/v1/login", &r);
    let r = app
        .request(Method::POST, "/v1/login", None, Some("text/plain"), "{}")
        .await;
    c.check("post", "/v1/login", &r);
    let r = app
        .post_json(
            "/v1/token-refresh",
            &json!({"username": "contractv1", "refresh_token": refresh}),
        )
        .await;
    c.check("post", "/v1/token-refresh", &r);
    let next = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .post_json(
            "/v1/token-refresh",
            &json!({"username": "contractv1", "refresh_token": "tsr_bad"}),
        )
        .await;
    c.check("post", "/v1/token-refresh", &r);
    let r = app.post_json("/v1/token-refresh", &json!({})).await;
    c.check("post", "/v1/token-refresh", &r);
    let cp1 = "/v1/change-password";
    let r = app.post_json(cp1, &json!({"access_token": access, "previous_password": "wrong wrong wrong", "proposed_password": common::password("n")})).await;
    c.check("post", cp1, &r);
    let r = app
        .post_json(
            cp1,
            &json!({"access_token": "tsa_bad", "previous_password": "a", "proposed_password": "b"}),
        )
        .await;
    c.check("post", cp1, &r);
    let r = app
        .post_json("/v1/token-revoke", &json!({"refresh_token": next}))
        .await;
    c.check("post", "/v1/token-revoke", &r);
    let r = app
        .post_json("/v1/token-revoke", &json!({"refresh_token": "tsr_bad"}))
        .await;
    c.check("post", "/v1/token-revoke", &r);
    let r = app
        .post_json("/v1/forgot-password", &json!({"username": "contractv1"}))
        .await;
    c.check("post", "/v1/forgot-password", &r);
    let r = app.post_json("/v1/forgot-password", &json!({})).await;
    c.check("post", "/v1/forgot-password", &r);
    let fpc = "/v1/forgot-password-confirm";
    let r = app.post_json(fpc, &json!({"username": "contractv1", "password": common::password("r"), "confirmation_code": "AAAAAAAA"})).await;
    c.check("post", fpc, &r);
    let r = app.post_json("/v1/new-password-required", &json!({"session": "tss_bad", "username": "contractv1", "new_password": common::password("q")})).await;
    c.check("post", "/v1/new-password-required", &r);
    let r = app.get("/.well-known/jwks.json", None).await;
    c.check("get", "/.well-known/jwks.json", &r);

    // ---- users API, a temporary password and its challenge
    let key = app.api_key().await;
    let user = "/v1/users/{externalId}";
    let temp = common::password("temp");
    let r = app.users(Method::PUT, "/v1/users/ext-1", Some(&key), Some(&json!({"username": "contractext", "temporaryPassword": temp, "environments": {"prod": true}, "metadata": {"a": 1}}))).await;
    c.check("put", user, &r);
    let r = app
        .users(
            Method::PUT,
            "/v1/users/ext-1",
            Some(&key),
            Some(&json!({"createToken": true, "email": "a@example.com"})),
        )
        .await;
    c.check("put", user, &r);
    let r = app
        .users(
            Method::PUT,
            "/v1/users/ext-2",
            Some(&key),
            Some(&json!({"createToken": "yes"})),
        )
        .await;
    c.check("put", user, &r);
    let r = app
        .users(Method::PUT, "/v1/users/ext-2", None, Some(&json!({})))
        .await;
    c.check("put", user, &r);
    for (id, k) in [
        ("ext-1", Some(key.as_str())),
        ("ext-9", Some(key.as_str())),
        ("ext-1", None),
    ] {
        let r = app
            .users(Method::GET, &format!("/v1/users/{id}"), k, None)
            .await;
        c.check("get", user, &r);
    }
    let r = app
        .post_json(
            "/v1/login",
            &json!({"username": "contractext", "password": temp}),
        )
        .await;
    c.check("post", "/v1/login", &r);
    let session = r.json()["session"].as_str().unwrap().to_owned();
    let r = app.post_json("/v1/new-password-required", &json!({"session": session, "username": "contractext", "new_password": common::password("final")})).await;
    c.check("post", "/v1/new-password-required", &r);
    let logout = "/v1/users/{externalId}/tokens";
    for (id, k) in [
        ("ext-1", Some(key.as_str())),
        ("ext-9", Some(key.as_str())),
        ("ext-1", None),
    ] {
        let r = app
            .users(Method::DELETE, &format!("/v1/users/{id}/tokens"), k, None)
            .await;
        c.check("delete", logout, &r);
    }

    // ---- OAuth (Privicore "OAuth Application")
    let owner = app.active_user("contractoauth").await;
    let client = tessera_testkit::pages::register_client(
        &*store,
        owner.profile_id.parse().unwrap(),
        tessera_testkit::pages::ClientSpec::public("http://127.0.0.1/cb"),
    )
    .await;
    let (_, challenge) = tessera_testkit::pages::pkce("contract");
    let code = "/oauth-application/retrieve-authorization-code";
    let fields = |client: &str| {
        vec![
            ("client_id".to_owned(), client.to_owned()),
            (
                "redirect_uri".to_owned(),
                "http://127.0.0.1:4000/cb".to_owned(),
            ),
            ("scope".to_owned(), "openid".to_owned()),
            ("code_challenge".to_owned(), challenge.clone()),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
        ]
    };
    let pairs = |v: &[(String, String)]| -> Vec<(String, String)> { v.to_vec() };
    let incomplete = app.incomplete_user("contractoauth2").await;
    for (token, body) in [
        (
            Some(owner.token.as_str()),
            pairs(&fields(&client.to_string())),
        ),
        (
            Some(owner.token.as_str()),
            pairs(&fields(&uuid::Uuid::new_v4().to_string())),
        ),
        (
            Some(owner.token.as_str()),
            pairs(&fields(&client.to_string())[..2]),
        ),
        (
            Some(incomplete.token.as_str()),
            pairs(&fields(&client.to_string())),
        ),
        (None, pairs(&fields(&client.to_string()))),
    ] {
        let b: Vec<(&str, &str)> = body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = app.post(code, token, &b).await;
        c.check("post", code, &r);
    }

    super::openapi_directory::check_directory_replies(&app, &mut c).await;

    // the OAuth back channel's routes are walked by `oauth_back`
    c.all_operations_checked_except(&super::oauth_back::ROUTES);
    assert!(c.checked.len() > 100, "{}", c.checked.len());
}
