//! [`ServerUserStore`] on [`RedbStore`]: server-registered users (table `external_users`,
//! keyed by the identity provider's id), each created and updated with its profile in one
//! transaction.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::store::{
    Conflict, ProfileRecord, Revoke, ServerUserRecord, ServerUserStore, StoreError, StoreResult,
};

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::profiles::{create_profile, update_profile};
use crate::store::RedbStore;
use crate::tables as t;

#[async_trait]
impl ServerUserStore for RedbStore {
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let (u, p) = (user.clone(), profile.clone());
        self.write(move |tx| create_server_user(tx, &u, &p)).await
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        let id = external_id.to_owned();
        self.read(move |rx| get_server_user(rx, &id)).await
    }

    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let (u, p) = (user.clone(), profile.clone());
        self.write(move |tx| update_server_user(tx, &u, &p, expected_version, revoke))
            .await
    }
}

/// Claim `user.external_id` and create `profile` (username, id and key claimed as
/// `create_profile` does). Any refusal aborts the caller's transaction, so neither is left.
fn create_server_user(
    tx: &WriteTransaction,
    user: &ServerUserRecord,
    profile: &ProfileRecord,
) -> Fallible<()> {
    let mut users = tx.open_table(t::SERVER_USERS)?;
    let id = user.external_id.as_str();
    if users.get(id)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    create_profile(tx, profile)?;
    users.insert(id, codec::encode_server_user(user).as_slice())?;
    Ok(())
}

/// Server-registered user `external_id`.
fn get_server_user(rx: &ReadTransaction, external_id: &str) -> Fallible<Option<ServerUserRecord>> {
    let users = rx.open_table(t::SERVER_USERS)?;
    let Some(v) = users.get(external_id)? else {
        return Ok(None);
    };
    codec::decode_server_user(external_id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("external_users", external_id.as_bytes(), e))
}

/// Replace `user` (keeping its stored profile id and creation time) and update `profile`
/// at `expected` version, as `update_profile` does.
fn update_server_user(
    tx: &WriteTransaction,
    user: &ServerUserRecord,
    profile: &ProfileRecord,
    expected: u64,
    revoke: Revoke,
) -> Fallible<()> {
    let mut users = tx.open_table(t::SERVER_USERS)?;
    let id = user.external_id.as_str();
    let stored = match users.get(id)? {
        Some(v) => codec::decode_server_user(id, v.value())
            .map_err(|e| Failure::decode("external_users", id.as_bytes(), e))?,
        None => return Err(StoreError::NotFound.into()),
    };
    if stored.profile_id != profile.id {
        return Err(StoreError::NotFound.into());
    }
    update_profile(tx, profile, expected, revoke)?;
    let kept = ServerUserRecord {
        profile_id: stored.profile_id,
        created_at: stored.created_at,
        ..user.clone()
    };
    users.insert(id, codec::encode_server_user(&kept).as_slice())?;
    Ok(())
}
