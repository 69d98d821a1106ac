//! API.md "Conventions" and SECURITY.md §5 at the router: body limits, content types,
//! strict form decoding, the authorization header, TTLs, methods and unknown paths.

use tessera_testkit::app as common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{FORM, TTLS, TestApp, form, password};

#[tokio::test]
async fn unknown_path_is_json_404() {
    let app = TestApp::new();
    for path in ["/nope", "/profile", "/profile/authenticate/x", "/v0/login"] {
        app.get(path, None).await.expect_error(404, "not_found");
    }
}

#[tokio::test]
async fn other_methods_are_json_405() {
    let app = TestApp::new();
    for path in [
        "/profile/authenticate",
        "/profile/register-profile",
        "/profile/retrieve-profile-id",
        "/public-key/register-public-key",
        "/device/approve-device",
        "/utility/check-server-health",
    ] {
        for m in ["TRACE", "PUT", "DELETE", "PATCH"] {
            let r = app
                .request(
                    Method::from_bytes(m.as_bytes()).unwrap(),
                    path,
                    None,
                    None,
                    Body::empty(),
                )
                .await;
            r.expect_error(405, "method_not_allowed");
            assert!(r.headers.contains_key("allow"), "{m} {path}");
        }
    }
    // GET on a POST route and POST on a GET route
    app.get("/profile/authenticate", None)
        .await
        .expect_error(405, "method_not_allowed");
    app.post("/profile/retrieve-profile-id", None, &[])
        .await
        .expect_error(405, "method_not_allowed");
}

#[tokio::test]
async fn body_over_16_kib_is_413() {
    let app = TestApp::new();
    let big = "a".repeat(16 * 1024 + 1);
    let body = form(&[("username", "alice"), ("password", &big)]);
    app.request(
        Method::POST,
        "/profile/register-profile",
        None,
        Some(FORM),
        body,
    )
    .await
    .expect_error(413, "payload_too_large");
    // a 1 MiB password on authenticate: refused before any hashing
    let huge = "p".repeat(1 << 20);
    let body = form(&[("username", "alice"), ("password", &huge)]);
    app.request(
        Method::POST,
        "/profile/authenticate",
        None,
        Some(FORM),
        body,
    )
    .await
    .expect_error(413, "payload_too_large");
    // with a Content-Length announcing too much: refused before reading
    let req = Request::post("/profile/authenticate")
        .header("content-type", FORM)
        .header("content-length", "20000")
        .body(Body::from(vec![b'x'; 20_000]))
        .unwrap();
    app.send(req).await.expect_error(413, "payload_too_large");
}

#[tokio::test]
async fn a_body_that_never_ends_is_408() {
    let cfg = tessera_http::HttpConfig {
        request_timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let app = TestApp::with(std::sync::Arc::new(tessera_core::MemoryStore::new()), cfg);
    let (mut tx, body) = http_body_util::channel::Channel::<axum::body::Bytes>::new(1);
    tx.send_data(axum::body::Bytes::from_static(b"username=a"))
        .await
        .unwrap();
    let r = app
        .request(
            Method::POST,
            "/profile/authenticate",
            None,
            Some(FORM),
            Body::new(body),
        )
        .await;
    r.expect_error(408, "request_timeout");
    drop(tx);
}

#[tokio::test]
async fn json_and_multipart_are_415() {
    let app = TestApp::new();
    for ct in [
        "application/json",
        "multipart/form-data; boundary=x",
        "text/plain",
        "application/x-www-form-urlencodedx",
    ] {
        app.request(
            Method::POST,
            "/profile/register-profile",
            None,
            Some(ct),
            r#"{"username":"alice","password":"x"}"#,
        )
        .await
        .expect_error(415, "unsupported_media_type");
    }
    // no content type with a body: 415; with an empty body: accepted (no-field routes)
    app.request(
        Method::POST,
        "/profile/authenticate",
        None,
        None,
        "username=a",
    )
    .await
    .expect_error(415, "unsupported_media_type");
    let u = app.incomplete_user("nobody").await;
    let r = app
        .request(
            Method::POST,
            "/profile/retrieve-token-expiry",
            Some(&u.token),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // charset parameter and letter case are fine
    let r = app
        .request(
            Method::POST,
            "/profile/retrieve-token-expiry",
            Some(&u.token),
            Some("Application/X-WWW-Form-Urlencoded; charset=UTF-8"),
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // JSON to an authenticated form route: 415 too
    app.request(
        Method::POST,
        "/profile/revoke-authorization-token",
        Some(&u.token),
        Some("application/json"),
        "{}",
    )
    .await
    .expect_error(415, "unsupported_media_type");
}

#[tokio::test]
async fn missing_and_duplicated_fields_are_422() {
    let app = TestApp::new();
    let r = app
        .post("/profile/register-profile", None, &[("other", "1")])
        .await;
    r.expect_error(422, "validation_failed");
    let errors = &r.json()["errors"];
    assert!(
        errors["username"].is_array() && errors["password"].is_array(),
        "{errors}"
    );
    let pw = password("dup");
    let r = app
        .post(
            "/profile/register-profile",
            None,
            &[
                ("username", "alice"),
                ("username", "bob"),
                ("password", &pw),
            ],
        )
        .await;
    r.expect_error(422, "validation_failed");
    assert!(r.json()["errors"]["username"].is_array());
    // unknown fields are ignored
    let r = app
        .post(
            "/profile/register-profile",
            None,
            &[
                ("username", "carol"),
                ("password", &pw),
                ("favouriteColour", "red"),
            ],
        )
        .await;
    r.command_id();
}

#[tokio::test]
async fn invalid_utf8_is_422_never_lossy() {
    let app = TestApp::new();
    for raw in [
        "%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF%FF",
        "%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE%FE",
        "%ED%A0%80abcdefghijklmnopq",
    ] {
        let body = format!("username=utf8user&password={raw}");
        let r = app
            .request(
                Method::POST,
                "/profile/register-profile",
                None,
                Some(FORM),
                body.clone(),
            )
            .await;
        r.expect_error(422, "validation_failed");
        assert!(r.json()["errors"]["password"].is_array());
        let r = app
            .request(
                Method::POST,
                "/profile/authenticate",
                None,
                Some(FORM),
                body,
            )
            .await;
        r.expect_error(422, "validation_failed");
    }
    // a U+FFFD typed literally is refused by the password rules, so %FF… and %FE… can
    // never collide into one account
    let fffd = "\u{FFFD}".repeat(16);
    app.register("utf8user", &fffd)
        .await
        .expect_error(422, "validation_failed");
    // a raw `+` is a space
    let pw = password("plus");
    let body = format!("username=plususer&password={}", pw.replace(' ', "+"));
    app.request(
        Method::POST,
        "/profile/register-profile",
        None,
        Some(FORM),
        body,
    )
    .await
    .command_id();
    app.login("plususer", &pw).await;
}

#[tokio::test]
async fn authorization_header_rules() {
    let app = TestApp::new();
    let u = app.incomplete_user("hdruser").await;
    let path = "/profile/retrieve-profile-id";
    for name in [
        "X-DPT-AUTHORIZATION",
        "x-dpt-authorization",
        "X-Dpt-Authorization",
    ] {
        let req = Request::get(path)
            .header(name, &u.token)
            .body(Body::empty())
            .unwrap();
        assert_eq!(app.send(req).await.status, StatusCode::OK, "{name}");
    }
    // no header: a 401 that says which header the route reads
    let missing = app.get(path, None).await;
    missing.expect_error(401, "unauthorized");
    assert!(
        missing.json()["message"]
            .as_str()
            .unwrap()
            .contains("X-DPT-AUTHORIZATION"),
        "{}",
        missing.text()
    );
    // a wrong token: the one body of every token problem (no hint)
    let reference = app
        .get(
            path,
            Some("tsa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    reference.expect_error(401, "unauthorized");
    assert_eq!(reference.json()["message"], "unauthorized");
    let mut changed = u.token.clone();
    let last = if changed.ends_with('A') { "B" } else { "A" };
    changed.replace_range(changed.len() - 1.., last);
    let bad: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        format!(" {}", u.token).into_bytes(),
        format!("{} x", u.token).into_bytes(),
        u.token.as_bytes()[..u.token.len() - 1].to_vec(),
        format!("{}A", u.token).into_bytes(),
        changed.into_bytes(),
        u.token.replace("tsa_", "tsr_").into_bytes(),
        b"not a token at all".to_vec(),
        b"tsa_\xff\xfe".to_vec(),
        format!("Bearer {}", u.token).into_bytes(),
    ];
    for value in bad {
        let req = Request::get(path)
            .header(
                "x-dpt-authorization",
                axum::http::HeaderValue::from_bytes(&value).unwrap(),
            )
            .body(Body::empty())
            .unwrap();
        let r = app.send(req).await;
        r.expect_error(401, "unauthorized");
        assert_eq!(r.body, reference.body, "same body for {value:?}");
    }
    // twice → 401, even if both are valid
    let req = Request::get(path)
        .header("x-dpt-authorization", &u.token)
        .header("X-DPT-AUTHORIZATION", &u.token)
        .body(Body::empty())
        .unwrap();
    app.send(req).await.expect_error(401, "unauthorized");
    // never from Authorization: Bearer (the 401 says where the token goes) or the query string
    let req = Request::get(path)
        .header("authorization", format!("Bearer {}", u.token))
        .body(Body::empty())
        .unwrap();
    let bearer = app.send(req).await;
    bearer.expect_error(401, "unauthorized");
    let hint = bearer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        hint.contains("X-DPT-AUTHORIZATION") && hint.contains("not in Authorization"),
        "{hint}"
    );
    for q in ["token", "authorizationToken", "X-DPT-AUTHORIZATION"] {
        app.get(&format!("{path}?{q}={}", u.token), None)
            .await
            .expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn ttl_rules_on_authenticate_and_reauthorize() {
    let app = TestApp::new();
    let u = app.incomplete_user("ttluser").await;
    let bad = [
        "-1",
        "0",
        "3601",
        "1e9",
        "3600.0",
        "0x10",
        " 3600",
        "3600 ",
        "+3600",
        "03600",
        "18446744073709551616",
        "",
        "abc",
    ];
    for ttl in bad {
        let r = app
            .post(
                "/profile/authenticate",
                None,
                &[
                    ("username", &u.name),
                    ("password", &u.password),
                    ("ttl", ttl),
                ],
            )
            .await;
        r.expect_error(422, "invalid_ttl");
        assert!(
            r.json()["errors"]["ttl"][0]
                .as_str()
                .unwrap()
                .contains("31104000")
        );
        app.post(
            "/profile/reauthorize-authorization-token",
            Some(&u.token),
            &[("ttl", ttl)],
        )
        .await
        .expect_error(422, "invalid_ttl");
    }
    // two ttl fields → invalid_ttl
    app.post(
        "/profile/reauthorize-authorization-token",
        Some(&u.token),
        &[("ttl", "3600"), ("ttl", "3600")],
    )
    .await
    .expect_error(422, "invalid_ttl");
    let now = app.engine.now();
    for ttl in TTLS {
        let t = ttl.to_string();
        let r = app
            .post(
                "/profile/authenticate",
                None,
                &[
                    ("username", &u.name),
                    ("password", &u.password),
                    ("ttl", &t),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json()["expiresAt"], now.plus_secs(ttl).to_rfc3339());
        app.post(
            "/profile/reauthorize-authorization-token",
            Some(&u.token),
            &[("ttl", &t)],
        )
        .await
        .command_id();
        let r = app
            .post("/profile/retrieve-token-expiry", Some(&u.token), &[])
            .await;
        assert_eq!(r.json()["expiresAt"], now.plus_secs(ttl).to_rfc3339());
        assert_eq!(r.json()["expiresIn"], ttl);
    }
    // missing ttl on reauthorize: the default (3600)
    app.post(
        "/profile/reauthorize-authorization-token",
        Some(&u.token),
        &[],
    )
    .await
    .command_id();
    let r = app
        .post("/profile/retrieve-token-expiry", Some(&u.token), &[])
        .await;
    assert_eq!(r.json()["expiresIn"], 3600);
}

#[tokio::test]
async fn timestamps_are_rfc3339_utc_seconds() {
    let app = TestApp::new();
    let u = app.incomplete_user("timeuser").await;
    let r = app
        .post("/profile/retrieve-token-expiry", Some(&u.token), &[])
        .await;
    let at = r.json()["expiresAt"].as_str().unwrap().to_owned();
    assert_eq!(at.len(), 25, "{at}");
    assert!(at.ends_with("+00:00") && at.as_bytes()[10] == b'T', "{at}");
}

/// A 401 tells what the request lacks (the header), never which token problem it was: an
/// expired, a revoked and a made-up token get one body.
#[tokio::test]
async fn unauthorized_hints_name_the_header_but_not_the_token_problem() {
    let app = TestApp::new();
    let path = "/profile/retrieve-profile-id";
    let made_up = app
        .get(
            path,
            Some("tsa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        )
        .await;
    let revoked = app.incomplete_user("hintrevoked").await;
    app.post(
        "/profile/revoke-authorization-token",
        Some(&revoked.token),
        &[],
    )
    .await;
    let revoked = app.get(path, Some(&revoked.token)).await;
    let expiring = app.incomplete_user("hintexpired").await;
    app.clock.advance(31_104_001);
    let expired = app.get(path, Some(&expiring.token)).await;
    for r in [&made_up, &revoked, &expired] {
        r.expect_error(401, "unauthorized");
        assert_eq!(r.body, made_up.body);
    }
    // the users API names its header
    let r = app.get("/v1/users/someone", None).await;
    r.expect_error(401, "unauthorized");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("X-Tessera-Api-Key"),
        "{}",
        r.text()
    );
}

/// The route labels of `tessera_http::App` (its own table, found before the router runs)
/// are exactly paths the router serves: each, with its parameters filled in, is matched by
/// the router (405 for a method no route has, not the fallback's 404), and its requests are
/// counted under that label.
#[tokio::test]
async fn every_route_label_is_a_path_the_router_serves() {
    use std::sync::Arc;

    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    let (engine, _) = tessera_testkit::test_engine(Arc::new(tessera_core::MemoryStore::new()));
    let app = tessera_http::app(engine, tessera_http::HttpConfig::default());
    let labels = app.route_labels();
    for expected in [
        "/profile/retrieve-token-expiry",
        "/v1/users/{externalId}",
        "/oauth2/token",
        "/ws",
        "/metrics",
    ] {
        assert!(
            labels.contains(&expected),
            "{expected} missing from {labels:?}"
        );
    }
    for label in &labels {
        let path: String = label
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let req = Request::builder()
            .method(Method::TRACE)
            .uri(&path)
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{label} as {path}"
        );
    }
    let req = Request::get("/metrics").body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let text =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    for label in &labels {
        let series = format!("route=\"{label}\",method=\"TRACE\",status=\"405\"");
        assert!(text.contains(&series), "no {series} in /metrics");
    }
}
