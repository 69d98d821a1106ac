//! The Privicore workflow at the router, checking every reply shape of API.md.
#![allow(clippy::too_many_lines)] // scenario tests read top to bottom

use tessera_testkit::app as common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{TestApp, password};
use serde_json::json;

#[tokio::test]
async fn commands_are_202_and_readable_at_request_status() {
    let app = TestApp::new();
    let r = app.register("cmduser", &password("cmd")).await;
    let id = r.command_id();
    assert_eq!(r.headers["content-type"], "application/json; charset=utf-8");
    let s = app.get(&format!("/request-status/{id}"), None).await;
    assert_eq!(s.status, StatusCode::OK);
    assert_eq!(
        s.json(),
        json!({"data": {"type": "X-DPT-CAB-ID", "id": id, "command_status": 2, "body": "Profile registered"}})
    );
    // purged after the retention (24 h)
    app.clock.advance(86_400);
    app.get(&format!("/request-status/{id}"), None)
        .await
        .expect_error(404, "not_found");
    // failures never create a command: a taken username is answered synchronously
    let r = app.register("cmduser", &password("cmd")).await;
    r.expect_error(422, "username_taken");
    assert!(!r.headers.contains_key("x-dpt-cab-id"));
}

#[tokio::test]
async fn user_lifecycle() {
    let app = TestApp::new();
    let mut u = app.incomplete_user("lifecycle").await;
    let r = app
        .get("/profile/retrieve-profile-id", Some(&u.token))
        .await;
    assert_eq!(
        r.json(),
        json!({"profileId": u.profile_id, "profileType": "user", "state": "incomplete", "username": "lifecycle"})
    );
    // generate-keys gives a usable pair in the documented encodings
    let r = app.get("/generate-keys", None).await;
    let keys = r.json();
    assert_eq!(keys["private"].as_str().unwrap().len(), 64);
    assert!(keys["public"].as_str().unwrap().starts_with("31420500"));
    assert_eq!(keys["public"].as_str().unwrap().len(), 200);
    let cmd = app.register_key(&mut u).await.command_id();
    let s = app
        .get(&format!("/request-status/{cmd}"), None)
        .await
        .json();
    assert_eq!(s["data"]["result"], json!({"state": "active"}));
    let r = app
        .get("/profile/retrieve-profile-id", Some(&u.token))
        .await;
    assert_eq!(r.json()["state"], "active");
    let r = app
        .get("/public-key/retrieve-public-key", Some(&u.token))
        .await;
    assert_eq!(
        r.json()["publicKey"],
        u.keys.as_ref().unwrap().public().to_privicore_hex()
    );
    let cab = app
        .get("/public-key/retrieve-cab-public-key", None)
        .await
        .json();
    assert_eq!(cab["publicKey"].as_str().unwrap().len(), 200);

    // change password: other tokens and QR tokens die, the calling token lives
    let other = app.login(&u.name, &u.password).await;
    let qr = app.qr_token(&u).await;
    let new_pw = password("lifecycle-new");
    app.post(
        "/profile/change-password",
        Some(&u.token),
        &[("currentPassword", &u.password), ("newPassword", &new_pw)],
    )
    .await
    .command_id();
    app.get("/profile/retrieve-profile-id", Some(&other))
        .await
        .expect_error(401, "unauthorized");
    app.profile_id(&u.token).await;
    app.post(
        "/device/request-unique-identifier",
        None,
        &[
            ("qrToken", &qr),
            ("username", "lcdev"),
            ("password", &password("lcdev")),
        ],
    )
    .await
    .expect_error(422, "invalid_qr_token");
    app.post(
        "/profile/authenticate",
        None,
        &[("username", &u.name), ("password", &u.password)],
    )
    .await
    .expect_error(401, "unauthorized");
    let second = app.login(&u.name, &new_pw).await;

    // revoke scope=all ends every session
    app.post(
        "/profile/revoke-authorization-token",
        Some(&second),
        &[("scope", "all")],
    )
    .await
    .command_id();
    for t in [&u.token, &second] {
        app.get("/profile/retrieve-profile-id", Some(t))
            .await
            .expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn device_onboarding() {
    let app = TestApp::new();
    let owner = app.active_user("devowner").await;
    // QR token as JSON, then as SVG
    let r = app
        .post(
            "/profile/generate-qr-token",
            Some(&owner.token),
            &[("ttl", "120"), ("deviceName", "kitchen")],
        )
        .await;
    let qr = r.json();
    let token = qr["qrToken"].as_str().unwrap();
    assert!(token.starts_with("tsq_"));
    assert_eq!(
        qr["expiresAt"],
        app.engine.now().plus_secs(120).to_rfc3339()
    );
    let uri = qr["uri"].as_str().unwrap();
    assert!(
        uri.starts_with(&format!("tessera://onboard?token={token}&server=")),
        "{uri}"
    );
    assert_eq!(qr["signature"].as_str().unwrap().len(), 128);
    let req = Request::builder()
        .method(Method::POST)
        .uri("/profile/generate-qr-token")
        .header("x-dpt-authorization", &owner.token)
        .header("accept", "image/svg+xml")
        .body(Body::empty())
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "image/svg+xml");
    assert!(r.text().contains("<svg"));

    // the device redeems the QR token with a role
    let pw = password("sensor");
    let r = app
        .post(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", token),
                ("username", "sensor"),
                ("password", &pw),
                ("role", "storage,authenticator"),
            ],
        )
        .await;
    let cmd = r.command_id();
    let status = app
        .get(&format!("/request-status/{cmd}"), None)
        .await
        .json();
    let ids = app
        .post(
            "/device/retrieve-unique-identifier",
            None,
            &[("commandId", &cmd)],
        )
        .await
        .json();
    assert_eq!(status["data"]["result"], ids);
    let device_id = ids["deviceIdentifier"].as_str().unwrap().to_owned();
    let list = app
        .get("/device/retrieve-profile-devices", Some(&owner.token))
        .await
        .json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let d = &list[0];
    assert_eq!(d["deviceIdentifier"], device_id.as_str());
    assert_eq!(d["deviceName"], "kitchen");
    assert_eq!(d["role"], json!(["storage", "authenticator"]));
    assert_eq!(d["state"], "incomplete");
    assert_eq!(d["meta"], serde_json::Value::Null);
    assert!(d["createdAt"].as_str().unwrap().ends_with("+00:00"));

    // the device authenticates and registers its key → pending
    let dtoken = app.login("sensor", &pw).await;
    let r = app
        .get("/profile/retrieve-profile-id", Some(&dtoken))
        .await
        .json();
    assert_eq!(r["profileType"], "device");
    assert_eq!(r["ownerProfileId"], owner.profile_id.as_str());
    let mut dev = common::User {
        name: "sensor".into(),
        password: pw.clone(),
        token: dtoken.clone(),
        profile_id: r["profileId"].as_str().unwrap().to_owned(),
        keys: None,
    };
    app.register_key(&mut dev).await.command_id();
    app.get("/device/retrieve-profile-devices", Some(&dtoken))
        .await
        .expect_error(403, "device_pending");

    // owner configures meta and approves
    app.post(
        "/device/configure-device-meta",
        Some(&owner.token),
        &[
            ("deviceIdentifier", &device_id),
            ("meta", r#"{"room":"kitchen","floor":1}"#),
        ],
    )
    .await
    .command_id();
    let d = common::Device {
        user: dev,
        device_id: device_id.clone(),
    };
    app.approve(&owner, &d).await;
    let cfg_path = format!("/device/retrieve-device-configuration/{device_id}");
    let cab = app
        .get("/public-key/retrieve-cab-public-key", None)
        .await
        .json()["publicKey"]
        .clone();
    let got = app.get(&cfg_path, Some(&owner.token)).await.json();
    // the device's own OAuth client: its profile id and a derived secret
    let secret = got["client-secret"].as_str().unwrap();
    assert!(secret.starts_with("tsd_") && secret.len() == 47, "{secret}");
    let expected = json!({
        "device-identifier": device_id,
        "profile-id": d.user.profile_id,
        "owner-profile-id": owner.profile_id,
        "role": ["storage", "authenticator"],
        "state": "active",
        "meta": {"room": "kitchen", "floor": 1},
        "cab-public-key": cab,
        "client-id": d.user.profile_id,
        "client-secret": secret,
    });
    assert_eq!(got, expected);
    assert_eq!(app.get(&cfg_path, Some(&dtoken)).await.json(), expected);
    // the active device operates
    let r = app
        .get("/public-key/retrieve-public-key", Some(&dtoken))
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // remove: the device's token dies and it cannot authenticate
    app.post(
        "/device/remove",
        Some(&owner.token),
        &[("deviceIdentifier", &device_id)],
    )
    .await
    .command_id();
    app.get("/profile/retrieve-profile-id", Some(&dtoken))
        .await
        .expect_error(401, "unauthorized");
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "sensor"), ("password", &pw)],
    )
    .await
    .expect_error(401, "unauthorized");
    let list = app
        .get("/device/retrieve-profile-devices", Some(&owner.token))
        .await
        .json();
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn qr_token_is_single_use_under_concurrency() {
    let app = TestApp::new();
    let owner = app.active_user("racer").await;
    let qr = app.qr_token(&owner).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (a, qr) = (app.clone(), qr.clone());
        tasks.push(tokio::spawn(async move {
            let name = format!("racedev{i}");
            a.post(
                "/device/request-unique-identifier",
                None,
                &[
                    ("qrToken", &qr),
                    ("username", &name),
                    ("password", &password(&name)),
                ],
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::ACCEPTED => ok += 1,
            s => assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn generate_keys_can_be_disabled() {
    let cfg = tessera_http::HttpConfig {
        generate_keys: false,
        ..Default::default()
    };
    let app = TestApp::with(std::sync::Arc::new(tessera_core::MemoryStore::new()), cfg);
    app.get("/generate-keys", None)
        .await
        .expect_error(404, "not_found");
}
