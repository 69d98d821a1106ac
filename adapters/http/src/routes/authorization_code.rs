//! `POST /oauth-application/retrieve-authorization-code` (Privicore "Retrieve OAuth app
//! authorization code"): a profile that already holds a token (a native app, a device)
//! gets a code without the browser pages; its own call is its consent. Privicore
//! conventions: a form body, `X-DPT-AUTHORIZATION`, our error shape.

use axum::extract::State;
use serde::Serialize;
use tessera_core::engine::oauth::AuthorizeParams;
use utoipa::ToSchema;

use super::super::fields::{read, wire_body};
use super::super::reply::JsonReply;
use super::super::{Active, ApiError, AppState, ErrorBody, Form};

wire_body! {
    /// The authorization request, without the browser.
    struct RetrieveCodeForm<'a> from Form {
        /// The application's client id (a UUID).
        client_id: &'a str = "client_id",
        /// One of the application's registered redirect URIs (exact; a loopback one with
        /// any port); the token request must repeat it.
        redirect_uri: &'a str = "redirect_uri",
        /// Space-separated scopes the application registered.
        scope: &'a str = "scope",
        /// PKCE: base64url(SHA-256(code_verifier)), 43 characters.
        #[schema(min_length = 43, max_length = 43)]
        code_challenge: &'a str = "code_challenge",
        /// `S256` (the only method).
        #[schema(pattern = "^S256$")]
        code_challenge_method: &'a str = "code_challenge_method",
        /// Echoed in the reply (at most 2048 bytes).
        #[schema(max_length = 2048)]
        state: Option<&'a str> = "state",
        /// OpenID nonce, copied into the id token (at most 512 bytes).
        #[schema(max_length = 512)]
        nonce: Option<&'a str> = "nonce",
    }
}

/// A code for the token endpoint (`obtain-access-token` or `/oauth2/token`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuthorizationCodeReply {
    /// `tsc_…`: single use, short-lived.
    code: String,
    /// The request's `state` (`null` when none was sent).
    state: Option<String>,
    /// The redirect URI the token request must repeat.
    #[serde(rename = "redirectUri")]
    redirect_uri: String,
    /// When the code expires (RFC 3339).
    #[serde(rename = "expiresAt")]
    expires_at: String,
}

/// `POST /oauth-application/retrieve-authorization-code`.
#[utoipa::path(post, path = "/oauth-application/retrieve-authorization-code", tag = "oauth-application",
    security(("token" = [])),
    request_body(content = RetrieveCodeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A code for the token endpoint; the call is the profile's consent to the scopes", body = AuthorizationCodeReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected; forbidden: a device (devices get their tokens with client_credentials)", body = ErrorBody),
        (status = 404, description = "not_found: no such application", body = ErrorBody),
        (status = 422, description = "validation_failed naming the parameter: a missing field, an unregistered redirect_uri or scope, a code_challenge that is not S256", body = ErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn retrieve_authorization_code(
    State(s): State<AppState>,
    Active(p): Active,
    form: Form,
) -> Result<JsonReply<AuthorizationCodeReply>, ApiError> {
    let f: RetrieveCodeForm<'_> = read(&form)?;
    let mut params = AuthorizeParams::default();
    for (name, value) in [
        ("client_id", Some(f.client_id)),
        ("redirect_uri", Some(f.redirect_uri)),
        ("scope", Some(f.scope)),
        ("code_challenge", Some(f.code_challenge)),
        ("code_challenge_method", Some(f.code_challenge_method)),
        ("state", f.state),
        ("nonce", f.nonce),
    ] {
        if let Some(v) = value {
            params.set(name, v);
        }
    }
    let issued = s.engine.retrieve_authorization_code(&p, &params).await?;
    Ok(JsonReply(AuthorizationCodeReply {
        code: issued.code.expose().to_owned(),
        state: issued.state,
        redirect_uri: issued.redirect_uri,
        expires_at: issued.expires_at.to_rfc3339(),
    }))
}
