//! [`DirectoryStore`] on [`SledStore`]: directories, memberships and invitations.
//!
//! Every write is one multi-tree transaction, run under the store's `directory_writes`
//! lock: the bounds (memberships of a profile, live invitations of a directory) and the
//! removal of a directory need scans, which a sled transaction cannot make, and with every
//! writer of the directory trees holding the lock, a scan made under it is current when the
//! transaction runs. (The purge deletes expired invitations without the lock; it only ever
//! removes what the scans here skip or tolerate missing.) Reads are point reads and scans
//! outside any transaction, as in the other files.

mod tx;

pub(crate) use tx::InvitationTx;

use std::sync::PoisonError;

use async_trait::async_trait;
use sled::Transactional;
use tessera_core::Timestamp;
use tessera_core::profile::ProfileKind;
use tessera_core::store::{
    CommandRecord, Conflict, DirectoryMember, DirectoryRecord, DirectoryRole, DirectoryStore,
    InvitationRecord, MembershipLimits, MembershipRecord, ProfileRecord, Revoke, StoreError,
    StoreResult,
};
use uuid::Uuid;

use crate::codec::{
    decode_directory, decode_invitation, decode_membership, decode_profile, encode_profile,
};
use crate::commands::{self, Encoded};
use crate::error::{Abort, abort, abort_corrupt, finish, from_sled, from_tx};
use crate::profiles::{ProfileTx, UpdateTx, insert_profile, scan_for_revoke, update_profile_tx};
use crate::revoke::{RevokeTx, with_retry};
use crate::store::{Inner, SledStore, read};
use crate::token_index::TokenTx;
use crate::trees::id_pair;
use tx::{MemberTx, check_limits, ids_under, live_invitations, seq_key};

impl SledStore {
    /// Run a directory write under `directory_writes` (see the module docs).
    async fn directory_write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        self.write(move |db: &Inner| {
            let _only = db
                .directory_writes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(db)
        })
        .await
    }
}

/// The membership of `profile` in `dir` with its profile's username and state.
fn member(db: &Inner, dir: Uuid, profile: Uuid) -> StoreResult<Option<DirectoryMember>> {
    let key = id_pair(dir, profile);
    let Some(membership) = read(&db.t.memberships, "memberships", &key, |b| {
        decode_membership(dir, profile, b)
    })?
    else {
        return Ok(None);
    };
    let Some(p) = read(
        &db.t.profiles,
        "profiles",
        profile.as_bytes(),
        decode_profile,
    )?
    else {
        return Ok(None);
    };
    Ok(Some(DirectoryMember {
        membership,
        username: p.username,
        state: p.state,
    }))
}

fn directory(db: &Inner, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
    read(&db.t.directories, "directories", id.as_bytes(), |b| {
        decode_directory(id, b)
    })
}

fn invitation(db: &Inner, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
    read(&db.t.invitations, "invitations", id.as_bytes(), |b| {
        decode_invitation(id, b)
    })
}

/// The invitations listed in `tree` under `owner`, by creation time then id.
fn invitations_under(
    db: &Inner,
    tree: &sled::Tree,
    name: &str,
    owner: Uuid,
) -> StoreResult<Vec<InvitationRecord>> {
    let mut out = Vec::new();
    for id in ids_under(tree, name, owner)? {
        if let Some(i) = invitation(db, id)? {
            out.push(i);
        }
    }
    out.sort_by_key(|i| (i.created_at, i.id));
    Ok(out)
}

#[async_trait]
impl DirectoryStore for SledStore {
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, m, c) = (dir.clone(), owner.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            check_limits(db, d.owner, DirectoryRole::Owner, limits)?;
            let t = &db.t;
            let trees = (
                &t.profiles,
                &t.short_names,
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(
                    profiles,
                    short_names,
                    directories,
                    memberships,
                    by_seq,
                    by_profile,
                    cmds,
                    expiry,
                )| {
                    let owner_key = d.owner.as_bytes();
                    let is_user = match profiles.get(owner_key)? {
                        None => false,
                        Some(raw) => match decode_profile(&raw) {
                            Ok(p) => p.kind == ProfileKind::User,
                            Err(e) => return abort_corrupt("profiles", owner_key, e),
                        },
                    };
                    if !is_user {
                        return abort(StoreError::NotFound);
                    }
                    if short_names.get(d.short_name.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::ShortName));
                    }
                    if directories.get(d.id.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    let mt = MemberTx {
                        directories,
                        memberships,
                        members_by_seq: by_seq,
                        profile_memberships: by_profile,
                    };
                    short_names.insert(d.short_name.as_bytes(), &d.id.as_bytes()[..])?;
                    let mut stored = d.clone();
                    stored.last_member_seq = 0;
                    mt.put_directory(&stored)?;
                    mt.insert_member(&m)?;
                    commands::record_tx(cmds, expiry, c.as_ref())
                },
            ))
        })
        .await
    }

    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
        directory(&self.inner, id)
    }

    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, c) = (dir.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let t = &db.t;
            let trees = (
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(directories, memberships, by_seq, by_profile, cmds, expiry)| {
                    let mt = MemberTx {
                        directories,
                        memberships,
                        members_by_seq: by_seq,
                        profile_memberships: by_profile,
                    };
                    let Some(stored) = mt.directory(d.id)? else {
                        return abort(StoreError::NotFound);
                    };
                    if stored.version != expected_version {
                        return abort(StoreError::VersionMismatch);
                    }
                    let new = DirectoryRecord {
                        short_name: stored.short_name,
                        owner: stored.owner,
                        created_at: stored.created_at,
                        last_member_seq: stored.last_member_seq,
                        ..d.clone()
                    };
                    mt.put_directory(&new)?;
                    commands::record_tx(cmds, expiry, c.as_ref())
                },
            ))
        })
        .await
    }

    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let c = Encoded::of(command);
        self.directory_write(move |db| {
            let t = &db.t;
            let mut profiles = Vec::new();
            for v in t.members_by_seq.scan_prefix(id.as_bytes()).values() {
                let v = v.map_err(from_sled)?;
                profiles.push(Uuid::from_slice(&v).map_err(|_| {
                    crate::error::corrupt_entry("members_by_seq", id.as_bytes(), "not a profile id")
                })?);
            }
            let pending = ids_under(&t.directory_invitations, "directory_invitations", id)?;
            let trees = [
                &t.directories,
                &t.short_names,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.invitations,
                &t.directory_invitations,
                &t.profile_invitations,
                &t.expiry,
                &t.commands,
            ];
            finish(trees.as_slice().transaction(|v| {
                let mt = MemberTx {
                    directories: &v[0],
                    memberships: &v[2],
                    members_by_seq: &v[3],
                    profile_memberships: &v[4],
                };
                let it = InvitationTx {
                    invitations: &v[5],
                    directory_invitations: &v[6],
                    profile_invitations: &v[7],
                    expiry: &v[8],
                };
                let Some(d) = mt.directory(id)? else {
                    return Ok(false);
                };
                for p in &profiles {
                    if let Some(m) = mt.membership(id, *p)? {
                        mt.remove_member(&m)?;
                    }
                }
                for inv in &pending {
                    if let Some(i) = it.get(*inv)? {
                        it.remove(&i)?;
                    }
                }
                v[1].remove(d.short_name.as_bytes())?;
                v[0].remove(&id.as_bytes()[..])?;
                commands::record_tx(&v[9], &v[8], c.as_ref())?;
                Ok(true)
            }))
        })
        .await
    }

    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>> {
        let db = &self.inner;
        let mut out = Vec::new();
        for dir in ids_under(&db.t.profile_memberships, "profile_memberships", profile)? {
            let (Some(d), Some(m)) = (directory(db, dir)?, member(db, dir, profile)?) else {
                continue;
            };
            out.push((d, m.membership));
        }
        out.sort_by_key(|(d, m)| (m.joined_at, d.id));
        Ok(out)
    }

    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>> {
        member(&self.inner, directory, profile)
    }

    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>> {
        let mut out = Vec::with_capacity(profiles.len());
        for p in profiles {
            if let Some(m) = member(&self.inner, directory, *p)? {
                out.push(m);
            }
        }
        Ok(out)
    }

    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>> {
        let Some(first) = after.checked_add(1) else {
            return Ok(Vec::new());
        };
        let db = &self.inner;
        let (lo, hi) = (seq_key(directory, first), seq_key(directory, u64::MAX));
        // Not one snapshot: a member read from the index may have left (or left and come
        // back under a later seq) before its row is read. Such an entry is skipped and the
        // walk goes on, so a page is short only at the end of the range (the engine reads a
        // short page as the last one).
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in db.t.members_by_seq.range(lo..=hi) {
            if out.len() == limit {
                break;
            }
            let (k, v) = entry.map_err(from_sled)?;
            let p = Uuid::from_slice(&v).map_err(|_| {
                crate::error::corrupt_entry("members_by_seq", &k, "not a profile id")
            })?;
            if let Some(m) = member(db, directory, p)?
                && seq_key(directory, m.membership.seq).as_slice() == k.as_ref()
            {
                out.push(m);
            }
        }
        Ok(out)
    }

    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (p, value) = (profile.clone(), encode_profile(profile));
        let (m, c) = (membership.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let t = &db.t;
            let trees = [
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.profiles,
                &t.usernames,
                &t.public_keys,
                &t.devices,
                &t.commands,
                &t.expiry,
            ];
            finish(trees.as_slice().transaction(|v| {
                let mt = MemberTx {
                    directories: &v[0],
                    memberships: &v[1],
                    members_by_seq: &v[2],
                    profile_memberships: &v[3],
                };
                if mt.directory(m.directory_id)?.is_none() {
                    return abort(StoreError::NotFound);
                }
                let ptx = ProfileTx {
                    profiles: &v[4],
                    usernames: &v[5],
                    public_keys: &v[6],
                    devices: &v[7],
                };
                insert_profile(&ptx, &p, &value)?;
                mt.insert_member(&m)?;
                commands::record_tx(&v[8], &v[9], c.as_ref())
            }))
        })
        .await
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (m, c) = (m.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let t = &db.t;
            let trees = (
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(directories, memberships, by_seq, by_profile, cmds, expiry)| {
                    let mt = MemberTx {
                        directories,
                        memberships,
                        members_by_seq: by_seq,
                        profile_memberships: by_profile,
                    };
                    let Some(stored) = mt.membership(m.directory_id, m.profile_id)? else {
                        return abort(StoreError::NotFound);
                    };
                    if stored.version != expected_version {
                        return abort(StoreError::VersionMismatch);
                    }
                    if (stored.role == DirectoryRole::Owner) != (m.role == DirectoryRole::Owner) {
                        return abort(StoreError::Conflict(Conflict::Owner));
                    }
                    let new = MembershipRecord {
                        created_by_directory: stored.created_by_directory,
                        joined_at: stored.joined_at,
                        seq: stored.seq,
                        ..m.clone()
                    };
                    mt.put_membership(&new)?;
                    commands::record_tx(cmds, expiry, c.as_ref())
                },
            ))
        })
        .await
    }

    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let c = Encoded::of(command);
        self.directory_write(move |db| {
            let t = &db.t;
            let trees = (
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(directories, memberships, by_seq, by_profile, cmds, expiry)| {
                    let mt = MemberTx {
                        directories,
                        memberships,
                        members_by_seq: by_seq,
                        profile_memberships: by_profile,
                    };
                    match mt.membership(directory, profile)? {
                        None => Ok(false),
                        Some(m) if m.role == DirectoryRole::Owner => {
                            abort(StoreError::Conflict(Conflict::Owner))
                        }
                        Some(m) => {
                            mt.remove_member(&m)?;
                            commands::record_tx(cmds, expiry, c.as_ref())?;
                            Ok(true)
                        }
                    }
                },
            ))
        })
        .await
    }

    /// The membership is checked in the transaction of the profile update, which is
    /// `update_profile`'s (its revocation scan proven current inside, else rescanned).
    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (new, c) = (profile.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let t = &db.t;
            let key = id_pair(directory, new.id);
            let trees = [
                &t.memberships,
                &t.profiles,
                &t.public_keys,
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.qr,
                &t.owner_qr,
                &t.expiry,
                &t.attach_gen,
                &t.commands,
            ];
            with_retry(|| {
                let attached = scan_for_revoke(db, new.id, revoke).map_err(Abort::Store)?;
                from_tx(trees.as_slice().transaction(|v| {
                    let created = match v[0].get(key)? {
                        None => false,
                        Some(raw) => match decode_membership(directory, new.id, &raw) {
                            Ok(m) => m.created_by_directory,
                            Err(e) => return abort_corrupt("memberships", &key, e),
                        },
                    };
                    if !created {
                        return abort(StoreError::NotFound);
                    }
                    let utx = UpdateTx {
                        profiles: &v[1],
                        public_keys: &v[2],
                        revoke: RevokeTx {
                            tok: TokenTx {
                                tokens: &v[3],
                                profile_tokens: &v[4],
                                family_tokens: &v[5],
                                family_size: &v[6],
                                expiry: &v[9],
                            },
                            qr: &v[7],
                            owner_qr: &v[8],
                            attach: &v[10],
                        },
                    };
                    update_profile_tx(&utx, &new, expected_version, revoke, attached.as_ref())?;
                    commands::record_tx(&v[11], &v[9], c.as_ref())
                }))
            })
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
        let (i, c) = (invitation.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let live = live_invitations(db, i.directory_id, now)?;
            let t = &db.t;
            let trees = (
                &t.directories,
                &t.invitations,
                &t.directory_invitations,
                &t.profile_invitations,
                &t.expiry,
                &t.commands,
            );
            finish(trees.transaction(
                |(directories, invitations, by_dir, by_profile, expiry, cmds)| {
                    if directories.get(i.directory_id.as_bytes())?.is_none() {
                        return abort(StoreError::NotFound);
                    }
                    if invitations.get(i.id.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    if live >= max_pending {
                        return abort(StoreError::Conflict(Conflict::Limit));
                    }
                    let it = InvitationTx {
                        invitations,
                        directory_invitations: by_dir,
                        profile_invitations: by_profile,
                        expiry,
                    };
                    it.insert(&i)?;
                    commands::record_tx(cmds, expiry, c.as_ref())
                },
            ))
        })
        .await
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
        invitation(&self.inner, id)
    }

    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        let db = &self.inner;
        invitations_under(
            db,
            &db.t.directory_invitations,
            "directory_invitations",
            directory,
        )
    }

    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>> {
        let db = &self.inner;
        invitations_under(
            db,
            &db.t.profile_invitations,
            "profile_invitations",
            profile,
        )
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (m, c) = (membership.clone(), Encoded::of(command));
        self.directory_write(move |db| {
            let within = check_limits(db, m.profile_id, m.role, limits);
            let t = &db.t;
            let trees = [
                &t.invitations,
                &t.directory_invitations,
                &t.profile_invitations,
                &t.expiry,
                &t.directories,
                &t.memberships,
                &t.members_by_seq,
                &t.profile_memberships,
                &t.commands,
            ];
            finish(trees.as_slice().transaction(|v| {
                let it = InvitationTx {
                    invitations: &v[0],
                    directory_invitations: &v[1],
                    profile_invitations: &v[2],
                    expiry: &v[3],
                };
                let mt = MemberTx {
                    directories: &v[4],
                    memberships: &v[5],
                    members_by_seq: &v[6],
                    profile_memberships: &v[7],
                };
                let inv = match it.get(id)? {
                    Some(i)
                        if i.expires_at > now
                            && i.invitee == Some(m.profile_id)
                            && i.directory_id == m.directory_id =>
                    {
                        i
                    }
                    _ => return abort(StoreError::NotFound),
                };
                if mt.directory(m.directory_id)?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if mt.membership(m.directory_id, m.profile_id)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                if let Err(e) = &within {
                    return abort(e.clone());
                }
                it.remove(&inv)?;
                mt.insert_member(&m)?;
                commands::record_tx(&v[8], &v[3], c.as_ref())
            }))
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
        let c = Encoded::of(command);
        self.directory_write(move |db| {
            let t = &db.t;
            let trees = (
                &t.invitations,
                &t.directory_invitations,
                &t.profile_invitations,
                &t.expiry,
                &t.commands,
            );
            finish(
                trees.transaction(|(invitations, by_dir, by_profile, expiry, cmds)| {
                    let it = InvitationTx {
                        invitations,
                        directory_invitations: by_dir,
                        profile_invitations: by_profile,
                        expiry,
                    };
                    match it.get(id)? {
                        Some(i) if i.expires_at > now && i.invitee == Some(profile) => {
                            it.remove(&i)?;
                            commands::record_tx(cmds, expiry, c.as_ref())?;
                            Ok(true)
                        }
                        _ => Ok(false),
                    }
                }),
            )
        })
        .await
    }
}
