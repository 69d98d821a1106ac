//! Fuzz body `oauth_params`: every parameter of the OAuth endpoints, through the real router
//! (authorize GET and POST, the login, new-password, consent and cancel forms, continue,
//! token, introspection, revocation, userinfo GET and POST, and the Privicore-style
//! application, code and token routes), on a memory store with one
//! active user and one confidential application.
//!
//! Input layout: byte 0 picks the endpoint; byte 1 is a set of flags that put valid values
//! in front of the fuzzed ones, so the input reaches past the first checks (bit 0 the
//! application's `client_id`, bit 1 its `redirect_uri`, bit 2 a PKCE S256 challenge and
//! `response_type=code&scope=openid`, bit 3 the client's Basic credentials, bit 4 the user's
//! `X-DPT-AUTHORIZATION`); the rest is the query or form body (bytes outside a URI's
//! characters percent-encoded for a query).
//!
//! Properties: no panic; never a 500; an authorization answer that redirects goes to the
//! registered redirect URI and nowhere else (no open redirect); every token-endpoint answer
//! carries `Cache-Control: no-store`, and its errors are OAuth error objects.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use uuid::Uuid;

use crate::app::{FORM, TestApp};
use crate::pages::{ClientSpec, register_client};

/// The registered redirect URI.
const REDIRECT: &str = "https://app.example/cb";

/// Bytes kept as they are in a fuzzed query: everything a query may hold but `#`.
const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'[')
    .add(b']');

/// The endpoints byte 0 picks from: method, path, and whether the input is the query.
const ENDPOINTS: [(&str, &str, bool); 17] = [
    ("GET", "/oauth2/authorize", true),
    ("POST", "/oauth2/authorize", false),
    ("GET", "/oauth-application/request-authorization-code", true),
    ("POST", "/oauth2/login", false),
    ("POST", "/oauth2/consent", false),
    ("POST", "/oauth2/token", false),
    ("POST", "/oauth2/introspect", false),
    ("POST", "/oauth2/revoke", false),
    ("POST", "/oauth2/userinfo", false),
    (
        "POST",
        "/oauth-application/retrieve-authorization-code",
        false,
    ),
    ("POST", "/oauth-application/obtain-access-token", false),
    ("POST", "/oauth-application/refresh-access-token", false),
    ("POST", "/oauth2/new-password", false),
    ("POST", "/oauth2/cancel", false),
    ("GET", "/oauth2/continue", true),
    ("GET", "/oauth2/userinfo", true),
    ("POST", "/oauth-application/register", false),
];

struct Fixture {
    app: TestApp,
    client: Uuid,
    token: String,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        runtime().block_on(async {
            let store = std::sync::Arc::new(tessera_core::MemoryStore::new());
            let app = TestApp::with_config(store.clone(), |_| {});
            let user = app.active_user("fuzz-owner").await;
            let owner = Uuid::parse_str(&user.profile_id).expect("profile id");
            let client = register_client(&*store, owner, ClientSpec::confidential(REDIRECT)).await;
            Fixture {
                app,
                client,
                token: user.token,
            }
        })
    })
}

/// The fuzz body. See the module docs.
pub fn oauth_params(data: &[u8]) {
    let (Some(&pick), Some(&flags)) = (data.first(), data.get(1)) else {
        return;
    };
    let f = fixture();
    let (method, path, in_query) = ENDPOINTS[usize::from(pick) % ENDPOINTS.len()];
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    if flags & 1 != 0 {
        pairs.append_pair("client_id", &f.client.to_string());
    }
    if flags & 2 != 0 {
        pairs.append_pair("redirect_uri", REDIRECT);
    }
    if flags & 4 != 0 {
        pairs.extend_pairs([
            ("response_type", "code"),
            ("scope", "openid"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ]);
    }
    let prefix = pairs.finish();
    let raw = &data[2..];
    let mut req = Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap());
    let body = if in_query {
        let text = String::from_utf8_lossy(raw);
        let q = utf8_percent_encode(&text, QUERY).to_string();
        let sep = if prefix.is_empty() || q.is_empty() {
            ""
        } else {
            "&"
        };
        req = req.uri(format!("{path}?{prefix}{sep}{q}"));
        Vec::new()
    } else {
        req = req.uri(path).header("content-type", FORM);
        let mut b = prefix.into_bytes();
        if !b.is_empty() && !raw.is_empty() {
            b.push(b'&');
        }
        b.extend_from_slice(raw);
        b
    };
    if flags & 8 != 0 {
        use base64::Engine as _;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:test client secret", f.client));
        req = req.header("authorization", format!("Basic {basic}"));
    }
    if flags & 16 != 0 {
        req = req.header("X-DPT-AUTHORIZATION", &f.token);
    }
    let Ok(req) = req.body(Body::from(body)) else {
        return;
    };
    let reply = runtime().block_on(f.app.send(req));
    assert_ne!(
        reply.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{method} {path}: {}",
        reply.text()
    );
    if let Some(loc) = reply.headers.get("location") {
        let loc = loc.to_str().expect("an ASCII Location");
        assert!(
            loc.starts_with('/') || loc.starts_with(&format!("{REDIRECT}?")),
            "{method} {path} redirected to {loc}"
        );
    }
    if path == "/oauth2/token" {
        assert_eq!(
            reply
                .headers
                .get("cache-control")
                .map(axum::http::HeaderValue::as_bytes),
            Some(&b"no-store"[..]),
            "token replies are not cached"
        );
        if reply.status != StatusCode::OK {
            let v = reply.json();
            assert!(v["error"].is_string(), "an OAuth error object: {v}");
        }
    }
}
