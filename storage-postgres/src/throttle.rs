//! [`ThrottleStore`] on [`PostgresStore`]: failed-credential counters by throttle key.

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{StoreResult, ThrottleRecord, ThrottleStore};

use crate::codec;
use crate::error::from_sqlx;
use crate::store::PostgresStore;

#[async_trait]
#[async_trait]
impl ThrottleStore for PostgresStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        let row = sqlx::query("SELECT failures, last_failure FROM throttle WHERE key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.map(|r| codec::throttle(&r, key)).transpose()
    }

    /// One upsert: concurrent failures on any node each add exactly one.
    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let row = sqlx::query(
            "INSERT INTO throttle (key, failures, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             failures = LEAST(throttle.failures + 1, 4294967295), last_failure = $2 \
             RETURNING failures, last_failure",
        )
        .bind(key)
        .bind(now.0)
        .fetch_one(self.pool())
        .await
        .map_err(from_sqlx)?;
        codec::throttle(&row, key)
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM throttle WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }
}
