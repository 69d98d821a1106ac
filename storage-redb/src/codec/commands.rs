//! The command layout (see the table in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::{CommandRecord, CommandStatus};
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

/// Encode a command record (its id is the key).
pub(crate) fn encode_command(c: &CommandRecord) -> Vec<u8> {
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
pub(crate) fn decode_command(id: Uuid, data: &[u8]) -> Result<CommandRecord, DecodeError> {
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
