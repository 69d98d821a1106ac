//! The layouts of tokens, QR tokens, commands, throttle counters, API keys and `meta`
//! values (see the tables in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStatus, QrRecord, ThrottleRecord, TokenRecord,
};
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

/// Size of a token record.
pub const TOKEN_LEN: usize = 50;

/// Encode a token record (its digest is the key).
pub fn encode_token(t: &TokenRecord) -> [u8; TOKEN_LEN] {
    let mut b = [0u8; TOKEN_LEN];
    b[..16].copy_from_slice(t.profile_id.as_bytes());
    b[16] = t.kind.tag();
    b[17..25].copy_from_slice(&t.issued_at.0.to_le_bytes());
    b[25..33].copy_from_slice(&t.expires_at.0.to_le_bytes());
    if let Some(f) = t.family {
        b[33] = 1;
        b[34..].copy_from_slice(f.as_bytes());
    }
    b
}

/// Decode a token record stored under `digest`.
pub fn decode_token(digest: TokenDigest, data: &[u8]) -> Result<TokenRecord, DecodeError> {
    let mut r = Reader::new(data);
    let profile_id = Uuid::from_bytes(r.array()?);
    let kind = TokenKind::from_tag(r.u8()?).ok_or(r.error_before(1, "unknown token kind"))?;
    let issued_at = Timestamp(r.i64()?);
    let expires_at = Timestamp(r.i64()?);
    let has_family = r.bool()?;
    let family = Uuid::from_bytes(r.array()?);
    if !has_family && !family.is_nil() {
        return Err(r.error_before(16, "family bytes without a family"));
    }
    r.end()?;
    Ok(TokenRecord {
        digest,
        profile_id,
        kind,
        issued_at,
        expires_at,
        family: has_family.then_some(family),
    })
}

/// Encode a QR record (its digest is the key).
pub fn encode_qr(q: &QrRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(64);
    w.bytes(q.owner.as_bytes());
    w.i64(q.issued_at.0);
    w.i64(q.expires_at.0);
    w.u8(u8::from(q.device_name.is_some()));
    if let Some(n) = &q.device_name {
        w.str(n);
    }
    w.finish()
}

/// Decode a QR record stored under `digest`.
pub fn decode_qr(digest: TokenDigest, data: &[u8]) -> Result<QrRecord, DecodeError> {
    let mut r = Reader::new(data);
    let owner = Uuid::from_bytes(r.array()?);
    let issued_at = Timestamp(r.i64()?);
    let expires_at = Timestamp(r.i64()?);
    let device_name = r.bool()?.then(|| r.str()).transpose()?.map(str::to_owned);
    r.end()?;
    Ok(QrRecord {
        digest,
        owner,
        issued_at,
        expires_at,
        device_name,
    })
}

/// Encode a command record (its id is the key).
pub fn encode_command(c: &CommandRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(64 + c.body.len());
    w.u8(c.status as u8);
    w.u8(u8::from(c.profile_id.is_some()));
    w.bytes(c.profile_id.unwrap_or_default().as_bytes());
    w.i64(c.created_at.0);
    w.i64(c.expires_at.0);
    w.str(&c.body);
    w.u32(c.result.len() as u32);
    for (k, v) in &c.result {
        w.str(k);
        w.str(v);
    }
    w.finish()
}

/// Decode a command record stored under `id`.
pub fn decode_command(id: Uuid, data: &[u8]) -> Result<CommandRecord, DecodeError> {
    let mut r = Reader::new(data);
    let status =
        CommandStatus::from_u8(r.u8()?).ok_or(r.error_before(1, "unknown command status"))?;
    let has_profile = r.bool()?;
    let profile = Uuid::from_bytes(r.array()?);
    let created_at = Timestamp(r.i64()?);
    let expires_at = Timestamp(r.i64()?);
    let body = r.str()?.to_owned();
    let n = r.u32()? as usize;
    let mut result = Vec::with_capacity(n.min(r.remaining() / 8));
    for _ in 0..n {
        let k = r.str()?.to_owned();
        result.push((k, r.str()?.to_owned()));
    }
    r.end()?;
    Ok(CommandRecord {
        id,
        profile_id: has_profile.then_some(profile),
        status,
        body,
        result,
        created_at,
        expires_at,
    })
}

/// Encode a throttle record.
pub fn encode_throttle(t: ThrottleRecord) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&t.failures.to_le_bytes());
    b[4..].copy_from_slice(&t.last_failure.0.to_le_bytes());
    b
}

/// Decode a throttle record.
pub fn decode_throttle(data: &[u8]) -> Result<ThrottleRecord, DecodeError> {
    let mut r = Reader::new(data);
    let failures = r.u32()?;
    let last_failure = Timestamp(r.i64()?);
    r.end()?;
    Ok(ThrottleRecord {
        failures,
        last_failure,
    })
}

/// Encode an API key record (its digest is the key).
pub fn encode_api_key(k: &ApiKeyRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(12 + k.name.len());
    w.i64(k.created_at.0);
    w.str(&k.name);
    w.finish()
}

/// Decode an API key record stored under `digest`.
pub fn decode_api_key(digest: TokenDigest, data: &[u8]) -> Result<ApiKeyRecord, DecodeError> {
    let mut r = Reader::new(data);
    let created_at = Timestamp(r.i64()?);
    let name = r.str()?.to_owned();
    r.end()?;
    Ok(ApiKeyRecord {
        digest,
        name,
        created_at,
    })
}

/// Decode a fixed-size `meta` value (format version, device sequence, server key).
pub fn decode_fixed<const N: usize>(data: &[u8]) -> Result<[u8; N], DecodeError> {
    let mut r = Reader::new(data);
    let v = r.array()?;
    r.end()?;
    Ok(v)
}
