//! [`DirectoryStore`] on PostgreSQL (the tables of migration 4).
//!
//! - Short names are unique by `directories_short_name_key`; memberships by their primary
//!   key (directory, profile).
//! - A membership's `seq` comes from `UPDATE directories SET last_member_seq =
//!   last_member_seq + 1 … RETURNING`, in the transaction that inserts it: the row lock
//!   orders the joins of one directory, and a directory removed meanwhile makes the join
//!   `NotFound`.
//! - The bounds of a profile's memberships are counted under a transaction-scoped advisory
//!   lock on that profile, so two joins of one profile cannot both pass the count; the live
//!   invitations of a directory are counted with its row locked `FOR UPDATE`.
//! - An invitation is spent by one `DELETE … RETURNING`: of concurrent accepts one deletes
//!   it, the others find it gone.
//! - Removing a directory is one `DELETE`; the cascades take its memberships and
//!   invitations.

mod rows;

use async_trait::async_trait;
use sqlx::postgres::PgConnection;
use tessera_core::Timestamp;
use tessera_core::store::{
    CommandRecord, Conflict, DirectoryMember, DirectoryRecord, DirectoryRole, DirectoryStore,
    InvitationRecord, MembershipLimits, MembershipRecord, ProfileRecord, Revoke, StoreError,
    StoreResult,
};
use uuid::Uuid;

use crate::codec::{kind_to_i16, to_i64};
use crate::commands;
use crate::error::{from_sqlx, version_refusal_in};
use crate::profiles::{INSERT_VALUES, bind_profile, update_in};
use crate::store::PostgresStore;
use rows::{
    DIRECTORY_COLUMNS, INVITATION_COLUMNS, MEMBER_COLUMNS, MEMBERSHIP_COLUMNS, role_to_i16,
};

/// The first key of the advisory locks taken on a profile's memberships ("td").
const LOCK_SPACE: i32 = 0x7464;

/// Serialise, until the end of `tx`, the membership writes of `profile` that check its
/// bounds.
async fn lock_memberships(tx: &mut PgConnection, profile: Uuid) -> StoreResult<()> {
    let b = profile.as_bytes();
    let key = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind(LOCK_SPACE)
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    Ok(())
}

/// `Conflict(Limit)` if `profile` may not take one more membership of `role` (the caller
/// holds [`lock_memberships`]).
async fn check_limits(
    tx: &mut PgConnection,
    profile: Uuid,
    role: DirectoryRole,
    limits: MembershipLimits,
) -> StoreResult<()> {
    let (count, owned): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE role = 1) \
         FROM directory_memberships WHERE profile_id = $1",
    )
    .bind(profile)
    .fetch_one(&mut *tx)
    .await
    .map_err(from_sqlx)?;
    let over = |n: i64, max: usize| usize::try_from(n).map_or(true, |n| n >= max);
    if over(count, limits.memberships_per_profile)
        || (role == DirectoryRole::Owner && over(owned, limits.owned_per_profile))
    {
        return Err(StoreError::Conflict(Conflict::Limit));
    }
    Ok(())
}

/// Insert `m` with its directory's next `seq` (`NotFound` without the directory).
async fn insert_member(tx: &mut PgConnection, m: &MembershipRecord) -> StoreResult<()> {
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE directories SET last_member_seq = last_member_seq + 1 WHERE id = $1 \
         RETURNING last_member_seq",
    )
    .bind(m.directory_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(from_sqlx)?;
    let seq = seq.ok_or(StoreError::NotFound)?;
    sqlx::query(
        "INSERT INTO directory_memberships (directory_id, profile_id, role, given_name, \
         family_name, meta, created_by_directory, joined_at, seq, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(m.directory_id)
    .bind(m.profile_id)
    .bind(role_to_i16(m.role))
    .bind(m.given_name.as_deref())
    .bind(m.family_name.as_deref())
    .bind(m.meta.as_deref())
    .bind(m.created_by_directory)
    .bind(m.joined_at.0)
    .bind(seq)
    .bind(to_i64(m.version, "membership version")?)
    .execute(&mut *tx)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// The membership of `profile` in `dir`, locked `FOR UPDATE`.
async fn locked_membership(
    tx: &mut PgConnection,
    dir: Uuid,
    profile: Uuid,
) -> StoreResult<Option<MembershipRecord>> {
    let sql = format!(
        "SELECT {MEMBERSHIP_COLUMNS} FROM directory_memberships m \
         WHERE m.directory_id = $1 AND m.profile_id = $2 FOR UPDATE"
    );
    let row = sqlx::query(&sql)
        .bind(dir)
        .bind(profile)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
    row.as_ref().map(rows::membership).transpose()
}

impl PostgresStore {
    async fn members_where(
        &self,
        condition: &str,
        bind: impl FnOnce(
            sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
        )
            -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> StoreResult<Vec<DirectoryMember>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM directory_memberships m \
             JOIN profiles p ON p.id = m.profile_id WHERE {condition}"
        );
        let found = bind(sqlx::query(&sql))
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        found.iter().map(rows::member).collect()
    }

    async fn invitations_where(
        &self,
        condition: &str,
        id: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        let sql = format!(
            "SELECT {INVITATION_COLUMNS} FROM directory_invitations WHERE {condition} \
             ORDER BY created_at, id"
        );
        let found = sqlx::query(&sql)
            .bind(id)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        found.iter().map(rows::invitation).collect()
    }
}

#[async_trait]
impl DirectoryStore for PostgresStore {
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        lock_memberships(&mut tx, dir.owner).await?;
        let is_user: Option<i16> = sqlx::query_scalar("SELECT kind FROM profiles WHERE id = $1")
            .bind(dir.owner)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if is_user != Some(kind_to_i16(tessera_core::ProfileKind::User)) {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "INSERT INTO directories (id, name, short_name, owner_id, meta, created_at, \
             updated_at, version, last_member_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)",
        )
        .bind(dir.id)
        .bind(dir.name.as_str())
        .bind(dir.short_name.as_str())
        .bind(dir.owner)
        .bind(dir.meta.as_deref())
        .bind(dir.created_at.0)
        .bind(dir.updated_at.0)
        .bind(to_i64(dir.version, "directory version")?)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        check_limits(&mut tx, dir.owner, DirectoryRole::Owner, limits).await?;
        insert_member(&mut tx, owner).await?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
        let sql = format!("SELECT {DIRECTORY_COLUMNS} FROM directories d WHERE d.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(rows::directory).transpose()
    }

    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = sqlx::query(
            "UPDATE directories SET name = $2, meta = $3, updated_at = $4, version = $5 \
             WHERE id = $1 AND version = $6",
        )
        .bind(dir.id)
        .bind(dir.name.as_str())
        .bind(dir.meta.as_deref())
        .bind(dir.updated_at.0)
        .bind(to_i64(dir.version, "directory version")?)
        .bind(to_i64(expected_version, "directory version")?)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Err(version_refusal_in(&mut tx, "directories", dir.id).await);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = sqlx::query("DELETE FROM directories WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>> {
        let sql = format!(
            "SELECT {DIRECTORY_COLUMNS}, {MEMBERSHIP_COLUMNS} FROM directory_memberships m \
             JOIN directories d ON d.id = m.directory_id WHERE m.profile_id = $1 \
             ORDER BY m.joined_at, d.id"
        );
        let found = sqlx::query(&sql)
            .bind(profile)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        found
            .iter()
            .map(|r| Ok((rows::directory(r)?, rows::membership(r)?)))
            .collect()
    }

    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>> {
        let mut found = self
            .members_where("m.directory_id = $1 AND m.profile_id = $2", |q| {
                q.bind(directory).bind(profile)
            })
            .await?;
        Ok(found.pop())
    }

    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>> {
        let ids = profiles.to_vec();
        let found = self
            .members_where("m.directory_id = $1 AND m.profile_id = ANY($2)", |q| {
                q.bind(directory).bind(ids)
            })
            .await?;
        Ok(profiles
            .iter()
            .filter_map(|p| found.iter().find(|m| m.membership.profile_id == *p))
            .cloned()
            .collect())
    }

    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.members_where(
            "m.directory_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3",
            |q| q.bind(directory).bind(after).bind(limit),
        )
        .await
    }

    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let exists = sqlx::query("SELECT 1 FROM directories WHERE id = $1")
            .bind(membership.directory_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let sql = format!(
            "INSERT INTO profiles {INSERT_VALUES} VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        bind_profile(sqlx::query(&sql), profile)?
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        insert_member(&mut tx, membership).await?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let stored = locked_membership(&mut tx, m.directory_id, m.profile_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        if (stored.role == DirectoryRole::Owner) != (m.role == DirectoryRole::Owner) {
            return Err(StoreError::Conflict(Conflict::Owner));
        }
        sqlx::query(
            "UPDATE directory_memberships SET role = $3, given_name = $4, family_name = $5, \
             meta = $6, version = $7 WHERE directory_id = $1 AND profile_id = $2",
        )
        .bind(m.directory_id)
        .bind(m.profile_id)
        .bind(role_to_i16(m.role))
        .bind(m.given_name.as_deref())
        .bind(m.family_name.as_deref())
        .bind(m.meta.as_deref())
        .bind(to_i64(m.version, "membership version")?)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        match locked_membership(&mut tx, directory, profile).await? {
            None => return Ok(false),
            Some(m) if m.role == DirectoryRole::Owner => {
                return Err(StoreError::Conflict(Conflict::Owner));
            }
            Some(_) => {}
        }
        sqlx::query(
            "DELETE FROM directory_memberships WHERE directory_id = $1 AND profile_id = $2",
        )
        .bind(directory)
        .bind(profile)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    /// The membership row is held `FOR SHARE` (a removal waits) while the profile is
    /// updated exactly as `update_profile` does.
    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let created: Option<bool> = sqlx::query_scalar(
            "SELECT created_by_directory FROM directory_memberships \
             WHERE directory_id = $1 AND profile_id = $2 FOR SHARE",
        )
        .bind(directory)
        .bind(profile.id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if created != Some(true) {
            return Err(StoreError::NotFound);
        }
        update_in(&mut tx, profile, expected_version, revoke).await?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        max_pending: usize,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let exists = sqlx::query("SELECT 1 FROM directories WHERE id = $1 FOR UPDATE")
            .bind(invitation.directory_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
        let taken = sqlx::query("SELECT 1 FROM directory_invitations WHERE id = $1")
            .bind(invitation.id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if taken.is_some() {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        let live: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM directory_invitations WHERE directory_id = $1 AND expires_at > $2",
        )
        .bind(invitation.directory_id)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if usize::try_from(live).map_or(true, |n| n >= max_pending) {
            return Err(StoreError::Conflict(Conflict::Limit));
        }
        sqlx::query(
            "INSERT INTO directory_invitations (id, directory_id, username, invitee_id, role, \
             invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invitation.id)
        .bind(invitation.directory_id)
        .bind(invitation.username.as_str())
        .bind(invitation.invitee)
        .bind(role_to_i16(invitation.role))
        .bind(invitation.invited_by)
        .bind(invitation.created_at.0)
        .bind(invitation.expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
        let mut found = self.invitations_where("id = $1", id).await?;
        Ok(found.pop())
    }

    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        self.invitations_where("directory_id = $1", directory).await
    }

    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>> {
        self.invitations_where("invitee_id = $1", profile).await
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let m = membership;
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        lock_memberships(&mut tx, m.profile_id).await?;
        let spent = sqlx::query(
            "DELETE FROM directory_invitations WHERE id = $1 AND invitee_id = $2 \
             AND directory_id = $3 AND expires_at > $4",
        )
        .bind(id)
        .bind(m.profile_id)
        .bind(m.directory_id)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if spent.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let member = sqlx::query(
            "SELECT 1 FROM directory_memberships WHERE directory_id = $1 AND profile_id = $2",
        )
        .bind(m.directory_id)
        .bind(m.profile_id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if member.is_some() {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        check_limits(&mut tx, m.profile_id, m.role, limits).await?;
        insert_member(&mut tx, m).await?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn decline_invitation(
        &self,
        id: Uuid,
        profile: Uuid,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let done = sqlx::query(
            "DELETE FROM directory_invitations WHERE id = $1 AND invitee_id = $2 \
             AND expires_at > $3",
        )
        .bind(id)
        .bind(profile)
        .bind(now.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }
}
