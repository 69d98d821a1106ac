//! `/oauth2/authorize`: which problems are an error page and which redirect back with an
//! error (research §1.4), open-redirect attempts, PKCE rules, `state` echo, `prompt=none`
//! without a session, unknown parameters, the POST and Privicore variants.

#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use axum::http::StatusCode;
use tessera_testkit::pages::{ClientSpec, PageClient};

use crate::oauth_fixture::{
    Fixture, REDIRECT, assert_error_page, assert_error_redirect, assert_page, params_for,
};

#[tokio::test]
async fn until_client_and_redirect_uri_are_good_errors_are_pages() {
    let f = Fixture::new().await;
    let good = f.params();
    let cases = [
        (good.clone().without("client_id"), "missing_client_id"),
        (
            good.clone().set("client_id", "not-a-uuid"),
            "unknown_client",
        ),
        (
            good.clone()
                .set("client_id", &uuid::Uuid::new_v4().to_string()),
            "unknown_client",
        ),
        (good.clone().without("redirect_uri"), "missing_redirect_uri"),
        (
            good.clone().add("client_id", &f.client.to_string()),
            "duplicated_parameter",
        ),
        (
            good.clone().add("redirect_uri", REDIRECT),
            "duplicated_parameter",
        ),
        (good.clone().add("state", "again"), "duplicated_parameter"),
        (
            good.clone().set("state", &"s".repeat(2049)),
            "oversized_state",
        ),
        // and the later problems do not turn a page into a redirect
        (
            good.clone()
                .set("redirect_uri", "https://evil.example/cb")
                .without("response_type"),
            "unregistered_redirect_uri",
        ),
    ];
    for (params, code) in cases {
        let r = f.app.get(&params.url(), None).await;
        assert_error_page(&r, 400, code);
    }
    // An undecodable parameter: the page too.
    let r = f
        .app
        .get(
            &format!("{}&client_id=%FF", good.without("client_id").url()),
            None,
        )
        .await;
    assert_error_page(&r, 400, "malformed_request");
}

#[tokio::test]
async fn open_redirect_attempts_get_a_page_and_no_location() {
    let f = Fixture::new().await;
    for bad in [
        "https://APP.example.com/cb",
        "HTTPS://app.example.com/cb",
        "https://app.example.com/cb/",
        "https://app.example.com/CB",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb?",
        "https://app.example.com/cb#x",
        "https://evil@app.example.com/cb",
        "https://app.example.com@evil.example/cb",
        "https://app.example.com/cb/../cb",
        "https://app.example.com/x/../cb",
        "https://app.example.com.evil.example/cb",
        "https://app.example.com:443/cb",
        "//evil.example/cb",
        "/cb",
        "https://app.example.com/cb%2F",
        " https://app.example.com/cb",
        "",
    ] {
        let r = f
            .app
            .get(&f.params().set("redirect_uri", bad).url(), None)
            .await;
        assert_error_page(&r, 400, "unregistered_redirect_uri");
        assert!(
            !r.text().contains("evil"),
            "{bad}: the page names no target"
        );
    }
}

#[tokio::test]
async fn after_client_and_redirect_uri_are_good_errors_redirect() {
    let f = Fixture::new().await;
    let public = f.client(ClientSpec::public(REDIRECT)).await;
    let good = f.params();
    let public_good = params_for(public, REDIRECT);
    let cases = [
        (good.clone().without("response_type"), "invalid_request"),
        (
            good.clone().set("response_type", "token"),
            "unsupported_response_type",
        ),
        (
            good.clone().set("response_type", "code id_token"),
            "unsupported_response_type",
        ),
        (good.clone().without("scope"), "invalid_scope"),
        (good.clone().set("scope", "openid admin"), "invalid_scope"),
        // supported by the server but not registered for the application
        (
            good.clone().set("scope", "openid directories"),
            "invalid_scope",
        ),
        (good.clone().add("scope", "openid"), "invalid_request"),
        (good.clone().add("nonce", "again"), "invalid_request"),
        (
            good.clone().set("prompt", "select_account"),
            "invalid_request",
        ),
        (good.clone().set("prompt", "none login"), "invalid_request"),
        (good.clone().set("max_age", "-1"), "invalid_request"),
        (good.clone().set("max_age", "1.5"), "invalid_request"),
        (
            good.clone().set("nonce", &"n".repeat(513)),
            "invalid_request",
        ),
        // PKCE: S256 only, no downgrade
        (
            good.clone().set("code_challenge_method", "plain"),
            "invalid_request",
        ),
        (
            good.clone().set("code_challenge_method", "s256"),
            "invalid_request",
        ),
        (
            good.clone().without("code_challenge_method"),
            "invalid_request",
        ),
        (good.clone().without("code_challenge"), "invalid_request"),
        (
            good.clone().set("code_challenge", "short"),
            "invalid_request",
        ),
        (
            good.clone().set("code_challenge", &"=".repeat(43)),
            "invalid_request",
        ),
        // a confidential client may omit PKCE only in an OpenID request with a nonce
        (
            good.clone()
                .without("code_challenge")
                .without("code_challenge_method")
                .without("nonce"),
            "invalid_request",
        ),
        (
            good.clone()
                .without("code_challenge")
                .without("code_challenge_method")
                .set("scope", "profile"),
            "invalid_request",
        ),
        // a public client never
        (
            public_good
                .clone()
                .without("code_challenge")
                .without("code_challenge_method"),
            "invalid_request",
        ),
        (
            public_good.set("code_challenge_method", "plain"),
            "invalid_request",
        ),
        // an id_token_hint that is not one of ours
        (
            good.clone().set("id_token_hint", "a.b.c"),
            "invalid_request",
        ),
        (
            good.clone()
                .set("id_token_hint", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
            "invalid_request",
        ),
        // no session: prompt=none cannot show the login page
        (good.clone().set("prompt", "none"), "login_required"),
    ];
    for (params, error) in cases {
        let r = f.app.get(&params.url(), None).await;
        assert_error_redirect(&r, error, Some("st-123"));
    }
    // without a state, none comes back
    let r = f
        .app
        .get(
            &good.clone().without("state").without("response_type").url(),
            None,
        )
        .await;
    assert_error_redirect(&r, "invalid_request", None);
}

#[tokio::test]
async fn state_is_echoed_intact_up_to_2_kib() {
    let f = Fixture::new().await;
    // 128 characters of every kind the conformance suite sends, and more
    let state: String = "aZ09-._~!$&'()*+,;=:@/?% é\"<>#"
        .chars()
        .cycle()
        .take(128)
        .collect();
    for s in [state, "x".repeat(2048)] {
        let r = f
            .app
            .get(
                &f.params().set("state", &s).set("prompt", "none").url(),
                None,
            )
            .await;
        assert_error_redirect(&r, "login_required", Some(&s));
    }
}

#[tokio::test]
async fn good_requests_show_the_login_page_whatever_else_they_carry() {
    let f = Fixture::new().await;
    let confidential_no_pkce = f
        .params()
        .without("code_challenge")
        .without("code_challenge_method");
    for params in [
        f.params(),
        confidential_no_pkce,
        f.params()
            .add("extra", "foobar")
            .set("display", "popup")
            .set("ui_locales", "fr-CA en")
            .set("claims_locales", "de")
            .set("acr_values", "urn:x")
            .set("claims", r#"{"id_token":{"name":{"essential":true}}}"#)
            .set("login_hint", "alice")
            .set("max_age", "15000")
            .set("prompt", "login consent"),
    ] {
        let r = f.app.get(&params.url(), None).await;
        let html = assert_page(&r, 200);
        assert!(html.contains("Example App") && html.contains("action=\"/oauth2/login\""));
    }
    // login_hint prefills the username
    let r = f
        .app
        .get(&f.params().set("login_hint", "al\"ice").url(), None)
        .await;
    assert!(r.text().contains("value=\"al&quot;ice\""), "{}", r.text());
    // the form POST and the Privicore path are the same endpoint
    let r = f
        .app
        .post("/oauth2/authorize", None, &f.params().pairs())
        .await;
    assert_page(&r, 200);
    let r = f
        .app
        .get(
            &format!(
                "/oauth-application/request-authorization-code?{}",
                f.params().query()
            ),
            None,
        )
        .await;
    assert_page(&r, 200);
    // a POST that is not a form is the error page (HTML, not the API's JSON)
    let r = f
        .app
        .post_json("/oauth2/authorize", &serde_json::json!({"client_id": "x"}))
        .await;
    assert_error_page(&r, 400, "malformed_request");
    // a loopback redirect URI of a public client matches with any port
    let public = f
        .client(ClientSpec::public("http://127.0.0.1/callback"))
        .await;
    let r = f
        .app
        .get(
            &params_for(public, "http://127.0.0.1:53123/callback").url(),
            None,
        )
        .await;
    let html = assert_page(&r, 200);
    let csp = r.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.ends_with("form-action 'self' http://127.0.0.1:53123"),
        "{csp}"
    );
    assert!(html.contains("Example App"));
    let r = f
        .app
        .get(
            &params_for(public, "http://127.0.0.1:53123/callback2").url(),
            None,
        )
        .await;
    assert_error_page(&r, 400, "unregistered_redirect_uri");
    // other methods
    let r = f
        .app
        .request(axum::http::Method::PUT, "/oauth2/authorize", None, None, "")
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn prompt_none_without_a_session_never_shows_a_page() {
    let f = Fixture::new().await;
    let mut browser = PageClient::new(&f.app);
    let r = browser.get(&f.params().set("prompt", "none").url()).await;
    assert_error_redirect(&r, "login_required", Some("st-123"));
    assert!(r.headers.get("set-cookie").is_none());
    // a cookie that is no session is no session
    browser
        .cookies
        .insert("__Host-tessera_session".into(), "tsb_forged".into());
    let r = browser.get(&f.params().set("prompt", "none").url()).await;
    assert_error_redirect(&r, "login_required", Some("st-123"));
}
