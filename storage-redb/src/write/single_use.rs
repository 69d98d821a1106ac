//! Single-use tokens: consuming one (`TokenStore::take_token`) and issuing one that voids
//! the profile's earlier ones of its kind (`TokenStore::replace_tokens`).

use redb::{ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{Conflict, StoreError, TokenRecord};
use tessera_core::token::{TokenDigest, TokenKind};

use super::TokenTables;
use crate::error::Fallible;
use crate::tables as t;

/// Delete the token of `kind` stored under `digest`; it, if it was live at `now`.
/// A token of another kind is left alone.
pub fn take_token(
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
pub fn replace_tokens(tx: &WriteTransaction, token: &TokenRecord) -> Fallible<u64> {
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
