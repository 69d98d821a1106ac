//! # tessera-adapters
//!
//! Puts the tessera engine on the wire:
//!
//! - [`http`]: the Privicore-compatible HTTP API (`router(engine, cfg)`), plus the pieces a
//!   service that embeds the engine needs: the [`http::AuthLayer`] tower layer and the
//!   [`http::Authenticated`] / [`http::Active`] axum extractors.
//! - [`server`]: the hardened accept loop (connection limit, header read timeout, graceful
//!   shutdown) the `tessera` binary runs the router on.
//! - [`config`]: the TOML configuration file of `tessera serve`.
//! - [`store`]: opening a storage backend by name ([`store::open_store`]).
//!
//! The `tessera` binary (`src/main.rs`) is a thin CLI over these modules.

#![forbid(unsafe_code)]

pub mod config;
pub mod http;
pub mod server;
pub mod store;
