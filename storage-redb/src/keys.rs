//! [`KeyStore`] on [`RedbStore`]: the server key seed (in `meta`) and server API keys.
//!
//! API key names are unique without an index table (so the format did not change for it
//! and the builds of its version still opened the store): `put_api_key` and `revoke_api_key`
//! scan `api_keys` inside their write transaction, and redb runs one write transaction
//! at a time, so the check and the write are atomic. The table holds only the few keys an
//! administrator made.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::store::{
    ApiKeyRecord, Conflict, KeyStore, StoreError, StoreResult, sort_api_keys,
};
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

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        self.read(|rx| {
            let mut keys = all_api_keys(&rx.open_table(t::API_KEYS)?)?;
            sort_api_keys(&mut keys);
            Ok(keys)
        })
        .await
    }

    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64> {
        let name = name.to_owned();
        self.write(move |tx| revoke_api_key(tx, &name)).await
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

/// Store a server API key unless its digest or its name is taken.
fn put_api_key(tx: &WriteTransaction, k: &ApiKeyRecord) -> Fallible<()> {
    let mut keys = tx.open_table(t::API_KEYS)?;
    if keys.get(&k.digest.0)?.is_some() || all_api_keys(&keys)?.iter().any(|o| o.name == k.name) {
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

/// Every record of `api_keys`, in digest order.
fn all_api_keys(
    keys: &impl ReadableTable<&'static [u8; 32], &'static [u8]>,
) -> Fallible<Vec<ApiKeyRecord>> {
    let mut out = Vec::new();
    for entry in keys.iter()? {
        let (k, v) = entry?;
        let digest = TokenDigest(*k.value());
        let rec = codec::decode_api_key(digest, v.value())
            .map_err(|e| Failure::decode("api_keys", &digest.0, e))?;
        out.push(rec);
    }
    Ok(out)
}

/// Delete every API key named `name`.
fn revoke_api_key(tx: &WriteTransaction, name: &str) -> Fallible<u64> {
    let mut keys = tx.open_table(t::API_KEYS)?;
    let doomed: Vec<TokenDigest> = all_api_keys(&keys)?
        .into_iter()
        .filter(|k| k.name == name)
        .map(|k| k.digest)
        .collect();
    if doomed.is_empty() {
        return Err(StoreError::NotFound.into());
    }
    for d in &doomed {
        keys.remove(&d.0)?;
    }
    Ok(doomed.len() as u64)
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;

    use super::*;

    /// A store written by a build that let a name be taken twice: both keys are listed,
    /// the name counts as taken, and revoking it removes both.
    #[tokio::test]
    async fn a_name_stored_twice_by_an_older_build_is_listed_refused_and_revoked_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let s = RedbStore::open(tmp.path()).unwrap();
        let key = |d: u8, name: &str| ApiKeyRecord {
            digest: TokenDigest([d; 32]),
            name: name.into(),
            created_at: Timestamp(i64::from(d)),
        };
        let (old, older) = (key(1, "billing"), key(2, "billing"));
        let raw = vec![old.clone(), older.clone()];
        s.write(move |tx| {
            let mut t = tx.open_table(t::API_KEYS)?;
            for k in &raw {
                t.insert(&k.digest.0, codec::encode_api_key(k).as_slice())?;
            }
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(s.list_api_keys().await.unwrap(), vec![old, older]);
        assert_eq!(
            s.put_api_key(&key(3, "billing")).await,
            Err(StoreError::Conflict(Conflict::Exists))
        );
        assert_eq!(s.revoke_api_key("billing").await, Ok(2));
        assert_eq!(s.list_api_keys().await.unwrap(), vec![]);
        s.put_api_key(&key(3, "billing")).await.unwrap();
    }
}
