//! [`FaultyStore`]: a [`Store`] wrapper that fails one chosen call, for fault-injection tests.
//!
//! Every trait method of the wrapped store goes through one gate that numbers the calls
//! (0, 1, 2, … over the wrapper's lifetime). When the gate reaches the index armed with
//! [`FaultyStore::fail_at`], that call returns [`StoreError::Unavailable`] *without reaching
//! the inner store* (the failure happens before anything is written), and the fault disarms
//! itself. Calls that reached the inner store and succeeded are logged when they are writes
//! (a throttle reservation when it counted the attempt, a release when it put the counter
//! back), so a test can check that an operation which failed wrote nothing.
//!
//! [`FaultyStore::fail_all`] is the other mode: every call fails (with
//! [`StoreError::Backend`] carrying [`SECRET_DETAIL`], a message that must never reach a
//! client) until it is switched off; [`FaultyStore::memory`] wraps a fresh `MemoryStore`
//! for that use.
//!
//! ```
//! # use std::sync::Arc;
//! # use tessera_testkit::faulty::FaultyStore;
//! # use tessera_core::store::{MaintenanceStore, MemoryStore};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = FaultyStore::new(Arc::new(MemoryStore::new()));
//! store.fail_at(store.calls() + 1);
//! assert!(store.ping().await.is_ok());
//! assert!(store.ping().await.is_err());
//! assert_eq!(store.take_tripped(), Some("ping"));
//! assert!(store.ping().await.is_ok());
//! # });
//! ```

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use uuid::Uuid;

use tessera_core::clock::Timestamp;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStore, ConsentRecord, KeyStore, MaintenanceStore,
    MemoryStore, NonceStore, OAuthClientRecord, OAuthGrantRecord, OAuthStore, ProfileRecord,
    ProfileStore, QrRecord, QrStore, Reservation, ResolvedGrant, ResolvedToken, Revoke, Rotation,
    ServerUserRecord, ServerUserStore, Store, StoreError, StoreResult, ThrottlePolicy,
    ThrottleRecord, ThrottleStore, TokenRecord, TokenStore,
};
use tessera_core::token::{TokenDigest, TokenKind};

#[path = "faulty_directory.rs"]
mod directory;

/// No fault armed.
const DISARMED: u64 = u64::MAX;

/// The detail of the backend error [`FaultyStore::fail_all`] injects: it names a path, so
/// a test can assert that it never reaches a reply or a log line.
pub const SECRET_DETAIL: &str = "disk /var/lib/secret-path exploded";

/// Wraps any [`Store`] and fails the call with a chosen index. See the module docs.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<dyn Store>,
    calls: AtomicU64,
    fail_at: AtomicU64,
    fail_all: AtomicBool,
    tripped: Mutex<Option<&'static str>>,
    writes: Mutex<Vec<&'static str>>,
}

impl FaultyStore {
    /// Wrap `inner`, with no fault armed.
    #[must_use]
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: AtomicU64::new(0),
            fail_at: AtomicU64::new(DISARMED),
            fail_all: AtomicBool::new(false),
            tripped: Mutex::new(None),
            writes: Mutex::new(Vec::new()),
        }
    }

    /// A fresh `MemoryStore`, wrapped and shared (for [`FaultyStore::fail_all`] tests).
    #[must_use]
    pub fn memory() -> Arc<Self> {
        Arc::new(Self::new(Arc::new(MemoryStore::new())))
    }

    /// While `on`, every call fails before reaching the inner store with
    /// `StoreError::Backend(SECRET_DETAIL)` (not counted as a tripped fault).
    pub fn fail_all(&self, on: bool) {
        self.fail_all.store(on, Ordering::SeqCst);
    }

    /// The wrapped store (reads through it bypass the fault and the counters).
    #[must_use]
    pub fn inner(&self) -> &Arc<dyn Store> {
        &self.inner
    }

    /// How many calls went through the gate so far (the index the next call gets).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Fail the call with index `index` (see [`FaultyStore::calls`]); replaces any armed
    /// fault.
    pub fn fail_at(&self, index: u64) {
        self.fail_at.store(index, Ordering::SeqCst);
    }

    /// Cancel the armed fault, if it has not tripped yet.
    pub fn disarm(&self) {
        self.fail_at.store(DISARMED, Ordering::SeqCst);
    }

    /// The method whose call was failed since the last call of this function, if any.
    pub fn take_tripped(&self) -> Option<&'static str> {
        self.tripped
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// The write methods that reached the inner store and succeeded since the last call
    /// of this function, in call order.
    pub fn take_writes(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Number the call; fail it if its index is the armed one.
    fn gate(&self, method: &'static str) -> StoreResult<()> {
        if self.fail_all.load(Ordering::SeqCst) {
            return Err(StoreError::Backend(SECRET_DETAIL.into()));
        }
        let index = self.calls.fetch_add(1, Ordering::SeqCst);
        if self
            .fail_at
            .compare_exchange(index, DISARMED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Ok(());
        }
        *self.tripped.lock().unwrap_or_else(PoisonError::into_inner) = Some(method);
        Err(StoreError::Unavailable {
            retryable: true,
            message: format!("injected fault at store call {index} ({method})"),
        })
    }

    /// A read: gate, then the inner call.
    async fn read<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.gate(method)?;
        call.await
    }

    /// A write: gate, then the inner call, logged when it succeeds.
    async fn write<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        self.write_if(method, call, |_| true).await
    }

    /// [`FaultyStore::write`] for a call that writes only when `wrote` says so of its answer.
    async fn write_if<T>(
        &self,
        method: &'static str,
        call: impl Future<Output = StoreResult<T>>,
        wrote: impl FnOnce(&T) -> bool,
    ) -> StoreResult<T> {
        self.gate(method)?;
        let out = call.await;
        if out.as_ref().is_ok_and(wrote) {
            self.writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(method);
        }
        out
    }
}

#[async_trait]
impl ProfileStore for FaultyStore {
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.create_profile(profile, command);
        self.write("create_profile", call).await
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        self.read("get_profile", self.inner.get_profile(id)).await
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let call = self.inner.get_profile_by_username(username);
        self.read("get_profile_by_username", call).await
    }

    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .update_profile(profile, expected_version, revoke, command);
        self.write("update_profile", call).await
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        self.read("list_devices", self.inner.list_devices(owner))
            .await
    }

    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.create_device(device, qr, now, command);
        self.write("create_device", call).await
    }
}

#[async_trait]
impl TokenStore for FaultyStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let call = self.inner.put_token(token, profile_version);
        self.write("put_token", call).await
    }

    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        self.write("put_tokens", self.inner.put_tokens(tokens))
            .await
    }

    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        self.read("resolve_token", self.inner.resolve_token(digest))
            .await
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        self.read("get_token", self.inner.get_token(digest)).await
    }

    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .set_token_expiry(digest, expires_at, now, command);
        self.write("set_token_expiry", call).await
    }

    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.revoke_token(digest, command);
        self.write("revoke_token", call).await
    }

    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64> {
        let call = self.inner.revoke_profile_tokens(profile, command);
        self.write("revoke_profile_tokens", call).await
    }

    async fn rotate_refresh(
        &self,
        old_digest: &TokenDigest,
        new_refresh: &TokenRecord,
        new_access: &TokenRecord,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let call = self
            .inner
            .rotate_refresh(old_digest, new_refresh, new_access, now);
        self.write("rotate_refresh", call).await
    }

    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let call = self.inner.spend_token(old_digest, issue, now);
        self.write("spend_token", call).await
    }

    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>> {
        let call = self.inner.list_profile_tokens(profile);
        self.read("list_profile_tokens", call).await
    }

    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        self.write("revoke_family", self.inner.revoke_family(family))
            .await
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let call = self.inner.take_token(digest, kind, now);
        self.write("take_token", call).await
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        self.write("replace_tokens", self.inner.replace_tokens(token))
            .await
    }
}

#[async_trait]
impl ServerUserStore for FaultyStore {
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let call = self.inner.create_server_user(user, profile);
        self.write("create_server_user", call).await
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        let call = self.inner.get_server_user(external_id);
        self.read("get_server_user", call).await
    }

    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .update_server_user(user, profile, expected_version, revoke);
        self.write("update_server_user", call).await
    }
}

#[async_trait]
impl QrStore for FaultyStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        self.write("put_qr", self.inner.put_qr(qr, owner_version))
            .await
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        self.read("get_qr", self.inner.get_qr(digest)).await
    }
}

#[async_trait]
impl CommandStore for FaultyStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        self.write("put_command", self.inner.put_command(command))
            .await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        self.read("get_command", self.inner.get_command(id)).await
    }
}

#[async_trait]
impl ThrottleStore for FaultyStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        self.read("get_throttle", self.inner.get_throttle(key))
            .await
    }

    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation> {
        let call = self.inner.reserve_attempt(key, now, policy);
        let counted = |r: &Reservation| r.counted().is_some();
        self.write_if("reserve_attempt", call, counted).await
    }

    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.release_attempt(key, counted, before);
        self.write_if("release_attempt", call, |put_back| *put_back)
            .await
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let call = self.inner.record_failure(key, now);
        self.write("record_failure", call).await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        self.write("clear_throttle", self.inner.clear_throttle(key))
            .await
    }
}

#[async_trait]
impl KeyStore for FaultyStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        let call = self.inner.server_key_or_insert(candidate);
        self.write("server_key_or_insert", call).await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        self.write("put_api_key", self.inner.put_api_key(key)).await
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        self.read("get_api_key", self.inner.get_api_key(digest))
            .await
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read("list_api_keys", self.inner.list_api_keys()).await
    }

    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64> {
        self.write("revoke_api_key", self.inner.revoke_api_key(name))
            .await
    }
}

#[async_trait]
impl OAuthStore for FaultyStore {
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.create_client(client, command);
        self.write("create_client", call).await
    }

    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>> {
        self.read("get_client", self.inner.get_client(id)).await
    }

    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>> {
        self.read("list_clients", self.inner.list_clients(owner))
            .await
    }

    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.update_client(client, expected_version, command);
        self.write("update_client", call).await
    }

    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool> {
        let call = self.inner.remove_client(id, command);
        self.write("remove_client", call).await
    }

    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()> {
        let call = self.inner.put_grant(grant, token, profile_version);
        self.write("put_grant", call).await
    }

    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>> {
        self.read("get_grant", self.inner.get_grant(id)).await
    }

    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>> {
        self.read("resolve_oauth", self.inner.resolve_oauth(digest))
            .await
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        self.write("put_consent", self.inner.put_consent(consent))
            .await
    }

    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>> {
        let call = self.inner.get_consent(profile, client);
        self.read("get_consent", call).await
    }

    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        self.read("list_consents", self.inner.list_consents(profile))
            .await
    }

    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.revoke_consent(profile, client, command);
        self.write("revoke_consent", call).await
    }

    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let call = self.inner.rsa_key_or_insert(candidate);
        self.write("rsa_key_or_insert", call).await
    }
}

#[async_trait]
impl NonceStore for FaultyStore {
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let call = self.inner.claim_nonce(key, expires_at, now);
        self.write("claim_nonce", call).await
    }
}

#[async_trait]
impl MaintenanceStore for FaultyStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read("ping", self.inner.ping()).await
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        let call = self.inner.purge_expired(now, limit);
        self.write("purge_expired", call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile;
    use tessera_core::store::MemoryStore;

    #[tokio::test]
    async fn fails_exactly_the_armed_call_before_the_inner_store() {
        let s = FaultyStore::new(Arc::new(MemoryStore::new()));
        let p = profile("ann");
        s.fail_at(1);
        assert!(s.get_profile(p.id).await.is_ok());
        let e = s.create_profile(&p, None).await.unwrap_err();
        assert!(matches!(e, StoreError::Unavailable { .. }));
        assert_eq!(s.take_tripped(), Some("create_profile"));
        assert!(s.take_writes().is_empty());
        assert_eq!(s.inner().get_profile(p.id).await, Ok(None));
        s.create_profile(&p, None).await.unwrap();
        assert_eq!(s.take_writes(), ["create_profile"]);
        assert_eq!(s.take_tripped(), None);
        assert_eq!(s.calls(), 3);
        s.fail_at(3);
        s.disarm();
        assert!(s.ping().await.is_ok());
    }
}
