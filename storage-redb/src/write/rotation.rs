//! Refresh-token rotation and family revocation (`TokenStore::rotate_refresh`,
//! `TokenStore::revoke_family`).

use redb::WriteTransaction;
use tessera_core::Timestamp;
use tessera_core::store::{Conflict, Rotation, StoreError, TokenRecord};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use super::TokenTables;
use crate::error::Fallible;

/// Rotate the refresh token `old` into `new_refresh` and `new_access`, or revoke its family
/// when it was already rotated. Reads and writes in the caller's one transaction, so of
/// concurrent rotations of one token exactly one sees it live.
pub fn rotate_refresh(
    tx: &WriteTransaction,
    old: &TokenDigest,
    new_refresh: &TokenRecord,
    new_access: &TokenRecord,
    now: Timestamp,
) -> Fallible<Rotation> {
    let mut tables = TokenTables::open(tx)?;
    let Some(mut stored) = tables.token(old)? else {
        return Ok(Rotation::Unknown);
    };
    let Some(family) = stored.family else {
        return Ok(Rotation::Unknown);
    };
    let matches = [new_refresh, new_access]
        .iter()
        .all(|n| n.profile_id == stored.profile_id && n.family == Some(family));
    if !matches || stored.expires_at <= now {
        return Ok(Rotation::Unknown);
    }
    match stored.kind {
        TokenKind::Refresh => {
            if new_refresh.digest == new_access.digest
                || tables.has_token(&new_refresh.digest)?
                || tables.has_token(&new_access.digest)?
            {
                return Err(StoreError::Conflict(Conflict::Exists).into());
            }
            // Only the kind changes: the digest, owner, family and expiry (so every index
            // entry) stay as they are.
            stored.kind = TokenKind::RefreshUsed;
            tables
                .tokens
                .insert(&old.0, crate::codec::encode_token(&stored).as_slice())?;
            tables.insert_token(new_refresh)?;
            tables.insert_token(new_access)?;
            Ok(Rotation::Rotated)
        }
        TokenKind::RefreshUsed => {
            tables.revoke_family(family)?;
            Ok(Rotation::Reused)
        }
        _ => Ok(Rotation::Unknown),
    }
}

/// Delete every token of `family`, through the `tokens_by_family` index.
pub fn revoke_family(tx: &WriteTransaction, family: Uuid) -> Fallible<u64> {
    TokenTables::open(tx)?.revoke_family(family)
}
