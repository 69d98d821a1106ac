//! [`QrStore`] on [`PostgresStore`]: device-onboarding QR tokens (redeemed by
//! `ProfileStore::create_device`, in `profiles.rs`).

use async_trait::async_trait;
use tessera_core::store::{QrRecord, QrStore, StoreResult};
use tessera_core::token::TokenDigest;

use crate::codec::{self, QR_COLUMNS, to_i64};
use crate::error::from_sqlx;
use crate::store::PostgresStore;

/// Insert a QR token if its owner has version `$6` (the locking of [`PUT_TOKEN`]).
const PUT_QR: &str = "WITH p AS (SELECT version FROM profiles WHERE id = $2 FOR SHARE) \
    INSERT INTO qr_tokens (digest, owner_id, issued_at, expires_at, device_name) \
    SELECT $1, $2, $3, $4, $5 FROM p WHERE p.version = $6";

#[async_trait]
#[async_trait]
impl QrStore for PostgresStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let done = sqlx::query(PUT_QR)
            .bind(qr.digest.0.as_slice())
            .bind(qr.owner)
            .bind(qr.issued_at.0)
            .bind(qr.expires_at.0)
            .bind(qr.device_name.as_deref())
            .bind(to_i64(owner_version, "profile version")?)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.version_refusal(qr.owner).await)
        }
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        let sql = format!("SELECT {QR_COLUMNS} FROM qr_tokens WHERE digest = $1");
        let row = sqlx::query(&sql)
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::qr).transpose()
    }
}
