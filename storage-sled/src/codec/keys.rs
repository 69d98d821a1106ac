//! The server API key layout (see [`crate::codec`]); the server key seed is a fixed `meta`
//! value ([`super::decode_fixed`]).

use tessera_core::TokenDigest;
use tessera_core::store::ApiKeyRecord;

use super::bytes::{Reader, Result, Writer};

/// Encode an API key (its digest is the key).
pub(crate) fn encode_api_key(k: &ApiKeyRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(16 + k.name.len()));
    w.time(k.created_at);
    w.str(&k.name);
    w.0
}

/// Decode an API key stored under `digest`.
pub(crate) fn decode_api_key(digest: TokenDigest, b: &[u8]) -> Result<ApiKeyRecord> {
    let mut r = Reader::new(b);
    let k = ApiKeyRecord {
        digest,
        created_at: r.time()?,
        name: r.str()?,
    };
    r.end()?;
    Ok(k)
}
