//! [`MaintenanceStore`] on [`PostgresStore`]: the health check and the bounded purge.

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{MaintenanceStore, StoreResult};

use crate::error::from_sqlx;
use crate::store::PostgresStore;

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
impl MaintenanceStore for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    /// Tokens first, then QR tokens, commands, OAuth grants, directory invitations and nonce
    /// claims, each in one bounded `DELETE`, until `limit` rows are gone.
    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        let mut n = 0usize;
        for table in [
            "tokens",
            "qr_tokens",
            "commands",
            "oauth_grants",
            "directory_invitations",
            "nonces",
        ] {
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
