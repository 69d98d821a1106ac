//! The route handlers, one file per API.md section. Each handler extracts, makes one
//! engine call and maps the result.

pub(super) mod device;
pub(super) mod keys;
pub(super) mod profile;
pub(super) mod utility;

use uuid::Uuid;

use super::error::ApiError;

/// Parse a form field holding an identifier: not a UUID → 422 `validation_failed`.
fn uuid_field(name: &str, value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::invalid(name, format!("{name} must be a UUID")))
}

/// Parse an identifier from a path or query: not a UUID → 404, like an unknown one.
fn uuid_path(value: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(value).map_err(|_| ApiError::not_found())
}
