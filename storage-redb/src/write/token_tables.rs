//! The token and QR tables of one write transaction, and the removals that keep their
//! indexes (`tokens_by_profile`, `qr_by_owner`, `expiry`) in step with the records.

use redb::{ReadableTable, Table, WriteTransaction};
use tessera_core::store::{QrRecord, TokenRecord};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables::{self as t, Expiring};

/// The tables every token and QR token lives in.
pub struct TokenTables<'tx> {
    pub tokens: Table<'tx, &'static [u8; 32], &'static [u8]>,
    pub by_profile: Table<'tx, &'static [u8; 48], ()>,
    pub qr: Table<'tx, &'static [u8; 32], &'static [u8]>,
    pub qr_by_owner: Table<'tx, &'static [u8; 48], ()>,
    pub expiry: Table<'tx, &'static [u8; 41], ()>,
}

impl<'tx> TokenTables<'tx> {
    pub fn open(tx: &'tx WriteTransaction) -> Fallible<Self> {
        Ok(Self {
            tokens: tx.open_table(t::TOKENS)?,
            by_profile: tx.open_table(t::TOKENS_BY_PROFILE)?,
            qr: tx.open_table(t::QR)?,
            qr_by_owner: tx.open_table(t::QR_BY_OWNER)?,
            expiry: tx.open_table(t::EXPIRY)?,
        })
    }

    pub fn token(&self, digest: &TokenDigest) -> Fallible<Option<TokenRecord>> {
        self.tokens
            .get(&digest.0)?
            .map(|v| {
                codec::decode_token(*digest, v.value())
                    .map_err(|e| Failure::decode("tokens", &digest.0, e))
            })
            .transpose()
    }

    pub fn qr_record(&self, digest: &TokenDigest) -> Fallible<Option<QrRecord>> {
        self.qr
            .get(&digest.0)?
            .map(|v| {
                codec::decode_qr(*digest, v.value())
                    .map_err(|e| Failure::decode("qr", &digest.0, e))
            })
            .transpose()
    }

    /// Delete a token and its index entries; whether it existed.
    pub fn remove_token(&mut self, digest: &TokenDigest) -> Fallible<bool> {
        let Some(tok) = self.token(digest)? else {
            return Ok(false);
        };
        self.tokens.remove(&digest.0)?;
        self.by_profile
            .remove(&t::pair_key(tok.profile_id, digest))?;
        self.expiry
            .remove(&t::expiry_key(tok.expires_at, Expiring::Token, &digest.0))?;
        Ok(true)
    }

    /// Delete a QR token and its index entries; whether it existed.
    pub fn remove_qr(&mut self, digest: &TokenDigest) -> Fallible<bool> {
        let Some(q) = self.qr_record(digest)? else {
            return Ok(false);
        };
        self.qr.remove(&digest.0)?;
        self.qr_by_owner.remove(&t::pair_key(q.owner, digest))?;
        self.expiry
            .remove(&t::expiry_key(q.expires_at, Expiring::Qr, &digest.0))?;
        Ok(true)
    }

    /// Every token of `profile` but `keep`, and every QR token it issued; how many.
    pub fn revoke(&mut self, profile: Uuid, keep: Option<&TokenDigest>) -> Fallible<u64> {
        let mut n = 0;
        for digest in digests_of(&self.by_profile, profile)? {
            if keep != Some(&digest) && self.remove_token(&digest)? {
                n += 1;
            }
        }
        for digest in digests_of(&self.qr_by_owner, profile)? {
            if self.remove_qr(&digest)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The digests a `tokens_by_profile` / `qr_by_owner` table lists for `profile`.
fn digests_of(
    index: &Table<'_, &'static [u8; 48], ()>,
    profile: Uuid,
) -> Fallible<Vec<TokenDigest>> {
    let (lo, hi) = t::pair_range(profile);
    let mut out = Vec::new();
    for entry in index.range::<&[u8; 48]>(&lo..=&hi)? {
        let (k, _) = entry?;
        let mut d = [0u8; 32];
        d.copy_from_slice(&k.value()[16..]);
        out.push(TokenDigest(d));
    }
    Ok(out)
}
