//! The throttle counter layout (see [`crate::codec`]).

use tessera_core::store::ThrottleRecord;

use super::bytes::{Reader, Result, Writer};

/// Encode a throttle counter.
pub(crate) fn encode_throttle(t: &ThrottleRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(12));
    w.u32(t.failures);
    w.time(t.last_failure);
    w.0
}

/// Decode a throttle counter.
pub(crate) fn decode_throttle(b: &[u8]) -> Result<ThrottleRecord> {
    let mut r = Reader::new(b);
    let t = ThrottleRecord {
        failures: r.u32()?,
        last_failure: r.time()?,
    };
    r.end()?;
    Ok(t)
}
