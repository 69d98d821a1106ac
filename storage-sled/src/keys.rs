//! [`KeyStore`] on [`SledStore`]: the server key seed (in `meta`) and server API keys.

use async_trait::async_trait;
use tessera_core::store::{ApiKeyRecord, Conflict, KeyStore, StoreResult};
use tessera_core::{StoreError, TokenDigest};

use crate::codec::{decode_api_key, decode_fixed, encode_api_key};
use crate::error::{abort, abort_corrupt, finish};
use crate::store::{Inner, SledStore, read};
use crate::trees::SERVER_KEY;

#[async_trait]
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
        self.write(move |db: &Inner| {
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
}
