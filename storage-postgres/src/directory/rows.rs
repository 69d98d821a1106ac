//! Directory records ↔ columns of the tables of migration 4: the column lists and the row
//! decoders (an unknown role number or a negative counter is `Corrupt`, never a panic).

use sqlx::Row;
use sqlx::postgres::PgRow;
use tessera_core::store::{
    DirectoryMember, DirectoryRecord, DirectoryRole, InvitationRecord, MembershipRecord,
    StoreResult,
};
use tessera_core::{ProfileState, Timestamp};
use uuid::Uuid;

use crate::error::{corrupt, from_sqlx};

/// The columns of `directories d` that [`directory`] reads.
pub(super) const DIRECTORY_COLUMNS: &str = "d.id AS d_id, d.name AS d_name, \
    d.short_name AS d_short_name, d.owner_id AS d_owner_id, d.meta AS d_meta, \
    d.created_at AS d_created_at, d.updated_at AS d_updated_at, d.version AS d_version, \
    d.last_member_seq AS d_last_member_seq";

/// The columns of `directory_memberships m` that [`membership`] reads.
pub(super) const MEMBERSHIP_COLUMNS: &str = "m.directory_id, m.profile_id, m.role, \
    m.given_name, m.family_name, m.meta, m.created_by_directory, m.joined_at, m.seq, m.version";

/// [`MEMBERSHIP_COLUMNS`] and the profile's `p.username` and `p.state`: what [`member`]
/// reads.
pub(super) const MEMBER_COLUMNS: &str = "m.directory_id, m.profile_id, m.role, \
    m.given_name, m.family_name, m.meta, m.created_by_directory, m.joined_at, m.seq, \
    m.version, p.username, p.state";

/// The columns of `directory_invitations` that [`invitation`] reads.
pub(super) const INVITATION_COLUMNS: &str =
    "id, directory_id, username, invitee_id, role, invited_by, created_at, expires_at";

fn get<'r, T>(row: &'r PgRow, column: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(from_sqlx)
}

fn counter(n: i64, table: &str, key: impl std::fmt::Display, what: &str) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| corrupt(table, key, format!("negative {what} {n}")))
}

/// A role as stored: core's [`DirectoryRole::tag`] as `smallint`.
pub(super) fn role_to_i16(r: DirectoryRole) -> i16 {
    i16::from(r.tag())
}

fn role(row: &PgRow, table: &str, key: impl std::fmt::Display) -> StoreResult<DirectoryRole> {
    let n: i16 = get(row, "role")?;
    u8::try_from(n)
        .ok()
        .and_then(DirectoryRole::from_tag)
        .ok_or_else(|| corrupt(table, key, format!("unknown directory role {n}")))
}

/// A `directories d` row (columns [`DIRECTORY_COLUMNS`]).
pub(super) fn directory(row: &PgRow) -> StoreResult<DirectoryRecord> {
    let id: Uuid = get(row, "d_id")?;
    Ok(DirectoryRecord {
        id,
        name: get(row, "d_name")?,
        short_name: get(row, "d_short_name")?,
        owner: get(row, "d_owner_id")?,
        meta: get(row, "d_meta")?,
        created_at: Timestamp(get(row, "d_created_at")?),
        updated_at: Timestamp(get(row, "d_updated_at")?),
        version: counter(get(row, "d_version")?, "directories", id, "version")?,
        last_member_seq: counter(
            get(row, "d_last_member_seq")?,
            "directories",
            id,
            "member seq",
        )?,
    })
}

/// A `directory_memberships m` row (columns [`MEMBERSHIP_COLUMNS`]).
pub(super) fn membership(row: &PgRow) -> StoreResult<MembershipRecord> {
    let (directory_id, profile_id): (Uuid, Uuid) =
        (get(row, "directory_id")?, get(row, "profile_id")?);
    let key = format!("({directory_id}, {profile_id})");
    Ok(MembershipRecord {
        directory_id,
        profile_id,
        role: role(row, "directory_memberships", &key)?,
        given_name: get(row, "given_name")?,
        family_name: get(row, "family_name")?,
        meta: get(row, "meta")?,
        created_by_directory: get(row, "created_by_directory")?,
        joined_at: Timestamp(get(row, "joined_at")?),
        seq: counter(get(row, "seq")?, "directory_memberships", &key, "seq")?,
        version: counter(
            get(row, "version")?,
            "directory_memberships",
            &key,
            "version",
        )?,
    })
}

/// A membership with its profile (columns [`MEMBER_COLUMNS`]).
pub(super) fn member(row: &PgRow) -> StoreResult<DirectoryMember> {
    let membership = membership(row)?;
    let state: i16 = get(row, "state")?;
    let state = u8::try_from(state)
        .ok()
        .and_then(ProfileState::from_tag)
        .ok_or_else(|| {
            corrupt(
                "profiles",
                membership.profile_id,
                format!("unknown state {state}"),
            )
        })?;
    Ok(DirectoryMember {
        membership,
        username: get(row, "username")?,
        state,
    })
}

/// A `directory_invitations` row (columns [`INVITATION_COLUMNS`]).
pub(super) fn invitation(row: &PgRow) -> StoreResult<InvitationRecord> {
    let id: Uuid = get(row, "id")?;
    Ok(InvitationRecord {
        id,
        directory_id: get(row, "directory_id")?,
        username: get(row, "username")?,
        invitee: get(row, "invitee_id")?,
        role: role(row, "directory_invitations", id)?,
        invited_by: get(row, "invited_by")?,
        created_at: Timestamp(get(row, "created_at")?),
        expires_at: Timestamp(get(row, "expires_at")?),
    })
}
