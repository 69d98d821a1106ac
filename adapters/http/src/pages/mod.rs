//! The HTML pages of the OAuth front channel (login, new password, consent, error) and of
//! the account console (`routes/account/`), and what every page and redirect of them
//! carries.
//!
//! Pages are minijinja templates (`adapters/http/templates/`, embedded at build time) with
//! HTML auto-escaping and strict undefined variables; no HTML is built by concatenation.
//! One base layout, one same-origin stylesheet (`/assets/tessera.css`), no script, no
//! inline style. Every page and redirect has:
//!
//! - `Content-Security-Policy: default-src 'self'; base-uri 'none'; frame-ancestors 'none';
//!   form-action 'self' [<origin>]`: the origin of the client's validated `redirect_uri` is
//!   added on pages whose forms answer with a redirect to it (Chromium applies
//!   `form-action` to the redirects of a form submission);
//! - `X-Frame-Options: DENY`, `Referrer-Policy: no-referrer`,
//!   `X-Content-Type-Options: nosniff`, `Cache-Control: no-store`.
//!
//! The error pages' bodies stay HTML whatever their status (the outer layer leaves HTML
//! errors alone).

mod advice;
pub(crate) mod cookies;
pub(crate) mod flash;
mod scopes;

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use tessera_core::Error;
use tessera_core::engine::oauth::PageProblem;

use crate::form::{Form, read_limited};

pub(crate) use scopes::{ScopeLine, lines as scope_lines};

/// `Content-Type` of the pages.
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// The templates, by name.
const TEMPLATES: [(&str, &str); 15] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("parts.html", include_str!("../../templates/parts.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "new_password.html",
        include_str!("../../templates/new_password.html"),
    ),
    ("consent.html", include_str!("../../templates/consent.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("account.html", include_str!("../../templates/account.html")),
    (
        "account_sign_in.html",
        include_str!("../../templates/account_sign_in.html"),
    ),
    (
        "account_profile.html",
        include_str!("../../templates/account_profile.html"),
    ),
    (
        "account_sessions.html",
        include_str!("../../templates/account_sessions.html"),
    ),
    (
        "account_devices.html",
        include_str!("../../templates/account_devices.html"),
    ),
    (
        "account_add_device.html",
        include_str!("../../templates/account_add_device.html"),
    ),
    (
        "account_applications.html",
        include_str!("../../templates/account_applications.html"),
    ),
    (
        "account_password.html",
        include_str!("../../templates/account_password.html"),
    ),
    (
        "account_confirm.html",
        include_str!("../../templates/account_confirm.html"),
    ),
];

/// The stylesheet.
const STYLESHEET: &str = include_str!("../../templates/tessera.css");

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "page template does not parse");
            }
        }
        env
    })
}

/// Render template `name` with `context` (a test renders every one).
pub(crate) fn render<S: Serialize>(name: &str, context: &S) -> Result<String, minijinja::Error> {
    environment()
        .get_template(name)?
        .render(minijinja::Value::from_serialize(context))
}

/// A page to answer with: a template and its context, a status, the redirect target its
/// forms may lead to, cookies to set and a `Retry-After`.
pub(crate) struct Page {
    status: StatusCode,
    html: Result<String, minijinja::Error>,
    form_target: Option<String>,
    cookies: Vec<HeaderValue>,
    retry_after: Option<u64>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Page {
    /// Template `name` rendered with `context`, status 200.
    pub(crate) fn new<S: Serialize>(name: &str, context: &S) -> Self {
        Self {
            status: StatusCode::OK,
            html: render(name, context),
            form_target: None,
            cookies: Vec::new(),
            retry_after: None,
        }
    }

    /// With status `status`.
    pub(crate) fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Its forms may end in a redirect to `uri` (its origin joins `form-action`).
    pub(crate) fn form_target(mut self, uri: &str) -> Self {
        self.form_target = Some(uri.to_owned());
        self
    }

    /// Set a cookie.
    pub(crate) fn cookie(mut self, cookie: Option<HeaderValue>) -> Self {
        self.cookies.extend(cookie);
        self
    }

    /// With `Retry-After: secs` (at least 1).
    pub(crate) fn retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs.map(|s| s.max(1));
        self
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = match self.html {
            Ok(h) => h,
            Err(e) => {
                tracing::error!(error = %e, "page rendering failed");
                let mut res = (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
                security_headers(res.headers_mut(), None);
                return res;
            }
        };
        let mut res = (self.status, html).into_response();
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
        security_headers(h, self.form_target.as_deref());
        for c in self.cookies {
            h.append(header::SET_COOKIE, c);
        }
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The headers of every page and redirect of the front channel.
pub(crate) fn security_headers(h: &mut HeaderMap, form_target: Option<&str>) {
    let mut csp = String::from(
        "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    );
    if let Some(source) = form_target.and_then(csp_source) {
        csp.push(' ');
        csp.push_str(&source);
    }
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The CSP source expression of a redirect URI's origin: `scheme://host[:port]` for
/// http(s), `scheme:` for a private-use scheme. `None` for anything that is not plainly
/// one of those (so nothing odd can reach the header).
pub(crate) fn csp_source(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once(':')?;
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !scheme_ok {
        return None;
    }
    if scheme != "http" && scheme != "https" {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?;
    let authority = &authority[..authority.find(['/', '?', '#']).unwrap_or(authority.len())];
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
    } else {
        !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    (host_ok && port_ok).then(|| format!("{scheme}://{authority}"))
}

/// `303 See Other` to `location` with the front channel's headers and `cookies`. A
/// location that cannot be a header value gives the malformed-request page.
pub(crate) fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let Ok(value) = HeaderValue::from_str(location) else {
        return problem_page(PageProblem::Malformed).into_response();
    };
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SEE_OTHER;
    let h = res.headers_mut();
    h.insert(header::LOCATION, value);
    security_headers(h, None);
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    res
}

/// The error page's context.
#[derive(Debug, Serialize)]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    advice: &'a str,
    code: &'a str,
    retry_after: Option<u64>,
    request_id: Option<&'a str>,
}

/// The error page of a page problem (400; 403 for a forged form).
pub(crate) fn problem_page(p: PageProblem) -> Page {
    let status = match p {
        PageProblem::FormForged => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let advice = match p {
        PageProblem::InteractionExpired | PageProblem::SessionEnded | PageProblem::FormForged => {
            "Go back to the application and sign in again."
        }
        _ => {
            "The application that sent you here made a mistake. You can close this page; nothing was shared."
        }
    };
    Page::new(
        "error.html",
        &ErrorPage {
            title: "This sign-in cannot go on",
            message: p.message(),
            advice,
            code: p.code(),
            retry_after: None,
            request_id: None,
        },
    )
    .status(status)
}

/// The 503 page (with `Retry-After: 1`) of a store that cannot be reached: a storage
/// failure met by a page, or the breaker's answer to a page while the store is known down.
pub(crate) fn storage_unavailable_page() -> Page {
    Page::new(
        "error.html",
        &ErrorPage {
            title: "Something went wrong",
            message: "The server cannot reach its storage just now.",
            advice: "Go back to the application and try again.",
            code: "storage_unavailable",
            retry_after: Some(1),
            request_id: None,
        },
    )
    .status(StatusCode::SERVICE_UNAVAILABLE)
    .retry_after(Some(1))
}

/// The error page of an engine failure (storage, a full hashing queue): 503 with
/// `Retry-After`, or 400 for anything else.
pub(crate) fn failure_page(e: &Error) -> Page {
    let (status, retry_after, message) = match e {
        Error::Overloaded { retry_after } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Some((*retry_after).max(1)),
            "The server is busy.",
        ),
        Error::Storage(detail) => {
            tracing::error!(detail = %detail, "storage failure");
            return storage_unavailable_page();
        }
        _ => (StatusCode::BAD_REQUEST, None, "The request was refused."),
    };
    Page::new(
        "error.html",
        &ErrorPage {
            title: "Something went wrong",
            message,
            advice: "Go back to the application and try again.",
            code: e.code(),
            retry_after,
            request_id: None,
        },
    )
    .status(status)
    .retry_after(retry_after)
}

/// `GET /assets/tessera.css`.
pub(crate) async fn stylesheet() -> Response {
    let mut res = STYLESHEET.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The form body of a page's POST (`application/x-www-form-urlencoded`, the body limit,
/// strict UTF-8). Anything else is the malformed-request page.
pub(crate) async fn read_form(req: Request, limit: usize) -> Result<Form, PageProblem> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(PageProblem::Malformed);
    }
    let bytes = zeroize::Zeroizing::new(
        read_limited(req, limit)
            .await
            .map_err(|_| PageProblem::Malformed)?,
    );
    Form::parse(&bytes).map_err(|_| PageProblem::Malformed)
}

/// Fields `names` of a page's form (empty when missing); one given twice is a malformed
/// request.
pub(crate) fn fields<'f, const N: usize>(
    form: &'f Form,
    names: [&'static str; N],
) -> Result<[&'f str; N], PageProblem> {
    let mut out = [""; N];
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = form
            .optional(name)
            .map_err(|_| PageProblem::Malformed)?
            .unwrap_or_default();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_sources_of_redirect_uris() {
        for (uri, want) in [
            (
                "https://app.example.com/cb?x=1",
                Some("https://app.example.com"),
            ),
            (
                "https://app.example.com:8443/cb",
                Some("https://app.example.com:8443"),
            ),
            ("http://127.0.0.1:53123/cb", Some("http://127.0.0.1:53123")),
            ("http://[::1]:4000/cb", Some("http://[::1]:4000")),
            ("http://[::1]/cb", Some("http://[::1]")),
            ("com.example.app:/cb", Some("com.example.app:")),
            ("https://a.example;script-src *", None),
            ("https://a.example:80x/cb", None),
            ("https://user@a.example/cb", None),
            ("https:///cb", None),
            ("HTTPS://a.example/", None),
        ] {
            assert_eq!(csp_source(uri).as_deref(), want, "{uri}");
        }
    }

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn the_error_page_renders_and_escapes() {
        let html = render(
            "error.html",
            &ErrorPage {
                title: "<t>",
                message: "<script>alert(1)</script>",
                advice: "a",
                code: "c",
                retry_after: Some(3),
                request_id: None,
            },
        )
        .unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("<html lang=\"en\">") && html.contains("Try again in 3 seconds."));
    }
}
