//! The [`ApiKey`] extractor of the users API: a server API key (`tsk_…`, created offline by
//! `tessera admin create-api-key`) in `X-Tessera-Api-Key`, given exactly once. Missing,
//! repeated, malformed or unknown → the one 401 body; a storage failure during the check →
//! 503 (never a success).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;

/// The header carrying a server API key (matched case-insensitively).
pub const API_KEY_HEADER: &str = "x-tessera-api-key";

/// A caller holding a valid server API key; holds the key's name (for the audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey(pub String);

impl FromRequestParts<AppState> for ApiKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(API_KEY_HEADER).iter();
        let value = match (values.next(), values.next()) {
            (Some(value), None) => value,
            (Some(_), Some(_)) => {
                return Err(ApiError::unauthorized_hint(
                    "send the X-Tessera-Api-Key header once",
                ));
            }
            (None, _) => {
                return Err(ApiError::unauthorized_hint(
                    "this route needs a server API key in the X-Tessera-Api-Key header \
                     (tessera admin create-api-key makes one)",
                ));
            }
        };
        let key = value.to_str().map_err(|_| ApiError::unauthorized())?;
        Ok(Self(state.engine.verify_api_key(key).await?))
    }
}
