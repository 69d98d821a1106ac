#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod config;
mod error;
mod store;
mod trees;

pub use codec::FORMAT_VERSION;
pub use config::SledConfig;
pub use store::SledStore;
