//! The route handlers, one file per API.md section. Each handler extracts, makes one
//! engine call and maps the result.

pub(super) mod account;
pub(super) mod authorization_code;
pub(super) mod authorize;
pub(super) mod device;
pub(super) mod directory;
pub(super) mod jwks;
pub(super) mod keys;
pub(super) mod oauth_access_token;
pub(super) mod oauth_applications;
pub(super) mod oauth_discovery;
pub(super) mod oauth_introspection;
pub(super) mod oauth_token;
pub(super) mod oauth_userinfo;
pub(super) mod password_reset;
pub(super) mod profile;
mod set;
mod sign_in;
pub(super) mod token_api;
pub(super) mod users;
pub(super) mod utility;

pub(crate) use set::Routes;
use tessera_core::{Error, Username};
use uuid::Uuid;

use super::error::ApiError;

/// The audit word for a credential check's result.
fn outcome(error: Option<&Error>) -> &'static str {
    match error {
        None => "success",
        Some(Error::Unauthorized) => "unauthorized",
        Some(Error::TooManyAttempts { .. }) => "throttled",
        Some(Error::Overloaded { .. }) => "overloaded",
        Some(Error::Storage(_)) => "error",
        Some(_) => "invalid",
    }
}

/// One audit line (target `tessera::audit`) per credential outcome: never a password,
/// token, session or code. Returns the outcome word (for the metrics).
fn audit(event: &str, username: &str, result: Result<Option<Uuid>, &Error>) -> &'static str {
    let outcome = outcome(result.err());
    // `?` (Debug) escapes control characters, so a crafted name cannot forge log lines.
    let name = Username::parse(username)
        .map_or_else(|_| "<invalid>".to_owned(), |u| u.as_str().to_owned());
    // A plain id when there is one (no `Some(..)`); left out when there is none.
    let profile = result.ok().flatten().map(tracing::field::display);
    tracing::info!(target: "tessera::audit", event, username = ?name, outcome, profile_id = profile, "authentication");
    outcome
}

/// Parse a form field holding an identifier: not a UUID → 422 `validation_failed`.
fn uuid_field(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::invalid(name, format!("{name} must be a UUID")))
}

/// Parse an identifier from a path or query: not a UUID → 404, like an unknown one.
fn uuid_path(value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::not_found())
}
