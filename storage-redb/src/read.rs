//! The read operations, each inside one redb read transaction (a consistent snapshot).

use redb::{ReadTransaction, ReadableTable};
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, ProfileRecord, QrRecord, ResolvedToken, ServerUserRecord,
    ThrottleRecord, TokenRecord,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::tables as t;

/// Profile `id`.
pub fn profile(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<ProfileRecord>> {
    let profiles = rx.open_table(t::PROFILES)?;
    let Some(v) = profiles.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_profile(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("profiles", id.as_bytes(), e))
}

/// The profile that holds canonical `username`.
pub fn profile_by_username(
    rx: &ReadTransaction,
    username: &str,
) -> Fallible<Option<ProfileRecord>> {
    let id = match rx.open_table(t::USERNAMES)?.get(username)? {
        Some(v) => Uuid::from_bytes(*v.value()),
        None => return Ok(None),
    };
    profile(rx, id)
}

/// Every device of `owner`, in creation order.
pub fn devices(rx: &ReadTransaction, owner: Uuid) -> Fallible<Vec<ProfileRecord>> {
    let index = rx.open_table(t::DEVICES)?;
    let (lo, hi) = (t::device_key(owner, 0), t::device_key(owner, u64::MAX));
    let mut out = Vec::new();
    for entry in index.range::<&[u8; 24]>(&lo..=&hi)? {
        let (_, id) = entry?;
        if let Some(p) = profile(rx, Uuid::from_bytes(*id.value()))? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Token `digest`.
pub fn token(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<TokenRecord>> {
    token_in(&rx.open_table(t::TOKENS)?, digest)
}

fn token_in(
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

/// The hot path of verify: two lookups and a prefix decode, on tables already open in one
/// read transaction (a consistent snapshot); the only allocations of ours are the returned
/// resolved token's environments.
pub fn resolved_in(
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

/// QR token `digest`.
pub fn qr(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<QrRecord>> {
    let qr = rx.open_table(t::QR)?;
    let Some(v) = qr.get(&digest.0)? else {
        return Ok(None);
    };
    codec::decode_qr(*digest, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("qr", &digest.0, e))
}

/// Command `id`.
pub fn command(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<CommandRecord>> {
    let commands = rx.open_table(t::COMMANDS)?;
    let Some(v) = commands.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_command(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("commands", id.as_bytes(), e))
}

/// Throttle counter `key`.
pub fn throttle(rx: &ReadTransaction, key: &str) -> Fallible<Option<ThrottleRecord>> {
    let throttle = rx.open_table(t::THROTTLE)?;
    let Some(v) = throttle.get(key)? else {
        return Ok(None);
    };
    codec::decode_throttle(v.value())
        .map(Some)
        .map_err(|e| Failure::decode("throttle", key.as_bytes(), e))
}

/// API key `digest`.
pub fn api_key(rx: &ReadTransaction, digest: &TokenDigest) -> Fallible<Option<ApiKeyRecord>> {
    let keys = rx.open_table(t::API_KEYS)?;
    let Some(v) = keys.get(&digest.0)? else {
        return Ok(None);
    };
    codec::decode_api_key(*digest, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("api_keys", &digest.0, e))
}

/// Server-registered user `external_id`.
pub fn external_user(
    rx: &ReadTransaction,
    external_id: &str,
) -> Fallible<Option<ServerUserRecord>> {
    let users = rx.open_table(t::SERVER_USERS)?;
    let Some(v) = users.get(external_id)? else {
        return Ok(None);
    };
    codec::decode_server_user(external_id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("external_users", external_id.as_bytes(), e))
}

/// The stamped format version (a cheap read that proves the store can serve).
pub fn format_version(rx: &ReadTransaction) -> Fallible<Option<u32>> {
    let meta = rx.open_table(t::META)?;
    let Some(v) = meta.get(t::META_FORMAT_VERSION)? else {
        return Ok(None);
    };
    codec::decode_fixed(v.value())
        .map(|b| Some(u32::from_le_bytes(b)))
        .map_err(|e| Failure::decode("meta", t::META_FORMAT_VERSION.as_bytes(), e))
}
