//! OpenID Connect relying party against the real binary: the `openidconnect` crate (4.x)
//! does discovery, the authorization code flow with PKCE S256 (the login and consent pages
//! submitted by an HTTP client that keeps the session cookie, as a browser would), the token
//! exchange, id token validation for an RS256 and an EdDSA client (signature against the
//! JWKS, `iss`, `aud`, `nonce`, `at_hash`), userinfo, refresh with rotation, introspection
//! and revocation; then the conformance suite's happy path: a confidential client without
//! PKCE but with a nonce.
#![allow(clippy::too_many_lines)] // one scenario per test, top to bottom

use std::collections::HashMap;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, HttpRequest,
    HttpResponse, IntrospectionUrl, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    RedirectUrl, Scope, TokenIntrospectionResponse, TokenResponse,
};
use scraper::{Html, Selector};
use tessera_testkit::binary::{self as bin_support, Served};

use super::oauth_support::{active_user, register_app, start};

/// The `openidconnect` crate's HTTP client: reqwest, no redirects followed.
#[derive(Clone)]
struct Http(reqwest::Client);

impl Http {
    fn new() -> Self {
        Self(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        )
    }

    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, reqwest::Error> {
        let (parts, body) = req.into_parts();
        let mut r = self
            .0
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body);
        r = r.timeout(std::time::Duration::from_secs(30));
        let res = r.send().await?;
        let mut b = http::Response::builder().status(res.status());
        for (k, v) in res.headers() {
            b = b.header(k, v);
        }
        let bytes = res.bytes().await?;
        Ok(b.body(bytes.to_vec()).unwrap())
    }
}

/// A browser stand-in: an HTTP client that keeps the server's cookies and submits the
/// pages' forms (hidden fields included) the way a person would.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: HashMap<String, String>,
}

/// Where a sign-in ended: the redirect to the application.
struct Arrival {
    location: Url,
    pages: usize,
}

impl Arrival {
    fn param(&self, name: &str) -> Option<String> {
        self.location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

impl Browser {
    fn new(server: &Served) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.base.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Response {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let res = req.send().await.unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Open `url` and go on through the pages until the server redirects to `redirect_uri`:
    /// on a login page type `username` and `password`, on a consent page press the button
    /// that allows. Every form POST must answer 303.
    async fn sign_in(
        &mut self,
        url: &str,
        redirect_uri: &str,
        username: &str,
        password: &str,
    ) -> Arrival {
        let mut res = self.send(self.http.get(url)).await;
        let mut pages = 0;
        for _ in 0..8 {
            let status = res.status().as_u16();
            if let Some(loc) = res.headers().get("location") {
                let loc = loc.to_str().unwrap().to_owned();
                let abs = if loc.starts_with('/') {
                    format!("{}{loc}", self.base)
                } else {
                    loc
                };
                if abs.starts_with(redirect_uri.split('?').next().unwrap()) {
                    return Arrival {
                        location: Url::parse(&abs).unwrap(),
                        pages,
                    };
                }
                assert!(
                    abs.starts_with(&self.base),
                    "redirect off the server: {abs}"
                );
                res = self.send(self.http.get(abs)).await;
                continue;
            }
            assert_eq!(status, 200, "a page: {}", res.text().await.unwrap());
            let html = res.text().await.unwrap();
            pages += 1;
            let (action, fields) = fill_form(&html, username, password);
            let action = if action.starts_with('/') {
                format!("{}{action}", self.base)
            } else {
                action
            };
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&fields)
                .finish();
            res = self
                .send(
                    self.http
                        .post(action)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body),
                )
                .await;
            assert_eq!(res.status().as_u16(), 303, "form POSTs answer 303");
        }
        panic!("no redirect to {redirect_uri} after 8 steps");
    }
}

/// The first form of a page with its fields filled: hidden inputs as they are, the text
/// and password inputs with the credentials, and the submit button that allows (if the
/// form has named buttons).
fn fill_form(html: &str, username: &str, password: &str) -> (String, Vec<(String, String)>) {
    let doc = Html::parse_document(html);
    let form_sel = Selector::parse("form[method=post], form[method=POST]").unwrap();
    let form = doc
        .select(&form_sel)
        .next()
        .unwrap_or_else(|| panic!("no POST form in page:\n{html}"));
    let action = form.value().attr("action").unwrap_or("").to_owned();
    let mut fields = Vec::new();
    for input in form.select(&Selector::parse("input").unwrap()) {
        let e = input.value();
        let (Some(name), kind) = (e.attr("name"), e.attr("type").unwrap_or("text")) else {
            continue;
        };
        match kind {
            "hidden" => fields.push((name.to_owned(), e.attr("value").unwrap_or("").to_owned())),
            "password" => fields.push((name.to_owned(), password.to_owned())),
            "text" | "email" => fields.push((name.to_owned(), username.to_owned())),
            "checkbox" | "radio" if e.attr("checked").is_some() => {
                fields.push((name.to_owned(), e.attr("value").unwrap_or("on").to_owned()));
            }
            _ => {}
        }
    }
    let buttons: Vec<_> = form
        .select(&Selector::parse("button[name], input[type=submit][name]").unwrap())
        .collect();
    if let Some(b) = buttons.iter().find(|b| {
        let v = b.value().attr("value").unwrap_or("").to_ascii_lowercase();
        ["allow", "approve", "accept", "yes", "grant"]
            .iter()
            .any(|w| v.contains(w))
    }) {
        fields.push((
            b.value().attr("name").unwrap().to_owned(),
            b.value().attr("value").unwrap_or("").to_owned(),
        ));
    }
    (action, fields)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openidconnect_relying_party_with_pkce_rs256_and_eddsa() {
    let (server, _dir) = start().await;
    let api = bin_support::Client::new(&server);
    let (username, password, token) = active_user(&api, "rp-alice").await;
    let http = Http::new();
    let call = |r| http.call(r);

    // Discovery.
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer.clone(), &call)
        .await
        .expect("discovery");
    assert_eq!(meta.issuer(), &issuer);
    let algs = meta.id_token_signing_alg_values_supported();
    assert!(algs.contains(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256));
    assert!(algs.contains(&CoreJwsSigningAlgorithm::EdDsa));

    for (alg, kind, redirect) in [
        ("RS256", "confidential", "https://rp.example/callback"),
        ("EdDSA", "public", "http://127.0.0.1/callback"),
    ] {
        let app = register_app(&api, &token, "Example RP", &[redirect], kind, alg).await;
        let mut client = CoreClient::from_provider_metadata(
            meta.clone(),
            ClientId::new(app.client_id.clone()),
            app.client_secret.clone().map(ClientSecret::new),
        )
        .set_introspection_url(
            IntrospectionUrl::new(format!("{}/oauth2/introspect", server.base)).unwrap(),
        );
        // A loopback redirect URI matches with any port (RFC 8252 §7.3).
        let redirect_used = if kind == "public" {
            "http://127.0.0.1:45123/callback".to_owned()
        } else {
            redirect.to_owned()
        };
        client = client.set_redirect_uri(RedirectUrl::new(redirect_used.clone()).unwrap());

        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let mut browser = Browser::new(&server);
        let arrival = browser
            .sign_in(url.as_str(), &redirect_used, &username, &password)
            .await;
        assert_eq!(arrival.pages, 2, "{alg}: a login page, then a consent page");
        assert_eq!(
            arrival.param("state").as_deref(),
            Some(state.secret().as_str())
        );
        assert_eq!(arrival.param("iss").as_deref(), Some(server.base.as_str()));
        let code = AuthorizationCode::new(arrival.param("code").expect("code"));

        let tokens = client
            .exchange_code(code.clone())
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&call)
            .await
            .unwrap_or_else(|e| panic!("{alg}: exchange: {e:?}"));
        let id_token = tokens.id_token().expect("id token");
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(vec![if alg == "EdDSA" {
                CoreJwsSigningAlgorithm::EdDsa
            } else {
                CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256
            }]);
        let claims = id_token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("{alg}: id token: {e:?}"));
        let expected_hash = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected_hash),
            "{alg}: at_hash"
        );
        let sub = claims.subject().clone();

        // The code is single use: a second exchange fails and revokes what the first gave.
        let again = client
            .exchange_code(code)
            .unwrap()
            .request_async(&call)
            .await;
        assert!(again.is_err(), "{alg}: a reused code must fail");

        // The reuse revoked the family: userinfo with the first access token fails.
        let ui: Result<CoreUserInfoClaims, _> = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&call)
            .await;
        assert!(
            ui.is_err(),
            "{alg}: the first exchange's access token is revoked"
        );

        // A fresh sign-in: the browser session and the consent are remembered, so the
        // authorize URL goes straight to the redirect.
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("offline_access".into()))
            .set_pkce_challenge(challenge)
            .url();
        let arrival = browser
            .sign_in(url.as_str(), &redirect_used, &username, &password)
            .await;
        assert_eq!(
            arrival.pages, 0,
            "{alg}: no page with a session and a consent"
        );
        assert_eq!(
            arrival.param("state").as_deref(),
            Some(state.secret().as_str())
        );
        let tokens = client
            .exchange_code(AuthorizationCode::new(arrival.param("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(pkce)
            .request_async(&call)
            .await
            .unwrap();
        let claims = tokens
            .id_token()
            .unwrap()
            .claims(&verifier, &nonce)
            .unwrap();
        assert_eq!(claims.subject(), &sub, "{alg}: the same subject");

        // Userinfo.
        let info: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), None)
            .unwrap()
            .request_async(&call)
            .await
            .unwrap_or_else(|e| panic!("{alg}: userinfo: {e:?}"));
        assert_eq!(info.subject(), &sub);
        assert_eq!(
            info.preferred_username().map(|u| u.as_str()),
            Some(username.as_str())
        );

        // Introspection: live.
        let intro = client
            .introspect(tokens.access_token())
            .set_token_type_hint("access_token")
            .request_async(&call)
            .await;
        if kind == "confidential" {
            let intro = intro.unwrap();
            assert!(intro.active());
            assert_eq!(
                intro.client_id().map(|c| c.as_str()),
                Some(app.client_id.as_str())
            );
            assert_eq!(intro.sub(), Some(sub.as_str()));
        }

        // Refresh with rotation; the old refresh token is then refused.
        let refresh = tokens
            .refresh_token()
            .expect("offline_access gives a refresh token");
        let rotated = client
            .exchange_refresh_token(refresh)
            .unwrap()
            .request_async(&call)
            .await
            .unwrap_or_else(|e| panic!("{alg}: refresh: {e:?}"));
        let new_refresh = rotated.refresh_token().unwrap();
        assert_ne!(new_refresh.secret(), refresh.secret());
        let reuse = client
            .exchange_refresh_token(refresh)
            .unwrap()
            .request_async(&call)
            .await;
        assert!(reuse.is_err(), "{alg}: a rotated refresh token is refused");
        // Reuse ended the family: the rotated refresh token is dead too.
        let after = client
            .exchange_refresh_token(new_refresh)
            .unwrap()
            .request_async(&call)
            .await;
        assert!(after.is_err(), "{alg}: reuse revokes the family");

        // Revocation (RFC 7009) of a fresh access token, then userinfo refuses it.
        let (challenge, pkce) = PkceCodeChallenge::new_random_sha256();
        let (url, _, _) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let arrival = browser
            .sign_in(url.as_str(), &redirect_used, &username, &password)
            .await;
        let fresh = client
            .exchange_code(AuthorizationCode::new(arrival.param("code").unwrap()))
            .unwrap()
            .set_pkce_verifier(pkce)
            .request_async(&call)
            .await
            .unwrap();
        // (oauth2's own revocation call insists on https, so this one is a plain RFC 7009
        // form POST: the token, and the client's credentials as the token endpoint takes them.)
        let mut form = vec![
            ("token", fresh.access_token().secret().clone()),
            ("token_type_hint", "access_token".to_owned()),
        ];
        let mut req = http.0.post(format!("{}/oauth2/revoke", server.base));
        match &app.client_secret {
            Some(secret) => req = req.basic_auth(&app.client_id, Some(secret)),
            None => form.push(("client_id", app.client_id.clone())),
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let revoked = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status().as_u16(), 200, "{alg}: RFC 7009 revocation");
        let ui: Result<CoreUserInfoClaims, _> = client
            .user_info(fresh.access_token().clone(), None)
            .unwrap()
            .request_async(&call)
            .await;
        assert!(ui.is_err(), "{alg}: a revoked access token is refused");
        if kind == "confidential" {
            let intro = client
                .introspect(fresh.access_token())
                .request_async(&call)
                .await
                .unwrap();
            assert!(!intro.active());
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_happy_path_confidential_client_with_nonce_and_no_pkce() {
    let (server, _dir) = start().await;
    let api = bin_support::Client::new(&server);
    let (username, password, token) = active_user(&api, "rp-bob").await;
    let http = Http::new();
    let call = |r| http.call(r);
    let issuer = IssuerUrl::new(server.base.clone()).unwrap();
    let meta = CoreProviderMetadata::discover_async(issuer, &call)
        .await
        .unwrap();
    let redirect = "https://rp.example/cb";
    let app = register_app(
        &api,
        &token,
        "Conformance",
        &[redirect],
        "confidential",
        "RS256",
    )
    .await;
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new(app.client_id.clone()),
        app.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).unwrap());
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();
    let mut browser = Browser::new(&server);
    let arrival = browser
        .sign_in(url.as_str(), redirect, &username, &password)
        .await;
    assert_eq!(
        arrival.param("state").as_deref(),
        Some(state.secret().as_str())
    );
    let code = arrival.param("code").unwrap();
    assert!(code.len() >= 43, "a code carries 32 random bytes: {code}");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .request_async(&call)
        .await
        .expect("a confidential client with a nonce may omit PKCE");
    let claims = tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert_eq!(claims.nonce().map(Nonce::secret), Some(nonce.secret()));
    assert!(
        tokens.refresh_token().is_none(),
        "no offline_access, no refresh token"
    );

    // Without a nonce the same confidential client must use PKCE.
    let (url, _, _) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            || Nonce::new(String::new()),
        )
        .url();
    let mut url = url;
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "nonce")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let res = browser.send(browser.http.get(url.as_str())).await;
    assert_eq!(res.status().as_u16(), 303, "an error redirect");
    let loc = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(loc.starts_with(redirect), "{loc}");
    assert!(loc.contains("error=invalid_request"), "{loc}");
    server.stop().await;
}
