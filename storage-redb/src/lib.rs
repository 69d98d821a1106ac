#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod codec;
mod config;
mod error;
mod read;
mod store;
mod tables;
mod traits;
mod write;

pub use config::RedbConfig;
pub use store::{FILE_NAME, RedbStore};
