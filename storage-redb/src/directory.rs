//! [`DirectoryStore`] on [`RedbStore`]: directories, memberships and invitations, each
//! method one redb transaction (tables and layouts in [`crate::tables`] and
//! [`crate::codec`]). Writes take redb's single writer, so "check then write" inside one
//! method is atomic: of 32 registrations of one short name exactly one commits.

mod invitations;
mod members;

pub(crate) use invitations::InvitationTables;

use async_trait::async_trait;
use redb::{ReadableTable as _, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::profile::ProfileKind;
use tessera_core::store::{
    CommandRecord, Conflict, DirectoryMember, DirectoryRecord, DirectoryRole, DirectoryStore,
    InvitationRecord, MembershipLimits, MembershipRecord, ProfileRecord, Revoke, StoreError,
    StoreResult,
};
use uuid::Uuid;

use crate::codec;
use crate::commands;
use crate::error::{Failure, Fallible};
use crate::profiles::{create_profile, update_profile};
use crate::store::RedbStore;
use crate::tables as t;
use members::MemberTables;

#[async_trait]
impl DirectoryStore for RedbStore {
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, m, c) = (dir.clone(), owner.clone(), command.cloned());
        self.write(move |tx| {
            create_directory(tx, &d, &m, limits)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
        self.read(move |rx| members::directory_in(rx, id)).await
    }

    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, c) = (dir.clone(), command.cloned());
        self.write(move |tx| {
            {
                let mut m = MemberTables::open(tx)?;
                let stored = m.directory(d.id)?.ok_or(StoreError::NotFound)?;
                if stored.version != expected_version {
                    return Err(StoreError::VersionMismatch.into());
                }
                let mut new = d;
                new.short_name = stored.short_name;
                new.owner = stored.owner;
                new.created_at = stored.created_at;
                new.last_member_seq = stored.last_member_seq;
                m.put_directory(&new)?;
            }
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let c = command.cloned();
        self.write(move |tx| {
            let existed = remove_directory(tx, id)?;
            if existed {
                commands::record(tx, c.as_ref())?;
            }
            Ok(existed)
        })
        .await
    }

    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>> {
        self.read(move |rx| members::profile_directories(rx, profile))
            .await
    }

    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>> {
        self.read(move |rx| members::member_in(rx, directory, profile))
            .await
    }

    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>> {
        let ids = profiles.to_vec();
        self.read(move |rx| {
            let mut out = Vec::with_capacity(ids.len());
            for p in ids {
                if let Some(m) = members::member_in(rx, directory, p)? {
                    out.push(m);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>> {
        self.read(move |rx| members::members_after(rx, directory, after, limit))
            .await
    }

    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (p, m, c) = (profile.clone(), membership.clone(), command.cloned());
        self.write(move |tx| {
            if MemberTables::open(tx)?.directory(m.directory_id)?.is_none() {
                return Err(StoreError::NotFound.into());
            }
            create_profile(tx, &p)?;
            MemberTables::open(tx)?.insert_member(&m)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (m, c) = (m.clone(), command.cloned());
        self.write(move |tx| {
            {
                let mut tables = MemberTables::open(tx)?;
                let stored = tables
                    .membership(m.directory_id, m.profile_id)?
                    .ok_or(StoreError::NotFound)?;
                if stored.version != expected_version {
                    return Err(StoreError::VersionMismatch.into());
                }
                if (stored.role == DirectoryRole::Owner) != (m.role == DirectoryRole::Owner) {
                    return Err(StoreError::Conflict(Conflict::Owner).into());
                }
                let mut new = m;
                new.created_by_directory = stored.created_by_directory;
                new.joined_at = stored.joined_at;
                new.seq = stored.seq;
                tables.put_membership(&new)?;
                tables.by_profile.insert(
                    &members::pair(new.profile_id, new.directory_id),
                    new.role.tag(),
                )?;
            }
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let c = command.cloned();
        self.write(move |tx| {
            {
                let mut tables = MemberTables::open(tx)?;
                match tables.membership(directory, profile)? {
                    None => return Ok(false),
                    Some(m) if m.role == DirectoryRole::Owner => {
                        return Err(StoreError::Conflict(Conflict::Owner).into());
                    }
                    Some(_) => {}
                }
                tables.remove_member(directory, profile)?;
            }
            commands::record(tx, c.as_ref())?;
            Ok(true)
        })
        .await
    }

    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (p, c) = (profile.clone(), command.cloned());
        self.write(move |tx| {
            let created = MemberTables::open(tx)?
                .membership(directory, p.id)?
                .is_some_and(|m| m.created_by_directory);
            if !created {
                return Err(StoreError::NotFound.into());
            }
            update_profile(tx, &p, expected_version, revoke)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        max_pending: usize,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (i, c) = (invitation.clone(), command.cloned());
        self.write(move |tx| {
            create_invitation(tx, &i, max_pending, now)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
        self.read(move |rx| invitations::invitation_in(rx, id))
            .await
    }

    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        self.read(move |rx| invitations::listed(rx, t::INVITATIONS_BY_DIRECTORY, directory))
            .await
    }

    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>> {
        self.read(move |rx| invitations::listed(rx, t::INVITATIONS_BY_PROFILE, profile))
            .await
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (m, c) = (membership.clone(), command.cloned());
        self.write(move |tx| {
            accept_invitation(tx, id, &m, limits, now)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn decline_invitation(
        &self,
        id: Uuid,
        profile: Uuid,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let c = command.cloned();
        self.write(move |tx| {
            let live = InvitationTables::open(tx)?
                .invitation(id)?
                .is_some_and(|i| i.expires_at > now && i.invitee == Some(profile));
            if !live {
                return Ok(false);
            }
            remove_invitation(tx, id)?;
            commands::record(tx, c.as_ref())?;
            Ok(true)
        })
        .await
    }
}

/// The owner profile must be a stored user.
fn require_user(tx: &WriteTransaction, id: Uuid) -> Fallible<()> {
    let profiles = tx.open_table(t::PROFILES)?;
    let v = profiles.get(id.as_bytes())?.ok_or(StoreError::NotFound)?;
    let p = codec::decode_profile(id, v.value())
        .map_err(|e| Failure::decode("profiles", id.as_bytes(), e))?;
    if p.kind == ProfileKind::User {
        Ok(())
    } else {
        Err(StoreError::NotFound.into())
    }
}

fn create_directory(
    tx: &WriteTransaction,
    d: &DirectoryRecord,
    owner: &MembershipRecord,
    limits: MembershipLimits,
) -> Fallible<()> {
    require_user(tx, d.owner)?;
    let mut m = MemberTables::open(tx)?;
    if m.short_names.get(d.short_name.as_str())?.is_some() {
        return Err(StoreError::Conflict(Conflict::ShortName).into());
    }
    if m.directory(d.id)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    m.check_limits(d.owner, DirectoryRole::Owner, limits)?;
    m.short_names
        .insert(d.short_name.as_str(), d.id.as_bytes())?;
    let mut stored = d.clone();
    stored.last_member_seq = 0;
    m.put_directory(&stored)?;
    m.insert_member(owner)
}

/// Delete invitation `id` with its indexes and its `expiry` entry.
fn remove_invitation(tx: &WriteTransaction, id: Uuid) -> Fallible<()> {
    if let Some(i) = InvitationTables::open(tx)?.take(id)? {
        tx.open_table(t::EXPIRY)?
            .remove(&invitations::expiry_key(&i))?;
    }
    Ok(())
}

fn remove_directory(tx: &WriteTransaction, id: Uuid) -> Fallible<bool> {
    {
        let mut m = MemberTables::open(tx)?;
        let Some(d) = m.directory(id)? else {
            return Ok(false);
        };
        for profile in m.member_ids(id)? {
            m.remove_member(id, profile)?;
        }
        m.short_names.remove(d.short_name.as_str())?;
        m.directories.remove(id.as_bytes())?;
    }
    let pending = InvitationTables::open(tx)?.of_directory(id)?;
    for inv in pending {
        remove_invitation(tx, inv)?;
    }
    Ok(true)
}

fn create_invitation(
    tx: &WriteTransaction,
    i: &InvitationRecord,
    max_pending: usize,
    now: Timestamp,
) -> Fallible<()> {
    if MemberTables::open(tx)?.directory(i.directory_id)?.is_none() {
        return Err(StoreError::NotFound.into());
    }
    {
        let mut inv = InvitationTables::open(tx)?;
        if inv.invitation(i.id)?.is_some() {
            return Err(StoreError::Conflict(Conflict::Exists).into());
        }
        if inv.live(i.directory_id, now)? >= max_pending {
            return Err(StoreError::Conflict(Conflict::Limit).into());
        }
        inv.insert(i)?;
    }
    tx.open_table(t::EXPIRY)?
        .insert(&invitations::expiry_key(i), ())?;
    Ok(())
}

fn accept_invitation(
    tx: &WriteTransaction,
    id: Uuid,
    m: &MembershipRecord,
    limits: MembershipLimits,
    now: Timestamp,
) -> Fallible<()> {
    let live = InvitationTables::open(tx)?
        .invitation(id)?
        .is_some_and(|i| {
            i.expires_at > now
                && i.invitee == Some(m.profile_id)
                && i.directory_id == m.directory_id
        });
    {
        let tables = MemberTables::open(tx)?;
        if !live || tables.directory(m.directory_id)?.is_none() {
            return Err(StoreError::NotFound.into());
        }
        if tables.membership(m.directory_id, m.profile_id)?.is_some() {
            return Err(StoreError::Conflict(Conflict::Exists).into());
        }
        tables.check_limits(m.profile_id, m.role, limits)?;
    }
    remove_invitation(tx, id)?;
    MemberTables::open(tx)?.insert_member(m)
}
