//! The write operations, each run inside one redb write transaction by [`crate::store`].
//!
//! Every function validates before it writes where it can, and any error aborts the
//! whole transaction, so a refused operation leaves nothing behind.

use redb::{ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, Conflict, ProfileRecord, QrRecord, Revoke, StoreError,
    ThrottleRecord, TokenRecord,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables::{self as t, Expiring};

mod external;
mod rotation;
mod single_use;
mod token_tables;

pub use external::{create_server_user, update_server_user};
pub use rotation::{revoke_family, rotate_refresh};
pub use single_use::{replace_tokens, take_token};
use token_tables::TokenTables;

/// The stored profile `id`, or `NotFound`.
fn profile(tx: &WriteTransaction, id: Uuid) -> Fallible<ProfileRecord> {
    let profiles = tx.open_table(t::PROFILES)?;
    let v = profiles.get(id.as_bytes())?.ok_or(StoreError::NotFound)?;
    codec::decode_profile(id, v.value()).map_err(|e| Failure::decode("profiles", id.as_bytes(), e))
}

/// `NotFound` or `VersionMismatch` unless profile `id` has `version`.
fn expect_version(tx: &WriteTransaction, id: Uuid, version: u64) -> Fallible<()> {
    if profile(tx, id)?.version == version {
        Ok(())
    } else {
        Err(StoreError::VersionMismatch.into())
    }
}

/// The next number of the `devices` creation sequence.
fn next_device_seq(tx: &WriteTransaction) -> Fallible<u64> {
    let mut meta = tx.open_table(t::META)?;
    let last = match meta.get(t::META_DEVICE_SEQ)? {
        Some(v) => u64::from_le_bytes(
            codec::decode_fixed(v.value())
                .map_err(|e| Failure::decode("meta", t::META_DEVICE_SEQ.as_bytes(), e))?,
        ),
        None => 0,
    };
    let next = last + 1;
    meta.insert(t::META_DEVICE_SEQ, next.to_le_bytes().as_slice())?;
    Ok(next)
}

/// Insert a new profile and claim its username (and public key) in the indexes.
pub fn create_profile(tx: &WriteTransaction, p: &ProfileRecord) -> Fallible<()> {
    let mut usernames = tx.open_table(t::USERNAMES)?;
    if usernames.get(p.username.as_str())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Username).into());
    }
    let mut profiles = tx.open_table(t::PROFILES)?;
    if profiles.get(p.id.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    if let Some(k) = &p.public_key {
        let mut keys = tx.open_table(t::PUBLIC_KEYS)?;
        if keys.get(k)?.is_some() {
            return Err(StoreError::Conflict(Conflict::PublicKey).into());
        }
        keys.insert(k, p.id.as_bytes())?;
    }
    usernames.insert(p.username.as_str(), p.id.as_bytes())?;
    if let Some(owner) = p.owner {
        let seq = next_device_seq(tx)?;
        tx.open_table(t::DEVICES)?
            .insert(&t::device_key(owner, seq), p.id.as_bytes())?;
    }
    profiles.insert(p.id.as_bytes(), codec::encode_profile(p).as_slice())?;
    Ok(())
}

/// Replace a profile at `expected` version, move its key index, apply `revoke`.
pub fn update_profile(
    tx: &WriteTransaction,
    p: &ProfileRecord,
    expected: u64,
    revoke: Revoke,
) -> Fallible<()> {
    let old = profile(tx, p.id)?;
    if old.version != expected {
        return Err(StoreError::VersionMismatch.into());
    }
    {
        let mut keys = tx.open_table(t::PUBLIC_KEYS)?;
        if let Some(k) = &p.public_key
            && keys
                .get(k)?
                .is_some_and(|owner| owner.value() != p.id.as_bytes())
        {
            return Err(StoreError::Conflict(Conflict::PublicKey).into());
        }
        if old.public_key != p.public_key {
            if let Some(k) = &old.public_key {
                keys.remove(k)?;
            }
            if let Some(k) = &p.public_key {
                keys.insert(k, p.id.as_bytes())?;
            }
        }
    }
    let mut stored = p.clone();
    stored.username = old.username;
    stored.owner = old.owner;
    stored.version = expected + 1;
    tx.open_table(t::PROFILES)?
        .insert(p.id.as_bytes(), codec::encode_profile(&stored).as_slice())?;
    match revoke {
        Revoke::Nothing => {}
        Revoke::All => {
            TokenTables::open(tx)?.revoke(p.id, None)?;
        }
        Revoke::AllExcept(keep) => {
            TokenTables::open(tx)?.revoke(p.id, Some(&keep))?;
        }
    }
    Ok(())
}

/// Redeem QR token `qr` (live at `now`, issued by the device's owner) into `device`.
pub fn create_device(
    tx: &WriteTransaction,
    device: &ProfileRecord,
    qr: &TokenDigest,
    now: Timestamp,
) -> Fallible<()> {
    {
        let tables = TokenTables::open(tx)?;
        match tables.qr_record(qr)? {
            Some(q) if q.expires_at > now && Some(q.owner) == device.owner => {}
            _ => return Err(StoreError::NotFound.into()),
        }
    }
    create_profile(tx, device)?;
    TokenTables::open(tx)?.remove_qr(qr)?;
    Ok(())
}

/// Store a token of a profile that has `version`.
pub fn put_token(tx: &WriteTransaction, tok: &TokenRecord, version: u64) -> Fallible<()> {
    expect_version(tx, tok.profile_id, version)?;
    let mut tables = TokenTables::open(tx)?;
    if tables.has_token(&tok.digest)? {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    tables.insert_token(tok)
}

/// Move a live token's expiry (and its `expiry` index entry).
pub fn set_token_expiry(
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

/// Delete one token.
pub fn revoke_token(tx: &WriteTransaction, digest: &TokenDigest) -> Fallible<bool> {
    TokenTables::open(tx)?.remove_token(digest)
}

/// Delete every token and QR token of a profile.
pub fn revoke_profile_tokens(tx: &WriteTransaction, profile: Uuid) -> Fallible<u64> {
    TokenTables::open(tx)?.revoke(profile, None)
}

/// Store a QR token of an owner that has `version`.
pub fn put_qr(tx: &WriteTransaction, q: &QrRecord, version: u64) -> Fallible<()> {
    expect_version(tx, q.owner, version)?;
    let mut qr = tx.open_table(t::QR)?;
    let d = &q.digest.0;
    if qr.get(d)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    qr.insert(d, codec::encode_qr(q).as_slice())?;
    tx.open_table(t::QR_BY_OWNER)?
        .insert(&t::pair_key(q.owner, &q.digest), ())?;
    tx.open_table(t::EXPIRY)?
        .insert(&t::expiry_key(q.expires_at, Expiring::Qr, d), ())?;
    Ok(())
}

/// Record a command outcome.
pub fn put_command(tx: &WriteTransaction, c: &CommandRecord) -> Fallible<()> {
    let mut commands = tx.open_table(t::COMMANDS)?;
    if commands.get(c.id.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    commands.insert(c.id.as_bytes(), codec::encode_command(c).as_slice())?;
    tx.open_table(t::EXPIRY)?.insert(
        &t::expiry_key(c.expires_at, Expiring::Command, c.id.as_bytes()),
        (),
    )?;
    Ok(())
}

/// Add one failure to a throttle counter.
pub fn record_failure(
    tx: &WriteTransaction,
    key: &str,
    now: Timestamp,
) -> Fallible<ThrottleRecord> {
    let mut throttle = tx.open_table(t::THROTTLE)?;
    let mut r = match throttle.get(key)? {
        Some(v) => codec::decode_throttle(v.value())
            .map_err(|e| Failure::decode("throttle", key.as_bytes(), e))?,
        None => ThrottleRecord::default(),
    };
    r.failures = r.failures.saturating_add(1);
    r.last_failure = now;
    throttle.insert(key, codec::encode_throttle(r).as_slice())?;
    Ok(r)
}

/// Reset a throttle counter.
pub fn clear_throttle(tx: &WriteTransaction, key: &str) -> Fallible<()> {
    tx.open_table(t::THROTTLE)?.remove(key)?;
    Ok(())
}

/// The stored server key seed, storing `candidate` first if there is none.
pub fn server_key_or_insert(tx: &WriteTransaction, candidate: [u8; 32]) -> Fallible<[u8; 32]> {
    let mut meta = tx.open_table(t::META)?;
    if let Some(v) = meta.get(t::META_SERVER_KEY)? {
        return codec::decode_fixed(v.value())
            .map_err(|e| Failure::decode("meta", t::META_SERVER_KEY.as_bytes(), e));
    }
    meta.insert(t::META_SERVER_KEY, candidate.as_slice())?;
    Ok(candidate)
}

/// Store a server API key.
pub fn put_api_key(tx: &WriteTransaction, k: &ApiKeyRecord) -> Fallible<()> {
    let mut keys = tx.open_table(t::API_KEYS)?;
    if keys.get(&k.digest.0)?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    keys.insert(&k.digest.0, codec::encode_api_key(k).as_slice())?;
    Ok(())
}

/// Delete at most `limit` records that expire at or before `now`, earliest first.
pub fn purge_expired(tx: &WriteTransaction, now: Timestamp, limit: usize) -> Fallible<usize> {
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
    Ok(n)
}
