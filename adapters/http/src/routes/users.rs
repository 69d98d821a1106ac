//! Server-registered users (API.md "Server-registered users", seed-004 style): a backend
//! holding a server API key upserts users keyed by its identity provider's id, reads them
//! and logs them out.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{delete, put};
use axum::{Extension, Router};
use serde_json::{Value, json};
use tessera_core::engine::MAX_METADATA_BYTES;
use tessera_core::{ExternalUser, ExternalUserUpsert};
use zeroize::Zeroizing;

use super::super::form::BodyLimit;
use super::super::{ApiError, ApiKey, AppState, JsonBody, json as reply};

/// The users routes. An upsert may carry a metadata object of up to 16 KiB besides its
/// other members, so these routes accept `body_limit` plus that much.
pub(crate) fn routes(body_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/v1/users/{externalId}", put(upsert).get(read))
        .route("/v1/users/{externalId}/tokens", delete(logout))
        .layer(Extension(BodyLimit(body_limit + MAX_METADATA_BYTES)))
}

/// The record of a user: `{"externalId","profileId","username","email","metadata",
/// "environments","createdAt","updatedAt"}`; `environments` maps each granted environment
/// to `true` (the request's shape).
fn record(u: &ExternalUser) -> Value {
    let environments: BTreeMap<&str, bool> =
        u.environments.iter().map(|e| (e.as_str(), true)).collect();
    json!({
        "externalId": u.external_id,
        "profileId": u.profile_id.hyphenated().to_string(),
        "username": u.username,
        "email": u.email,
        "metadata": u.metadata,
        "environments": environments,
        "createdAt": u.created_at.to_rfc3339(),
        "updatedAt": u.updated_at.to_rfc3339(),
    })
}

/// The upsert described by `body` for `external_id`.
fn upsert_request(external_id: String, body: &JsonBody) -> Result<ExternalUserUpsert, ApiError> {
    Ok(ExternalUserUpsert {
        external_id,
        email: body.string("email")?.map(str::to_owned),
        metadata: body.object("metadata")?.cloned().map(Value::Object),
        environments: body.bool_map("environments")?,
        username: body.string("username")?.map(str::to_owned),
        temporary_password: body
            .string("temporaryPassword")?
            .map(|p| Zeroizing::new(p.to_owned())),
        create_token: body.boolean("createToken")?.unwrap_or(false),
    })
}

/// `PUT /v1/users/{externalId}`: 201 created / 200 updated, the record, plus
/// `userToken`/`expiresAt` when `createToken` is true.
async fn upsert(
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
    let mut body = record(&done.user);
    if let Some(t) = &done.token {
        body["userToken"] = t.token.expose().into();
        body["expiresAt"] = t.expires_at.to_rfc3339().into();
    }
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, &body))
}

/// `GET /v1/users/{externalId}`: the record; 404 for an unknown id.
async fn read(
    State(s): State<AppState>,
    ApiKey(_): ApiKey,
    Path(external_id): Path<String>,
) -> Result<Response, ApiError> {
    let user = s.engine.external_user(&external_id).await?;
    Ok(reply(StatusCode::OK, &record(&user)))
}

/// `DELETE /v1/users/{externalId}/tokens`: every token of the user revoked (204).
async fn logout(
    State(s): State<AppState>,
    ApiKey(key): ApiKey,
    Path(external_id): Path<String>,
) -> Result<Response, ApiError> {
    let revoked = s.engine.logout_external_user(&external_id).await?;
    tracing::info!(target: "tessera::audit", event = "users_logout", api_key = ?key,
        external_id = ?external_id, revoked, "server-registered user");
    Ok(StatusCode::NO_CONTENT.into_response())
}
