//! [`KeyStore`] on [`SledStore`]: the server key seed (in `meta`) and server API keys.
//!
//! API key names are unique without an index tree (format 2 was not changed for them, so
//! format-2 builds of either kind open the same stores). A sled transaction cannot scan, so every write
//! of `api_keys` (`put_api_key`, `revoke_api_key`) holds the store's `api_key_writes`
//! lock while it scans the tree for the name and then writes; the data directory is
//! locked to one process, so no write of `api_keys` escapes that lock. The tree holds
//! only the few keys an administrator made.

use std::sync::PoisonError;

use async_trait::async_trait;
use tessera_core::store::{ApiKeyRecord, Conflict, KeyStore, StoreResult, sort_api_keys};
use tessera_core::{StoreError, TokenDigest};

use crate::codec::{decode_api_key, decode_fixed, encode_api_key};
use crate::error::{abort, abort_corrupt, corrupt, corrupt_entry, finish, from_sled};
use crate::store::{Inner, SledStore, read};
use crate::trees::SERVER_KEY;

#[async_trait]
impl KeyStore for SledStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(move |db: &Inner| {
            finish(db.t.meta.transaction(|meta| {
                let Some(raw) = meta.get(SERVER_KEY)? else {
                    meta.insert(SERVER_KEY, &candidate[..])?;
                    return Ok(candidate);
                };
                match decode_fixed::<32>(&raw) {
                    Ok(k) => Ok(k),
                    Err(e) => abort_corrupt("meta", SERVER_KEY, e),
                }
            }))
        })
        .await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let value = encode_api_key(key);
        let d = key.digest.0;
        let name = key.name.clone();
        self.write(move |db: &Inner| {
            let _only = db
                .api_key_writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if all_api_keys(db)?.iter().any(|k| k.name == name) {
                return Err(StoreError::Conflict(Conflict::Exists));
            }
            finish(db.t.api_keys.transaction(|api_keys| {
                if api_keys.get(d)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                api_keys.insert(&d[..], value.as_slice())?;
                Ok(())
            }))
        })
        .await
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let d = *digest;
        read(&self.inner.t.api_keys, "api_keys", &digest.0, |b| {
            decode_api_key(d, b)
        })
    }

    /// Under `api_key_writes`, so the scan sees no write half done.
    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        let mut keys = {
            let _only = self
                .inner
                .api_key_writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            all_api_keys(&self.inner)?
        };
        sort_api_keys(&mut keys);
        Ok(keys)
    }

    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64> {
        let name = name.to_owned();
        self.write(move |db: &Inner| {
            let _only = db
                .api_key_writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut batch = sled::Batch::default();
            let mut n = 0;
            for k in all_api_keys(db)?.iter().filter(|k| k.name == name) {
                batch.remove(&k.digest.0[..]);
                n += 1;
            }
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            db.t.api_keys.apply_batch(batch).map_err(from_sled)?;
            Ok(n)
        })
        .await
    }
}

/// Every record of `api_keys`, in digest order (one scan; not a snapshot, but every write
/// of the tree holds `api_key_writes`, so a scan under that lock sees a fixed tree).
fn all_api_keys(db: &Inner) -> StoreResult<Vec<ApiKeyRecord>> {
    let mut out = Vec::new();
    for entry in &db.t.api_keys {
        let (k, v) = entry.map_err(from_sled)?;
        let digest = <[u8; 32]>::try_from(&k[..])
            .map_err(|_| corrupt_entry("api_keys", &k, "key is not a 32-byte digest"))?;
        out.push(decode_api_key(TokenDigest(digest), &v).map_err(|e| corrupt("api_keys", &k, e))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;

    use super::*;
    use crate::codec::encode_api_key;

    /// A store written by a build that let a name be taken twice: both keys are listed,
    /// the name counts as taken, and revoking it removes both.
    #[tokio::test]
    async fn a_name_stored_twice_by_an_older_build_is_listed_refused_and_revoked_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let s = SledStore::open(tmp.path()).unwrap();
        let key = |d: u8, name: &str| ApiKeyRecord {
            digest: TokenDigest([d; 32]),
            name: name.into(),
            created_at: Timestamp(i64::from(d)),
        };
        let (old, older) = (key(1, "billing"), key(2, "billing"));
        for k in [&old, &older] {
            s.inner
                .t
                .api_keys
                .insert(&k.digest.0[..], encode_api_key(k))
                .unwrap();
        }
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
