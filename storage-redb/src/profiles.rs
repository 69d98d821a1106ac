//! [`ProfileStore`] on [`RedbStore`]: profiles and their username, public-key and owner
//! (`devices`) indexes. Each method is one redb transaction.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{
    CommandRecord, Conflict, ProfileRecord, ProfileStore, Revoke, StoreError, StoreResult,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::commands;
use crate::error::{Failure, Fallible};
use crate::store::RedbStore;
use crate::tables as t;
use crate::token_index::TokenTables;

#[async_trait]
impl ProfileStore for RedbStore {
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (p, c) = (profile.clone(), command.cloned());
        self.write(move |tx| {
            create_profile(tx, &p)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        self.read(move |rx| get_profile(rx, id)).await
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let name = username.to_owned();
        self.read(move |rx| get_profile_by_username(rx, &name))
            .await
    }

    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (p, c) = (profile.clone(), command.cloned());
        self.write(move |tx| {
            update_profile(tx, &p, expected_version, revoke)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        self.read(move |rx| list_devices(rx, owner)).await
    }

    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, qr, c) = (device.clone(), *qr, command.cloned());
        self.write(move |tx| {
            create_device(tx, &d, &qr, now)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }
}

/// Profile `id`.
fn get_profile(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<ProfileRecord>> {
    let profiles = rx.open_table(t::PROFILES)?;
    let Some(v) = profiles.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_profile(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("profiles", id.as_bytes(), e))
}

/// The profile that holds canonical `username`.
fn get_profile_by_username(
    rx: &ReadTransaction,
    username: &str,
) -> Fallible<Option<ProfileRecord>> {
    let id = match rx.open_table(t::USERNAMES)?.get(username)? {
        Some(v) => Uuid::from_bytes(*v.value()),
        None => return Ok(None),
    };
    get_profile(rx, id)
}

/// Every device of `owner`, in creation order.
fn list_devices(rx: &ReadTransaction, owner: Uuid) -> Fallible<Vec<ProfileRecord>> {
    let index = rx.open_table(t::DEVICES)?;
    let (lo, hi) = (t::device_key(owner, 0), t::device_key(owner, u64::MAX));
    let mut out = Vec::new();
    for entry in index.range::<&[u8; 24]>(&lo..=&hi)? {
        let (_, id) = entry?;
        if let Some(p) = get_profile(rx, Uuid::from_bytes(*id.value()))? {
            out.push(p);
        }
    }
    Ok(out)
}

/// The stored profile `id` in a write transaction, or `NotFound`.
fn stored_profile(tx: &WriteTransaction, id: Uuid) -> Fallible<ProfileRecord> {
    let profiles = tx.open_table(t::PROFILES)?;
    let v = profiles.get(id.as_bytes())?.ok_or(StoreError::NotFound)?;
    codec::decode_profile(id, v.value()).map_err(|e| Failure::decode("profiles", id.as_bytes(), e))
}

/// `NotFound` or `VersionMismatch` unless profile `id` has `version` (the check of every
/// versioned insert: tokens, QR tokens).
pub(crate) fn expect_version(tx: &WriteTransaction, id: Uuid, version: u64) -> Fallible<()> {
    versioned_profile(tx, id, version).map(drop)
}

/// The stored profile `id` if it has `version`, else `NotFound` or `VersionMismatch`
/// ([`expect_version`] for callers that also read the record).
pub(crate) fn versioned_profile(
    tx: &WriteTransaction,
    id: Uuid,
    version: u64,
) -> Fallible<ProfileRecord> {
    let p = stored_profile(tx, id)?;
    if p.version == version {
        Ok(p)
    } else {
        Err(StoreError::VersionMismatch.into())
    }
}

/// The next number of the `devices` creation sequence.
fn next_device_seq(tx: &WriteTransaction) -> Fallible<u64> {
    let mut meta = tx.open_table(t::META)?;
    let last = match meta.get(t::META_DEVICE_SEQ)? {
        Some(v) => u64::from_le_bytes(
            codec::decode_fixed(v.value())
                .map_err(|e| Failure::decode("meta", t::META_DEVICE_SEQ.as_bytes(), e))?,
        ),
        None => 0,
    };
    let next = last + 1;
    meta.insert(t::META_DEVICE_SEQ, next.to_le_bytes().as_slice())?;
    Ok(next)
}

/// Insert a new profile and claim its username (and public key) in the indexes; any
/// refusal aborts the caller's transaction. Also the first half of
/// [`crate::users`]' `create_server_user`.
pub(crate) fn create_profile(tx: &WriteTransaction, p: &ProfileRecord) -> Fallible<()> {
    let mut usernames = tx.open_table(t::USERNAMES)?;
    if usernames.get(p.username.as_str())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Username).into());
    }
    let mut profiles = tx.open_table(t::PROFILES)?;
    if profiles.get(p.id.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    if let Some(k) = &p.public_key {
        let mut keys = tx.open_table(t::PUBLIC_KEYS)?;
        if keys.get(k)?.is_some() {
            return Err(StoreError::Conflict(Conflict::PublicKey).into());
        }
        keys.insert(k, p.id.as_bytes())?;
    }
    usernames.insert(p.username.as_str(), p.id.as_bytes())?;
    if let Some(owner) = p.owner {
        let seq = next_device_seq(tx)?;
        tx.open_table(t::DEVICES)?
            .insert(&t::device_key(owner, seq), p.id.as_bytes())?;
    }
    profiles.insert(p.id.as_bytes(), codec::encode_profile(p).as_slice())?;
    Ok(())
}

/// Replace a profile at `expected` version, move its key index, apply `revoke`. Also
/// the profile half of [`crate::users`]' `update_server_user`.
pub(crate) fn update_profile(
    tx: &WriteTransaction,
    p: &ProfileRecord,
    expected: u64,
    revoke: Revoke,
) -> Fallible<()> {
    let old = stored_profile(tx, p.id)?;
    if old.version != expected {
        return Err(StoreError::VersionMismatch.into());
    }
    {
        let mut keys = tx.open_table(t::PUBLIC_KEYS)?;
        if let Some(k) = &p.public_key
            && keys
                .get(k)?
                .is_some_and(|owner| owner.value() != p.id.as_bytes())
        {
            return Err(StoreError::Conflict(Conflict::PublicKey).into());
        }
        if old.public_key != p.public_key {
            if let Some(k) = &old.public_key {
                keys.remove(k)?;
            }
            if let Some(k) = &p.public_key {
                keys.insert(k, p.id.as_bytes())?;
            }
        }
    }
    let mut stored = p.clone();
    stored.username = old.username;
    stored.owner = old.owner;
    stored.version = expected + 1;
    tx.open_table(t::PROFILES)?
        .insert(p.id.as_bytes(), codec::encode_profile(&stored).as_slice())?;
    match revoke {
        Revoke::Nothing => {}
        Revoke::All => {
            TokenTables::open(tx)?.revoke(p.id, None)?;
        }
        Revoke::AllExcept(keep) => {
            TokenTables::open(tx)?.revoke(p.id, Some(&keep))?;
        }
    }
    Ok(())
}

/// Redeem QR token `qr` (live at `now`, issued by the device's owner) into `device`.
fn create_device(
    tx: &WriteTransaction,
    device: &ProfileRecord,
    qr: &TokenDigest,
    now: Timestamp,
) -> Fallible<()> {
    {
        let tables = TokenTables::open(tx)?;
        match tables.qr_record(qr)? {
            Some(q) if q.expires_at > now && Some(q.owner) == device.owner => {}
            _ => return Err(StoreError::NotFound.into()),
        }
    }
    create_profile(tx, device)?;
    TokenTables::open(tx)?.remove_qr(qr)?;
    Ok(())
}
