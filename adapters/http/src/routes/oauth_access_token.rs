//! Privicore's token routes of an OAuth application: `POST
//! /oauth-application/obtain-access-token` **\[P\]** (a code for tokens) and `POST
//! /oauth-application/refresh-access-token`. The same engine calls as `/oauth2/token`,
//! with Privicore conventions: the client in `Authorization: Basic`, form bodies, a
//! camelCase reply, our error body (401 bad client, 403 client not allowed, 422 bad code).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use tessera_core::engine::oauth::{CodeExchange, OAuthErrorCode, OAuthFailure, OAuthTokens};
use utoipa::ToSchema;

use super::super::fields::{read, wire_body};
use super::super::oauth_wire::{client_credentials, no_store};
use super::super::{ApiError, AppState, ErrorBody, Form, json};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route(
            "/oauth-application/obtain-access-token",
            post(obtain_access_token),
        )
        .route(
            "/oauth-application/refresh-access-token",
            post(refresh_access_token),
        )
}

wire_body! {
    /// An authorization code to exchange.
    struct ObtainAccessTokenForm<'a> from Form {
        /// The code (`tsc_…`, single use, 60 s).
        authorization_code: &'a str = "authorization_code",
        /// The PKCE verifier, when the code was issued with a challenge (e.g. by
        /// `retrieve-authorization-code`).
        code_verifier: Option<&'a str> = "code_verifier",
        /// The authorization request's redirect URI (required for a code without a PKCE
        /// challenge).
        redirect_uri: Option<&'a str> = "redirect_uri",
    }
}

wire_body! {
    /// A refresh token to rotate.
    struct RefreshAccessTokenForm<'a> from Form {
        /// `tsf_…`, single use.
        refresh_token: &'a str = "refresh_token",
    }
}

/// Tokens, Privicore's shape.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccessTokenReply {
    client_id: String,
    /// `tso_…`: the access token.
    token: String,
    /// `tsf_…` with scope `offline_access`, else `null`.
    refresh_token: Option<String>,
    /// `bearer`.
    #[serde(rename = "type")]
    #[schema(pattern = "^bearer$")]
    token_type: &'static str,
    /// Space-separated.
    scope: String,
    /// RFC 3339, UTC, seconds.
    expires_at: String,
    /// RFC 3339, UTC, seconds; `null` without a refresh token.
    refresh_token_expires_at: Option<String>,
}

impl From<&OAuthTokens> for AccessTokenReply {
    fn from(t: &OAuthTokens) -> Self {
        Self {
            client_id: t.client_id.hyphenated().to_string(),
            token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.as_ref().map(|r| r.expose().to_owned()),
            token_type: "bearer",
            scope: t.scope(),
            expires_at: t.expires_at.to_rfc3339(),
            refresh_token_expires_at: t
                .refresh_expires_at
                .map(tessera_core::Timestamp::to_rfc3339),
        }
    }
}

/// Our error body for a refusal of the token calls. `field`: the token field the request
/// names; `grant_status`: what a bad token is (422 `invalid_code` for a code, 401 for a
/// refresh token, as on `/v1/token-refresh`).
fn refusal(f: OAuthFailure, field: &'static str, code_grant: bool) -> ApiError {
    let e = match f {
        OAuthFailure::Engine(e) => return e.into(),
        OAuthFailure::Refused(e) => e,
    };
    match e.code {
        OAuthErrorCode::InvalidClient => ApiError::unauthorized_hint(
            "client authentication failed: send Authorization: Basic base64(clientId:clientSecret)",
        ),
        OAuthErrorCode::InvalidGrant if code_grant => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_code",
            e.description.clone(),
        )
        .with_field(field, vec![e.description]),
        OAuthErrorCode::InvalidGrant => ApiError::unauthorized(),
        OAuthErrorCode::UnauthorizedClient => {
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", e.description)
        }
        _ => ApiError::invalid(field, e.description),
    }
}

fn basic_client(
    headers: &HeaderMap,
    form: &Form,
) -> Result<tessera_core::engine::oauth::ClientAuth, ApiError> {
    let hint = || {
        ApiError::unauthorized_hint(
            "send the client as Authorization: Basic base64(clientId:clientSecret)",
        )
    };
    match client_credentials(headers, form) {
        Ok(c) if c.basic => c.auth.ok_or_else(hint),
        _ => Err(hint()),
    }
}

#[utoipa::path(post, path = "/oauth-application/obtain-access-token", tag = "oauth-application", security(("basic" = [])),
    request_body(content = ObtainAccessTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Tokens (Cache-Control: no-store)", body = AccessTokenReply),
        (status = 401, description = "unauthorized: the client's credentials are missing or wrong", body = ErrorBody),
        (status = 403, description = "forbidden: the client may not use this grant", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "invalid_code (the code is invalid, expired, used or another client's; its redirect URI or PKCE verifier does not match), validation_failed", body = ErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn obtain_access_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    no_store(
        obtain(&s, &headers, &form)
            .await
            .map_or_else(IntoResponse::into_response, |t| {
                json(StatusCode::OK, &AccessTokenReply::from(&t))
            }),
    )
}

async fn obtain(s: &AppState, headers: &HeaderMap, form: &Form) -> Result<OAuthTokens, ApiError> {
    let f: ObtainAccessTokenForm<'_> = read(form)?;
    let auth = basic_client(headers, form)?;
    let req = CodeExchange {
        code: f.authorization_code,
        redirect_uri: f.redirect_uri,
        code_verifier: f.code_verifier,
    };
    s.engine
        .exchange_code(&auth, &req)
        .await
        .map_err(|e| refusal(e, "authorization_code", true))
}

#[utoipa::path(post, path = "/oauth-application/refresh-access-token", tag = "oauth-application", security(("basic" = [])),
    request_body(content = RefreshAccessTokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "New tokens; the refresh token rotates (Cache-Control: no-store)", body = AccessTokenReply),
        (status = 401, description = "unauthorized: the client's credentials are wrong, or the refresh token is invalid, expired, used (its family is then revoked) or another client's", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 422, description = "validation_failed", body = ErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn refresh_access_token(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Form,
) -> Response {
    no_store(
        refresh(&s, &headers, &form)
            .await
            .map_or_else(IntoResponse::into_response, |t| {
                json(StatusCode::OK, &AccessTokenReply::from(&t))
            }),
    )
}

async fn refresh(s: &AppState, headers: &HeaderMap, form: &Form) -> Result<OAuthTokens, ApiError> {
    let f: RefreshAccessTokenForm<'_> = read(form)?;
    let auth = basic_client(headers, form)?;
    s.engine
        .refresh_oauth(&auth, f.refresh_token, None)
        .await
        .map_err(|e| refusal(e, "refresh_token", false))
}
