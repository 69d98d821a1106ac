//! The layouts of directories, memberships and invitations (see the tables in
//! [`crate::codec`]).

use tessera_core::Timestamp;
use tessera_core::store::{DirectoryRecord, DirectoryRole, InvitationRecord, MembershipRecord};
use uuid::Uuid;

use super::bytes::{DecodeError, Reader, Writer};

const D_META: u8 = 1;
const M_GIVEN: u8 = 1;
const M_FAMILY: u8 = 2;
const M_META: u8 = 4;
const M_CREATED: u8 = 8;
const I_INVITEE: u8 = 1;

/// Bytes of an optional `str`.
fn opt_len(s: Option<&str>) -> usize {
    s.map_or(0, |s| 4 + s.len())
}

fn role(r: &mut Reader<'_>) -> Result<DirectoryRole, DecodeError> {
    DirectoryRole::from_tag(r.u8()?).ok_or(r.error_before(1, "unknown directory role"))
}

fn opt_str(r: &mut Reader<'_>, present: bool) -> Result<Option<String>, DecodeError> {
    present.then(|| r.str().map(str::to_owned)).transpose()
}

/// Encode a directory (its id is the key).
pub(crate) fn encode_directory(d: &DirectoryRecord) -> Vec<u8> {
    let meta = d.meta.as_deref();
    let mut w = Writer::with_capacity(57 + d.name.len() + d.short_name.len() + opt_len(meta));
    w.bytes(d.owner.as_bytes());
    w.i64(d.created_at.0);
    w.i64(d.updated_at.0);
    w.u64(d.version);
    w.u64(d.last_member_seq);
    w.u8(if meta.is_some() { D_META } else { 0 });
    w.str(&d.name);
    w.str(&d.short_name);
    if let Some(m) = meta {
        w.str(m);
    }
    w.finish()
}

/// Decode a directory stored under `id`.
pub(crate) fn decode_directory(id: Uuid, data: &[u8]) -> Result<DirectoryRecord, DecodeError> {
    let mut r = Reader::new(data);
    let owner = Uuid::from_bytes(r.array()?);
    let created_at = Timestamp(r.i64()?);
    let updated_at = Timestamp(r.i64()?);
    let version = r.u64()?;
    let last_member_seq = r.u64()?;
    let flags = r.u8()?;
    if flags & !D_META != 0 {
        return Err(r.error_before(1, "unknown directory flag bits"));
    }
    let name = r.str()?.to_owned();
    let short_name = r.str()?.to_owned();
    let meta = opt_str(&mut r, flags & D_META != 0)?;
    r.end()?;
    Ok(DirectoryRecord {
        id,
        name,
        short_name,
        owner,
        meta,
        created_at,
        updated_at,
        version,
        last_member_seq,
    })
}

/// Encode a membership (directory id ‖ profile id is the key).
pub(crate) fn encode_membership(m: &MembershipRecord) -> Vec<u8> {
    let (given, family, meta) = (
        m.given_name.as_deref(),
        m.family_name.as_deref(),
        m.meta.as_deref(),
    );
    let mut flags = 0;
    for (on, bit) in [
        (given.is_some(), M_GIVEN),
        (family.is_some(), M_FAMILY),
        (meta.is_some(), M_META),
        (m.created_by_directory, M_CREATED),
    ] {
        if on {
            flags |= bit;
        }
    }
    let mut w = Writer::with_capacity(26 + opt_len(given) + opt_len(family) + opt_len(meta));
    w.u8(m.role.tag());
    w.u8(flags);
    w.i64(m.joined_at.0);
    w.u64(m.seq);
    w.u64(m.version);
    for s in [given, family, meta].into_iter().flatten() {
        w.str(s);
    }
    w.finish()
}

/// Decode the membership of `profile` in `directory`.
pub(crate) fn decode_membership(
    directory: Uuid,
    profile: Uuid,
    data: &[u8],
) -> Result<MembershipRecord, DecodeError> {
    let mut r = Reader::new(data);
    let role = role(&mut r)?;
    let flags = r.u8()?;
    if flags & !(M_GIVEN | M_FAMILY | M_META | M_CREATED) != 0 {
        return Err(r.error_before(1, "unknown membership flag bits"));
    }
    let joined_at = Timestamp(r.i64()?);
    let seq = r.u64()?;
    let version = r.u64()?;
    let given_name = opt_str(&mut r, flags & M_GIVEN != 0)?;
    let family_name = opt_str(&mut r, flags & M_FAMILY != 0)?;
    let meta = opt_str(&mut r, flags & M_META != 0)?;
    r.end()?;
    Ok(MembershipRecord {
        directory_id: directory,
        profile_id: profile,
        role,
        given_name,
        family_name,
        meta,
        created_by_directory: flags & M_CREATED != 0,
        joined_at,
        seq,
        version,
    })
}

/// Encode an invitation (its id is the key).
pub(crate) fn encode_invitation(i: &InvitationRecord) -> Vec<u8> {
    let mut w = Writer::with_capacity(70 + i.username.len());
    w.bytes(i.directory_id.as_bytes());
    w.bytes(i.invited_by.as_bytes());
    w.i64(i.created_at.0);
    w.i64(i.expires_at.0);
    w.u8(i.role.tag());
    w.u8(if i.invitee.is_some() { I_INVITEE } else { 0 });
    w.bytes(i.invitee.unwrap_or_default().as_bytes());
    w.str(&i.username);
    w.finish()
}

/// Decode an invitation stored under `id`.
pub(crate) fn decode_invitation(id: Uuid, data: &[u8]) -> Result<InvitationRecord, DecodeError> {
    let mut r = Reader::new(data);
    let directory_id = Uuid::from_bytes(r.array()?);
    let invited_by = Uuid::from_bytes(r.array()?);
    let created_at = Timestamp(r.i64()?);
    let expires_at = Timestamp(r.i64()?);
    let role = role(&mut r)?;
    let flags = r.u8()?;
    if flags & !I_INVITEE != 0 {
        return Err(r.error_before(1, "unknown invitation flag bits"));
    }
    let invitee = Uuid::from_bytes(r.array()?);
    let username = r.str()?.to_owned();
    r.end()?;
    Ok(InvitationRecord {
        id,
        directory_id,
        username,
        invitee: (flags & I_INVITEE != 0).then_some(invitee),
        role,
        invited_by,
        created_at,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(meta: Option<&str>) -> DirectoryRecord {
        DirectoryRecord {
            id: Uuid::from_u128(1),
            name: "Acme – Ünïcødé".into(),
            short_name: "acme".into(),
            owner: Uuid::from_u128(2),
            meta: meta.map(str::to_owned),
            created_at: Timestamp(-7),
            updated_at: Timestamp(1_767_225_600),
            version: 3,
            last_member_seq: u64::MAX,
        }
    }

    fn membership(all: bool) -> MembershipRecord {
        MembershipRecord {
            directory_id: Uuid::from_u128(1),
            profile_id: Uuid::from_u128(3),
            role: if all {
                DirectoryRole::Admin
            } else {
                DirectoryRole::Owner
            },
            given_name: all.then(|| "Ann".into()),
            family_name: all.then(|| "Lee".into()),
            meta: all.then(|| "{\"a\":1}".into()),
            created_by_directory: all,
            joined_at: Timestamp(5),
            seq: 9,
            version: 2,
        }
    }

    fn invitation(invitee: bool) -> InvitationRecord {
        InvitationRecord {
            id: Uuid::from_u128(4),
            directory_id: Uuid::from_u128(1),
            username: "ann".into(),
            invitee: invitee.then(|| Uuid::from_u128(3)),
            role: DirectoryRole::Member,
            invited_by: Uuid::from_u128(2),
            created_at: Timestamp(10),
            expires_at: Timestamp(i64::MAX),
        }
    }

    /// Every strict prefix fails to decode, and so does one more byte.
    fn rejects_damage<T>(data: &[u8], decode: impl Fn(&[u8]) -> Result<T, DecodeError>) {
        for n in 0..data.len() {
            assert!(decode(&data[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err(), "a trailing byte decoded");
    }

    #[test]
    fn directory_records_round_trip() {
        for meta in [None, Some("{\"plan\":\"pro\"}")] {
            let d = directory(meta);
            let b = encode_directory(&d);
            assert_eq!(decode_directory(d.id, &b).unwrap(), d);
            rejects_damage(&b, |b| decode_directory(d.id, b));
        }
        for all in [false, true] {
            let m = membership(all);
            let b = encode_membership(&m);
            assert_eq!(
                decode_membership(m.directory_id, m.profile_id, &b).unwrap(),
                m
            );
            rejects_damage(&b, |b| decode_membership(m.directory_id, m.profile_id, b));
            let i = invitation(all);
            let b = encode_invitation(&i);
            assert_eq!(decode_invitation(i.id, &b).unwrap(), i);
            rejects_damage(&b, |b| decode_invitation(i.id, b));
        }
    }

    #[test]
    fn directory_layouts_are_fixed() {
        let b = encode_directory(&directory(Some("{}")));
        assert_eq!(&b[..16], Uuid::from_u128(2).as_bytes());
        assert_eq!(&b[16..24], &(-7i64).to_le_bytes());
        assert_eq!(&b[32..40], &3u64.to_le_bytes());
        assert_eq!(&b[40..48], &u64::MAX.to_le_bytes());
        assert_eq!(b[48], 1, "flags: meta");
        assert!(b.ends_with(b"\x04\0\0\0acme\x02\0\0\0{}"));
        let b = encode_membership(&membership(true));
        assert_eq!((b[0], b[1]), (2, 15), "admin; names, meta, created");
        assert_eq!(&b[2..10], &5i64.to_le_bytes());
        assert_eq!(&b[10..18], &9u64.to_le_bytes());
        assert_eq!(&b[18..26], &2u64.to_le_bytes());
        let b = encode_membership(&membership(false));
        assert_eq!((b[0], b[1], b.len()), (1, 0, 26), "owner, nothing optional");
        let b = encode_invitation(&invitation(false));
        assert_eq!(&b[..16], Uuid::from_u128(1).as_bytes());
        assert_eq!(&b[16..32], Uuid::from_u128(2).as_bytes());
        assert_eq!((b[48], b[49]), (3, 0), "member, no invitee");
        assert_eq!(&b[50..66], &[0; 16]);
        assert_eq!(&b[66..], b"\x03\0\0\0ann");
    }

    #[test]
    fn bad_directory_flags_and_roles_are_errors() {
        let mut b = encode_directory(&directory(None));
        b[48] = 2;
        let e = decode_directory(Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown directory flag bits", 48));
        let mut b = encode_membership(&membership(false));
        b[0] = 4;
        let e = decode_membership(Uuid::nil(), Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown directory role", 0));
        let mut b = encode_membership(&membership(false));
        b[1] = 16;
        let e = decode_membership(Uuid::nil(), Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown membership flag bits", 1));
        let mut b = encode_invitation(&invitation(true));
        b[49] = 3;
        let e = decode_invitation(Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown invitation flag bits", 49));
        let mut b = encode_invitation(&invitation(true));
        b[48] = 0;
        let e = decode_invitation(Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown directory role", 48));
    }
}
