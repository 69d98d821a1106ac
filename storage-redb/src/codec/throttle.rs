//! The throttle counter layout (see the table in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::ThrottleRecord;

use super::bytes::{DecodeError, Reader};

/// Encode a throttle record.
pub(crate) fn encode_throttle(t: ThrottleRecord) -> [u8; 12] {
    let mut b = [0u8; 12];
    b[..4].copy_from_slice(&t.failures.to_le_bytes());
    b[4..].copy_from_slice(&t.last_failure.0.to_le_bytes());
    b
}

/// Decode a throttle record.
pub(crate) fn decode_throttle(data: &[u8]) -> Result<ThrottleRecord, DecodeError> {
    let mut r = Reader::new(data);
    let failures = r.u32()?;
    let last_failure = Timestamp(r.i64()?);
    r.end()?;
    Ok(ThrottleRecord {
        failures,
        last_failure,
    })
}
