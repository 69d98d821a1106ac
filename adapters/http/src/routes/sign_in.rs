//! The forms of the pages: login, new password, consent, cancel. Each carries its
//! interaction id and CSRF token (hidden fields) and the browser binding cookie; the engine
//! checks them ([`FormProof`]). Success answers 303 (to the client, or to
//! `/oauth2/continue`); a refusal shows the same form again with what went wrong; a form
//! that cannot be used shows the error page.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tessera_core::Error;
use tessera_core::engine::oauth::{BrowserLogin, FormProof, FrontError, PageProblem};

use super::super::AppState;
use super::super::form::Form;
use super::super::pages::cookies::{self, BrowserCookies};
use super::super::pages::{self};
use super::authorize::{after_form, login_page, login_page_says, new_password_page, secure};

/// A page form: its fields and the request's cookies.
struct PageForm {
    form: Form,
    cookies: BrowserCookies,
}

impl PageForm {
    async fn read(s: &AppState, req: Request) -> Result<Self, Response> {
        let cookies = BrowserCookies::read(req.headers(), secure(s));
        match pages::read_form(req, s.cfg.body_limit).await {
            Ok(form) => Ok(Self { form, cookies }),
            Err(p) => Err(pages::problem_page(p).into_response()),
        }
    }

    /// Fields `names` (empty when missing); one given twice → the malformed-request page.
    fn fields<const N: usize>(&self, names: [&'static str; N]) -> Result<[&str; N], PageProblem> {
        let mut out = [""; N];
        for (slot, name) in out.iter_mut().zip(names) {
            *slot = self
                .form
                .optional(name)
                .map_err(|_| PageProblem::Malformed)?
                .unwrap_or_default();
        }
        Ok(out)
    }

    /// The proof of a form whose `interaction` and `csrf` fields are `interaction`, `csrf`.
    fn proof<'a>(&'a self, interaction: &'a str, csrf: &'a str) -> FormProof<'a> {
        FormProof {
            interaction,
            csrf,
            binding: self.cookies.binding.as_deref(),
        }
    }
}

/// A signed-in form's answer: the session cookie, then the next step.
fn signed_in(s: &AppState, f: &PageForm, login: BrowserLogin) -> Response {
    match login {
        BrowserLogin::SignedIn { session, next } => {
            let max_age = s.engine.now().secs_until(session.expires_at);
            let cookie = cookies::set_session(session.token.expose(), max_age, secure(s));
            after_form(s, next, &f.cookies, cookie.into_iter().collect())
        }
        BrowserLogin::NewPasswordRequired(view) => pages::see_other(
            &format!("/oauth2/continue?interaction={}", view.id),
            Vec::new(),
        ),
    }
}

/// `POST /oauth2/login`: `interaction`, `csrf`, `username`, `password`.
pub(super) async fn login(State(s): State<AppState>, req: Request) -> Response {
    let f = match PageForm::read(&s, req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let [interaction, csrf, username, password] =
        match f.fields(["interaction", "csrf", "username", "password"]) {
            Ok(v) => v,
            Err(p) => return pages::problem_page(p).into_response(),
        };
    let proof = f.proof(interaction, csrf);
    let result = s.engine.browser_login(proof, username, password).await;
    let audited: Result<Option<uuid::Uuid>, &Error> = match &result {
        Ok(BrowserLogin::SignedIn { session, .. }) => Ok(Some(session.profile_id)),
        Ok(BrowserLogin::NewPasswordRequired(_)) => Ok(None),
        Err(FrontError::Form(e, _) | FrontError::Failed(e)) => Err(e),
        Err(FrontError::Page(_)) => Ok(None),
    };
    if !matches!(result, Err(FrontError::Page(_))) {
        s.metrics
            .login(super::audit("browser_login", username, audited));
    }
    match result {
        Ok(login) => signed_in(&s, &f, login),
        Err(FrontError::Form(e, view)) => {
            let username = username.to_owned();
            login_page(&view, Some((&e, &username)))
                .form_target(&view.redirect_uri)
                .into_response()
        }
        Err(FrontError::Page(p)) => pages::problem_page(p).into_response(),
        Err(FrontError::Failed(e)) => pages::failure_page(&e).into_response(),
    }
}

/// `POST /oauth2/new-password`: `interaction`, `csrf`, `new_password`,
/// `new_password_repeat`.
pub(super) async fn new_password(State(s): State<AppState>, req: Request) -> Response {
    let f = match PageForm::read(&s, req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let [interaction, csrf, new, repeated] =
        match f.fields(["interaction", "csrf", "new_password", "new_password_repeat"]) {
            Ok(v) => v,
            Err(p) => return pages::problem_page(p).into_response(),
        };
    let proof = f.proof(interaction, csrf);
    match s.engine.browser_new_password(proof, new, repeated).await {
        Ok(login) => signed_in(&s, &f, login),
        // the challenge expired: back to the login page
        Err(FrontError::Form(Error::Unauthorized, view)) => login_page_says(
            &view,
            StatusCode::BAD_REQUEST,
            Some("This step has expired. Sign in again with your temporary password."),
            None,
            "",
        )
        .form_target(&view.redirect_uri)
        .into_response(),
        Err(FrontError::Form(Error::ProfileIncomplete, view)) => login_page_says(
            &view,
            StatusCode::FORBIDDEN,
            Some(
                "Your new password is set. This profile has no public key yet: register it with your tessera app, then sign in here.",
            ),
            None,
            "",
        )
        .form_target(&view.redirect_uri)
        .into_response(),
        Err(FrontError::Form(e @ Error::Forbidden, view)) => login_page(&view, Some((&e, "")))
            .form_target(&view.redirect_uri)
            .into_response(),
        Err(FrontError::Form(e, view)) => new_password_page(&s, &view, Some(&e))
            .form_target(&view.redirect_uri)
            .into_response(),
        Err(FrontError::Page(p)) => pages::problem_page(p).into_response(),
        Err(FrontError::Failed(e)) => pages::failure_page(&e).into_response(),
    }
}

/// `POST /oauth2/consent`: `interaction`, `csrf`, `decision` = `approve` | `deny`.
pub(super) async fn consent(State(s): State<AppState>, req: Request) -> Response {
    let f = match PageForm::read(&s, req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let [interaction, csrf, decision] = match f.fields(["interaction", "csrf", "decision"]) {
        Ok(v) => v,
        Err(p) => return pages::problem_page(p).into_response(),
    };
    let proof = f.proof(interaction, csrf);
    let approve = match decision {
        "approve" => true,
        "deny" => false,
        _ => return pages::problem_page(PageProblem::Malformed).into_response(),
    };
    let result = s
        .engine
        .decide_consent(proof, f.cookies.session.as_deref(), approve)
        .await;
    redirect_or_page(result)
}

/// `POST /oauth2/cancel`: `interaction`, `csrf`.
pub(super) async fn cancel(State(s): State<AppState>, req: Request) -> Response {
    let f = match PageForm::read(&s, req).await {
        Ok(f) => f,
        Err(res) => return res,
    };
    match f.fields(["interaction", "csrf"]) {
        Ok([interaction, csrf]) => {
            redirect_or_page(s.engine.cancel_interaction(f.proof(interaction, csrf)))
        }
        Err(p) => pages::problem_page(p).into_response(),
    }
}

fn redirect_or_page(
    result: Result<tessera_core::engine::oauth::ClientRedirect, FrontError>,
) -> Response {
    match result {
        Ok(r) => pages::see_other(r.location(), Vec::new()),
        Err(FrontError::Page(p)) => pages::problem_page(p).into_response(),
        Err(FrontError::Form(e, _) | FrontError::Failed(e)) => {
            pages::failure_page(&e).into_response()
        }
    }
}
