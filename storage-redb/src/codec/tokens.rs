//! The token layout (see the table in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::TokenRecord;
use tessera_core::token::{TokenDigest, TokenKind};
use uuid::Uuid;

use super::bytes::{DecodeError, Reader};

/// Size of a token record.
pub(super) const TOKEN_LEN: usize = 50;

/// Encode a token record (its digest is the key).
pub(crate) fn encode_token(t: &TokenRecord) -> [u8; TOKEN_LEN] {
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
pub(crate) fn decode_token(digest: TokenDigest, data: &[u8]) -> Result<TokenRecord, DecodeError> {
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
