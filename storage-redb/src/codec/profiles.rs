//! The profile layout (see the table in [`crate::codec`]), and the resolved token read off
//! its prefix.

use tessera_core::store::{DeviceInfo, DeviceRoles, ProfileRecord, ResolvedToken, TokenRecord};
use tessera_core::{ProfileKind, ProfileState, Timestamp};
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

const P_TEMPORARY: u8 = 1;
const P_HASH: u8 = 2;
const P_KEY: u8 = 4;
const P_OWNER: u8 = 8;
const P_DEVICE: u8 = 16;
const D_NAME: u8 = 1;
const D_META: u8 = 2;

/// Encode a profile (its id is the key).
pub(crate) fn encode_profile(p: &ProfileRecord) -> Vec<u8> {
    let mut flags = 0;
    for (on, bit) in [
        (p.password_temporary, P_TEMPORARY),
        (p.password_hash.is_some(), P_HASH),
        (p.public_key.is_some(), P_KEY),
        (p.owner.is_some(), P_OWNER),
        (p.device.is_some(), P_DEVICE),
    ] {
        if on {
            flags |= bit;
        }
    }
    let mut w = Writer::with_capacity(128);
    w.u8(p.kind.tag());
    w.u8(p.state.tag());
    w.u8(flags);
    w.bytes(p.owner.unwrap_or_default().as_bytes());
    w.u32(p.environments.len() as u32);
    for e in &p.environments {
        w.str(e);
    }
    w.u64(p.version);
    w.i64(p.created_at.0);
    w.i64(p.updated_at.0);
    if let Some(k) = &p.public_key {
        w.bytes(k);
    }
    w.str(&p.username);
    if let Some(h) = &p.password_hash {
        w.str(h);
    }
    if let Some(d) = &p.device {
        w.bytes(d.device_id.as_bytes());
        w.u8(d.roles.0);
        let dflags = (u8::from(d.name.is_some()) * D_NAME) | (u8::from(d.meta.is_some()) * D_META);
        w.u8(dflags);
        if let Some(n) = &d.name {
            w.str(n);
        }
        if let Some(m) = &d.meta {
            w.str(m);
        }
    }
    w.finish()
}

/// The verify prefix of a profile record: kind, state, flags, owner, environments.
fn verify_prefix(r: &mut Reader<'_>) -> Result<VerifyPrefix, DecodeError> {
    let kind = ProfileKind::from_tag(r.u8()?).ok_or(r.error_before(1, "unknown profile kind"))?;
    let state =
        ProfileState::from_tag(r.u8()?).ok_or(r.error_before(1, "unknown profile state"))?;
    let flags = r.u8()?;
    if flags & !(P_TEMPORARY | P_HASH | P_KEY | P_OWNER | P_DEVICE) != 0 {
        return Err(r.error_before(1, "unknown profile flag bits"));
    }
    let owner = Uuid::from_bytes(r.array()?);
    let owner = (flags & P_OWNER != 0).then_some(owner);
    let n = r.u32()? as usize;
    // Each string takes at least its 4-byte length: never reserve more than could follow.
    let mut environments = Vec::with_capacity(n.min(r.remaining() / 4));
    for _ in 0..n {
        environments.push(r.str()?.to_owned());
    }
    Ok(VerifyPrefix {
        kind,
        state,
        flags,
        owner,
        environments,
    })
}

struct VerifyPrefix {
    kind: ProfileKind,
    state: ProfileState,
    flags: u8,
    owner: Option<Uuid>,
    environments: Vec<String>,
}

/// Decode a profile record stored under `id`.
pub(crate) fn decode_profile(id: Uuid, data: &[u8]) -> Result<ProfileRecord, DecodeError> {
    let mut r = Reader::new(data);
    let pre = verify_prefix(&mut r)?;
    let version = r.u64()?;
    let created_at = Timestamp(r.i64()?);
    let updated_at = Timestamp(r.i64()?);
    let public_key = if pre.flags & P_KEY != 0 {
        Some(r.array::<32>()?)
    } else {
        None
    };
    let username = r.str()?.to_owned();
    let password_hash = if pre.flags & P_HASH != 0 {
        Some(r.str()?.to_owned())
    } else {
        None
    };
    let device = if pre.flags & P_DEVICE != 0 {
        let device_id = Uuid::from_bytes(r.array()?);
        let roles = DeviceRoles(r.u8()?);
        let dflags = r.u8()?;
        if dflags & !(D_NAME | D_META) != 0 {
            return Err(r.error_before(1, "unknown device flag bits"));
        }
        let name = (dflags & D_NAME != 0).then(|| r.str()).transpose()?;
        let meta = (dflags & D_META != 0).then(|| r.str()).transpose()?;
        Some(DeviceInfo {
            device_id,
            name: name.map(str::to_owned),
            roles,
            meta: meta.map(str::to_owned),
        })
    } else {
        None
    };
    r.end()?;
    Ok(ProfileRecord {
        id,
        kind: pre.kind,
        username,
        password_hash,
        password_temporary: pre.flags & P_TEMPORARY != 0,
        state: pre.state,
        public_key,
        owner: pre.owner,
        device,
        environments: pre.environments,
        created_at,
        updated_at,
        version,
    })
}

/// The hot path: the resolved token from a token record and its profile's record,
/// allocating only the environments.
pub(crate) fn decode_resolved(
    token: &TokenRecord,
    profile_id: Uuid,
    profile: &[u8],
) -> Result<ResolvedToken, DecodeError> {
    let pre = verify_prefix(&mut Reader::new(profile))?;
    Ok(ResolvedToken {
        profile_id,
        kind: pre.kind,
        state: pre.state,
        owner: pre.owner,
        environments: pre.environments,
        token_kind: token.kind,
        issued_at: token.issued_at,
        expires_at: token.expires_at,
        token: token.digest,
    })
}
