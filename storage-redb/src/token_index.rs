//! The token index: the token and QR tables of one write transaction, and the insertions
//! and removals that keep their indexes (`tokens_by_profile`, `tokens_by_family`,
//! `qr_by_owner`, `expiry`) in step with the records. Every path that stores or deletes a
//! token goes through [`TokenTables::insert_token`] or [`TokenTables::remove_token`].

use redb::{ReadableTable, Table, WriteTransaction};
use tessera_core::store::{QrRecord, TokenRecord};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables::{self as t, Expiring};

/// The tables every token and QR token lives in.
pub(crate) struct TokenTables<'tx> {
    pub tokens: Table<'tx, &'static [u8; 32], &'static [u8]>,
    pub by_profile: Table<'tx, &'static [u8; 48], ()>,
    pub by_family: Table<'tx, &'static [u8; 48], ()>,
    pub qr: Table<'tx, &'static [u8; 32], &'static [u8]>,
    pub qr_by_owner: Table<'tx, &'static [u8; 48], ()>,
    pub expiry: Table<'tx, &'static [u8; 41], ()>,
}

impl<'tx> TokenTables<'tx> {
    pub(crate) fn open(tx: &'tx WriteTransaction) -> Fallible<Self> {
        Ok(Self {
            tokens: tx.open_table(t::TOKENS)?,
            by_profile: tx.open_table(t::TOKENS_BY_PROFILE)?,
            by_family: tx.open_table(t::TOKENS_BY_FAMILY)?,
            qr: tx.open_table(t::QR)?,
            qr_by_owner: tx.open_table(t::QR_BY_OWNER)?,
            expiry: tx.open_table(t::EXPIRY)?,
        })
    }

    pub(crate) fn token(&self, digest: &TokenDigest) -> Fallible<Option<TokenRecord>> {
        self.tokens
            .get(&digest.0)?
            .map(|v| {
                codec::decode_token(*digest, v.value())
                    .map_err(|e| Failure::decode("tokens", &digest.0, e))
            })
            .transpose()
    }

    pub(crate) fn qr_record(&self, digest: &TokenDigest) -> Fallible<Option<QrRecord>> {
        self.qr
            .get(&digest.0)?
            .map(|v| {
                codec::decode_qr(*digest, v.value())
                    .map_err(|e| Failure::decode("qr", &digest.0, e))
            })
            .transpose()
    }

    /// Whether a token is stored under `digest`.
    pub(crate) fn has_token(&self, digest: &TokenDigest) -> Fallible<bool> {
        Ok(self.tokens.get(&digest.0)?.is_some())
    }

    /// Store a token and its index entries (the caller checked the digest is free).
    pub(crate) fn insert_token(&mut self, tok: &TokenRecord) -> Fallible<()> {
        let d = &tok.digest;
        self.tokens
            .insert(&d.0, codec::encode_token(tok).as_slice())?;
        self.by_profile
            .insert(&t::pair_key(tok.profile_id, d), ())?;
        if let Some(family) = tok.family {
            self.by_family.insert(&t::pair_key(family, d), ())?;
        }
        self.expiry
            .insert(&t::expiry_key(tok.expires_at, Expiring::Token, &d.0), ())?;
        Ok(())
    }

    /// Delete a token and its index entries; the record, if it existed.
    pub(crate) fn take_token(&mut self, digest: &TokenDigest) -> Fallible<Option<TokenRecord>> {
        let Some(tok) = self.token(digest)? else {
            return Ok(None);
        };
        self.tokens.remove(&digest.0)?;
        self.by_profile
            .remove(&t::pair_key(tok.profile_id, digest))?;
        if let Some(family) = tok.family {
            self.by_family.remove(&t::pair_key(family, digest))?;
        }
        self.expiry
            .remove(&t::expiry_key(tok.expires_at, Expiring::Token, &digest.0))?;
        Ok(Some(tok))
    }

    /// Delete a token and its index entries; whether it existed.
    pub(crate) fn remove_token(&mut self, digest: &TokenDigest) -> Fallible<bool> {
        Ok(self.take_token(digest)?.is_some())
    }

    /// Every token whose family is `family` (any kind, expired or not); how many.
    pub(crate) fn revoke_family(&mut self, family: Uuid) -> Fallible<u64> {
        let mut n = 0;
        for digest in digests_of(&self.by_family, family)? {
            if self.remove_token(&digest)? {
                n += 1;
            } else {
                // An entry without its token: drop it so it is not found again.
                self.by_family.remove(&t::pair_key(family, &digest))?;
            }
        }
        Ok(n)
    }

    /// The stored tokens of `profile`.
    pub(crate) fn tokens_of(&self, profile: Uuid) -> Fallible<Vec<TokenRecord>> {
        let mut out = Vec::new();
        for digest in digests_of(&self.by_profile, profile)? {
            if let Some(tok) = self.token(&digest)? {
                out.push(tok);
            }
        }
        Ok(out)
    }

    /// Delete a QR token and its index entries; whether it existed.
    pub(crate) fn remove_qr(&mut self, digest: &TokenDigest) -> Fallible<bool> {
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
    pub(crate) fn revoke(&mut self, profile: Uuid, keep: Option<&TokenDigest>) -> Fallible<u64> {
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

/// The digests a `tokens_by_profile` / `tokens_by_family` / `qr_by_owner` table lists for
/// `owner` (a profile or a family).
fn digests_of(index: &Table<'_, &'static [u8; 48], ()>, owner: Uuid) -> Fallible<Vec<TokenDigest>> {
    let (lo, hi) = t::pair_range(owner);
    let mut out = Vec::new();
    for entry in index.range::<&[u8; 48]>(&lo..=&hi)? {
        let (k, _) = entry?;
        let mut d = [0u8; 32];
        d.copy_from_slice(&k.value()[16..]);
        out.push(TokenDigest(d));
    }
    Ok(out)
}
