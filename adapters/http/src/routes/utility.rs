//! Utility routes: health, command status, OpenAPI document, metrics.

use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Serialize;
use utoipa::ToSchema;

use super::super::reply::JsonReply;
use super::super::{ApiError, AppState, ErrorBody, json as reply, json_body, json_bytes};
use crate::routes::Routes;
use crate::ws::CommandData;

pub(crate) fn routes() -> Routes {
    Routes::new()
        .route("/utility/check-server-health", get(health))
        .route("/request-status/{commandId}", get(request_status))
        .route("/openapi.json", get(openapi))
}

/// The server's health.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HealthReply {
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    status: &'static str,
    /// `ok` or `unavailable`.
    #[schema(pattern = "^(ok|unavailable)$")]
    storage: &'static str,
    /// The server's version.
    version: &'static str,
}

/// A command record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CommandStatusReply {
    data: CommandData,
}

#[utoipa::path(get, path = "/utility/check-server-health", tag = "utility",
    responses(
        (status = 200, description = "The store answers", body = HealthReply),
        (status = 503, description = "The store does not answer", body = HealthReply)))]
/// `GET /utility/check-server-health`: 200 when the store answers, else 503 with
/// `Retry-After` (from the background prober's last probe, at most
/// `HttpConfig::health_interval` old).
pub(crate) async fn health(State(s): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    if s.health.check().await {
        // the same every time: serialized once
        static HEALTHY: OnceLock<Bytes> = OnceLock::new();
        let body = HEALTHY.get_or_init(|| {
            json_bytes(&HealthReply {
                status: "ok",
                storage: "ok",
                version,
            })
            .into()
        });
        return json_body(StatusCode::OK, body.clone());
    }
    let mut res = reply(
        StatusCode::SERVICE_UNAVAILABLE,
        &HealthReply {
            status: "unavailable",
            storage: "unavailable",
            version,
        },
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

#[utoipa::path(get, path = "/request-status/{commandId}", tag = "utility",
    params(("commandId" = String, Path, description = "The command id (a UUID; anything else → 404)")),
    responses(
        (status = 200, description = "The command record", body = CommandStatusReply),
        (status = 404, description = "not_found: unknown or purged", body = ErrorBody),
        (status = 503, description = "storage_unavailable", body = ErrorBody)))]
pub(crate) async fn request_status(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<JsonReply<CommandStatusReply>, ApiError> {
    let id = super::uuid_path(&id)?;
    let rec = s
        .engine
        .command(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(JsonReply(CommandStatusReply {
        data: CommandData::from(&rec),
    }))
}

#[utoipa::path(get, path = "/openapi.json", tag = "utility",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
pub(crate) async fn openapi() -> Response {
    reply(StatusCode::OK, &super::super::openapi::document())
}

#[utoipa::path(get, path = "/metrics", tag = "utility",
    responses((status = 200, description = "Prometheus text format", body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8")))]
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
