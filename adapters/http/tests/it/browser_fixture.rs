//! What the browser tests share: the server under test on real TCP ([`Site`]), finding,
//! typing and clicking in the page, its alert box, and screenshots at phone and desktop
//! sizes (saved with `TESSERA_SCREENSHOT_DIR`).
//!
//! To run the browser tests against the real binary, [`Site`] is the one place to change:
//! start `testkit::binary`'s server instead (with `[oauth] issuer` its address) and create
//! the users through the API.

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Locator;
use tessera_core::MemoryStore;
use tessera_testkit::app::{TestApp, User};
use tessera_testkit::browser::{self, Browser};
use tessera_testkit::pages::pkce;
use uuid::Uuid;

/// The two window sizes of the screenshots: a phone and a desktop.
pub(crate) const SIZES: [(u32, u32); 2] = [(390, 844), (1280, 900)];

/// The server under test, reachable over TCP at `base`.
pub(crate) struct Site {
    pub(crate) base: String,
    pub(crate) app: TestApp,
    server: tokio::task::JoinHandle<()>,
}

impl Site {
    pub(crate) async fn start() -> Self {
        let (listener, base) = browser::listener().await;
        let app = TestApp::with_config(Arc::new(MemoryStore::new()), |c| {
            base.clone_into(&mut c.oauth.issuer);
            base.clone_into(&mut c.public_url);
        });
        let server = browser::serve(listener, app.router.clone());
        Self { base, app, server }
    }

    pub(crate) async fn user(&self, name: &str) -> User {
        self.app.active_user(name).await
    }

    /// POST the form `fields` to `path` over TCP, with `token` as `X-DPT-AUTHORIZATION`.
    pub(crate) async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut r = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("content-type", tessera_testkit::app::FORM)
            .body(tessera_testkit::app::form(fields));
        if let Some(t) = token {
            r = r.header("X-DPT-AUTHORIZATION", t);
        }
        r.send().await.unwrap()
    }

    /// GET `path` over TCP, with `token` as `X-DPT-AUTHORIZATION`.
    pub(crate) async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.header("X-DPT-AUTHORIZATION", t);
        }
        r.send().await.unwrap()
    }

    /// The `result` of the command a 202 reply names.
    pub(crate) async fn command_result(&self, reply: &reqwest::Response) -> serde_json::Value {
        assert_eq!(reply.status().as_u16(), 202);
        let command = reply.headers()["x-dpt-cab-id"].to_str().unwrap().to_owned();
        let status: serde_json::Value = self
            .get(&format!("/request-status/{command}"), None)
            .await
            .json()
            .await
            .unwrap();
        status["data"]["result"].clone()
    }

    /// Register a public application of `owner` through the API, over TCP.
    pub(crate) async fn application(&self, owner: &User, redirect_uri: &str) -> Uuid {
        let fields = [
            ("name", "Example App"),
            ("redirectUri", redirect_uri),
            ("scope", "openid profile"),
            ("clientType", "public"),
        ];
        let r = self
            .post("/oauth-application/register", Some(&owner.token), &fields)
            .await;
        self.command_result(&r).await["clientId"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Exchange `code` at `/oauth2/token` over TCP (public client, PKCE of the fixture).
    pub(crate) async fn token(
        &self,
        client: Uuid,
        code: &str,
        redirect_uri: &str,
    ) -> serde_json::Value {
        let verifier = pkce("fixture").0;
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", &client.to_string()),
            ("code_verifier", &verifier),
        ];
        let r = self.post("/oauth2/token", None, &fields).await;
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
pub(crate) async fn find(b: &Browser, locator: Locator<'_>) -> fantoccini::elements::Element {
    b.client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(locator)
        .await
        .unwrap_or_else(|e| panic!("{locator:?}: {e}"))
}

/// The text of the first element matching `css`.
pub(crate) async fn text(b: &Browser, css: &str) -> String {
    find(b, Locator::Css(css)).await.text().await.unwrap()
}

/// Attribute `name` of the first element matching `css` (empty when absent).
pub(crate) async fn attribute(b: &Browser, css: &str, name: &str) -> String {
    find(b, Locator::Css(css))
        .await
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// A browser, the site, and its user `alice` (`None` when the test is skipped: no
/// browser here).
pub(crate) async fn open(test: &str) -> Option<(Browser, Site, User)> {
    let b = Browser::start(test).await?;
    let site = Site::start().await;
    let alice = site.user("alice").await;
    Some((b, site, alice))
}

/// Open `url` (a page with frames), wait for its frames to load, and enter frame
/// `index`: its source.
pub(crate) async fn frame_source(b: &Browser, url: &str, index: u16) -> String {
    b.client.goto(url).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.client.enter_frame(index).await.unwrap();
    b.client.source().await.unwrap()
}

/// Type into the field with id `id`.
pub(crate) async fn type_into(b: &Browser, id: &str, text: &str) {
    let field = find(b, Locator::Id(id)).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

/// Click the first button matching `css`, and wait (at most 10 s) until the page it was on
/// is gone: the pages have no script, so every button submits a form, and a lookup right after
/// the click could otherwise still find an element of the old page (then stale).
pub(crate) async fn click(b: &Browser, css: &str) {
    let button = find(b, Locator::Css(css)).await;
    button.clone().click().await.unwrap();
    for _ in 0..200 {
        if button.is_displayed().await.is_err() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The text of the page's alert box.
pub(crate) async fn alert(b: &Browser) -> String {
    find(b, Locator::Css(".alert")).await.text().await.unwrap()
}

/// With `TESSERA_SCREENSHOT_DIR` set, save the page there as `<name>-<w>x<h>.png` at
/// each of [`SIZES`]; the window is left at the desktop size.
pub(crate) async fn screenshot(b: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("TESSERA_SCREENSHOT_DIR") else {
        return;
    };
    for (w, h) in SIZES {
        b.client.set_window_size(w, h).await.unwrap();
        let png = b.client.screenshot().await.unwrap();
        let path = std::path::Path::new(&dir).join(format!("{name}-{w}x{h}.png"));
        std::fs::write(&path, png).unwrap();
    }
    b.client.set_window_size(1280, 900).await.unwrap();
}
