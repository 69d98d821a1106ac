//! `POST /oauth2/introspect` (RFC 7662) and `POST /oauth2/revoke` (RFC 7009).
//!
//! Introspection: the client's own credentials (as at the token endpoint), or a server API
//! key in `X-Tessera-Api-Key` for any token. Anything not live → `{"active":false}`.
//! Revocation: the client's credentials; 200 for any token, known or not.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use tessera_core::engine::oauth::{
    ActiveToken, ClientAuth, Introspector, OAuthError, OAuthErrorCode, OAuthFailure,
};
use utoipa::ToSchema;

use super::super::oauth_wire::{
    OAuthErrorBody, OAuthErrorReply, client_credentials, failure_response, no_store, oauth_form,
    required,
};
use super::super::{API_KEY_HEADER, ApiError, AppState, ErrorBody, Form, json};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/oauth2/introspect", post(oauth_introspect))
        .route("/oauth2/revoke", post(oauth_revoke))
}

/// An introspection or revocation request (`application/x-www-form-urlencoded`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // the documented shape; the handlers read the same names
pub(crate) struct OAuthTokenParamForm {
    /// The token (`tso_…` access or `tsf_…` refresh token).
    token: String,
    /// `access_token` or `refresh_token`: a hint, ignored (the prefix tells).
    token_type_hint: Option<String>,
    /// `client_secret_post` and public clients: the client id.
    client_id: Option<String>,
    /// `client_secret_post`: the client secret.
    client_secret: Option<String>,
}

/// RFC 7662 §2.2. Only `active` when the token is not live.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthIntrospectionReply {
    /// Whether the token is live (and, for a client, its own).
    active: bool,
    /// Granted scopes, space-separated.
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    /// The client the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    /// Whom it speaks for: the profile id, or the client id for an application's
    /// `client_credentials` token.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// The profile's username.
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    /// `Bearer` (access token) or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// Expiry (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Issue time (seconds since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    /// The issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
}

impl From<Option<ActiveToken>> for OAuthIntrospectionReply {
    fn from(t: Option<ActiveToken>) -> Self {
        let Some(t) = t else {
            return Self {
                active: false,
                scope: None,
                client_id: None,
                sub: None,
                username: None,
                token_type: None,
                exp: None,
                iat: None,
                iss: None,
            };
        };
        Self {
            active: true,
            scope: Some(t.scope),
            client_id: Some(t.client_id.hyphenated().to_string()),
            sub: Some(t.sub.hyphenated().to_string()),
            username: t.username,
            token_type: Some(t.token_type),
            exp: Some(t.exp.0),
            iat: Some(t.iat.0),
            iss: Some(t.iss),
        }
    }
}

/// The (empty) reply of a revocation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthRevocationReply {}

#[utoipa::path(post, path = "/oauth2/introspect", tag = "oauth2",
    security(("basic" = []), ("api_key" = []), ()),
    request_body(content = OAuthTokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = OAuthIntrospectionReply),
        (status = 400, description = "invalid_request (token missing, a parameter twice, two authentication methods)", body = OAuthErrorBody),
        (status = 401, description = "invalid_client: neither the client's credentials nor a server API key", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is over the limit", body = OAuthErrorBody),
        (status = 415, description = "invalid_request: not application/x-www-form-urlencoded", body = OAuthErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn oauth_introspect(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ApiError>,
) -> Response {
    no_store(match introspect_inner(&s, &headers, form).await {
        Ok(r) => json(StatusCode::OK, &r),
        Err(res) => res,
    })
}

async fn introspect_inner(
    s: &AppState,
    headers: &HeaderMap,
    form: Result<Form, ApiError>,
) -> Result<OAuthIntrospectionReply, Response> {
    let form = oauth_form(form).map_err(IntoResponse::into_response)?;
    let refused = |e| OAuthErrorReply::of(e).into_response();
    let creds = client_credentials(headers, &form).map_err(IntoResponse::into_response)?;
    let token = required(&form, "token").map_err(refused)?;
    let mut keys = headers.get_all(API_KEY_HEADER).iter();
    let key = match (keys.next(), keys.next(), &creds.auth) {
        (None, _, _) => None,
        (Some(k), None, None) => Some(k.to_str().unwrap_or_default()),
        _ => {
            return Err(refused(OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                "authenticate once: the client's credentials or one X-Tessera-Api-Key",
            )));
        }
    };
    let caller = match (key, &creds.auth) {
        (Some(k), _) => Introspector::ApiKey(k),
        (None, Some(auth)) => Introspector::Client(auth),
        (None, None) => return Err(no_client(creds.basic)),
    };
    let active = s
        .engine
        .introspect(caller, token)
        .await
        .map_err(|f| failure_response(f, creds.basic))?;
    Ok(OAuthIntrospectionReply::from(active))
}

#[utoipa::path(post, path = "/oauth2/revoke", tag = "oauth2",
    security(("basic" = []), ()),
    request_body(content = OAuthTokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done, or nothing to do (an unknown token or another client's is no error)", body = OAuthRevocationReply),
        (status = 400, description = "invalid_request (token missing, a parameter twice, two authentication methods)", body = OAuthErrorBody),
        (status = 401, description = "invalid_client", body = OAuthErrorBody),
        (status = 413, description = "invalid_request: the body is over the limit", body = OAuthErrorBody),
        (status = 415, description = "invalid_request: not application/x-www-form-urlencoded", body = OAuthErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn oauth_revoke(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form, ApiError>,
) -> Response {
    no_store(match revoke_inner(&s, &headers, form).await {
        Ok(()) => json(StatusCode::OK, &OAuthRevocationReply {}),
        Err(res) => res,
    })
}

async fn revoke_inner(
    s: &AppState,
    headers: &HeaderMap,
    form: Result<Form, ApiError>,
) -> Result<(), Response> {
    let form = oauth_form(form).map_err(IntoResponse::into_response)?;
    let creds = client_credentials(headers, &form).map_err(IntoResponse::into_response)?;
    let token = required(&form, "token").map_err(|e| OAuthErrorReply::of(e).into_response())?;
    let auth: &ClientAuth = creds.auth.as_ref().ok_or_else(|| no_client(creds.basic))?;
    s.engine
        .revoke_oauth_token(auth, token)
        .await
        .map_err(|f| failure_response(f, creds.basic))
}

fn no_client(basic: bool) -> Response {
    failure_response(
        OAuthFailure::Refused(OAuthError::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed: send the client's credentials",
        )),
        basic,
    )
}
