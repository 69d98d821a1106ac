//! A token and its index entries, written and deleted together inside a transaction.
//!
//! A stored token has its record in `tokens` and, in the same transaction, an entry in
//! `profile_tokens` and `expiry`; a token with a family also has one in `family_tokens` and
//! is counted in `family_size`. Every path that stores or deletes a token goes through
//! [`TokenTx::insert`] and [`TokenTx::remove`], so the indexes never drift.

use sled::transaction::TransactionalTree;
use tessera_core::store::TokenRecord;
use tessera_core::{Timestamp, TokenDigest};
use uuid::Uuid;

use crate::codec::{TokenView, decode_fixed, decode_token_view, encode_token};
use crate::error::{TxResult, abort, abort_corrupt, corrupt, corrupt_entry};
use crate::revoke::bump_generation;
use crate::trees::{EXP_TOKEN, expiry_key, pair_key};

const EMPTY: &[u8] = &[];

/// A token to store, encoded.
pub(crate) struct NewToken {
    pub digest: [u8; 32],
    pub profile: Uuid,
    pub expires_at: Timestamp,
    pub family: Option<Uuid>,
    pub value: Vec<u8>,
}

impl NewToken {
    pub(crate) fn new(t: &TokenRecord) -> Self {
        Self {
            digest: t.digest.0,
            profile: t.profile_id,
            expires_at: t.expires_at,
            family: t.family,
            value: encode_token(t),
        }
    }
}

/// The token trees of a transaction.
pub(crate) struct TokenTx<'a> {
    pub tokens: &'a TransactionalTree,
    pub profile_tokens: &'a TransactionalTree,
    pub family_tokens: &'a TransactionalTree,
    pub family_size: &'a TransactionalTree,
    pub expiry: &'a TransactionalTree,
}

impl TokenTx<'_> {
    /// The stored token `digest`, decoded (a damaged record aborts with `Corrupt`).
    pub(crate) fn view(&self, digest: &[u8; 32]) -> TxResult<Option<TokenView>> {
        let Some(raw) = self.tokens.get(digest)? else {
            return Ok(None);
        };
        match decode_token_view(&raw) {
            Ok(v) => Ok(Some(v)),
            Err(e) => abort_corrupt("tokens", digest, e),
        }
    }

    /// Whether a token is stored under `digest`.
    pub(crate) fn exists(&self, digest: &[u8; 32]) -> TxResult<bool> {
        Ok(self.tokens.get(digest)?.is_some())
    }

    /// Store `n` with its index entries and bump its profile's attachment generation in
    /// `attach`. The caller has checked that the digest is free.
    pub(crate) fn insert(&self, attach: &TransactionalTree, n: &NewToken) -> TxResult<()> {
        let d = &n.digest;
        self.tokens.insert(&d[..], n.value.as_slice())?;
        self.profile_tokens
            .insert(&pair_key(n.profile, d)[..], EMPTY)?;
        self.expiry
            .insert(expiry_key(n.expires_at, EXP_TOKEN, d), EMPTY)?;
        if let Some(f) = n.family {
            self.family_tokens.insert(&pair_key(f, d)[..], EMPTY)?;
            let size = self.family_size(f)?;
            self.set_family_size(f, size + 1)?;
        }
        bump_generation(attach, n.profile)
    }

    /// Store `v` over the token `digest`. `v` keeps the stored token's profile, expiry and
    /// family (only its kind may change), so the index entries stay valid.
    pub(crate) fn rewrite(&self, digest: &[u8; 32], v: &TokenView) -> TxResult<()> {
        let rec = TokenRecord {
            digest: TokenDigest(*digest),
            profile_id: v.profile_id,
            kind: v.kind,
            issued_at: v.issued_at,
            expires_at: v.expires_at,
            family: v.family,
        };
        self.tokens.insert(&digest[..], encode_token(&rec))?;
        Ok(())
    }

    /// Delete the token `digest` (described by `v`, as stored) and its index entries.
    pub(crate) fn remove(&self, digest: &[u8; 32], v: &TokenView) -> TxResult<()> {
        self.tokens.remove(&digest[..])?;
        self.profile_tokens
            .remove(&pair_key(v.profile_id, digest)[..])?;
        self.expiry
            .remove(expiry_key(v.expires_at, EXP_TOKEN, digest))?;
        if let Some(f) = v.family {
            self.family_tokens.remove(&pair_key(f, digest)[..])?;
            match self.family_size(f)?.checked_sub(1) {
                Some(size) => self.set_family_size(f, size)?,
                None => {
                    return abort(corrupt_entry(
                        "family_size",
                        f.as_bytes(),
                        "counts fewer tokens than the family has",
                    ));
                }
            }
        }
        Ok(())
    }

    /// How many tokens of `family` are stored.
    pub(crate) fn family_size(&self, family: Uuid) -> TxResult<u64> {
        let key = family.as_bytes();
        match self.family_size.get(key)? {
            None => Ok(0),
            Some(raw) => match decode_fixed::<8>(&raw) {
                Ok(b) => Ok(u64::from_le_bytes(b)),
                Err(e) => abort(corrupt("family_size", key, e)),
            },
        }
    }

    fn set_family_size(&self, family: Uuid, size: u64) -> TxResult<()> {
        let key = family.as_bytes();
        if size == 0 {
            self.family_size.remove(&key[..])?;
        } else {
            self.family_size.insert(&key[..], &size.to_le_bytes()[..])?;
        }
        Ok(())
    }
}
