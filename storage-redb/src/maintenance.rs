//! [`MaintenanceStore`] on [`RedbStore`]: the health check and the bounded purge, which
//! walks the `expiry` index earliest first (tokens, QR tokens, commands, OAuth grants and
//! directory invitations), then the nonce claims' own index.

use async_trait::async_trait;
use redb::{ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{MaintenanceStore, StoreResult};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::directory::InvitationTables;
use crate::error::{Failure, Fallible};
use crate::oauth::GrantTables;
use crate::store::{RedbStore, format_version};
use crate::tables::{self as t, Expiring};
use crate::token_index::TokenTables;

#[async_trait]
impl MaintenanceStore for RedbStore {
    /// A read of the format version.
    async fn ping(&self) -> StoreResult<()> {
        self.read(|rx| format_version(rx).map(drop)).await
    }

    /// One write transaction of at most `limit` deletions.
    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        self.write(move |tx| purge_expired(tx, now, limit)).await
    }
}

/// Delete at most `limit` records that expire at or before `now`, earliest first.
fn purge_expired(tx: &WriteTransaction, now: Timestamp, limit: usize) -> Fallible<usize> {
    if limit == 0 {
        return Ok(0);
    }
    let due: Vec<[u8; 41]> = {
        let expiry = tx.open_table(t::EXPIRY)?;
        let range = match t::expiry_bound(now) {
            Some(bound) => expiry.range::<&[u8; 41]>(..&bound)?,
            None => expiry.range::<&[u8; 41]>(..)?,
        };
        let mut due = Vec::with_capacity(limit.min(1024));
        for entry in range.take(limit) {
            due.push(*entry?.0.value());
        }
        due
    };
    let mut tables = TokenTables::open(tx)?;
    let mut grants = GrantTables::open(tx)?;
    let mut invitations = InvitationTables::open(tx)?;
    let mut commands = tx.open_table(t::COMMANDS)?;
    let mut n = 0;
    for key in &due {
        let mut id = [0u8; 32];
        id.copy_from_slice(&key[9..]);
        let removed = match Expiring::from_u8(key[8]) {
            Some(Expiring::Token) => {
                let d = TokenDigest(id);
                match tables.token(&d)? {
                    Some(tok) if tok.expires_at <= now => tables.remove_token(&d)?,
                    _ => false,
                }
            }
            Some(Expiring::Qr) => {
                let d = TokenDigest(id);
                match tables.qr_record(&d)? {
                    Some(q) if q.expires_at <= now => tables.remove_qr(&d)?,
                    _ => false,
                }
            }
            Some(Expiring::Command) => {
                let mut cid = [0u8; 16];
                cid.copy_from_slice(&id[..16]);
                commands.remove(&cid)?.is_some()
            }
            Some(Expiring::Grant) => {
                let mut gid = [0u8; 16];
                gid.copy_from_slice(&id[..16]);
                let gid = Uuid::from_bytes(gid);
                match grants.grant(gid)? {
                    Some(g) if g.expires_at <= now => grants.take_grant(gid)?.is_some(),
                    _ => false,
                }
            }
            Some(Expiring::Invitation) => {
                let mut iid = [0u8; 16];
                iid.copy_from_slice(&id[..16]);
                let iid = Uuid::from_bytes(iid);
                match invitations.invitation(iid)? {
                    Some(i) if i.expires_at <= now => invitations.take(iid)?.is_some(),
                    _ => false,
                }
            }
            None => {
                let error = codec::DecodeError {
                    what: "unknown record kind in the expiry index",
                    offset: 8,
                };
                return Err(Failure::decode("expiry", key, error));
            }
        };
        // Gone with its record, or an index entry without one: either way it is due.
        tables.expiry.remove(key)?;
        n += usize::from(removed);
    }
    Ok(n + crate::nonces::purge(tx, now, limit - n)?)
}
