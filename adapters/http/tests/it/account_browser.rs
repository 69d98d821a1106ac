//! The account console in a real browser (headless Chromium over WebDriver), as a person
//! uses it: sign in, open "add a device", and a new phone reads the QR code off the
//! screen (a screenshot, decoded with `rqrr`), onboards over the API and is approved on
//! the devices page; a session revoked on the sessions page answers 401 over the API, and
//! "sign out everywhere" ends them all, this browser's included; a weak new password shows
//! zxcvbn's advice; five wrong passwords, then the page says when to try again; the pages
//! refuse to be framed and carry the contract's headers. Every page visited is checked for
//! labels, `lang`, heading order and text alternatives.
//!
//! With `TESSERA_SCREENSHOT_DIR` set, every page is saved there as PNG at phone
//! (390×844) and desktop (1280×900) sizes.

#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use fantoccini::Locator;
use tessera_core::{KeyPair, OsRandom};
use tessera_testkit::app::{User, password};
use tessera_testkit::browser::{Browser, Recorder};
use uuid::Uuid;

use crate::browser_fixture::{
    Site, alert, attribute, click, find, frame_source, open, screenshot, text, type_into,
};

/// What a person relying on assistive technology would trip over on the current page:
/// an input without a label, no `lang`, not exactly one `h1`, a skipped heading level, an
/// image without a text alternative.
const ACCESSIBILITY: &str = r"
const problems = [];
if (!document.documentElement.lang) problems.push('no lang');
for (const i of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  if (!i.labels || i.labels.length === 0) problems.push('unlabelled input ' + (i.id || i.name));
}
const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
if (headings.filter(h => h.tagName === 'H1').length !== 1) problems.push('not one h1');
let last = 0;
for (const h of headings) {
  const level = Number(h.tagName[1]);
  if (level > last + 1) problems.push('heading skips to ' + h.tagName + ': ' + h.textContent);
  last = level;
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) problems.push('img without alt');
}
for (const svg of document.querySelectorAll('svg')) {
  const labelled = svg.closest('[role=img][aria-label]');
  if (!labelled || !labelled.getAttribute('aria-label').trim()) problems.push('svg without a text alternative');
}
for (const b of document.querySelectorAll('button, a')) {
  if (!(b.getAttribute('aria-label') || b.textContent).trim()) problems.push('a control without a name');
}
return problems;
";

/// Check the current page with [`ACCESSIBILITY`].
async fn accessible(b: &Browser, page: &str) {
    let problems = b
        .client
        .execute(ACCESSIBILITY, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{page}: {e}"));
    assert_eq!(problems, serde_json::json!([]), "{page}");
}

/// Look at the page: the accessibility check, then the screenshots.
async fn look(b: &Browser, name: &str) {
    accessible(b, name).await;
    screenshot(b, name).await;
}

/// Sign in on the console's sign-in page at `site.base/account`.
async fn sign_in(b: &Browser, site: &Site, user: &str, pw: &str) {
    b.client
        .goto(&format!("{}/account", site.base))
        .await
        .unwrap();
    type_into(b, "username", user).await;
    type_into(b, "password", pw).await;
    click(b, "button.primary").await;
}

/// The text of the page's status box (what was done).
async fn notice(b: &Browser) -> String {
    text(b, ".notice").await
}

/// The QR code in a PNG screenshot: its text.
fn read_qr(png_bytes: &[u8]) -> String {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let luma = |x: usize, y: usize| {
        let p = &buf[(y * w + x) * channels..];
        if channels < 3 {
            p[0]
        } else {
            ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the screen");
    grids[0].decode().unwrap().1
}

/// A new device onboards over the API with `qr_token`, up to `pending`.
async fn onboard(site: &Site, qr_token: &str, name: &str) -> User {
    let pw = password(name);
    let r = site
        .post(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", qr_token),
                ("username", name),
                ("password", &pw),
                ("deviceName", "Phone of Alice"),
            ],
        )
        .await;
    let profile_id = site.command_result(&r).await["profileId"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = authenticate(site, name, &pw).await;
    let keys = KeyPair::generate(&OsRandom);
    let r = site
        .post(
            "/public-key/register-public-key",
            Some(&token),
            &[
                ("publicKey", &keys.public().to_privicore_hex()),
                (
                    "signature",
                    &keys.prove(Uuid::parse_str(&profile_id).unwrap()),
                ),
            ],
        )
        .await;
    assert_eq!(r.status().as_u16(), 202);
    User {
        name: name.to_owned(),
        password: pw,
        token,
        profile_id,
        keys: Some(keys),
    }
}

/// `POST /profile/authenticate` over TCP: the token.
async fn authenticate(site: &Site, name: &str, pw: &str) -> String {
    let r = site
        .post(
            "/profile/authenticate",
            None,
            &[("username", name), ("password", pw)],
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let j: serde_json::Value = r.json().await.unwrap();
    j["authorizationToken"].as_str().unwrap().to_owned()
}

/// The status of an active-only route for `token`.
async fn active_only(site: &Site, token: &str) -> u16 {
    site.get("/public-key/retrieve-public-key", Some(token))
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_adds_a_phone_from_the_qr_code_on_screen() {
    let Some((b, site, alice)) = open("account_browser").await else {
        return;
    };
    b.client
        .goto(&format!("{}/account", site.base))
        .await
        .unwrap();
    find(&b, Locator::Id("username")).await;
    look(&b, "account-sign-in").await;
    sign_in(&b, &site, "alice", &alice.password).await;
    assert_eq!(notice(&b).await, "You are signed in.");
    look(&b, "account-profile").await;
    // to the devices page, then "add a device", as a person clicks
    click(&b, "nav a[href=\"/account/devices\"]").await;
    find(&b, Locator::Css("a[href=\"/account/devices/add\"]"))
        .await
        .click()
        .await
        .unwrap();
    let shown = text(&b, "code.uri").await;
    let label = attribute(&b, ".qr-image[role=\"img\"]", "aria-label").await;
    assert!(label.starts_with("QR code"), "{label}");
    let caption = text(&b, "figcaption").await;
    assert!(
        caption.contains("Expires at") && caption.contains("in 5 minutes"),
        "{caption}"
    );
    // the phone reads the code off the screen
    let png = b.client.screenshot().await.unwrap();
    let uri = read_qr(&png);
    println!("decoded QR URI: {uri}");
    assert_eq!(uri, shown, "the code says what the page writes beside it");
    let server = format!(
        "&server={}",
        site.base.replace(':', "%3A").replace('/', "%2F")
    );
    assert!(
        uri.starts_with("tessera://onboard?token=tsq_") && uri.ends_with(&server),
        "{uri}"
    );
    look(&b, "account-add-device").await;
    let qr_token = uri
        .trim_start_matches("tessera://onboard?token=")
        .split('&')
        .next()
        .unwrap();
    let phone = onboard(&site, qr_token, "alices-phone").await;
    assert_eq!(active_only(&site, &phone.token).await, 403, "pending");
    // reload the devices page: the phone waits there; approve it
    b.client
        .goto(&format!("{}/account/devices", site.base))
        .await
        .unwrap();
    let item = text(&b, "ul.items li").await;
    assert!(
        item.contains("Phone of Alice") && item.contains("pending"),
        "{item}"
    );
    look(&b, "account-devices-pending").await;
    click(&b, "button[aria-label=\"Approve Phone of Alice\"]").await;
    assert!(notice(&b).await.contains("The device is approved."));
    assert_eq!(active_only(&site, &phone.token).await, 200, "approved");
    look(&b, "account-devices").await;
    // remove asks first
    click(&b, "a[aria-label=\"Remove Phone of Alice\"]").await;
    let question = text(&b, "p.question").await;
    assert!(
        question.contains("Remove the device “Phone of Alice”?"),
        "{question}"
    );
    look(&b, "account-confirm-remove").await;
    click(&b, "a.button[href=\"/account/devices\"]").await;
    assert_eq!(active_only(&site, &phone.token).await, 200, "cancelled");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_passwords_throttling_and_framing_in_the_browser() {
    let Some((b, site, alice)) = open("account_browser").await else {
        return;
    };
    let api = authenticate(&site, "alice", &alice.password).await;
    sign_in(&b, &site, "alice", &alice.password).await;
    notice(&b).await;
    // the sessions page: revoke one API token; it answers 401 over the API
    click(&b, "nav a[href=\"/account/sessions\"]").await;
    look(&b, "account-sessions").await;
    let revoke = b
        .client
        .find_all(Locator::Css("button[aria-label^=\"Revoke: API token\"]"))
        .await
        .unwrap();
    assert_eq!(revoke.len(), 2, "alice's fixture token and `api`");
    revoke[1].click().await.unwrap();
    assert!(notice(&b).await.contains("The session has ended."));
    let statuses = [
        active_only(&site, &alice.token).await,
        active_only(&site, &api).await,
    ];
    assert!(
        statuses.contains(&401) && statuses.contains(&200),
        "{statuses:?}"
    );
    let left = if statuses[0] == 200 {
        &alice.token
    } else {
        &api
    };
    // a weak new password: zxcvbn's advice beside the field
    click(&b, "nav a[href=\"/account/password\"]").await;
    type_into(&b, "current_password", &alice.password).await;
    type_into(&b, "new_password", "passwordpassword1").await;
    type_into(&b, "new_password_repeat", "passwordpassword1").await;
    click(&b, "button.primary").await;
    let advice = find(&b, Locator::Id("password-problem"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        advice.contains("The new password is too easy to guess."),
        "{advice}"
    );
    let lines = b
        .client
        .find_all(Locator::Css("#password-problem li"))
        .await
        .unwrap();
    assert!(!lines.is_empty(), "zxcvbn's advice: {advice}");
    let described = attribute(&b, "#new_password", "aria-describedby").await;
    assert!(described.contains("password-problem"), "{described}");
    look(&b, "account-password-weak").await;
    click(&b, "nav a[href=\"/account/applications\"]").await;
    assert!(
        text(&b, "main")
            .await
            .contains("No application has access to your account.")
    );
    look(&b, "account-applications").await;
    // sign out everywhere: confirmed, then every session ends, this browser's included
    click(&b, "nav a[href=\"/account/sessions\"]").await;
    click(&b, "a[href=\"/account/sessions/sign-out-everywhere\"]").await;
    look(&b, "account-confirm-everywhere").await;
    click(&b, "button.danger").await;
    assert!(
        notice(&b)
            .await
            .contains("Every session of your profile has ended")
    );
    find(&b, Locator::Id("username")).await;
    assert_eq!(active_only(&site, left).await, 401);
    b.client
        .goto(&format!("{}/account/sessions", site.base))
        .await
        .unwrap();
    find(&b, Locator::Id("username")).await;
    let h1 = text(&b, "h1").await;
    assert_eq!(h1, "Sign in", "the browser session ended too");
    // five wrong passwords, then the page says when to try again
    for n in 0..5 {
        sign_in(&b, &site, "alice", &format!("wrong password {n}")).await;
        assert!(
            alert(&b)
                .await
                .contains("The username or password is wrong.")
        );
    }
    sign_in(&b, &site, "alice", &alice.password).await;
    let text = alert(&b).await;
    assert!(
        text.contains("Too many failed attempts for this username.")
            && text.contains("Try again in"),
        "{text}"
    );
    look(&b, "account-sign-in-throttled").await;
    // the headers of the contract, and a frame of another origin stays empty
    let r = site.get("/account", None).await;
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"));
    let framing = Recorder::start(format!(
        "<!doctype html><html lang=\"en\"><title>Framing</title><iframe src=\"{}/account\"></iframe>",
        site.base
    ))
    .await;
    let framed = frame_source(&b, &format!("{}/frames", framing.base), 0).await;
    assert!(
        !framed.contains("id=\"password\"") && !framed.contains("Sign in"),
        "the account page rendered in a frame: {framed}"
    );
    b.close().await;
}
