#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod commands;
mod config;
mod directory;
mod error;
mod keys;
mod maintenance;
mod nonces;
mod oauth;
mod profiles;
mod qr;
mod store;
mod tables;
mod throttle;
mod token_index;
mod tokens;
mod users;

pub use config::RedbConfig;
pub use store::{FILE_NAME, RedbStore};
