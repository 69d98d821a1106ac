//! Directories and memberships in one write transaction: [`MemberTables`] keeps
//! `directory_short_names`, `members_by_seq` and `memberships_by_profile` in step with the
//! records. Reads of a read transaction are the free functions at the end.

use redb::{ReadTransaction, ReadableTable, Table, WriteTransaction};
use tessera_core::store::{
    Conflict, DirectoryMember, DirectoryRecord, DirectoryRole, MembershipLimits, MembershipRecord,
    StoreError,
};
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables as t;

/// `memberships` / `memberships_by_profile` / `invitations_by_*` key: two ids.
pub(super) fn pair(a: Uuid, b: Uuid) -> [u8; 32] {
    t::key(&[a.as_bytes(), b.as_bytes()])
}

/// `members_by_seq` key.
pub(super) fn seq_key(directory: Uuid, seq: u64) -> [u8; 24] {
    t::key(&[directory.as_bytes(), &seq.to_be_bytes()])
}

pub(super) fn decode_directory(id: Uuid, v: &[u8]) -> Fallible<DirectoryRecord> {
    codec::decode_directory(id, v).map_err(|e| Failure::decode("directories", id.as_bytes(), e))
}

pub(super) fn decode_membership(dir: Uuid, profile: Uuid, v: &[u8]) -> Fallible<MembershipRecord> {
    codec::decode_membership(dir, profile, v)
        .map_err(|e| Failure::decode("memberships", &pair(dir, profile), e))
}

/// The directory and membership tables of a write transaction.
pub(super) struct MemberTables<'tx> {
    pub(super) directories: Table<'tx, &'static [u8; 16], &'static [u8]>,
    pub(super) short_names: Table<'tx, &'static str, &'static [u8; 16]>,
    pub(super) memberships: Table<'tx, &'static [u8; 32], &'static [u8]>,
    pub(super) by_seq: Table<'tx, &'static [u8; 24], &'static [u8; 16]>,
    pub(super) by_profile: Table<'tx, &'static [u8; 32], u8>,
}

impl<'tx> MemberTables<'tx> {
    pub(super) fn open(tx: &'tx WriteTransaction) -> Fallible<Self> {
        Ok(Self {
            directories: tx.open_table(t::DIRECTORIES)?,
            short_names: tx.open_table(t::DIRECTORY_SHORT_NAMES)?,
            memberships: tx.open_table(t::MEMBERSHIPS)?,
            by_seq: tx.open_table(t::MEMBERS_BY_SEQ)?,
            by_profile: tx.open_table(t::MEMBERSHIPS_BY_PROFILE)?,
        })
    }

    pub(super) fn directory(&self, id: Uuid) -> Fallible<Option<DirectoryRecord>> {
        self.directories
            .get(id.as_bytes())?
            .map(|v| decode_directory(id, v.value()))
            .transpose()
    }

    pub(super) fn put_directory(&mut self, d: &DirectoryRecord) -> Fallible<()> {
        self.directories
            .insert(d.id.as_bytes(), codec::encode_directory(d).as_slice())?;
        Ok(())
    }

    pub(super) fn membership(
        &self,
        dir: Uuid,
        profile: Uuid,
    ) -> Fallible<Option<MembershipRecord>> {
        self.memberships
            .get(&pair(dir, profile))?
            .map(|v| decode_membership(dir, profile, v.value()))
            .transpose()
    }

    pub(super) fn put_membership(&mut self, m: &MembershipRecord) -> Fallible<()> {
        self.memberships.insert(
            &pair(m.directory_id, m.profile_id),
            codec::encode_membership(m).as_slice(),
        )?;
        Ok(())
    }

    /// `Conflict(Limit)` if `profile` may not take one more membership of `role`: one range
    /// of `memberships_by_profile`, whose values are the roles.
    pub(super) fn check_limits(
        &self,
        profile: Uuid,
        role: DirectoryRole,
        limits: MembershipLimits,
    ) -> Fallible<()> {
        let (lo, hi) = t::prefix_range::<32>(profile.as_bytes());
        let (mut count, mut owned) = (0usize, 0usize);
        for entry in self.by_profile.range::<&[u8; 32]>(&lo..=&hi)? {
            count += 1;
            owned += usize::from(entry?.1.value() == DirectoryRole::Owner.tag());
        }
        if count >= limits.memberships_per_profile
            || (role == DirectoryRole::Owner && owned >= limits.owned_per_profile)
        {
            return Err(StoreError::Conflict(Conflict::Limit).into());
        }
        Ok(())
    }

    /// Store a new membership with its directory's next `seq` (the caller checked the
    /// directory exists and the membership is new).
    pub(super) fn insert_member(&mut self, m: &MembershipRecord) -> Fallible<()> {
        let mut d = self
            .directory(m.directory_id)?
            .ok_or(StoreError::NotFound)?;
        d.last_member_seq += 1;
        self.put_directory(&d)?;
        let mut m = m.clone();
        m.seq = d.last_member_seq;
        self.put_membership(&m)?;
        self.by_seq
            .insert(&seq_key(m.directory_id, m.seq), m.profile_id.as_bytes())?;
        self.by_profile
            .insert(&pair(m.profile_id, m.directory_id), m.role.tag())?;
        Ok(())
    }

    /// Delete a membership and its index entries; the record, if it existed.
    pub(super) fn remove_member(
        &mut self,
        dir: Uuid,
        profile: Uuid,
    ) -> Fallible<Option<MembershipRecord>> {
        let Some(m) = self.membership(dir, profile)? else {
            return Ok(None);
        };
        self.memberships.remove(&pair(dir, profile))?;
        self.by_seq.remove(&seq_key(dir, m.seq))?;
        self.by_profile.remove(&pair(profile, dir))?;
        Ok(Some(m))
    }

    /// Every member of `dir`, in `seq` order.
    pub(super) fn member_ids(&self, dir: Uuid) -> Fallible<Vec<Uuid>> {
        let (lo, hi) = (seq_key(dir, 0), seq_key(dir, u64::MAX));
        let mut out = Vec::new();
        for entry in self.by_seq.range::<&[u8; 24]>(&lo..=&hi)? {
            out.push(Uuid::from_bytes(*entry?.1.value()));
        }
        Ok(out)
    }
}

/// Directory `id` in a read transaction.
pub(super) fn directory_in(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<DirectoryRecord>> {
    rx.open_table(t::DIRECTORIES)?
        .get(id.as_bytes())?
        .map(|v| decode_directory(id, v.value()))
        .transpose()
}

/// The membership of `profile` in `dir` with its profile's username and state.
pub(super) fn member_in(
    rx: &ReadTransaction,
    dir: Uuid,
    profile: Uuid,
) -> Fallible<Option<DirectoryMember>> {
    let Some(v) = rx.open_table(t::MEMBERSHIPS)?.get(&pair(dir, profile))? else {
        return Ok(None);
    };
    let membership = decode_membership(dir, profile, v.value())?;
    let Some(p) = rx.open_table(t::PROFILES)?.get(profile.as_bytes())? else {
        return Ok(None);
    };
    let p = codec::decode_profile(profile, p.value())
        .map_err(|e| Failure::decode("profiles", profile.as_bytes(), e))?;
    Ok(Some(DirectoryMember {
        membership,
        username: p.username,
        state: p.state,
    }))
}

/// At most `limit` members of `dir` with `seq > after`, in `seq` order.
pub(super) fn members_after(
    rx: &ReadTransaction,
    dir: Uuid,
    after: u64,
    limit: usize,
) -> Fallible<Vec<DirectoryMember>> {
    let Some(first) = after.checked_add(1) else {
        return Ok(Vec::new());
    };
    let (lo, hi) = (seq_key(dir, first), seq_key(dir, u64::MAX));
    let mut ids = Vec::new();
    for entry in rx
        .open_table(t::MEMBERS_BY_SEQ)?
        .range::<&[u8; 24]>(&lo..=&hi)?
        .take(limit)
    {
        ids.push(Uuid::from_bytes(*entry?.1.value()));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(m) = member_in(rx, dir, id)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// Every directory of `profile` with its membership, by `joined_at` then directory id.
pub(super) fn profile_directories(
    rx: &ReadTransaction,
    profile: Uuid,
) -> Fallible<Vec<(DirectoryRecord, MembershipRecord)>> {
    let (lo, hi) = t::prefix_range::<32>(profile.as_bytes());
    let mut dirs = Vec::new();
    for entry in rx
        .open_table(t::MEMBERSHIPS_BY_PROFILE)?
        .range::<&[u8; 32]>(&lo..=&hi)?
    {
        let k = *entry?.0.value();
        let mut id = [0u8; 16];
        id.copy_from_slice(&k[16..]);
        dirs.push(Uuid::from_bytes(id));
    }
    let memberships = rx.open_table(t::MEMBERSHIPS)?;
    let mut out = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let (Some(d), Some(m)) = (
            directory_in(rx, dir)?,
            memberships.get(&pair(dir, profile))?,
        ) else {
            continue;
        };
        out.push((d, decode_membership(dir, profile, m.value())?));
    }
    out.sort_by_key(|(d, m)| (m.joined_at, d.id));
    Ok(out)
}
