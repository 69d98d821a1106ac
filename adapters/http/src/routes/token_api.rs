//! The token API (API.md "Token API", seed-003 style): JSON login with access, refresh and
//! id tokens; refresh rotation; revoking a refresh family; change-password with an access
//! token; the answer to a NEW_PASSWORD_REQUIRED challenge. Errors use the one error body
//! (`{"status","error","message"}`, `errors` on 422 named after this API's fields).

use axum::extract::State;
use axum::routing::post;
use serde::Serialize;
use tessera_core::{Error, Login, TokenSet};
use utoipa::ToSchema;

use super::super::fields::{read, wire_body};
use super::super::reply::{JsonReply, MessageReply};
use super::super::{ApiError, AppState, ErrorBody, JsonBody};
use super::audit;
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/v1/login", post(login))
        .route("/v1/token-refresh", post(token_refresh))
        .route("/v1/token-revoke", post(token_revoke))
        .route("/v1/change-password", post(change_password))
        .route("/v1/new-password-required", post(new_password_required))
}

// ---- request bodies ----------------------------------------------------------------------

wire_body! {
    /// `POST /v1/login`.
    struct LoginBody<'a> from JsonBody {
        /// Canonicalised (NFKC, lowercase) before the lookup.
        username: &'a str = "username",
        password: &'a str = "password",
    }
}

wire_body! {
    /// `POST /v1/token-refresh`.
    struct RefreshBody<'a> from JsonBody {
        /// Must own the refresh token (else 401).
        username: &'a str = "username",
        /// `tsr_…`, single use.
        refresh_token: &'a str = "refresh_token",
    }
}

wire_body! {
    /// `POST /v1/token-revoke`.
    struct RevokeBody<'a> from JsonBody {
        /// `tsr_…`.
        refresh_token: &'a str = "refresh_token",
    }
}

wire_body! {
    /// `POST /v1/change-password`.
    struct ChangePasswordBody<'a> from JsonBody {
        /// `tsa_…` access token of the profile (any authorization token).
        access_token: &'a str = "access_token",
        previous_password: &'a str = "previous_password",
        /// The new password (password rules).
        proposed_password: &'a str = "proposed_password",
    }
}

wire_body! {
    /// `POST /v1/new-password-required`.
    struct NewPasswordBody<'a> from JsonBody {
        /// `tss_…` from the NEW_PASSWORD_REQUIRED answer of `/v1/login` (single use, 5 min).
        session: &'a str = "session",
        username: &'a str = "username",
        /// The password replacing the temporary one (password rules).
        new_password: &'a str = "new_password",
    }
}

// ---- replies -----------------------------------------------------------------------------

/// Tokens of a login, a refresh or a completed NEW_PASSWORD_REQUIRED challenge.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokensReply {
    /// `tsa_…`: an authorization token, also valid as `X-DPT-AUTHORIZATION`.
    access_token: String,
    /// `tsr_…`: single use; each refresh returns the next one.
    refresh_token: String,
    /// EdDSA JWT signed by the server key (`/.well-known/jwks.json`): `iss`, `sub` (profile
    /// id), `aud`, `iat`, `exp`, `username`, `profile_type`.
    id_token: String,
    /// Seconds until the access token expires (24 h by default).
    expires_in: u64,
}

impl From<&TokenSet> for TokensReply {
    fn from(t: &TokenSet) -> Self {
        Self {
            access_token: t.access_token.expose().to_owned(),
            refresh_token: t.refresh_token.expose().to_owned(),
            id_token: t.id_token.clone(),
            expires_in: t.expires_in,
        }
    }
}

/// The answer of `/v1/login` for a profile with a temporary password: no tokens.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChallengeReply {
    /// `NEW_PASSWORD_REQUIRED`.
    #[schema(pattern = "^NEW_PASSWORD_REQUIRED$")]
    challenge_name: &'static str,
    /// `tss_…`, for `/v1/new-password-required`.
    session: String,
}

/// `/v1/login`: tokens, or the challenge.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum LoginReply {
    /// Logged in.
    Tokens(TokensReply),
    /// A new password is required first.
    Challenge(ChallengeReply),
}

// ---- handlers ----------------------------------------------------------------------------

/// `POST /v1/login` `{username,password}`: tokens, or the NEW_PASSWORD_REQUIRED challenge.
#[utoipa::path(post, path = "/v1/login", tag = "token-api",
    request_body(content = LoginBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Tokens; or, for a profile with a temporary password, {challenge_name: NEW_PASSWORD_REQUIRED, session}", body = LoginReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 401, description = "unauthorized: unknown user or wrong password (one body)", body = ErrorBody),
        (status = 422, description = "validation_failed (missing or mistyped member)", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn login(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<LoginReply>, ApiError> {
    let LoginBody { username, password } = read(&body)?;
    let result = s.engine.login(username, password).await;
    let profile = result.as_ref().map(|l| match l {
        Login::Tokens(t) => Some(t.profile_id),
        Login::NewPasswordRequired { .. } => None,
    });
    s.metrics.login(audit("login", username, profile));
    Ok(JsonReply(match result? {
        Login::Tokens(t) => LoginReply::Tokens(TokensReply::from(&t)),
        Login::NewPasswordRequired { session } => LoginReply::Challenge(ChallengeReply {
            challenge_name: "NEW_PASSWORD_REQUIRED",
            session: session.expose().to_owned(),
        }),
    }))
}

/// `POST /v1/token-refresh` `{username,refresh_token}`: a rotated token set.
#[utoipa::path(post, path = "/v1/token-refresh", tag = "token-api",
    request_body(content = RefreshBody, content_type = "application/json"),
    responses(
        (status = 200, description = "A rotated token set: the presented refresh token is used up", body = TokensReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 401, description = "unauthorized: unknown, expired, revoked or reused refresh token (a reuse revokes the whole family), or another user's", body = ErrorBody),
        (status = 422, description = "validation_failed", body = ErrorBody),
        (status = 503, description = "storage_unavailable: nothing changed, the token still works", body = ErrorBody)))]
pub(crate) async fn token_refresh(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<TokensReply>, ApiError> {
    let RefreshBody {
        username,
        refresh_token,
    } = read(&body)?;
    let result = s.engine.refresh(username, refresh_token).await;
    audit(
        "token_refresh",
        username,
        result.as_ref().map(|t| Some(t.profile_id)),
    );
    Ok(JsonReply(TokensReply::from(&result?)))
}

/// `POST /v1/token-revoke` `{refresh_token}`: the refresh token's family stops working.
#[utoipa::path(post, path = "/v1/token-revoke", tag = "token-api",
    request_body(content = RevokeBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The refresh token and every access token of its login stopped working", body = MessageReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 401, description = "unauthorized: unknown refresh token", body = ErrorBody),
        (status = 422, description = "validation_failed", body = ErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn token_revoke(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<MessageReply>, ApiError> {
    let RevokeBody { refresh_token } = read(&body)?;
    s.engine.revoke_refresh(refresh_token).await?;
    Ok(MessageReply::ok("Token revoked"))
}

/// `POST /v1/change-password` `{access_token,previous_password,proposed_password}`.
#[utoipa::path(post, path = "/v1/change-password", tag = "token-api", operation_id = "v1_change_password",
    request_body(content = ChangePasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password changed; every other token of the profile revoked", body = MessageReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 401, description = "unauthorized: bad access token", body = ErrorBody),
        (status = 403, description = "profile_incomplete, device_pending, device_rejected (as /profile/change-password)", body = ErrorBody),
        (status = 422, description = "wrong_password (counts toward throttling), weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After)", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn change_password(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<MessageReply>, ApiError> {
    let ChangePasswordBody {
        access_token,
        previous_password: previous,
        proposed_password: proposed,
    } = read(&body)?;
    // The access token travels in the body here (seed-003): checked as the header would be.
    let principal = s.engine.verify(access_token).await?;
    let result = s
        .engine
        .change_password(&principal, previous, proposed)
        .await;
    let outcome = match &result {
        Ok(_) => "success",
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
    Ok(MessageReply::ok("Password changed"))
}

/// `POST /v1/new-password-required` `{session,username,new_password}`: tokens as login.
#[utoipa::path(post, path = "/v1/new-password-required", tag = "token-api",
    request_body(content = NewPasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password set; tokens as /v1/login", body = TokensReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 401, description = "unauthorized: unknown, used or expired session, or another user's", body = ErrorBody),
        (status = 422, description = "weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn new_password_required(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<TokensReply>, ApiError> {
    let NewPasswordBody {
        session,
        username,
        new_password,
    } = read(&body)?;
    let result = s
        .engine
        .complete_new_password(username, session, new_password)
        .await;
    audit(
        "new_password_required",
        username,
        result.as_ref().map(|t| Some(t.profile_id)),
    );
    let set = result.map_err(|e| ApiError::from(e).rename_field("password", "new_password"))?;
    Ok(JsonReply(TokensReply::from(&set)))
}
