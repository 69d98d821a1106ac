//! Password reset (API.md "Token API"): forgot-password sends a single-use code through
//! the configured notifier; forgot-password-confirm sets a new password with it.

use axum::extract::State;
use axum::routing::post;

use super::super::fields::{read, wire_body};
use super::super::reply::{JsonReply, MessageReply};
use super::super::{ApiError, AppState, ErrorBody, JsonBody};
use super::audit;

/// The one reply of forgot-password, whether or not the user exists.
pub(crate) const FORGOT_PASSWORD_REPLY: &str =
    "If the account exists, a confirmation code has been sent to its owner.";

pub(crate) fn routes() -> crate::routes::Routes {
    crate::routes::Routes::new()
        .route("/v1/forgot-password", post(forgot_password))
        .route("/v1/forgot-password-confirm", post(forgot_password_confirm))
}

wire_body! {
    /// `POST /v1/forgot-password`.
    struct ForgotPasswordBody<'a> from JsonBody {
        username: &'a str = "username",
    }
}

wire_body! {
    /// `POST /v1/forgot-password-confirm`.
    struct ForgotPasswordConfirmBody<'a> from JsonBody {
        username: &'a str = "username",
        /// The new password (password rules).
        password: &'a str = "password",
        /// The 8-character code (Crockford base32; case-insensitive, `O`→`0`, `I`/`L`→`1`).
        confirmation_code: &'a str = "confirmation_code",
    }
}

/// `POST /v1/forgot-password` `{username}`: always the same 200. The engine answers at once;
/// the lookup, the code and the notification happen in the background.
#[utoipa::path(post, path = "/v1/forgot-password", tag = "token-api",
    request_body(content = ForgotPasswordBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The same answer whether or not the user exists; the code (8 characters, 10 min, single use; a newer one voids it) goes to the configured notifier", body = MessageReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 422, description = "validation_failed (username missing)", body = ErrorBody)))]
pub(crate) async fn forgot_password(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<MessageReply>, ApiError> {
    let ForgotPasswordBody { username } = read(&body)?;
    s.engine.forgot_password(username).await;
    Ok(MessageReply::ok(FORGOT_PASSWORD_REPLY))
}

/// `POST /v1/forgot-password-confirm` `{username,password,confirmation_code}`.
#[utoipa::path(post, path = "/v1/forgot-password-confirm", tag = "token-api",
    request_body(content = ForgotPasswordConfirmBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Password set; every token of the profile revoked; no token issued", body = MessageReply),
        (status = 400, description = "bad_request: not JSON", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 415, description = "unsupported_media_type: not application/json", body = ErrorBody),
        (status = 422, description = "invalid_code (wrong, used, expired or another user's code), weak_password, password_too_short, password_too_long, validation_failed", body = ErrorBody),
        (status = 429, description = "too_many_attempts (Retry-After): guesses are throttled per account", body = ErrorBody),
        (status = 503, description = "overloaded (Retry-After), storage_unavailable", body = ErrorBody)))]
pub(crate) async fn forgot_password_confirm(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<JsonReply<MessageReply>, ApiError> {
    let ForgotPasswordConfirmBody {
        username,
        password,
        confirmation_code: code,
    } = read(&body)?;
    let result = s
        .engine
        .confirm_forgot_password(username, code, password)
        .await;
    audit(
        "forgot_password_confirm",
        username,
        result.as_ref().map(|()| None),
    );
    result?;
    Ok(MessageReply::ok("Password changed"))
}
