//! OAuth 2.1 / OpenID Connect provider: the operations behind `/oauth2/*`,
//! `/oauth-application/*` and the login and consent pages. No HTTP here: the adapter maps
//! requests onto these calls and [`OAuthError`]s onto OAuth error objects, pages or
//! redirects.
//!
//! Codes, access tokens, refresh tokens and browser sessions are rows of the token table
//! (see [`crate::store::OAuthStore`]); every OAuth token's family is its grant.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`OAuthConfig`], [`OAuthError`] / [`OAuthErrorCode`], [`ClientAuth`], [`CodeRequest`], scope rules ([`SUPPORTED_SCOPES`], [`parse_scopes`]) |
//! | `redirect.rs` | [`redirect::check_registrable`], [`redirect::matches`] (exact, loopback port free) |
//! | `applications.rs` | [`Engine::register_application`], [`Engine::application_configuration`], [`Engine::rotate_application_secret`], [`Engine::remove_application`], [`Engine::list_applications`], [`Engine::application_scope`], [`Engine::consents`], [`Engine::revoke_consent`] → [`Application`], [`ApplicationConfiguration`], [`ApplicationScope`], [`Consent`] |
//! | `codes.rs` | [`Engine::issue_code`] → [`IssuedCode`] (what the front channel calls after login and consent) |
//! | `tokens.rs` | the token endpoint: [`Engine::exchange_code`] ([`CodeExchange`]), [`Engine::refresh_oauth`], [`Engine::client_credentials`] → [`OAuthTokens`] |
//! | `clients.rs` | client authentication ([`ClientAuth`] → application or device), [`ClientSecret`] |
//! | `device_client.rs` | the derived client secret of a device (its client id is its profile id) |
//! | `id_tokens.rs` | RS256 / EdDSA id tokens (`at_hash`, `nonce`, `auth_time`), [`Engine::oauth_jwks`], [`Engine::verify_id_token_hint`] |
//! | `signing.rs` | the RSA signing key (generated once, kept in the store, cached) |
//! | `userinfo.rs` | [`Engine::userinfo`] → [`UserInfo`] |
//! | `introspect.rs` | [`Engine::introspect`] (RFC 7662, [`Introspector`] → [`ActiveToken`]), [`Engine::verify_oauth_access`] (the same check in process), [`Engine::revoke_oauth_token`] (RFC 7009) |
//! | `failure.rs` | [`OAuthFailure`]: a protocol refusal or an engine failure |
//! | `authorize.rs` | checking an authorization request: [`AuthorizeParams`] → [`Engine::check_authorize`] → [`AuthorizeRequest`] or [`AuthorizeRefusal`] |
//! | `answers.rs` | what a request is answered with besides the pages: [`ClientRedirect`] (code or error, with `state` and `iss`), [`PageProblem`] (the error page), [`AuthorizeRefusal`] |
//! | `interactions.rs` | the pending authorizations of the login and consent pages: bounded, in memory, opaque ids, CSRF token and browser binding ([`InteractionView`], [`FormProof`]) |
//! | `browser.rs` | the pages' sign-in: [`Engine::browser_login`], [`Engine::browser_new_password`], [`Engine::browser_session`], [`Engine::browser_sign_out`], [`Engine::new_browser_binding`] |
//! | `consent.rs` | the decision after sign-in: [`Engine::authorize`] → [`AuthorizeStep`], [`Engine::interaction_page`], [`Engine::decide_consent`], [`Engine::cancel_interaction`]; without the browser: [`Engine::retrieve_authorization_code`] → [`RetrievedCode`] |
//!
//! [`Engine`]: crate::Engine
//! [`Engine::register_application`]: crate::Engine::register_application
//! [`Engine::application_configuration`]: crate::Engine::application_configuration
//! [`Engine::rotate_application_secret`]: crate::Engine::rotate_application_secret
//! [`Engine::remove_application`]: crate::Engine::remove_application
//! [`Engine::list_applications`]: crate::Engine::list_applications
//! [`Engine::application_scope`]: crate::Engine::application_scope
//! [`Engine::consents`]: crate::Engine::consents
//! [`Engine::revoke_consent`]: crate::Engine::revoke_consent
//! [`Engine::issue_code`]: crate::Engine::issue_code
//! [`Engine::exchange_code`]: crate::Engine::exchange_code
//! [`Engine::refresh_oauth`]: crate::Engine::refresh_oauth
//! [`Engine::client_credentials`]: crate::Engine::client_credentials
//! [`Engine::oauth_jwks`]: crate::Engine::oauth_jwks
//! [`Engine::verify_id_token_hint`]: crate::Engine::verify_id_token_hint
//! [`Engine::userinfo`]: crate::Engine::userinfo
//! [`Engine::introspect`]: crate::Engine::introspect
//! [`Engine::verify_oauth_access`]: crate::Engine::verify_oauth_access
//! [`Engine::revoke_oauth_token`]: crate::Engine::revoke_oauth_token
//! [`Engine::check_authorize`]: crate::Engine::check_authorize
//! [`Engine::browser_login`]: crate::Engine::browser_login
//! [`Engine::browser_new_password`]: crate::Engine::browser_new_password
//! [`Engine::browser_session`]: crate::Engine::browser_session
//! [`Engine::browser_sign_out`]: crate::Engine::browser_sign_out
//! [`Engine::new_browser_binding`]: crate::Engine::new_browser_binding
//! [`Engine::authorize`]: crate::Engine::authorize
//! [`Engine::interaction_page`]: crate::Engine::interaction_page
//! [`Engine::decide_consent`]: crate::Engine::decide_consent
//! [`Engine::cancel_interaction`]: crate::Engine::cancel_interaction
//! [`Engine::retrieve_authorization_code`]: crate::Engine::retrieve_authorization_code

mod answers;
mod applications;
mod authorize;
mod browser;
mod clients;
mod codes;
mod consent;
mod device_client;
mod failure;
mod id_tokens;
mod interactions;
mod introspect;
pub mod redirect;
pub(crate) mod signing;
mod tokens;
mod userinfo;

pub use applications::{
    Application, ApplicationConfiguration, ApplicationRef, ApplicationScope, Consent,
    MAX_APPLICATION_NAME, MAX_REDIRECT_URIS, NewApplication,
};
pub use clients::{CLIENT_SECRET_PREFIX, ClientSecret, MAX_CLIENT_CREDENTIAL_LEN};
pub use codes::{CODE_CHALLENGE_LEN, IssuedCode};
pub use device_client::DEVICE_SECRET_PREFIX;
pub use failure::OAuthFailure;
pub use id_tokens::MAX_ID_TOKEN_HINT_LEN;
pub use introspect::{ActiveToken, Introspector};
pub use tokens::{CODE_VERIFIER_LEN, CodeExchange, OAuthTokens};
pub use userinfo::UserInfo;

pub use answers::{AuthorizeRefusal, ClientRedirect, PageProblem};
pub use authorize::{AuthorizeParams, AuthorizeRequest, MAX_NONCE_LEN, Prompt};
pub use browser::{BrowserLogin, BrowserSession, FrontError};
pub use consent::{AuthorizeStep, BrowserContext, RetrievedCode};
pub(crate) use interactions::Interactions;
pub use interactions::{FormProof, InteractionView, MAX_INTERACTIONS};

use std::fmt;

use uuid::Uuid;

use crate::clock::Timestamp;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The scopes every server supports; `[oauth] extra_scopes` adds more.
pub const SUPPORTED_SCOPES: [&str; 5] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "directories",
];

/// Longest `scope` parameter accepted (bytes).
pub const MAX_SCOPE_LEN: usize = 1024;

/// Longest `state` parameter accepted (bytes); it is echoed on every redirect.
pub const MAX_STATE_LEN: usize = 2048;

/// OAuth settings (`[oauth]` in the server's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// The issuer (`iss`): the server's public URL without a trailing slash. The server
    /// sets it after binding, so `--listen 127.0.0.1:0` gives the real port.
    pub issuer: String,
    /// Scopes allowed beside [`SUPPORTED_SCOPES`] (names of 1–64 of `A-Z a-z 0-9 _ - . : /`).
    pub extra_scopes: Vec<String>,
    /// Lifetime of access tokens in seconds (default 3600).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh-token family in seconds, from the sign-in (default 30 d);
    /// rotation keeps the family's expiry.
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of authorization codes in seconds (default 60, at most 600).
    pub code_ttl_secs: u64,
    /// Lifetime of id tokens in seconds (default 3600).
    pub id_token_ttl_secs: u64,
    /// Lifetime of a browser session of the pages, in seconds (default 8 h).
    pub browser_session_ttl_secs: u64,
    /// How long a pending authorization (login and consent pages) stays usable, in seconds
    /// (default 600).
    pub interaction_ttl_secs: u64,
    /// Applications the operator marks as first-party: their users are not asked for
    /// consent.
    pub first_party_clients: Vec<Uuid>,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            issuer: "http://127.0.0.1:9009".to_owned(),
            extra_scopes: Vec::new(),
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 30 * 86_400,
            code_ttl_secs: 60,
            id_token_ttl_secs: 3600,
            browser_session_ttl_secs: 8 * 3600,
            interaction_ttl_secs: 600,
            first_party_clients: Vec::new(),
        }
    }
}

impl OAuthConfig {
    /// Whether `scope` is supported on this server.
    #[must_use]
    pub fn supports(&self, scope: &str) -> bool {
        SUPPORTED_SCOPES.contains(&scope) || self.extra_scopes.iter().any(|s| s == scope)
    }

    /// Every supported scope, the standard ones first.
    #[must_use]
    pub fn scopes_supported(&self) -> Vec<String> {
        SUPPORTED_SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .chain(self.extra_scopes.iter().cloned())
            .collect()
    }
}

/// The `error` codes of OAuth 2.1, OpenID Connect and RFC 6750.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OAuthErrorCode {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client` (client authentication failed: 401 at the token endpoint)
    InvalidClient,
    /// `invalid_grant`
    InvalidGrant,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `unsupported_response_type`
    UnsupportedResponseType,
    /// `invalid_scope`
    InvalidScope,
    /// `access_denied`
    AccessDenied,
    /// `login_required`
    LoginRequired,
    /// `consent_required`
    ConsentRequired,
    /// `interaction_required`
    InteractionRequired,
    /// `invalid_token` (RFC 6750: userinfo with a bad access token)
    InvalidToken,
    /// `server_error`
    ServerError,
    /// `temporarily_unavailable`
    TemporarilyUnavailable,
}

impl OAuthErrorCode {
    /// The wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::LoginRequired => "login_required",
            Self::ConsentRequired => "consent_required",
            Self::InteractionRequired => "interaction_required",
            Self::InvalidToken => "invalid_token",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
        }
    }
}

/// An OAuth protocol refusal: a code and a description safe to show (ASCII, no CR/LF/TAB,
/// no internals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The `error` code.
    pub code: OAuthErrorCode,
    /// The `error_description`.
    pub description: String,
}

impl OAuthError {
    /// An error with a description.
    #[must_use]
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.description)
    }
}

impl std::error::Error for OAuthError {}

/// How a client authenticated at the token, introspection or revocation endpoint: its id
/// and, for `client_secret_basic` / `client_secret_post`, its secret (`None` for public
/// clients, `none`). Zeroized on drop; `Debug` hides the secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ClientAuth {
    /// The `client_id` as sent.
    pub client_id: String,
    /// The secret as sent.
    pub secret: Option<String>,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a code is issued for: an authorization request that has been checked (client,
/// redirect URI, scopes, PKCE) and approved by a signed-in profile. The front channel
/// (authorize pages, `retrieve-authorization-code`) builds it; the back channel issues the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    /// The application.
    pub client_id: Uuid,
    /// The redirect URI exactly as the request sent it (the token request must repeat it).
    pub redirect_uri: String,
    /// Granted scopes, in request order.
    pub scopes: Vec<String>,
    /// PKCE S256 challenge, if sent.
    pub code_challenge: Option<String>,
    /// OpenID `nonce`, if sent.
    pub nonce: Option<String>,
    /// When the profile last entered its password.
    pub auth_time: Timestamp,
}

/// Split a `scope` parameter (space-separated, RFC 6749 §3.3) into distinct scope names in
/// request order. Every name must be supported by `config` and, when `allowed` is given,
/// be one of the application's scopes; otherwise `invalid_scope`. An empty or oversized
/// parameter, or a name with characters outside `%x21 / %x23-5B / %x5D-7E`, is
/// `invalid_scope` too.
pub fn parse_scopes(
    text: &str,
    config: &OAuthConfig,
    allowed: Option<&[String]>,
) -> Result<Vec<String>, OAuthError> {
    if text.len() > MAX_SCOPE_LEN {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "scope is too long",
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for name in text.split(' ').filter(|s| !s.is_empty()) {
        let well_formed = name
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !well_formed || !config.supports(name) {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "a requested scope is not supported",
            ));
        }
        if allowed.is_some_and(|a| !a.iter().any(|s| s == name)) {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidScope,
                "a requested scope is not registered for this application",
            ));
        }
        if !out.iter().any(|s| s == name) {
            out.push(name.to_owned());
        }
    }
    if out.is_empty() {
        return Err(OAuthError::new(
            OAuthErrorCode::InvalidScope,
            "no scope requested",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_deduplicated_and_kept_in_order() {
        let c = OAuthConfig {
            extra_scopes: vec!["orders:read".to_owned()],
            ..OAuthConfig::default()
        };
        assert_eq!(
            parse_scopes("openid  profile openid orders:read", &c, None).unwrap(),
            ["openid", "profile", "orders:read"]
        );
        for bad in ["", "   ", "openid admin", "openid\u{7f}", "open\"id"] {
            assert_eq!(
                parse_scopes(bad, &c, None).unwrap_err().code,
                OAuthErrorCode::InvalidScope,
                "{bad:?}"
            );
        }
        let allowed = vec!["openid".to_owned()];
        assert!(parse_scopes("openid", &c, Some(&allowed)).is_ok());
        assert!(parse_scopes("openid email", &c, Some(&allowed)).is_err());
        assert!(parse_scopes(&"openid ".repeat(300), &c, None).is_err());
    }
}
