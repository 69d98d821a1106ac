//! [`ProfileStore`] on PostgreSQL.

use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgArguments, PgConnection};
use sqlx::query::Query;
use tessera_core::Timestamp;
use tessera_core::store::{
    CommandRecord, ProfileRecord, ProfileStore, Revoke, StoreError, StoreResult,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec::{self, PROFILE_COLUMNS, kind_to_i16, state_to_i16, to_i64};
use crate::commands;
use crate::error::{from_sqlx, version_refusal_in};
use crate::store::PostgresStore;
use crate::tokens::REVOKE;

/// The sixteen profile values of [`bind_profile`] as `$1…$16` of an insert.
pub(crate) const INSERT_VALUES: &str = "(id, kind, state, username, password_hash, password_temporary, \
    public_key, owner_id, environments, device_id, device_roles, device_name, device_meta, \
    created_at, updated_at, version)";

/// Replace everything but the id, username, owner and version (`$1`…`$16` as bound by
/// [`bind_profile`]; `$4` and `$8` are left unused); `$17` is the expected version.
const UPDATE: &str = "UPDATE profiles SET kind = $2, state = $3, password_hash = $5, \
    password_temporary = $6, public_key = $7, environments = $9, device_id = $10, \
    device_roles = $11, device_name = $12, device_meta = $13, created_at = $14, \
    updated_at = $15, version = $17 + 1 \
    WHERE id = $1 AND version = $17";

/// Bind the sixteen columns of a profile, in [`INSERT_VALUES`] order.
pub(crate) fn bind_profile<'q>(
    q: Query<'q, Postgres, PgArguments>,
    p: &'q ProfileRecord,
) -> StoreResult<Query<'q, Postgres, PgArguments>> {
    let d = p.device.as_ref();
    Ok(q.bind(p.id)
        .bind(kind_to_i16(p.kind))
        .bind(state_to_i16(p.state))
        .bind(p.username.as_str())
        .bind(p.password_hash.as_deref())
        .bind(p.password_temporary)
        .bind(p.public_key.as_ref().map(<[u8; 32]>::as_slice))
        .bind(p.owner)
        .bind(p.environments.as_slice())
        .bind(d.map(|d| d.device_id))
        .bind(d.map(|d| i16::from(d.roles.0)))
        .bind(d.and_then(|d| d.name.as_deref()))
        .bind(d.and_then(|d| d.meta.as_deref()))
        .bind(p.created_at.0)
        .bind(p.updated_at.0)
        .bind(to_i64(p.version, "profile version")?))
}

/// `ProfileStore::update_profile` inside the caller's transaction: `UPDATE … WHERE version
/// = $expected` (which takes the row lock), then the revocation as a second statement. The
/// order matters under READ COMMITTED: a concurrent `put_token` (or rotation, or reset
/// code) holds the profile row `FOR SHARE` until it commits, so the update waits for it,
/// and the revocation, a statement started after the update, sees its tokens.
pub(crate) async fn update_in(
    tx: &mut PgConnection,
    profile: &ProfileRecord,
    expected_version: u64,
    revoke: Revoke,
) -> StoreResult<()> {
    let expected = to_i64(expected_version, "profile version")?;
    let updated = bind_profile(sqlx::query(UPDATE), profile)?
        .bind(expected)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    if updated.rows_affected() == 0 {
        return Err(version_refusal_in(tx, "profiles", profile.id).await);
    }
    let keep = match revoke {
        Revoke::Nothing => return Ok(()),
        Revoke::All => None,
        Revoke::AllExcept(d) => Some(d),
    };
    sqlx::query(REVOKE)
        .bind(profile.id)
        .bind(keep.as_ref().map(|d| d.0.as_slice()))
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

#[async_trait]
impl ProfileStore for PostgresStore {
    /// One `INSERT`: the `UNIQUE` constraints on the username, the id and the public key
    /// decide between concurrent creations (the loser gets `Conflict`).
    async fn create_profile(
        &self,
        profile: &ProfileRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO profiles {INSERT_VALUES} VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        bind_profile(sqlx::query(&sql), profile)?
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_profile(&self, id: Uuid) -> StoreResult<Option<ProfileRecord>> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::profile).transpose()
    }

    async fn get_profile_by_username(&self, username: &str) -> StoreResult<Option<ProfileRecord>> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE username = $1");
        let row = sqlx::query(&sql)
            .bind(username)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::profile).transpose()
    }

    /// One transaction: `UPDATE … WHERE version = $expected` (which takes the row lock),
    /// then the revocation as a second statement (see [`update_in`]).
    async fn update_profile(
        &self,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        update_in(&mut tx, profile, expected_version, revoke).await?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn list_devices(&self, owner: Uuid) -> StoreResult<Vec<ProfileRecord>> {
        let sql =
            format!("SELECT {PROFILE_COLUMNS} FROM profiles WHERE owner_id = $1 ORDER BY seq");
        let rows = sqlx::query(&sql)
            .bind(owner)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        rows.iter().map(codec::profile).collect()
    }

    /// One statement: the QR token is deleted (`DELETE … RETURNING`, if live and the
    /// owner's) and the device inserted from what it returned. Concurrent redemptions
    /// queue on the QR row; the first wins, the others find no row. If the insert fails
    /// (username taken) the whole statement, delete included, is undone; the command
    /// record is inserted in the same transaction.
    async fn create_device(
        &self,
        device: &ProfileRecord,
        qr: &TokenDigest,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let sql = format!(
            "WITH q AS (DELETE FROM qr_tokens \
                 WHERE digest = $17 AND owner_id = $8 AND expires_at > $18 RETURNING 1) \
             INSERT INTO profiles {INSERT_VALUES} \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM q"
        );
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = bind_profile(sqlx::query(&sql), device)?
            .bind(qr.0.as_slice())
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
}
