//! [`QrStore`] on [`RedbStore`]: device-onboarding QR tokens (redeemed by
//! `ProfileStore::create_device`, in `profiles.rs`).

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::store::{Conflict, QrRecord, QrStore, StoreError, StoreResult};
use tessera_core::token::TokenDigest;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::profiles::expect_version;
use crate::store::RedbStore;
use crate::tables::{self as t, Expiring};

#[async_trait]
impl QrStore for RedbStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let q = qr.clone();
        self.write(move |tx| put_qr(tx, &q, owner_version)).await
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        let d = *digest;
        self.read(move |rx| get_qr(rx, &d)).await
    }
}

/// Store a QR token of an owner that has `version`, with its `qr_by_owner` and `expiry`
/// entries.
fn put_qr(tx: &WriteTransaction, q: &QrRecord, version: u64) -> Fallible<()> {
    expect_version(tx, q.owner, version)?;
    let mut qr = tx.open_table(t::QR)?;
    let d = &q.digest.0;
    if qr.get(d)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    qr.insert(d, codec::encode_qr(q).as_slice())?;
    tx.open_table(t::QR_BY_OWNER)?
        .insert(&t::pair_key(q.owner, &q.digest), ())?;
    tx.open_table(t::EXPIRY)?
        .insert(&t::expiry_key(q.expires_at, Expiring::Qr, d), ())?;
    Ok(())
}

/// QR token `digest`.
fn get_qr(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<QrRecord>> {
    let qr = rx.open_table(t::QR)?;
    let Some(v) = qr.get(&digest.0)? else {
        return Ok(None);
    };
    codec::decode_qr(*digest, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("qr", &digest.0, e))
}
