#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod commands;
mod config;
mod directory;
mod error;
mod feed;
mod keys;
mod maintenance;
mod nonces;
mod oauth;
mod profiles;
mod qr;
mod store;
mod throttle;
mod tokens;
mod users;

pub use config::{PostgresConfig, redact_url};
pub use store::{MIGRATOR, PostgresStore, SCHEMA_VERSION};
