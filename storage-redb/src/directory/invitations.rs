//! Invitations in one write transaction: [`InvitationTables`] keeps
//! `invitations_by_directory` and `invitations_by_profile` in step with the records (the
//! `expiry` entry is the caller's: the purge holds that table open itself).

use redb::{ReadTransaction, ReadableTable, Table, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::InvitationRecord;
use uuid::Uuid;

use super::members::pair;
use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables::{self as t, Expiring};

fn decode(id: Uuid, v: &[u8]) -> Fallible<InvitationRecord> {
    codec::decode_invitation(id, v).map_err(|e| Failure::decode("invitations", id.as_bytes(), e))
}

/// `expiry` key of an invitation.
pub(super) fn expiry_key(i: &InvitationRecord) -> [u8; 41] {
    t::expiry_key(i.expires_at, Expiring::Invitation, i.id.as_bytes())
}

/// The invitation tables of a write transaction.
pub(crate) struct InvitationTables<'tx> {
    records: Table<'tx, &'static [u8; 16], &'static [u8]>,
    by_directory: Table<'tx, &'static [u8; 32], i64>,
    by_profile: Table<'tx, &'static [u8; 32], ()>,
}

impl<'tx> InvitationTables<'tx> {
    pub(crate) fn open(tx: &'tx WriteTransaction) -> Fallible<Self> {
        Ok(Self {
            records: tx.open_table(t::INVITATIONS)?,
            by_directory: tx.open_table(t::INVITATIONS_BY_DIRECTORY)?,
            by_profile: tx.open_table(t::INVITATIONS_BY_PROFILE)?,
        })
    }

    pub(crate) fn invitation(&self, id: Uuid) -> Fallible<Option<InvitationRecord>> {
        self.records
            .get(id.as_bytes())?
            .map(|v| decode(id, v.value()))
            .transpose()
    }

    /// How many invitations of `dir` are live at `now` (one index range, no record read).
    pub(super) fn live(&self, dir: Uuid, now: Timestamp) -> Fallible<usize> {
        let (lo, hi) = t::prefix_range::<32>(dir.as_bytes());
        let mut n = 0;
        for entry in self.by_directory.range::<&[u8; 32]>(&lo..=&hi)? {
            n += usize::from(entry?.1.value() > now.0);
        }
        Ok(n)
    }

    /// The ids of every invitation of `dir`.
    pub(super) fn of_directory(&self, dir: Uuid) -> Fallible<Vec<Uuid>> {
        let (lo, hi) = t::prefix_range::<32>(dir.as_bytes());
        let mut out = Vec::new();
        for entry in self.by_directory.range::<&[u8; 32]>(&lo..=&hi)? {
            let k = *entry?.0.value();
            let mut id = [0u8; 16];
            id.copy_from_slice(&k[16..]);
            out.push(Uuid::from_bytes(id));
        }
        Ok(out)
    }

    /// Store an invitation and its index entries (the caller checked the id is free).
    pub(super) fn insert(&mut self, i: &InvitationRecord) -> Fallible<()> {
        self.records
            .insert(i.id.as_bytes(), codec::encode_invitation(i).as_slice())?;
        self.by_directory
            .insert(&pair(i.directory_id, i.id), i.expires_at.0)?;
        if let Some(p) = i.invitee {
            self.by_profile.insert(&pair(p, i.id), ())?;
        }
        Ok(())
    }

    /// Delete an invitation and its index entries (not its `expiry` entry); the record, if
    /// it existed.
    pub(crate) fn take(&mut self, id: Uuid) -> Fallible<Option<InvitationRecord>> {
        let Some(i) = self.invitation(id)? else {
            return Ok(None);
        };
        self.records.remove(id.as_bytes())?;
        self.by_directory.remove(&pair(i.directory_id, id))?;
        if let Some(p) = i.invitee {
            self.by_profile.remove(&pair(p, id))?;
        }
        Ok(Some(i))
    }
}

/// Invitation `id` in a read transaction.
pub(super) fn invitation_in(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<InvitationRecord>> {
    rx.open_table(t::INVITATIONS)?
        .get(id.as_bytes())?
        .map(|v| decode(id, v.value()))
        .transpose()
}

/// The invitations listed under `owner` (a directory or an invitee) in `index`, by
/// creation time then id.
pub(super) fn listed<V: redb::Value + 'static>(
    rx: &ReadTransaction,
    index: redb::TableDefinition<&'static [u8; 32], V>,
    owner: Uuid,
) -> Fallible<Vec<InvitationRecord>> {
    let (lo, hi) = t::prefix_range::<32>(owner.as_bytes());
    let mut ids = Vec::new();
    for entry in rx.open_table(index)?.range::<&[u8; 32]>(&lo..=&hi)? {
        let k = *entry?.0.value();
        let mut id = [0u8; 16];
        id.copy_from_slice(&k[16..]);
        ids.push(Uuid::from_bytes(id));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(i) = invitation_in(rx, id)? {
            out.push(i);
        }
    }
    out.sort_by_key(|i| (i.created_at, i.id));
    Ok(out)
}
