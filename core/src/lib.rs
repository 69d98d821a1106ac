//! # tessera-core
//!
//! The tessera identity engine: user and device profiles, argon2id password
//! authentication, opaque authorization tokens with a fixed TTL table and instant
//! revocation, Ed25519 public-key activation and device onboarding by QR token. It does no
//! I/O but through its [`store`] traits, its [`Clock`] and its [`Random`] source, so it
//! embeds in any Rust service and runs under any transport.
//!
//! ## Quickstart
//!
//! ```
//! use std::sync::Arc;
//! use tessera_core::{Engine, KeyPair, MemoryStore, OsRandom, ProfileState};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), tessera_core::Error> {
//! let engine = Engine::builder().store(Arc::new(MemoryStore::new())).build()?;
//!
//! // Register, then authenticate: the profile is incomplete until it has a key.
//! let id = engine.register_profile("Alice", "correct horse battery staple").await?.value;
//! let issued = engine.authenticate("alice", "correct horse battery staple", None).await?;
//! let me = engine.verify(issued.token.expose()).await?;
//! assert_eq!(me.state, ProfileState::Incomplete);
//!
//! // Register a public key with proof of possession: the user becomes active.
//! let keys = KeyPair::generate(&OsRandom);
//! let key = keys.public().to_privicore_hex();
//! engine.register_public_key(&me, &key, &keys.prove(id)).await?;
//! let me = engine.verify(issued.token.expose()).await?;
//! assert!(me.require_active().is_ok());
//! # Ok(()) }
//! ```
//!
//! ## Map
//!
//! - [`Engine`] / [`EngineBuilder`]: every operation.
//! - [`profile`]: kinds, states, the pure state machine and the operation guards.
//! - [`username`], [`password`], [`hasher`]: identity rules and argon2id on a bounded pool.
//! - [`token`], [`key`]: opaque tokens, the TTL table, Ed25519 keys.
//! - The token API ([`Engine::login`], [`Engine::refresh`], [`Engine::jwks`]), password
//!   reset through a [`Notifier`], and server-registered users
//!   ([`Engine::upsert_external_user`]).
//! - Directories (organisations of profiles with roles and invitations): the operations in
//!   [`engine::directories`], the role table in [`engine::directories::permissions`].
//! - [`store`]: the storage traits and [`MemoryStore`]; the `tessera-testkit` crate holds
//!   the conformance suite every backend passes.
//! - [`Error`]: every refusal, with a stable machine code ([`Error::code`]).

#![forbid(unsafe_code)]

pub mod clock;
pub mod engine;
pub mod error;
pub mod hasher;
mod id_token;
pub mod key;
pub mod notify;
pub mod password;
pub mod principal;
pub mod profile;
pub mod random;
pub mod store;
pub mod token;
pub mod username;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use engine::{
    Accepted, ApiKeyInfo, CommandEvent, Device, DeviceConfiguration, DeviceEnrollment, Engine,
    EngineBuilder, EngineConfig, ExternalUpsert, ExternalUser, ExternalUserUpsert, Issued, Login,
    ProfileInfo, QrIssued, RevokeScope, ThrottlePolicy, TokenExpiry, TokenSet,
};
pub use error::{Error, Result};
pub use hasher::HashParams;
pub use key::{KeyPair, PublicKey};
pub use notify::{DiscardNotifier, Notification, Notifier, ResetCode};
pub use password::{Password, PasswordPolicy};
pub use principal::Principal;
pub use profile::{Event, Operation, ProfileKind, ProfileState};
pub use random::{OsRandom, Random};
pub use store::{MemoryStore, Store, StoreError};
pub use token::{Token, TokenDigest, TokenKind, Ttl};
pub use username::Username;

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
