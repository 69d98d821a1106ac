//! What an authorization request is answered with when it is not the pages: a redirect to
//! the client ([`ClientRedirect`]: a code, or an error with `error`, `error_description`,
//! `state` and `iss`), or an error page ([`PageProblem`]); [`AuthorizeRefusal`] is either,
//! or an engine failure.

use std::fmt;

use super::OAuthError;
use crate::error::Error;

/// A redirect to the client's `redirect_uri` (the whole `Location` value). `Debug` shows
/// the redirect URI only: the query may carry a code.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRedirect {
    location: String,
    base_len: usize,
}

impl ClientRedirect {
    /// `uri` with `params` appended to its query (percent-encoded).
    pub(super) fn new(uri: &str, params: &[(&str, &str)]) -> Self {
        let mut location = String::with_capacity(uri.len() + 128);
        location.push_str(uri);
        let mut sep = if uri.contains('?') {
            if uri.ends_with('?') || uri.ends_with('&') {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        for (k, v) in params {
            location.push_str(sep);
            location.push_str(k);
            location.push('=');
            push_encoded(&mut location, v);
            sep = "&";
        }
        Self {
            location,
            base_len: uri.len(),
        }
    }

    /// The `Location` header value.
    #[must_use]
    pub fn location(&self) -> &str {
        &self.location
    }
}

impl fmt::Debug for ClientRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRedirect")
            .field("redirect_uri", &&self.location[..self.base_len])
            .finish_non_exhaustive()
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters.
fn push_encoded(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
}

/// `error_description` characters (RFC 6749 §4.1.2.1: `%x20-21 / %x23-5B / %x5D-7E`).
pub(super) fn safe_description(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, ' '..='~') && c != '"' && c != '\\')
        .collect()
}

/// Why an error page is shown instead of anything else. [`PageProblem::message`] is safe
/// to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    /// The request could not be read (an undecodable parameter, a wrong content type).
    Malformed,
    /// No `client_id`.
    MissingClientId,
    /// `client_id` is not an application id, or no such application exists.
    UnknownClient,
    /// No `redirect_uri`.
    MissingRedirectUri,
    /// `redirect_uri` is not one the application registered.
    UnregisteredRedirectUri,
    /// `client_id`, `redirect_uri` or `state` given more than once.
    DuplicatedParameter,
    /// `state` is longer than 2 KiB.
    OversizedState,
    /// The sign-in request is unknown or has expired (the pages' interaction).
    InteractionExpired,
    /// The form's CSRF token or browser binding does not match its interaction.
    FormForged,
    /// The browser session that started this step has ended (signed out meanwhile).
    SessionEnded,
}

impl PageProblem {
    /// A stable machine code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed_request",
            Self::MissingClientId => "missing_client_id",
            Self::UnknownClient => "unknown_client",
            Self::MissingRedirectUri => "missing_redirect_uri",
            Self::UnregisteredRedirectUri => "unregistered_redirect_uri",
            Self::DuplicatedParameter => "duplicated_parameter",
            Self::OversizedState => "oversized_state",
            Self::InteractionExpired => "interaction_expired",
            Self::FormForged => "form_forged",
            Self::SessionEnded => "session_ended",
        }
    }

    /// What the page says.
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::Malformed => "The sign-in request could not be read.",
            Self::MissingClientId => "The sign-in request does not name an application.",
            Self::UnknownClient => "The application that sent you here is not registered.",
            Self::MissingRedirectUri => {
                "The sign-in request does not say where to send you back (redirect_uri)."
            }
            Self::UnregisteredRedirectUri => {
                "The sign-in request asks to send you back to an address the application did not register."
            }
            Self::DuplicatedParameter => {
                "The sign-in request gives client_id, redirect_uri or state more than once."
            }
            Self::OversizedState => "The sign-in request's state parameter is too long.",
            Self::InteractionExpired => "This sign-in request has expired or was already used.",
            Self::FormForged => {
                "This form could not be verified. It may have come from another site."
            }
            Self::SessionEnded => "You were signed out in the meantime.",
        }
    }
}

/// Why an authorization request is refused.
#[derive(Debug, Clone)]
pub enum AuthorizeRefusal {
    /// Show an error page; never redirect.
    Page(PageProblem),
    /// Redirect to the client with an error.
    Redirect {
        /// Where to.
        to: ClientRedirect,
        /// The error it carries.
        error: OAuthError,
        /// The request parameter the error is about.
        parameter: &'static str,
    },
    /// The engine failed (storage): an error page saying to try again.
    Failed(Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_append_to_the_query_and_encode() {
        let r = ClientRedirect::new("https://a.example/cb", &[("code", "x y"), ("state", "&=é")]);
        assert_eq!(
            r.location(),
            "https://a.example/cb?code=x%20y&state=%26%3D%C3%A9"
        );
        let r = ClientRedirect::new("https://a.example/cb?k=v", &[("code", "c")]);
        assert_eq!(r.location(), "https://a.example/cb?k=v&code=c");
        let r = ClientRedirect::new("https://a.example/cb?", &[("code", "c")]);
        assert_eq!(r.location(), "https://a.example/cb?code=c");
        assert!(!format!("{r:?}").contains("code=c"));
    }

    #[test]
    fn descriptions_are_ascii_without_controls_quotes_or_backslashes() {
        assert_eq!(safe_description("a\r\n\tb\"c\\dé~"), "abcd~");
    }
}
