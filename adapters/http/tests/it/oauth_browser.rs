//! The OAuth pages in a real browser (headless Chromium over WebDriver): a person opens
//! the authorization URL, types the password, approves, and arrives at the application's
//! loopback redirect target with the code, the state and `iss`; a second authorization
//! goes straight through on the session cookie; a page of another origin that frames the
//! login page gets nothing (X-Frame-Options / CSP `frame-ancestors`).
//!
//! The router runs on real TCP here (`axum::serve` on 127.0.0.1); the application is
//! registered and its code redeemed through the API over TCP. To run the same test against
//! the real binary, [`Site`] is the one place to change: start `testkit::binary`'s server
//! instead (with `[oauth] issuer` its address) and create the users through the API.
//!
//! With `TESSERA_SCREENSHOT_DIR` set, the login and consent pages are saved there as PNG
//! at phone (390×844) and desktop (1280×900) sizes.

#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use tessera_core::MemoryStore;
use tessera_testkit::app::{TestApp, User};
use tessera_testkit::browser::{self, Browser, Recorder};
use tessera_testkit::pages::{pkce, query};
use uuid::Uuid;

use crate::oauth_fixture::params_for;

/// The server under test, reachable over TCP at `base`.
struct Site {
    base: String,
    app: TestApp,
    server: tokio::task::JoinHandle<()>,
}

impl Site {
    async fn start() -> Self {
        let (listener, base) = browser::listener().await;
        let app = TestApp::with_config(Arc::new(MemoryStore::new()), |c| {
            base.clone_into(&mut c.oauth.issuer);
        });
        let server = browser::serve(listener, app.router.clone());
        Self { base, app, server }
    }

    async fn user(&self, name: &str) -> User {
        self.app.active_user(name).await
    }

    /// Register a public application of `owner` through the API, over TCP.
    async fn application(&self, owner: &User, redirect_uri: &str) -> Uuid {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{}/oauth-application/register", self.base))
            .header("X-DPT-AUTHORIZATION", &owner.token)
            .header("content-type", tessera_testkit::app::FORM)
            .body(tessera_testkit::app::form(&[
                ("name", "Example App"),
                ("redirectUri", redirect_uri),
                ("scope", "openid profile"),
                ("clientType", "public"),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 202);
        let command = r.headers()["x-dpt-cab-id"].to_str().unwrap().to_owned();
        let status: serde_json::Value = http
            .get(format!("{}/request-status/{command}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status["data"]["result"]["clientId"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Exchange `code` at `/oauth2/token` over TCP (public client, PKCE of the fixture).
    async fn token(&self, client: Uuid, code: &str, redirect_uri: &str) -> serde_json::Value {
        let verifier = pkce("fixture").0;
        let r = reqwest::Client::new()
            .post(format!("{}/oauth2/token", self.base))
            .header("content-type", tessera_testkit::app::FORM)
            .body(tessera_testkit::app::form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("client_id", &client.to_string()),
                ("code_verifier", &verifier),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        r.json().await.unwrap()
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Wait (at most 20 s) for an element.
async fn find(b: &Browser, locator: Locator<'_>) -> fantoccini::elements::Element {
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

/// Type into the field with id `id`.
async fn type_into(b: &Browser, id: &str, text: &str) {
    let field = find(b, Locator::Id(id)).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Click the first button matching `css`.
async fn click(b: &Browser, css: &str) {
    find(b, Locator::Css(css)).await.click().await.unwrap();
}

/// The text of the page's alert box.
async fn alert(b: &Browser) -> String {
    find(b, Locator::Css(".alert")).await.text().await.unwrap()
}

async fn screenshot(b: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("TESSERA_SCREENSHOT_DIR") else {
        return;
    };
    for (w, h) in [(390, 844), (1280, 900)] {
        b.client.set_window_size(w, h).await.unwrap();
        let png = b.client.screenshot().await.unwrap();
        let path = std::path::Path::new(&dir).join(format!("{name}-{w}x{h}.png"));
        std::fs::write(&path, png).unwrap();
    }
    b.client.set_window_size(1280, 900).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_approves_and_arrives_back_with_the_code() {
    let Some(b) = Browser::start("oauth_browser").await else {
        return;
    };
    let site = Site::start().await;
    let alice = site.user("alice").await;
    let mut app_site = Recorder::start(
        "<!doctype html><html lang=\"en\"><title>Back</title><p id=\"back\">back at the app</p>"
            .to_owned(),
    )
    .await;
    // registered without a port: any port of the loopback address matches
    let client = site.application(&alice, "http://127.0.0.1/cb").await;
    let redirect = format!("{}/cb", app_site.base);
    let state: String = "aZ09-._~ !$&'()*+,;=:@/?%é"
        .chars()
        .cycle()
        .take(128)
        .collect();
    let params = params_for(client, &redirect).set("state", &state);
    let authorize = format!("{}{}", site.base, params.url());

    b.client.goto(&authorize).await.unwrap();
    find(&b, Locator::Id("username")).await;
    screenshot(&b, "login").await;
    // a typo first: the page says so and keeps the username
    type_into(&b, "username", "alice").await;
    type_into(&b, "password", "not the password").await;
    click(&b, "button.primary").await;
    assert!(
        alert(&b)
            .await
            .contains("The username or password is wrong.")
    );
    screenshot(&b, "login-wrong-password").await;
    let kept = find(&b, Locator::Id("username")).await;
    assert_eq!(kept.prop("value").await.unwrap().as_deref(), Some("alice"));
    type_into(&b, "password", &alice.password).await;
    click(&b, "button.primary").await;
    let allow = find(&b, Locator::Css("button[value=\"approve\"]")).await;
    let page = b.client.source().await.unwrap();
    assert!(page.contains("Signed in as"), "{page}");
    screenshot(&b, "consent").await;
    allow.click().await.unwrap();

    // the browser followed the 303 to the application (CSP form-action allowed it)
    let line = app_site
        .next("/cb?", Duration::from_secs(20))
        .await
        .expect("the browser arrived at the redirect target");
    let path = line.split(' ').nth(1).unwrap();
    let q = query(path);
    assert!(q["code"].starts_with("tsc_"), "{line}");
    assert_eq!(q["state"], state);
    assert_eq!(q["iss"], site.base);
    find(&b, Locator::Id("back")).await;
    // the application redeems the code
    let tokens = site.token(client, &q["code"], &redirect).await;
    assert!(tokens["access_token"].as_str().unwrap().starts_with("tso_"));
    assert!(tokens["id_token"].is_string(), "{tokens}");

    // a second authorization goes straight back on the session cookie
    let again = params.clone().set("state", "second");
    b.client
        .goto(&format!("{}{}", site.base, again.url()))
        .await
        .unwrap();
    let line = app_site
        .next("/cb?", Duration::from_secs(20))
        .await
        .expect("straight back");
    let q = query(line.split(' ').nth(1).unwrap());
    assert_eq!(q["state"], "second");
    assert_ne!(q["code"], query(path)["code"]);
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&redirect)
    );

    // another origin frames the login page: the frame stays empty of it; a frame of a page
    // that allows framing loads, so the check is not vacuous
    let login = format!(
        "{}{}",
        site.base,
        params.clone().set("prompt", "login").url()
    );
    let framing = Recorder::start(format!(
        "<!doctype html><html lang=\"en\"><title>Framing</title>\
         <iframe id=\"login\" src=\"{}\"></iframe>\
         <iframe id=\"other\" src=\"{}/allowed\"></iframe>",
        login.replace('&', "&amp;"),
        app_site.base,
    ))
    .await;
    b.client
        .goto(&format!("{}/frames", framing.base))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.client.enter_frame(1).await.unwrap();
    let allowed = b.client.source().await.unwrap();
    assert!(allowed.contains("back at the app"), "{allowed}");
    b.client.enter_parent_frame().await.unwrap();
    b.client.enter_frame(0).await.unwrap();
    let framed = b.client.source().await.unwrap();
    // a blocked frame holds Chromium's error document (chrome-error://…), if it lets a
    // script run at all
    let href = b
        .client
        .execute("return document.location.href", Vec::new())
        .await
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    assert!(
        !framed.contains("id=\"password\"") && !framed.contains("Sign in"),
        "the login page rendered in a frame: {framed}"
    );
    assert!(
        !href.starts_with(&site.base),
        "the frame holds our page: {href}"
    );
    b.client.enter_parent_frame().await.unwrap();

    // the error page of a request that cannot be answered with a redirect
    let unknown = params_for(Uuid::new_v4(), &redirect);
    b.client
        .goto(&format!("{}{}", site.base, unknown.url()))
        .await
        .unwrap();
    assert!(alert(&b).await.contains("is not registered"));
    screenshot(&b, "error").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_passwords_and_throttling_in_the_browser() {
    let Some(b) = Browser::start("oauth_browser").await else {
        return;
    };
    let site = Site::start().await;
    let alice = site.user("alice").await;
    let temporary = tessera_testkit::app::password("temporary");
    site.app
        .engine
        .create_user_with_temporary_password("carol", &temporary)
        .await
        .unwrap();
    let client = site.application(&alice, "http://127.0.0.1/cb").await;
    let authorize = format!(
        "{}{}",
        site.base,
        params_for(client, "http://127.0.0.1:9/cb").url()
    );
    // a temporary password leads to "choose a new password", with the checker's advice
    b.client.goto(&authorize).await.unwrap();
    type_into(&b, "username", "carol").await;
    type_into(&b, "password", &temporary).await;
    click(&b, "button.primary").await;
    find(&b, Locator::Id("new_password")).await;
    screenshot(&b, "new-password").await;
    type_into(&b, "new_password", "passwordpassword1").await;
    type_into(&b, "new_password_repeat", "passwordpassword1").await;
    click(&b, "button.primary").await;
    let advice = alert(&b).await;
    assert!(
        advice.contains("The password is too easy to guess."),
        "{advice}"
    );
    screenshot(&b, "new-password-weak").await;
    // too many wrong passwords: the page says when to try again
    b.client.goto(&authorize).await.unwrap();
    for n in 0..7 {
        type_into(&b, "username", "alice").await;
        type_into(&b, "password", &format!("wrong {n}")).await;
        click(&b, "button.primary").await;
        find(&b, Locator::Css(".alert")).await;
    }
    let text = alert(&b).await;
    assert!(
        text.contains("Too many failed attempts") && text.contains("Try again in"),
        "{text}"
    );
    screenshot(&b, "login-throttled").await;
    b.close().await;
}
