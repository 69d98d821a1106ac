//! [`NonceStore`] on [`RedbStore`]: claimed nonces, with their own expiry index for the
//! purge (see [`crate::tables`]).

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{NonceStore, StoreResult};

use crate::error::Fallible;
use crate::store::RedbStore;
use crate::tables::{self as t, time_key};

#[async_trait]
impl NonceStore for RedbStore {
    /// One write transaction (redb has one writer at a time).
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let key = *key;
        self.write(move |tx| claim(tx, &key, expires_at, now)).await
    }
}

/// `nonces_by_expiry` key.
fn expiry_key(expires_at: Timestamp, key: &[u8; 32]) -> [u8; 40] {
    t::key(&[&time_key(expires_at), key])
}

fn claim(
    tx: &WriteTransaction,
    key: &[u8; 32],
    expires_at: Timestamp,
    now: Timestamp,
) -> Fallible<bool> {
    let mut nonces = tx.open_table(t::NONCES)?;
    let mut by_expiry = tx.open_table(t::NONCES_BY_EXPIRY)?;
    let stored = nonces.get(key)?.map(|v| Timestamp(v.value()));
    if let Some(old) = stored {
        if old > now {
            return Ok(false);
        }
        by_expiry.remove(&expiry_key(old, key))?;
    }
    nonces.insert(key, expires_at.0)?;
    by_expiry.insert(&expiry_key(expires_at, key), ())?;
    Ok(true)
}

/// Delete at most `limit` nonce claims that expire at or before `now`, earliest first, in
/// the caller's transaction. Returns how many.
pub(crate) fn purge(tx: &WriteTransaction, now: Timestamp, limit: usize) -> Fallible<usize> {
    if limit == 0 {
        return Ok(0);
    }
    let mut by_expiry = tx.open_table(t::NONCES_BY_EXPIRY)?;
    let due: Vec<[u8; 40]> = {
        let range = match now.0.checked_add(1) {
            Some(next) => by_expiry.range::<&[u8; 40]>(..&expiry_key(Timestamp(next), &[0; 32]))?,
            None => by_expiry.range::<&[u8; 40]>(..)?,
        };
        let mut due = Vec::with_capacity(limit.min(1024));
        for entry in range.take(limit) {
            due.push(*entry?.0.value());
        }
        due
    };
    let mut nonces = tx.open_table(t::NONCES)?;
    for k in &due {
        let mut key = [0u8; 32];
        key.copy_from_slice(&k[8..]);
        nonces.remove(&key)?;
        by_expiry.remove(k)?;
    }
    Ok(due.len())
}
