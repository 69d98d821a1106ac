//! [`NonceStore`] on [`PostgresStore`]: claimed nonces (the message adapter's replay guard,
//! shared by every node on the database).

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{NonceStore, StoreResult};

use crate::error::from_sqlx;
use crate::store::PostgresStore;

#[async_trait]
impl NonceStore for PostgresStore {
    /// One statement: insert the claim, or take over a stored one that expired. Concurrent
    /// claims of one key wait on its row; all but the first then find a live claim (the
    /// `WHERE` of `DO UPDATE` is false) and return no row.
    async fn claim_nonce(
        &self,
        key: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "INSERT INTO nonces (key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at \
             WHERE nonces.expires_at <= $3 \
             RETURNING 1",
        )
        .bind(key.as_slice())
        .bind(expires_at.0)
        .bind(now.0)
        .fetch_optional(self.pool())
        .await
        .map_err(from_sqlx)?;
        Ok(row.is_some())
    }
}
