//! Signing in and out of the console. The sign-in form's CSRF token is bound to the
//! browser binding cookie (set by the page when the browser has none), so a cross-site
//! POST cannot sign a browser in to another account; the password check is the OAuth
//! login's (throttle included); a refusal answers 303 to `/account` naming it (a
//! throttled attempt with when to try again).

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::Error;
use tessera_core::engine::account::{AccountSignIn, CsrfBinding};

use super::super::super::AppState;
use super::super::super::pages::cookies::{self, BrowserCookies};
use super::super::super::pages::flash::{self, Flash};
use super::super::super::pages::{self, Page};
use super::super::authorize::secure;
use super::{SignedForm, done_signed_out, refused};

#[derive(Debug, Serialize)]
struct SignInPage<'a> {
    csrf: &'a str,
    flash: Option<&'a Flash>,
}

/// The sign-in page, saying `flash`; it sets the binding cookie when the browser has none.
pub(super) async fn page(s: &AppState, cookies: &BrowserCookies, flash: Option<&Flash>) -> Page {
    let (binding, set) = match cookies.binding.as_deref() {
        Some(b) if !b.is_empty() => (b.to_owned(), None),
        _ => {
            let b = s.engine.new_browser_binding();
            let set = cookies::set_binding(&b, secure(s));
            (b, set)
        }
    };
    match s.engine.account_csrf(CsrfBinding::Browser(&binding)).await {
        Ok(csrf) => {
            Page::new("account_sign_in.html", &SignInPage { csrf: &csrf, flash }).cookie(set)
        }
        Err(e) => pages::failure_page(&e),
    }
}

/// `POST /account/sign-in`: `csrf`, `username`, `password`.
pub(super) async fn sign_in(State(s): State<AppState>, req: Request) -> Response {
    let cookies = BrowserCookies::read(req.headers(), secure(&s));
    let form = match pages::read_form(req, s.cfg.body_limit).await {
        Ok(f) => f,
        Err(p) => return pages::problem_page(p).into_response(),
    };
    let [csrf, username, password] = match pages::fields(&form, ["csrf", "username", "password"]) {
        Ok(v) => v,
        Err(p) => return pages::problem_page(p).into_response(),
    };
    let expired = || pages::see_other(&flash::problem("/account", "form-expired"), Vec::new());
    let Some(binding) = cookies.binding.as_deref() else {
        return expired();
    };
    match s
        .engine
        .check_account_csrf(CsrfBinding::Browser(binding), csrf)
        .await
    {
        Ok(true) => {}
        Ok(false) => return expired(),
        Err(e) => return refused("/account", &e),
    }
    let result = s.engine.account_sign_in(username, password).await;
    let audited = match &result {
        Ok(AccountSignIn::SignedIn(session)) => Ok(Some(session.profile_id)),
        Ok(AccountSignIn::TemporaryPassword) => Ok(None),
        Err(e) => Err(e),
    };
    s.metrics
        .login(super::super::audit("account_login", username, audited));
    match result {
        Ok(AccountSignIn::SignedIn(session)) => {
            let max_age = s.engine.now().secs_until(session.expires_at);
            let cookie = cookies::set_session(session.token.expose(), max_age, secure(&s));
            pages::see_other(
                &flash::done("/account", "signed-in"),
                cookie.into_iter().collect(),
            )
        }
        Ok(AccountSignIn::TemporaryPassword) => pages::see_other(
            &flash::problem("/account", "temporary-password"),
            Vec::new(),
        ),
        Err(Error::Unauthorized) => {
            pages::see_other(&flash::problem("/account", "wrong-credentials"), Vec::new())
        }
        Err(e) => refused("/account", &e),
    }
}

/// `POST /account/sign-out`: `csrf`. Ends this browser's session.
pub(super) async fn sign_out(State(s): State<AppState>, f: SignedForm) -> Response {
    if let Err(e) = s.engine.browser_sign_out(&f.who.token).await {
        return refused("/account", &e);
    }
    done_signed_out(&s, "signed-out")
}
