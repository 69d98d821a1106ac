//! Server-registered users: the `external_users` record and its profile, written together
//! (`ServerUserStore`).

use redb::{ReadableTable, WriteTransaction};
use tessera_core::store::{Conflict, ProfileRecord, Revoke, ServerUserRecord, StoreError};

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables as t;

/// Claim `user.external_id` and create `profile` (username, id and key claimed as
/// `create_profile` does). Any refusal aborts the caller's transaction, so neither is left.
pub fn create_server_user(
    tx: &WriteTransaction,
    user: &ServerUserRecord,
    profile: &ProfileRecord,
) -> Fallible<()> {
    let mut users = tx.open_table(t::SERVER_USERS)?;
    let id = user.external_id.as_str();
    if users.get(id)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    super::create_profile(tx, profile)?;
    users.insert(id, codec::encode_server_user(user).as_slice())?;
    Ok(())
}

/// Replace `user` (keeping its stored profile id and creation time) and update `profile`
/// at `expected` version, as `update_profile` does.
pub fn update_server_user(
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
    super::update_profile(tx, profile, expected, revoke)?;
    let kept = ServerUserRecord {
        profile_id: stored.profile_id,
        created_at: stored.created_at,
        ..user.clone()
    };
    users.insert(id, codec::encode_server_user(&kept).as_slice())?;
    Ok(())
}
