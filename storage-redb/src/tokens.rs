//! [`TokenStore`] on [`RedbStore`]: authorization, refresh, single-use and OAuth tokens. Each
//! method is one redb transaction; every token written or deleted goes through
//! [`TokenTables`] (`token_index.rs`), which keeps the token indexes in step.

use std::collections::BTreeSet;

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{
    CommandRecord, Conflict, ResolvedToken, Rotation, StoreError, StoreResult, TokenRecord,
    TokenStore,
};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use crate::codec;
use crate::commands;
use crate::error::{Failure, Fallible};
use crate::profiles::expect_version;
use crate::store::RedbStore;
use crate::tables::{self as t, Expiring};
use crate::token_index::TokenTables;

#[async_trait]
impl TokenStore for RedbStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let t = token.clone();
        self.write(move |tx| put_token(tx, &t, profile_version))
            .await
    }

    /// All or nothing: one write transaction, so on the first error none is stored.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        let batch = tokens.to_vec();
        self.write(move |tx| batch.iter().try_for_each(|(t, v)| put_token(tx, t, *v)))
            .await
    }

    /// On the calling task, on the shared verify snapshot (see [`RedbStore`]).
    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        self.resolve(digest)
    }

    fn resolve_token_now(
        &self,
        digest: &TokenDigest,
    ) -> Option<StoreResult<Option<ResolvedToken>>> {
        Some(self.resolve(digest))
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.read(move |rx| get_token(rx, &d)).await
    }

    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (d, c) = (*digest, command.cloned());
        self.write(move |tx| {
            set_token_expiry(tx, &d, expires_at, now)?;
            commands::record(tx, c.as_ref())
        })
        .await
    }

    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let (d, c) = (*digest, command.cloned());
        self.write(move |tx| {
            let existed = TokenTables::open(tx)?.remove_token(&d)?;
            if existed {
                commands::record(tx, c.as_ref())?;
            }
            Ok(existed)
        })
        .await
    }

    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64> {
        let c = command.cloned();
        self.write(move |tx| {
            let n = TokenTables::open(tx)?.revoke(profile, None)?;
            commands::record(tx, c.as_ref())?;
            Ok(n)
        })
        .await
    }

    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let (old, issue) = (*old_digest, issue.to_vec());
        self.write(move |tx| spend_token(tx, &old, &issue, now))
            .await
    }

    /// One range read of `tokens_by_profile`.
    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>> {
        self.read(move |rx| list_profile_tokens(rx, profile)).await
    }

    /// Through the `tokens_by_family` index: one range read, never a scan.
    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        self.write(move |tx| TokenTables::open(tx)?.revoke_family(family))
            .await
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.write(move |tx| take_token(tx, &d, kind, now)).await
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let t = token.clone();
        self.write(move |tx| replace_tokens(tx, &t)).await
    }
}

/// Store a token of a profile that has `version`.
fn put_token(tx: &WriteTransaction, tok: &TokenRecord, version: u64) -> Fallible<()> {
    expect_version(tx, tok.profile_id, version)?;
    let mut tables = TokenTables::open(tx)?;
    if tables.has_token(&tok.digest)? {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    tables.insert_token(tok)
}

/// Token `digest`.
fn get_token(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<TokenRecord>> {
    token_in(&rx.open_table(t::TOKENS)?, digest)
}

/// Token `digest` in `tokens` (of any transaction).
pub(crate) fn token_in(
    tokens: &impl ReadableTable<&'static [u8; 32], &'static [u8]>,
    digest: &TokenDigest,
) -> Fallible<Option<TokenRecord>> {
    let Some(v) = tokens.get(&digest.0)? else {
        return Ok(None);
    };
    codec::decode_token(*digest, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("tokens", &digest.0, e))
}

impl RedbStore {
    /// `resolve_token`: from the cache of resolved tokens while no commit was counted since
    /// the entry's read (a hit takes no lock), else on the shared verify snapshot.
    fn resolve(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        let inner = self.inner();
        if let Some(hit) = inner.resolved.get(digest, inner.commits()) {
            return Ok(Some(hit));
        }
        self.read_snapshot(|s| {
            let found = resolve_token(&s.tokens, &s.profiles, digest)?;
            if let Some(t) = &found {
                inner.resolved.put(t, s.epoch);
            }
            Ok(found)
        })
    }
}

/// The hot path of verify: two lookups and a prefix decode, on tables already open in one
/// read transaction (a consistent snapshot); the only allocations of ours are the
/// resolved token's environments.
fn resolve_token(
    tokens: &impl ReadableTable<&'static [u8; 32], &'static [u8]>,
    profiles: &impl ReadableTable<&'static [u8; 16], &'static [u8]>,
    digest: &TokenDigest,
) -> Fallible<Option<ResolvedToken>> {
    let Some(tok) = token_in(tokens, digest)? else {
        return Ok(None);
    };
    let Some(v) = profiles.get(tok.profile_id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_resolved(&tok, tok.profile_id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("profiles", tok.profile_id.as_bytes(), e))
}

/// Move a live token's expiry (and its `expiry` index entry).
fn set_token_expiry(
    tx: &WriteTransaction,
    digest: &TokenDigest,
    expires_at: Timestamp,
    now: Timestamp,
) -> Fallible<()> {
    let mut tables = TokenTables::open(tx)?;
    let mut tok = match tables.token(digest)? {
        Some(tok) if tok.expires_at > now => tok,
        _ => return Err(StoreError::NotFound.into()),
    };
    let d = &digest.0;
    tables
        .expiry
        .remove(&t::expiry_key(tok.expires_at, Expiring::Token, d))?;
    tok.expires_at = expires_at;
    tables
        .expiry
        .insert(&t::expiry_key(expires_at, Expiring::Token, d), ())?;
    tables
        .tokens
        .insert(d, codec::encode_token(&tok).as_slice())?;
    Ok(())
}

/// Spend the single-use token `old` (a refresh token, an OAuth code or OAuth refresh
/// token) for `issue`, or revoke its family when it was already spent (see
/// `TokenStore::spend_token`). Reads and writes in the caller's one transaction, so of
/// concurrent spends of one token exactly one sees it live.
fn spend_token(
    tx: &WriteTransaction,
    old: &TokenDigest,
    issue: &[TokenRecord],
    now: Timestamp,
) -> Fallible<Rotation> {
    let mut tables = TokenTables::open(tx)?;
    let Some(mut stored) = tables.token(old)? else {
        return Ok(Rotation::Unknown);
    };
    let Some(family) = stored.family else {
        return Ok(Rotation::Unknown);
    };
    let matches = issue
        .iter()
        .all(|n| n.profile_id == stored.profile_id && n.family == Some(family));
    if !matches || stored.expires_at <= now {
        return Ok(Rotation::Unknown);
    }
    if let Some(spent) = stored.kind.spent() {
        let mut seen = BTreeSet::new();
        for n in issue {
            if !seen.insert(n.digest.0) || tables.has_token(&n.digest)? {
                return Err(StoreError::Conflict(Conflict::Exists).into());
            }
        }
        // Only the kind changes: the digest, owner, family and expiry (so every index
        // entry) stay as they are.
        stored.kind = spent;
        tables
            .tokens
            .insert(&old.0, codec::encode_token(&stored).as_slice())?;
        for n in issue {
            tables.insert_token(n)?;
        }
        Ok(Rotation::Rotated)
    } else if stored.kind.is_spent() {
        tables.revoke_family(family)?;
        Ok(Rotation::Reused)
    } else {
        Ok(Rotation::Unknown)
    }
}

/// Every token of `profile`, by issue time then digest.
fn list_profile_tokens(rx: &ReadTransaction, profile: Uuid) -> Fallible<Vec<TokenRecord>> {
    let tokens = rx.open_table(t::TOKENS)?;
    let index = rx.open_table(t::TOKENS_BY_PROFILE)?;
    let (lo, hi) = t::pair_range(profile);
    let mut out = Vec::new();
    for entry in index.range::<&[u8; 48]>(&lo..=&hi)? {
        let (k, _) = entry?;
        let mut d = [0u8; 32];
        d.copy_from_slice(&k.value()[16..]);
        if let Some(tok) = token_in(&tokens, &TokenDigest(d))? {
            out.push(tok);
        }
    }
    out.sort_by_key(|tok| (tok.issued_at, tok.digest.0));
    Ok(out)
}

/// Delete the token of `kind` stored under `digest`; it, if it was live at `now`.
/// A token of another kind is left alone.
fn take_token(
    tx: &WriteTransaction,
    digest: &TokenDigest,
    kind: TokenKind,
    now: Timestamp,
) -> Fallible<Option<TokenRecord>> {
    let mut tables = TokenTables::open(tx)?;
    match tables.token(digest)? {
        Some(tok) if tok.kind == kind => {}
        _ => return Ok(None),
    }
    Ok(tables
        .take_token(digest)?
        .filter(|tok| tok.expires_at > now))
}

/// Delete every token of `token`'s profile and kind, then store `token`; how many went.
fn replace_tokens(tx: &WriteTransaction, token: &TokenRecord) -> Fallible<u64> {
    if tx
        .open_table(t::PROFILES)?
        .get(token.profile_id.as_bytes())?
        .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    let mut tables = TokenTables::open(tx)?;
    if tables.has_token(&token.digest)? {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    let mut n = 0;
    for old in tables.tokens_of(token.profile_id)? {
        if old.kind == token.kind && tables.remove_token(&old.digest)? {
            n += 1;
        }
    }
    tables.insert_token(token)?;
    Ok(n)
}
