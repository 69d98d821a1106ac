//! Public-key routes: development key pairs, registration with proof, lookups.

use axum::extract::{RawQuery, State};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::super::fields::{read, wire_body};
use super::super::reply::{Accepted, CommandAccepted, JsonReply};
use super::super::{ApiError, AppState, Authenticated, ErrorBody, Form, accepted};
use crate::routes::Routes;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/generate-keys", get(generate_keys))
        .route("/public-key/register-public-key", post(register_public_key))
        .route("/public-key/retrieve-public-key", get(retrieve_public_key))
        .route(
            "/public-key/retrieve-cab-public-key",
            get(retrieve_cab_public_key),
        )
}

wire_body! {
    /// A public key with proof of possession.
    struct PublicKeyForm<'a> from Form {
        /// Privicore 200-hex (`31420500` ‖ key ‖ BLAKE2b-512) or 64-hex raw Ed25519 key.
        public_key: &'a str = "publicKey",
        /// 128-hex Ed25519 signature over `tessera-register-key:<profileId>:<64-hex raw key>`.
        signature: Option<&'a str> = "signature",
    }
}

/// The query of `GET /public-key/retrieve-public-key` (read with the form rules).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PublicKeyQuery<'a> {
    /// Another profile's id (the caller's own key when absent).
    #[param(rename = "profileId", value_type = Option<String>)]
    profile_id: Option<&'a str>,
}

impl<'a> PublicKeyQuery<'a> {
    fn read(form: &'a Form) -> Result<Self, ApiError> {
        Ok(Self {
            profile_id: form.optional("profileId")?,
        })
    }
}

/// A fresh Ed25519 key pair.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyPairReply {
    /// 64-hex private seed.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    private: String,
    /// 200-hex public key.
    #[schema(pattern = "^[0-9a-f]{200}$")]
    public: String,
}

/// A public key in the Privicore format.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublicKeyReply {
    /// 200-hex Privicore format.
    #[schema(pattern = "^[0-9a-f]{200}$")]
    public_key: String,
}

#[utoipa::path(get, path = "/generate-keys", tag = "public-key",
    responses(
        (status = 200, description = "A fresh Ed25519 key pair (development convenience)", body = KeyPairReply),
        (status = 404, description = "not_found: disabled by configuration", body = ErrorBody)))]
pub(crate) async fn generate_keys(
    State(s): State<AppState>,
) -> Result<JsonReply<KeyPairReply>, ApiError> {
    if !s.cfg.generate_keys {
        return Err(ApiError::not_found());
    }
    let (private, public) = s.engine.generate_key_pair();
    Ok(JsonReply(KeyPairReply { private, public }))
}

#[utoipa::path(post, path = "/public-key/register-public-key", tag = "public-key", security(("token" = [])),
    request_body(content = PublicKeyForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 202, description = "Command: activates a user, moves a device to pending", body = CommandAccepted,
            headers(("X-DPT-CAB-ID" = String, description = "command id"))),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "device_rejected", body = ErrorBody),
        (status = 422, description = "invalid_public_key, invalid_signature, validation_failed", body = ErrorBody)))]
pub(crate) async fn register_public_key(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Accepted, ApiError> {
    let f: PublicKeyForm<'_> = read(&form)?;
    let signature = f.signature.unwrap_or_default();
    let done = s
        .engine
        .register_public_key(&p, f.public_key, signature)
        .await?;
    Ok(accepted(&done))
}

#[utoipa::path(get, path = "/public-key/retrieve-public-key", tag = "public-key", security(("token" = [])),
    params(PublicKeyQuery),
    responses(
        (status = 200, description = "The profile's registered key", body = PublicKeyReply),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "forbidden: another profile's key is not the caller's to read", body = ErrorBody),
        (status = 404, description = "not_found: no such profile or no key", body = ErrorBody)))]
pub(crate) async fn retrieve_public_key(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<JsonReply<PublicKeyReply>, ApiError> {
    let form = query
        .map(|q| Form::parse(q.as_bytes()))
        .transpose()?
        .unwrap_or_default();
    let q = PublicKeyQuery::read(&form)?;
    let profile = q.profile_id.map(super::uuid_path).transpose()?;
    let key = s.engine.public_key(&p, profile).await?;
    Ok(JsonReply(PublicKeyReply {
        public_key: key.to_privicore_hex(),
    }))
}

#[utoipa::path(get, path = "/public-key/retrieve-cab-public-key", tag = "public-key",
    responses(
        (status = 200, description = "The server's own key", body = PublicKeyReply),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn retrieve_cab_public_key(
    State(s): State<AppState>,
) -> Result<JsonReply<PublicKeyReply>, ApiError> {
    let key = s.engine.server_public_key().await?;
    Ok(JsonReply(PublicKeyReply {
        public_key: key.to_privicore_hex(),
    }))
}
