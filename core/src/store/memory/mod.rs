//! `MemoryStore`: every trait on in-process maps behind one lock. Each method takes the
//! lock once, so each is atomic exactly as its trait documents. Nothing survives the process.
//! Tokens are in `tokens.rs`, server-registered users in `users.rs`, directories in
//! `directory.rs`.

mod directory;
mod oauth;
mod tokens;
mod users;

use std::collections::{HashMap, HashSet};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use uuid::Uuid;

mod maps;

use maps::{DigestMap, IdMap, TokenEntry};

use super::{
    ApiKeyRecord, CommandRecord, CommandStore, Conflict, ConsentRecord, KeyStore, MaintenanceStore,
    NonceStore, OAuthClientRecord, OAuthGrantRecord, ProfileRecord, ProfileStore, QrRecord,
    QrStore, Reservation, Revoke, ServerUserRecord, StoreError, StoreResult, ThrottlePolicy,
    ThrottleRecord, ThrottleStore, TokenRecord,
};
use crate::clock::Timestamp;
use crate::token::TokenDigest;

#[derive(Debug, Default)]
struct Inner {
    profiles: IdMap<ProfileRecord>,
    by_username: HashMap<String, Uuid>,
    by_key: HashMap<[u8; 32], Uuid>,
    devices: HashMap<Uuid, Vec<Uuid>>,
    tokens: DigestMap<TokenEntry>,
    tokens_by_profile: HashMap<Uuid, HashSet<TokenDigest>>,
    tokens_by_family: HashMap<Uuid, HashSet<TokenDigest>>,
    qr: DigestMap<QrRecord>,
    qr_by_owner: HashMap<Uuid, HashSet<TokenDigest>>,
    commands: HashMap<Uuid, CommandRecord>,
    throttle: HashMap<String, ThrottleRecord>,
    /// Nonce claims: key → expiry.
    nonces: HashMap<[u8; 32], Timestamp>,
    server_key: Option<[u8; 32]>,
    api_keys: HashMap<TokenDigest, ApiKeyRecord>,
    server_users: HashMap<String, ServerUserRecord>,
    clients: HashMap<Uuid, OAuthClientRecord>,
    grants: HashMap<Uuid, OAuthGrantRecord>,
    consents: HashMap<(Uuid, Uuid), ConsentRecord>,
    rsa_key: Option<Vec<u8>>,
    directories: directory::Maps,
}

impl Inner {
    fn insert_profile(&mut self, p: &ProfileRecord) -> StoreResult<()> {
        if self.by_username.contains_key(&p.username) {
            return Err(StoreError::Conflict(Conflict::Username));
        }
        if self.profiles.contains_key(&p.id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        if let Some(k) = p.public_key {
            if self.by_key.contains_key(&k) {
                return Err(StoreError::Conflict(Conflict::PublicKey));
            }
            self.by_key.insert(k, p.id);
        }
        self.by_username.insert(p.username.clone(), p.id);
        if let Some(owner) = p.owner {
            self.devices.entry(owner).or_default().push(p.id);
        }
        self.profiles.insert(p.id, p.clone());
        Ok(())
    }

    /// Insert a token and index it (the caller checked the digest is free).
    fn insert_token(&mut self, t: &TokenRecord) {
        self.tokens.insert(t.digest, TokenEntry::of(t));
        self.tokens_by_profile
            .entry(t.profile_id)
            .or_default()
            .insert(t.digest);
        if let Some(f) = t.family {
            self.tokens_by_family.entry(f).or_default().insert(t.digest);
        }
    }

    /// Delete a token and its index entries; returns it.
    fn remove_token(&mut self, d: &TokenDigest) -> Option<TokenRecord> {
        let t = self.tokens.remove(d)?;
        if let Some(set) = self.tokens_by_profile.get_mut(&t.profile_id) {
            set.remove(d);
            if set.is_empty() {
                self.tokens_by_profile.remove(&t.profile_id);
            }
        }
        if let Some(f) = t.family
            && let Some(set) = self.tokens_by_family.get_mut(&f)
        {
            set.remove(d);
            if set.is_empty() {
                self.tokens_by_family.remove(&f);
            }
        }
        Some(t.record(*d))
    }

    fn revoke_family(&mut self, family: Uuid) -> u64 {
        let digests: Vec<TokenDigest> = self
            .tokens_by_family
            .get(&family)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        digests
            .iter()
            .filter(|d| self.remove_token(d).is_some())
            .count() as u64
    }

    fn remove_qr(&mut self, d: &TokenDigest) -> bool {
        match self.qr.remove(d) {
            Some(q) => {
                if let Some(set) = self.qr_by_owner.get_mut(&q.owner) {
                    set.remove(d);
                }
                true
            }
            None => false,
        }
    }

    fn revoke(&mut self, profile: Uuid, keep: Option<&TokenDigest>) -> u64 {
        let mut n = 0;
        let digests: Vec<TokenDigest> = self
            .tokens_by_profile
            .get(&profile)
            .map(|set| set.iter().copied().collect())
            .unwrap_or_default();
        for d in digests {
            if keep != Some(&d) && self.remove_token(&d).is_some() {
                n += 1;
            }
        }
        if let Some(set) = self.qr_by_owner.remove(&profile) {
            for d in set {
                if self.qr.remove(&d).is_some() {
                    n += 1;
                }
            }
        }
        n
    }

    /// `ProfileStore::update_profile` under the caller's lock: validates, then writes.
    /// Write `command` (if any) beside the change just made under the same lock.
    fn record(&mut self, command: Option<&CommandRecord>) {
        if let Some(c) = command {
            self.commands.insert(c.id, c.clone());
        }
    }

    fn update_profile(
        &mut self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let old = self.profiles.get(&profile.id).ok_or(StoreError::NotFound)?;
        if old.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        let (old_key, username, owner) = (old.public_key, old.username.clone(), old.owner);
        if let Some(k) = profile.public_key
            && self
                .by_key
                .get(&k)
                .is_some_and(|owner| *owner != profile.id)
        {
            return Err(StoreError::Conflict(Conflict::PublicKey));
        }
        if old_key != profile.public_key {
            if let Some(k) = old_key {
                self.by_key.remove(&k);
            }
            if let Some(k) = profile.public_key {
                self.by_key.insert(k, profile.id);
            }
        }
        let mut stored = profile.clone();
        stored.username = username;
        stored.owner = owner;
        stored.version = expected_version + 1;
        self.profiles.insert(profile.id, stored);
        match revoke {
            Revoke::Nothing => {}
            Revoke::All => {
                self.revoke(profile.id, None);
            }
            Revoke::AllExcept(keep) => {
                self.revoke(profile.id, Some(&keep));
            }
        }
        Ok(())
    }

    fn profile_version(&self, id: Uuid, version: u64) -> StoreResult<()> {
        match self.profiles.get(&id) {
            None => Err(StoreError::NotFound),
            Some(p) if p.version != version => Err(StoreError::VersionMismatch),
            Some(_) => Ok(()),
        }
    }
}

/// The in-memory backend: for tests, examples and `--backend memory`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change: every method
        // validates before it mutates. So a poisoned lock is still consistent.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ProfileStore for MemoryStore {
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        g.insert_profile(profile)?;
        g.record(command);
        Ok(())
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        Ok(self.read().profiles.get(&id).cloned())
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let g = self.read();
        Ok(g.by_username
            .get(username)
            .and_then(|id| g.profiles.get(id))
            .cloned())
    }

    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        g.update_profile(profile, expected_version, revoke)?;
        g.record(command);
        Ok(())
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        let g = self.read();
        Ok(g.devices
            .get(&owner)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| g.profiles.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        match g.qr.get(qr) {
            Some(q) if q.expires_at > now && Some(q.owner) == device.owner => {}
            _ => return Err(StoreError::NotFound),
        }
        g.insert_profile(device)?;
        g.remove_qr(qr);
        g.record(command);
        Ok(())
    }
}

#[async_trait]
impl QrStore for MemoryStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let mut g = self.write();
        g.profile_version(qr.owner, owner_version)?;
        if g.qr.contains_key(&qr.digest) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.qr.insert(qr.digest, qr.clone());
        g.qr_by_owner.entry(qr.owner).or_default().insert(qr.digest);
        Ok(())
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        Ok(self.read().qr.get(digest).cloned())
    }
}

#[async_trait]
impl CommandStore for MemoryStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let mut g = self.write();
        if g.commands.contains_key(&command.id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.commands.insert(command.id, command.clone());
        Ok(())
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        Ok(self.read().commands.get(&id).cloned())
    }
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        Ok(self.read().throttle.get(key).copied())
    }

    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation> {
        let mut g = self.write();
        let r = policy.reserve(g.throttle.get(key).copied(), now);
        if let Some(c) = r.counted() {
            g.throttle.insert(key.to_owned(), c);
        }
        Ok(r)
    }

    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        if g.throttle.get(key) != Some(&counted) {
            return Ok(false);
        }
        match before {
            Some(b) => g.throttle.insert(key.to_owned(), b),
            None => g.throttle.remove(key),
        };
        Ok(true)
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let mut g = self.write();
        let r = g.throttle.entry(key.to_owned()).or_default();
        r.failures = r.failures.saturating_add(1);
        r.last_failure = now;
        Ok(*r)
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        self.write().throttle.remove(key);
        Ok(())
    }
}

#[async_trait]
impl NonceStore for MemoryStore {
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        if g.nonces.get(key).is_some_and(|&e| e > now) {
            return Ok(false);
        }
        g.nonces.insert(*key, expires_at);
        Ok(true)
    }
}

#[async_trait]
impl KeyStore for MemoryStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        Ok(*self.write().server_key.get_or_insert(candidate))
    }

    /// Checked and inserted under the one write lock.
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let mut g = self.write();
        if g.api_keys.contains_key(&key.digest) || g.api_keys.values().any(|k| k.name == key.name) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.api_keys.insert(key.digest, key.clone());
        Ok(())
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        Ok(self.read().api_keys.get(digest).cloned())
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        let mut keys: Vec<ApiKeyRecord> = self.read().api_keys.values().cloned().collect();
        super::sort_api_keys(&mut keys);
        Ok(keys)
    }

    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64> {
        let mut g = self.write();
        let before = g.api_keys.len();
        g.api_keys.retain(|_, k| k.name != name);
        match (before - g.api_keys.len()) as u64 {
            0 => Err(StoreError::NotFound),
            n => Ok(n),
        }
    }
}

#[async_trait]
impl MaintenanceStore for MemoryStore {
    async fn ping(&self) -> StoreResult<()> {
        drop(self.read());
        Ok(())
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        let mut g = self.write();
        let tokens: Vec<TokenDigest> = g
            .tokens
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(d, _)| *d)
            .take(limit)
            .collect();
        let mut n = 0;
        for d in &tokens {
            n += usize::from(g.remove_token(d).is_some());
        }
        let qrs: Vec<TokenDigest> =
            g.qr.values()
                .filter(|q| q.expires_at <= now)
                .map(|q| q.digest)
                .take(limit - n)
                .collect();
        for d in &qrs {
            n += usize::from(g.remove_qr(d));
        }
        let cmds: Vec<Uuid> = g
            .commands
            .values()
            .filter(|c| c.expires_at <= now)
            .map(|c| c.id)
            .take(limit - n)
            .collect();
        for id in &cmds {
            n += usize::from(g.commands.remove(id).is_some());
        }
        let grants: Vec<Uuid> = g
            .grants
            .values()
            .filter(|gr| gr.expires_at <= now)
            .map(|gr| gr.id)
            .take(limit - n)
            .collect();
        for id in &grants {
            n += usize::from(g.grants.remove(id).is_some());
        }
        n += g.directories.purge_invitations(now, limit - n);
        let nonces: Vec<[u8; 32]> = g
            .nonces
            .iter()
            .filter(|(_, e)| **e <= now)
            .map(|(k, _)| *k)
            .take(limit - n)
            .collect();
        for k in &nonces {
            n += usize::from(g.nonces.remove(k).is_some());
        }
        Ok(n)
    }
}
