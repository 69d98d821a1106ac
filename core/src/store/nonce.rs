//! [`NonceStore`]: the replay guard shared by every process on one store.

use async_trait::async_trait;

use super::StoreResult;
use crate::clock::Timestamp;

/// Single-use keys with an expiry: the message adapter's nonces (the key is SHA-256 over
/// the sender and the nonce, see [`Engine::claim_nonce`](crate::Engine::claim_nonce)), so a
/// message accepted by one process is a replay to every other process on the store.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Claim `key` until `expires_at`, in one transaction (or under one lock): `true` when
    /// it was free, `false` when a claim of it is stored that expires after `now`. A claim
    /// whose expiry is at or before `now` no longer counts: it is replaced. Of N concurrent
    /// claims of one key exactly one gets `true`, whichever processes make them.
    /// [`MaintenanceStore::purge_expired`](super::MaintenanceStore::purge_expired) removes
    /// claims with `expires_at <= now`.
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
}
