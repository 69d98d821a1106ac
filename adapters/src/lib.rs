//! # tessera-adapters
//!
//! Puts the tessera engine on the wire:
//!
//! - [`http`]: the Privicore-compatible HTTP API (`router(engine, cfg)`), plus the pieces a
//!   service that embeds the engine needs: the [`http::AuthLayer`] tower layer and the
//!   [`http::Authenticated`] / [`http::Active`] axum extractors.
//! - [`ws`]: `GET /ws`, the profile command channel (join, signed command pushes).
//! - [`message`]: authenticating JSON messages that carry their token in a `token` field
//!   (optionally signed), for queue consumers and other transports.
//! - [`server`]: the hardened accept loop (connection limit, header read timeout, graceful
//!   shutdown) the `tessera` binary runs the router on.
//! - [`config`]: the TOML configuration file of `tessera serve`.
//! - [`store`]: opening a storage backend by name ([`store::open_store`]).
//! - [`notify`]: where password-reset codes go (log, file, webhook).
//! - [`admin`]: the offline `tessera admin create-user` operation.
//! - `fuzz` (feature `fuzz`): the bodies of the `form_body` and `message` fuzz targets.
//!
//! The `tessera` binary (`src/main.rs`) is a thin CLI over these modules.

#![forbid(unsafe_code)]

pub mod admin;
pub mod config;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod http;
pub mod message;
pub mod notify;
pub mod server;
pub mod store;
pub mod ws;
