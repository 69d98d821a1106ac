//! [`KeyStore`] on [`PostgresStore`]: the server key seed (in `meta`) and server API keys.

use async_trait::async_trait;
use tessera_core::store::{ApiKeyRecord, KeyStore, StoreResult};
use tessera_core::token::TokenDigest;

use crate::codec;
use crate::error::{corrupt, from_sqlx};
use crate::store::PostgresStore;

/// `meta` row of the server signing-key seed.
const SERVER_KEY: &str = "server_key";

#[async_trait]
#[async_trait]
impl KeyStore for PostgresStore {
    /// Insert unless present, then read: two statements, so the read (a new snapshot under
    /// READ COMMITTED) sees whichever concurrent insert won.
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(SERVER_KEY)
            .bind(candidate.as_slice())
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        let seed: Vec<u8> = sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
            .bind(SERVER_KEY)
            .fetch_one(self.pool())
            .await
            .map_err(from_sqlx)?;
        <[u8; 32]>::try_from(seed.as_slice())
            .map_err(|_| corrupt("meta", SERVER_KEY, "the server key seed is not 32 bytes"))
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        sqlx::query("INSERT INTO api_keys (digest, name, created_at) VALUES ($1, $2, $3)")
            .bind(key.digest.0.as_slice())
            .bind(key.name.as_str())
            .bind(key.created_at.0)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query("SELECT name, created_at FROM api_keys WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.map(|r| codec::api_key(&r, *digest)).transpose()
    }
}
