//! The OAuth back channel through the router: the Privicore-style application routes, the
//! Privicore token routes, `/oauth2/token`, userinfo, introspection, revocation, the
//! discovery documents and the JWKS; every reply checked against the OpenAPI document.
//! Codes come from `Engine::issue_code` (the authorization pages are the front channel's).

#![allow(clippy::too_many_lines)] // each test walks its routes top to bottom

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Value, json};
use tessera_core::engine::oauth::CodeRequest;
use tessera_core::store::{ConsentRecord, OAuthStore as _};
use tessera_core::{Clock as _, MemoryStore, Timestamp};
use tessera_http::HttpConfig;
use tessera_testkit::app::{self as common, FORM, Reply, TestApp, User, form};
use uuid::Uuid;

use super::openapi_contract::Contract;

/// The routes of the OAuth back channel.
pub(crate) const ROUTES: [(&str, &str); 18] = [
    ("post", "/oauth-application/register"),
    ("post", "/oauth-application/retrieve-configuration"),
    ("post", "/oauth-application/rotate-secret"),
    ("post", "/oauth-application/remove"),
    ("get", "/oauth-application/list"),
    ("get", "/oauth-application/scope"),
    ("get", "/oauth-application/consents"),
    ("post", "/oauth-application/revoke-consent"),
    ("post", "/oauth-application/obtain-access-token"),
    ("post", "/oauth-application/refresh-access-token"),
    ("post", "/oauth2/token"),
    ("get", "/oauth2/userinfo"),
    ("post", "/oauth2/userinfo"),
    ("post", "/oauth2/introspect"),
    ("post", "/oauth2/revoke"),
    ("get", "/oauth2/jwks"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/.well-known/oauth-authorization-server"),
];

const REDIRECT: &str = "https://app.example/cb";
const TOKEN: &str = "/oauth2/token";

/// A registered application: client id and (confidential) secret.
#[derive(Clone)]
struct Client {
    id: String,
    secret: Option<String>,
}

impl Client {
    fn basic(&self) -> String {
        basic(&self.id, self.secret.as_deref().unwrap_or_default())
    }
}

fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

/// POST a form with extra headers.
async fn post_with(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    fields: &[(&str, &str)],
) -> Reply {
    let mut b = Request::post(path).header("content-type", FORM);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::from(form(fields))).unwrap()).await
}

async fn get_with(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    app.send(b.body(Body::empty()).unwrap()).await
}

/// Register an application of `owner` through the routes; read its secret.
async fn register(
    app: &TestApp,
    owner: &User,
    client_type: &str,
    scope: &str,
    alg: Option<&str>,
) -> Client {
    let mut fields = vec![
        ("name", "Example app"),
        ("redirectUri", REDIRECT),
        ("redirectUri", "http://127.0.0.1/cb"),
        ("scope", scope),
        ("clientType", client_type),
    ];
    if client_type == "confidential" {
        fields.remove(2);
    }
    if let Some(a) = alg {
        fields.push(("idTokenAlg", a));
    }
    let r = app
        .post("/oauth-application/register", Some(&owner.token), &fields)
        .await;
    let cmd = r.command_id();
    let r = app
        .post(
            "/oauth-application/retrieve-configuration",
            Some(&owner.token),
            &[("commandId", &cmd)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    Client {
        id: j["clientId"].as_str().unwrap().to_owned(),
        secret: j["clientSecret"].as_str().map(str::to_owned),
    }
}

/// (verifier, S256 challenge)
fn pkce() -> (String, String) {
    let verifier =
        URL_SAFE_NO_PAD.encode(tessera_core::random::bytes::<32>(&tessera_core::OsRandom));
    let challenge =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn code(
    app: &TestApp,
    user: &User,
    client: &Client,
    scopes: &[&str],
    challenge: Option<&str>,
    nonce: Option<&str>,
) -> String {
    app.engine
        .issue_code(
            Uuid::parse_str(&user.profile_id).unwrap(),
            &CodeRequest {
                client_id: Uuid::parse_str(&client.id).unwrap(),
                redirect_uri: REDIRECT.to_owned(),
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                code_challenge: challenge.map(str::to_owned),
                nonce: nonce.map(str::to_owned),
                auth_time: app.clock.now(),
            },
        )
        .await
        .unwrap()
        .code
        .expose()
        .to_owned()
}

/// Exchange `code` at `/oauth2/token` with Basic auth.
async fn exchange(app: &TestApp, client: &Client, code: &str, verifier: Option<&str>) -> Reply {
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        fields.push(("code_verifier", v));
    }
    post_with(app, TOKEN, &[("authorization", &client.basic())], &fields).await
}

#[track_caller]
fn oauth_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["error"], code, "{j}");
    assert!(
        j["error_description"]
            .as_str()
            .is_some_and(|d| d.is_ascii() && !d.contains(['\r', '\n', '\t'])),
        "{j}"
    );
    assert_eq!(j.as_object().unwrap().len(), 2, "{j}");
}

#[track_caller]
fn no_store(r: &Reply) {
    assert_eq!(r.headers["cache-control"], "no-store", "{}", r.text());
    assert_eq!(r.headers["pragma"], "no-cache");
}

async fn userinfo_status(app: &TestApp, access: &str) -> StatusCode {
    get_with(
        app,
        Method::GET,
        "/oauth2/userinfo",
        &[("authorization", &format!("Bearer {access}"))],
    )
    .await
    .status
}

#[tokio::test]
async fn application_routes() {
    let store = Arc::new(MemoryStore::new());
    let app = TestApp::with(store.clone(), HttpConfig::default());
    let mut c = Contract::new(&app).await;
    let alice = app.active_user("oauthalice").await;
    let bob = app.active_user("oauthbob").await;
    let carol = app.incomplete_user("oauthcarol").await;
    let reg = "/oauth-application/register";
    let ok = [
        ("name", "Example"),
        ("redirectUri", REDIRECT),
        ("scope", "openid profile offline_access"),
    ];
    // 401, 403, 422 (each field), 415
    let r = app.post(reg, None, &ok).await;
    r.expect_error(401, "unauthorized");
    c.check("post", reg, &r);
    let r = app.post(reg, Some(&carol.token), &ok).await;
    r.expect_error(403, "profile_incomplete");
    c.check("post", reg, &r);
    for (fields, field) in [
        (&[("name", "x"), ("scope", "openid")][..], "redirectUri"),
        (
            &[
                ("name", "x"),
                ("redirectUri", "http://evil.example/cb"),
                ("scope", "openid"),
            ][..],
            "redirectUri",
        ),
        (
            &[("name", ""), ("redirectUri", REDIRECT), ("scope", "openid")][..],
            "name",
        ),
        (
            &[
                ("name", "x"),
                ("redirectUri", REDIRECT),
                ("scope", "openid admin"),
            ][..],
            "scope",
        ),
        (
            &[
                ("name", "x"),
                ("redirectUri", REDIRECT),
                ("scope", "openid"),
                ("clientType", "x"),
            ][..],
            "clientType",
        ),
        (
            &[
                ("name", "x"),
                ("redirectUri", REDIRECT),
                ("scope", "openid"),
                ("idTokenAlg", "none"),
            ][..],
            "idTokenAlg",
        ),
        (
            &[
                ("name", "x"),
                ("name", "y"),
                ("redirectUri", REDIRECT),
                ("scope", "openid"),
            ][..],
            "name",
        ),
    ] {
        let r = app.post(reg, Some(&alice.token), fields).await;
        r.expect_error(422, "validation_failed");
        assert!(
            r.json()["errors"][field].is_array(),
            "{field}: {}",
            r.text()
        );
        c.check("post", reg, &r);
    }
    let long_scope = "openid ".repeat(400);
    let r = app
        .post(
            reg,
            Some(&alice.token),
            &[
                ("name", "x"),
                ("redirectUri", REDIRECT),
                ("scope", &long_scope),
            ],
        )
        .await;
    r.expect_error(422, "validation_failed");
    let r = app
        .request(
            Method::POST,
            reg,
            Some(&alice.token),
            Some("application/json"),
            "{}",
        )
        .await;
    r.expect_error(415, "unsupported_media_type");
    // registered: the command names the client; its status says so
    let r = app.post(reg, Some(&alice.token), &ok).await;
    c.check("post", reg, &r);
    let cmd = r.command_id();
    let status = app
        .get(&format!("/request-status/{cmd}"), None)
        .await
        .json();
    assert_eq!(status["data"]["command_status"], 2);
    let client_id = status["data"]["result"]["clientId"]
        .as_str()
        .unwrap()
        .to_owned();
    // the configuration: the secret once, by command id or client id
    let conf = "/oauth-application/retrieve-configuration";
    let r = app
        .post(conf, Some(&bob.token), &[("commandId", &cmd)])
        .await;
    r.expect_error(404, "not_found");
    c.check("post", conf, &r);
    let r = app
        .post(conf, Some(&alice.token), &[("commandId", &cmd)])
        .await;
    c.check("post", conf, &r);
    let j = r.json();
    assert_eq!(j["clientId"], client_id.as_str());
    assert_eq!(j["clientType"], "confidential");
    assert_eq!(j["idTokenAlg"], "RS256");
    assert_eq!(j["redirectUris"], json!([REDIRECT]));
    assert_eq!(j["scopes"], json!(["openid", "profile", "offline_access"]));
    assert_eq!(
        j["grantTypes"],
        json!(["authorization_code", "refresh_token", "client_credentials"])
    );
    let secret = j["clientSecret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tsx_") && secret.len() == 47);
    let r = app
        .post(conf, Some(&alice.token), &[("clientId", &client_id)])
        .await;
    c.check("post", conf, &r);
    assert_eq!(r.json()["clientSecret"], Value::Null);
    for fields in [
        &[][..],
        &[("clientId", "nope")][..],
        &[
            ("clientId", client_id.as_str()),
            ("commandId", cmd.as_str()),
        ][..],
    ] {
        let r = app.post(conf, Some(&alice.token), fields).await;
        r.expect_error(422, "validation_failed");
        c.check("post", conf, &r);
    }
    let r = app.post(conf, None, &[("clientId", &client_id)]).await;
    c.check("post", conf, &r);
    let r = app
        .post(conf, Some(&carol.token), &[("clientId", &client_id)])
        .await;
    r.expect_error(403, "profile_incomplete");
    c.check("post", conf, &r);
    // the secret works at the token endpoint; a rotation ends it
    let client = Client {
        id: client_id.clone(),
        secret: Some(secret.clone()),
    };
    let cc = [("grant_type", "client_credentials")];
    let r = post_with(&app, TOKEN, &[("authorization", &client.basic())], &cc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rot = "/oauth-application/rotate-secret";
    for (token, id, status) in [
        (Some(bob.token.as_str()), client_id.as_str(), 404),
        (Some(alice.token.as_str()), "nope", 422),
        (None, client_id.as_str(), 401),
        (Some(carol.token.as_str()), client_id.as_str(), 403),
    ] {
        let r = app.post(rot, token, &[("clientId", id)]).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        c.check("post", rot, &r);
    }
    let r = app
        .post(rot, Some(&alice.token), &[("clientId", &client_id)])
        .await;
    c.check("post", rot, &r);
    r.command_id();
    let r = post_with(&app, TOKEN, &[("authorization", &client.basic())], &cc).await;
    oauth_error(&r, 401, "invalid_client");
    let new_secret = app
        .post(conf, Some(&alice.token), &[("clientId", &client_id)])
        .await
        .json()["clientSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_secret, secret);
    let client = Client {
        id: client_id.clone(),
        secret: Some(new_secret),
    };
    // a public application has no secret to rotate
    let public = register(&app, &alice, "public", "openid", None).await;
    assert!(public.secret.is_none());
    let r = app
        .post(rot, Some(&alice.token), &[("clientId", &public.id)])
        .await;
    r.expect_error(422, "validation_failed");
    c.check("post", rot, &r);
    // list: the caller's only
    let list = "/oauth-application/list";
    let r = app.get(list, Some(&alice.token)).await;
    c.check("get", list, &r);
    let j = r.json();
    let listed = j.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    let mine = listed
        .iter()
        .find(|a| a["clientId"] == client_id.as_str())
        .unwrap();
    assert_eq!(mine["clientType"], "confidential");
    assert!(
        listed
            .iter()
            .any(|a| a["clientId"] == public.id.as_str() && a["clientType"] == "public")
    );
    assert_eq!(app.get(list, Some(&bob.token)).await.json(), json!([]));
    for token in [None, Some(carol.token.as_str())] {
        let r = app.get(list, token).await;
        c.check("get", list, &r);
    }
    // scope: anyone's view of an application, with their own consent
    let scope = "/oauth-application/scope";
    let alice_id = Uuid::parse_str(&alice.profile_id).unwrap();
    store
        .put_consent(&ConsentRecord {
            profile_id: alice_id,
            client_id: Uuid::parse_str(&client_id).unwrap(),
            scopes: vec!["openid".into()],
            granted_at: Timestamp(1_700_000_000),
        })
        .await
        .unwrap();
    let r = app
        .get(&format!("{scope}?clientId={client_id}"), Some(&bob.token))
        .await;
    c.check("get", scope, &r);
    assert_eq!(
        r.json(),
        json!({"clientId": client_id, "name": "Example", "scopes": ["openid", "profile", "offline_access"], "granted": []})
    );
    let r = app
        .get(&format!("{scope}?clientId={client_id}"), Some(&alice.token))
        .await;
    assert_eq!(r.json()["granted"], json!(["openid"]));
    for (q, token) in [
        (
            format!("?clientId={}", Uuid::new_v4()),
            Some(alice.token.as_str()),
        ),
        ("?clientId=nope".to_owned(), Some(alice.token.as_str())),
        (String::new(), Some(alice.token.as_str())),
        (
            format!("?clientId={client_id}&clientId={client_id}"),
            Some(alice.token.as_str()),
        ),
        (format!("?clientId={client_id}"), None),
        (format!("?clientId={client_id}"), Some(carol.token.as_str())),
    ] {
        let r = app.get(&format!("{scope}{q}"), token).await;
        assert!(
            matches!(r.status.as_u16(), 401 | 403 | 404 | 422),
            "{q}: {}",
            r.text()
        );
        c.check("get", scope, &r);
    }
    // consents and their revocation (which ends the application's tokens for the caller)
    let consents = "/oauth-application/consents";
    let r = app.get(consents, Some(&alice.token)).await;
    c.check("get", consents, &r);
    assert_eq!(
        r.json(),
        json!([{"clientId": client_id, "name": "Example", "scopes": ["openid"], "grantedAt": "2023-11-14T22:13:20+00:00"}])
    );
    for token in [None, Some(carol.token.as_str())] {
        let r = app.get(consents, token).await;
        c.check("get", consents, &r);
    }
    let (verifier, challenge) = pkce();
    let code1 = code(&app, &alice, &client, &["openid"], Some(&challenge), None).await;
    let r = exchange(&app, &client, &code1, Some(&verifier)).await;
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(userinfo_status(&app, &access).await, StatusCode::OK);
    let rc = "/oauth-application/revoke-consent";
    let r = app
        .post(rc, Some(&alice.token), &[("clientId", &client_id)])
        .await;
    c.check("post", rc, &r);
    r.command_id();
    assert_eq!(
        userinfo_status(&app, &access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get(consents, Some(&alice.token)).await.json(),
        json!([])
    );
    for (token, id, status) in [
        (Some(alice.token.as_str()), client_id.as_str(), 404),
        (Some(alice.token.as_str()), "nope", 422),
        (None, client_id.as_str(), 401),
        (Some(carol.token.as_str()), client_id.as_str(), 403),
    ] {
        let r = app.post(rc, token, &[("clientId", id)]).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        c.check("post", rc, &r);
    }
    // removal ends codes and tokens; afterwards the client is unknown
    let code2 = code(&app, &alice, &client, &["openid"], Some(&challenge), None).await;
    let rm = "/oauth-application/remove";
    for (token, id, status) in [
        (Some(bob.token.as_str()), client_id.as_str(), 404),
        (Some(alice.token.as_str()), "nope", 422),
        (None, client_id.as_str(), 401),
        (Some(carol.token.as_str()), client_id.as_str(), 403),
    ] {
        let r = app.post(rm, token, &[("clientId", id)]).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        c.check("post", rm, &r);
    }
    let r = app
        .post(rm, Some(&alice.token), &[("clientId", &client_id)])
        .await;
    c.check("post", rm, &r);
    r.command_id();
    let r = app
        .post(rm, Some(&alice.token), &[("clientId", &client_id)])
        .await;
    r.expect_error(404, "not_found");
    let r = exchange(&app, &client, &code2, Some(&verifier)).await;
    oauth_error(&r, 401, "invalid_client");
    let r = app
        .get(&format!("{scope}?clientId={client_id}"), Some(&alice.token))
        .await;
    r.expect_error(404, "not_found");
    c.checked_all_of(&ROUTES[..8]);
}

#[tokio::test]
async fn the_token_endpoint() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let alice = app.active_user("tokenalice").await;
    let client = register(
        &app,
        &alice,
        "confidential",
        "openid profile email offline_access directories",
        None,
    )
    .await;
    let other = register(&app, &alice, "confidential", "openid", None).await;
    let public = register(&app, &alice, "public", "openid offline_access", None).await;
    let (verifier, challenge) = pkce();
    // authorization_code with client_secret_basic: tokens, no-store
    let c1 = code(
        &app,
        &alice,
        &client,
        &["openid", "profile", "offline_access"],
        Some(&challenge),
        Some("nonce-1"),
    )
    .await;
    let r = exchange(&app, &client, &c1, Some(&verifier)).await;
    c.check("post", TOKEN, &r);
    no_store(&r);
    let j = r.json();
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["expires_in"], 3600);
    assert_eq!(j["scope"], "openid profile offline_access");
    let access = j["access_token"].as_str().unwrap().to_owned();
    let refresh = j["refresh_token"].as_str().unwrap().to_owned();
    let id_token = j["id_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("tso_") && refresh.starts_with("tsf_"));
    // the id token verifies with /oauth2/jwks
    let jwks: JwkSet = serde_json::from_value(app.get("/oauth2/jwks", None).await.json()).unwrap();
    let header = jsonwebtoken::decode_header(&id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let key = DecodingKey::from_jwk(jwks.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&[client.id.as_str()]);
    v.set_issuer(&[app.engine.config().oauth.issuer.as_str()]);
    v.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&id_token, &key, &v)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], alice.profile_id.as_str());
    assert_eq!(claims["nonce"], "nonce-1");
    // the code is single use: a second exchange fails and revokes what the first issued
    assert_eq!(userinfo_status(&app, &access).await, StatusCode::OK);
    let r = exchange(&app, &client, &c1, Some(&verifier)).await;
    oauth_error(&r, 400, "invalid_grant");
    no_store(&r);
    c.check("post", TOKEN, &r);
    assert_eq!(
        userinfo_status(&app, &access).await,
        StatusCode::UNAUTHORIZED
    );
    let r = post_with(
        &app,
        TOKEN,
        &[("authorization", &client.basic())],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    oauth_error(&r, 400, "invalid_grant");
    // client_secret_post; PKCE missing, wrong, "plain"; another client's code; a
    // redirect_uri that differs
    let c2 = code(&app, &alice, &client, &["openid"], Some(&challenge), None).await;
    let (wrong, _) = pkce();
    for fields in [
        vec![("code_verifier", wrong.as_str())],
        vec![],
        vec![("code_verifier", challenge.as_str())],
        vec![("code_verifier", "x")],
        vec![
            ("code_verifier", verifier.as_str()),
            ("redirect_uri", "https://app.example/cb2"),
        ],
    ] {
        let mut f = vec![
            ("grant_type", "authorization_code"),
            ("code", c2.as_str()),
            ("client_id", client.id.as_str()),
            ("client_secret", client.secret.as_deref().unwrap()),
        ];
        if !fields.iter().any(|(k, _)| *k == "redirect_uri") {
            f.push(("redirect_uri", REDIRECT));
        }
        f.extend(fields);
        let r = app.post(TOKEN, None, &f).await;
        oauth_error(&r, 400, "invalid_grant");
        c.check("post", TOKEN, &r);
    }
    let r = exchange(&app, &other, &c2, Some(&verifier)).await;
    oauth_error(&r, 400, "invalid_grant");
    let r = app
        .post(
            TOKEN,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &c2),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &client.id),
                ("client_secret", client.secret.as_deref().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // a verifier for a code issued without a challenge (confidential, nonce)
    let c3 = code(&app, &alice, &client, &["openid"], None, Some("n")).await;
    let r = exchange(&app, &client, &c3, Some(&verifier)).await;
    oauth_error(&r, 400, "invalid_grant");
    let r = exchange(&app, &client, &c3, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // an expired code
    let c4 = code(&app, &alice, &client, &["openid"], Some(&challenge), None).await;
    app.clock.advance(61);
    let r = exchange(&app, &client, &c4, Some(&verifier)).await;
    oauth_error(&r, 400, "invalid_grant");
    // a public client: none + PKCE, client_id in the form
    let c5 = code(
        &app,
        &alice,
        &public,
        &["openid", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let r = app
        .post(
            TOKEN,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", &c5),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
                ("client_id", &public.id),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let public_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // client authentication failures: 401 invalid_client, WWW-Authenticate: Basic when the
    // header was used
    for auth in [
        basic(&client.id, "tsx_wrong"),
        basic(
            &Uuid::new_v4().to_string(),
            client.secret.as_deref().unwrap(),
        ),
        "Basic !!!".to_owned(),
        "Bearer x".to_owned(),
        basic(&public.id, "a secret"),
    ] {
        let r = post_with(
            &app,
            TOKEN,
            &[("authorization", &auth)],
            &[("grant_type", "client_credentials")],
        )
        .await;
        oauth_error(&r, 401, "invalid_client");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic"),
            "{auth}"
        );
        no_store(&r);
        c.check("post", TOKEN, &r);
    }
    let r = app
        .post(
            TOKEN,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", "wrong"),
            ],
        )
        .await;
    oauth_error(&r, 401, "invalid_client");
    let r = app
        .post(TOKEN, None, &[("grant_type", "client_credentials")])
        .await;
    oauth_error(&r, 401, "invalid_client");
    // refresh: rotation, another client's → invalid_grant, reuse ends the family
    let c6 = code(
        &app,
        &alice,
        &client,
        &["openid", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let j = exchange(&app, &client, &c6, Some(&verifier)).await.json();
    let (a0, r0) = (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"].as_str().unwrap().to_owned(),
    );
    let refresh_with = |who: &Client, token: &str| {
        let auth = who.basic();
        let token = token.to_owned();
        let app = app.clone();
        async move {
            post_with(
                &app,
                TOKEN,
                &[("authorization", &auth)],
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let r = refresh_with(&other, &r0).await;
    oauth_error(&r, 400, "invalid_grant");
    let r = refresh_with(&client, &r0).await;
    c.check("post", TOKEN, &r);
    no_store(&r);
    let j = r.json();
    let (a1, r1) = (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert!(j["id_token"].is_string());
    let r = refresh_with(&client, &r0).await;
    oauth_error(&r, 400, "invalid_grant");
    let r = refresh_with(&client, &r1).await;
    oauth_error(&r, 400, "invalid_grant");
    for a in [&a0, &a1] {
        assert_eq!(userinfo_status(&app, a).await, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .post(
            TOKEN,
            None,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &public_refresh),
                ("client_id", &public.id),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // client_credentials: no refresh, no id token
    let r = post_with(
        &app,
        TOKEN,
        &[("authorization", &client.basic())],
        &[
            ("grant_type", "client_credentials"),
            ("scope", "directories"),
        ],
    )
    .await;
    c.check("post", TOKEN, &r);
    let j = r.json();
    assert_eq!(j["scope"], "directories");
    assert!(j.get("refresh_token").is_none() && j.get("id_token").is_none());
    let r = post_with(
        &app,
        TOKEN,
        &[("authorization", &client.basic())],
        &[("grant_type", "client_credentials"), ("scope", "openid")],
    )
    .await;
    oauth_error(&r, 400, "invalid_scope");
    let r = app
        .post(
            TOKEN,
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &public.id),
            ],
        )
        .await;
    oauth_error(&r, 400, "unauthorized_client");
    c.check("post", TOKEN, &r);
    // malformed requests: never a 500
    let big_scope = "a".repeat(2000);
    for (fields, status, code) in [
        (
            &[
                ("grant_type", "password"),
                ("username", "u"),
                ("password", "p"),
            ][..],
            400,
            "unsupported_grant_type",
        ),
        (
            &[("grant_type", "implicit")][..],
            400,
            "unsupported_grant_type",
        ),
        (&[][..], 400, "invalid_request"),
        (
            &[
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ][..],
            400,
            "invalid_request",
        ),
        (
            &[("grant_type", "authorization_code")][..],
            400,
            "invalid_request",
        ),
        (
            &[("grant_type", "refresh_token")][..],
            400,
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("scope", big_scope.as_str()),
            ][..],
            400,
            "invalid_scope",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("code", "tsc_x"),
                ("redirect_uri", REDIRECT),
            ][..],
            400,
            "invalid_grant",
        ),
    ] {
        let r = post_with(&app, TOKEN, &[("authorization", &client.basic())], fields).await;
        oauth_error(&r, status, code);
        no_store(&r);
        c.check("post", TOKEN, &r);
    }
    let r = app
        .request(Method::POST, TOKEN, None, Some("application/json"), "{}")
        .await;
    oauth_error(&r, 415, "invalid_request");
    no_store(&r);
    c.check("post", TOKEN, &r);
    let r = app
        .request(
            Method::POST,
            TOKEN,
            None,
            Some(FORM),
            "a=".to_owned() + &"x".repeat(17 * 1024),
        )
        .await;
    oauth_error(&r, 413, "invalid_request");
    c.check("post", TOKEN, &r);
    let r = app
        .request(Method::POST, TOKEN, None, Some(FORM), "grant_type=%FF")
        .await;
    oauth_error(&r, 400, "invalid_request");
    // the metrics see the route
    let metrics = app.get("/metrics", None).await.text();
    assert!(metrics.contains(&format!("route=\"{TOKEN}\"")));
    c.checked_all_of(&ROUTES[10..11]);
}

#[tokio::test]
async fn privicore_token_routes() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let alice = app.active_user("privicorealice").await;
    let client = register(&app, &alice, "confidential", "openid offline_access", None).await;
    let public = register(&app, &alice, "public", "openid", None).await;
    let (verifier, challenge) = pkce();
    // the Privicore routes: camelCase, Basic auth, our error body
    let obtain = "/oauth-application/obtain-access-token";
    let c7 = code(
        &app,
        &alice,
        &client,
        &["openid", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let r = post_with(
        &app,
        obtain,
        &[("authorization", &client.basic())],
        &[("authorization_code", &c7), ("code_verifier", &verifier)],
    )
    .await;
    c.check("post", obtain, &r);
    no_store(&r);
    let j = r.json();
    assert_eq!(j["clientId"], client.id.as_str());
    assert_eq!(j["type"], "bearer");
    assert_eq!(j["scope"], "openid offline_access");
    assert!(j["token"].as_str().unwrap().starts_with("tso_"));
    assert!(j["expiresAt"].as_str().unwrap().ends_with("+00:00"));
    assert!(j["refreshToken"].as_str().unwrap().starts_with("tsf_"));
    assert!(j["refreshTokenExpiresAt"].is_string());
    let r = post_with(
        &app,
        obtain,
        &[("authorization", &client.basic())],
        &[("authorization_code", &c7), ("code_verifier", &verifier)],
    )
    .await;
    r.expect_error(422, "invalid_code");
    c.check("post", obtain, &r);
    for (headers, fields, status) in [
        (vec![], vec![("authorization_code", c7.as_str())], 401),
        (
            vec![("authorization", basic(&client.id, "wrong"))],
            vec![("authorization_code", c7.as_str())],
            401,
        ),
        (vec![("authorization", client.basic())], vec![], 422),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_with(&app, obtain, &h, &fields).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        c.check("post", obtain, &r);
    }
    let r = app
        .request(Method::POST, obtain, None, Some("application/json"), "{}")
        .await;
    r.expect_error(415, "unsupported_media_type");
    c.check("post", obtain, &r);
    let r = app
        .request(
            Method::POST,
            obtain,
            None,
            Some(FORM),
            "a=".to_owned() + &"x".repeat(17 * 1024),
        )
        .await;
    c.check("post", obtain, &r);
    let c8 = code(&app, &alice, &public, &["openid"], Some(&challenge), None).await;
    let r = post_with(
        &app,
        obtain,
        &[("authorization", &basic(&public.id, ""))],
        &[("authorization_code", &c8), ("code_verifier", &verifier)],
    )
    .await;
    r.expect_error(401, "unauthorized");
    // (the reuse above revoked that code's refresh token: take a fresh one)
    let c9 = code(
        &app,
        &alice,
        &client,
        &["openid", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let r = post_with(
        &app,
        obtain,
        &[("authorization", &client.basic())],
        &[("authorization_code", &c9), ("code_verifier", &verifier)],
    )
    .await;
    let privicore_refresh = r.json()["refreshToken"].as_str().unwrap().to_owned();
    let refresh_route = "/oauth-application/refresh-access-token";
    let r = post_with(
        &app,
        refresh_route,
        &[("authorization", &client.basic())],
        &[("refresh_token", &privicore_refresh)],
    )
    .await;
    c.check("post", refresh_route, &r);
    no_store(&r);
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.json()["refreshToken"]
            .as_str()
            .unwrap()
            .starts_with("tsf_")
    );
    for (auth, fields, status) in [
        (
            Some(client.basic()),
            vec![("refresh_token", privicore_refresh.as_str())],
            401,
        ),
        (
            None,
            vec![("refresh_token", privicore_refresh.as_str())],
            401,
        ),
        (Some(client.basic()), vec![], 422),
    ] {
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("authorization", a.as_str())).collect();
        let r = post_with(&app, refresh_route, &h, &fields).await;
        assert_eq!(r.status.as_u16(), status, "{}", r.text());
        c.check("post", refresh_route, &r);
    }
    let r = app
        .request(
            Method::POST,
            refresh_route,
            None,
            Some("application/json"),
            "{}",
        )
        .await;
    c.check("post", refresh_route, &r);
    let r = app
        .request(
            Method::POST,
            refresh_route,
            None,
            Some(FORM),
            "a=".to_owned() + &"x".repeat(17 * 1024),
        )
        .await;
    c.check("post", refresh_route, &r);
    let metrics = app.get("/metrics", None).await.text();
    for route in [obtain, refresh_route] {
        assert!(metrics.contains(&format!("route=\"{route}\"")), "{route}");
    }
    c.checked_all_of(&ROUTES[8..10]);
}

#[tokio::test]
async fn devices_are_clients_of_their_own() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let owner = app.active_user("devowner").await;
    let device = app.pending_device(&owner, "devphone").await;
    let conf = app
        .get(
            &format!("/device/retrieve-device-configuration/{}", device.device_id),
            Some(&owner.token),
        )
        .await;
    c.check(
        "get",
        "/device/retrieve-device-configuration/{deviceIdentifier}",
        &conf,
    );
    let j = conf.json();
    assert_eq!(j["client-id"], device.user.profile_id.as_str());
    let secret = j["client-secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tsd_"));
    let dev = Client {
        id: device.user.profile_id.clone(),
        secret: Some(secret),
    };
    let cc = [
        ("grant_type", "client_credentials"),
        ("scope", "directories"),
    ];
    let r = post_with(&app, TOKEN, &[("authorization", &dev.basic())], &cc).await;
    oauth_error(&r, 400, "unauthorized_client");
    app.approve(&owner, &device).await;
    let r = post_with(&app, TOKEN, &[("authorization", &dev.basic())], &cc).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    c.check("post", TOKEN, &r);
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    let r = post_with(
        &app,
        "/oauth2/introspect",
        &[("authorization", &dev.basic())],
        &[("token", &access)],
    )
    .await;
    let j = r.json();
    assert_eq!(j["active"], true);
    assert_eq!(j["sub"], device.user.profile_id.as_str());
    assert_eq!(j["username"], "devphone");
    // removing the device ends its client and its tokens
    app.post(
        "/device/remove",
        Some(&owner.token),
        &[("deviceIdentifier", &device.device_id)],
    )
    .await
    .command_id();
    let r = post_with(&app, TOKEN, &[("authorization", &dev.basic())], &cc).await;
    oauth_error(&r, 401, "invalid_client");
    let key = app.api_key().await;
    let r = post_with(
        &app,
        "/oauth2/introspect",
        &[("x-tessera-api-key", &key)],
        &[("token", &access)],
    )
    .await;
    assert_eq!(r.json(), json!({"active": false}));
}

#[tokio::test]
async fn userinfo_introspection_and_revocation() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let alice = app.active_user("infoalice").await;
    let client = register(
        &app,
        &alice,
        "confidential",
        "openid profile offline_access",
        None,
    )
    .await;
    let other = register(&app, &alice, "confidential", "openid", None).await;
    let (verifier, challenge) = pkce();
    let c1 = code(
        &app,
        &alice,
        &client,
        &["openid", "profile", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let j = exchange(&app, &client, &c1, Some(&verifier)).await.json();
    let access = j["access_token"].as_str().unwrap().to_owned();
    let refresh = j["refresh_token"].as_str().unwrap().to_owned();
    // userinfo: GET and POST with a Bearer header
    let ui = "/oauth2/userinfo";
    for method in [Method::GET, Method::POST] {
        let r = get_with(
            &app,
            method.clone(),
            ui,
            &[("authorization", &format!("bearer {access}"))],
        )
        .await;
        c.check(&method.as_str().to_lowercase(), ui, &r);
        assert_eq!(
            r.json(),
            json!({"sub": alice.profile_id, "preferred_username": "infoalice", "profile_type": "user"})
        );
        for headers in [
            vec![],
            vec![("authorization", "Bearer tso_bad".to_owned())],
            vec![("authorization", format!("Basic {access}"))],
            vec![("authorization", format!("Bearer {}", alice.token))],
            vec![("x-dpt-authorization", access.clone())],
            vec![
                ("authorization", format!("Bearer {access}")),
                ("authorization", format!("Bearer {access}")),
            ],
        ] {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = get_with(&app, method.clone(), ui, &h).await;
            oauth_error(&r, 401, "invalid_token");
            assert_eq!(
                r.headers["www-authenticate"],
                r#"Bearer realm="tessera", error="invalid_token""#
            );
            c.check(&method.as_str().to_lowercase(), ui, &r);
        }
    }
    // OAuth access tokens are not Privicore tokens
    app.get("/profile/retrieve-profile-id", Some(&access))
        .await
        .expect_error(401, "unauthorized");
    // introspection: the client's own tokens, or any with a server API key
    let ins = "/oauth2/introspect";
    let r = post_with(
        &app,
        ins,
        &[("authorization", &client.basic())],
        &[("token", &access), ("token_type_hint", "access_token")],
    )
    .await;
    c.check("post", ins, &r);
    no_store(&r);
    let j = r.json();
    assert_eq!(j["active"], true);
    assert_eq!(j["token_type"], "Bearer");
    assert_eq!(j["client_id"], client.id.as_str());
    assert_eq!(j["sub"], alice.profile_id.as_str());
    assert_eq!(j["username"], "infoalice");
    assert_eq!(j["scope"], "openid profile offline_access");
    assert_eq!(j["iss"], app.engine.config().oauth.issuer.as_str());
    assert_eq!(
        j["exp"].as_i64().unwrap() - j["iat"].as_i64().unwrap(),
        3600
    );
    let key = app.api_key().await;
    let r = post_with(
        &app,
        ins,
        &[("x-tessera-api-key", &key)],
        &[("token", &refresh)],
    )
    .await;
    c.check("post", ins, &r);
    assert_eq!(r.json()["token_type"], "refresh_token");
    for (auth, token) in [
        (other.basic(), access.as_str()),
        (client.basic(), "tso_nonsense"),
        (client.basic(), alice.token.as_str()),
        (client.basic(), &"x".repeat(5000)),
    ] {
        let r = post_with(&app, ins, &[("authorization", &auth)], &[("token", token)]).await;
        c.check("post", ins, &r);
        assert_eq!(r.json(), json!({"active": false}));
    }
    for (headers, fields, status, code) in [
        (
            vec![("authorization", basic(&client.id, "wrong"))],
            vec![("token", access.as_str())],
            401,
            "invalid_client",
        ),
        (
            vec![("x-tessera-api-key", "tsk_wrong".to_owned())],
            vec![("token", access.as_str())],
            401,
            "invalid_client",
        ),
        (
            vec![],
            vec![("token", access.as_str())],
            401,
            "invalid_client",
        ),
        (
            vec![("authorization", client.basic())],
            vec![],
            400,
            "invalid_request",
        ),
        (
            vec![
                ("authorization", client.basic()),
                ("x-tessera-api-key", key.clone()),
            ],
            vec![("token", access.as_str())],
            400,
            "invalid_request",
        ),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_with(&app, ins, &h, &fields).await;
        oauth_error(&r, status, code);
        c.check("post", ins, &r);
    }
    let r = app
        .request(Method::POST, ins, None, Some("application/json"), "{}")
        .await;
    c.check("post", ins, &r);
    let r = app
        .request(
            Method::POST,
            ins,
            None,
            Some(FORM),
            "a=".to_owned() + &"x".repeat(17 * 1024),
        )
        .await;
    c.check("post", ins, &r);
    // revocation: 200 for anything; another client's token is left alone
    let rv = "/oauth2/revoke";
    for (auth, token) in [
        (client.basic(), "tso_unknown"),
        (other.basic(), access.as_str()),
    ] {
        let r = post_with(&app, rv, &[("authorization", &auth)], &[("token", token)]).await;
        c.check("post", rv, &r);
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.json(), json!({}));
    }
    assert_eq!(userinfo_status(&app, &access).await, StatusCode::OK);
    // an access token revokes itself
    let r = post_with(
        &app,
        rv,
        &[("authorization", &client.basic())],
        &[("token", &access)],
    )
    .await;
    c.check("post", rv, &r);
    assert_eq!(
        userinfo_status(&app, &access).await,
        StatusCode::UNAUTHORIZED
    );
    // a refresh token revokes its family
    let r = post_with(
        &app,
        TOKEN,
        &[("authorization", &client.basic())],
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    let next_access = r.json()["access_token"].as_str().unwrap().to_owned();
    let next_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .post(
            rv,
            None,
            &[
                ("token", &refresh),
                ("client_id", &client.id),
                ("client_secret", client.secret.as_deref().unwrap()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        userinfo_status(&app, &next_access).await,
        StatusCode::UNAUTHORIZED
    );
    let r = post_with(
        &app,
        ins,
        &[("x-tessera-api-key", &key)],
        &[("token", &next_refresh)],
    )
    .await;
    assert_eq!(r.json(), json!({"active": false}));
    for (headers, fields, status, code) in [
        (
            vec![("authorization", basic(&client.id, "wrong"))],
            vec![("token", "x")],
            401,
            "invalid_client",
        ),
        (vec![], vec![("token", "x")], 401, "invalid_client"),
        (
            vec![("authorization", client.basic())],
            vec![],
            400,
            "invalid_request",
        ),
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_with(&app, rv, &h, &fields).await;
        oauth_error(&r, status, code);
        c.check("post", rv, &r);
    }
    let r = app
        .request(Method::POST, rv, None, Some("application/json"), "{}")
        .await;
    c.check("post", rv, &r);
    let r = app
        .request(
            Method::POST,
            rv,
            None,
            Some(FORM),
            "a=".to_owned() + &"x".repeat(17 * 1024),
        )
        .await;
    c.check("post", rv, &r);
    c.checked_all_of(&ROUTES[11..15]);
}

#[tokio::test]
async fn discovery_and_jwks() {
    let app = TestApp::new();
    let mut c = Contract::new(&app).await;
    let issuer = app.engine.config().oauth.issuer.clone();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let r = app.get(path, None).await;
        c.check("get", path, &r);
        let d = r.json();
        assert_eq!(d["issuer"], issuer.as_str());
        for (key, suffix) in [
            ("authorization_endpoint", "/oauth2/authorize"),
            ("token_endpoint", "/oauth2/token"),
            ("userinfo_endpoint", "/oauth2/userinfo"),
            ("jwks_uri", "/oauth2/jwks"),
            ("revocation_endpoint", "/oauth2/revoke"),
            ("introspection_endpoint", "/oauth2/introspect"),
        ] {
            assert_eq!(d[key], format!("{issuer}{suffix}"), "{key}");
        }
        assert_eq!(d["response_types_supported"], json!(["code"]));
        assert_eq!(
            d["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            d["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            d["id_token_signing_alg_values_supported"],
            json!(["RS256", "EdDSA"])
        );
        assert_eq!(d["subject_types_supported"], json!(["public"]));
        assert_eq!(d["authorization_response_iss_parameter_supported"], true);
        assert_eq!(
            d["scopes_supported"],
            json!([
                "openid",
                "profile",
                "email",
                "offline_access",
                "directories"
            ])
        );
        let claims = d["claims_supported"].as_array().unwrap();
        assert!(claims.contains(&json!("sub")), "{claims:?}");
        assert!(claims.contains(&json!("directories")), "{claims:?}");
        assert!(!d.to_string().contains("password"));
    }
    let r = app.get("/oauth2/jwks", None).await;
    c.check("get", "/oauth2/jwks", &r);
    let set: JwkSet = serde_json::from_value(r.json()).unwrap();
    assert_eq!(set.keys.len(), 2);
    for k in &set.keys {
        DecodingKey::from_jwk(k).unwrap();
    }
    let j = r.json();
    assert_eq!(j["keys"][0]["kty"], "RSA");
    assert_eq!(j["keys"][1]["kty"], "OKP");
    assert!(
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none())
    );
    // an EdDSA client's id token verifies with the OKP key
    let alice = app.active_user("jwksalice").await;
    let client = register(&app, &alice, "confidential", "openid", Some("EdDSA")).await;
    let (verifier, challenge) = pkce();
    let c1 = code(&app, &alice, &client, &["openid"], Some(&challenge), None).await;
    let id_token = exchange(&app, &client, &c1, Some(&verifier)).await.json()["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = jsonwebtoken::decode_header(&id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let key = DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap()).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_audience(&[client.id.as_str()]);
    v.validate_exp = false;
    jsonwebtoken::decode::<Value>(&id_token, &key, &v).unwrap();
    c.checked_all_of(&ROUTES[15..]);
    let _ = common::password("x");
}

/// The payload of a JWT, decoded without checking it (the signature is checked elsewhere).
fn jwt_payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn the_directories_scope_adds_the_directories_claim() {
    let app = TestApp::new();
    let alice = app.active_user("dir-claim-alice").await;
    let me = app.engine.verify(&alice.token).await.unwrap();
    let dir = app
        .engine
        .register_directory(&me, "Acme Ltd", "acme")
        .await
        .unwrap()
        .value;
    let client = register(
        &app,
        &alice,
        "confidential",
        "openid profile directories",
        None,
    )
    .await;
    let want = json!([{"id": dir.hyphenated().to_string(), "shortName": "acme", "role": "owner"}]);

    let c = code(
        &app,
        &alice,
        &client,
        &["openid", "directories"],
        None,
        Some("n"),
    )
    .await;
    let r = exchange(&app, &client, &c, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let tokens = r.json();
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["directories"], want, "{claims}");
    let info = get_with(
        &app,
        Method::GET,
        "/oauth2/userinfo",
        &[(
            "authorization",
            &format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        )],
    )
    .await;
    assert_eq!(info.json()["directories"], want, "{}", info.text());

    // without the scope, neither carries it
    let c = code(
        &app,
        &alice,
        &client,
        &["openid", "profile"],
        None,
        Some("n"),
    )
    .await;
    let tokens = exchange(&app, &client, &c, None).await.json();
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert!(claims.get("directories").is_none(), "{claims}");
    let info = get_with(
        &app,
        Method::GET,
        "/oauth2/userinfo",
        &[(
            "authorization",
            &format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        )],
    )
    .await;
    assert!(info.json().get("directories").is_none(), "{}", info.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_exchanges_and_refreshes_have_one_winner_over_http() {
    let app = TestApp::new();
    let alice = app.active_user("racealice").await;
    let client = register(&app, &alice, "confidential", "openid offline_access", None).await;
    let (verifier, challenge) = pkce();
    let scopes = ["openid", "offline_access"];
    let spend = |code: String, refresh: bool| {
        let (app, client, verifier) = (app.clone(), client.clone(), verifier.clone());
        tokio::spawn(async move {
            if refresh {
                let fields = [("grant_type", "refresh_token"), ("refresh_token", &code)];
                post_with(&app, TOKEN, &[("authorization", &client.basic())], &fields).await
            } else {
                exchange(&app, &client, &code, Some(&verifier)).await
            }
        })
    };
    // the 200 bodies of concurrent token requests; every other answer is invalid_grant
    let winners = |tasks: Vec<tokio::task::JoinHandle<Reply>>| async move {
        let mut won = Vec::new();
        for t in tasks {
            let r = t.await.unwrap();
            if r.status == StatusCode::OK {
                won.push(r.json());
            } else {
                oauth_error(&r, 400, "invalid_grant");
            }
        }
        won
    };
    // 20 concurrent exchanges of one code: exactly one 200, the others invalid_grant
    let c1 = code(&app, &alice, &client, &scopes, Some(&challenge), None).await;
    let won = winners((0..20).map(|_| spend(c1.clone(), false)).collect()).await;
    assert_eq!(won.len(), 1, "exactly one exchange wins");
    // the reused code revoked what it issued
    let access = won[0]["access_token"].as_str().unwrap();
    assert_eq!(
        userinfo_status(&app, access).await,
        StatusCode::UNAUTHORIZED
    );

    // 20 concurrent refreshes of one refresh token: at most one 200, then the family ends
    let c2 = code(&app, &alice, &client, &scopes, Some(&challenge), None).await;
    let r = exchange(&app, &client, &c2, Some(&verifier)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let first_access = r.json()["access_token"].as_str().unwrap().to_owned();
    let won = winners((0..20).map(|_| spend(refresh.clone(), true)).collect()).await;
    assert!(won.len() <= 1, "{} refreshes won", won.len());
    for j in &won {
        let next = j["refresh_token"].as_str().unwrap().to_owned();
        let r = spend(next, true).await.unwrap();
        oauth_error(&r, 400, "invalid_grant");
        let access = j["access_token"].as_str().unwrap();
        assert_eq!(
            userinfo_status(&app, access).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        userinfo_status(&app, &first_access).await,
        StatusCode::UNAUTHORIZED,
        "the family ended"
    );
}
