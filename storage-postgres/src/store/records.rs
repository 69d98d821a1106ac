//! [`CommandStore`], [`ThrottleStore`], [`KeyStore`] and [`MaintenanceStore`] on
//! PostgreSQL.

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStore, KeyStore, MaintenanceStore, StoreResult,
    ThrottleRecord, ThrottleStore,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use super::PostgresStore;
use crate::codec::{self, COMMAND_COLUMNS, status_to_i16};
use crate::error::{corrupt, from_sqlx};

/// `meta` row of the server signing-key seed.
const SERVER_KEY: &str = "server_key";

/// Delete at most `$2` rows of a table expiring at or before `$1`, earliest first. The
/// rows are picked by `ctid` (`= ANY(ARRAY(…))`, the form PostgreSQL runs as a TID scan),
/// and the outer condition is checked again on the row actually deleted, so a row whose
/// expiry moved meanwhile stays.
fn purge_sql(table: &str) -> String {
    format!(
        "DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table} \
         WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)) AND expires_at <= $1"
    )
}

#[async_trait]
impl CommandStore for PostgresStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let names: Vec<&str> = command.result.iter().map(|(k, _)| k.as_str()).collect();
        let values: Vec<&str> = command.result.iter().map(|(_, v)| v.as_str()).collect();
        sqlx::query(
            "INSERT INTO commands (id, profile_id, status, body, result_names, result_values, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(command.id)
        .bind(command.profile_id)
        .bind(status_to_i16(command.status))
        .bind(command.body.as_str())
        .bind(&names)
        .bind(&values)
        .bind(command.created_at.0)
        .bind(command.expires_at.0)
        .execute(self.pool())
        .await
        .map_err(from_sqlx)?;
        Ok(())
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        let sql = format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::command).transpose()
    }
}

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

#[async_trait]
impl MaintenanceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    /// Tokens first, then QR tokens, then commands, each in one bounded `DELETE`, until
    /// `limit` rows are gone.
    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        let mut n = 0usize;
        for table in ["tokens", "qr_tokens", "commands"] {
            let left = limit - n;
            if left == 0 {
                break;
            }
            let done = sqlx::query(&purge_sql(table))
                .bind(now.0)
                .bind(i64::try_from(left).unwrap_or(i64::MAX))
                .execute(self.pool())
                .await
                .map_err(from_sqlx)?;
            n += done.rows_affected() as usize;
        }
        Ok(n)
    }
}
