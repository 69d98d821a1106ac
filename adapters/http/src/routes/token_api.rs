//! The token API (API.md "Token API", seed-003 style): JSON login with access, refresh and
//! id tokens; refresh rotation; revoking a refresh family; change-password with an access
//! token; the answer to a NEW_PASSWORD_REQUIRED challenge. Errors use the one error body
//! (`{"status","error","message"}`, `errors` on 422 named after this API's fields).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use serde_json::json;
use tessera_core::{Error, Login, TokenSet};

use super::super::{ApiError, AppState, JsonBody, json as reply};
use super::{acknowledged, audit};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/token-refresh", post(token_refresh))
        .route("/v1/token-revoke", post(token_revoke))
        .route("/v1/change-password", post(change_password))
        .route("/v1/new-password-required", post(new_password_required))
}

/// The JSON of a token set: `{"access_token","refresh_token","id_token","expires_in"}`.
fn tokens(t: &TokenSet) -> Response {
    reply(
        StatusCode::OK,
        &json!({
            "access_token": t.access_token.expose(),
            "refresh_token": t.refresh_token.expose(),
            "id_token": t.id_token,
            "expires_in": t.expires_in,
        }),
    )
}

/// `POST /v1/login` `{username,password}`: tokens, or the NEW_PASSWORD_REQUIRED challenge.
async fn login(State(s): State<AppState>, body: JsonBody) -> Result<Response, ApiError> {
    let [username, password] = body.required(["username", "password"])?;
    let result = s.engine.login(username, password).await;
    let profile = result.as_ref().map(|l| match l {
        Login::Tokens(t) => Some(t.profile_id),
        Login::NewPasswordRequired { .. } => None,
    });
    s.metrics.login(audit("login", username, profile));
    Ok(match result? {
        Login::Tokens(t) => tokens(&t),
        Login::NewPasswordRequired { session } => reply(
            StatusCode::OK,
            &json!({"challenge_name": "NEW_PASSWORD_REQUIRED", "session": session.expose()}),
        ),
    })
}

/// `POST /v1/token-refresh` `{username,refresh_token}`: a rotated token set.
async fn token_refresh(State(s): State<AppState>, body: JsonBody) -> Result<Response, ApiError> {
    let [username, refresh_token] = body.required(["username", "refresh_token"])?;
    let result = s.engine.refresh(username, refresh_token).await;
    audit(
        "token_refresh",
        username,
        result.as_ref().map(|t| Some(t.profile_id)),
    );
    Ok(tokens(&result?))
}

/// `POST /v1/token-revoke` `{refresh_token}`: the refresh token's family stops working.
async fn token_revoke(State(s): State<AppState>, body: JsonBody) -> Result<Response, ApiError> {
    let [refresh_token] = body.required(["refresh_token"])?;
    s.engine.revoke_refresh(refresh_token).await?;
    Ok(acknowledged("Token revoked"))
}

/// `POST /v1/change-password` `{access_token,previous_password,proposed_password}`.
async fn change_password(State(s): State<AppState>, body: JsonBody) -> Result<Response, ApiError> {
    let [access_token, previous, proposed] =
        body.required(["access_token", "previous_password", "proposed_password"])?;
    // The access token travels in the body here (seed-003): checked as the header would be.
    let principal = s.engine.verify(access_token).await?;
    let result = s
        .engine
        .change_password(&principal, previous, proposed)
        .await;
    let outcome = match &result {
        Ok(()) => "success",
        Err(Error::WrongPassword) => "wrong_password",
        Err(Error::TooManyAttempts { .. }) => "throttled",
        Err(e) => e.code(),
    };
    tracing::info!(target: "tessera::audit", event = "v1_change_password", profile_id = %principal.profile_id, outcome, "authentication");
    result.map_err(|e| {
        ApiError::from(e)
            .rename_field("password", "proposed_password")
            .rename_field("currentPassword", "previous_password")
    })?;
    Ok(acknowledged("Password changed"))
}

/// `POST /v1/new-password-required` `{session,username,new_password}`: tokens as login.
async fn new_password_required(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let [session, username, new_password] =
        body.required(["session", "username", "new_password"])?;
    let result = s
        .engine
        .complete_new_password(username, session, new_password)
        .await;
    audit(
        "new_password_required",
        username,
        result.as_ref().map(|t| Some(t.profile_id)),
    );
    Ok(tokens(&result.map_err(|e| {
        ApiError::from(e).rename_field("password", "new_password")
    })?))
}
