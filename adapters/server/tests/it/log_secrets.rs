//! Logs at TRACE level never contain a token, password or QR token, nor the token API's
//! secrets (refresh tokens, id tokens, NEW_PASSWORD_REQUIRED sessions, reset codes, API
//! keys, temporary passwords); each authentication outcome is one (injection-safe) line.
//!
//! Reset codes: the default `log` notifier writes them to the audit log on purpose (see
//! `notifiers.rs`); this test configures the `file` notifier, as an operator who keeps
//! codes out of the log does, and then no code may appear.

use tessera_testkit::app as common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::{TestApp, password};
use serde_json::json;
use tessera_server::notify::FileNotifier;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_in_the_logs() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();

    let app = TestApp::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut owner = app.active_user("logowner").await;
    secrets.extend([owner.password.clone(), owner.token.clone()]);
    let dev = app.pending_device(&owner, "logdevice").await;
    secrets.extend([dev.user.password.clone(), dev.user.token.clone()]);
    let qr = app.qr_token(&owner).await;
    secrets.push(qr);
    let keys = app.get("/generate-keys", None).await.json();
    secrets.push(keys["private"].as_str().unwrap().to_owned());
    // failures too: a wrong password, a token in the query string, a bad header
    let wrong = "this is the wrong password 123".to_owned();
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "logowner"), ("password", &wrong)],
    )
    .await;
    secrets.push(wrong);
    app.get(
        &format!("/profile/retrieve-profile-id?token={}", owner.token),
        None,
    )
    .await;
    let new_pw = password("logowner-new");
    app.post(
        "/profile/change-password",
        Some(&owner.token),
        &[
            ("currentPassword", &owner.password),
            ("newPassword", &new_pw),
        ],
    )
    .await
    .command_id();
    secrets.push(new_pw.clone());
    owner.token = app.login("logowner", &new_pw).await;
    secrets.push(owner.token.clone());
    // a log-injection attempt in the username
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "a\nFAKE audit line"), ("password", "x")],
    )
    .await;

    secrets.extend(token_api_secrets().await);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("authentication"),
        "audit lines expected:\n{logs}"
    );
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "secret {s:?} leaked into the logs:\n{logs}"
        );
        // nor a long piece of it (short secrets such as reset codes are checked whole)
        if s.len() >= 24 {
            let piece = &s[s.len() / 4..s.len() / 4 + 12];
            assert!(!logs.contains(piece), "part of {s:?} leaked");
        }
    }
    assert!(
        !logs.lines().any(|l| l.starts_with("FAKE")),
        "log injection"
    );
    let outcomes = logs
        .lines()
        .filter(|l| l.contains("tessera::audit") && l.contains("event=\"authenticate\""))
        .count();
    // logins: owner, device, owner again, plus 2 failures
    assert!(
        outcomes >= 5,
        "one line per authentication outcome:\n{logs}"
    );
}

/// Drive the token API and the users API (reset codes to a file) and return every secret
/// they used or issued.
#[allow(clippy::too_many_lines)] // one scenario, top to bottom
async fn token_api_secrets() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let codes = dir.path().join("codes.jsonl");
    let app = TestApp::with_notifier(Arc::new(FileNotifier::open(&codes).unwrap()));
    let mut secrets = Vec::new();
    let u = app.active_user("v1logger").await;
    secrets.push(u.password.clone());
    let (access, refresh, id_token) = app.v1_login("v1logger", &u.password).await;
    let r = app
        .post_json(
            "/v1/token-refresh",
            &json!({"username": "v1logger", "refresh_token": refresh}),
        )
        .await
        .json();
    let refresh2 = r["refresh_token"].as_str().unwrap().to_owned();
    // a reuse, a revoke
    app.post_json(
        "/v1/token-refresh",
        &json!({"username": "v1logger", "refresh_token": refresh}),
    )
    .await;
    app.post_json("/v1/token-revoke", &json!({"refresh_token": refresh2}))
        .await;
    secrets.extend([access, refresh, id_token, refresh2]);
    let (access, _, _) = app.v1_login("v1logger", &u.password).await;
    let changed = password("v1logger changed");
    app.post_json(
        "/v1/change-password",
        &json!({"access_token": access, "previous_password": u.password, "proposed_password": changed}),
    )
    .await;
    secrets.extend([access, changed]);
    // a reset with the code from the file
    app.post_json("/v1/forgot-password", &json!({"username": "v1logger"}))
        .await;
    let mut code = String::new();
    for _ in 0..200 {
        if let Some(line) = std::fs::read_to_string(&codes).unwrap().lines().last() {
            let j: serde_json::Value = serde_json::from_str(line).unwrap();
            j["code"].as_str().unwrap().clone_into(&mut code);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(code.len(), 8);
    let reset = password("v1logger reset");
    let wrong_code = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    for c in [wrong_code, code.as_str()] {
        app.post_json(
            "/v1/forgot-password-confirm",
            &json!({"username": "v1logger", "password": reset, "confirmation_code": c}),
        )
        .await;
    }
    secrets.extend([code, reset]);
    // the users API: an API key, a temporary password, a session, a user token
    let key = app.api_key().await;
    let temp = password("v1logger temporary");
    let r = app
        .users(
            Method::PUT,
            "/v1/users/logged-idp-id",
            Some(&key),
            Some(&json!({"username": "v1temp", "temporaryPassword": temp, "createToken": true})),
        )
        .await
        .json();
    let user_token = r["userToken"].as_str().unwrap().to_owned();
    app.users(
        Method::GET,
        "/v1/users/logged-idp-id",
        Some("tsk_wrong"),
        None,
    )
    .await;
    let session = app
        .post_json(
            "/v1/login",
            &json!({"username": "v1temp", "password": temp}),
        )
        .await
        .json()["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let chosen = password("v1temp chosen");
    let t = app
        .post_json(
            "/v1/new-password-required",
            &json!({"session": session, "username": "v1temp", "new_password": chosen}),
        )
        .await
        .json();
    secrets.extend([key, temp, user_token, session, chosen]);
    for k in ["access_token", "refresh_token", "id_token"] {
        secrets.push(t[k].as_str().unwrap().to_owned());
    }
    secrets
}
