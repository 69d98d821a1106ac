//! [`ProfileStore`]: profiles and their username, public-key and owner indexes.

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tessera_core::store::{
    CommandRecord, Conflict, ProfileRecord, ProfileStore, Revoke, StoreResult,
};
use tessera_core::{ProfileKind, StoreError, Timestamp, TokenDigest};
use uuid::Uuid;

use crate::codec::{decode_fixed, decode_profile, decode_qr, encode_profile, profile_kind_version};
use crate::commands;
use crate::error::{
    Abort, TxResult, abort, abort_corrupt, corrupt, corrupt_entry, finish, from_tx,
};
use crate::revoke::{Attached, RevokeTx, remove_qr_tx, revoke_attached, scan_attached, with_retry};
use crate::store::{Inner, SledStore, read};
use crate::token_index::TokenTx;

/// The trees a new profile is written to.
pub(crate) struct ProfileTx<'a> {
    pub profiles: &'a TransactionalTree,
    pub usernames: &'a TransactionalTree,
    pub public_keys: &'a TransactionalTree,
    pub devices: &'a TransactionalTree,
}

/// Claim the username (and key), append to the owner's devices and store the profile.
/// Refusals in the order `MemoryStore` checks them: username, id, public key.
pub(crate) fn insert_profile(tx: &ProfileTx<'_>, p: &ProfileRecord, value: &[u8]) -> TxResult<()> {
    let id = p.id.as_bytes();
    if tx.usernames.get(p.username.as_bytes())?.is_some() {
        return abort(StoreError::Conflict(Conflict::Username));
    }
    if tx.profiles.get(id)?.is_some() {
        return abort(StoreError::Conflict(Conflict::Exists));
    }
    if let Some(k) = &p.public_key {
        if tx.public_keys.get(k)?.is_some() {
            return abort(StoreError::Conflict(Conflict::PublicKey));
        }
        tx.public_keys.insert(&k[..], &id[..])?;
    }
    tx.usernames.insert(p.username.as_bytes(), &id[..])?;
    if let Some(owner) = p.owner {
        let key = owner.as_bytes();
        let mut list = tx.devices.get(key)?.map(|v| v.to_vec()).unwrap_or_default();
        if list.len() % 16 != 0 {
            return abort(corrupt_entry(
                "devices",
                key,
                "length is not a multiple of 16",
            ));
        }
        list.extend_from_slice(id);
        tx.devices.insert(&key[..], list)?;
    }
    tx.profiles.insert(&id[..], value)?;
    Ok(())
}

/// The trees a profile update (with its revocation) writes.
pub(crate) struct UpdateTx<'a> {
    pub profiles: &'a TransactionalTree,
    pub public_keys: &'a TransactionalTree,
    pub revoke: RevokeTx<'a>,
}

/// What `revoke` will delete, listed before the transaction (`None` for `Revoke::Nothing`).
pub(crate) fn scan_for_revoke(
    db: &Inner,
    profile: Uuid,
    revoke: Revoke,
) -> StoreResult<Option<Attached>> {
    match revoke {
        Revoke::Nothing => Ok(None),
        Revoke::All | Revoke::AllExcept(_) => scan_attached(db, profile, true).map(Some),
    }
}

/// `ProfileStore::update_profile` inside a transaction: check the version and the key,
/// write the profile (username and owner kept) and revoke what `attached` lists.
pub(crate) fn update_profile_tx(
    tx: &UpdateTx<'_>,
    new: &ProfileRecord,
    expected_version: u64,
    revoke: Revoke,
    attached: Option<&Attached>,
) -> TxResult<()> {
    let id = new.id.as_bytes();
    let Some(raw) = tx.profiles.get(id)? else {
        return abort(StoreError::NotFound);
    };
    let old = match decode_profile(&raw) {
        Ok(p) => p,
        Err(e) => return abort_corrupt("profiles", id, e),
    };
    if old.version != expected_version {
        return abort(StoreError::VersionMismatch);
    }
    if let Some(k) = &new.public_key
        && tx.public_keys.get(k)?.is_some_and(|holder| holder != id)
    {
        return abort(StoreError::Conflict(Conflict::PublicKey));
    }
    if old.public_key != new.public_key {
        if let Some(k) = &old.public_key {
            tx.public_keys.remove(&k[..])?;
        }
        if let Some(k) = &new.public_key {
            tx.public_keys.insert(&k[..], &id[..])?;
        }
    }
    let mut stored = new.clone();
    stored.username.clone_from(&old.username);
    stored.owner = old.owner;
    stored.version = expected_version + 1;
    tx.profiles.insert(&id[..], encode_profile(&stored))?;
    if let Some(a) = attached {
        let keep = match revoke {
            Revoke::AllExcept(d) => Some(d),
            Revoke::Nothing | Revoke::All => None,
        };
        revoke_attached(&tx.revoke, new.id, a, keep.as_ref())?;
    }
    Ok(())
}

impl SledStore {
    fn profile_by_id(&self, id: &[u8; 16]) -> StoreResult<Option<ProfileRecord>> {
        read(&self.inner.t.profiles, "profiles", id, decode_profile)
    }
}

#[async_trait]
impl ProfileStore for SledStore {
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let value = encode_profile(profile);
        let p = profile.clone();
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.profiles,
                &t.usernames,
                &t.public_keys,
                &t.devices,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(profiles, usernames, public_keys, devices, commands_tree, expiry)| {
                    let tx = ProfileTx {
                        profiles,
                        usernames,
                        public_keys,
                        devices,
                    };
                    insert_profile(&tx, &p, &value)?;
                    commands::record_tx(commands_tree, expiry, command.as_ref())
                },
            ))
        })
        .await
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        self.profile_by_id(id.as_bytes())
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let t = &self.inner.t;
        let Some(id) = read(
            &t.usernames,
            "usernames",
            username.as_bytes(),
            decode_fixed::<16>,
        )?
        else {
            return Ok(None);
        };
        // Profiles are never deleted, so an index entry always has its profile.
        match self.profile_by_id(&id)? {
            Some(p) => Ok(Some(p)),
            None => Err(corrupt_entry(
                "usernames",
                username.as_bytes(),
                "names a profile that does not exist",
            )),
        }
    }

    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let new = profile.clone();
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.profiles,
                &t.public_keys,
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.qr,
                &t.owner_qr,
                &t.expiry,
                &t.attach_gen,
                &t.commands,
            );
            with_retry(|| {
                let attached = scan_for_revoke(db, new.id, revoke).map_err(Abort::Store)?;
                from_tx(trees.transaction(
                    |(
                        profiles,
                        public_keys,
                        tokens,
                        profile_tokens,
                        family_tokens,
                        family_size,
                        qr,
                        owner_qr,
                        expiry,
                        attach,
                        commands_tree,
                    )| {
                        commands::record_tx(commands_tree, expiry, command.as_ref())?;
                        let tx = UpdateTx {
                            profiles,
                            public_keys,
                            revoke: RevokeTx {
                                tok: TokenTx {
                                    tokens,
                                    profile_tokens,
                                    family_tokens,
                                    family_size,
                                    expiry,
                                },
                                qr,
                                owner_qr,
                                attach,
                            },
                        };
                        update_profile_tx(&tx, &new, expected_version, revoke, attached.as_ref())
                    },
                ))
            })
        })
        .await
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        let key = owner.as_bytes();
        let Some(ids) = self
            .inner
            .t
            .devices
            .get(key)
            .map_err(crate::error::from_sled)?
        else {
            return Ok(Vec::new());
        };
        if ids.len() % 16 != 0 {
            return Err(corrupt_entry(
                "devices",
                key,
                "length is not a multiple of 16",
            ));
        }
        let mut out = Vec::with_capacity(ids.len() / 16);
        for id in ids.chunks_exact(16) {
            let id: &[u8; 16] = id
                .try_into()
                .map_err(|_| corrupt_entry("devices", key, "id"))?;
            if let Some(p) = self.profile_by_id(id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let value = encode_profile(device);
        let (d, qr) = (device.clone(), *qr);
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.profiles,
                &t.usernames,
                &t.public_keys,
                &t.devices,
                &t.qr,
                &t.owner_qr,
                &t.expiry,
                &t.commands,
            );
            finish(trees.transaction(
                |(
                    profiles,
                    usernames,
                    public_keys,
                    devices,
                    qr_tree,
                    owner_qr,
                    expiry,
                    commands_tree,
                )| {
                    let Some(raw) = qr_tree.get(qr.0)? else {
                        return abort(StoreError::NotFound);
                    };
                    let q = match decode_qr(qr, &raw) {
                        Ok(q) => q,
                        Err(e) => return abort(corrupt("qr", &qr.0, e)),
                    };
                    if q.expires_at <= now || Some(q.owner) != d.owner {
                        return abort(StoreError::NotFound);
                    }
                    let tx = ProfileTx {
                        profiles,
                        usernames,
                        public_keys,
                        devices,
                    };
                    insert_profile(&tx, &d, &value)?;
                    commands::record_tx(commands_tree, expiry, command.as_ref())?;
                    remove_qr_tx(qr_tree, owner_qr, expiry, &q)
                },
            ))
        })
        .await
    }
}

/// `NotFound` or `VersionMismatch` unless the profile `id` has `version` (inside a
/// transaction; the check of every versioned insert: tokens, QR tokens).
pub(crate) fn expect_version(profiles: &TransactionalTree, id: Uuid, version: u64) -> TxResult<()> {
    versioned_kind(profiles, id, version).map(drop)
}

/// [`expect_version`], returning the profile's kind (read in the same transaction).
pub(crate) fn versioned_kind(
    profiles: &TransactionalTree,
    id: Uuid,
    version: u64,
) -> TxResult<ProfileKind> {
    let key = id.as_bytes();
    let Some(raw) = profiles.get(key)? else {
        return abort(StoreError::NotFound);
    };
    match profile_kind_version(&raw) {
        Ok((kind, v)) if v == version => Ok(kind),
        Ok(_) => abort(StoreError::VersionMismatch),
        Err(e) => abort_corrupt("profiles", key, e),
    }
}
