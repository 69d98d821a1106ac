//! The console's CSRF tokens. A form proves it comes from a page of this server for this
//! browser: its `csrf` field must be the MAC (under the server key, see
//! [`Engine::account_mac`]) of the session's digest when signed in, or of the browser
//! binding cookie (the OAuth pages' `tessera_binding`, `SameSite=Lax`) on the sign-in
//! form. A cross-site page can read neither, and a cross-site POST carries neither cookie.
//! Compared in constant time.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use super::super::Engine;
use crate::error::Result;
use crate::principal::Principal;

/// What a CSRF token is bound to.
#[derive(Debug, Clone, Copy)]
pub enum CsrfBinding<'a> {
    /// The signed-in browser session.
    Session(&'a Principal),
    /// The browser binding cookie's value (the sign-in form, signed out).
    Browser(&'a str),
}

impl Engine {
    /// The CSRF token of the forms of a page shown to `to`.
    pub async fn account_csrf(&self, to: CsrfBinding<'_>) -> Result<String> {
        let tag = match to {
            CsrfBinding::Session(p) => self.account_mac(b"csrf session", &[&p.token.0]).await?,
            CsrfBinding::Browser(b) => self.account_mac(b"csrf browser", &[b.as_bytes()]).await?,
        };
        Ok(URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `csrf` is the token of the forms shown to `to`.
    pub async fn check_account_csrf(&self, to: CsrfBinding<'_>, csrf: &str) -> Result<bool> {
        let want = self.account_csrf(to).await?;
        Ok(want.len() == csrf.len() && bool::from(want.as_bytes().ct_eq(csrf.as_bytes())))
    }
}
