//! `GET /.well-known/jwks.json`: the key that verifies id tokens, as a JWK Set (RFC 7517),
//! so other services check id tokens offline.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use super::super::{ApiError, AppState, json as reply};

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/.well-known/jwks.json", get(jwks))
}

async fn jwks(State(s): State<AppState>) -> Result<Response, ApiError> {
    let set = s.engine.jwks().await?;
    let mut res = reply(StatusCode::OK, &set);
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}
