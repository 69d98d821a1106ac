//! Revoking everything attached to a profile, and the QR deletion revocation and purge
//! share.
//!
//! A sled transaction can only do point reads, so the profile's tokens and QR tokens are
//! listed by a prefix scan before it. Every transaction that attaches a token or QR token
//! to a profile bumps the profile's `attach_gen` counter; the revoking transaction re-reads
//! the counter and, if it moved since the scan, aborts with [`Abort::Stale`] so the caller
//! scans again. Tokens *removed* meanwhile need no such check: deleting an absent key is
//! a no-op.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use tessera_core::store::{QrRecord, StoreResult};
use tessera_core::{StoreError, TokenDigest};
use uuid::Uuid;

use crate::codec::{decode_fixed, decode_qr};
use crate::error::{Abort, TxResult, abort, abort_corrupt, corrupt, corrupt_entry, from_sled};
use crate::store::Inner;
use crate::token_index::TokenTx;
use crate::trees::{EXP_QR, expiry_key, pair_key};

/// How often a revocation rescans before giving up (only under a storm of new tokens for
/// the very profile or family being revoked).
const MAX_RESCANS: usize = 64;

/// Run `f` until it does not end in `Abort::Stale`.
pub(crate) fn with_retry<T>(mut f: impl FnMut() -> Result<T, Abort>) -> StoreResult<T> {
    for _ in 0..MAX_RESCANS {
        match f() {
            Ok(v) => return Ok(v),
            Err(Abort::Store(e)) => return Err(e),
            Err(Abort::Stale) => {}
        }
    }
    Err(StoreError::Unavailable {
        retryable: true,
        message: "revocation kept racing new tokens of the same profile or family".into(),
    })
}

/// What was attached to a profile when it was scanned (outside a transaction).
pub(crate) struct Attached {
    generation: u64,
    pub tokens: Vec<[u8; 32]>,
    qrs: Vec<[u8; 32]>,
}

/// A profile's attachment generation from its stored value (0 when absent).
fn generation(raw: Option<&[u8]>, profile: &[u8; 16]) -> Result<u64, StoreError> {
    raw.map_or(Ok(0), |v| {
        decode_fixed::<8>(v)
            .map(u64::from_le_bytes)
            .map_err(|e| corrupt("attach_gen", profile, e))
    })
}

/// Bump the profile's attachment generation (inside the attaching transaction).
pub(crate) fn bump_generation(attach: &TransactionalTree, profile: Uuid) -> TxResult<()> {
    let id = profile.as_bytes();
    let g = match generation(attach.get(id)?.as_deref(), id) {
        Ok(g) => g,
        Err(e) => return abort(e),
    };
    attach.insert(&id[..], &(g + 1).to_le_bytes()[..])?;
    Ok(())
}

/// Abort with `Stale` if anything was attached to `profile` since `a` was scanned.
pub(crate) fn check_generation(
    attach: &TransactionalTree,
    profile: Uuid,
    a: &Attached,
) -> TxResult<()> {
    let id = profile.as_bytes();
    match generation(attach.get(id)?.as_deref(), id) {
        Ok(g) if g == a.generation => Ok(()),
        Ok(_) => Err(ConflictableTransactionError::Abort(Abort::Stale)),
        Err(e) => abort(e),
    }
}

/// The 32-byte digests after a 16-byte prefix, from a prefix scan of `tree`.
pub(crate) fn scan_digests(
    tree: &sled::Tree,
    name: &str,
    prefix: &[u8; 16],
) -> StoreResult<Vec<[u8; 32]>> {
    let mut out = Vec::new();
    for k in tree.scan_prefix(prefix).keys() {
        let k = k.map_err(from_sled)?;
        let d = k.get(16..).and_then(|d| <[u8; 32]>::try_from(d).ok());
        out.push(d.ok_or_else(|| corrupt_entry(name, &k, "key is not id ‖ digest"))?);
    }
    Ok(out)
}

/// Read the generation, then list the profile's tokens and, if `with_qr`, its QR tokens.
pub(crate) fn scan_attached(db: &Inner, profile: Uuid, with_qr: bool) -> StoreResult<Attached> {
    let t = &db.t;
    let id = profile.as_bytes();
    let raw = t.attach_gen.get(id).map_err(from_sled)?;
    let generation = generation(raw.as_deref(), id)?;
    Ok(Attached {
        generation,
        tokens: scan_digests(&t.profile_tokens, "profile_tokens", id)?,
        qrs: if with_qr {
            scan_digests(&t.owner_qr, "owner_qr", id)?
        } else {
            Vec::new()
        },
    })
}

/// The trees a revocation writes.
pub(crate) struct RevokeTx<'a> {
    pub tok: TokenTx<'a>,
    pub qr: &'a TransactionalTree,
    pub owner_qr: &'a TransactionalTree,
    pub attach: &'a TransactionalTree,
}

/// Delete what `a` lists (but `keep`), if nothing was attached since the scan; otherwise
/// abort with `Stale` so the caller rescans. Returns how many records were deleted.
pub(crate) fn revoke_attached(
    tx: &RevokeTx<'_>,
    profile: Uuid,
    a: &Attached,
    keep: Option<&TokenDigest>,
) -> TxResult<u64> {
    check_generation(tx.attach, profile, a)?;
    let mut n = 0;
    for d in &a.tokens {
        if keep.is_some_and(|k| k.0 == *d) {
            continue;
        }
        if let Some(v) = tx.tok.view(d)? {
            tx.tok.remove(d, &v)?;
            n += 1;
        }
    }
    for d in &a.qrs {
        if let Some(raw) = tx.qr.get(d)? {
            let q = match decode_qr(TokenDigest(*d), &raw) {
                Ok(q) => q,
                Err(e) => return abort_corrupt("qr", d, e),
            };
            remove_qr_tx(tx.qr, tx.owner_qr, tx.tok.expiry, &q)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Delete a QR token and its index entries.
pub(crate) fn remove_qr_tx(
    qr: &TransactionalTree,
    owner_qr: &TransactionalTree,
    expiry: &TransactionalTree,
    q: &QrRecord,
) -> TxResult<()> {
    qr.remove(&q.digest.0[..])?;
    owner_qr.remove(&pair_key(q.owner, &q.digest.0)[..])?;
    expiry.remove(expiry_key(q.expires_at, EXP_QR, &q.digest.0))?;
    Ok(())
}
