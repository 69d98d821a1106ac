//! `GET /.well-known/jwks.json`: the key that verifies id tokens, as a JWK Set (RFC 7517),
//! so other services check id tokens offline.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::reply::JsonReply;
use super::super::{ApiError, AppState, ErrorBody};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new().route("/.well-known/jwks.json", get(jwks))
}

/// One key of the JWK Set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct Jwk {
    /// `OKP`.
    kty: String,
    /// `Ed25519`.
    crv: String,
    /// The public key, base64url.
    x: String,
    /// RFC 7638 thumbprint; id tokens name it in their header.
    kid: String,
    /// `EdDSA`.
    alg: String,
    /// `sig`.
    r#use: String,
}

/// RFC 7517 JWK Set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct JwksReply {
    keys: Vec<Jwk>,
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "token-api",
    responses(
        (status = 200, description = "The key that verifies id tokens (RFC 7517 JWK Set)", body = JwksReply),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn jwks(State(s): State<AppState>) -> Result<Response, ApiError> {
    // The engine builds the set; read into the documented shape, so a member the document
    // does not name cannot reach the reply.
    let set: JwksReply = serde_json::from_value(s.engine.jwks().await?)
        .map_err(|_| ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR))?;
    let mut res = JsonReply(set).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}
