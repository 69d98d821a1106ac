#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod config;
mod error;
mod store;

pub use config::{PostgresConfig, redact_url};
pub use store::{MIGRATOR, PostgresStore, SCHEMA_VERSION};
