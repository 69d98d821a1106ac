//! The OAuth front channel (API.md "OAuth 2.1 and OpenID Connect provider"): the
//! authorization endpoint and the pages it leads to.
//!
//! | route | what |
//! |---|---|
//! | `GET`/`POST /oauth2/authorize`, `GET /oauth-application/request-authorization-code` | check the request; the login page, the consent page, an error page, or 303 to the client |
//! | `GET /oauth2/continue?interaction=…` | the page an interaction is at (after a form's 303) |
//! | `POST /oauth2/login`, `/oauth2/new-password`, `/oauth2/consent`, `/oauth2/cancel` | the pages' forms (`sign_in.rs`) |
//! | `POST /oauth-application/retrieve-authorization-code` | a code without the pages (`authorization_code.rs`) |
//! | `GET /assets/tessera.css` | the pages' stylesheet |
//!
//! No CORS headers anywhere here (RFC 9700 §2.6). Redirects are 303 (also for the GET).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tessera_core::Error;
use tessera_core::engine::oauth::{AuthorizeParams, AuthorizeStep, InteractionView, PageProblem};

use super::super::AppState;
use super::super::form::Form;
use super::super::pages::cookies::{self, BrowserCookies};
use super::super::pages::flash::Flash;
use super::super::pages::{self, Page, ScopeLine};
use super::{authorization_code, sign_in};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/oauth2/authorize", get(authorize).post(authorize))
        .route(
            "/oauth-application/request-authorization-code",
            get(authorize),
        )
        .route("/oauth2/continue", get(continue_interaction))
        .route("/oauth2/login", post(sign_in::login))
        .route("/oauth2/new-password", post(sign_in::new_password))
        .route("/oauth2/consent", post(sign_in::consent))
        .route("/oauth2/cancel", post(sign_in::cancel))
        .route(
            "/oauth-application/retrieve-authorization-code",
            post(authorization_code::retrieve_authorization_code),
        )
        .route("/assets/tessera.css", get(pages::stylesheet))
}

/// Whether the pages' cookies are `Secure` with the `__Host-` prefix (an https issuer).
pub(super) fn secure(s: &AppState) -> bool {
    s.engine.config().oauth.issuer.starts_with("https://")
}

/// The parameters of an authorization request: the query string of a GET, the form body
/// of a POST.
async fn read_params(req: Request, limit: usize) -> Result<AuthorizeParams, PageProblem> {
    let form = if req.method() == Method::POST {
        pages::read_form(req, limit).await?
    } else {
        Form::parse(req.uri().query().unwrap_or("").as_bytes())
            .map_err(|_| PageProblem::Malformed)?
    };
    let mut params = AuthorizeParams::default();
    for (k, v) in form.fields() {
        params.set(k, v);
    }
    Ok(params)
}

/// `GET`/`POST /oauth2/authorize` and `GET /oauth-application/request-authorization-code`.
async fn authorize(State(s): State<AppState>, req: Request) -> Response {
    let secure = secure(&s);
    let cookies = BrowserCookies::read(req.headers(), secure);
    let params = match read_params(req, s.cfg.body_limit).await {
        Ok(p) => p,
        Err(p) => return pages::problem_page(p).into_response(),
    };
    match s.engine.authorize(&params, cookies.context()).await {
        Ok(step) => show(&s, step, &cookies, Vec::new()),
        Err(e) => pages::failure_page(&e).into_response(),
    }
}

/// `GET /oauth2/continue?interaction=…`.
async fn continue_interaction(State(s): State<AppState>, req: Request) -> Response {
    let cookies = BrowserCookies::read(req.headers(), secure(&s));
    let form = Form::parse(req.uri().query().unwrap_or("").as_bytes());
    let Ok(Ok(Some(id))) = form.as_ref().map(|f| f.optional("interaction")) else {
        return pages::problem_page(PageProblem::Malformed).into_response();
    };
    match s.engine.interaction_page(id, cookies.context()).await {
        Ok(step) => show(&s, step, &cookies, Vec::new()),
        Err(e) => pages::failure_page(&e).into_response(),
    }
}

/// Answer a step: a page, or 303 to the client. `set` are cookies to set (a new session).
pub(super) fn show(
    s: &AppState,
    step: AuthorizeStep,
    cookies: &BrowserCookies,
    set: Vec<HeaderValue>,
) -> Response {
    let secure = secure(s);
    let with_cookies = |page: Page, view: &InteractionView| {
        let mut page = page.form_target(&view.redirect_uri);
        if cookies.binding.as_deref() != Some(view.binding.as_str()) {
            page = page.cookie(cookies::set_binding(&view.binding, secure));
        }
        for c in &set {
            page = page.cookie(Some(c.clone()));
        }
        page.into_response()
    };
    match step {
        AuthorizeStep::Redirect(r) => pages::see_other(r.location(), set),
        AuthorizeStep::Login(view) => with_cookies(login_page(&view, None), &view),
        AuthorizeStep::NewPassword(view) => with_cookies(new_password_page(s, &view, None), &view),
        AuthorizeStep::Consent { page, username } => {
            with_cookies(consent_page(&page, &username), &page)
        }
        AuthorizeStep::Page(p) => {
            let mut page = pages::problem_page(p);
            for c in set {
                page = page.cookie(Some(c));
            }
            page.into_response()
        }
    }
}

/// After a form: the same, but a page of the interaction is reached by 303 to
/// `/oauth2/continue` (a form POST answers 303).
pub(super) fn after_form(
    s: &AppState,
    step: AuthorizeStep,
    cookies: &BrowserCookies,
    set: Vec<HeaderValue>,
) -> Response {
    let id = match &step {
        AuthorizeStep::Login(v) | AuthorizeStep::NewPassword(v) => &v.id,
        AuthorizeStep::Consent { page, .. } => &page.id,
        AuthorizeStep::Redirect(_) | AuthorizeStep::Page(_) => {
            return show(s, step, cookies, set);
        }
    };
    pages::see_other(&format!("/oauth2/continue?interaction={id}"), set)
}

#[derive(Debug, Serialize)]
struct LoginPage<'a> {
    client_name: &'a str,
    interaction: &'a str,
    csrf: &'a str,
    username: &'a str,
    message: Option<&'a str>,
    retry_after: Option<u64>,
}

/// The login page of `view`, with the refusal of the last attempt if any (its status:
/// 400 bad credentials, 403 a profile that may not sign in, 429 throttled, 503 busy) and
/// the username that was typed.
pub(super) fn login_page(view: &InteractionView, error: Option<(&Error, &str)>) -> Page {
    match error {
        None => login_page_says(
            view,
            StatusCode::OK,
            None,
            None,
            view.login_hint.as_deref().unwrap_or(""),
        ),
        Some((e, username)) => {
            let (status, retry_after, message) = login_refusal(e);
            login_page_says(view, status, Some(message), retry_after, username)
        }
    }
}

/// The login page of `view` saying `message`.
pub(super) fn login_page_says(
    view: &InteractionView,
    status: StatusCode,
    message: Option<&str>,
    retry_after: Option<u64>,
    username: &str,
) -> Page {
    Page::new(
        "login.html",
        &LoginPage {
            client_name: &view.client_name,
            interaction: &view.id,
            csrf: &view.csrf,
            username,
            message,
            retry_after,
        },
    )
    .status(status)
    .retry_after(retry_after)
}

/// Status, retry-after and message of a refused sign-in.
fn login_refusal(e: &Error) -> (StatusCode, Option<u64>, &'static str) {
    match e {
        Error::Unauthorized => (
            StatusCode::BAD_REQUEST,
            None,
            "The username or password is wrong.",
        ),
        Error::TooManyAttempts { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            Some((*retry_after).max(1)),
            "Too many failed attempts for this username.",
        ),
        Error::Overloaded { retry_after } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some((*retry_after).max(1)),
            "The server is busy.",
        ),
        Error::ProfileIncomplete => (
            StatusCode::FORBIDDEN,
            None,
            "This profile has no public key yet. Register your public key with your tessera app, then sign in here.",
        ),
        Error::Forbidden => (
            StatusCode::FORBIDDEN,
            None,
            "A device cannot sign in here. Sign in with your own user profile.",
        ),
        Error::Storage(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(1),
            "The server cannot reach its storage just now.",
        ),
        _ => (StatusCode::BAD_REQUEST, None, "The sign-in was refused."),
    }
}

#[derive(Debug, Serialize)]
struct NewPasswordPage<'a> {
    client_name: &'a str,
    interaction: &'a str,
    csrf: &'a str,
    username: &'a str,
    min_length: usize,
    problem: Option<Flash>,
}

/// The "choose a new password" page, with the refusal of the last attempt if any (the
/// password checker's advice listed).
pub(super) fn new_password_page(
    s: &AppState,
    view: &InteractionView,
    error: Option<&Error>,
) -> Page {
    let (status, retry_after, message, advice) = match error {
        None => (StatusCode::OK, None, None, Vec::new()),
        Some(e @ Error::WeakPassword { feedback }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(e.to_string()),
            feedback.clone(),
        ),
        Some(Error::Overloaded { retry_after }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some((*retry_after).max(1)),
            Some("The server is busy.".to_owned()),
            Vec::new(),
        ),
        Some(Error::Storage(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some(1),
            Some("The server cannot reach its storage just now.".to_owned()),
            Vec::new(),
        ),
        Some(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(capitalised(&e.to_string())),
            Vec::new(),
        ),
    };
    Page::new(
        "new_password.html",
        &NewPasswordPage {
            client_name: &view.client_name,
            interaction: &view.id,
            csrf: &view.csrf,
            username: view.username.as_deref().unwrap_or(""),
            min_length: s.engine.config().password_policy.min_len,
            problem: message.map(|m| Flash::problem(capitalised(&m), advice, retry_after)),
        },
    )
    .status(status)
    .retry_after(retry_after)
}

/// `text` with a capital first letter and a final full stop.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

#[derive(Debug, Serialize)]
struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<ScopeLine>,
    destination: String,
    interaction: &'a str,
    csrf: &'a str,
}

/// The consent page: the application, the scopes in plain words, where the browser goes
/// next.
fn consent_page(view: &InteractionView, username: &str) -> Page {
    Page::new(
        "consent.html",
        &ConsentPage {
            client_name: &view.client_name,
            username,
            scopes: pages::scope_lines(&view.scopes),
            destination: pages::csp_source(&view.redirect_uri)
                .unwrap_or_else(|| view.redirect_uri.clone()),
            interaction: &view.id,
            csrf: &view.csrf,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> InteractionView {
        InteractionView {
            id: "i".into(),
            csrf: "c".into(),
            binding: "b".into(),
            client_name: "<App>".into(),
            scopes: vec!["openid".into()],
            redirect_uri: "https://a.example/cb".into(),
            login_hint: None,
            username: None,
            expires_at: tessera_core::Timestamp(0),
        }
    }

    async fn body(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_busy_or_throttled_sign_in_is_the_page_saying_when() {
        for (e, status, text) in [
            (
                Error::Overloaded { retry_after: 0 },
                503,
                "The server is busy.",
            ),
            (
                Error::TooManyAttempts { retry_after: 7 },
                429,
                "Too many failed attempts",
            ),
        ] {
            let res = login_page(&view(), Some((&e, "al<i>ce"))).into_response();
            assert_eq!(res.status().as_u16(), status);
            let retry = res.headers()["retry-after"].to_str().unwrap().to_owned();
            assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
            let html = body(res).await;
            assert!(html.contains(text), "{html}");
            let secs = if retry == "1" {
                "1 second."
            } else {
                "7 seconds."
            };
            assert!(html.contains(&format!("Try again in {secs}")), "{html}");
            assert!(html.contains("&lt;App&gt;") && html.contains("al&lt;i&gt;ce"));
        }
    }

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            capitalised("the two passwords differ"),
            "The two passwords differ."
        );
        assert_eq!(capitalised("Done."), "Done.");
    }
}
