//! The account console (API.md "Account console"): `GET /account` and its pages, on the
//! browser session and page rules of the OAuth pages (the templates, the headers and CSP of
//! [`Page`], the session and binding cookies).
//!
//! | route | what | file |
//! |---|---|---|
//! | `GET /account` | signed out: the sign-in page; signed in: the profile (an incomplete one with how to register its key, a device with its own state only), directories | `profile.rs` |
//! | `POST /account/sign-in`, `POST /account/sign-out` | sign in (the OAuth login's password check and throttle), sign out | `sign_in.rs` |
//! | `GET /account/sessions`, `POST /account/sessions/revoke`, `GET`/`POST /account/sessions/sign-out-everywhere` | every live token, revoke one, revoke all (confirmed) | `sessions.rs` |
//! | `GET /account/devices`, `POST /account/devices/approve`, `GET`/`POST /account/devices/reject`, `…/remove` | the devices; reject and remove are confirmed first | `devices.rs` |
//! | `GET /account/devices/add` | a new onboarding QR code, inline SVG, with its expiry and URI | `add_device.rs` |
//! | `GET /account/applications`, `GET`/`POST /account/applications/revoke` | the consents; withdrawing one is confirmed first | `applications.rs` |
//! | `GET`/`POST /account/password` | change password, zxcvbn's advice beside the field | `password.rs` |
//!
//! Every POST carries the `csrf` field ([`tessera_core::Engine::check_account_csrf`]) and
//! answers 303 to a page whose query names the outcome (`pages/flash.rs`). A GET while
//! signed out (no session cookie, or one whose session has ended: revoked, a password
//! change elsewhere, the device removed) shows the sign-in page and drops the cookie; a
//! POST then answers 303 to it. Every action is the engine call of its API route.

mod add_device;
mod applications;
mod devices;
mod password;
mod profile;
mod sessions;
mod sign_in;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tessera_core::engine::account::{AccountProfile, CsrfBinding};
use tessera_core::{Error, Principal, ProfileKind, ProfileState, Timestamp};

use super::super::AppState;
use super::super::form::Form;
use super::super::pages::cookies::{self, BrowserCookies};
use super::super::pages::flash::{self, Flash};
use super::super::pages::{self, Page};
use super::authorize::secure;
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/account", get(profile::page))
        .route("/account/sign-in", post(sign_in::sign_in))
        .route("/account/sign-out", post(sign_in::sign_out))
        .route("/account/sessions", get(sessions::page))
        .route("/account/sessions/revoke", post(sessions::revoke))
        .route(
            "/account/sessions/sign-out-everywhere",
            get(sessions::confirm_everywhere).post(sessions::everywhere),
        )
        .route("/account/devices", get(devices::page))
        .route("/account/devices/approve", post(devices::approve))
        .route(
            "/account/devices/reject",
            get(devices::confirm_reject).post(devices::reject),
        )
        .route(
            "/account/devices/remove",
            get(devices::confirm_remove).post(devices::remove),
        )
        .route("/account/devices/add", get(add_device::page))
        .route("/account/applications", get(applications::page))
        .route(
            "/account/applications/revoke",
            get(applications::confirm).post(applications::revoke),
        )
        .route(
            "/account/password",
            get(password::page).post(password::change),
        )
}

/// The pages of the navigation: path, label. `/account` first (the others are below it).
const NAV: [(&str, &str); 5] = [
    ("/account", "Profile"),
    ("/account/sessions", "Sessions"),
    ("/account/devices", "Devices"),
    ("/account/applications", "Applications"),
    ("/account/password", "Password"),
];

/// The page of the navigation that `path` belongs to.
fn page_of(path: &str) -> &'static str {
    NAV.iter()
        .rev()
        .find(|(href, _)| path == *href || path.starts_with(&format!("{href}/")))
        .map_or("/account", |(href, _)| href)
}

#[derive(Debug, Serialize)]
struct NavItem {
    href: &'static str,
    label: &'static str,
    current: bool,
}

/// What the layout of every signed-in page shows.
#[derive(Debug, Serialize)]
struct Layout {
    username: String,
    /// The CSRF token of the page's forms.
    csrf: String,
    /// Empty for a profile that sees its own state only.
    nav: Vec<NavItem>,
}

/// The signed-in visitor of an account page: its session's principal and profile, the
/// flash of the redirect that led here, the page layout. Signed out, a GET is answered
/// with the sign-in page and a POST with 303 to it.
pub(super) struct SignedIn {
    /// The browser session's principal (token kind `Browser`).
    principal: Principal,
    /// The signed-in profile.
    profile: AccountProfile,
    /// The outcome of the last action, from the query.
    flash: Option<Flash>,
    layout: Layout,
    /// The session cookie's token (for signing out).
    token: String,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("profile_id", &self.principal.profile_id)
            .finish_non_exhaustive()
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let cookies = BrowserCookies::read(&parts.headers, secure(s));
        let flash = Flash::read(parts.uri.query());
        let get = parts.method == Method::GET;
        let Some(token) = cookies.session.clone() else {
            return Err(signed_out(s, get, &cookies, flash, false).await);
        };
        let (principal, profile) = match signed_in(s, &token).await {
            Ok(v) => v,
            Err(e @ Error::Storage(_)) => return Err(pages::failure_page(&e).into_response()),
            Err(_) => return Err(signed_out(s, get, &cookies, flash, true).await),
        };
        let csrf = s
            .engine
            .account_csrf(CsrfBinding::Session(&principal))
            .await
            .map_err(|e| pages::failure_page(&e).into_response())?;
        let full =
            profile.info.kind == ProfileKind::User && profile.info.state == ProfileState::Active;
        let here = page_of(parts.uri.path());
        let nav = if full {
            NAV.iter()
                .map(|&(href, label)| NavItem {
                    href,
                    label,
                    current: href == here,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self {
            layout: Layout {
                username: profile.info.username.clone(),
                csrf,
                nav,
            },
            principal,
            profile,
            flash,
            token,
        })
    }
}

/// The session of cookie `token` and its profile.
async fn signed_in(s: &AppState, token: &str) -> Result<(Principal, AccountProfile), Error> {
    let principal = s.engine.account_session(token).await?;
    let profile = s.engine.account_profile(&principal).await?;
    Ok((principal, profile))
}

/// A signed-out request: the sign-in page for a GET, 303 to it for a POST. `stale`: the
/// cookie's session has ended (the cookie is dropped, and the page says so).
async fn signed_out(
    s: &AppState,
    get: bool,
    cookies: &BrowserCookies,
    flash: Option<Flash>,
    stale: bool,
) -> Response {
    let clear = if stale {
        cookies::clear_session(secure(s))
    } else {
        None
    };
    if !get {
        return pages::see_other(
            &flash::problem("/account", "session-ended"),
            clear.into_iter().collect(),
        );
    }
    let flash = flash.or_else(|| {
        if stale {
            Flash::read(Some("problem=session-ended"))
        } else {
            None
        }
    });
    sign_in::page(s, cookies, flash.as_ref())
        .await
        .cookie(clear)
        .into_response()
}

/// Every signed-in page's context: the title, the layout, the flash, and the page's own.
#[derive(Debug, Serialize)]
struct AccountPage<'a, T: Serialize> {
    title: &'a str,
    layout: &'a Layout,
    flash: Option<&'a Flash>,
    #[serde(flatten)]
    page: T,
}

/// A confirmation step: what is asked, the POST that does it, where "cancel" goes.
#[derive(Debug, Serialize)]
pub(super) struct Confirm<'a> {
    /// The question.
    pub(super) question: String,
    /// What follows from it.
    pub(super) consequence: &'a str,
    /// The form's action (a fixed path).
    pub(super) action: &'static str,
    /// The hidden field naming the target, if any.
    pub(super) field: Option<&'static str>,
    /// Its value.
    pub(super) target: String,
    /// The confirming button's label.
    pub(super) button: &'a str,
    /// The page "cancel" leads back to.
    pub(super) cancel: &'static str,
}

impl SignedIn {
    /// The account page `template` titled `title`, with the page's own context.
    fn page<T: Serialize>(&self, template: &str, title: &str, page: T) -> Response {
        Page::new(
            template,
            &AccountPage {
                title,
                layout: &self.layout,
                flash: self.flash.as_ref(),
                page,
            },
        )
        .into_response()
    }

    /// The confirmation page `c`, titled `title`.
    fn confirm(&self, title: &str, c: &Confirm<'_>) -> Response {
        self.page("account_confirm.html", title, c)
    }
}

/// A signed-in POST: its visitor and its form, whose `csrf` field was checked.
pub(super) struct SignedForm {
    who: SignedIn,
    form: Form,
}

impl std::fmt::Debug for SignedForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedForm")
            .field("who", &self.who)
            .finish_non_exhaustive()
    }
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = Response;

    async fn from_request(req: Request, s: &AppState) -> Result<Self, Response> {
        let back = page_of(req.uri().path());
        let (mut parts, body) = req.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, s).await?;
        let form = pages::read_form(Request::from_parts(parts, body), s.cfg.body_limit)
            .await
            .map_err(|p| pages::problem_page(p).into_response())?;
        let [csrf] =
            pages::fields(&form, ["csrf"]).map_err(|p| pages::problem_page(p).into_response())?;
        match s
            .engine
            .check_account_csrf(CsrfBinding::Session(&who.principal), csrf)
            .await
        {
            Ok(true) => Ok(Self { who, form }),
            Ok(false) => Err(pages::see_other(
                &flash::problem(back, "form-expired"),
                Vec::new(),
            )),
            Err(e) => Err(refused(back, &e)),
        }
    }
}

impl SignedForm {
    /// Field `name` (empty when missing); given twice → the malformed-request page.
    fn field(&self, name: &'static str) -> Result<&str, Box<Response>> {
        self.fields([name]).map(|[v]| v)
    }

    /// Fields `names` ([`pages::fields`]).
    fn fields<const N: usize>(&self, names: [&'static str; N]) -> Result<[&str; N], Box<Response>> {
        pages::fields(&self.form, names)
            .map_err(|p| Box::new(pages::problem_page(p).into_response()))
    }
}

/// 303 to `path` saying `key` was done.
fn done(path: &str, key: &'static str) -> Response {
    pages::see_other(&flash::done(path, key), Vec::new())
}

/// 303 to `/account` saying `key` was done, and drop the session cookie (the session
/// has ended).
fn done_signed_out(s: &AppState, key: &'static str) -> Response {
    pages::see_other(
        &flash::done("/account", key),
        cookies::clear_session(secure(s)).into_iter().collect(),
    )
}

/// 303 to `path` saying why `e` refused the action.
fn refused(path: &str, e: &Error) -> Response {
    pages::see_other(&flash::refusal(path, e), Vec::new())
}

/// A page that cannot be shown: the error page when the server fails, else 303 to the
/// profile page saying why (a device asking for the devices page …).
fn unavailable(e: &Error) -> Response {
    match e {
        Error::Storage(_) | Error::Overloaded { .. } => pages::failure_page(e).into_response(),
        _ => refused("/account", e),
    }
}

/// The value of query parameter `name` (the first).
fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A time as the pages write it: `2026-02-21 15:33 UTC`.
fn when(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    match (text.get(..10), text.get(11..16)) {
        (Some(day), Some(hm)) => format!("{day} {hm} UTC"),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_times_and_queries() {
        assert_eq!(page_of("/account/devices/add"), "/account/devices");
        assert_eq!(page_of("/account/sign-out"), "/account");
        assert_eq!(page_of("/account/password"), "/account/password");
        assert_eq!(when(Timestamp(1_771_688_024)), "2026-02-21 15:33 UTC");
        assert_eq!(
            query_value(Some("a=1&device=x%20y&device=z"), "device").as_deref(),
            Some("x y")
        );
    }
}
