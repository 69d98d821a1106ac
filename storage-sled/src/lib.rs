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
mod revoke;
mod store;
mod throttle;
mod token_index;
mod tokens;
mod trees;
mod users;

pub use codec::FORMAT_VERSION;
pub use config::SledConfig;
pub use store::SledStore;
