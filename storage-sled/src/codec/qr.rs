//! The QR token layout (see [`crate::codec`]).

use tessera_core::TokenDigest;
use tessera_core::store::QrRecord;

use super::bytes::{Reader, Result, Writer};

/// Encode a QR token (its digest is the key).
pub(crate) fn encode_qr(q: &QrRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(48));
    w.uuid(q.owner);
    w.time(q.issued_at);
    w.time(q.expires_at);
    w.opt(q.device_name.as_deref(), Writer::str);
    w.0
}

/// Decode a QR token stored under `digest`.
pub(crate) fn decode_qr(digest: TokenDigest, b: &[u8]) -> Result<QrRecord> {
    let mut r = Reader::new(b);
    let q = QrRecord {
        digest,
        owner: r.uuid()?,
        issued_at: r.time()?,
        expires_at: r.time()?,
        device_name: r.opt(Reader::str)?,
    };
    r.end()?;
    Ok(q)
}
