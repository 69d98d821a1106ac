//! The OAuth pages in router-level tests: a browser-like client of a [`TestApp`] (cookies
//! kept between requests, as a browser does), reading hidden form fields out of a page,
//! applications registered straight in the store, PKCE pairs.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tessera_core::store::{IdTokenAlg, OAuthClientRecord, Store};
use tessera_core::{Timestamp, TokenDigest};
use uuid::Uuid;

use crate::app::{FORM, Reply, TestApp, form};

/// A client of the pages that keeps the cookies it is given (name → value; `Max-Age=0`
/// removes one), like a browser on one site.
#[derive(Debug)]
pub struct PageClient<'a> {
    app: &'a TestApp,
    /// The cookies held.
    pub cookies: BTreeMap<String, String>,
}

impl<'a> PageClient<'a> {
    /// A client with no cookies.
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn absorb(&mut self, reply: &Reply) {
        for v in reply.headers.get_all("set-cookie") {
            let text = v.to_str().unwrap();
            let first = text.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            if text.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    /// GET `path` with the cookies.
    pub async fn get(&mut self, path: &str) -> Reply {
        let mut b = Request::builder().method(Method::GET).uri(path);
        if let Some(c) = self.cookie_header() {
            b = b.header("cookie", c);
        }
        let r = self.app.send(b.body(Body::empty()).unwrap()).await;
        self.absorb(&r);
        r
    }

    /// [`PageClient::post`] with owned fields.
    pub async fn post_owned(&mut self, path: &str, fields: &[(String, String)]) -> Reply {
        let pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.post(path, &pairs).await
    }

    /// POST a form of `fields` to `path` with the cookies.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("content-type", FORM);
        if let Some(c) = self.cookie_header() {
            b = b.header("cookie", c);
        }
        let r = self
            .app
            .send(b.body(Body::from(form(fields))).unwrap())
            .await;
        self.absorb(&r);
        r
    }
}

/// The `value` of the input named `name` in `html` (panics when there is none).
pub fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The `Location` of a reply (panics when there is none).
pub fn location(reply: &Reply) -> String {
    reply
        .headers
        .get("location")
        .unwrap_or_else(|| panic!("no Location ({}): {}", reply.status, reply.text()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The query parameters of a URL (decoded).
pub fn query(url: &str) -> BTreeMap<String, String> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce(tag: &str) -> (String, String) {
    let verifier = format!("{tag}-verifier-{}", "x".repeat(43));
    let challenge = URL_SAFE_NO_PAD.encode(TokenDigest::of(&verifier).0);
    (verifier, challenge)
}

/// What [`register_client`] registers.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    /// The client id (default: a random one).
    pub id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Confidential (a secret) or public (PKCE only).
    pub confidential: bool,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Registered scopes.
    pub scopes: Vec<String>,
    /// Marked first-party.
    pub first_party: bool,
}

impl ClientSpec {
    /// A confidential application "Example App" with `redirect_uri` and scopes
    /// `openid profile email offline_access`.
    pub fn confidential(redirect_uri: &str) -> Self {
        Self {
            id: None,
            name: "Example App".to_owned(),
            confidential: true,
            redirect_uris: vec![redirect_uri.to_owned()],
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            first_party: false,
        }
    }

    /// The same, public.
    pub fn public(redirect_uri: &str) -> Self {
        Self {
            confidential: false,
            ..Self::confidential(redirect_uri)
        }
    }
}

/// Register an application of `owner` straight in the store; its client id.
pub async fn register_client(store: &dyn Store, owner: Uuid, spec: ClientSpec) -> Uuid {
    let id = spec.id.unwrap_or_else(Uuid::new_v4);
    let now = Timestamp(1_700_000_000);
    let rec = OAuthClientRecord {
        id,
        owner,
        name: spec.name,
        confidential: spec.confidential,
        redirect_uris: spec.redirect_uris,
        scopes: spec.scopes,
        id_token_alg: IdTokenAlg::default(),
        secret: spec
            .confidential
            .then(|| TokenDigest::of("test client secret")),
        pending_secret: None,
        first_party: spec.first_party,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store.create_client(&rec, None).await.unwrap();
    id
}
