//! `GET` / `POST /oauth2/userinfo` (OpenID Core §5.3): claims about the profile behind an
//! OAuth access token sent as `Authorization: Bearer` (RFC 6750 §2.1; the header only).
//! A missing or bad token → 401 with `WWW-Authenticate: Bearer error="invalid_token"`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tessera_core::engine::oauth::{OAuthErrorCode, OAuthFailure, UserInfo};
use utoipa::ToSchema;

use super::super::oauth_wire::{OAuthErrorBody, OAuthErrorReply, failure_response, no_store};
use super::super::{AppState, ErrorBody, json};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new().route("/oauth2/userinfo", get(userinfo).post(userinfo_post))
}

/// The claims (OpenID Core §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthUserInfoReply {
    /// The profile id (the id token's `sub`).
    sub: String,
    /// The username (scope `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<String>,
    /// `user` or `device` (scope `profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    profile_type: Option<&'static str>,
    /// The email where known (scope `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    /// `[{"id","shortName","role"}]`: the directories the profile is in (scope `directories`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    directories: Option<serde_json::Value>,
}

impl From<UserInfo> for OAuthUserInfoReply {
    fn from(u: UserInfo) -> Self {
        Self {
            sub: u.sub.hyphenated().to_string(),
            preferred_username: u.preferred_username,
            profile_type: u.profile_type.map(tessera_core::ProfileKind::as_str),
            email: u.email,
            directories: u.directories,
        }
    }
}

#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oauth2", security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims of the token's profile", body = OAuthUserInfoReply),
        (status = 401, description = "invalid_token (WWW-Authenticate: Bearer error=\"invalid_token\")", body = OAuthErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    answer(&s, &headers).await
}

/// The same as `GET`; the body is not read (the token goes in the header).
#[utoipa::path(post, path = "/oauth2/userinfo", tag = "oauth2", security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims of the token's profile", body = OAuthUserInfoReply),
        (status = 401, description = "invalid_token (WWW-Authenticate: Bearer error=\"invalid_token\")", body = OAuthErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn userinfo_post(State(s): State<AppState>, headers: HeaderMap) -> Response {
    answer(&s, &headers).await
}

async fn answer(s: &AppState, headers: &HeaderMap) -> Response {
    no_store(match bearer(headers) {
        None => invalid_token("send the access token as Authorization: Bearer, once"),
        Some(token) => match s.engine.userinfo(token).await {
            Ok(info) => json(StatusCode::OK, &OAuthUserInfoReply::from(info)),
            Err(OAuthFailure::Refused(e)) => invalid_token(&e.description),
            Err(f) => failure_response(f, false),
        },
    })
}

fn invalid_token(description: &str) -> Response {
    OAuthErrorReply::new(OAuthErrorCode::InvalidToken, description)
        .with_challenge(HeaderValue::from_static(
            r#"Bearer realm="tessera", error="invalid_token""#,
        ))
        .into_response()
}

/// The token of `Authorization: Bearer <token>` (scheme in any case), given once.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
