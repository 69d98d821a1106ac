//! Refresh families: revoking every token of one, without scanning inside a transaction.
//!
//! The family's tokens are listed by a prefix scan of `family_tokens` before the
//! transaction. The transaction deletes the listed tokens that are still stored and then
//! reads the family's size from `family_size`, which every transaction storing or deleting
//! a family token keeps exact: if it is not 0, a token joined the family after the scan
//! (a concurrent rotation), and the transaction aborts with [`Abort::Stale`] so the
//! caller scans again. A size that is 0 proves the family empty, whatever happened
//! meanwhile, so a revoked family never keeps a token.

use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use tessera_core::store::StoreResult;
use uuid::Uuid;

use super::Inner;
use super::revoke::{scan_digests, with_retry};
use super::token_index::TokenTx;
use crate::error::{Abort, TxResult, from_tx};

/// The digests listed under `family` in `family_tokens` now (outside a transaction).
pub(super) fn scan_family(db: &Inner, family: Uuid) -> StoreResult<Vec<[u8; 32]>> {
    scan_digests(&db.t.family_tokens, "family_tokens", family.as_bytes())
}

/// Delete the `scanned` tokens of `family`; abort with `Stale` if the family still has
/// tokens afterwards. Returns how many were deleted.
pub(super) fn revoke_family_tx(
    tx: &TokenTx<'_>,
    family: Uuid,
    scanned: &[[u8; 32]],
) -> TxResult<u64> {
    let mut n = 0;
    for d in scanned {
        if let Some(v) = tx.view(d)?
            && v.family == Some(family)
        {
            tx.remove(d, &v)?;
            n += 1;
        }
    }
    if tx.family_size(family)? == 0 {
        Ok(n)
    } else {
        Err(ConflictableTransactionError::Abort(Abort::Stale))
    }
}

/// `TokenStore::revoke_family`: scan, then delete in one transaction; rescan if the
/// family grew meanwhile.
pub(super) fn revoke_family(db: &Inner, family: Uuid) -> StoreResult<u64> {
    let t = &db.t;
    with_retry(|| {
        let scanned = scan_family(db, family).map_err(Abort::Store)?;
        let trees = (
            &t.tokens,
            &t.profile_tokens,
            &t.family_tokens,
            &t.family_size,
            &t.expiry,
        );
        from_tx(trees.transaction(
            |(tokens, profile_tokens, family_tokens, family_size, expiry)| {
                let tx = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                revoke_family_tx(&tx, family, &scanned)
            },
        ))
    })
}
