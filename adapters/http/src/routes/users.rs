//! Server-registered users (API.md "Server-registered users", seed-004 style): a backend
//! holding a server API key upserts users keyed by its identity provider's id, reads them
//! and logs them out.

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, put};
use serde::Serialize;
use serde_json::{Map, Value};
use tessera_core::engine::MAX_METADATA_BYTES;
use tessera_core::{ExternalUser, ExternalUserUpsert};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::super::fields::{read, wire_body};
use super::super::form::BodyLimit;
use super::super::reply::JsonReply;
use super::super::{ApiError, ApiKey, AppState, ErrorBody, JsonBody, json as reply};
use crate::routes::Routes;

/// The users routes. An upsert may carry a metadata object of up to 16 KiB besides its
/// other members, so these routes accept `body_limit` plus that much.
pub(crate) fn routes(body_limit: usize) -> Routes {
    let limit = Extension(BodyLimit(body_limit + MAX_METADATA_BYTES));
    Routes::new()
        .route(
            "/v1/users/{externalId}",
            put(upsert).get(read_user).layer(limit),
        )
        .route("/v1/users/{externalId}/tokens", delete(logout).layer(limit))
}

wire_body! {
    /// `PUT /v1/users/{externalId}`. Every member is optional; on an update an absent member
    /// keeps its stored value.
    struct UserUpsertBody<'a> from JsonBody {
        /// For the registering server's identification (never sent to).
        email: Option<&'a str> = "email",
        /// A JSON object of at most 16 KiB (replaces the stored one).
        #[schema(value_type = Option<Object>)]
        metadata: Option<&'a Map<String, Value>> = "metadata",
        /// Environment → `true` (grant) / `false` (revoke); names are 1–64 of
        /// `A-Z a-z 0-9 . _ : -`, at most 64. Unnamed environments keep their grant.
        #[schema(value_type = Option<BTreeMap<String, bool>>)]
        environments: BTreeMap<String, bool> = "environments",
        /// The login name (username rules). Required with `temporaryPassword` on creation;
        /// cannot change afterwards.
        username: Option<&'a str> = "username",
        /// A temporary password (password rules): the first `/v1/login` answers
        /// NEW_PASSWORD_REQUIRED. On an update it replaces the password and revokes every token.
        temporary_password: Option<&'a str> = "temporaryPassword",
        /// Also issue an authorization token (the user's login): `userToken` and `expiresAt`.
        create_token: Option<bool> = "createToken",
    }
}

/// A server-registered user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserReply {
    /// The identity provider's id.
    external_id: String,
    profile_id: String,
    /// The login name (`x-<profile id hex>` when none was given).
    username: String,
    email: Option<String>,
    /// The metadata object, `null` when none.
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
    /// Each granted environment → `true`.
    environments: BTreeMap<String, bool>,
    created_at: String,
    updated_at: String,
    /// Only with `createToken`: a `tsa_` authorization token.
    #[serde(skip_serializing_if = "Option::is_none")]
    user_token: Option<String>,
    /// Only with `createToken`: when `userToken` expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

impl From<&ExternalUser> for UserReply {
    /// The record of a user; `environments` maps each granted environment to `true` (the
    /// request's shape).
    fn from(u: &ExternalUser) -> Self {
        Self {
            external_id: u.external_id.clone(),
            profile_id: u.profile_id.hyphenated().to_string(),
            username: u.username.clone(),
            email: u.email.clone(),
            metadata: u.metadata.clone(),
            environments: u.environments.iter().map(|e| (e.clone(), true)).collect(),
            created_at: u.created_at.to_rfc3339(),
            updated_at: u.updated_at.to_rfc3339(),
            user_token: None,
            expires_at: None,
        }
    }
}

/// The upsert described by `body` for `external_id`.
fn upsert_request(external_id: String, body: &JsonBody) -> Result<ExternalUserUpsert, ApiError> {
    let b: UserUpsertBody<'_> = read(body)?;
    Ok(ExternalUserUpsert {
        external_id,
        email: b.email.map(str::to_owned),
        metadata: b.metadata.cloned().map(Value::Object),
        environments: b.environments,
        username: b.username.map(str::to_owned),
        temporary_password: b.temporary_password.map(|p| Zeroizing::new(p.to_owned())),
        create_token: b.create_token.unwrap_or(false),
    })
}

const EXTERNAL_ID: &str = "The identity provider's id: 1–255 printable ASCII characters, no spaces (percent-encode reserved characters)";

/// `PUT /v1/users/{externalId}`: 201 created / 200 updated, the record, plus
/// `userToken`/`expiresAt` when `createToken` is true.
#[utoipa::path(put, path = "/v1/users/{externalId}", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path, description = EXTERNAL_ID)),
    request_body(content = UserUpsertBody, content_type = "application/json",
        description = "At most 16 KiB plus the metadata allowance (32 KiB by default)"),
    responses(
        (status = 201, description = "Created (an active user)", body = UserReply),
        (status = 200, description = "Updated", body = UserReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 422, description = "validation_failed (externalId, email, metadata, environments, username, createToken), invalid_username, username_taken, weak_password, password_too_short, password_too_long", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn upsert(
    State(s): State<AppState>,
    ApiKey(key): ApiKey,
    Path(external_id): Path<String>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let req = upsert_request(external_id, &body)?;
    let done = s.engine.upsert_external_user(req).await;
    if let Ok(d) = &done {
        tracing::info!(target: "tessera::audit", event = "users_upsert", api_key = ?key,
            external_id = ?d.user.external_id, profile_id = %d.user.profile_id,
            created = d.created, token_issued = d.token.is_some(), "server-registered user");
    }
    let done = done.map_err(|e| ApiError::from(e).rename_field("password", "temporaryPassword"))?;
    let mut body = UserReply::from(&done.user);
    if let Some(t) = &done.token {
        body.user_token = Some(t.token.expose().to_owned());
        body.expires_at = Some(t.expires_at.to_rfc3339());
    }
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, &body))
}

/// `GET /v1/users/{externalId}`: the record; 404 for an unknown id.
#[utoipa::path(get, path = "/v1/users/{externalId}", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path, description = EXTERNAL_ID)),
    responses(
        (status = 200, description = "The user", body = UserReply),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 404, description = "not_found: unknown external id", body = ErrorBody)))]
pub(crate) async fn read_user(
    State(s): State<AppState>,
    ApiKey(_): ApiKey,
    Path(external_id): Path<String>,
) -> Result<JsonReply<UserReply>, ApiError> {
    let user = s.engine.external_user(&external_id).await?;
    Ok(JsonReply(UserReply::from(&user)))
}

/// `DELETE /v1/users/{externalId}/tokens`: every token of the user revoked (204).
#[utoipa::path(delete, path = "/v1/users/{externalId}/tokens", tag = "users", security(("api_key" = [])),
    params(("externalId" = String, Path, description = EXTERNAL_ID)),
    responses(
        (status = 204, description = "Logged out: every token of the user revoked"),
        (status = 401, description = "unauthorized: missing or wrong X-Tessera-Api-Key", body = ErrorBody),
        (status = 404, description = "not_found: unknown external id", body = ErrorBody)))]
pub(crate) async fn logout(
    State(s): State<AppState>,
    ApiKey(key): ApiKey,
    Path(external_id): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = s.engine.logout_external_user(&external_id).await?;
    tracing::info!(target: "tessera::audit", event = "users_logout", api_key = ?key,
        external_id = ?external_id, revoked, "server-registered user");
    Ok(StatusCode::NO_CONTENT.into_response())
}
