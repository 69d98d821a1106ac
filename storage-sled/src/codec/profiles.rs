//! The profile layout (see [`crate::codec`]), the fields verify reads first.

use tessera_core::store::{DeviceInfo, DeviceRoles, ProfileRecord};
use tessera_core::{ProfileKind, ProfileState};
use uuid::Uuid;

use super::bytes::{Reader, Result, Writer};

/// Encode a profile.
pub(crate) fn encode_profile(p: &ProfileRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128 + p.username.len()));
    w.u8(p.kind.tag());
    w.u8(p.state.tag());
    w.opt(p.owner, Writer::uuid);
    w.len(p.environments.len());
    for e in &p.environments {
        w.str(e);
    }
    w.uuid(p.id);
    w.u64(p.version);
    w.time(p.created_at);
    w.time(p.updated_at);
    w.u8(u8::from(p.password_temporary));
    w.str(&p.username);
    w.opt(p.password_hash.as_deref(), Writer::str);
    w.opt(p.public_key.as_ref(), |w, k| w.bytes(k));
    w.opt(p.device.as_ref(), |w, d| {
        w.uuid(d.device_id);
        w.opt(d.name.as_deref(), Writer::str);
        w.u8(d.roles.0);
        w.opt(d.meta.as_deref(), Writer::str);
    });
    w.0
}

/// The verify prefix of a profile: kind, state, owner and environments.
#[derive(Debug)]
pub(crate) struct VerifyPrefix {
    /// User or device.
    pub kind: ProfileKind,
    /// Lifecycle state.
    pub state: ProfileState,
    /// Owning user, for devices.
    pub owner: Option<Uuid>,
    /// Granted environments.
    pub environments: Vec<String>,
}

fn verify_prefix(r: &mut Reader<'_>) -> Result<VerifyPrefix> {
    let kind = ProfileKind::from_tag(r.u8()?).ok_or_else(|| r.bad_tag("unknown profile kind"))?;
    let state =
        ProfileState::from_tag(r.u8()?).ok_or_else(|| r.bad_tag("unknown profile state"))?;
    let owner = r.opt(Reader::uuid)?;
    let n = r.count()?;
    let mut environments = Vec::with_capacity(n);
    for _ in 0..n {
        environments.push(r.str()?);
    }
    Ok(VerifyPrefix {
        kind,
        state,
        owner,
        environments,
    })
}

/// Decode only the verify prefix of a profile (the verify path).
pub(crate) fn decode_verify_prefix(b: &[u8]) -> Result<VerifyPrefix> {
    verify_prefix(&mut Reader::new(b))
}

/// Decode a whole profile.
pub(crate) fn decode_profile(b: &[u8]) -> Result<ProfileRecord> {
    let mut r = Reader::new(b);
    let v = verify_prefix(&mut r)?;
    let id = r.uuid()?;
    let version = r.u64()?;
    let created_at = r.time()?;
    let updated_at = r.time()?;
    let password_temporary = match r.u8()? {
        0 => false,
        1 => true,
        _ => return Err(r.bad_tag("unknown profile flag bits")),
    };
    let username = r.str()?;
    let password_hash = r.opt(Reader::str)?;
    let public_key = r.opt(Reader::array::<32>)?;
    let device = r.opt(|r| {
        Ok(DeviceInfo {
            device_id: r.uuid()?,
            name: r.opt(Reader::str)?,
            roles: DeviceRoles(r.u8()?),
            meta: r.opt(Reader::str)?,
        })
    })?;
    r.end()?;
    Ok(ProfileRecord {
        id,
        kind: v.kind,
        username,
        password_hash,
        password_temporary,
        state: v.state,
        public_key,
        owner: v.owner,
        device,
        environments: v.environments,
        created_at,
        updated_at,
        version,
    })
}

/// The kind and the version of an encoded profile, without decoding the rest of it.
pub(crate) fn profile_kind_version(b: &[u8]) -> Result<(ProfileKind, u64)> {
    let mut r = Reader::new(b);
    let kind = verify_prefix(&mut r)?.kind;
    r.take(16)?;
    Ok((kind, r.u64()?))
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;

    use super::*;

    fn profile() -> ProfileRecord {
        ProfileRecord {
            id: Uuid::new_v4(),
            kind: ProfileKind::Device,
            username: "dev-1".into(),
            password_hash: Some("$argon2id$x".into()),
            password_temporary: true,
            state: ProfileState::Pending,
            public_key: Some([7; 32]),
            owner: Some(Uuid::new_v4()),
            device: Some(DeviceInfo {
                device_id: Uuid::new_v4(),
                name: Some("phone".into()),
                roles: DeviceRoles(3),
                meta: None,
            }),
            environments: vec!["prod".into(), "ünïcode".into()],
            created_at: Timestamp(-5),
            updated_at: Timestamp(i64::MAX),
            version: 9,
        }
    }

    #[test]
    fn profile_round_trip_and_prefix() {
        let p = profile();
        let b = encode_profile(&p);
        assert_eq!(decode_profile(&b).unwrap(), p);
        assert_eq!(profile_kind_version(&b).unwrap(), (p.kind, 9));
        let v = decode_verify_prefix(&b).unwrap();
        assert_eq!((v.kind, v.state, v.owner), (p.kind, p.state, p.owner));
        assert_eq!(v.environments, p.environments);
    }

    #[test]
    fn every_truncation_and_extension_is_refused() {
        let b = encode_profile(&profile());
        for n in 0..b.len() {
            assert!(decode_profile(&b[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut long = b.clone();
        long.push(0);
        assert_eq!(decode_profile(&long).unwrap_err().what, "trailing bytes");
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        let mut b = vec![1, 1, 0];
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_verify_prefix(&b).unwrap_err().what,
            "count larger than the record"
        );
    }
}
