//! Password reset over HTTP (API.md "Token API"): forgot-password and its confirmation,
//! with codes taken from a capturing notifier and from the file notifier.
#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use tessera_testkit::app as common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use common::{TestApp, User, password};
use serde_json::json;
use tessera_server::notify::FileNotifier;
use tessera_testkit::CapturingNotifier;

async fn forgot(app: &TestApp, name: &str) -> common::Reply {
    app.post_json("/v1/forgot-password", &json!({"username": name}))
        .await
}

async fn confirm(app: &TestApp, name: &str, code: &str, pw: &str) -> common::Reply {
    app.post_json(
        "/v1/forgot-password-confirm",
        &json!({"username": name, "password": pw, "confirmation_code": code}),
    )
    .await
}

/// The next code for `name` (forgot-password, then the notifier).
async fn code_for(app: &TestApp, codes: &CapturingNotifier, name: &str) -> String {
    let r = forgot(app, name).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    codes.reset_code(name).await
}

async fn works(app: &TestApp, token: &str) -> bool {
    app.get("/profile/retrieve-profile-id", Some(token))
        .await
        .status
        == StatusCode::OK
}

#[tokio::test]
async fn reset_with_a_code_ends_every_session() {
    let (app, codes) = TestApp::notified();
    let u: User = app.active_user("forgetful").await;
    let (access, refresh, _) = app.v1_login("forgetful", &u.password).await;
    let code = code_for(&app, &codes, "forgetful").await;
    assert_eq!(code.len(), 8);

    let new_pw = password("forgetful-reset");
    // a weak password does not use the code up
    let weak = confirm(&app, "forgetful", &code, "password12345678").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        weak.json()["errors"]["password"].is_array(),
        "{}",
        weak.text()
    );

    let ok = confirm(&app, "Forgetful", &code.to_lowercase(), &new_pw).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    let j = ok.json();
    assert_eq!(j["status"], 200);
    assert!(
        j.get("access_token").is_none(),
        "reset issues no token: {j}"
    );
    // every old token is refused: the header token, the /v1 pair
    for t in [&u.token, &access] {
        assert!(!works(&app, t).await);
    }
    app.post_json(
        "/v1/token-refresh",
        &json!({"username": "forgetful", "refresh_token": refresh}),
    )
    .await
    .expect_error(401, "unauthorized");
    // old password out, new one in
    app.post_json(
        "/v1/login",
        &json!({"username": "forgetful", "password": u.password}),
    )
    .await
    .expect_error(401, "unauthorized");
    app.v1_login("forgetful", &new_pw).await;

    // the code is single use
    let again = confirm(&app, "forgetful", &code, &password("forgetful-third")).await;
    again.expect_error(422, "invalid_code");
    assert!(again.json()["errors"]["confirmation_code"].is_array());
}

#[tokio::test]
async fn expired_foreign_and_superseded_codes_are_refused() {
    let (app, codes) = TestApp::notified();
    let a = app.active_user("alice-reset").await;
    app.active_user("bob-reset").await;
    let pw = password("next one");

    // expiry: 10 minutes
    let code = code_for(&app, &codes, "alice-reset").await;
    app.clock.advance(600);
    confirm(&app, "alice-reset", &code, &pw)
        .await
        .expect_error(422, "invalid_code");

    // another user's code
    let bobs = code_for(&app, &codes, "bob-reset").await;
    confirm(&app, "alice-reset", &bobs, &pw)
        .await
        .expect_error(422, "invalid_code");

    // a newer code voids the older
    let older = code_for(&app, &codes, "alice-reset").await;
    let newer = code_for(&app, &codes, "alice-reset").await;
    assert_ne!(older, newer);
    confirm(&app, "alice-reset", &older, &pw)
        .await
        .expect_error(422, "invalid_code");
    let r = confirm(&app, "alice-reset", &newer, &pw).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // bob's code still works for bob
    let r = confirm(&app, "bob-reset", &bobs, &pw).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!works(&app, &a.token).await);

    // malformed codes and unknown users are the same invalid_code
    for (name, code) in [
        ("alice-reset", "1234567"),
        ("alice-reset", " 1234567"),
        ("alice-reset", "ABCD-EFG"),
        ("nobody-at-all", "ABCDEFGH"),
        ("!!", "ABCDEFGH"),
    ] {
        confirm(&app, name, code, &pw)
            .await
            .expect_error(422, "invalid_code");
    }
}

#[tokio::test]
async fn code_guesses_are_throttled_per_account() {
    let (app, codes) = TestApp::notified();
    app.active_user("guessed").await;
    let code = code_for(&app, &codes, "guessed").await;
    let pw = password("guessed next");
    let wrong = if code == "00000000" {
        "11111111"
    } else {
        "00000000"
    };
    let mut throttled = None;
    for _ in 0..10 {
        let r = confirm(&app, "guessed", wrong, &pw).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
        r.expect_error(422, "invalid_code");
    }
    let r = throttled.expect("guesses were never throttled");
    r.expect_error(429, "too_many_attempts");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // the right code waits too, across a newer request
    let code = code_for(&app, &codes, "guessed").await;
    confirm(&app, "guessed", &code, &pw)
        .await
        .expect_error(429, "too_many_attempts");
    app.clock.advance(retry);
    let r = confirm(&app, "guessed", &code, &pw).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn forgot_password_answers_the_same_for_unknown_users() {
    let (app, codes) = TestApp::notified();
    app.active_user("known-user").await;
    let known = forgot(&app, "known-user").await;
    codes.reset_code("known-user").await;
    for name in ["unknown-user", "x", "Not A Valid Name!", &"a".repeat(300)] {
        let r = forgot(&app, name).await;
        assert_eq!(r.status, known.status, "{name}");
        assert_eq!(r.body, known.body, "{name}");
        assert_eq!(
            r.headers["content-type"], known.headers["content-type"],
            "{name}"
        );
    }
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(known.json()["status"], 200);
    // and nothing was sent for them
    assert!(codes.recv(Duration::from_millis(300)).await.is_none());
    // the username is required
    app.post_json("/v1/forgot-password", &json!({}))
        .await
        .expect_error(422, "validation_failed");
}

#[tokio::test]
async fn the_file_notifier_delivers_codes_as_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.jsonl");
    let app = TestApp::with_notifier(Arc::new(FileNotifier::open(&path).unwrap()));
    let u = app.active_user("filed").await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let read_code = || async {
        for _ in 0..100 {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Some(line) = text.lines().last() {
                return (
                    text.lines().count(),
                    serde_json::from_str::<serde_json::Value>(line).unwrap(),
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no code in the file");
    };
    forgot(&app, "filed").await;
    let (n, line) = read_code().await;
    assert_eq!(n, 1);
    assert_eq!(line["type"], "reset_code");
    assert_eq!(line["username"], "filed");
    assert_eq!(line["profileId"], u.profile_id);
    assert_eq!(line["expiresAt"], "2026-01-01T00:10:00+00:00");
    let code = line["code"].as_str().unwrap().to_owned();
    // a second request appends a second line
    forgot(&app, "filed").await;
    let mut newer = line;
    for _ in 0..100 {
        let (n, l) = read_code().await;
        if n == 2 {
            newer = l;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let newer = newer["code"].as_str().unwrap().to_owned();
    assert_ne!(newer, code);
    let pw = password("filed next");
    confirm(&app, "filed", &code, &pw)
        .await
        .expect_error(422, "invalid_code");
    assert_eq!(
        confirm(&app, "filed", &newer, &pw).await.status,
        StatusCode::OK
    );
}
