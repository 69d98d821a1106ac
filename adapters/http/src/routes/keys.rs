//! Public-key routes: development key pairs, registration with proof, lookups.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;

use super::super::{ApiError, AppState, Authenticated, Form, accepted, json as reply};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/generate-keys", get(generate_keys))
        .route("/public-key/register-public-key", post(register_public_key))
        .route("/public-key/retrieve-public-key", get(retrieve_public_key))
        .route(
            "/public-key/retrieve-cab-public-key",
            get(retrieve_cab_public_key),
        )
}

/// `GET /generate-keys` [P]: a fresh key pair (404 when disabled).
async fn generate_keys(State(s): State<AppState>) -> Result<Response, ApiError> {
    if !s.cfg.generate_keys {
        return Err(ApiError::not_found());
    }
    let (private, public) = s.engine.generate_key_pair();
    Ok(reply(
        StatusCode::OK,
        &json!({"private": private, "public": public}),
    ))
}

/// `POST /public-key/register-public-key` [P]: form `publicKey`, `signature`.
async fn register_public_key(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    form: Form,
) -> Result<Response, ApiError> {
    let [key] = form.required(["publicKey"])?;
    let signature = form.optional("signature")?.unwrap_or_default();
    let state = s.engine.register_public_key(&p, key, signature).await?;
    let result = vec![("state".to_owned(), state.as_str().to_owned())];
    accepted(&s, Some(p.profile_id), "Public key registered", result).await
}

/// `GET /public-key/retrieve-public-key[?profileId=…]`.
async fn retrieve_public_key(
    State(s): State<AppState>,
    Authenticated(p): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let profile = match query {
        Some(q) => match Form::parse(q.as_bytes())?.optional("profileId")? {
            Some(id) => Some(super::uuid_path(id)?),
            None => None,
        },
        None => None,
    };
    let key = s.engine.public_key(&p, profile).await?;
    Ok(reply(
        StatusCode::OK,
        &json!({"publicKey": key.to_privicore_hex()}),
    ))
}

/// `GET /public-key/retrieve-cab-public-key`: the server's own key.
async fn retrieve_cab_public_key(State(s): State<AppState>) -> Result<Response, ApiError> {
    let key = s.engine.server_public_key().await?;
    Ok(reply(
        StatusCode::OK,
        &json!({"publicKey": key.to_privicore_hex()}),
    ))
}
