//! # tessera-server
//!
//! The `tessera` binary's library: what `tessera serve` and `tessera admin …` put around
//! [`tessera_http`]:
//!
//! - [`settings`]: the settings of `tessera serve` and `tessera admin …`: the TOML file,
//!   the `TESSERA_*` environment and the flags, layered and validated once.
//! - [`store`]: opening a storage backend by name ([`store::open_store`]); each backend is
//!   a cargo feature (`redb`, `sled`, `postgres`, all on by default).
//! - [`notify`]: where password-reset codes go (log, file, webhook).
//! - [`admin`]: the offline `tessera admin create-user` operation.
//!
//! The binary (`src/main.rs`) is a thin CLI over these modules.

#![forbid(unsafe_code)]

pub mod admin;
pub mod notify;
pub mod settings;
pub mod store;
