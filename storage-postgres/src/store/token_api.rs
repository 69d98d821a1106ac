//! The token-API operations of `TokenStore` (refresh rotation, families, single-use and
//! replaced tokens) and the profile-wide revocation, each one transaction.
//!
//! Locking order, everywhere: the profile row first, then token rows. A profile update
//! (password change, device removal) takes the profile row `FOR NO KEY UPDATE`; writers of
//! new tokens of a profile (`put_token`, rotation) take it `FOR SHARE`; so a new token is
//! either committed before the update's revocation starts (and deleted by it) or written
//! after the update and checked against it. Deleting a set of tokens (a family, a profile's)
//! is repeated in the same transaction until a pass finds nothing: a pass can wait for a
//! rotation that was already writing, and the next pass (a new snapshot) sees what that
//! rotation inserted.

use sqlx::postgres::PgConnection;
use tessera_core::Timestamp;
use tessera_core::store::{Rotation, StoreResult, TokenRecord};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use super::PostgresStore;
use super::tokens::REVOKE;
use crate::codec::{self, TOKEN_COLUMNS, token_kind_to_i16};
use crate::error::from_sqlx;

const INSERT_TOKEN: &str = "INSERT INTO tokens \
    (digest, profile_id, kind, issued_at, expires_at, family) VALUES ($1, $2, $3, $4, $5, $6)";

/// Insert `t` unchecked, inside the caller's transaction.
async fn insert(tx: &mut PgConnection, t: &TokenRecord) -> StoreResult<()> {
    sqlx::query(INSERT_TOKEN)
        .bind(t.digest.0.as_slice())
        .bind(t.profile_id)
        .bind(token_kind_to_i16(t.kind))
        .bind(t.issued_at.0)
        .bind(t.expires_at.0)
        .bind(t.family)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

/// Delete every token of `family` inside the caller's transaction, pass after pass until
/// none is left; how many.
async fn delete_family(tx: &mut PgConnection, family: Uuid) -> StoreResult<u64> {
    let mut total = 0;
    loop {
        let done = sqlx::query("DELETE FROM tokens WHERE family = $1")
            .bind(family)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Ok(total);
        }
        total += done.rows_affected();
    }
}

/// Lock profile `id` against token writers (`FOR NO KEY UPDATE`); whether it exists.
async fn lock_profile(tx: &mut PgConnection, id: Uuid, share: bool) -> StoreResult<bool> {
    let sql = if share {
        "SELECT 1 FROM profiles WHERE id = $1 FOR SHARE"
    } else {
        "SELECT 1 FROM profiles WHERE id = $1 FOR NO KEY UPDATE"
    };
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    Ok(row.is_some())
}

impl PostgresStore {
    /// `TokenStore::revoke_profile_tokens`: the profile row locked, then its tokens and QR
    /// tokens deleted.
    pub(super) async fn revoke_profile(&self, profile: Uuid) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        lock_profile(&mut tx, profile, false).await?;
        let n: i64 = sqlx::query_scalar(REVOKE)
            .bind(profile)
            .bind(None::<&[u8]>)
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// `TokenStore::rotate_refresh`: the profile row `FOR SHARE`, the old token `FOR
    /// UPDATE` (concurrent rotations of one token queue here; the first marks it used, the
    /// next ones see `RefreshUsed` and revoke the family), then the writes.
    pub(super) async fn rotate(
        &self,
        old_digest: &TokenDigest,
        new_refresh: &TokenRecord,
        new_access: &TokenRecord,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        if !lock_profile(&mut tx, new_refresh.profile_id, true).await? {
            return Ok(Rotation::Unknown);
        }
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE digest = $1 FOR UPDATE");
        let row = sqlx::query(&sql)
            .bind(old_digest.0.as_slice())
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let Some(old) = row.as_ref().map(codec::token).transpose()? else {
            return Ok(Rotation::Unknown);
        };
        let matches = old.family.is_some()
            && [new_refresh, new_access]
                .iter()
                .all(|n| n.profile_id == old.profile_id && n.family == old.family);
        if !matches || old.expires_at <= now {
            return Ok(Rotation::Unknown);
        }
        let outcome = match (old.kind, old.family) {
            (TokenKind::Refresh, _) => {
                sqlx::query("UPDATE tokens SET kind = $2 WHERE digest = $1")
                    .bind(old_digest.0.as_slice())
                    .bind(token_kind_to_i16(TokenKind::RefreshUsed))
                    .execute(&mut *tx)
                    .await
                    .map_err(from_sqlx)?;
                // a digest already stored fails here, and the rollback undoes the update
                insert(&mut tx, new_refresh).await?;
                insert(&mut tx, new_access).await?;
                Rotation::Rotated
            }
            (TokenKind::RefreshUsed, Some(family)) => {
                delete_family(&mut tx, family).await?;
                Rotation::Reused
            }
            _ => return Ok(Rotation::Unknown),
        };
        tx.commit().await.map_err(from_sqlx)?;
        Ok(outcome)
    }

    /// `TokenStore::revoke_family`.
    pub(super) async fn revoke_family_tokens(&self, family: Uuid) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let n = delete_family(&mut tx, family).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(n)
    }

    /// `TokenStore::take_token`: one `DELETE … RETURNING` (of N concurrent takes one gets
    /// the row), returned if it had not expired.
    pub(super) async fn take(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let sql =
            format!("DELETE FROM tokens WHERE digest = $1 AND kind = $2 RETURNING {TOKEN_COLUMNS}");
        let row = sqlx::query(&sql)
            .bind(digest.0.as_slice())
            .bind(token_kind_to_i16(kind))
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        let taken = row.as_ref().map(codec::token).transpose()?;
        Ok(taken.filter(|t| t.expires_at > now))
    }

    /// `TokenStore::replace_tokens`: the profile row `FOR NO KEY UPDATE` (so replacements
    /// of one profile's tokens run one after the other and the newest wins), the older
    /// tokens of the kind deleted, the new one inserted.
    pub(super) async fn replace(&self, token: &TokenRecord) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        if !lock_profile(&mut tx, token.profile_id, false).await? {
            return Err(tessera_core::StoreError::NotFound);
        }
        let done = sqlx::query("DELETE FROM tokens WHERE profile_id = $1 AND kind = $2")
            .bind(token.profile_id)
            .bind(token_kind_to_i16(token.kind))
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        insert(&mut tx, token).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(done.rows_affected())
    }
}
