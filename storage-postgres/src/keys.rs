//! [`KeyStore`] on [`PostgresStore`]: the server key seed (in `meta`) and server API keys.
//!
//! API key names are unique without a unique index: a database written by an older build
//! may hold one name twice, which would make a migration adding the index fail. Instead
//! `put_api_key` takes `LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE` (it conflicts with
//! itself and with every insert or delete, not with reads) and inserts only when the name
//! is free, in one transaction; so no migration was needed for it (migration 2 builds
//! without the check and with it share a database).

use async_trait::async_trait;
use sqlx::Row as _;
use tessera_core::store::{
    ApiKeyRecord, Conflict, KeyStore, StoreError, StoreResult, sort_api_keys,
};
use tessera_core::token::TokenDigest;

use crate::codec;
use crate::error::{corrupt, from_sqlx};
use crate::store::PostgresStore;

/// `meta` row of the server signing-key seed.
const SERVER_KEY: &str = "server_key";

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

    /// One transaction: the table lock, then an insert that happens only if no row has the
    /// name (a taken digest is the primary key's unique violation).
    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        sqlx::query("LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let inserted = sqlx::query(
            "INSERT INTO api_keys (digest, name, created_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM api_keys WHERE name = $2)",
        )
        .bind(key.digest.0.as_slice())
        .bind(key.name.as_str())
        .bind(key.created_at.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let row = sqlx::query("SELECT name, created_at FROM api_keys WHERE digest = $1")
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.map(|r| codec::api_key(&r, *digest)).transpose()
    }

    async fn list_api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>> {
        let rows = sqlx::query("SELECT digest, name, created_at FROM api_keys")
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        let mut keys = rows
            .iter()
            .map(|r| {
                let raw: Vec<u8> = r.try_get("digest").map_err(from_sqlx)?;
                let digest = <[u8; 32]>::try_from(raw.as_slice())
                    .map_err(|_| corrupt("api_keys", "digest", "a digest is not 32 bytes"))?;
                codec::api_key(r, TokenDigest(digest))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        // In Rust's order, not the database collation's.
        sort_api_keys(&mut keys);
        Ok(keys)
    }

    /// One statement (a delete waits for a `put_api_key` holding the table lock).
    async fn revoke_api_key(&self, name: &str) -> StoreResult<u64> {
        let n = sqlx::query("DELETE FROM api_keys WHERE name = $1")
            .bind(name)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(n)
    }
}
