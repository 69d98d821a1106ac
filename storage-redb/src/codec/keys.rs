//! The server API key layout (see the table in [`crate::codec`]); the server key seed is a
//! fixed `meta` value ([`super::decode_fixed`]).

use tessera_core::Timestamp;
use tessera_core::store::ApiKeyRecord;
use tessera_core::token::TokenDigest;

use super::bytes::{DecodeError, Reader, Writer};

/// Encode an API key record (its digest is the key).
pub(crate) fn encode_api_key(k: &ApiKeyRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(12 + k.name.len());
    w.i64(k.created_at.0);
    w.str(&k.name);
    w.finish()
}

/// Decode an API key record stored under `digest`.
pub(crate) fn decode_api_key(
    digest: TokenDigest,
    data: &[u8],
) -> Result<ApiKeyRecord, DecodeError> {
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
