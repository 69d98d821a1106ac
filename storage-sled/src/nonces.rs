//! [`NonceStore`] on [`SledStore`]: claimed nonces, with their own expiry index for the
//! purge (see [`crate::trees`]).

use std::ops::Bound;

use async_trait::async_trait;
use sled::Transactional;
use tessera_core::Timestamp;
use tessera_core::store::{NonceStore, StoreResult};

use crate::error::{abort, corrupt_entry, finish, from_sled};
use crate::store::{Inner, SledStore};
use crate::trees::time_key;

#[async_trait]
impl NonceStore for SledStore {
    /// One transaction over `nonces` and `nonce_expiry`.
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let key = *key;
        self.write(move |db: &Inner| {
            let t = &db.t;
            finish(
                (&t.nonces, &t.nonce_expiry).transaction(|(nonces, by_expiry)| {
                    if let Some(raw) = nonces.get(key)? {
                        let Ok(old) = <[u8; 8]>::try_from(raw.as_ref()) else {
                            return abort(corrupt_entry("nonces", &key, "expiry length"));
                        };
                        let old = Timestamp(i64::from_be_bytes(old));
                        if old > now {
                            return Ok(false);
                        }
                        by_expiry.remove(expiry_key(old, &key).as_slice())?;
                    }
                    nonces.insert(&key, &expires_at.0.to_be_bytes())?;
                    by_expiry.insert(expiry_key(expires_at, &key).as_slice(), &[])?;
                    Ok(true)
                }),
            )
        })
        .await
    }
}

/// A `nonce_expiry` key.
fn expiry_key(at: Timestamp, key: &[u8; 32]) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..8].copy_from_slice(&time_key(at));
    k[8..].copy_from_slice(key);
    k
}

/// Delete at most `limit` nonce claims that expire at or before `now`, earliest first (one
/// transaction). A claim renewed since the scan keeps its newer entry. Returns how many.
pub(crate) fn purge(db: &Inner, now: Timestamp, limit: usize) -> StoreResult<usize> {
    if limit == 0 {
        return Ok(0);
    }
    let t = &db.t;
    let upper = match now.0.checked_add(1) {
        Some(next) => Bound::Excluded(expiry_key(Timestamp(next), &[0; 32]).to_vec()),
        None => Bound::Unbounded,
    };
    let mut due = Vec::new();
    for k in t
        .nonce_expiry
        .range::<Vec<u8>, _>((Bound::Unbounded, upper))
        .keys()
        .take(limit)
    {
        due.push(k.map_err(from_sled)?);
    }
    finish(
        (&t.nonces, &t.nonce_expiry).transaction(|(nonces, by_expiry)| {
            let mut n = 0;
            for k in &due {
                if by_expiry.remove(k.as_ref())?.is_none() {
                    continue; // purged meanwhile
                }
                let Some((time, key)) = k
                    .split_first_chunk::<8>()
                    .filter(|(_, key)| key.len() == 32)
                else {
                    return abort(corrupt_entry("nonce_expiry", k, "key length"));
                };
                let at = (u64::from_be_bytes(*time) ^ (1 << 63)) as i64;
                // a claim taken over since has another expiry: it is not due
                if nonces.get(key)?.as_deref() == Some(&at.to_be_bytes()[..]) {
                    nonces.remove(key)?;
                    n += 1;
                }
            }
            Ok(n)
        }),
    )
}
