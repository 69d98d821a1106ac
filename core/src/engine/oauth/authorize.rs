//! Checking an authorization request (`/oauth2/authorize`): from the raw parameters to a
//! checked [`AuthorizeRequest`], or a refusal.
//!
//! Until `client_id` and `redirect_uri` are known good, every refusal is an error **page**
//! (never a redirect: RFC 6749 §4.1.2.1, RFC 9700 §4.11); after, it is an error **redirect**
//! to the client with `error`, `error_description`, `state` and `iss` (RFC 9207).
//!
//! Decisions where the contract was open:
//! - `redirect_uri` is required even when the client has registered only one (OAuth 2.1).
//! - A `state` longer than [`MAX_STATE_LEN`] is refused with a page: the state is echoed
//!   on every redirect, and echoing it is what is refused (a redirect without it would
//!   look like a forged response to the client).
//! - `client_id`, `redirect_uri` or `state` given twice → page (which one would we trust?);
//!   any other known parameter given twice → `invalid_request` (RFC 6749 §3.1).
//! - A missing `scope` → `invalid_scope` (no default scopes).
//! - `code_challenge` without `code_challenge_method` is `plain` by RFC 7636, so it is
//!   refused like `plain` (`invalid_request`): only S256 is supported.

use uuid::Uuid;

use super::answers::{AuthorizeRefusal, ClientRedirect, PageProblem, safe_description};
use super::codes::is_s256_challenge;
use super::{CodeRequest, MAX_STATE_LEN, OAuthError, OAuthErrorCode, parse_scopes, redirect};
use crate::Engine;
use crate::clock::Timestamp;

/// Longest `nonce` accepted (bytes); it is copied into the id token.
pub const MAX_NONCE_LEN: usize = 512;

/// Longest `login_hint` used (bytes); a longer one is ignored.
const MAX_LOGIN_HINT_LEN: usize = 256;

/// The raw parameters of an authorization request, as sent (query string or form body).
/// Parameters not named here are ignored. Fill it with [`AuthorizeParams::set`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizeParams {
    /// `response_type`
    pub response_type: Option<String>,
    /// `client_id`
    pub client_id: Option<String>,
    /// `redirect_uri`
    pub redirect_uri: Option<String>,
    /// `scope`
    pub scope: Option<String>,
    /// `state`
    pub state: Option<String>,
    /// `code_challenge`
    pub code_challenge: Option<String>,
    /// `code_challenge_method`
    pub code_challenge_method: Option<String>,
    /// `nonce`
    pub nonce: Option<String>,
    /// `prompt`
    pub prompt: Option<String>,
    /// `max_age`
    pub max_age: Option<String>,
    /// `login_hint`
    pub login_hint: Option<String>,
    /// `id_token_hint`
    pub id_token_hint: Option<String>,
    /// `display` (accepted, not used)
    pub display: Option<String>,
    /// `ui_locales` (accepted, not used)
    pub ui_locales: Option<String>,
    /// `acr_values` (accepted, not used)
    pub acr_values: Option<String>,
    /// `claims` (accepted, not used)
    pub claims: Option<String>,
    /// The parameters above that were given more than once.
    pub duplicated: Vec<&'static str>,
}

impl AuthorizeParams {
    /// Record parameter `name` = `value`: unknown names are ignored; a known one given a
    /// second time is remembered in [`AuthorizeParams::duplicated`].
    pub fn set(&mut self, name: &str, value: &str) {
        let (wire, slot): (&'static str, &mut Option<String>) = match name {
            "response_type" => ("response_type", &mut self.response_type),
            "client_id" => ("client_id", &mut self.client_id),
            "redirect_uri" => ("redirect_uri", &mut self.redirect_uri),
            "scope" => ("scope", &mut self.scope),
            "state" => ("state", &mut self.state),
            "code_challenge" => ("code_challenge", &mut self.code_challenge),
            "code_challenge_method" => ("code_challenge_method", &mut self.code_challenge_method),
            "nonce" => ("nonce", &mut self.nonce),
            "prompt" => ("prompt", &mut self.prompt),
            "max_age" => ("max_age", &mut self.max_age),
            "login_hint" => ("login_hint", &mut self.login_hint),
            "id_token_hint" => ("id_token_hint", &mut self.id_token_hint),
            "display" => ("display", &mut self.display),
            "ui_locales" => ("ui_locales", &mut self.ui_locales),
            "acr_values" => ("acr_values", &mut self.acr_values),
            "claims" => ("claims", &mut self.claims),
            _ => return,
        };
        if slot.is_some() {
            if !self.duplicated.contains(&wire) {
                self.duplicated.push(wire);
            }
        } else {
            *slot = Some(value.to_owned());
        }
    }

    fn is_duplicated(&self, name: &str) -> bool {
        self.duplicated.contains(&name)
    }
}

/// The `prompt` values of a request (OpenID Connect Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prompt {
    /// `none`: no page may be shown.
    pub none: bool,
    /// `login`: ask for the password again.
    pub login: bool,
    /// `consent`: ask for consent again.
    pub consent: bool,
}

impl Prompt {
    fn parse(text: &str) -> Result<Self, OAuthError> {
        let mut p = Self::default();
        for v in text.split(' ').filter(|s| !s.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                _ => {
                    return Err(invalid_request("prompt must be none, login or consent"));
                }
            }
        }
        if p.none && (p.login || p.consent) {
            return Err(invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(p)
    }
}

/// A checked authorization request: the client and redirect URI are good, and so is the
/// rest. Everything the pages and the code need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The application.
    pub client_id: Uuid,
    /// Its display name (for the pages).
    pub client_name: String,
    /// Consent is not asked (operator's `first_party_clients` or the record's mark).
    pub first_party: bool,
    /// The redirect URI exactly as sent (it matched a registered one).
    pub redirect_uri: String,
    /// The requested scopes (supported, registered for the client), in request order.
    pub scopes: Vec<String>,
    /// `state`, echoed on every redirect.
    pub state: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// OpenID `nonce`.
    pub nonce: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `login_hint`, to prefill the username field.
    pub login_hint: Option<String>,
    /// The `sub` of a valid `id_token_hint`.
    pub id_token_hint: Option<Uuid>,
    /// The issuer (`iss` of every redirect).
    pub issuer: String,
}

impl AuthorizeRequest {
    /// What a code for this request is issued for, signed in at `auth_time`.
    #[must_use]
    pub fn code_request(&self, auth_time: Timestamp) -> CodeRequest {
        CodeRequest {
            client_id: self.client_id,
            redirect_uri: self.redirect_uri.clone(),
            scopes: self.scopes.clone(),
            code_challenge: self.code_challenge.clone(),
            nonce: self.nonce.clone(),
            auth_time,
        }
    }

    /// The error redirect for `error`: `error`, `error_description`, `state`, `iss`.
    #[must_use]
    pub fn error_redirect(&self, error: &OAuthError) -> ClientRedirect {
        let description = safe_description(&error.description);
        let mut params = vec![
            ("error", error.code.as_str()),
            ("error_description", description.as_str()),
        ];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.issuer));
        ClientRedirect::new(&self.redirect_uri, &params)
    }

    /// The success redirect: `code`, `state`, `iss`.
    #[must_use]
    pub fn code_redirect(&self, code: &str) -> ClientRedirect {
        let mut params = vec![("code", code)];
        if let Some(s) = &self.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.issuer));
        ClientRedirect::new(&self.redirect_uri, &params)
    }
}

fn invalid_request(description: &str) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidRequest, description)
}

/// `max_age`: ASCII digits, a non-negative integer (huge values saturate).
fn parse_max_age(text: &str) -> Result<u64, OAuthError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid_request("max_age must be a non-negative integer"));
    }
    Ok(text.parse::<u64>().unwrap_or(u64::MAX))
}

impl Engine {
    /// Check an authorization request. Page problems come first (client, redirect URI,
    /// duplicated or oversized `state`); then, in this order, each refused with a redirect:
    /// a duplicated parameter, `response_type` (missing: `invalid_request`, not `code`:
    /// `unsupported_response_type`), `scope` (`invalid_scope`), `prompt`, `max_age`, PKCE
    /// (S256 only; required for public clients, and for confidential ones unless the
    /// request is an OpenID one with a `nonce`), `nonce` length, `id_token_hint`.
    pub async fn check_authorize(
        &self,
        params: &AuthorizeParams,
    ) -> Result<AuthorizeRequest, AuthorizeRefusal> {
        use AuthorizeRefusal::Page;
        for name in ["client_id", "redirect_uri", "state"] {
            if params.is_duplicated(name) {
                return Err(Page(PageProblem::DuplicatedParameter));
            }
        }
        let client_id = params
            .client_id
            .as_deref()
            .ok_or(Page(PageProblem::MissingClientId))?;
        let client_id = Uuid::try_parse(client_id).map_err(|_| Page(PageProblem::UnknownClient))?;
        let client = self
            .store
            .get_client(client_id)
            .await
            .map_err(|e| AuthorizeRefusal::Failed(e.into()))?
            .ok_or(Page(PageProblem::UnknownClient))?;
        let redirect_uri = params
            .redirect_uri
            .as_deref()
            .ok_or(Page(PageProblem::MissingRedirectUri))?;
        if redirect_uri.len() > redirect::MAX_REDIRECT_URI_LEN
            || !client
                .redirect_uris
                .iter()
                .any(|r| redirect::matches(r, redirect_uri))
        {
            return Err(Page(PageProblem::UnregisteredRedirectUri));
        }
        if params
            .state
            .as_ref()
            .is_some_and(|s| s.len() > MAX_STATE_LEN)
        {
            return Err(Page(PageProblem::OversizedState));
        }
        let oauth = &self.cfg.oauth;
        let mut req = AuthorizeRequest {
            client_id,
            first_party: client.first_party || oauth.first_party_clients.contains(&client_id),
            client_name: client.name.clone(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: Vec::new(),
            state: params.state.clone(),
            code_challenge: None,
            nonce: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            id_token_hint: None,
            issuer: oauth.issuer.clone(),
        };
        match self.check_rest(params, &client, &mut req).await {
            Ok(()) => Ok(req),
            Err((parameter, error)) => Err(AuthorizeRefusal::Redirect {
                to: req.error_redirect(&error),
                error,
                parameter,
            }),
        }
    }

    /// Everything after the client and redirect URI are known good. An error names the
    /// parameter it is about.
    async fn check_rest(
        &self,
        params: &AuthorizeParams,
        client: &crate::store::OAuthClientRecord,
        req: &mut AuthorizeRequest,
    ) -> Result<(), (&'static str, OAuthError)> {
        if let Some(name) = params.duplicated.first() {
            return Err((
                name,
                invalid_request(&format!("{name} is given more than once")),
            ));
        }
        match params.response_type.as_deref() {
            None => {
                return Err((
                    "response_type",
                    invalid_request("response_type is required"),
                ));
            }
            Some("code") => {}
            Some(_) => {
                return Err((
                    "response_type",
                    OAuthError::new(
                        OAuthErrorCode::UnsupportedResponseType,
                        "only response_type=code is supported",
                    ),
                ));
            }
        }
        let at = |name: &'static str| move |e: OAuthError| (name, e);
        let scope = params.scope.as_deref().ok_or((
            "scope",
            OAuthError::new(OAuthErrorCode::InvalidScope, "scope is required"),
        ))?;
        req.scopes =
            parse_scopes(scope, &self.cfg.oauth, Some(&client.scopes)).map_err(at("scope"))?;
        if let Some(p) = params.prompt.as_deref() {
            req.prompt = Prompt::parse(p).map_err(at("prompt"))?;
        }
        req.max_age = params
            .max_age
            .as_deref()
            .map(parse_max_age)
            .transpose()
            .map_err(at("max_age"))?;
        req.nonce = match params.nonce.as_deref() {
            Some(n) if n.len() > MAX_NONCE_LEN => {
                return Err(("nonce", invalid_request("nonce is too long")));
            }
            Some("") | None => None,
            Some(n) => Some(n.to_owned()),
        };
        req.code_challenge =
            pkce(params, client.confidential, req).map_err(at("code_challenge"))?;
        req.login_hint = params
            .login_hint
            .as_deref()
            .filter(|h| !h.is_empty() && h.len() <= MAX_LOGIN_HINT_LEN)
            .map(str::to_owned);
        if let Some(hint) = params.id_token_hint.as_deref() {
            let sub = self
                .verify_id_token_hint(hint)
                .await
                .map_err(at("id_token_hint"))?;
            req.id_token_hint = Some(sub);
        }
        Ok(())
    }
}

/// The PKCE rules (RFC 9700 §2.1.1, OAuth 2.1 §4.1.1): the S256 challenge, if any.
fn pkce(
    params: &AuthorizeParams,
    confidential: bool,
    req: &AuthorizeRequest,
) -> Result<Option<String>, OAuthError> {
    match (
        params.code_challenge.as_deref(),
        params.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if is_s256_challenge(c) => Ok(Some(c.to_owned())),
        (Some(_), Some("S256")) => Err(invalid_request(
            "code_challenge must be 43 base64url characters (S256)",
        )),
        (Some(_), _) | (None, Some(_)) => Err(invalid_request(
            "code_challenge_method must be S256, with a code_challenge",
        )),
        (None, None) => {
            let openid_with_nonce = req.scopes.iter().any(|s| s == "openid") && req.nonce.is_some();
            if confidential && openid_with_nonce {
                Ok(None)
            } else if confidential {
                Err(invalid_request(
                    "PKCE (code_challenge, S256) is required unless an OpenID request sends a nonce",
                ))
            } else {
                Err(invalid_request(
                    "PKCE (code_challenge, S256) is required for public clients",
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_record_duplicates_and_ignore_unknown_names() {
        let mut p = AuthorizeParams::default();
        p.set("scope", "openid");
        p.set("scope", "email");
        p.set("extra", "foobar");
        p.set("state", "s");
        assert_eq!(p.scope.as_deref(), Some("openid"));
        assert_eq!(p.duplicated, ["scope"]);
        assert!(p.is_duplicated("scope") && !p.is_duplicated("state"));
    }

    #[test]
    fn prompt_values() {
        assert!(Prompt::parse("none").unwrap().none);
        let p = Prompt::parse("login consent").unwrap();
        assert!(p.login && p.consent && !p.none);
        for bad in ["select_account", "none login", "NONE"] {
            assert_eq!(
                Prompt::parse(bad).unwrap_err().code,
                OAuthErrorCode::InvalidRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn max_age_is_a_non_negative_integer() {
        assert_eq!(parse_max_age("0").unwrap(), 0);
        assert_eq!(parse_max_age("15000").unwrap(), 15000);
        assert_eq!(parse_max_age("99999999999999999999999").unwrap(), u64::MAX);
        for bad in ["", "-1", "1.5", " 1", "+1", "1e3"] {
            assert!(parse_max_age(bad).is_err(), "{bad}");
        }
    }
}
