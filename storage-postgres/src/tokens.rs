//! [`TokenStore`] on [`PostgresStore`]: authorization, refresh and single-use tokens, each
//! method one statement or one transaction.
//!
//! Locking order, everywhere: the profile row first, then token rows. A profile update
//! (password change, device removal) takes the profile row `FOR NO KEY UPDATE`; writers of
//! new tokens of a profile (`put_token`, rotation) take it `FOR SHARE`; so a new token is
//! either committed before the update's revocation starts (and deleted by it) or written
//! after the update and checked against it. Deleting a set of tokens (a family, a profile's)
//! is repeated in the same transaction until a pass finds nothing: a pass can wait for a
//! rotation that was already writing, and the next pass (a new snapshot) sees what that
//! rotation inserted.

use async_trait::async_trait;
use sqlx::postgres::PgConnection;
use tessera_core::Timestamp;
use tessera_core::store::{
    CommandRecord, ResolvedToken, Rotation, StoreError, StoreResult, TokenRecord, TokenStore,
};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use crate::codec::{self, TOKEN_COLUMNS, to_i64, token_kind_to_i16};
use crate::commands;
use crate::error::from_sqlx;
use crate::store::PostgresStore;

/// The verify query: the token and its profile in one statement (one round trip).
pub(crate) const RESOLVE: &str = "SELECT t.kind AS token_kind, t.issued_at, t.expires_at, \
    p.id, p.kind, p.state, p.owner_id, p.environments \
    FROM tokens t JOIN profiles p ON p.id = t.profile_id WHERE t.digest = $1";

/// Delete every token of profile `$1` but `$2` (when not null) and every QR token it
/// issued, in one statement; returns how many (`n`).
pub(crate) const REVOKE: &str = "WITH t AS (DELETE FROM tokens \
        WHERE profile_id = $1 AND ($2::bytea IS NULL OR digest <> $2) RETURNING 1), \
     q AS (DELETE FROM qr_tokens WHERE owner_id = $1 RETURNING 1) \
     SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM q) AS n";

/// Insert a token if its profile has version `$7`. The profile row is read `FOR SHARE`,
/// which waits for (and then sees) any concurrent `update_profile` of it, and makes such
/// an update wait until this insert commits: a token is never stored against a version
/// that a committed update has replaced, nor missed by that update's revocation.
const PUT_TOKEN: &str = "WITH p AS (SELECT version FROM profiles WHERE id = $2 FOR SHARE) \
    INSERT INTO tokens (digest, profile_id, kind, issued_at, expires_at, family) \
    SELECT $1, $2, $3, $4, $5, $6 FROM p WHERE p.version = $7";

/// [`PUT_TOKEN`] for many tokens at once (arrays, one element per token).
const PUT_TOKENS: &str = "WITH i AS (SELECT * FROM UNNEST($1::bytea[], $2::uuid[], \
        $3::int2[], $4::int8[], $5::int8[], $6::uuid[], $7::int8[]) \
        AS i (digest, profile_id, kind, issued_at, expires_at, family, version)), \
     p AS (SELECT id, version FROM profiles WHERE id = ANY($2) FOR SHARE) \
     INSERT INTO tokens (digest, profile_id, kind, issued_at, expires_at, family) \
     SELECT i.digest, i.profile_id, i.kind, i.issued_at, i.expires_at, i.family \
     FROM i JOIN p ON p.id = i.profile_id AND p.version = i.version";

const INSERT_TOKEN: &str = "INSERT INTO tokens \
    (digest, profile_id, kind, issued_at, expires_at, family) VALUES ($1, $2, $3, $4, $5, $6)";

/// Insert `t` unchecked, inside the caller's transaction.
pub(crate) async fn insert(tx: &mut PgConnection, t: &TokenRecord) -> StoreResult<()> {
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

/// Insert `tokens` unchecked, inside the caller's transaction, in one statement.
pub(crate) async fn insert_all(tx: &mut PgConnection, tokens: &[TokenRecord]) -> StoreResult<()> {
    match tokens {
        [] => return Ok(()),
        [t] => return insert(tx, t).await,
        _ => {}
    }
    let digests: Vec<&[u8]> = tokens.iter().map(|t| t.digest.0.as_slice()).collect();
    let profiles: Vec<Uuid> = tokens.iter().map(|t| t.profile_id).collect();
    let kinds: Vec<i16> = tokens.iter().map(|t| token_kind_to_i16(t.kind)).collect();
    let issued: Vec<i64> = tokens.iter().map(|t| t.issued_at.0).collect();
    let expires: Vec<i64> = tokens.iter().map(|t| t.expires_at.0).collect();
    let families: Vec<Option<Uuid>> = tokens.iter().map(|t| t.family).collect();
    sqlx::query(
        "INSERT INTO tokens (digest, profile_id, kind, issued_at, expires_at, family) \
         SELECT * FROM UNNEST($1::bytea[], $2::uuid[], $3::int2[], $4::int8[], $5::int8[], \
         $6::uuid[])",
    )
    .bind(&digests)
    .bind(&profiles)
    .bind(&kinds)
    .bind(&issued)
    .bind(&expires)
    .bind(&families)
    .execute(&mut *tx)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// Delete every token of `family` inside the caller's transaction, pass after pass until
/// none is left; how many.
pub(crate) async fn delete_family(tx: &mut PgConnection, family: Uuid) -> StoreResult<u64> {
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
pub(crate) async fn lock_profile(
    tx: &mut PgConnection,
    id: Uuid,
    share: bool,
) -> StoreResult<bool> {
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
    /// Why a versioned insert for `profile` found no row: `NotFound` or `VersionMismatch`.
    pub(crate) async fn version_refusal(&self, profile: Uuid) -> StoreError {
        match sqlx::query("SELECT 1 FROM profiles WHERE id = $1")
            .bind(profile)
            .fetch_optional(self.pool())
            .await
        {
            Ok(Some(_)) => StoreError::VersionMismatch,
            Ok(None) => StoreError::NotFound,
            Err(e) => from_sqlx(e),
        }
    }

    /// The first refusal of a batch that did not insert every token.
    async fn batch_refusal(&self, tokens: &[(TokenRecord, u64)]) -> StoreError {
        let ids: Vec<Uuid> = tokens.iter().map(|(t, _)| t.profile_id).collect();
        let rows: Result<Vec<(Uuid, i64)>, _> =
            sqlx::query_as("SELECT id, version FROM profiles WHERE id = ANY($1)")
                .bind(&ids)
                .fetch_all(self.pool())
                .await;
        let versions = match rows {
            Ok(rows) => rows,
            Err(e) => return from_sqlx(e),
        };
        for (t, v) in tokens {
            match versions.iter().find(|(id, _)| *id == t.profile_id) {
                None => return StoreError::NotFound,
                Some((_, stored)) if u64::try_from(*stored).ok() != Some(*v) => {
                    return StoreError::VersionMismatch;
                }
                Some(_) => {}
            }
        }
        StoreError::VersionMismatch
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let done = sqlx::query(PUT_TOKEN)
            .bind(token.digest.0.as_slice())
            .bind(token.profile_id)
            .bind(token_kind_to_i16(token.kind))
            .bind(token.issued_at.0)
            .bind(token.expires_at.0)
            .bind(token.family)
            .bind(to_i64(profile_version, "profile version")?)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(self.version_refusal(token.profile_id).await)
        }
    }

    /// All or nothing: one multi-row statement in a transaction that is rolled back
    /// unless every token was stored.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut versions = Vec::with_capacity(tokens.len());
        for (_, v) in tokens {
            versions.push(to_i64(*v, "profile version")?);
        }
        let digests: Vec<&[u8]> = tokens.iter().map(|(t, _)| t.digest.0.as_slice()).collect();
        let profiles: Vec<Uuid> = tokens.iter().map(|(t, _)| t.profile_id).collect();
        let kinds: Vec<i16> = tokens
            .iter()
            .map(|(t, _)| token_kind_to_i16(t.kind))
            .collect();
        let issued: Vec<i64> = tokens.iter().map(|(t, _)| t.issued_at.0).collect();
        let expires: Vec<i64> = tokens.iter().map(|(t, _)| t.expires_at.0).collect();
        let families: Vec<Option<Uuid>> = tokens.iter().map(|(t, _)| t.family).collect();
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = sqlx::query(PUT_TOKENS)
            .bind(&digests)
            .bind(&profiles)
            .bind(&kinds)
            .bind(&issued)
            .bind(&expires)
            .bind(&families)
            .bind(&versions)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == tokens.len() as u64 {
            tx.commit().await.map_err(from_sqlx)
        } else {
            tx.rollback().await.map_err(from_sqlx)?;
            Err(self.batch_refusal(tokens).await)
        }
    }

    /// The hot path: one statement joining the token to its profile.
    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        let row = sqlx::query(RESOLVE)
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.map(|r| codec::resolved(&r, *digest)).transpose()
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE digest = $1");
        let row = sqlx::query(&sql)
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::token).transpose()
    }

    /// One `UPDATE … WHERE expires_at > now`: a deleted (revoked) row cannot be updated,
    /// and a concurrent delete and update of one row are ordered by its row lock.
    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done =
            sqlx::query("UPDATE tokens SET expires_at = $2 WHERE digest = $1 AND expires_at > $3")
                .bind(digest.0.as_slice())
                .bind(expires_at.0)
                .bind(now.0)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = sqlx::query("DELETE FROM tokens WHERE digest = $1")
            .bind(digest.0.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let existed = done.rows_affected() > 0;
        if existed {
            commands::insert_in(&mut tx, command).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(existed)
    }

    /// One transaction: the profile row locked, then its tokens and QR tokens deleted, and
    /// the command recorded.
    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        lock_profile(&mut tx, profile, false).await?;
        let n: i64 = sqlx::query_scalar(REVOKE)
            .bind(profile)
            .bind(None::<&[u8]>)
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// One transaction: the new tokens' profile row `FOR SHARE`, the old token `FOR UPDATE`
    /// (concurrent spends of one token queue here; the first marks it spent, the next ones
    /// see the spent kind and revoke the family), then the writes.
    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        // Only a spend that inserts needs the profile (locking order: profile, then tokens).
        if let Some(first) = issue.first()
            && !lock_profile(&mut tx, first.profile_id, true).await?
        {
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
        let Some(family) = old.family else {
            return Ok(Rotation::Unknown);
        };
        let matches = issue
            .iter()
            .all(|n| n.profile_id == old.profile_id && n.family == Some(family));
        if !matches || old.expires_at <= now {
            return Ok(Rotation::Unknown);
        }
        let outcome = if let Some(spent) = old.kind.spent() {
            sqlx::query("UPDATE tokens SET kind = $2 WHERE digest = $1")
                .bind(old_digest.0.as_slice())
                .bind(token_kind_to_i16(spent))
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            // a digest already stored (or given twice) fails here, and the rollback undoes
            // the update
            insert_all(&mut tx, issue).await?;
            Rotation::Rotated
        } else if old.kind.is_spent() {
            delete_family(&mut tx, family).await?;
            Rotation::Reused
        } else {
            return Ok(Rotation::Unknown);
        };
        tx.commit().await.map_err(from_sqlx)?;
        Ok(outcome)
    }

    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE profile_id = $1");
        let rows = sqlx::query(&sql)
            .bind(profile)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        let mut out = rows
            .iter()
            .map(codec::token)
            .collect::<StoreResult<Vec<_>>>()?;
        // In Rust's order, not the database's.
        out.sort_by_key(|t| (t.issued_at, t.digest.0));
        Ok(out)
    }

    /// One transaction of `DELETE … WHERE family = $1` passes until one finds nothing.
    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let n = delete_family(&mut tx, family).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(n)
    }

    /// One `DELETE … RETURNING` (of N concurrent takes one gets the row), returned if it
    /// had not expired.
    async fn take_token(
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

    /// One transaction: the profile row `FOR NO KEY UPDATE` (so replacements of one
    /// profile's tokens run one after the other and the newest wins), the older tokens of
    /// the kind deleted, the new one inserted.
    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        if !lock_profile(&mut tx, token.profile_id, false).await? {
            return Err(StoreError::NotFound);
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
