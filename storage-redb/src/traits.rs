//! The storage traits of `tessera_core::store` on [`RedbStore`]: each method is one
//! transaction of [`crate::read`] or [`crate::write`].

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStore, KeyStore, MaintenanceStore, ProfileRecord,
    ProfileStore, QrRecord, QrStore, ResolvedToken, Revoke, Rotation, ServerUserRecord,
    ServerUserStore, StoreResult, ThrottleRecord, ThrottleStore, TokenRecord, TokenStore,
};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use crate::store::RedbStore;
use crate::{read, write};

#[async_trait]
impl ProfileStore for RedbStore {
    async fn create_profile(&self, profile: &ProfileRecord) -> StoreResult<()> {
        let p = profile.clone();
        self.write(move |tx| write::create_profile(tx, &p)).await
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        self.read(move |rx| read::profile(rx, id)).await
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let name = username.to_owned();
        self.read(move |rx| read::profile_by_username(rx, &name))
            .await
    }

    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let p = profile.clone();
        self.write(move |tx| write::update_profile(tx, &p, expected_version, revoke))
            .await
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        self.read(move |rx| read::devices(rx, owner)).await
    }

    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (d, qr) = (device.clone(), *qr);
        self.write(move |tx| write::create_device(tx, &d, &qr, now))
            .await
    }
}

#[async_trait]
impl TokenStore for RedbStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let t = token.clone();
        self.write(move |tx| write::put_token(tx, &t, profile_version))
            .await
    }

    /// All or nothing: one write transaction, so on the first error none is stored.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        let batch = tokens.to_vec();
        self.write(move |tx| {
            batch
                .iter()
                .try_for_each(|(t, v)| write::put_token(tx, t, *v))
        })
        .await
    }

    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        self.read_snapshot(|s| read::resolved_in(&s.tokens, &s.profiles, digest))
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.read(move |rx| read::token(rx, &d)).await
    }

    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        let d = *digest;
        self.write(move |tx| write::set_token_expiry(tx, &d, expires_at, now))
            .await
    }

    async fn revoke_token(&self, digest: &TokenDigest) -> StoreResult<bool> {
        let d = *digest;
        self.write(move |tx| write::revoke_token(tx, &d)).await
    }

    async fn revoke_profile_tokens(&self, profile: Uuid) -> StoreResult<u64> {
        self.write(move |tx| write::revoke_profile_tokens(tx, profile))
            .await
    }

    async fn rotate_refresh(
        &self,
        old_digest: &TokenDigest,
        new_refresh: &TokenRecord,
        new_access: &TokenRecord,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let (old, r, a) = (*old_digest, new_refresh.clone(), new_access.clone());
        self.write(move |tx| write::rotate_refresh(tx, &old, &r, &a, now))
            .await
    }

    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        self.write(move |tx| write::revoke_family(tx, family)).await
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.write(move |tx| write::take_token(tx, &d, kind, now))
            .await
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let t = token.clone();
        self.write(move |tx| write::replace_tokens(tx, &t)).await
    }
}

#[async_trait]
impl QrStore for RedbStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let q = qr.clone();
        self.write(move |tx| write::put_qr(tx, &q, owner_version))
            .await
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        let d = *digest;
        self.read(move |rx| read::qr(rx, &d)).await
    }
}

#[async_trait]
impl CommandStore for RedbStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let c = command.clone();
        self.write(move |tx| write::put_command(tx, &c)).await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        self.read(move |rx| read::command(rx, id)).await
    }
}

#[async_trait]
impl ThrottleStore for RedbStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        let k = key.to_owned();
        self.read(move |rx| read::throttle(rx, &k)).await
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let k = key.to_owned();
        self.write(move |tx| write::record_failure(tx, &k, now))
            .await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        let k = key.to_owned();
        self.write(move |tx| write::clear_throttle(tx, &k)).await
    }
}

#[async_trait]
impl KeyStore for RedbStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(move |tx| write::server_key_or_insert(tx, candidate))
            .await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let k = key.clone();
        self.write(move |tx| write::put_api_key(tx, &k)).await
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let d = *digest;
        self.read(move |rx| read::api_key(rx, &d)).await
    }
}

#[async_trait]
impl ServerUserStore for RedbStore {
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let (u, p) = (user.clone(), profile.clone());
        self.write(move |tx| write::create_server_user(tx, &u, &p))
            .await
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        let id = external_id.to_owned();
        self.read(move |rx| read::external_user(rx, &id)).await
    }

    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let (u, p) = (user.clone(), profile.clone());
        self.write(move |tx| write::update_server_user(tx, &u, &p, expected_version, revoke))
            .await
    }
}

#[async_trait]
impl MaintenanceStore for RedbStore {
    async fn ping(&self) -> StoreResult<()> {
        self.read(|rx| read::format_version(rx).map(drop)).await
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        self.write(move |tx| write::purge_expired(tx, now, limit))
            .await
    }
}
