//! [`KeyStore`] on [`RedbStore`]: the server key seed (in `meta`) and server API keys.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::store::{ApiKeyRecord, Conflict, KeyStore, StoreError, StoreResult};
use tessera_core::token::TokenDigest;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::store::RedbStore;
use crate::tables as t;

#[async_trait]
impl KeyStore for RedbStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(move |tx| server_key_or_insert(tx, candidate))
            .await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let k = key.clone();
        self.write(move |tx| put_api_key(tx, &k)).await
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let d = *digest;
        self.read(move |rx| get_api_key(rx, &d)).await
    }
}

/// The stored server key seed, storing `candidate` first if there is none.
fn server_key_or_insert(tx: &WriteTransaction, candidate: [u8; 32]) -> Fallible<[u8; 32]> {
    let mut meta = tx.open_table(t::META)?;
    if let Some(v) = meta.get(t::META_SERVER_KEY)? {
        return codec::decode_fixed(v.value())
            .map_err(|e| Failure::decode("meta", t::META_SERVER_KEY.as_bytes(), e));
    }
    meta.insert(t::META_SERVER_KEY, candidate.as_slice())?;
    Ok(candidate)
}

/// Store a server API key.
fn put_api_key(tx: &WriteTransaction, k: &ApiKeyRecord) -> Fallible<()> {
    let mut keys = tx.open_table(t::API_KEYS)?;
    if keys.get(&k.digest.0)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    keys.insert(&k.digest.0, codec::encode_api_key(k).as_slice())?;
    Ok(())
}

/// API key `digest`.
fn get_api_key(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<ApiKeyRecord>> {
    let keys = rx.open_table(t::API_KEYS)?;
    let Some(v) = keys.get(&digest.0)? else {
        return Ok(None);
    };
    codec::decode_api_key(*digest, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("api_keys", &digest.0, e))
}
