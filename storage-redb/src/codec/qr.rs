//! The QR token layout (see the table in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::QrRecord;
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

/// Encode a QR record (its digest is the key).
pub(crate) fn encode_qr(q: &QrRecord) -> Vec<u8> {
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
pub(crate) fn decode_qr(digest: TokenDigest, data: &[u8]) -> Result<QrRecord, DecodeError> {
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
