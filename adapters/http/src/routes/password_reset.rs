//! Password reset (API.md "Token API"): forgot-password sends a single-use code through
//! the configured notifier; forgot-password-confirm sets a new password with it.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;

use super::super::{ApiError, AppState, JsonBody};
use super::{acknowledged, audit};

/// The one reply of forgot-password, whether or not the user exists.
pub(crate) const FORGOT_PASSWORD_REPLY: &str =
    "If the account exists, a confirmation code has been sent to its owner.";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/forgot-password", post(forgot_password))
        .route("/v1/forgot-password-confirm", post(forgot_password_confirm))
}

/// `POST /v1/forgot-password` `{username}`: always the same 200. The engine answers at once;
/// the lookup, the code and the notification happen in the background.
async fn forgot_password(State(s): State<AppState>, body: JsonBody) -> Result<Response, ApiError> {
    let [username] = body.required(["username"])?;
    s.engine.forgot_password(username).await;
    Ok(acknowledged(FORGOT_PASSWORD_REPLY))
}

/// `POST /v1/forgot-password-confirm` `{username,password,confirmation_code}`.
async fn forgot_password_confirm(
    State(s): State<AppState>,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let [username, password, code] =
        body.required(["username", "password", "confirmation_code"])?;
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
    Ok(acknowledged("Password changed"))
}
