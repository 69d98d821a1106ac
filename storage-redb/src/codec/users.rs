//! The layout of a server-registered user (see the table in [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::ServerUserRecord;
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

const E_EMAIL: u8 = 1;
const E_METADATA: u8 = 2;

/// Encode a server-registered user (its external id is the key).
pub(crate) fn encode_server_user(u: &ServerUserRecord) -> Vec<u8> {
    let email = u.email.as_deref();
    let metadata = u.metadata.as_deref();
    let mut flags = 0;
    if email.is_some() {
        flags |= E_EMAIL;
    }
    if metadata.is_some() {
        flags |= E_METADATA;
    }
    let text = email.map_or(0, |e| 4 + e.len()) + metadata.map_or(0, |m| 4 + m.len());
    let mut w = Writer::with_capacity(33 + text);
    w.bytes(u.profile_id.as_bytes());
    w.i64(u.created_at.0);
    w.i64(u.updated_at.0);
    w.u8(flags);
    if let Some(e) = email {
        w.str(e);
    }
    if let Some(m) = metadata {
        w.str(m);
    }
    w.finish()
}

/// Decode a server-registered user stored under `external_id`.
pub(crate) fn decode_server_user(
    external_id: &str,
    data: &[u8],
) -> Result<ServerUserRecord, DecodeError> {
    let mut r = Reader::new(data);
    let profile_id = Uuid::from_bytes(r.array()?);
    let created_at = Timestamp(r.i64()?);
    let updated_at = Timestamp(r.i64()?);
    let flags = r.u8()?;
    if flags & !(E_EMAIL | E_METADATA) != 0 {
        return Err(r.error_before(1, "unknown external user flags"));
    }
    let email = (flags & E_EMAIL != 0)
        .then(|| r.str())
        .transpose()?
        .map(str::to_owned);
    let metadata = (flags & E_METADATA != 0)
        .then(|| r.str())
        .transpose()?
        .map(str::to_owned);
    r.end()?;
    Ok(ServerUserRecord {
        external_id: external_id.to_owned(),
        profile_id,
        email,
        metadata,
        created_at,
        updated_at,
    })
}
