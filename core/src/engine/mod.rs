//! The engine: the only public entry point for operations.
//!
//! Built once by [`EngineBuilder`] and shared as `Arc<Engine>`. Every operation is an
//! `async fn` over domain types returning [`crate::Result`]; one engine call per operation,
//! no transport in here. The operations that are commands of the 202 pattern (marked
//! "A command" in their docs) return [`Accepted`].
//!
//! ## Index: every public operation and the file it lives in
//!
//! | file | operations |
//! |---|---|
//! | `builder.rs` | [`Engine::builder`] → [`EngineBuilder`] (`store`, `clock`, `random`, `config`, `notifier`, `pepper`, `build`); [`EngineConfig`], [`ThrottlePolicy`] |
//! | `credentials.rs` | [`Engine::register_profile`], [`Engine::authenticate`], [`Engine::change_password`] |
//! | `sessions.rs` | [`Engine::verify`] (the hot path), [`Engine::verify_digest`], [`Engine::reauthorize`], [`Engine::revoke`], [`Engine::token_expiry`], [`Engine::profile_info`] |
//! | `keys.rs` | [`Engine::register_public_key`], [`Engine::public_key`], [`Engine::server_public_key`], [`Engine::server_sign`], [`Engine::generate_key_pair`], [`Engine::create_api_key`], [`Engine::verify_api_key`], [`Engine::list_api_keys`] → [`ApiKeyInfo`], [`Engine::revoke_api_key`] |
//! | `devices.rs` | [`Engine::generate_qr_token`], [`Engine::redeem_qr_token`], [`Engine::list_devices`], [`Engine::approve_device`], [`Engine::reject_device`], [`Engine::remove_device`], [`Engine::configure_device_meta`], [`Engine::device_configuration`] |
//! | `commands.rs` | [`Accepted`] (what a command operation returns: its value and its command record, written in the change's own store transaction and published), [`Engine::record_command`] (a command with no change of its own), [`Engine::command`], [`Engine::subscribe`] |
//! | `login.rs` | the JSON token API: [`Engine::login`], [`Engine::refresh`] (rotation with reuse detection), [`Engine::revoke_refresh`], [`Engine::jwks`] |
//! | `new_password.rs` | [`Engine::create_user_with_temporary_password`], [`Engine::complete_new_password`] (NEW_PASSWORD_REQUIRED) |
//! | `reset.rs` | [`Engine::forgot_password`], [`Engine::confirm_forgot_password`] |
//! | `users.rs` | server-registered users: [`Engine::upsert_external_user`], [`Engine::external_user`], [`Engine::logout_external_user`] (their field limits in `user_rules.rs`) |
//! | `throttle.rs` | [`Engine::unlock`] (the credential-check backoff itself is private here) |
//! | `nonces.rs` | [`Engine::claim_nonce`] (the replay guard of the message adapter, shared through the store) |
//! | `account/` | the account console's own calls (its own index in [`account`]): [`Engine::account_sign_in`], [`Engine::account_session`], [`Engine::account_profile`], [`Engine::account_csrf`], [`Engine::check_account_csrf`], [`Engine::account_sessions`], [`Engine::account_revoke_session`] |
//! | `oauth/` | the OAuth 2.1 / OpenID Connect provider (its own index in [`oauth`]): applications, codes, the token endpoint, id tokens and their JWKS, userinfo, introspection, revocation |
//! | `directories/` | directories: organisations of profiles with roles and invitations (its own index in [`directories`], the role table in [`directories::permissions`]) |
//! | `events.rs` | how recorded commands reach [`Engine::subscribe`]: in process, or through the store's [`crate::store::CommandFeed`] |
//! | `mod.rs` | [`Engine::now`], [`Engine::hash_queue_depth`], [`Engine::health`], [`Engine::purge_expired`], [`Engine::spawn_purger`] |

pub mod account;
mod builder;
mod commands;
mod credentials;
mod devices;
pub mod directories;
mod events;
mod keys;
mod login;
mod new_password;
mod nonces;
pub mod oauth;
mod reset;
mod sessions;
mod throttle;
mod user_rules;
mod users;

pub use crate::store::CommandEvent;
pub use builder::{EngineBuilder, EngineConfig, ThrottlePolicy};
pub use commands::Accepted;
pub use devices::{Device, DeviceConfiguration, DeviceEnrollment, QrIssued};
pub use directories::{
    DevicePage, Directory, DirectoryClaim, DirectoryDevice, DirectoryLimits, DirectoryOperation,
    DirectoryProfile, Invitation, InvitationDecision, MemberPage, MemberUpdate, NewDirectoryUser,
};
pub use keys::ApiKeyInfo;
pub use login::{Login, TokenSet};
pub use reset::RESET_CODE_LEN;
pub use sessions::{Issued, ProfileInfo, RevokeScope, TokenExpiry};
pub use user_rules::{
    MAX_EMAIL_LEN, MAX_ENVIRONMENT_LEN, MAX_ENVIRONMENTS, MAX_EXTERNAL_ID_LEN, MAX_METADATA_BYTES,
};
pub use users::{ExternalUpsert, ExternalUser, ExternalUserUpsert};

use std::hash::BuildHasher as _;
use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard, OnceCell};
use uuid::Uuid;

use crate::clock::{Clock, Timestamp};
use crate::error::{Error, Result};
use crate::hasher::{Argon2Hasher, HashPool};
use crate::id_token::IdTokenKey;
use crate::key::KeyPair;
use crate::notify::Notifier;
use crate::random::{self, Random};
use crate::store::{CommandRecord, ProfileRecord, Revoke, Store, StoreError};

/// Number of lock stripes serialising credential checks per username.
const STRIPES: usize = 1024;

/// How often an optimistic read-modify-write is retried on a version mismatch. Each
/// mismatch means another writer committed, so this bounds the number of concurrent
/// writers of one record that all still succeed (the slowest waits one round per winner).
pub(crate) const OPTIMISTIC_RETRIES: usize = 64;

/// What a profile update writes beside its change: nothing, or a command record.
trait WrittenBeside {
    fn command(&self) -> Option<&CommandRecord>;
}

impl WrittenBeside for () {
    fn command(&self) -> Option<&CommandRecord> {
        None
    }
}

impl WrittenBeside for CommandRecord {
    fn command(&self) -> Option<&CommandRecord> {
        Some(self)
    }
}

/// The identity engine. See the crate docs for a quickstart.
pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn Random>,
    cfg: EngineConfig,
    hasher: Arc<Argon2Hasher>,
    pool: HashPool,
    dummy_hash: String,
    stripes: Box<[Mutex<()>]>,
    stripe_hasher: std::collections::hash_map::RandomState,
    server_key: OnceCell<KeyPair>,
    id_key: OnceCell<IdTokenKey>,
    oauth_rsa: OnceCell<oauth::signing::RsaKey>,
    notifier: Arc<dyn Notifier>,
    events: events::CommandEvents,
    /// The pending authorizations of the login and consent pages.
    interactions: oauth::Interactions,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store)
            .field("config", &self.cfg)
            .field("hash_pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Start building an engine.
    #[must_use]
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The configuration the engine was built with.
    #[must_use]
    pub const fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The current time by the engine's clock.
    #[must_use]
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Jobs waiting for or running on the password-hashing pool.
    #[must_use]
    pub fn hash_queue_depth(&self) -> usize {
        self.pool.queue_depth()
    }

    /// Whether the store answers. Errors: [`Error::Storage`].
    pub async fn health(&self) -> Result<()> {
        Ok(self.store.ping().await?)
    }

    /// Remove at most `limit` expired tokens, QR tokens, old command records and expired
    /// directory invitations.
    pub async fn purge_expired(&self, limit: usize) -> Result<usize> {
        Ok(self.store.purge_expired(self.clock.now(), limit).await?)
    }

    /// Spawn a background task that purges `batch` expired records every `every`, until the
    /// returned handle is aborted (or the runtime stops). Errors are logged to stderr-free
    /// tracing-less silence: they are retried on the next tick.
    pub fn spawn_purger(
        self: &Arc<Self>,
        every: std::time::Duration,
        batch: usize,
    ) -> tokio::task::JoinHandle<()> {
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let _ = engine.purge_expired(batch).await;
            }
        })
    }

    fn new_id(&self) -> Uuid {
        uuid::Builder::from_random_bytes(random::bytes::<16>(self.rng.as_ref())).into_uuid()
    }

    async fn lock_username(&self, canonical: &str) -> MutexGuard<'_, ()> {
        let i = (self.stripe_hasher.hash_one(canonical) as usize) % self.stripes.len();
        self.stripes[i].lock().await
    }

    async fn profile(&self, id: Uuid) -> Result<ProfileRecord> {
        self.store.get_profile(id).await?.ok_or(Error::NotFound)
    }

    /// Read-modify-write a profile with optimistic versioning: `change` is re-applied to a
    /// fresh copy when another writer got in first (at most a few times).
    async fn update_profile<F>(&self, id: Uuid, revoke: Revoke, change: F) -> Result<ProfileRecord>
    where
        F: FnMut(&mut ProfileRecord) -> Result<()> + Send,
    {
        let (p, ()) = self.update_profile_as(id, revoke, change, |_| ()).await?;
        Ok(p)
    }

    /// [`Engine::update_profile`] for a command: `command` describes the changed profile,
    /// and its record is written in the same transaction as the change.
    async fn update_profile_command<F, C>(
        &self,
        id: Uuid,
        revoke: Revoke,
        change: F,
        command: C,
    ) -> Result<(ProfileRecord, CommandRecord)>
    where
        F: FnMut(&mut ProfileRecord) -> Result<()> + Send,
        C: Fn(&ProfileRecord) -> CommandRecord + Send,
    {
        self.update_profile_as(id, revoke, change, command).await
    }

    /// The loop of both: `describe` gives what is written beside the change (`()` for
    /// nothing, a [`CommandRecord`] for a command) and is returned with the profile.
    async fn update_profile_as<F, C, W>(
        &self,
        id: Uuid,
        revoke: Revoke,
        mut change: F,
        describe: C,
    ) -> Result<(ProfileRecord, W)>
    where
        F: FnMut(&mut ProfileRecord) -> Result<()> + Send,
        C: Fn(&ProfileRecord) -> W + Send,
        W: WrittenBeside + Send,
    {
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut p = self.profile(id).await?;
            let expected = p.version;
            change(&mut p)?;
            p.version = expected + 1;
            p.updated_at = self.clock.now();
            let beside = describe(&p);
            match self
                .store
                .update_profile(&p, expected, revoke, beside.command())
                .await
            {
                Ok(()) => return Ok((p, beside)),
                Err(StoreError::VersionMismatch) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// The server's signing key, created on first use and kept in the store.
    async fn server_key(&self) -> Result<&KeyPair> {
        self.server_key
            .get_or_try_init(|| async {
                let candidate = KeyPair::generate(self.rng.as_ref());
                let seed = self.store.server_key_or_insert(*candidate.seed()).await?;
                Ok(KeyPair::from_seed(&seed))
            })
            .await
    }
}
