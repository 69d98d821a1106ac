//! [`ServerUserStore`] on PostgreSQL: `external_users` maps an identity provider's id to
//! a profile; both are written together.

use async_trait::async_trait;
use tessera_core::store::{
    ProfileRecord, Revoke, ServerUserRecord, ServerUserStore, StoreError, StoreResult,
};

use crate::codec::{self, SERVER_USER_COLUMNS};
use crate::error::from_sqlx;
use crate::profiles::{INSERT_VALUES, bind_profile, update_in};
use crate::store::PostgresStore;

#[async_trait]
impl ServerUserStore for PostgresStore {
    /// One statement: the profile `INSERT` feeds the mapping's. A taken username, profile
    /// id or public key fails the first, a taken external id (`external_users_pkey`) the
    /// second; either way the whole statement is undone, so of N concurrent creations of
    /// one external id one wins and the others leave no profile behind.
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let sql = format!(
            "WITH p AS (INSERT INTO profiles {INSERT_VALUES} VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 RETURNING id) \
             INSERT INTO external_users \
                 (external_id, profile_id, email, metadata, created_at, updated_at) \
             SELECT $17, p.id, $18, $19, $20, $21 FROM p"
        );
        bind_profile(sqlx::query(&sql), profile)?
            .bind(user.external_id.as_str())
            .bind(user.email.as_deref())
            .bind(user.metadata.as_deref())
            .bind(user.created_at.0)
            .bind(user.updated_at.0)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        Ok(())
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        let sql =
            format!("SELECT {SERVER_USER_COLUMNS} FROM external_users WHERE external_id = $1");
        let row = sqlx::query(&sql)
            .bind(external_id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::server_user).transpose()
    }

    /// One transaction: the mapping row locked and checked, the profile updated exactly as
    /// `update_profile` does (version check, revocation), then the mapping rewritten.
    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let mapped: Option<uuid::Uuid> = sqlx::query_scalar(
            "SELECT profile_id FROM external_users WHERE external_id = $1 FOR UPDATE",
        )
        .bind(user.external_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if mapped != Some(profile.id) {
            return Err(StoreError::NotFound);
        }
        update_in(&mut tx, profile, expected_version, revoke).await?;
        sqlx::query(
            "UPDATE external_users SET email = $2, metadata = $3, updated_at = $4 \
             WHERE external_id = $1",
        )
        .bind(user.external_id.as_str())
        .bind(user.email.as_deref())
        .bind(user.metadata.as_deref())
        .bind(user.updated_at.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)
    }
}
