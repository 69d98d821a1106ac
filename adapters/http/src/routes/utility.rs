//! Utility routes: health, command status, OpenAPI document, metrics.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::super::{ApiError, AppState, json as reply};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/utility/check-server-health", get(health))
        .route("/request-status/{commandId}", get(request_status))
        .route("/openapi.json", get(openapi))
}

/// `GET /utility/check-server-health`: 200 when the store answers, else 503 (from a state at
/// most `HttpConfig::health_max_age` old).
async fn health(State(s): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    match s.health.check(&s.engine).await {
        Ok(()) => reply(
            StatusCode::OK,
            &json!({"status": "ok", "storage": "ok", "version": version}),
        ),
        Err(e) => {
            tracing::error!(detail = %e, "health check: store unavailable");
            reply(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"status": "unavailable", "storage": "unavailable", "version": version}),
            )
        }
    }
}

/// `GET /request-status/{commandId}` [P]: the command record, 404 when unknown or purged.
async fn request_status(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = super::uuid_path(&id)?;
    let rec = s
        .engine
        .command(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let data = crate::ws::command_data(&rec);
    Ok(reply(StatusCode::OK, &json!({ "data": data })))
}

/// `GET /openapi.json`: the OpenAPI 3.1 document.
async fn openapi() -> Response {
    reply(StatusCode::OK, &super::super::openapi::document())
}

/// `GET /metrics`: Prometheus text format.
pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        s.metrics.render(s.engine.hash_queue_depth()),
    )
        .into_response()
}
