//! `DirectoryStore` on the in-memory maps: directories with a short-name index, memberships
//! by (directory, profile) with the listing order and a per-profile index, invitations.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use uuid::Uuid;

use super::{Inner, MemoryStore};
use crate::clock::Timestamp;
use crate::profile::ProfileKind;
use crate::store::{
    CommandRecord, Conflict, DirectoryMember, DirectoryRecord, DirectoryRole, DirectoryStore,
    InvitationRecord, MembershipLimits, MembershipRecord, ProfileRecord, Revoke, StoreError,
    StoreResult,
};

/// The directory maps of [`Inner`].
#[derive(Debug, Default)]
pub(super) struct Maps {
    directories: HashMap<Uuid, DirectoryRecord>,
    short_names: HashMap<String, Uuid>,
    /// (directory, profile) → membership.
    members: HashMap<(Uuid, Uuid), MembershipRecord>,
    /// (directory, seq) → profile: the listing order of each directory's members.
    order: BTreeMap<(Uuid, u64), Uuid>,
    /// profile → the directories it is a member of.
    by_profile: HashMap<Uuid, BTreeSet<Uuid>>,
    invitations: HashMap<Uuid, InvitationRecord>,
}

impl Maps {
    /// Check the bounds of a new membership of `profile` (of role `role`).
    fn check_limits(
        &self,
        profile: Uuid,
        role: DirectoryRole,
        limits: MembershipLimits,
    ) -> StoreResult<()> {
        let dirs = self.by_profile.get(&profile);
        let count = dirs.map_or(0, BTreeSet::len);
        let owned = dirs.map_or(0, |d| {
            d.iter()
                .filter(|dir| {
                    self.members
                        .get(&(**dir, profile))
                        .is_some_and(|m| m.role == DirectoryRole::Owner)
                })
                .count()
        });
        if count >= limits.memberships_per_profile
            || (role == DirectoryRole::Owner && owned >= limits.owned_per_profile)
        {
            return Err(StoreError::Conflict(Conflict::Limit));
        }
        Ok(())
    }

    /// Insert a membership with its directory's next `seq` and index it (the caller checked
    /// that the directory exists and the membership is new).
    fn insert_member(&mut self, m: &MembershipRecord) {
        let Some(dir) = self.directories.get_mut(&m.directory_id) else {
            return;
        };
        dir.last_member_seq += 1;
        let mut m = m.clone();
        m.seq = dir.last_member_seq;
        self.order.insert((m.directory_id, m.seq), m.profile_id);
        self.by_profile
            .entry(m.profile_id)
            .or_default()
            .insert(m.directory_id);
        self.members.insert((m.directory_id, m.profile_id), m);
    }

    /// Delete at most `limit` invitations with `expires_at <= now`; returns how many.
    pub(super) fn purge_invitations(&mut self, now: Timestamp, limit: usize) -> usize {
        let expired: Vec<Uuid> = self
            .invitations
            .values()
            .filter(|i| i.expires_at <= now)
            .map(|i| i.id)
            .take(limit)
            .collect();
        for id in &expired {
            self.invitations.remove(id);
        }
        expired.len()
    }

    /// Delete a membership and its index entries.
    fn remove_member(&mut self, directory: Uuid, profile: Uuid) -> Option<MembershipRecord> {
        let m = self.members.remove(&(directory, profile))?;
        self.order.remove(&(directory, m.seq));
        if let Some(set) = self.by_profile.get_mut(&profile) {
            set.remove(&directory);
            if set.is_empty() {
                self.by_profile.remove(&profile);
            }
        }
        Some(m)
    }
}

impl Inner {
    /// A membership with its profile's username and state.
    fn member_view(&self, m: &MembershipRecord) -> Option<DirectoryMember> {
        let p = self.profiles.get(&m.profile_id)?;
        Some(DirectoryMember {
            membership: m.clone(),
            username: p.username.clone(),
            state: p.state,
        })
    }
}

#[async_trait]
impl DirectoryStore for MemoryStore {
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if !g
            .profiles
            .get(&dir.owner)
            .is_some_and(|p| p.kind == ProfileKind::User)
        {
            return Err(StoreError::NotFound);
        }
        let d = &mut g.directories;
        if d.short_names.contains_key(&dir.short_name) {
            return Err(StoreError::Conflict(Conflict::ShortName));
        }
        if d.directories.contains_key(&dir.id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        d.check_limits(dir.owner, DirectoryRole::Owner, limits)?;
        d.short_names.insert(dir.short_name.clone(), dir.id);
        let mut stored = dir.clone();
        stored.last_member_seq = 0;
        d.directories.insert(dir.id, stored);
        d.insert_member(owner);
        g.record(command);
        Ok(())
    }

    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
        Ok(self.read().directories.directories.get(&id).cloned())
    }

    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let stored = g
            .directories
            .directories
            .get_mut(&dir.id)
            .ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        let mut new = dir.clone();
        new.short_name.clone_from(&stored.short_name);
        new.owner = stored.owner;
        new.created_at = stored.created_at;
        new.last_member_seq = stored.last_member_seq;
        *stored = new;
        g.record(command);
        Ok(())
    }

    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        let d = &mut g.directories;
        let Some(dir) = d.directories.remove(&id) else {
            return Ok(false);
        };
        d.short_names.remove(&dir.short_name);
        let members: Vec<Uuid> = d
            .order
            .range((id, 0)..=(id, u64::MAX))
            .map(|(_, p)| *p)
            .collect();
        for p in members {
            d.remove_member(id, p);
        }
        d.invitations.retain(|_, i| i.directory_id != id);
        g.record(command);
        Ok(true)
    }

    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>> {
        let g = self.read();
        let d = &g.directories;
        let mut out: Vec<(DirectoryRecord, MembershipRecord)> = d
            .by_profile
            .get(&profile)
            .into_iter()
            .flatten()
            .filter_map(|dir| {
                Some((
                    d.directories.get(dir)?.clone(),
                    d.members.get(&(*dir, profile))?.clone(),
                ))
            })
            .collect();
        out.sort_by_key(|(dir, m)| (m.joined_at, dir.id));
        Ok(out)
    }

    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>> {
        let g = self.read();
        Ok(g.directories
            .members
            .get(&(directory, profile))
            .and_then(|m| g.member_view(m)))
    }

    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>> {
        let g = self.read();
        Ok(profiles
            .iter()
            .filter_map(|p| g.directories.members.get(&(directory, *p)))
            .filter_map(|m| g.member_view(m))
            .collect())
    }

    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>> {
        let g = self.read();
        let d = &g.directories;
        if after == u64::MAX {
            return Ok(Vec::new());
        }
        Ok(d.order
            .range((directory, after + 1)..=(directory, u64::MAX))
            .take(limit)
            .filter_map(|(_, p)| d.members.get(&(directory, *p)))
            .filter_map(|m| g.member_view(m))
            .collect())
    }

    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if !g
            .directories
            .directories
            .contains_key(&membership.directory_id)
        {
            return Err(StoreError::NotFound);
        }
        g.insert_profile(profile)?;
        g.directories.insert_member(membership);
        g.record(command);
        Ok(())
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let stored = g
            .directories
            .members
            .get_mut(&(m.directory_id, m.profile_id))
            .ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        if (stored.role == DirectoryRole::Owner) != (m.role == DirectoryRole::Owner) {
            return Err(StoreError::Conflict(Conflict::Owner));
        }
        let mut new = m.clone();
        new.created_by_directory = stored.created_by_directory;
        new.joined_at = stored.joined_at;
        new.seq = stored.seq;
        *stored = new;
        g.record(command);
        Ok(())
    }

    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        match g.directories.members.get(&(directory, profile)) {
            None => return Ok(false),
            Some(m) if m.role == DirectoryRole::Owner => {
                return Err(StoreError::Conflict(Conflict::Owner));
            }
            Some(_) => {}
        }
        g.directories.remove_member(directory, profile);
        g.record(command);
        Ok(true)
    }

    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if !g
            .directories
            .members
            .get(&(directory, profile.id))
            .is_some_and(|m| m.created_by_directory)
        {
            return Err(StoreError::NotFound);
        }
        g.update_profile(profile, expected_version, revoke)?;
        g.record(command);
        Ok(())
    }

    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        max_pending: usize,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let d = &mut g.directories;
        if !d.directories.contains_key(&invitation.directory_id) {
            return Err(StoreError::NotFound);
        }
        if d.invitations.contains_key(&invitation.id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        let pending = d
            .invitations
            .values()
            .filter(|i| i.directory_id == invitation.directory_id && i.expires_at > now)
            .count();
        if pending >= max_pending {
            return Err(StoreError::Conflict(Conflict::Limit));
        }
        d.invitations.insert(invitation.id, invitation.clone());
        g.record(command);
        Ok(())
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
        Ok(self.read().directories.invitations.get(&id).cloned())
    }

    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        let mut out: Vec<InvitationRecord> = self
            .read()
            .directories
            .invitations
            .values()
            .filter(|i| i.directory_id == directory)
            .cloned()
            .collect();
        out.sort_by_key(|i| (i.created_at, i.id));
        Ok(out)
    }

    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>> {
        let mut out: Vec<InvitationRecord> = self
            .read()
            .directories
            .invitations
            .values()
            .filter(|i| i.invitee == Some(profile))
            .cloned()
            .collect();
        out.sort_by_key(|i| (i.created_at, i.id));
        Ok(out)
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let d = &mut g.directories;
        match d.invitations.get(&id) {
            Some(i)
                if i.expires_at > now
                    && i.invitee == Some(membership.profile_id)
                    && i.directory_id == membership.directory_id
                    && d.directories.contains_key(&i.directory_id) => {}
            _ => return Err(StoreError::NotFound),
        }
        if d.members
            .contains_key(&(membership.directory_id, membership.profile_id))
        {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        d.check_limits(membership.profile_id, membership.role, limits)?;
        d.invitations.remove(&id);
        d.insert_member(membership);
        g.record(command);
        Ok(())
    }

    async fn decline_invitation(
        &self,
        id: Uuid,
        profile: Uuid,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        let d = &mut g.directories;
        if !d
            .invitations
            .get(&id)
            .is_some_and(|i| i.expires_at > now && i.invitee == Some(profile))
        {
            return Ok(false);
        }
        d.invitations.remove(&id);
        g.record(command);
        Ok(true)
    }
}
