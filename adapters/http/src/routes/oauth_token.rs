//! `POST /oauth2/token` (RFC 6749 §3.2, OAuth 2.1): `authorization_code`, `refresh_token`
//! and `client_credentials`, one engine call each. Client authentication by
//! `client_secret_basic`, `client_secret_post` or `none` (public clients, PKCE). Every
//! reply, errors included, has `Cache-Control: no-store` and `Pragma: no-cache`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use tessera_core::engine::oauth::{CodeExchange, OAuthErrorCode, OAuthFailure, OAuthTokens};
use utoipa::ToSchema;

use super::super::oauth_wire::{
    OAuthErrorBody, OAuthErrorReply, client_credentials, failure_response, no_store, oauth_form,
    param, required,
};
use super::super::{ApiError, AppState, ErrorBody, Form, json};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new().route("/oauth2/token", post(oauth_token))
}

/// The token request (`application/x-www-form-urlencoded`). Unknown parameters are
/// ignored; one given twice → `invalid_request`; an empty one counts as absent.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // the documented shape; `token` reads the same names with `param`
pub(crate) struct OAuthTokenForm {
    /// `authorization_code`, `refresh_token` or `client_credentials` (anything else →
    /// `unsupported_grant_type`).
    grant_type: String,
    /// `authorization_code`: the code (`tsc_…`, single use, 60 s).
    code: Option<String>,
    /// `authorization_code`: the authorization request's `redirect_uri`, byte for byte
    /// (may be left out when the code was issued with a PKCE challenge).
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (43–128 characters), exactly when the code
    /// has a challenge.
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token (`tsf_…`, single use).
    refresh_token: Option<String>,
    /// `client_credentials`: the scopes asked for (default: all the client may have);
    /// `refresh_token`: the granted scopes (a refresh keeps them).
    scope: Option<String>,
    /// `client_secret_post` and public clients: the client id.
    client_id: Option<String>,
    /// `client_secret_post`: the client secret.
    client_secret: Option<String>,
}

/// The access token reply (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthTokenReply {
    /// `tso_…`: an opaque access token (Bearer).
    access_token: String,
    /// `Bearer`.
    #[schema(pattern = "^Bearer$")]
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// The granted scopes, space-separated (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// `tsf_…`: only with scope `offline_access`; single use, each refresh returns the
    /// next one.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    /// The OpenID id token (RS256 or EdDSA, see `/oauth2/jwks`): only with scope `openid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl From<&OAuthTokens> for OAuthTokenReply {
    fn from(t: &OAuthTokens) -> Self {
        let scope = t.scope();
        Self {
            access_token: t.access_token.expose().to_owned(),
            token_type: "Bearer",
            expires_in: t.expires_in,
            scope: (!scope.is_empty()).then_some(scope),
            refresh_token: t.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            id_token: t.id_token.clone(),
        }
    }
}

#[utoipa::path(post, path = "/oauth2/token", tag = "oauth2",
    security((), ("basic" = [])),
    request_body(content = OAuthTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (Cache-Control: no-store)", body = OAuthTokenReply),
        (status = 400, description = "invalid_request, invalid_grant (code or refresh token invalid, expired, used, another client's; redirect_uri or PKCE mismatch), unauthorized_client, unsupported_grant_type, invalid_scope", body = OAuthErrorBody),
        (status = 401, description = "invalid_client (WWW-Authenticate: Basic when the client used the Authorization header)", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is over the limit", body = OAuthErrorBody),
        (status = 415, description = "invalid_request: not application/x-www-form-urlencoded", body = OAuthErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn oauth_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ApiError>,
) -> Response {
    no_store(match issue(&s, &headers, form).await {
        Ok(t) => json(axum::http::StatusCode::OK, &OAuthTokenReply::from(&t)),
        Err(res) => res,
    })
}

async fn issue(
    s: &AppState,
    headers: &HeaderMap,
    form: Result<Form, ApiError>,
) -> Result<OAuthTokens, Response> {
    let form = oauth_form(form).map_err(IntoResponse::into_response)?;
    let creds = client_credentials(headers, &form).map_err(IntoResponse::into_response)?;
    let refused = |e| OAuthErrorReply::of(e).into_response();
    let grant_type = required(&form, "grant_type").map_err(refused)?;
    let Some(auth) = creds.auth.as_ref() else {
        return Err(failure_response(
            OAuthFailure::Refused(tessera_core::engine::oauth::OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "client authentication failed: send client_id (and the secret)",
            )),
            creds.basic,
        ));
    };
    let result = match grant_type {
        "authorization_code" => {
            let req = CodeExchange {
                code: required(&form, "code").map_err(refused)?,
                redirect_uri: param(&form, "redirect_uri").map_err(refused)?,
                code_verifier: param(&form, "code_verifier").map_err(refused)?,
            };
            s.engine.exchange_code(auth, &req).await
        }
        "refresh_token" => {
            let token = required(&form, "refresh_token").map_err(refused)?;
            let scope = param(&form, "scope").map_err(refused)?;
            s.engine.refresh_oauth(auth, token, scope).await
        }
        "client_credentials" => {
            let scope = param(&form, "scope").map_err(refused)?;
            s.engine.client_credentials(auth, scope).await
        }
        _ => {
            return Err(OAuthErrorReply::new(
                OAuthErrorCode::UnsupportedGrantType,
                "grant_type must be authorization_code, refresh_token or client_credentials",
            )
            .into_response());
        }
    };
    audit(grant_type, &auth.client_id, result.as_ref().err());
    result.map_err(|f| failure_response(f, creds.basic))
}

/// One audit line per token request (never a token, code or secret).
fn audit(grant_type: &str, client_id: &str, failure: Option<&OAuthFailure>) {
    let outcome = match failure {
        None => "success",
        Some(OAuthFailure::Refused(e)) => e.code.as_str(),
        Some(OAuthFailure::Engine(_)) => "error",
    };
    // `?` (Debug) escapes control characters, so a crafted id cannot forge log lines.
    let client = client_id.get(..64).unwrap_or(client_id);
    tracing::info!(target: "tessera::audit", event = "oauth_token", grant_type = ?grant_type, client_id = ?client, outcome, "token request");
}
