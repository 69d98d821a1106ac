//! [`ThrottleStore`] on [`PostgresStore`]: failed-credential counters by throttle key.
//!
//! A reservation is one transaction that reads the counter `FOR UPDATE` (the row lock
//! serialises every node's reservations of one key), decides with
//! [`ThrottlePolicy::reserve`] and writes what it decided before committing. (The engine
//! takes decisions that write nothing on a plain read and calls it only for an attempt that
//! counts.)

use async_trait::async_trait;
use tessera_core::store::{
    Reservation, StoreResult, ThrottlePolicy, ThrottleRecord, ThrottleStore,
};
use tessera_core::{StoreError, Timestamp};

use crate::codec;
use crate::error::from_sqlx;
use crate::store::PostgresStore;

/// Tries of a reservation whose key was inserted or removed meanwhile by another node.
const RESERVE_ROUNDS: usize = 8;

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

    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation> {
        // A missing row cannot be locked: when two nodes both find none and both count, the
        // second insert finds the first one's row, and its reservation is decided again on it.
        for _ in 0..RESERVE_ROUNDS {
            let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
            let row = sqlx::query(
                "SELECT failures, last_failure FROM throttle WHERE key = $1 FOR UPDATE",
            )
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
            let before = row.map(|r| codec::throttle(&r, key)).transpose()?;
            let decided = policy.reserve(before, now);
            if let Some(c) = decided.counted() {
                let sql = if before.is_some() {
                    "UPDATE throttle SET failures = $2, last_failure = $3 WHERE key = $1"
                } else {
                    "INSERT INTO throttle (key, failures, last_failure) VALUES ($1, $2, $3) \
                     ON CONFLICT (key) DO NOTHING"
                };
                let done = sqlx::query(sql)
                    .bind(key)
                    .bind(i64::from(c.failures))
                    .bind(c.last_failure.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(from_sqlx)?;
                if done.rows_affected() == 0 {
                    tx.rollback().await.map_err(from_sqlx)?;
                    continue;
                }
            }
            tx.commit().await.map_err(from_sqlx)?;
            return Ok(decided);
        }
        Err(StoreError::Unavailable {
            retryable: true,
            message: format!("throttle key {key:?} kept changing under the reservation"),
        })
    }

    /// One conditional statement: the counter is put back only if it is still `counted`.
    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool> {
        let query = match before {
            Some(b) => sqlx::query(
                "UPDATE throttle SET failures = $4, last_failure = $5 \
                 WHERE key = $1 AND failures = $2 AND last_failure = $3",
            )
            .bind(key)
            .bind(i64::from(counted.failures))
            .bind(counted.last_failure.0)
            .bind(i64::from(b.failures))
            .bind(b.last_failure.0),
            None => sqlx::query(
                "DELETE FROM throttle WHERE key = $1 AND failures = $2 AND last_failure = $3",
            )
            .bind(key)
            .bind(i64::from(counted.failures))
            .bind(counted.last_failure.0),
        };
        let done = query.execute(self.pool()).await.map_err(from_sqlx)?;
        Ok(done.rows_affected() == 1)
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
