//! The account console through the router (a cookie-keeping [`PageClient`]): sign-in and
//! its throttle, CSRF, the profile page of each kind of profile, sessions with revoke and
//! "sign out everywhere", devices with approve / reject / remove behind confirmations,
//! "add a device", connected applications, change password with zxcvbn's advice, and the
//! ways a page gets signed out (revoked, password changed elsewhere, device removed).

#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use std::sync::Arc;

use tessera_core::store::{ConsentRecord, OAuthStore as _};
use tessera_core::{MemoryStore, Timestamp, TokenDigest};
use tessera_testkit::app::{Reply, TestApp, User, password};
use tessera_testkit::pages::{ClientSpec, PageClient, hidden, location, register_client};
use uuid::Uuid;

use crate::oauth_fixture::assert_page_headers;

const ISSUER: &str = "https://id.example";
const SESSION: &str = "__Host-tessera_session";

/// An app with an https issuer and an active user `alice`.
struct Site {
    app: TestApp,
    store: Arc<MemoryStore>,
    alice: User,
}

impl Site {
    async fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let app = TestApp::with_config(store.clone(), |c| ISSUER.clone_into(&mut c.oauth.issuer));
        let alice = app.active_user("alice").await;
        Self { app, store, alice }
    }
}

/// The body of a page answered with `status`, after the checks every page passes: HTML,
/// the security headers, no script, no inline style, a `lang`, labelled inputs.
#[track_caller]
fn page(r: &Reply, status: u16) -> String {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    assert_page_headers(r);
    let html = r.text();
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "{html}"
    );
    assert!(html.contains("<html lang=\"en\">"));
    for (at, _) in html.match_indices("<input ") {
        let tag = &html[at..at + html[at..].find('>').unwrap()];
        if tag.contains("type=\"hidden\"") {
            continue;
        }
        let id = tag
            .split("id=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(html.contains(&format!("<label for=\"{id}\">")), "{tag}");
    }
    html
}

/// A 303 to `want` (a path with its flash); its `Location`.
#[track_caller]
fn see_other(r: &Reply, want: &str) -> String {
    assert_eq!(r.status.as_u16(), 303, "{}", r.text());
    let loc = location(r);
    assert_eq!(loc, want);
    assert_eq!(r.headers["x-frame-options"], "DENY");
    loc
}

const DEVICES: &str = "/account/devices";

/// Sign `user` in with `pw` on the sign-in page: the sign-in form's reply.
async fn sign_in(b: &mut PageClient<'_>, user: &str, pw: &str) -> Reply {
    let html = page(&b.get("/account").await, 200);
    assert!(html.contains("<h1>Sign in</h1>"), "{html}");
    let csrf = hidden(&html, "csrf");
    b.post(
        "/account/sign-in",
        &[("csrf", &csrf), ("username", user), ("password", pw)],
    )
    .await
}

/// Sign in and land on the profile page: its HTML.
async fn signed_in(b: &mut PageClient<'_>, user: &User) -> String {
    let r = sign_in(b, &user.name, &user.password).await;
    let loc = see_other(&r, "/account?done=signed-in");
    page(&b.get(&loc).await, 200)
}

/// POST the form of page `path` (its CSRF token) with `fields`.
async fn submit(
    b: &mut PageClient<'_>,
    path: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> Reply {
    let html = page(&b.get(path).await, 200);
    let csrf = hidden(&html, "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    let owned: Vec<(String, String)> = all
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    b.post_owned(action, &owned).await
}

/// The form of page `from` posted to `action`: the page its 303 leads to, which must be
/// `from` with flash `flash`.
async fn act(
    b: &mut PageClient<'_>,
    from: &str,
    action: &str,
    fields: &[(&str, &str)],
    flash: &str,
) -> String {
    let r = submit(b, from, action, fields).await;
    let loc = see_other(&r, &format!("{from}{flash}"));
    page(&b.get(&loc).await, 200)
}

/// The handle of the session whose line contains `label`.
fn handle_of(html: &str, label: &str) -> String {
    let at = html
        .find(label)
        .unwrap_or_else(|| panic!("{label}: {html}"));
    hidden(&html[at..], "session")
}

/// `html` with minijinja's escapes undone.
fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The change-password form's fields.
fn change(current: String, new: String, repeat: String) -> [(&'static str, String); 3] {
    [
        ("current_password", current),
        ("new_password", new),
        ("new_password_repeat", repeat),
    ]
}

fn as_refs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The status of an active-only route for `token`.
async fn active_only(app: &TestApp, token: &str) -> u16 {
    app.get("/public-key/retrieve-public-key", Some(token))
        .await
        .status
        .as_u16()
}

/// Whether `token` still works over the API.
async fn works(app: &TestApp, token: &str) -> bool {
    app.get("/profile/retrieve-profile-id", Some(token))
        .await
        .status
        .is_success()
}

#[tokio::test]
async fn sign_in_profile_and_sign_out() {
    let site = Site::new().await;
    let mut b = PageClient::new(&site.app);
    // signed out: the sign-in page, with the binding cookie its CSRF token is bound to
    let r = b.get("/account").await;
    let html = page(&r, 200);
    for needle in [
        "action=\"/account/sign-in\"",
        "autocomplete=\"current-password\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    let binding = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        binding.starts_with("__Host-tessera_binding=")
            && binding.ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure"),
        "{binding}"
    );
    // a wrong password: back to the page, saying so
    let r = sign_in(&mut b, "alice", "not the password at all").await;
    let loc = see_other(&r, "/account?problem=wrong-credentials");
    assert!(page(&b.get(&loc).await, 200).contains("The username or password is wrong."));
    // the right one: the session cookie, then the profile
    let r = sign_in(&mut b, "Alice", &site.alice.password).await;
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("{SESSION}=tsb_")), "{cookie}");
    assert!(
        cookie.contains("HttpOnly; SameSite=Lax; Secure"),
        "{cookie}"
    );
    let html = page(&b.get(&location(&r)).await, 200);
    let keys = site.alice.keys.as_ref().unwrap();
    for needle in [
        "You are signed in.",
        "Signed in as <strong>alice</strong>",
        &site.alice.profile_id,
        "<dd>user</dd>",
        "state-active",
        &keys.public().fingerprint(),
        "<h2>Directories</h2>",
        "You belong to no directories.",
        "aria-current=\"page\">Profile</a>",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    // a directory of alice's shows on the profile page, with her role
    let me = site.app.engine.verify(&site.alice.token).await.unwrap();
    let dir = site
        .app
        .engine
        .register_directory(&me, "Acme Ltd", "acme-console")
        .await
        .unwrap()
        .value;
    let html = page(&b.get("/account").await, 200);
    for needle in [
        "acme-console <span class=\"badge\">owner</span>",
        &dir.hyphenated().to_string(),
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    assert!(!html.contains("You belong to no directories."), "{html}");
    // sign out: the cookie goes, the session ends
    let token = b.cookies[SESSION].clone();
    let r = submit(&mut b, "/account", "/account/sign-out", &[]).await;
    see_other(&r, "/account?done=signed-out");
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(!b.cookies.contains_key(SESSION));
    assert!(
        site.app.engine.account_session(&token).await.is_err(),
        "the session ended"
    );
    let html = page(&b.get("/account?done=signed-out").await, 200);
    assert!(html.contains("You are signed out.") && html.contains("<h1>Sign in</h1>"));
}

#[tokio::test]
async fn forms_without_their_csrf_token_do_nothing() {
    let site = Site::new().await;
    let mut b = PageClient::new(&site.app);
    // the sign-in form: a wrong token, or no binding cookie
    b.get("/account").await;
    let r = b
        .post(
            "/account/sign-in",
            &[
                ("csrf", "forged"),
                ("username", "alice"),
                ("password", &site.alice.password),
            ],
        )
        .await;
    see_other(&r, "/account?problem=form-expired");
    assert!(!b.cookies.contains_key(SESSION));
    let mut stranger = PageClient::new(&site.app);
    let html = page(&b.get("/account").await, 200);
    let r = stranger
        .post(
            "/account/sign-in",
            &[
                ("csrf", &hidden(&html, "csrf")),
                ("username", "alice"),
                ("password", &site.alice.password),
            ],
        )
        .await;
    see_other(&r, "/account?problem=form-expired");
    // a signed-in form: the token of another session does not do
    signed_in(&mut b, &site.alice).await;
    let mut other = PageClient::new(&site.app);
    let other_csrf = hidden(&signed_in(&mut other, &site.alice).await, "csrf");
    // … and a POST without a session goes to the sign-in page
    for (client, want) in [
        (&mut b, "/account/sessions?problem=form-expired"),
        (&mut stranger, "/account?problem=session-ended"),
    ] {
        let r = client
            .post(
                "/account/sessions/sign-out-everywhere",
                &[("csrf", &other_csrf)],
            )
            .await;
        see_other(&r, want);
        assert!(works(&site.app, &site.alice.token).await);
    }
}

#[tokio::test]
async fn five_wrong_passwords_then_the_page_says_when_to_try_again() {
    let site = Site::new().await;
    let mut b = PageClient::new(&site.app);
    for n in 0..5 {
        let r = sign_in(&mut b, "alice", &format!("wrong password number {n}")).await;
        see_other(&r, "/account?problem=wrong-credentials");
    }
    let r = sign_in(&mut b, "alice", &site.alice.password).await;
    let loc = see_other(&r, "/account?problem=throttled&wait=1");
    let html = page(&b.get(&loc).await, 200);
    assert!(
        html.contains("Too many failed attempts for this username.")
            && html.contains("Try again in 1 second."),
        "{html}"
    );
    assert!(!b.cookies.contains_key(SESSION));
    // the OAuth login counts the same failures: one throttle per username
    let r = site
        .app
        .post(
            "/profile/authenticate",
            None,
            &[("username", "alice"), ("password", &site.alice.password)],
        )
        .await;
    assert_eq!(r.status.as_u16(), 429);
}

#[tokio::test]
async fn sessions_revoke_one_then_everywhere() {
    let site = Site::new().await;
    let app = &site.app;
    let api = app.login("alice", &site.alice.password).await;
    let (access, refresh, _) = app.v1_login("alice", &site.alice.password).await;
    let mut b = PageClient::new(app);
    signed_in(&mut b, &site.alice).await;
    let html = page(&b.get("/account/sessions").await, 200);
    for needle in [
        "Browser session",
        "this browser",
        "API token",
        "Refresh token of an app",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    assert_eq!(html.matches("name=\"session\"").count(), 5, "{html}");
    // handles, not digests
    for t in [&api, &access, &refresh, &site.alice.token] {
        let d = TokenDigest::of(t).0;
        assert!(!html.contains(&hex::encode(d)));
        assert!(!html.contains(&base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            d
        )));
    }
    // revoke the newest API token: it answers 401, the others work
    let handle = handle_of(&html, "<p class=\"item-title\">API token");
    let revoke = [("session", handle.as_str())];
    let html = act(
        &mut b,
        "/account/sessions",
        "/account/sessions/revoke",
        &revoke,
        "?done=session-revoked",
    )
    .await;
    assert!(html.contains("The session has ended."));
    assert_eq!(html.matches("name=\"session\"").count(), 4);
    let still = [
        works(app, &api).await,
        works(app, &access).await,
        works(app, &site.alice.token).await,
    ];
    assert_eq!(still.iter().filter(|w| !**w).count(), 1, "{still:?}");
    // a stale handle: nothing
    let revoke = [("session", handle.as_str())];
    act(
        &mut b,
        "/account/sessions",
        "/account/sessions/revoke",
        &revoke,
        "?problem=not-found",
    )
    .await;
    // sign out everywhere: confirmed first, then every token ends, this browser's too
    let html = page(&b.get("/account/sessions/sign-out-everywhere").await, 200);
    assert!(
        html.contains("End every session of your profile?"),
        "{html}"
    );
    assert!(unescape(&html).contains("action=\"/account/sessions/sign-out-everywhere\""));
    let r = submit(
        &mut b,
        "/account/sessions/sign-out-everywhere",
        "/account/sessions/sign-out-everywhere",
        &[],
    )
    .await;
    let loc = see_other(&r, "/account?done=signed-out-everywhere");
    for t in [&api, &access, &site.alice.token] {
        assert!(!works(app, t).await);
    }
    let r = app
        .post_json(
            "/v1/token-refresh",
            &serde_json::json!({"username": "alice", "refresh_token": refresh}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 401);
    let html = page(&b.get(&loc).await, 200);
    assert!(html.contains("<h1>Sign in</h1>") && unescape(&html).contains("this browser's too"));
}

#[tokio::test]
async fn a_revoked_session_or_a_password_change_elsewhere_signs_the_page_out() {
    let site = Site::new().await;
    let mut b = PageClient::new(&site.app);
    signed_in(&mut b, &site.alice).await;
    // revoked from another browser
    let mut other = PageClient::new(&site.app);
    signed_in(&mut other, &site.alice).await;
    let html = page(&other.get("/account/sessions").await, 200);
    let handle = handle_of(&html, "Browser session</p>");
    let revoke = [("session", handle.as_str())];
    act(
        &mut other,
        "/account/sessions",
        "/account/sessions/revoke",
        &revoke,
        "?done=session-revoked",
    )
    .await;
    let r = b.get("/account/devices").await;
    let html = page(&r, 200);
    assert!(
        html.contains("Your session has ended. Sign in again.")
            && html.contains("<h1>Sign in</h1>")
    );
    assert!(
        r.headers["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // a password change over the API ends the session too
    signed_in(&mut b, &site.alice).await;
    let r = site
        .app
        .post(
            "/profile/change-password",
            Some(&site.alice.token),
            &[
                ("currentPassword", &site.alice.password),
                ("newPassword", &password("changed elsewhere")),
            ],
        )
        .await;
    r.command_id();
    assert!(page(&b.get("/account").await, 200).contains("Your session has ended."));
}

#[tokio::test]
async fn devices_add_approve_reject_remove() {
    let site = Site::new().await;
    let app = &site.app;
    let mut b = PageClient::new(app);
    signed_in(&mut b, &site.alice).await;
    let html = page(&b.get("/account/devices").await, 200);
    assert!(html.contains("No devices yet.") && html.contains("href=\"/account/devices/add\""));
    // add a device: the QR code inline, its expiry, the URI as text
    let html = page(&b.get("/account/devices/add").await, 200);
    assert!(
        html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{html}"
    );
    assert!(!html.contains("<?xml"));
    assert!(html.contains("role=\"img\" aria-label=\"QR code of the onboarding link"));
    assert!(html.contains("in 5 minutes"), "{html}");
    let text = unescape(&html);
    let at = text.find("tessera://onboard?token=").unwrap();
    let uri = &text[at..at + text[at..].find('<').unwrap()];
    let qr = uri
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    assert!(qr.starts_with("tsq_"));
    // the device redeems it over the API; it is pending on the page
    let pw = password("phone");
    let r = app
        .post(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", qr),
                ("username", "phone"),
                ("password", &pw),
                ("deviceName", "Phone <1>"),
            ],
        )
        .await;
    r.command_id();
    let mut phone = User {
        name: "phone".into(),
        token: app.login("phone", &pw).await,
        password: pw,
        profile_id: String::new(),
        keys: None,
    };
    phone.profile_id = app.profile_id(&phone.token).await;
    app.register_key(&mut phone).await.command_id();
    let html = page(&b.get("/account/devices").await, 200);
    assert!(
        html.contains("Phone &lt;1&gt;") && html.contains("state-pending"),
        "{html}"
    );
    let device = hidden(&html, "device");
    assert_eq!(active_only(app, &phone.token).await, 403);
    let approve = [("device", device.as_str())];
    let html = act(
        &mut b,
        DEVICES,
        "/account/devices/approve",
        &approve,
        "?done=device-approved",
    )
    .await;
    assert!(html.contains("state-active"));
    assert_eq!(active_only(app, &phone.token).await, 200);
    // approving again: the engine's refusal, named
    let html = act(
        &mut b,
        DEVICES,
        "/account/devices/approve",
        &approve,
        "?problem=device-state",
    )
    .await;
    assert!(html.contains("does not allow that"));
    // the device signs in to the console: its own state only
    let mut pb = PageClient::new(app);
    let html = signed_in(&mut pb, &phone).await;
    assert!(html.contains("<h1>This device</h1>") && html.contains("This device is approved"));
    assert!(html.contains(&site.alice.profile_id) && !html.contains("<nav"));
    let r = pb.get("/account/devices").await;
    see_other(&r, "/account?problem=not-allowed");
    // reject: confirmed first
    let html = page(
        &b.get(&format!("/account/devices/reject?device={device}"))
            .await,
        200,
    );
    assert!(
        html.contains("Reject the device “Phone &lt;1&gt;”?"),
        "{html}"
    );
    let r = submit(
        &mut b,
        &format!("/account/devices/reject?device={device}"),
        "/account/devices/reject",
        &[("device", &device)],
    )
    .await;
    see_other(&r, "/account/devices?done=device-rejected");
    assert!(!works(app, &phone.token).await);
    // the rejected device can still sign in to see its state
    let html = signed_in(&mut pb, &phone).await;
    assert!(html.contains("The owner rejected this device."), "{html}");
    // remove: confirmed, and the device's page is signed out
    let r = submit(
        &mut b,
        &format!("/account/devices/remove?device={device}"),
        "/account/devices/remove",
        &[("device", &device)],
    )
    .await;
    see_other(&r, "/account/devices?done=device-removed");
    assert!(page(&b.get("/account/devices").await, 200).contains("No devices yet."));
    assert!(page(&pb.get("/account").await, 200).contains("Your session has ended."));
    // unknown devices
    let r = b
        .get(&format!(
            "/account/devices/remove?device={}",
            Uuid::new_v4()
        ))
        .await;
    see_other(&r, "/account/devices?problem=not-found");
    let r = submit(
        &mut b,
        "/account/devices",
        "/account/devices/remove",
        &[("device", "x")],
    )
    .await;
    see_other(&r, "/account/devices?problem=not-found");
}

#[tokio::test]
async fn an_incomplete_profile_is_shown_how_to_register_its_key() {
    let site = Site::new().await;
    let bob = site.app.incomplete_user("bob").await;
    let mut b = PageClient::new(&site.app);
    let html = signed_in(&mut b, &bob).await;
    for needle in [
        "state-incomplete",
        "No public key registered",
        "<h2>Register your public key</h2>",
        &format!("tessera-register-key:{}:", bob.profile_id),
        "/public-key/register-public-key",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    assert!(!html.contains("<nav") && !html.contains("Directories"));
    see_other(
        &b.get("/account/devices/add").await,
        "/account?problem=not-allowed",
    );
    see_other(
        &b.get("/account/sessions").await,
        "/account?problem=not-allowed",
    );
    let html = page(&b.get("/account?problem=not-allowed").await, 200);
    assert!(html.contains("cannot do that in its present state"));
    // a temporary password is not a session
    let carol = password("temporary");
    site.app
        .engine
        .create_user_with_temporary_password("carol", &carol)
        .await
        .unwrap();
    let r = sign_in(&mut PageClient::new(&site.app), "carol", &carol).await;
    see_other(&r, "/account?problem=temporary-password");
}

#[tokio::test]
async fn connected_applications_and_withdrawing_one() {
    let site = Site::new().await;
    let alice: Uuid = site.alice.profile_id.parse().unwrap();
    let client = register_client(
        &*site.store,
        alice,
        ClientSpec::confidential("https://app.example.com/cb"),
    )
    .await;
    site.store
        .put_consent(&ConsentRecord {
            profile_id: alice,
            client_id: client,
            scopes: vec!["openid".into(), "email".into()],
            granted_at: Timestamp(1_771_688_024),
        })
        .await
        .unwrap();
    let mut b = PageClient::new(&site.app);
    signed_in(&mut b, &site.alice).await;
    let html = page(&b.get("/account/applications").await, 200);
    for needle in [
        "Example App",
        "See your email address",
        "2026-02-21 15:33 UTC",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    let confirm = format!("/account/applications/revoke?client={client}");
    assert!(html.contains(&confirm));
    let html = page(&b.get(&confirm).await, 200);
    assert!(html.contains("Withdraw the access of “Example App”?"));
    let r = submit(
        &mut b,
        &confirm,
        "/account/applications/revoke",
        &[("client", &client.to_string())],
    )
    .await;
    let loc = see_other(&r, "/account/applications?done=consent-revoked");
    let html = page(&b.get(&loc).await, 200);
    assert!(
        html.contains("No application has access to your account."),
        "{html}"
    );
    assert!(
        site.store
            .get_consent(alice, client)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn change_password_with_the_checkers_advice_beside_the_field() {
    let site = Site::new().await;
    let app = &site.app;
    let mut b = PageClient::new(app);
    signed_in(&mut b, &site.alice).await;
    let pw = site.alice.password.clone();
    // weak: zxcvbn's advice, beside the new password field
    let fields = change(
        pw.clone(),
        "passwordpassword1".into(),
        "passwordpassword1".into(),
    );
    let refs = as_refs(&fields);
    let r = submit(&mut b, "/account/password", "/account/password", &refs).await;
    assert_eq!(r.status.as_u16(), 303);
    let loc = location(&r);
    assert!(
        loc.starts_with("/account/password?problem=weak-password&advice="),
        "{loc}"
    );
    let html = page(&b.get(&loc).await, 200);
    let field = html.find("id=\"new_password\"").unwrap();
    let problem = html.find("id=\"password-problem\"").unwrap();
    let repeat = html.find("id=\"new_password_repeat\"").unwrap();
    assert!(
        field < problem && problem < repeat,
        "beside the field: {html}"
    );
    assert!(html.contains("The new password is too easy to guess.") && html.contains("<li>"));
    assert!(html.contains("aria-describedby=\"new-password-hint password-problem\""));
    // the repetition differs; the current password is wrong
    let fields = change(pw.clone(), password("new one"), password("other one"));
    let refs = as_refs(&fields);
    see_other(
        &submit(&mut b, "/account/password", "/account/password", &refs).await,
        "/account/password?problem=passwords-differ",
    );
    let fields = change(
        "not my password at all".into(),
        password("new one"),
        password("new one"),
    );
    let refs = as_refs(&fields);
    let loc = see_other(
        &submit(&mut b, "/account/password", "/account/password", &refs).await,
        "/account/password?problem=wrong-password",
    );
    let html = page(&b.get(&loc).await, 200);
    assert!(
        html.contains("id=\"current-password-problem\"")
            && html.contains("The current password is wrong.")
    );
    // the change: every other session ends, this one stays
    let api = app.login("alice", &pw).await;
    let fields = change(pw.clone(), password("new one"), password("new one"));
    let refs = as_refs(&fields);
    let loc = see_other(
        &submit(&mut b, "/account/password", "/account/password", &refs).await,
        "/account/password?done=password-changed",
    );
    assert!(page(&b.get(&loc).await, 200).contains("Your password is changed."));
    assert!(!works(app, &api).await && !works(app, &site.alice.token).await);
    app.login("alice", &password("new one")).await;
    assert!(page(&b.get("/account").await, 200).contains("Signed in as"));
}

#[tokio::test]
async fn every_page_renders_signed_in_and_signed_out() {
    let site = Site::new().await;
    let mut b = PageClient::new(&site.app);
    let pages = [
        "/account",
        "/account/sessions",
        "/account/sessions/sign-out-everywhere",
        "/account/devices",
        "/account/devices/add",
        "/account/applications",
        "/account/password",
    ];
    for p in pages {
        let html = page(&b.get(p).await, 200);
        assert!(html.contains("<h1>Sign in</h1>"), "{p}");
    }
    signed_in(&mut b, &site.alice).await;
    for p in pages {
        let html = page(&b.get(p).await, 200);
        assert!(
            html.contains("Signed in as <strong>alice</strong>"),
            "{p}: {html}"
        );
        // headings in order: one h1, then h2s
        let h1 = html.matches("<h1>").count();
        assert_eq!(h1, 1, "{p}");
        assert!(!html.contains("<h3") && !html.contains("<h4"), "{p}");
    }
    // the stylesheet carries the account pages' rules
    let css = site.app.get("/assets/tessera.css", None).await.text();
    assert!(css.contains("main.wide") && css.contains(".qr-image"));
}

#[tokio::test]
async fn the_sessions_page_names_the_application_of_oauth_tokens() {
    use tessera_core::Clock as _;
    use tessera_core::engine::oauth::{ClientAuth, CodeExchange, CodeRequest};
    let site = Site::new().await;
    let alice: Uuid = site.alice.profile_id.parse().unwrap();
    let client = register_client(
        &*site.store,
        alice,
        ClientSpec::public("https://app.example.com/cb"),
    )
    .await;
    let verifier = "a-verifier-of-forty-three-characters-or-more-0123";
    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        <sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()),
    );
    let issued = site
        .app
        .engine
        .issue_code(
            alice,
            &CodeRequest {
                client_id: client,
                redirect_uri: "https://app.example.com/cb".to_owned(),
                scopes: vec!["openid".into(), "offline_access".into()],
                code_challenge: Some(challenge),
                nonce: None,
                auth_time: site.app.clock.now(),
            },
        )
        .await
        .unwrap();
    let tokens = site
        .app
        .engine
        .exchange_code(
            &ClientAuth {
                client_id: client.to_string(),
                secret: None,
            },
            &CodeExchange {
                code: issued.code.expose(),
                redirect_uri: Some("https://app.example.com/cb"),
                code_verifier: Some(verifier),
            },
        )
        .await
        .unwrap();
    let mut b = PageClient::new(&site.app);
    signed_in(&mut b, &site.alice).await;
    let html = page(&b.get("/account/sessions").await, 200);
    // the OAuth access and refresh tokens, each under the application's name
    let title = "<p class=\"item-title\">Example App";
    assert_eq!(html.matches(title).count(), 2, "{html}");
    assert!(html.contains("Example App: access token"), "{html}");
    // revoking one of them there ends it, and only it
    let handle = handle_of(&html, title);
    let html = act(
        &mut b,
        "/account/sessions",
        "/account/sessions/revoke",
        &[("session", handle.as_str())],
        "?done=session-revoked",
    )
    .await;
    assert!(html.contains("The session has ended."), "{html}");
    assert_eq!(html.matches(title).count(), 1, "{html}");
    let access_lives = site
        .app
        .engine
        .verify_oauth_access(tokens.access_token.expose())
        .await
        .is_ok();
    let access_listed = html.contains("Example App: access token");
    assert_eq!(access_lives, access_listed, "{html}");
}
