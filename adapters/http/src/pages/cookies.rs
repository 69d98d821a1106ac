//! The pages' cookies: the browser session (`tessera_session`, a `tsb_` token) and the
//! browser binding (`tessera_binding`, which the pages' interactions are bound to). Both
//! `HttpOnly; SameSite=Lax; Path=/`, and `__Host-` + `Secure` when the issuer is https.
//! The session cookie lasts as long as the session; the binding cookie until the browser
//! closes.

use axum::http::{HeaderMap, HeaderValue, header};
use tessera_core::engine::oauth::BrowserContext;

/// The session cookie's name without the prefix.
pub(crate) const SESSION: &str = "tessera_session";
/// The binding cookie's name without the prefix.
pub(crate) const BINDING: &str = "tessera_binding";

/// The name of cookie `base`: `__Host-` prefixed when `secure`.
fn name(base: &str, secure: bool) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

/// The pages' cookies of a request. `Debug` hides the values.
#[derive(Default)]
pub(crate) struct BrowserCookies {
    pub(crate) session: Option<String>,
    pub(crate) binding: Option<String>,
}

impl std::fmt::Debug for BrowserCookies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserCookies")
            .field("session", &self.session.is_some())
            .field("binding", &self.binding.is_some())
            .finish()
    }
}

impl BrowserCookies {
    /// Read the `Cookie` headers (the first cookie of each name counts).
    pub(crate) fn read(headers: &HeaderMap, secure: bool) -> Self {
        let session_name = name(SESSION, secure);
        let binding_name = name(BINDING, secure);
        let mut out = Self::default();
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                let Some((k, v)) = pair.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                if k == session_name && out.session.is_none() {
                    out.session = Some(v.to_owned());
                } else if k == binding_name && out.binding.is_none() {
                    out.binding = Some(v.to_owned());
                }
            }
        }
        out
    }

    /// The engine's view of them.
    pub(crate) fn context(&self) -> BrowserContext<'_> {
        BrowserContext {
            session: self.session.as_deref(),
            binding: self.binding.as_deref(),
        }
    }
}

fn cookie(base: &str, value: &str, max_age: Option<u64>, secure: bool) -> Option<HeaderValue> {
    let mut c = format!("{}={value}; Path=/", name(base, secure));
    if let Some(secs) = max_age {
        c.push_str("; Max-Age=");
        c.push_str(&secs.to_string());
    }
    c.push_str("; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).ok()
}

/// `Set-Cookie` for a new browser session `token`, lasting `max_age` seconds.
pub(crate) fn set_session(token: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    cookie(SESSION, token, Some(max_age), secure)
}

/// `Set-Cookie` for the browser binding `value` (until the browser closes).
pub(crate) fn set_binding(value: &str, secure: bool) -> Option<HeaderValue> {
    cookie(BINDING, value, None, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_values_and_attributes() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=tsb_x; tessera_binding=b1"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("tessera_session=tsb_y"),
        );
        let c = BrowserCookies::read(&h, false);
        assert_eq!(c.session.as_deref(), Some("tsb_x"));
        assert_eq!(c.binding.as_deref(), Some("b1"));
        let c = BrowserCookies::read(&h, true);
        assert!(c.session.is_none() && c.binding.is_none());
        assert_eq!(
            set_session("tsb_z", 60, true).unwrap(),
            "__Host-tessera_session=tsb_z; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure"
        );
        assert_eq!(
            set_binding("b", false).unwrap(),
            "tessera_binding=b; Path=/; HttpOnly; SameSite=Lax"
        );
    }
}
