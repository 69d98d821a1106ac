//! API.md "Profile states" and device ownership at the router: every token route walked
//! for incomplete, pending and rejected profiles (403 with the state's code), devices that
//! may not manage devices, and another profile's device answering 404 (no IDOR).
#![allow(clippy::too_many_lines)] // scenario tests read top to bottom

use tessera_testkit::app as common;

use axum::http::StatusCode;
use common::{TestApp, password};
use uuid::Uuid;

/// (method, path, form fields).
type Route = (&'static str, String, Vec<(&'static str, String)>);

/// Every token route with a harmless request.
fn token_routes(device_id: &str) -> Vec<Route> {
    let d = device_id.to_owned();
    vec![
        ("GET", "/profile/retrieve-profile-id".into(), vec![]),
        (
            "POST",
            "/profile/change-password".into(),
            vec![
                ("currentPassword", "x".into()),
                ("newPassword", password("new")),
            ],
        ),
        ("POST", "/profile/generate-qr-token".into(), vec![]),
        ("POST", "/profile/retrieve-token-expiry".into(), vec![]),
        (
            "POST",
            "/profile/reauthorize-authorization-token".into(),
            vec![],
        ),
        ("GET", "/public-key/retrieve-public-key".into(), vec![]),
        (
            "POST",
            "/public-key/register-public-key".into(),
            vec![("publicKey", "00".into())],
        ),
        ("GET", "/device/retrieve-profile-devices".into(), vec![]),
        (
            "POST",
            "/device/configure-device-meta".into(),
            vec![("deviceIdentifier", d.clone()), ("meta", "{}".into())],
        ),
        (
            "POST",
            "/device/approve-device".into(),
            vec![("deviceIdentifier", d.clone())],
        ),
        (
            "POST",
            "/device/reject-device".into(),
            vec![("deviceIdentifier", d.clone())],
        ),
        (
            "POST",
            "/device/remove".into(),
            vec![("deviceIdentifier", d.clone())],
        ),
        (
            "GET",
            format!("/device/retrieve-device-configuration/{d}"),
            vec![],
        ),
        // last: it ends the session
        ("POST", "/profile/revoke-authorization-token".into(), vec![]),
    ]
}

async fn call(
    app: &TestApp,
    token: &str,
    m: &str,
    path: &str,
    f: &[(&str, String)],
) -> common::Reply {
    let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if m == "GET" {
        app.get(path, Some(token)).await
    } else {
        app.post(path, Some(token), &fields).await
    }
}

/// Routes an incomplete or pending profile may use (API.md "Profile states").
fn limited(path: &str) -> bool {
    [
        "/profile/retrieve-profile-id",
        "/profile/retrieve-token-expiry",
        "/profile/reauthorize-authorization-token",
        "/profile/revoke-authorization-token",
        "/public-key/register-public-key",
    ]
    .contains(&path)
}

#[tokio::test]
async fn incomplete_profile_gets_profile_incomplete_everywhere_else() {
    let app = TestApp::new();
    let u = app.incomplete_user("incomplete").await;
    for (m, path, f) in token_routes(&Uuid::new_v4().to_string()) {
        let r = call(&app, &u.token, m, &path, &f).await;
        if limited(&path) {
            assert_ne!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text());
            assert!(
                r.status.is_success() || r.status == StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {}",
                r.text()
            );
        } else {
            r.expect_error(403, "profile_incomplete");
        }
    }
}

#[tokio::test]
async fn pending_and_rejected_devices_get_their_codes() {
    let app = TestApp::new();
    let owner = app.active_user("owner").await;
    let dev = app.pending_device(&owner, "pendingdev").await;
    let own = dev.device_id.clone();
    for (m, path, f) in token_routes(&own) {
        let r = call(&app, &dev.user.token, m, &path, &f).await;
        if limited(&path) || path.starts_with("/device/retrieve-device-configuration") {
            assert_ne!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.text());
        } else {
            r.expect_error(403, "device_pending");
        }
    }
    // rejected: may still authenticate and use the limited routes, except key registration
    let dev = app.pending_device(&owner, "rejecteddev").await;
    app.post(
        "/device/reject-device",
        Some(&owner.token),
        &[("deviceIdentifier", &dev.device_id)],
    )
    .await
    .command_id();
    // rejection revoked its tokens
    app.get("/profile/retrieve-profile-id", Some(&dev.user.token))
        .await
        .expect_error(401, "unauthorized");
    let token = app.login(&dev.user.name, &dev.user.password).await;
    for (m, path, f) in token_routes(&dev.device_id) {
        let r = call(&app, &token, m, &path, &f).await;
        if path == "/public-key/register-public-key"
            || !(limited(&path) || path.starts_with("/device/retrieve-device-configuration"))
        {
            r.expect_error(403, "device_rejected");
        } else {
            assert!(r.status.is_success(), "{path}: {}", r.text());
        }
    }
}

#[tokio::test]
async fn active_device_may_not_manage_devices_or_issue_qr() {
    let app = TestApp::new();
    let owner = app.active_user("owner2").await;
    let dev = app.pending_device(&owner, "activedev").await;
    app.approve(&owner, &dev).await;
    app.post("/profile/generate-qr-token", Some(&dev.user.token), &[])
        .await
        .expect_error(403, "forbidden");
    app.get("/device/retrieve-profile-devices", Some(&dev.user.token))
        .await
        .expect_error(403, "forbidden");
    let r = app
        .get(
            &format!("/device/retrieve-device-configuration/{}", dev.device_id),
            Some(&dev.user.token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn another_profiles_device_is_404_like_an_unknown_one() {
    let app = TestApp::new();
    let alice = app.active_user("alice").await;
    let bob = app.active_user("bob").await;
    let dev = app.pending_device(&alice, "alicedev").await;
    let unknown = Uuid::new_v4().to_string();
    for id in [dev.device_id.as_str(), unknown.as_str()] {
        for path in [
            "/device/approve-device",
            "/device/reject-device",
            "/device/remove",
        ] {
            app.post(path, Some(&bob.token), &[("deviceIdentifier", id)])
                .await
                .expect_error(404, "not_found");
        }
        app.post(
            "/device/configure-device-meta",
            Some(&bob.token),
            &[("deviceIdentifier", id), ("meta", "{}")],
        )
        .await
        .expect_error(404, "not_found");
        app.get(
            &format!("/device/retrieve-device-configuration/{id}"),
            Some(&bob.token),
        )
        .await
        .expect_error(404, "not_found");
    }
    // malformed ids: 404 in the path, 422 in a form field; 10 KB ids too
    let long = "a".repeat(10_000);
    for id in ["not-a-uuid", long.as_str()] {
        app.get(
            &format!("/device/retrieve-device-configuration/{id}"),
            Some(&alice.token),
        )
        .await
        .expect_error(404, "not_found");
        app.post(
            "/device/approve-device",
            Some(&alice.token),
            &[("deviceIdentifier", id)],
        )
        .await
        .expect_error(422, "validation_failed");
        app.get(&format!("/request-status/{id}"), None)
            .await
            .expect_error(404, "not_found");
    }
    app.get(&format!("/request-status/{unknown}"), None)
        .await
        .expect_error(404, "not_found");
    app.post(
        "/device/retrieve-unique-identifier",
        None,
        &[("commandId", &unknown)],
    )
    .await
    .expect_error(404, "not_found");
    // alice's device is untouched and still pending
    let r = app
        .get(
            &format!("/device/retrieve-device-configuration/{}", dev.device_id),
            Some(&alice.token),
        )
        .await;
    assert_eq!(r.json()["state"], "pending");
    // a device reading another device's configuration: 404
    let other = app.pending_device(&alice, "alicedev2").await;
    app.get(
        &format!("/device/retrieve-device-configuration/{}", other.device_id),
        Some(&dev.user.token),
    )
    .await
    .expect_error(404, "not_found");
    // approving a device that is not pending: 422
    app.approve(&alice, &dev).await;
    app.post(
        "/device/approve-device",
        Some(&alice.token),
        &[("deviceIdentifier", &dev.device_id)],
    )
    .await
    .expect_error(422, "validation_failed");
    // removed devices are gone: 404 for every action, and not listed
    app.post(
        "/device/remove",
        Some(&alice.token),
        &[("deviceIdentifier", &dev.device_id)],
    )
    .await
    .command_id();
    app.post(
        "/device/remove",
        Some(&alice.token),
        &[("deviceIdentifier", &dev.device_id)],
    )
    .await
    .expect_error(404, "not_found");
    let list = app
        .get("/device/retrieve-profile-devices", Some(&alice.token))
        .await
        .json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|d| d["deviceIdentifier"] != dev.device_id.as_str())
    );
}
