//! [`MaintenanceStore`]: health check and the bounded purge over the `expiry` index
//! (tokens, QR tokens, commands, OAuth grants, directory invitations), then the nonce
//! claims' own index.

use std::ops::Bound;

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tessera_core::store::{MaintenanceStore, StoreResult};
use tessera_core::{StoreError, Timestamp, TokenDigest};
use uuid::Uuid;

use crate::codec::{command_expiry, decode_qr};
use crate::directory::InvitationTx;
use crate::error::{TxResult, abort, abort_corrupt, corrupt_entry, finish, from_sled};
use crate::oauth::GrantTx;
use crate::revoke::remove_qr_tx;
use crate::store::{Inner, SledStore};
use crate::token_index::TokenTx;
use crate::trees::{
    EXP_COMMAND, EXP_GRANT, EXP_INVITATION, EXP_QR, EXP_TOKEN, ExpiryEntry, FORMAT_KEY,
    parse_expiry_key, time_key,
};

/// The trees a purge writes.
struct PurgeTx<'a> {
    tok: TokenTx<'a>,
    qr: &'a TransactionalTree,
    owner_qr: &'a TransactionalTree,
    commands: &'a TransactionalTree,
    grants: GrantTx<'a>,
    invitations: InvitationTx<'a>,
}

/// Delete the record an expiry entry names if it still expires at that time. An entry
/// whose record is gone or expires at another time is stale: drop it, count nothing.
fn purge_one(tx: &PurgeTx<'_>, raw_key: &[u8], e: &ExpiryEntry<'_>) -> TxResult<usize> {
    let stale = |tx: &PurgeTx<'_>| -> TxResult<usize> {
        tx.tok.expiry.remove(raw_key)?;
        Ok(0)
    };
    match e.kind {
        EXP_TOKEN => {
            let Ok(d) = <[u8; 32]>::try_from(e.key) else {
                return abort(corrupt_entry("expiry", raw_key, "token digest length"));
            };
            // Every kind, refresh and single-use tokens included; a family token leaves its family.
            let Some(v) = tx.tok.view(&d)? else {
                return stale(tx);
            };
            if v.expires_at != e.at {
                return stale(tx);
            }
            tx.tok.remove(&d, &v)?;
        }
        EXP_QR => {
            let Some(raw) = tx.qr.get(e.key)? else {
                return stale(tx);
            };
            let Ok(d) = <[u8; 32]>::try_from(e.key).map(TokenDigest) else {
                return abort(corrupt_entry("expiry", raw_key, "QR digest length"));
            };
            let q = match decode_qr(d, &raw) {
                Ok(q) => q,
                Err(err) => return abort_corrupt("qr", e.key, err),
            };
            if q.expires_at != e.at {
                return stale(tx);
            }
            remove_qr_tx(tx.qr, tx.owner_qr, tx.tok.expiry, &q)?;
        }
        EXP_COMMAND => {
            let Some(raw) = tx.commands.get(e.key)? else {
                return stale(tx);
            };
            match command_expiry(&raw) {
                Ok(at) if at == e.at => {}
                Ok(_) => return stale(tx),
                Err(err) => return abort_corrupt("commands", e.key, err),
            }
            tx.commands.remove(e.key)?;
            tx.tok.expiry.remove(raw_key)?;
        }
        EXP_GRANT => {
            let Ok(id) = <[u8; 16]>::try_from(e.key).map(Uuid::from_bytes) else {
                return abort(corrupt_entry("expiry", raw_key, "grant id length"));
            };
            // The grant only: its tokens expire by themselves (by the grant's expiry).
            let Some(g) = tx.grants.get(id)? else {
                return stale(tx);
            };
            if g.expires_at != e.at {
                return stale(tx);
            }
            tx.grants.remove(&g)?;
        }
        EXP_INVITATION => {
            let Ok(id) = <[u8; 16]>::try_from(e.key).map(Uuid::from_bytes) else {
                return abort(corrupt_entry("expiry", raw_key, "invitation id length"));
            };
            let Some(i) = tx.invitations.get(id)? else {
                return stale(tx);
            };
            if i.expires_at != e.at {
                return stale(tx);
            }
            tx.invitations.remove(&i)?;
        }
        _ => return abort(corrupt_entry("expiry", raw_key, "unknown kind")),
    }
    Ok(1)
}

/// Purge in transactions of at most `purge_chunk` entries, walking the `expiry` index in
/// time order from its start up to `now` inclusive.
fn purge(db: &Inner, now: Timestamp, limit: usize) -> StoreResult<usize> {
    let t = &db.t;
    // Every key of a record expiring at or before `now` sorts below `time_key(now) ‖ 0xff`.
    let mut upper = time_key(now).to_vec();
    upper.push(0xff);
    let mut after: Option<Vec<u8>> = None;
    let mut removed = 0;
    while removed < limit {
        let want = (limit - removed).min(db.purge_chunk);
        let start = after.clone().map_or(Bound::Unbounded, Bound::Excluded);
        let mut batch = Vec::with_capacity(want);
        for k in t
            .expiry
            .range::<Vec<u8>, _>((start, Bound::Excluded(upper.clone())))
            .keys()
            .take(want)
        {
            batch.push(k.map_err(from_sled)?);
        }
        let Some(last) = batch.last() else { break };
        after = Some(last.to_vec());
        let trees = (
            &t.tokens,
            &t.profile_tokens,
            &t.family_tokens,
            &t.family_size,
            &t.qr,
            &t.owner_qr,
            &t.commands,
            &t.expiry,
            &t.grants,
            &t.client_grants,
            &t.profile_grants,
            &t.invitations,
            &t.directory_invitations,
            &t.profile_invitations,
        );
        removed += finish(trees.transaction(
            |(
                tokens,
                profile_tokens,
                family_tokens,
                family_size,
                qr,
                owner_qr,
                commands,
                expiry,
                grants,
                client_grants,
                profile_grants,
                invitations,
                directory_invitations,
                profile_invitations,
            )| {
                let tx = PurgeTx {
                    tok: TokenTx {
                        tokens,
                        profile_tokens,
                        family_tokens,
                        family_size,
                        expiry,
                    },
                    qr,
                    owner_qr,
                    commands,
                    grants: GrantTx {
                        grants,
                        client_grants,
                        profile_grants,
                        expiry,
                    },
                    invitations: InvitationTx {
                        invitations,
                        directory_invitations,
                        profile_invitations,
                        expiry,
                    },
                };
                let mut n = 0;
                for k in &batch {
                    // Gone since the scan: another purge or an update handled it.
                    if tx.tok.expiry.get(k)?.is_none() {
                        continue;
                    }
                    let Some(e) = parse_expiry_key(k) else {
                        return abort(corrupt_entry("expiry", k, "malformed key"));
                    };
                    debug_assert!(e.at <= now);
                    n += purge_one(&tx, k, &e)?;
                }
                Ok(n)
            },
        ))?;
    }
    Ok(removed)
}

#[async_trait]
impl MaintenanceStore for SledStore {
    async fn ping(&self) -> StoreResult<()> {
        match self.inner.t.meta.get(FORMAT_KEY).map_err(from_sled)? {
            Some(_) => Ok(()),
            None => Err(StoreError::Corrupt {
                what: "format-version record vanished".into(),
                location: "sled tree `meta`".into(),
            }),
        }
    }

    async fn purge_expired(&self, now: Timestamp, limit: usize) -> StoreResult<usize> {
        if limit == 0 {
            return Ok(0);
        }
        self.write(move |db: &Inner| {
            let n = purge(db, now, limit)?;
            Ok(n + crate::nonces::purge(db, now, limit - n)?)
        })
        .await
    }
}
