//! What the OAuth front-channel tests share: an app with an https issuer, an active user,
//! a registered application, authorization URLs, and checks of pages and redirects.

use std::sync::Arc;

use tessera_core::{EngineConfig, MemoryStore};
use tessera_testkit::app::{Reply, TestApp, User};
use tessera_testkit::pages::{ClientSpec, location, pkce, query, register_client};
use uuid::Uuid;

pub(crate) const ISSUER: &str = "https://id.example";
pub(crate) const REDIRECT: &str = "https://app.example.com/cb";

/// An app, its store, a signed-up active user and a confidential application.
pub(crate) struct Fixture {
    pub(crate) app: TestApp,
    pub(crate) store: Arc<MemoryStore>,
    pub(crate) user: User,
    pub(crate) client: Uuid,
}

impl Fixture {
    pub(crate) async fn new() -> Self {
        Self::with(|_| {}).await
    }

    pub(crate) async fn with(tweak: impl FnOnce(&mut EngineConfig)) -> Self {
        let store = Arc::new(MemoryStore::new());
        let app = TestApp::with_config(store.clone(), |c| {
            ISSUER.clone_into(&mut c.oauth.issuer);
            tweak(c);
        });
        let user = app.active_user("alice").await;
        let client = register_client(
            &*store,
            user.profile_id.parse().unwrap(),
            ClientSpec::confidential(REDIRECT),
        )
        .await;
        Self {
            app,
            store,
            user,
            client,
        }
    }

    /// Another application of the user.
    pub(crate) async fn client(&self, spec: ClientSpec) -> Uuid {
        register_client(&*self.store, self.user.profile_id.parse().unwrap(), spec).await
    }

    /// The parameters of a good request to `self.client` (PKCE, state, nonce, openid).
    pub(crate) fn params(&self) -> Params {
        params_for(self.client, REDIRECT)
    }
}

/// An authorization request's parameters, in order.
#[derive(Clone, Debug)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

pub(crate) fn params_for(client: Uuid, redirect_uri: &str) -> Params {
    let (_, challenge) = pkce("fixture");
    Params(
        [
            ("response_type", "code"),
            ("client_id", &client.to_string()),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", "st-123"),
            ("nonce", "n-456"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect(),
    )
}

impl Params {
    /// With `name` set to `value` (replacing it).
    pub(crate) fn set(mut self, name: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    /// With `name` given once more.
    pub(crate) fn add(mut self, name: &str, value: &str) -> Self {
        self.0.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Without `name`.
    pub(crate) fn without(mut self, name: &str) -> Self {
        self.0.retain(|(k, _)| k != name);
        self
    }

    pub(crate) fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&self.0)
            .finish()
    }

    /// `/oauth2/authorize?…`
    pub(crate) fn url(&self) -> String {
        format!("/oauth2/authorize?{}", self.query())
    }

    pub(crate) fn pairs(&self) -> Vec<(&str, &str)> {
        self.0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The headers every page and redirect of the front channel carries, and no CORS.
#[track_caller]
pub(crate) fn assert_page_headers(r: &Reply) {
    let h = &r.headers;
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with(
            "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        ),
        "{csp}"
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        !h.keys().any(|k| k.as_str().starts_with("access-control-")),
        "no CORS here: {h:?}"
    );
}

/// An HTML page with `status`, the page headers and no `Location`.
#[track_caller]
pub(crate) fn assert_page(r: &Reply, status: u16) -> String {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert!(
        r.headers.get("location").is_none(),
        "a page never redirects"
    );
    assert_page_headers(r);
    let html = r.text();
    assert!(
        html.starts_with("<!doctype html>\n<html lang=\"en\">"),
        "{html}"
    );
    html
}

/// The error page of `code`.
#[track_caller]
pub(crate) fn assert_error_page(r: &Reply, status: u16, code: &str) {
    let html = assert_page(r, status);
    assert!(
        html.contains(&format!("<code>{code}</code>")),
        "{code}: {html}"
    );
}

/// A 303 to `REDIRECT`-like `redirect_uri` with the front channel's headers; its query.
#[track_caller]
pub(crate) fn assert_redirect(
    r: &Reply,
    redirect_uri: &str,
) -> std::collections::BTreeMap<String, String> {
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    assert!(r.body.is_empty());
    assert_page_headers(r);
    let loc = location(r);
    assert!(
        loc.starts_with(&format!("{redirect_uri}?")),
        "{loc} is not under {redirect_uri}"
    );
    let q = query(&loc);
    assert_eq!(q["iss"], ISSUER, "{loc}");
    q
}

/// An error redirect with `error` (and the request's state, and an ASCII description).
#[track_caller]
pub(crate) fn assert_error_redirect(r: &Reply, error: &str, state: Option<&str>) {
    let q = assert_redirect(r, REDIRECT);
    assert_eq!(q["error"], error, "{q:?}");
    assert_eq!(q.get("state").map(String::as_str), state, "{q:?}");
    assert!(!q.contains_key("code"));
    let d = &q["error_description"];
    assert!(
        !d.is_empty()
            && d.chars()
                .all(|c| (' '..='~').contains(&c) && c != '"' && c != '\\'),
        "{d:?}"
    );
}
