//! `GET /ws`: the profile command channel (API.md "Message channel").
//!
//! A client opens a WebSocket and sends, as its first frame,
//! `{"type":"join","authorizationToken":"tsa_…","correlationId":"c-1"}`. The reply is
//! `{"correlationId":"c-1","status":200,"data":{"channelId":"<profileId>","message":"Successfully joined profile channel."}}`,
//! or the same shape with the error's status and `data.error` / `data.message` (401 for a
//! bad token, 403 with the state's code for a profile that is not active), after which the
//! server closes the socket. One channel per connection: a second join is answered 409
//! `already_joined`; any other frame before the join is answered 400 `join_required` and
//! the socket is closed.
//!
//! After joining, every command recorded for the profile — by this or any other connection
//! or HTTP request, on this server or (on a store several servers share, PostgreSQL) on any
//! other — is pushed as `{"data":{…},"signature":"<hex>"}`: `data` is exactly what
//! `GET /request-status/{id}` answers under `data`, and `signature` is the server key's
//! Ed25519 signature over the RFC 8785 canonical bytes of `data` (see [`command_push`]).
//!
//! The token is checked again before every push, whenever the owner of a device channel
//! records a command, at the token's expiry and every [`WsConfig::recheck_interval`]; so a
//! revocation, a password change or a device removal (each a command) closes the affected
//! sockets at once, on every server sharing the store. When the token no longer verifies
//! the socket is closed with code 4401 and reason `token revoked` or `token expired` (4403
//! when the profile is no longer active). Other close codes: 1000
//! `idle timeout` (nothing received, not even a pong, for [`WsConfig::idle_timeout`]), 1001
//! `server shutting down`, 1003 for binary frames, 1008 for a refused join, a frame before
//! the join or a join timeout, 1009 for a frame over [`WsConfig::max_message_bytes`], 1011
//! when the store fails, 1013 when the channel fell behind the command stream (reconnect).
//!
//! Before the upgrade: a request whose `Origin` is not allowed ([`WsConfig::allowed_origins`])
//! is refused with 403 `forbidden`; past [`WsConfig::max_channels`] open channels, 503
//! `overloaded`.

mod config;
mod frames;
mod push;
mod session;

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

pub use config::WsConfig;
pub use frames::JOINED_MESSAGE;
pub use push::{CommandData, command_data, command_push};

use crate::routes::Routes;
use crate::server::Shutdown;
use crate::{ApiError, AppState, ErrorBody};

/// Close code when the token stops verifying (revoked or expired).
pub const CLOSE_TOKEN_ENDED: u16 = 4401;
/// Close code when the profile is no longer active.
pub const CLOSE_NOT_ACTIVE: u16 = 4403;

/// The open channels of a router: the limit of [`WsConfig::max_channels`].
#[derive(Debug)]
pub struct Channels {
    slots: Arc<Semaphore>,
    max: usize,
}

impl Channels {
    /// Room for `max` channels.
    #[must_use]
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
        }
    }

    /// Channels open now.
    #[must_use]
    pub fn open(&self) -> usize {
        self.max - self.slots.available_permits()
    }
}

/// The `/ws` route.
pub(crate) fn routes() -> Routes {
    Routes::new().route("/ws", get(upgrade))
}

#[utoipa::path(get, path = "/ws", tag = "channel",
    description = "Upgrades to a WebSocket (the profile command channel). First frame: \
        {\"type\":\"join\",\"authorizationToken\":\"tsa_…\",\"correlationId\":\"c-1\"}; reply \
        {\"correlationId\":\"c-1\",\"status\":200,\"data\":{\"channelId\":\"<profileId>\",\
        \"message\":\"Successfully joined profile channel.\"}} (same shape with 401/403 and \
        data.error for a refused token, then close). Then every command of the profile is \
        pushed as {\"data\":{…as /request-status…},\"signature\":\"<hex Ed25519 by the server \
        key over the RFC 8785 bytes of data>\"}. Closed with 4401 \"token revoked\" / \"token \
        expired\" when the token ends.",
    responses(
        (status = 101, description = "Switching protocols: the channel is open"),
        (status = 400, description = "bad_request: not a WebSocket upgrade request", body = ErrorBody),
        (status = 426, description = "Upgrade required: the connection cannot be upgraded", body = ErrorBody),
        (status = 403, description = "forbidden: Origin not allowed", body = ErrorBody),
        (status = 503, description = "overloaded: too many open channels", body = ErrorBody),
    ))]
pub(crate) async fn upgrade(
    State(s): State<AppState>,
    headers: HeaderMap,
    shutdown: Option<axum::Extension<Shutdown>>,
    ws: WebSocketUpgrade,
) -> Response {
    let cfg = &s.cfg.ws;
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let origin_ok = match (origins.next(), origins.next()) {
        (None, _) => cfg.origin_allowed(None),
        (Some(v), None) => v.to_str().is_ok_and(|o| cfg.origin_allowed(Some(o))),
        _ => false,
    };
    if !origin_ok {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this Origin may not open a channel",
        )
        .into_response();
    }
    let Ok(slot) = Arc::clone(&s.channels.slots).try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many open channels; retry later",
        )
        .into_response();
    };
    let engine = Arc::clone(&s.engine);
    let cfg = cfg.clone();
    let shutdown = shutdown.map(|axum::Extension(s)| s);
    ws.max_message_size(cfg.max_message_bytes)
        .max_frame_size(cfg.max_message_bytes)
        .on_upgrade(move |socket| async move {
            session::run(socket, engine, cfg, shutdown).await;
            drop(slot);
        })
}
