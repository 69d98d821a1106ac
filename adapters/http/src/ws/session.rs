//! One channel: the join handshake, then pushes, pings and token re-checks until close.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use tessera_core::{CommandEvent, Engine, Error, Operation, Principal};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, sleep_until, timeout};
use uuid::Uuid;

use super::frames::{self, ClientFrame};
use super::push::command_push;
use super::{CLOSE_NOT_ACTIVE, CLOSE_TOKEN_ENDED, WsConfig};
use crate::server::Shutdown;

/// Longest wait for one frame to be written to a slow client.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for the client's close reply after the server's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Shortest interval between token re-checks.
const MIN_RECHECK: Duration = Duration::from_millis(10);

/// Why the server ends a channel: `None` when the client went away first.
type Close = Option<(u16, String)>;

#[allow(clippy::unnecessary_wraps)] // builds the `Some` of `Close`
fn close(code: u16, reason: impl Into<String>) -> Close {
    Some((code, reason.into()))
}

/// A joined channel.
struct Joined {
    principal: Principal,
    events: broadcast::Receiver<CommandEvent>,
}

/// Serve one socket until it closes.
pub(super) async fn run(
    mut socket: WebSocket,
    engine: Arc<Engine>,
    cfg: WsConfig,
    mut shutdown: Option<Shutdown>,
) {
    let outcome = match join(&mut socket, &engine, &cfg, &mut shutdown).await {
        Ok(joined) => channel(&mut socket, &engine, &cfg, &mut shutdown, joined).await,
        Err(c) => c,
    };
    if let Some((code, reason)) = outcome {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
    }
    // Complete the closing handshake (or notice the peer has gone), briefly.
    let _ = timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = socket.recv().await {}
    })
    .await;
}

async fn wait_shutdown(shutdown: &mut Option<Shutdown>) {
    match shutdown {
        Some(s) => s.requested().await,
        None => std::future::pending().await,
    }
}

async fn send(socket: &mut WebSocket, text: String) -> Result<(), Close> {
    match timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(None),
        Err(_) => Err(close(close_code::POLICY, "client too slow to read")),
    }
}

/// A receive error: a frame over the limit gets 1009, anything else means the peer is gone.
fn receive_error(e: &axum::Error) -> Close {
    let text = e.to_string();
    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
        close(close_code::SIZE, "frame too large")
    } else {
        None
    }
}

/// Wait for the join frame and answer it.
async fn join(
    socket: &mut WebSocket,
    engine: &Engine,
    cfg: &WsConfig,
    shutdown: &mut Option<Shutdown>,
) -> Result<Joined, Close> {
    let deadline = Instant::now() + cfg.join_timeout;
    loop {
        let frame = tokio::select! {
            () = wait_shutdown(shutdown) => return Err(close(close_code::AWAY, "server shutting down")),
            () = sleep_until(deadline) => return Err(close(close_code::POLICY, "join timeout")),
            f = socket.recv() => f,
        };
        let text = match frame {
            None => return Err(None),
            Some(Err(e)) => return Err(receive_error(&e)),
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Binary(_))) => {
                return Err(close(
                    close_code::UNSUPPORTED,
                    "binary frames are not supported",
                ));
            }
            Some(Ok(Message::Close(_))) => return Err(None),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
        };
        let (token, correlation_id) = match frames::parse(text.as_str()) {
            ClientFrame::Join {
                token,
                correlation_id,
            } => (token, correlation_id),
            ClientFrame::Other { correlation_id } => {
                let reply = frames::refused(
                    correlation_id.as_deref(),
                    400,
                    "join_required",
                    "the first frame must be {\"type\":\"join\",\"authorizationToken\":…}",
                );
                send(socket, reply).await?;
                return Err(close(close_code::POLICY, "join required"));
            }
            ClientFrame::Malformed => {
                let reply = frames::refused(None, 400, "bad_request", "a frame is one JSON object");
                send(socket, reply).await?;
                return Err(close(close_code::POLICY, "join required"));
            }
        };
        // Subscribe before the check, so no command recorded after the reply is missed.
        let checked = match engine.subscribe().await {
            Ok(events) => engine
                .verify(&token)
                .await
                .and_then(|p| p.require(Operation::Other).map(|()| (p, events))),
            Err(e) => Err(e),
        };
        return match checked {
            Ok((principal, events)) => {
                send(
                    socket,
                    frames::joined(correlation_id.as_deref(), principal.profile_id),
                )
                .await?;
                Ok(Joined { principal, events })
            }
            Err(e) => {
                let status = crate::ApiError::from(e.clone()).status().as_u16();
                let reply =
                    frames::refused(correlation_id.as_deref(), status, e.code(), &e.to_string());
                send(socket, reply).await?;
                Err(match e {
                    Error::Storage(_) => close(close_code::ERROR, "storage unavailable"),
                    _ => close(close_code::POLICY, e.code()),
                })
            }
        };
    }
}

/// Check the channel's token again; the close to send when it no longer holds.
async fn recheck(engine: &Engine, principal: &Principal) -> Result<Principal, Close> {
    match engine.verify_digest(&principal.token).await {
        Ok(p) => match p.require(Operation::Other) {
            Ok(()) => Ok(p),
            Err(e) => Err(close(
                CLOSE_NOT_ACTIVE,
                format!("profile no longer active: {}", e.code()),
            )),
        },
        Err(Error::Unauthorized) if engine.now() >= principal.expires_at => {
            Err(close(CLOSE_TOKEN_ENDED, "token expired"))
        }
        Err(Error::Unauthorized) => Err(close(CLOSE_TOKEN_ENDED, "token revoked")),
        Err(e) => {
            tracing::error!(detail = %e, "channel token re-check failed");
            Err(close(close_code::ERROR, "storage unavailable"))
        }
    }
}

/// When to check the token next: at its expiry, or after the recheck interval if sooner.
fn next_check(engine: &Engine, principal: &Principal, cfg: &WsConfig) -> Instant {
    let to_expiry = Duration::from_secs(engine.now().secs_until(principal.expires_at));
    Instant::now()
        + cfg
            .recheck_interval
            .min(to_expiry.max(Duration::from_secs(1)))
            .max(MIN_RECHECK)
}

/// The joined channel: push the profile's commands until something ends it.
async fn channel(
    socket: &mut WebSocket,
    engine: &Engine,
    cfg: &WsConfig,
    shutdown: &mut Option<Shutdown>,
    joined: Joined,
) -> Close {
    let Joined {
        mut principal,
        mut events,
    } = joined;
    let channel: Uuid = principal.profile_id;
    let owner = principal.owner;
    let mut recheck_at = next_check(engine, &principal, cfg);
    // A live client answers each ping, so the idle limit must leave room for one round.
    let idle_timeout = cfg.idle_timeout.max(cfg.ping_interval * 2);
    let mut ping_at = Instant::now() + cfg.ping_interval;
    let mut idle_at = Instant::now() + idle_timeout;
    loop {
        tokio::select! {
            () = wait_shutdown(shutdown) => return close(close_code::AWAY, "server shutting down"),
            frame = socket.recv() => {
                idle_at = Instant::now() + idle_timeout;
                match frame {
                    None | Some(Ok(Message::Close(_))) => return None,
                    Some(Err(e)) => return receive_error(&e),
                    Some(Ok(Message::Binary(_))) => {
                        return close(close_code::UNSUPPORTED, "binary frames are not supported");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Text(t))) => {
                        let reply = match frames::parse(t.as_str()) {
                            ClientFrame::Join { correlation_id, .. } => frames::refused(
                                correlation_id.as_deref(),
                                409,
                                "already_joined",
                                "this connection has joined a channel already",
                            ),
                            ClientFrame::Other { correlation_id } => frames::refused(
                                correlation_id.as_deref(),
                                400,
                                "unsupported_frame",
                                "the channel only pushes; the only client frame is join",
                            ),
                            ClientFrame::Malformed => frames::refused(
                                None,
                                400,
                                "bad_request",
                                "a frame is one JSON object",
                            ),
                        };
                        if let Err(c) = send(socket, reply).await {
                            return c;
                        }
                    }
                }
            }
            event = events.recv() => {
                let command = match event {
                    Ok(CommandEvent { command }) => command,
                    Err(RecvError::Lagged(n)) => {
                        return close(close_code::AGAIN, format!("missed {n} commands; reconnect"));
                    }
                    Err(RecvError::Closed) => return close(close_code::AWAY, "server shutting down"),
                };
                let mine = command.profile_id == Some(channel);
                // A device's tokens end when its owner rejects or removes it: the owner's
                // commands trigger a re-check.
                if !mine && (owner.is_none() || command.profile_id != owner) {
                    continue;
                }
                principal = match recheck(engine, &principal).await {
                    Ok(p) => p,
                    Err(c) => return c,
                };
                recheck_at = next_check(engine, &principal, cfg);
                if mine {
                    let text = match command_push(engine, &command).await {
                        Ok(t) => t,
                        Err(e) => {
                            tracing::error!(detail = %e, "cannot sign a channel push");
                            return close(close_code::ERROR, "cannot sign the push");
                        }
                    };
                    if let Err(c) = send(socket, text).await {
                        return c;
                    }
                }
            }
            () = sleep_until(recheck_at) => {
                principal = match recheck(engine, &principal).await {
                    Ok(p) => p,
                    Err(c) => return c,
                };
                recheck_at = next_check(engine, &principal, cfg);
            }
            () = sleep_until(ping_at) => {
                ping_at = Instant::now() + cfg.ping_interval;
                if timeout(SEND_TIMEOUT, socket.send(Message::Ping(bytes::Bytes::new()))).await.is_err() {
                    return close(close_code::POLICY, "client too slow to read");
                }
            }
            () = sleep_until(idle_at) => return close(close_code::NORMAL, "idle timeout"),
        }
    }
}
