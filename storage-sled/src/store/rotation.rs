//! `TokenStore::rotate_refresh`: one transaction decides and writes.
//!
//! The common case (a live refresh token) needs no scan: the transaction marks the old
//! token used and stores both new ones. Reuse (a used refresh token presented again) must
//! delete the whole family, which a transaction cannot list; so the first attempt, finding
//! a used token, aborts with [`Abort::Stale`], the family is scanned, and the transaction
//! runs again with the list, re-checking everything (see `family.rs`).

use sled::Transactional;
use tessera_core::store::{Conflict, Rotation, StoreResult, TokenRecord};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};

use super::Inner;
use super::family::{revoke_family_tx, scan_family};
use super::revoke::with_retry;
use super::token_index::{NewToken, TokenTx};
use crate::error::{Abort, abort, from_tx};

/// Rotate the refresh token `old` into `new_refresh` and `new_access` (see the trait).
pub(super) fn rotate(
    db: &Inner,
    old: &TokenDigest,
    new_refresh: &TokenRecord,
    new_access: &TokenRecord,
    now: Timestamp,
) -> StoreResult<Rotation> {
    // `old.family` must be `Some` and equal both new families.
    let Some(family) = new_refresh.family else {
        return Ok(Rotation::Unknown);
    };
    if new_access.family != Some(family) || new_access.profile_id != new_refresh.profile_id {
        return Ok(Rotation::Unknown);
    }
    let profile = new_refresh.profile_id;
    let (refresh, access) = (NewToken::new(new_refresh), NewToken::new(new_access));
    let old = old.0;
    let t = &db.t;
    let trees = (
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.attach_gen,
    );
    let mut scanned: Option<Vec<[u8; 32]>> = None;
    let mut first = true;
    with_retry(|| {
        if !std::mem::take(&mut first) {
            scanned = Some(scan_family(db, family).map_err(Abort::Store)?);
        }
        from_tx(trees.transaction(
            |(tokens, profile_tokens, family_tokens, family_size, expiry, attach)| {
                let tx = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                let Some(mut v) = tx.view(&old)? else {
                    return Ok(Rotation::Unknown);
                };
                if v.family != Some(family) || v.profile_id != profile || v.expires_at <= now {
                    return Ok(Rotation::Unknown);
                }
                match v.kind {
                    TokenKind::Refresh => {
                        if refresh.digest == access.digest
                            || tx.exists(&refresh.digest)?
                            || tx.exists(&access.digest)?
                        {
                            return abort(StoreError::Conflict(Conflict::Exists));
                        }
                        v.kind = TokenKind::RefreshUsed;
                        tx.rewrite(&old, &v)?;
                        tx.insert(attach, &refresh)?;
                        tx.insert(attach, &access)?;
                        Ok(Rotation::Rotated)
                    }
                    TokenKind::RefreshUsed => match &scanned {
                        // Reuse: scan the family, then decide again.
                        None => Err(sled::transaction::ConflictableTransactionError::Abort(
                            Abort::Stale,
                        )),
                        Some(list) => {
                            revoke_family_tx(&tx, family, list)?;
                            Ok(Rotation::Reused)
                        }
                    },
                    _ => Ok(Rotation::Unknown),
                }
            },
        ))
    })
}
