//! Storage: the domain-level traits every backend implements, and [`MemoryStore`].
//!
//! One trait per aggregate, all `async_trait` and object-safe, so `Arc<dyn Store>` works.
//! Every method documents its atomicity. Operations that must change several aggregates
//! together (a profile and its tokens, a QR token and the device it creates) are single
//! methods, so a backend can make them one transaction; the engine never does
//! check-then-write across two calls where correctness depends on it.

mod directory;
mod error;
mod memory;
mod nonce;
mod oauth;
mod records;
mod resolve_cache;
mod throttle;

pub use directory::{
    DirectoryMember, DirectoryRecord, DirectoryRole, DirectoryStore, InvitationRecord,
    MembershipLimits, MembershipRecord,
};
pub use error::{Conflict, StoreError};
pub use memory::MemoryStore;
pub use nonce::NonceStore;
pub use oauth::{
    ConsentRecord, IdTokenAlg, OAuthClientRecord, OAuthGrantRecord, OAuthStore, ResolvedGrant,
};
pub use records::{
    ApiKeyRecord, CommandEvent, CommandRecord, CommandStatus, DeviceInfo, DeviceRoles,
    ProfileRecord, QrRecord, ResolvedToken, Revoke, Rotation, ServerUserRecord, ThrottleRecord,
    TokenRecord,
};
pub use resolve_cache::ResolveCache;
pub use throttle::{Reservation, ThrottlePolicy};

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::token::{TokenDigest, TokenKind};

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Profiles (users and devices) and their indexes (username, public key, owner).
#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Insert a new profile. Atomic: the canonical username is claimed in the same
    /// transaction, so of N concurrent creations of one name exactly one succeeds.
    /// Errors: `Conflict(Username)` if the name is taken, `Conflict(Exists)` if the id is.
    /// `command` (see [`CommandStore`]) is written in the same transaction, so the change
    /// and its command record are durable together or not at all.
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Read a profile by id.
    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>>;

    /// Read a profile by canonical username.
    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>>;

    /// Replace a profile whose stored version is `expected_version` with `profile`
    /// (whose `version` the caller has set to `expected_version + 1`), and apply `revoke`
    /// to its tokens, all in one transaction. The username and owner never change.
    /// The public-key index follows the new key (the old key is released).
    /// Errors: `NotFound`, `VersionMismatch`, `Conflict(PublicKey)` when the key is bound to
    /// another profile (nothing is written then). `command` is written in the same
    /// transaction.
    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Every device profile owned by `owner` (removed ones included), in creation order.
    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>>;

    /// Redeem a QR token into a new device profile, in one transaction: the QR record
    /// `qr` must exist, expire after `now` and belong to `device.owner`; it is deleted and
    /// the device created (with its username claimed) together. Of N concurrent
    /// redemptions of one QR token exactly one succeeds.
    /// Errors: `NotFound` (no such QR token, expired or another owner's),
    /// `Conflict(Username)` (the QR token then stays usable). `command` is written in the
    /// same transaction.
    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;
}

/// Authorization and refresh tokens, by digest.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Store a token if its profile still has `profile_version` (so a token can never be
    /// issued against a password that was changed meanwhile). Atomic.
    /// Errors: `NotFound` (no profile), `VersionMismatch`, `Conflict(Exists)` (digest taken).
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()>;

    /// Store many tokens at once, each if its profile has the paired version (bulk loads,
    /// and the access + refresh pair of a login). Durable backends do this in one
    /// transaction, so a failing batch stores nothing; the default (for simple backends)
    /// calls [`TokenStore::put_token`] for each and stops at the first error, keeping the
    /// tokens already stored.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        for (t, v) in tokens {
            self.put_token(t, *v).await?;
        }
        Ok(())
    }

    /// The hot path of verify: in one read transaction, the token and its profile as a
    /// [`ResolvedToken`] (the engine builds the `Principal` from it). `None` if either is
    /// missing. Expiry, kind and state are not checked here.
    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>>;

    /// [`TokenStore::resolve_token`] answered on the calling thread, by a backend whose
    /// resolve never waits (redb's shared snapshot, sled's trees, the memory maps: their
    /// `resolve_token` runs on the calling task already): `Some` is the same answer, `None`
    /// means "await `resolve_token`". The verify path asks this first, which spares it the
    /// boxed future of an `async_trait` call. The default is `None`, so a store that wraps
    /// another one (and does not forward this) keeps every resolve on its own
    /// `resolve_token`.
    fn resolve_token_now(
        &self,
        digest: &TokenDigest,
    ) -> Option<StoreResult<Option<ResolvedToken>>> {
        let _ = digest;
        None
    }

    /// Read a token record.
    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>>;

    /// Set a live token's expiry. Atomic with respect to revocation: a revoked or
    /// expired (`expires_at <= now`) token is never brought back. Errors: `NotFound`
    /// (nothing is written then). `command` is written in the same transaction.
    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Delete one token. Returns whether it existed; `command` is written in the same
    /// transaction, and only when it did.
    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool>;

    /// Delete every token (and QR token) of a profile, in one transaction with `command`.
    /// Returns how many.
    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64>;

    /// Spend a single-use token and issue what it buys, in one transaction: a refresh
    /// token (rotation) or an OAuth authorization code (exchange). Let `old` be the record
    /// stored under `old_digest`; it matches when `old.family` is `Some` and every record of
    /// `issue` has `old.profile_id` and `old.family`.
    ///
    /// - `old` matches, its kind `K` has a spent kind ([`TokenKind::spent`]) and
    ///   `old.expires_at > now`: `old`'s kind becomes `K.spent()` (everything else kept,
    ///   its expiry too) and every record of `issue` is inserted → [`Rotation::Rotated`].
    /// - `old` matches, its kind is a spent kind ([`TokenKind::is_spent`]) and
    ///   `old.expires_at > now` (reuse): every token of the family is deleted, as by
    ///   [`TokenStore::revoke_family`], nothing is inserted → [`Rotation::Reused`].
    /// - otherwise (no record, expired, another kind, profile or family) nothing changes →
    ///   [`Rotation::Unknown`].
    ///
    /// Of N concurrent spends of one live token exactly one is `Rotated`. On any error
    /// nothing is written, so a storage failure leaves the old token usable.
    /// Errors: `Conflict(Exists)` when a digest of `issue` is already stored or given twice
    /// (nothing written). The new records' profile is not version-checked: a password change
    /// revokes the family's tokens, so a spend after it finds no `old`.
    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation>;

    /// Rotate a refresh token of the token API: [`TokenStore::spend_token`] with
    /// `[new_refresh, new_access]`.
    async fn rotate_refresh(
        &self,
        old_digest: &TokenDigest,
        new_refresh: &TokenRecord,
        new_access: &TokenRecord,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        self.spend_token(old_digest, &[new_refresh.clone(), new_access.clone()], now)
            .await
    }

    /// Every token of a profile, of any kind, expired or not (the account page's list of
    /// sessions filters what it shows), ordered by issue time then digest.
    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>>;

    /// Delete every token (any kind, expired or not) whose `family` is `Some(family)`, in one
    /// transaction. Returns how many.
    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64>;

    /// Consume a single-use token, in one transaction: if a token of `kind` is stored under
    /// `digest` it is deleted, and returned when it had not expired (`expires_at > now`);
    /// an expired one is deleted and `None` returned. A token of another kind is left
    /// alone (`None`). Of N concurrent takes of one token at most one gets `Some`.
    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>>;

    /// In one transaction, delete every token of `token.profile_id` whose kind is
    /// `token.kind` (expired or not) and insert `token`: a newer reset code voids the older.
    /// Returns how many were deleted.
    /// Errors: `NotFound` (no such profile), `Conflict(Exists)` (digest already stored;
    /// nothing is changed).
    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64>;
}

/// Device onboarding QR tokens (single use).
#[async_trait]
pub trait QrStore: Send + Sync {
    /// Store a QR token if its owner still has `owner_version`. Atomic.
    /// Errors: `NotFound` (no owner), `VersionMismatch`.
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()>;

    /// Read a QR record (it is consumed only by [`ProfileStore::create_device`]).
    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>>;
}

/// The command log of the asynchronous (202) pattern.
///
/// An operation that is a command hands its record to the write that makes its change
/// (the `command` parameter of [`ProfileStore::create_profile`],
/// [`ProfileStore::update_profile`], [`ProfileStore::create_device`],
/// [`TokenStore::set_token_expiry`], [`TokenStore::revoke_token`] and
/// [`TokenStore::revoke_profile_tokens`]), which writes both in one transaction: after an
/// acknowledged command, the change and its record are both there. The engine draws
/// command ids at random, so they do not clash.
#[async_trait]
pub trait CommandStore: Send + Sync {
    /// Record a command outcome on its own (durably, before the reply).
    /// Errors: `Conflict(Exists)`.
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()>;

    /// Read a command by id.
    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>>;

    /// The store's own feed of recorded commands, for a store that several processes
    /// share: it delivers every command any of them records. `None` (the default) for a
    /// store of one process, whose engine publishes its commands itself.
    fn command_feed(&self) -> Option<Arc<dyn CommandFeed>> {
        None
    }
}

/// Commands as they are committed to a store shared by several processes, by any of them
/// (see [`CommandStore::command_feed`]). A command is delivered once its transaction has
/// committed, never for a change that was rolled back, and once to each subscription.
#[async_trait]
pub trait CommandFeed: Send + Sync + std::fmt::Debug {
    /// A subscription that receives every command committed after this returns, once, in
    /// the order the feed learns of them. Errors: `Unavailable` when the feed cannot start.
    async fn subscribe(&self) -> StoreResult<broadcast::Receiver<CommandEvent>>;
}

/// Per-username counters of failed credential checks.
///
/// A credential check is [`ThrottleStore::reserve_attempt`] (check and, where it matters,
/// count in one step), the check itself, then [`ThrottleStore::record_failure`] (unless the
/// attempt was counted in advance), [`ThrottleStore::clear_throttle`] on success, or
/// [`ThrottleStore::release_attempt`] when the attempt came to no verdict.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Read the counter of a canonical username (or of any throttle key).
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>>;

    /// Decide whether a credential attempt on `key` may run at `now` under `policy`
    /// ([`ThrottlePolicy::reserve`] on the stored counter) and write what it decided, in one
    /// transaction (or under one lock, or a row lock): refused (nothing written), or allowed,
    /// and counted in advance when a failure of it would make the next attempt wait. So of
    /// N concurrent reservations at a backoff edge, whichever processes make them, exactly
    /// one is allowed. (A decision that writes nothing, refused or allowed while failures
    /// are free, also holds on a plain [`ThrottleStore::get_throttle`] read: the engine
    /// takes those there and calls this only for an attempt that counts.)
    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation>;

    /// Undo an attempt counted in advance that came to no verdict (a storage error, an
    /// overloaded hash pool): if the stored counter is still `counted`, it becomes `before`
    /// (removed when `None`), in one transaction; any other counter (a later failure, an
    /// unlock) is left alone. Returns whether it was put back.
    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool>;

    /// Atomically add one failure at `now`; returns the new counter.
    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord>;

    /// Reset the counter (success, or an administrator's unlock).
    async fn clear_throttle(&self, key: &str) -> StoreResult<()>;
}

/// The server's own signing key and server API keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The stored server key seed, or `candidate` after storing it when there is none yet.
    /// Atomic: concurrent first calls all get the same seed.
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]>;

    /// Store a server API key's digest under its name. Atomic: the name is checked and
    /// claimed in one transaction (or under one lock), so of N concurrent puts of one name
    /// exactly one succeeds. Nothing is written on an error.
    /// Errors: `Conflict(Exists)` when a key of this name, or of this digest, is stored.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()>;

    /// Read a server API key by digest.
    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>>;

    /// Every stored server API key (records hold the digest, never the key), ordered by
    /// creation time, then name, then digest. One consistent read.
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>>;

    /// Delete every server API key named `name` in one transaction; returns how many were
    /// deleted. That is one, except on a store written before names were unique (older
    /// builds accepted a name twice): then all keys of the name go together. Once this
    /// returns, [`KeyStore::get_api_key`] of every one of them answers `None`.
    /// Errors: `NotFound` when no key has this name (nothing is changed).
    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64>;
}

/// Sort API key records into the order of [`KeyStore::list_api_keys`]: creation time, then
/// name, then digest.
pub fn sort_api_keys(keys: &mut [ApiKeyRecord]) {
    keys.sort_by(|a, b| {
        (a.created_at, &a.name, &a.digest.0).cmp(&(b.created_at, &b.name, &b.digest.0))
    });
}

/// Server-registered users (identity-provider id → profile).
#[async_trait]
pub trait ServerUserStore: Send + Sync {
    /// Create a server-registered user and its profile in one transaction: the external id,
    /// the profile id and the canonical username are all claimed together, so of N
    /// concurrent creations of one external id exactly one succeeds and a failure leaves
    /// neither record. The caller guarantees `user.profile_id == profile.id`.
    /// Errors: `Conflict(Exists)` (external id or profile id taken), `Conflict(Username)`,
    /// `Conflict(PublicKey)` (as [`ProfileStore::create_profile`]).
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()>;

    /// Read a server-registered user by external id.
    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>>;

    /// Update a server-registered user and its profile in one transaction. The stored record
    /// of `user.external_id` must exist and map to `profile.id` (else `NotFound`); the
    /// profile is written exactly as [`ProfileStore::update_profile`] does (version check
    /// against `expected_version`, username and owner kept, `revoke` applied), and the
    /// external record replaced by `user` except `profile_id` and `created_at`, which keep
    /// their stored values. Nothing is written on any error.
    /// Errors: `NotFound`, `VersionMismatch`, `Conflict(PublicKey)`.
    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()>;
}

/// Health and housekeeping.
#[async_trait]
pub trait MaintenanceStore: Send + Sync {
    /// Cheap read that fails when the store cannot serve.
    async fn ping(&self) -> StoreResult<()>;

    /// Delete at most `limit` expired records (tokens, QR tokens, OAuth grants,
    /// directory invitations and nonce claims with `expires_at <= now`, command records past
    /// their retention). Never removes a record
    /// that expires after `now`. Returns how many were removed.
    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize>;
}

/// Everything a backend implements; blanket-implemented.
pub trait Store:
    ProfileStore
    + TokenStore
    + QrStore
    + CommandStore
    + ThrottleStore
    + NonceStore
    + KeyStore
    + ServerUserStore
    + OAuthStore
    + DirectoryStore
    + MaintenanceStore
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: ProfileStore
        + TokenStore
        + QrStore
        + CommandStore
        + ThrottleStore
        + NonceStore
        + KeyStore
        + ServerUserStore
        + OAuthStore
        + DirectoryStore
        + MaintenanceStore
        + std::fmt::Debug
{
}
