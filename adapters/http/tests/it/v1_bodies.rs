//! The `/v1` routes' strict JSON bodies: content type, size, syntax, shape, member types and
//! duplicates always answer a 4xx in the error shape, never a 500.

use tessera_testkit::app as common;

use axum::http::{Method, StatusCode};
use common::{JSON, TestApp};

/// Every `/v1` POST route and a body with its members (strings).
const ROUTES: [(&str, &str); 7] = [
    ("/v1/login", r#"{"username":"u","password":"p"}"#),
    (
        "/v1/token-refresh",
        r#"{"username":"u","refresh_token":"r"}"#,
    ),
    ("/v1/token-revoke", r#"{"refresh_token":"r"}"#),
    ("/v1/forgot-password", r#"{"username":"u"}"#),
    (
        "/v1/forgot-password-confirm",
        r#"{"username":"u","password":"p","confirmation_code":"c"}"#,
    ),
    (
        "/v1/change-password",
        r#"{"access_token":"a","previous_password":"p","proposed_password":"q"}"#,
    ),
    (
        "/v1/new-password-required",
        r#"{"session":"s","username":"u","new_password":"p"}"#,
    ),
];

async fn post(
    app: &TestApp,
    path: &str,
    ct: Option<&str>,
    body: impl Into<String>,
) -> common::Reply {
    app.request(Method::POST, path, None, ct, body.into()).await
}

#[tokio::test]
async fn content_type_size_and_syntax() {
    let app = TestApp::new();
    for (path, body) in ROUTES {
        for ct in [
            None,
            Some("application/x-www-form-urlencoded"),
            Some("text/plain"),
            Some("application/jsonx"),
            Some("multipart/form-data; boundary=x"),
        ] {
            let r = post(&app, path, ct, body).await;
            r.expect_error(415, "unsupported_media_type");
            assert!(
                r.json()["message"]
                    .as_str()
                    .unwrap()
                    .contains("application/json")
            );
        }
        // parameters and letter case of the type are fine
        for ct in ["application/json; charset=utf-8", "Application/JSON"] {
            let r = post(&app, path, Some(ct), body).await;
            assert!(
                r.status.is_client_error() || r.status.is_success(),
                "{path} {ct}: {}",
                r.status
            );
            assert_ne!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{path} {ct}");
        }
        let big = format!(r#"{{"username":"{}"}}"#, "a".repeat(17 * 1024));
        post(&app, path, Some(JSON), big)
            .await
            .expect_error(413, "payload_too_large");
        for bad in [
            "",
            "{",
            "{\"username\":}",
            "{} {}",
            "nul",
            "{\"a\":\"\u{0}\"",
            "\u{feff}{}",
        ] {
            post(&app, path, Some(JSON), bad)
                .await
                .expect_error(400, "bad_request");
        }
        for not_object in ["[]", "1", "\"x\"", "null", "true"] {
            let r = post(&app, path, Some(JSON), not_object).await;
            r.expect_error(422, "validation_failed");
            assert!(r.json()["errors"]["request"].is_array());
        }
        // methods other than POST
        let r = app.get(path, None).await;
        r.expect_error(405, "method_not_allowed");
    }
    // invalid UTF-8 inside a string
    let r = app
        .request(
            Method::POST,
            "/v1/login",
            None,
            Some(JSON),
            b"{\"username\":\"\xff\xfe\",\"password\":\"p\"}".to_vec(),
        )
        .await;
    r.expect_error(400, "bad_request");
}

#[tokio::test]
async fn members_missing_mistyped_or_duplicated_are_named() {
    let app = TestApp::new();
    for (path, body) in ROUTES {
        let full: serde_json::Value = serde_json::from_str(body).unwrap();
        let members: Vec<String> = full.as_object().unwrap().keys().cloned().collect();
        // all missing: every one is named
        let r = post(&app, path, Some(JSON), "{}").await;
        r.expect_error(422, "validation_failed");
        for m in &members {
            assert!(r.json()["errors"][m].is_array(), "{path} {m}: {}", r.text());
        }
        for m in &members {
            for wrong in [
                serde_json::json!(1),
                serde_json::json!(["x"]),
                serde_json::json!({"a": 1}),
                serde_json::json!(true),
            ] {
                let mut b = full.clone();
                b[m] = wrong.clone();
                let r = post(&app, path, Some(JSON), b.to_string()).await;
                r.expect_error(422, "validation_failed");
                let msg = r.json()["errors"][m][0].as_str().unwrap().to_owned();
                assert!(msg.contains("string"), "{path} {m} {wrong}: {msg}");
            }
            // null is absent
            let mut b = full.clone();
            b[m] = serde_json::Value::Null;
            let r = post(&app, path, Some(JSON), b.to_string()).await;
            r.expect_error(422, "validation_failed");
            assert!(
                r.json()["errors"][m][0]
                    .as_str()
                    .unwrap()
                    .contains("required")
            );
            // duplicated
            let dup = body.replacen('{', &format!(r#"{{"{m}":"x","#), 1);
            let r = post(&app, path, Some(JSON), dup).await;
            r.expect_error(422, "validation_failed");
            assert!(r.json()["errors"][m].is_array(), "{path} {m}: {}", r.text());
        }
        // unknown members are ignored: the answer is about the content, not the shape
        let mut b = full.clone();
        b["extra"] = serde_json::json!({"deep": [1, 2, {"x": null}]});
        let r = post(&app, path, Some(JSON), b.to_string()).await;
        assert!(r.status.as_u16() < 500, "{path}: {}", r.text());
        if r.status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(
                r.json()["errors"].get("extra").is_none(),
                "{path}: {}",
                r.text()
            );
        }
    }
}

#[tokio::test]
async fn hostile_values_never_cause_a_500() {
    let app = TestApp::new();
    let values = [
        String::new(),
        " ".repeat(100),
        "\u{0}".to_owned(),
        "\u{202e}admin".to_owned(),
        "\u{fffd}".repeat(20),
        "a".repeat(8 * 1024),
        "tsa_".to_owned() + &"A".repeat(43),
        "tsr_".to_owned() + &"A".repeat(43),
        "tss_".to_owned() + &"/".repeat(43),
        "𝕒𝕕𝕞𝕚𝕟".to_owned(),
    ];
    for (path, body) in ROUTES {
        let full: serde_json::Value = serde_json::from_str(body).unwrap();
        for m in full.as_object().unwrap().keys() {
            for v in &values {
                let mut b = full.clone();
                b[m] = serde_json::Value::String(v.clone());
                let r = post(&app, path, Some(JSON), b.to_string()).await;
                assert!(
                    r.status.is_client_error() || r.status.is_success(),
                    "{path} {m}={v:?}: {} {}",
                    r.status,
                    r.text()
                );
                let j = r.json();
                assert!(j["status"].is_u64() && j["message"].is_string(), "{j}");
            }
        }
    }
}
