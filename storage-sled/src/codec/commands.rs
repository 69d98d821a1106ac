//! The command layout (see [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::{CommandRecord, CommandStatus};
use uuid::Uuid;

use super::bytes::{Reader, Result, Writer};

/// Encode a command (its id is the key).
pub(crate) fn encode_command(c: &CommandRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + c.body.len()));
    w.opt(c.profile_id, Writer::uuid);
    w.u8(c.status as u8);
    w.time(c.created_at);
    w.time(c.expires_at);
    w.str(&c.body);
    w.len(c.result.len());
    for (k, v) in &c.result {
        w.str(k);
        w.str(v);
    }
    w.0
}

/// Decode a command stored under `id`.
pub(crate) fn decode_command(id: Uuid, b: &[u8]) -> Result<CommandRecord> {
    let mut r = Reader::new(b);
    let profile_id = r.opt(Reader::uuid)?;
    let status =
        CommandStatus::from_u8(r.u8()?).ok_or_else(|| r.bad_tag("unknown command status"))?;
    let created_at = r.time()?;
    let expires_at = r.time()?;
    let body = r.str()?;
    let n = r.count()?;
    let mut result = Vec::with_capacity(n);
    for _ in 0..n {
        result.push((r.str()?, r.str()?));
    }
    r.end()?;
    Ok(CommandRecord {
        id,
        profile_id,
        status,
        body,
        result,
        created_at,
        expires_at,
    })
}

/// The expiry of an encoded command, without decoding its strings.
pub(crate) fn command_expiry(b: &[u8]) -> Result<Timestamp> {
    let mut r = Reader::new(b);
    r.opt(Reader::uuid)?;
    r.u8()?;
    r.time()?;
    r.time()
}
