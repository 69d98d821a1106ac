//! The OAuth pages of the real binary in a real browser (headless Chromium over WebDriver):
//! a person opens an application's authorization URL, types the credentials into the login
//! page, approves the consent and arrives at the application's loopback redirect target
//! with a code, the right `state` and `iss`; a second authorization with the session cookie
//! goes straight to the redirect; another origin framing the login page gets nothing.
//! Prints SKIPPED without Chromium, fails with `TESSERA_REQUIRE_BROWSER=1` (as in CI).

#![allow(clippy::too_many_lines)] // one scenario, top to bottom

use std::time::Duration;

use fantoccini::Locator;
use tessera_testkit::binary as bin_support;
use tessera_testkit::browser::{Browser, Recorder};
use tessera_testkit::pages::{pkce, query};

use super::oauth_support::{active_user, register_app, start};

async fn find(b: &Browser, locator: Locator<'_>) -> fantoccini::elements::Element {
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

fn authorize_url(base: &str, client_id: &str, redirect: &str, state: &str, prompt: &str) -> String {
    let (_, challenge) = pkce("browser");
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.extend_pairs([
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("scope", "openid profile"),
        ("state", state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    if !prompt.is_empty() {
        q.append_pair("prompt", prompt);
    }
    format!("{base}/oauth2/authorize?{}", q.finish())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_through_the_real_binary() {
    let Some(b) = Browser::start("oauth_browser_binary").await else {
        return;
    };
    let (server, _dir) = start().await;
    let api = bin_support::Client::new(&server);
    let (username, password, token) = active_user(&api, "browser-alice").await;
    let app = register_app(
        &api,
        &token,
        "Example App",
        &["http://127.0.0.1/cb"],
        "public",
        "RS256",
    )
    .await;
    let mut site = Recorder::start(
        "<!doctype html><html lang=\"en\"><title>Back</title><p id=\"back\">back at the app</p>"
            .to_owned(),
    )
    .await;
    let redirect = format!("{}/cb", site.base);

    b.client
        .goto(&authorize_url(
            &server.base,
            &app.client_id,
            &redirect,
            "first",
            "",
        ))
        .await
        .unwrap();
    find(&b, Locator::Id("username"))
        .await
        .send_keys(&username)
        .await
        .unwrap();
    find(&b, Locator::Id("password"))
        .await
        .send_keys(&password)
        .await
        .unwrap();
    find(&b, Locator::Css("button.primary"))
        .await
        .click()
        .await
        .unwrap();
    let page = {
        find(&b, Locator::Css("button[value=\"approve\"]")).await;
        b.client.source().await.unwrap()
    };
    assert!(
        page.contains("Example App"),
        "the consent page names the app: {page}"
    );
    find(&b, Locator::Css("button[value=\"approve\"]"))
        .await
        .click()
        .await
        .unwrap();
    let line = site
        .next("/cb?", Duration::from_secs(20))
        .await
        .expect("the browser arrived at the redirect target");
    let q = query(line.split(' ').nth(1).unwrap());
    assert!(q["code"].starts_with("tsc_"), "{line}");
    assert_eq!(q["state"], "first");
    assert_eq!(q["iss"], server.base);

    // the code is good at the token endpoint of the binary
    let verifier = pkce("browser").0;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", q["code"].as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", app.client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .finish();
    let r = api
        .http
        .post(format!("{}/oauth2/token", server.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // a second authorization goes straight back on the session cookie
    b.client
        .goto(&authorize_url(
            &server.base,
            &app.client_id,
            &redirect,
            "second",
            "",
        ))
        .await
        .unwrap();
    let line = site
        .next("/cb?", Duration::from_secs(20))
        .await
        .expect("straight back");
    assert_eq!(query(line.split(' ').nth(1).unwrap())["state"], "second");

    // the login page refuses to be framed by another origin
    let login = authorize_url(&server.base, &app.client_id, &redirect, "framed", "login");
    let framing = Recorder::start(format!(
        "<!doctype html><html lang=\"en\"><title>Framing</title>\
         <iframe id=\"login\" src=\"{}\"></iframe>",
        login.replace('&', "&amp;"),
    ))
    .await;
    b.client
        .goto(&format!("{}/frames", framing.base))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.client.enter_frame(0).await.unwrap();
    let framed = b.client.source().await.unwrap();
    assert!(
        !framed.contains("id=\"password\""),
        "the login page rendered in a frame: {framed}"
    );
    let headers = api.http.get(&login).send().await.unwrap();
    assert_eq!(headers.headers()["x-frame-options"], "DENY");
    let csp = headers.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    b.close().await;
    server.stop().await;
}
