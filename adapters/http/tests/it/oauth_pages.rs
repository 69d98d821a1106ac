//! The login and consent pages: sign-in, consent, the code redirect, the session cookie,
//! `prompt`, `max_age`, CSRF and browser binding, throttling, temporary passwords,
//! profiles that may not sign in, storage failures.

#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use base64::Engine as _;
use tessera_core::store::{OAuthStore as _, TokenStore as _};
use tessera_core::{Clock as _, TokenDigest, TokenKind};
use tessera_testkit::app::{Reply, TestApp, password};
use tessera_testkit::faulty::{FaultyStore, SECRET_DETAIL};
use tessera_testkit::pages::{ClientSpec, PageClient, hidden, location, pkce, query};

use crate::oauth_fixture::{
    Fixture, ISSUER, Params, REDIRECT, assert_error_page, assert_error_redirect, assert_page,
    assert_redirect, params_for,
};

const SESSION: &str = "__Host-tessera_session";
const BINDING: &str = "__Host-tessera_binding";

/// The hidden fields of a page's forms.
fn proof(html: &str) -> (String, String) {
    (hidden(html, "interaction"), hidden(html, "csrf"))
}

/// Open `params`, sign in as `user`/`pw`: the reply of the login form.
async fn sign_in(b: &mut PageClient<'_>, params: &Params, user: &str, pw: &str) -> Reply {
    let r = b.get(&params.url()).await;
    let html = assert_page(&r, 200);
    let (i, c) = proof(&html);
    b.post(
        "/oauth2/login",
        &[
            ("interaction", &i),
            ("csrf", &c),
            ("username", user),
            ("password", pw),
        ],
    )
    .await
}

/// Follow a 303 to `/oauth2/continue`: the consent page's HTML.
async fn consent_page(b: &mut PageClient<'_>, r: &Reply) -> String {
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let loc = location(r);
    assert!(loc.starts_with("/oauth2/continue?interaction="), "{loc}");
    let r = b.get(&loc).await;
    assert_page(&r, 200)
}

async fn decide(b: &mut PageClient<'_>, html: &str, decision: &str) -> Reply {
    let (i, c) = proof(html);
    b.post(
        "/oauth2/consent",
        &[("interaction", &i), ("csrf", &c), ("decision", decision)],
    )
    .await
}

/// Sign in and approve: the code of the redirect.
async fn full_flow(f: &Fixture, b: &mut PageClient<'_>, params: &Params) -> String {
    let r = sign_in(b, params, "alice", &f.user.password).await;
    let html = consent_page(b, &r).await;
    let r = decide(b, &html, "approve").await;
    let q = assert_redirect(&r, REDIRECT);
    q["code"].clone()
}

#[tokio::test]
async fn sign_in_consent_and_the_code_redirect() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    let params = f.params().set("state", "st-123");
    let r = b.get(&params.url()).await;
    let html = assert_page(&r, 200);
    // the login page: labelled inputs, the app's name, the redirect origin in form-action
    for needle in [
        "<label for=\"username\">",
        "id=\"username\"",
        "<label for=\"password\">",
        "id=\"password\"",
        "type=\"password\"",
        "<h1>Sign in</h1>",
        "<strong>Example App</strong>",
        "<meta name=\"viewport\"",
        "href=\"/assets/tessera.css\"",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    assert!(!html.contains("<script") && !html.contains("style="));
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .ends_with("form-action 'self' https://app.example.com")
    );
    // the binding cookie
    let set: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(set.len(), 1);
    let binding = set[0].to_str().unwrap();
    assert!(binding.starts_with(&format!("{BINDING}=")), "{binding}");
    assert!(
        binding.ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure"),
        "{binding}"
    );
    // a wrong password: the same page again, saying so
    let (i, c) = proof(&html);
    let r = b
        .post(
            "/oauth2/login",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", "alice"),
                ("password", "nope"),
            ],
        )
        .await;
    let again = assert_page(&r, 400);
    assert!(
        again.contains("The username or password is wrong.") && again.contains("value=\"alice\"")
    );
    assert_eq!(proof(&again), (i.clone(), c.clone()));
    // the right one: the session cookie, then 303 to the consent page
    let r = b
        .post(
            "/oauth2/login",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", "Alice"),
                ("password", &f.user.password),
            ],
        )
        .await;
    let session = r.headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(session.starts_with(&format!("{SESSION}=tsb_")), "{session}");
    assert!(
        session.ends_with("; Path=/; Max-Age=28800; HttpOnly; SameSite=Lax; Secure"),
        "{session}"
    );
    assert_eq!(r.status.as_u16(), 303);
    assert!(r.body.is_empty());
    let html = consent_page(&mut b, &r).await;
    for needle in [
        "Allow <strong>Example App</strong> to use your account?",
        "Signed in as <strong>alice</strong>",
        "<h2>Example App will be able to</h2>",
        "Know who you are: your tessera profile id",
        "See your username and profile type",
        "<strong>https:&#x2f;&#x2f;app.example.com</strong>",
        "name=\"decision\" value=\"approve\"",
        "name=\"decision\" value=\"deny\"",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    // approve: 303 to the client with code, state and iss
    let r = decide(&mut b, &html, "approve").await;
    let q = assert_redirect(&r, REDIRECT);
    assert_eq!(q["state"], "st-123");
    let code = &q["code"];
    assert!(code.starts_with("tsc_") && code.len() == 47, "{code}");
    assert!(
        location(&r).ends_with("&iss=https%3A%2F%2Fid.example"),
        "{}",
        location(&r)
    );
    // the code is stored with its grant: client, profile, scopes, redirect URI, PKCE, nonce
    let digest = TokenDigest::of_token(TokenKind::OAuthCode, code).unwrap();
    let token = f.store.get_token(&digest).await.unwrap().unwrap();
    assert_eq!(token.kind, TokenKind::OAuthCode);
    let grant = f
        .store
        .get_grant(token.family.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.client_id, f.client);
    assert_eq!(grant.profile_id.to_string(), f.user.profile_id);
    assert_eq!(grant.scopes, ["openid", "profile"]);
    assert_eq!(grant.redirect_uri.as_deref(), Some(REDIRECT));
    assert_eq!(
        grant.code_challenge.as_deref(),
        Some(pkce("fixture").1.as_str())
    );
    assert_eq!(grant.nonce.as_deref(), Some("n-456"));
    assert_eq!(grant.auth_time, f.app.clock.now());
    // the consent is stored
    let consent = f
        .store
        .get_consent(grant.profile_id, f.client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consent.scopes, ["openid", "profile"]);
    // the interaction is spent: the same form again is refused, no second code
    let r = decide(&mut b, &html, "approve").await;
    assert_error_page(&r, 400, "interaction_expired");
    // a second authorization with the session cookie goes straight back with a new code
    let r = b.get(&params.clone().set("state", "two").url()).await;
    let q = assert_redirect(&r, REDIRECT);
    assert_eq!(q["state"], "two");
    assert_ne!(&q["code"], code);
    // prompt=none with the session: silent
    let r = b.get(&params.clone().set("prompt", "none").url()).await;
    assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
}

#[tokio::test]
async fn prompt_and_max_age_decide_what_is_asked_again() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    full_flow(&f, &mut b, &f.params()).await;
    let signed_in_at = f.app.clock.now();
    // prompt=consent: the consent page again (no login)
    let r = b.get(&f.params().set("prompt", "consent").url()).await;
    let html = assert_page(&r, 200);
    assert!(html.contains("to use your account?"));
    // deny: access_denied with the state
    let r = decide(&mut b, &html, "deny").await;
    assert_error_redirect(&r, "access_denied", Some("st-123"));
    // prompt=login: the login page though signed in, then a fresh auth_time
    f.app.clock.advance(5);
    let r = b.get(&f.params().set("prompt", "login").url()).await;
    let html = assert_page(&r, 200);
    assert!(html.contains("<h1>Sign in</h1>"));
    let (i, c) = proof(&html);
    let r = b
        .post(
            "/oauth2/login",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", "alice"),
                ("password", &f.user.password),
            ],
        )
        .await;
    // consented already: straight back, no consent page
    let q = assert_redirect(&r, REDIRECT);
    let digest = TokenDigest::of_token(TokenKind::OAuthCode, &q["code"]).unwrap();
    let token = f.store.get_token(&digest).await.unwrap().unwrap();
    let grant = f
        .store
        .get_grant(token.family.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.auth_time, signed_in_at.plus_secs(5));
    // max_age: an older sign-in is asked again; a recent enough one is not
    f.app.clock.advance(10);
    let r = b.get(&f.params().set("max_age", "5").url()).await;
    assert!(assert_page(&r, 200).contains("<h1>Sign in</h1>"));
    let r = b
        .get(&f.params().set("max_age", "5").set("prompt", "none").url())
        .await;
    assert_error_redirect(&r, "login_required", Some("st-123"));
    let r = b.get(&f.params().set("max_age", "10000").url()).await;
    assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
    let r = b.get(&f.params().set("max_age", "0").url()).await;
    assert!(assert_page(&r, 200).contains("<h1>Sign in</h1>"));
    // more scopes than consented: asked again (prompt=none: consent_required) …
    let more = f.params().set("scope", "openid profile email");
    let r = b.get(&more.clone().set("prompt", "none").url()).await;
    assert_error_redirect(&r, "consent_required", Some("st-123"));
    let r = b.get(&more.url()).await;
    let html = assert_page(&r, 200);
    assert!(html.contains("See your email address"));
    let r = decide(&mut b, &html, "approve").await;
    assert_redirect(&r, REDIRECT);
    // … and the consent grows to the union
    let consent = f
        .store
        .get_consent(f.user.profile_id.parse().unwrap(), f.client)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(consent.scopes, ["openid", "profile", "email"]);
    let r = b
        .get(&f.params().set("scope", "email").set("prompt", "none").url())
        .await;
    assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
    // another application: consent_required with prompt=none, though signed in
    let other = f.client(ClientSpec::confidential(REDIRECT)).await;
    let r = b
        .get(&params_for(other, REDIRECT).set("prompt", "none").url())
        .await;
    assert_error_redirect(&r, "consent_required", Some("st-123"));
}

#[tokio::test]
async fn first_party_applications_skip_consent_unless_asked() {
    let listed = uuid::Uuid::new_v4();
    let f = Fixture::with(|c| c.oauth.first_party_clients = vec![listed]).await;
    let mut marked = ClientSpec::confidential(REDIRECT);
    marked.name = "Marked".into();
    marked.first_party = true;
    let mut by_operator = ClientSpec::confidential(REDIRECT);
    by_operator.id = Some(listed);
    for client in [f.client(marked).await, f.client(by_operator).await] {
        let mut b = PageClient::new(&f.app);
        let params = params_for(client, REDIRECT);
        let r = sign_in(&mut b, &params, "alice", &f.user.password).await;
        assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
        let r = b.get(&params.set("prompt", "consent").url()).await;
        assert!(assert_page(&r, 200).contains("to use your account?"));
    }
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_browser_binding() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    let r = b.get(&f.params().url()).await;
    let html = assert_page(&r, 200);
    let (i, c) = proof(&html);
    let pw = f.user.password.clone();
    let login = |i: &str, c: &str| {
        vec![
            ("interaction".to_owned(), i.to_owned()),
            ("csrf".to_owned(), c.to_owned()),
            ("username".to_owned(), "alice".to_owned()),
            ("password".to_owned(), pw.clone()),
        ]
    };
    for (fields, status, code) in [
        (login(&i, ""), 403, "form_forged"),
        (login(&i, "x"), 403, "form_forged"),
        (login(&i, &c[1..]), 403, "form_forged"),
        (login(&i, &hidden(&html, "interaction")), 403, "form_forged"),
        (login("", &c), 400, "interaction_expired"),
        (login("unknown", &c), 400, "interaction_expired"),
    ] {
        let r = b.post_owned("/oauth2/login", &fields).await;
        assert_error_page(&r, status, code);
        assert!(r.headers.get("set-cookie").is_none());
    }
    // the right token from another browser (no binding cookie, or another one): refused
    for cookies in [vec![], vec![(BINDING, "A".repeat(43))]] {
        let mut other = PageClient::new(&f.app);
        for (k, v) in cookies {
            other.cookies.insert(k.to_owned(), v);
        }
        let r = other.post_owned("/oauth2/login", &login(&i, &c)).await;
        assert_error_page(&r, 403, "form_forged");
    }
    // a field twice, a JSON body: the error page
    let mut fields = login(&i, &c);
    fields.push(("csrf".into(), c.clone()));
    assert_error_page(
        &b.post_owned("/oauth2/login", &fields).await,
        400,
        "malformed_request",
    );
    let r = f
        .app
        .post_json("/oauth2/login", &serde_json::json!({}))
        .await;
    assert_error_page(&r, 400, "malformed_request");
    // after all that, the real form still works
    let r = b.post_owned("/oauth2/login", &login(&i, &c)).await;
    let html = consent_page(&mut b, &r).await;
    // the consent form: its own checks, and the session must be the one that signed in
    let (ci, cc) = proof(&html);
    for (csrf, code, status) in [("", "form_forged", 403), ("wrong", "form_forged", 403)] {
        let r = b
            .post(
                "/oauth2/consent",
                &[
                    ("interaction", &ci),
                    ("csrf", csrf),
                    ("decision", "approve"),
                ],
            )
            .await;
        assert_error_page(&r, status, code);
    }
    let r = b
        .post(
            "/oauth2/consent",
            &[("interaction", &ci), ("csrf", &cc), ("decision", "maybe")],
        )
        .await;
    assert_error_page(&r, 400, "malformed_request");
    let session = b.cookies.remove(SESSION).unwrap();
    let r = decide(&mut b, &html, "approve").await;
    assert_error_page(&r, 400, "session_ended");
    let r = b.get(&format!("/oauth2/continue?interaction={ci}")).await;
    assert_error_page(&r, 400, "session_ended");
    b.cookies.insert(SESSION.into(), session);
    let r = b.get(&format!("/oauth2/continue?interaction={ci}")).await;
    assert_page(&r, 200);
    // the continue page is bound to the browser too
    let r = PageClient::new(&f.app)
        .get(&format!("/oauth2/continue?interaction={ci}"))
        .await;
    assert_error_page(&r, 403, "form_forged");
    for bad in [
        "/oauth2/continue",
        "/oauth2/continue?interaction=a&interaction=b",
    ] {
        assert_error_page(&b.get(bad).await, 400, "malformed_request");
    }
    // the interaction expires
    f.app.clock.advance(601);
    let r = decide(&mut b, &html, "approve").await;
    assert_error_page(&r, 400, "interaction_expired");
}

#[tokio::test]
async fn cancel_on_the_login_page_is_access_denied() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    let r = b.get(&f.params().url()).await;
    let (i, c) = proof(&assert_page(&r, 200));
    let r = b
        .post("/oauth2/cancel", &[("interaction", &i), ("csrf", "bad")])
        .await;
    assert_error_page(&r, 403, "form_forged");
    let r = b
        .post("/oauth2/cancel", &[("interaction", &i), ("csrf", &c)])
        .await;
    assert_error_redirect(&r, "access_denied", Some("st-123"));
    let r = b
        .post("/oauth2/cancel", &[("interaction", &i), ("csrf", &c)])
        .await;
    assert_error_page(&r, 400, "interaction_expired");
}

#[tokio::test]
async fn a_throttled_sign_in_says_when_to_try_again() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    let r = b.get(&f.params().url()).await;
    let (i, c) = proof(&assert_page(&r, 200));
    let mut last = None;
    for n in 0..7 {
        let r = b
            .post(
                "/oauth2/login",
                &[
                    ("interaction", &i),
                    ("csrf", &c),
                    ("username", "alice"),
                    ("password", &format!("wrong {n}")),
                ],
            )
            .await;
        last = Some(r);
    }
    let r = last.unwrap();
    let html = assert_page(&r, 429);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert!(
        html.contains("Too many failed attempts for this username.")
            && html.contains(&format!("Try again in {retry} second")),
        "{html}"
    );
    // the right password does not get through while throttled, then does
    let r = b
        .post(
            "/oauth2/login",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", "alice"),
                ("password", &f.user.password),
            ],
        )
        .await;
    assert_page(&r, 429);
    f.app.clock.advance(retry);
    let r = b
        .post(
            "/oauth2/login",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", "alice"),
                ("password", &f.user.password),
            ],
        )
        .await;
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
}

#[tokio::test]
async fn only_active_users_sign_in_and_temporary_passwords_are_replaced() {
    let f = Fixture::new().await;
    // an incomplete profile (no key): told so, no session
    let incomplete = f.app.incomplete_user("bob").await;
    let mut b = PageClient::new(&f.app);
    let r = sign_in(&mut b, &f.params(), "bob", &incomplete.password).await;
    let html = assert_page(&r, 403);
    assert!(
        html.contains("This profile has no public key yet."),
        "{html}"
    );
    assert!(!b.cookies.contains_key(SESSION));
    // a device profile: told so
    let device = f.app.pending_device(&f.user, "phone").await;
    f.app.approve(&f.user, &device).await;
    let r = sign_in(&mut b, &f.params(), "phone", &device.user.password).await;
    assert!(assert_page(&r, 403).contains("A device cannot sign in here."));
    // a temporary password: choose a new one (the checker's advice shown), then go on
    let temp = password("temporary");
    let id = f
        .app
        .engine
        .create_user_with_temporary_password("carol", &temp)
        .await
        .unwrap();
    let r = sign_in(&mut b, &f.params(), "carol", &temp).await;
    assert_eq!(r.status.as_u16(), 303);
    let loc = location(&r);
    assert!(loc.starts_with("/oauth2/continue?interaction="));
    let html = assert_page(&b.get(&loc).await, 200);
    assert!(
        html.contains("<h1>Choose a new password</h1>") && html.contains("<strong>carol</strong>")
    );
    assert!(
        html.contains("<label for=\"new_password\">")
            && html.contains("<label for=\"new_password_repeat\">")
    );
    let (i, c) = proof(&html);
    let new_pw = |n: &str, r: &str| {
        vec![
            ("interaction".to_owned(), i.clone()),
            ("csrf".to_owned(), c.clone()),
            ("new_password".to_owned(), n.to_owned()),
            ("new_password_repeat".to_owned(), r.to_owned()),
        ]
    };
    let r = b
        .post_owned(
            "/oauth2/new-password",
            &new_pw("passwordpassword1", "passwordpassword1"),
        )
        .await;
    let html = assert_page(&r, 422);
    assert!(
        html.contains("The password is too easy to guess."),
        "{html}"
    );
    assert!(html.contains("<li>"), "zxcvbn's advice: {html}");
    let strong = password("carol's own");
    let r = b
        .post_owned(
            "/oauth2/new-password",
            &new_pw(&strong, "something else entirely"),
        )
        .await;
    assert!(assert_page(&r, 422).contains("The two passwords are not the same."));
    let r = b
        .post_owned("/oauth2/new-password", &new_pw("short", "short"))
        .await;
    assert!(assert_page(&r, 422).contains("at least 15 characters"));
    // carol is incomplete too (a temporary-password user activates with a key): the
    // password is set, and the page says what is missing
    let r = b
        .post_owned("/oauth2/new-password", &new_pw(&strong, &strong))
        .await;
    let html = assert_page(&r, 403);
    assert!(html.contains("Your new password is set."), "{html}");
    assert!(
        f.app
            .engine
            .authenticate("carol", &strong, None)
            .await
            .is_ok()
    );
    let _ = id;
}

#[tokio::test]
async fn a_temporary_password_user_with_a_key_continues_after_the_new_password() {
    let f = Fixture::new().await;
    let temp = password("temporary");
    let id = f
        .app
        .engine
        .create_user_with_temporary_password("dave", &temp)
        .await
        .unwrap();
    // give dave a key (through the API, after a login with the temporary password is
    // refused there): set it with the engine directly
    let keys = tessera_core::KeyPair::generate(&tessera_core::OsRandom);
    let strong = password("dave's own");
    let mut b = PageClient::new(&f.app);
    let r = sign_in(&mut b, &f.params(), "dave", &temp).await;
    let html = assert_page(&b.get(&location(&r)).await, 200);
    let (i, c) = proof(&html);
    let r = b
        .post(
            "/oauth2/new-password",
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("new_password", &strong),
                ("new_password_repeat", &strong),
            ],
        )
        .await;
    assert_page(&r, 403);
    let token = f.app.login("dave", &strong).await;
    let me = f.app.engine.verify(&token).await.unwrap();
    f.app
        .engine
        .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
        .await
        .unwrap();
    // now dave signs in on the page and gets to the consent page
    let r = sign_in(&mut b, &f.params(), "dave", &strong).await;
    assert!(
        consent_page(&mut b, &r)
            .await
            .contains("Signed in as <strong>dave</strong>")
    );
}

#[tokio::test]
async fn a_password_change_ends_the_browser_session() {
    let f = Fixture::new().await;
    let mut b = PageClient::new(&f.app);
    full_flow(&f, &mut b, &f.params()).await;
    let r = b.get(&f.params().set("prompt", "none").url()).await;
    assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
    let new = password("alice new");
    let r = f
        .app
        .post(
            "/profile/change-password",
            Some(&f.user.token),
            &[("currentPassword", &f.user.password), ("newPassword", &new)],
        )
        .await;
    r.command_id();
    let r = b.get(&f.params().set("prompt", "none").url()).await;
    assert_error_redirect(&r, "login_required", Some("st-123"));
}

#[tokio::test]
async fn a_storage_failure_is_a_503_page_without_internals() {
    let store = FaultyStore::memory();
    let app = TestApp::with_config(store.clone(), |c| ISSUER.clone_into(&mut c.oauth.issuer));
    let user = app.active_user("erin").await;
    let client = tessera_testkit::pages::register_client(
        &*store,
        user.profile_id.parse().unwrap(),
        ClientSpec::confidential(REDIRECT),
    )
    .await;
    store.fail_all(true);
    let r = app.get(&params_for(client, REDIRECT).url(), None).await;
    let html = assert_page(&r, 503);
    assert!(!html.contains(SECRET_DETAIL) && html.contains("<code>storage_unavailable</code>"));
    assert_eq!(r.headers["retry-after"], "1");
    store.fail_all(false);
}

#[tokio::test]
async fn the_stylesheet_is_served() {
    let app = TestApp::new();
    let r = app.get("/assets/tessera.css", None).await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert!(r.text().contains("main {"));
    let _ = query("x?y=1");
}

/// Exchange `code` of the public application `client` (PKCE of the fixture): the id token.
async fn id_token(f: &Fixture, client: uuid::Uuid, code: &str) -> String {
    let auth = tessera_core::engine::oauth::ClientAuth {
        client_id: client.to_string(),
        secret: None,
    };
    let verifier = pkce("fixture").0;
    let exchange = tessera_core::engine::oauth::CodeExchange {
        code,
        redirect_uri: Some(REDIRECT),
        code_verifier: Some(&verifier),
    };
    f.app
        .engine
        .exchange_code(&auth, &exchange)
        .await
        .unwrap()
        .id_token
        .unwrap()
}

#[tokio::test]
async fn id_token_hint_must_be_ours_and_name_the_signed_in_user() {
    let f = Fixture::new().await;
    let public = f.client(ClientSpec::public(REDIRECT)).await;
    let params = params_for(public, REDIRECT);
    let mut alice = PageClient::new(&f.app);
    let code = full_flow(&f, &mut alice, &params).await;
    let hint = id_token(&f, public, &code).await;
    // alice's own hint: silent
    let r = alice
        .get(
            &params
                .clone()
                .set("prompt", "none")
                .set("id_token_hint", &hint)
                .url(),
        )
        .await;
    assert!(assert_redirect(&r, REDIRECT).contains_key("code"));
    // bob's hint in alice's browser: login_required (prompt=none), else the login page
    let bob = f.app.active_user("bob").await;
    let mut b = PageClient::new(&f.app);
    let r = sign_in(&mut b, &params, "bob", &bob.password).await;
    let html = consent_page(&mut b, &r).await;
    let q = assert_redirect(&decide(&mut b, &html, "approve").await, REDIRECT);
    let bobs = id_token(&f, public, &q["code"]).await;
    let r = alice
        .get(
            &params
                .clone()
                .set("prompt", "none")
                .set("id_token_hint", &bobs)
                .url(),
        )
        .await;
    assert_error_redirect(&r, "login_required", Some("st-123"));
    let r = alice
        .get(&params.clone().set("id_token_hint", &bobs).url())
        .await;
    assert!(assert_page(&r, 200).contains("<h1>Sign in</h1>"));
    // an unsigned copy (alg none) or a tampered one: invalid_request
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = hint.split('.').nth(1).unwrap();
    let unsigned = format!("{}.{payload}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    let mut tampered = hint.clone();
    tampered.pop();
    tampered.push(if hint.ends_with('A') { 'B' } else { 'A' });
    for bad in [unsigned, tampered] {
        let r = alice
            .get(
                &params
                    .clone()
                    .set("prompt", "none")
                    .set("id_token_hint", &bad)
                    .url(),
            )
            .await;
        assert_error_redirect(&r, "invalid_request", Some("st-123"));
    }
}

#[tokio::test]
async fn retrieve_authorization_code_without_the_pages() {
    let f = Fixture::new().await;
    let public = f.client(ClientSpec::public("http://127.0.0.1/cb")).await;
    let (verifier, challenge) = pkce("native");
    let path = "/oauth-application/retrieve-authorization-code";
    let fields = |client: &str, redirect: &str, scope: &str, challenge: &str| {
        vec![
            ("client_id".to_owned(), client.to_owned()),
            ("redirect_uri".to_owned(), redirect.to_owned()),
            ("scope".to_owned(), scope.to_owned()),
            ("code_challenge".to_owned(), challenge.to_owned()),
            ("code_challenge_method".to_owned(), "S256".to_owned()),
            ("state".to_owned(), "s &1".to_owned()),
        ]
    };
    let send = |fields: Vec<(String, String)>, token: Option<String>| {
        let app = f.app.clone();
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.post(path, token.as_deref(), &pairs).await
        }
    };
    let c = public.to_string();
    let token = Some(f.user.token.clone());
    let r = send(
        fields(&c, "http://127.0.0.1:4321/cb", "openid", &challenge),
        token.clone(),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["state"], "s &1");
    assert_eq!(j["redirectUri"], "http://127.0.0.1:4321/cb");
    assert!(j["expiresAt"].as_str().unwrap().ends_with("+00:00"));
    let code = j["code"].as_str().unwrap();
    // the code works at the token endpoint with the verifier and the same redirect URI
    let auth = tessera_core::engine::oauth::ClientAuth {
        client_id: c.clone(),
        secret: None,
    };
    let tokens = f
        .app
        .engine
        .exchange_code(
            &auth,
            &tessera_core::engine::oauth::CodeExchange {
                code,
                redirect_uri: Some("http://127.0.0.1:4321/cb"),
                code_verifier: Some(&verifier),
            },
        )
        .await
        .unwrap();
    assert_eq!(tokens.scopes, ["openid"]);
    // the call is the consent: the pages then go straight through for this user
    let consent = f
        .store
        .get_consent(f.user.profile_id.parse().unwrap(), public)
        .await
        .unwrap();
    assert_eq!(consent.unwrap().scopes, ["openid"]);
    // errors in our shape, naming the parameter
    let r = send(
        fields(&c, "http://127.0.0.1:4321/other", "openid", &challenge),
        token.clone(),
    )
    .await;
    r.expect_error(422, "validation_failed");
    assert!(
        r.json()["errors"]["redirect_uri"].is_array(),
        "{}",
        r.text()
    );
    let r = send(
        fields(&c, "http://127.0.0.1/cb", "openid admin", &challenge),
        token.clone(),
    )
    .await;
    assert!(r.json()["errors"]["scope"].is_array(), "{}", r.text());
    let r = send(
        fields(&c, "http://127.0.0.1/cb", "openid", "short"),
        token.clone(),
    )
    .await;
    assert!(
        r.json()["errors"]["code_challenge"].is_array(),
        "{}",
        r.text()
    );
    let mut plain = fields(&c, "http://127.0.0.1/cb", "openid", &challenge);
    plain[4].1 = "plain".into();
    let r = send(plain, token.clone()).await;
    assert!(
        r.json()["errors"]["code_challenge"].is_array(),
        "{}",
        r.text()
    );
    let mut long_state = fields(&c, "http://127.0.0.1/cb", "openid", &challenge);
    long_state[5].1 = "s".repeat(2049);
    let r = send(long_state, token.clone()).await;
    assert!(r.json()["errors"]["state"].is_array(), "{}", r.text());
    let r = send(
        fields(
            &uuid::Uuid::new_v4().to_string(),
            "http://127.0.0.1/cb",
            "openid",
            &challenge,
        ),
        token.clone(),
    )
    .await;
    r.expect_error(404, "not_found");
    let r = send(
        fields("nope", "http://127.0.0.1/cb", "openid", &challenge),
        token.clone(),
    )
    .await;
    r.expect_error(404, "not_found");
    let r = send(
        fields(&c, "http://127.0.0.1/cb", "openid", &challenge),
        None,
    )
    .await;
    r.expect_error(401, "unauthorized");
    let bob = f.app.incomplete_user("bob").await;
    let r = send(
        fields(&c, "http://127.0.0.1/cb", "openid", &challenge),
        Some(bob.token),
    )
    .await;
    r.expect_error(403, "profile_incomplete");
    // a device gets its own tokens with client_credentials, not a code: 403, and its
    // refused call stores no consent
    let device = f.app.pending_device(&f.user, "phone").await;
    f.app.approve(&f.user, &device).await;
    let r = send(
        fields(&c, "http://127.0.0.1/cb", "openid", &challenge),
        Some(device.user.token.clone()),
    )
    .await;
    r.expect_error(403, "forbidden");
    let consent = f
        .store
        .get_consent(device.device_id.parse().unwrap(), public)
        .await
        .unwrap();
    assert!(consent.is_none(), "a refused call stored a consent");
}
