//! The directory trees of a sled transaction ([`MemberTx`], [`InvitationTx`]), keeping the
//! indexes in step with the records, and the scans a directory write makes (under the
//! store's `directory_writes` lock) before its transaction.

use sled::transaction::TransactionalTree;
use tessera_core::Timestamp;
use tessera_core::store::{
    Conflict, DirectoryRecord, DirectoryRole, InvitationRecord, MembershipLimits, MembershipRecord,
    StoreError, StoreResult,
};
use uuid::Uuid;

use crate::codec::{
    decode_directory, decode_invitation, decode_membership, encode_directory, encode_invitation,
    encode_membership,
};
use crate::error::{TxResult, abort, abort_corrupt, corrupt_entry, from_sled};
use crate::store::Inner;
use crate::trees::{EXP_INVITATION, expiry_key, id_pair};

const EMPTY: &[u8] = &[];

/// `members_by_seq` key.
pub(super) fn seq_key(directory: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(directory.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The second id of a 32-byte `a ‖ b` index key.
pub(super) fn second_id(tree: &str, k: &[u8]) -> StoreResult<Uuid> {
    k.get(16..32)
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .filter(|_| k.len() == 32)
        .map(Uuid::from_bytes)
        .ok_or_else(|| corrupt_entry(tree, k, "key is not two 16-byte ids"))
}

/// The directory and membership trees of a transaction.
pub(super) struct MemberTx<'a> {
    pub directories: &'a TransactionalTree,
    pub memberships: &'a TransactionalTree,
    pub members_by_seq: &'a TransactionalTree,
    pub profile_memberships: &'a TransactionalTree,
}

impl MemberTx<'_> {
    pub(super) fn directory(&self, id: Uuid) -> TxResult<Option<DirectoryRecord>> {
        let key = id.as_bytes();
        match self.directories.get(key)? {
            None => Ok(None),
            Some(raw) => match decode_directory(id, &raw) {
                Ok(d) => Ok(Some(d)),
                Err(e) => abort_corrupt("directories", key, e),
            },
        }
    }

    pub(super) fn put_directory(&self, d: &DirectoryRecord) -> TxResult<()> {
        self.directories
            .insert(&d.id.as_bytes()[..], encode_directory(d))?;
        Ok(())
    }

    pub(super) fn membership(
        &self,
        dir: Uuid,
        profile: Uuid,
    ) -> TxResult<Option<MembershipRecord>> {
        let key = id_pair(dir, profile);
        match self.memberships.get(key)? {
            None => Ok(None),
            Some(raw) => match decode_membership(dir, profile, &raw) {
                Ok(m) => Ok(Some(m)),
                Err(e) => abort_corrupt("memberships", &key, e),
            },
        }
    }

    /// Write a membership record and its role in `profile_memberships`.
    pub(super) fn put_membership(&self, m: &MembershipRecord) -> TxResult<()> {
        self.memberships.insert(
            &id_pair(m.directory_id, m.profile_id)[..],
            encode_membership(m),
        )?;
        self.profile_memberships.insert(
            &id_pair(m.profile_id, m.directory_id)[..],
            &[m.role.tag()][..],
        )?;
        Ok(())
    }

    /// Store a new membership with its directory's next `seq` (`NotFound` without the
    /// directory).
    pub(super) fn insert_member(&self, m: &MembershipRecord) -> TxResult<()> {
        let Some(mut d) = self.directory(m.directory_id)? else {
            return abort(StoreError::NotFound);
        };
        d.last_member_seq += 1;
        self.put_directory(&d)?;
        let mut m = m.clone();
        m.seq = d.last_member_seq;
        self.put_membership(&m)?;
        self.members_by_seq.insert(
            &seq_key(m.directory_id, m.seq)[..],
            &m.profile_id.as_bytes()[..],
        )?;
        Ok(())
    }

    /// Delete a membership and its index entries.
    pub(super) fn remove_member(&self, m: &MembershipRecord) -> TxResult<()> {
        self.memberships
            .remove(&id_pair(m.directory_id, m.profile_id)[..])?;
        self.members_by_seq
            .remove(&seq_key(m.directory_id, m.seq)[..])?;
        self.profile_memberships
            .remove(&id_pair(m.profile_id, m.directory_id)[..])?;
        Ok(())
    }
}

/// The invitation trees of a transaction (`expiry` is shared with the command).
pub(crate) struct InvitationTx<'a> {
    pub invitations: &'a TransactionalTree,
    pub directory_invitations: &'a TransactionalTree,
    pub profile_invitations: &'a TransactionalTree,
    pub expiry: &'a TransactionalTree,
}

impl InvitationTx<'_> {
    pub(crate) fn get(&self, id: Uuid) -> TxResult<Option<InvitationRecord>> {
        let key = id.as_bytes();
        match self.invitations.get(key)? {
            None => Ok(None),
            Some(raw) => match decode_invitation(id, &raw) {
                Ok(i) => Ok(Some(i)),
                Err(e) => abort_corrupt("invitations", key, e),
            },
        }
    }

    /// Store an invitation with its index entries and its `expiry` entry.
    pub(super) fn insert(&self, i: &InvitationRecord) -> TxResult<()> {
        self.invitations
            .insert(&i.id.as_bytes()[..], encode_invitation(i))?;
        self.directory_invitations.insert(
            &id_pair(i.directory_id, i.id)[..],
            &i.expires_at.0.to_le_bytes()[..],
        )?;
        if let Some(p) = i.invitee {
            self.profile_invitations
                .insert(&id_pair(p, i.id)[..], EMPTY)?;
        }
        self.expiry.insert(
            expiry_key(i.expires_at, EXP_INVITATION, i.id.as_bytes()),
            EMPTY,
        )?;
        Ok(())
    }

    /// Delete an invitation with its index entries and its `expiry` entry.
    pub(crate) fn remove(&self, i: &InvitationRecord) -> TxResult<()> {
        self.invitations.remove(&i.id.as_bytes()[..])?;
        self.directory_invitations
            .remove(&id_pair(i.directory_id, i.id)[..])?;
        if let Some(p) = i.invitee {
            self.profile_invitations.remove(&id_pair(p, i.id)[..])?;
        }
        self.expiry
            .remove(expiry_key(i.expires_at, EXP_INVITATION, i.id.as_bytes()))?;
        Ok(())
    }
}

/// `Conflict(Limit)` if `profile` may not take one more membership of `role` (a scan of
/// `profile_memberships`, whose values are the roles; under `directory_writes`).
pub(super) fn check_limits(
    db: &Inner,
    profile: Uuid,
    role: DirectoryRole,
    limits: MembershipLimits,
) -> StoreResult<()> {
    let (mut count, mut owned) = (0usize, 0usize);
    for entry in db.t.profile_memberships.scan_prefix(profile.as_bytes()) {
        let (_, v) = entry.map_err(from_sled)?;
        count += 1;
        owned += usize::from(v.first() == Some(&DirectoryRole::Owner.tag()));
    }
    if count >= limits.memberships_per_profile
        || (role == DirectoryRole::Owner && owned >= limits.owned_per_profile)
    {
        return Err(StoreError::Conflict(Conflict::Limit));
    }
    Ok(())
}

/// The ids of `index` entries under `owner` (a 32-byte `owner ‖ id` key), in key order.
pub(super) fn ids_under(tree: &sled::Tree, name: &str, owner: Uuid) -> StoreResult<Vec<Uuid>> {
    let mut out = Vec::new();
    for k in tree.scan_prefix(owner.as_bytes()).keys() {
        out.push(second_id(name, &k.map_err(from_sled)?)?);
    }
    Ok(out)
}

/// How many invitations of `dir` are live at `now` (a scan of `directory_invitations`,
/// whose values are the expiries).
pub(super) fn live_invitations(db: &Inner, dir: Uuid, now: Timestamp) -> StoreResult<usize> {
    let mut n = 0;
    for entry in db.t.directory_invitations.scan_prefix(dir.as_bytes()) {
        let (k, v) = entry.map_err(from_sled)?;
        let at = <[u8; 8]>::try_from(&v[..])
            .map_err(|_| corrupt_entry("directory_invitations", &k, "value is not 8 bytes"))?;
        n += usize::from(i64::from_le_bytes(at) > now.0);
    }
    Ok(n)
}
