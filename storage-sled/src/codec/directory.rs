//! The layouts of directories, memberships and invitations (see [`crate::codec`]).

use tessera_core::store::{DirectoryRecord, DirectoryRole, InvitationRecord, MembershipRecord};
use uuid::Uuid;

use super::bytes::{Reader, Result, Writer};

/// Membership flag: the directory created the profile.
const M_CREATED: u8 = 1;

fn opt_len(s: Option<&String>) -> usize {
    1 + s.map_or(0, |s| 4 + s.len())
}

fn role(r: &mut Reader<'_>) -> Result<DirectoryRole> {
    DirectoryRole::from_tag(r.u8()?).ok_or_else(|| r.bad_tag("unknown directory role"))
}

/// Encode a directory (its id is the key).
pub(crate) fn encode_directory(d: &DirectoryRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        56 + d.name.len() + d.short_name.len() + opt_len(d.meta.as_ref()),
    ));
    w.uuid(d.owner);
    w.str(&d.name);
    w.str(&d.short_name);
    w.opt(d.meta.as_deref(), Writer::str);
    w.time(d.created_at);
    w.time(d.updated_at);
    w.u64(d.version);
    w.u64(d.last_member_seq);
    w.0
}

/// Decode the directory stored under `id`.
pub(crate) fn decode_directory(id: Uuid, b: &[u8]) -> Result<DirectoryRecord> {
    let mut r = Reader::new(b);
    let d = DirectoryRecord {
        id,
        owner: r.uuid()?,
        name: r.str()?,
        short_name: r.str()?,
        meta: r.opt(Reader::str)?,
        created_at: r.time()?,
        updated_at: r.time()?,
        version: r.u64()?,
        last_member_seq: r.u64()?,
    };
    r.end()?;
    Ok(d)
}

/// Encode a membership (directory id ‖ profile id is the key).
pub(crate) fn encode_membership(m: &MembershipRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        26 + opt_len(m.given_name.as_ref())
            + opt_len(m.family_name.as_ref())
            + opt_len(m.meta.as_ref()),
    ));
    w.u8(m.role.tag());
    w.opt(m.given_name.as_deref(), Writer::str);
    w.opt(m.family_name.as_deref(), Writer::str);
    w.opt(m.meta.as_deref(), Writer::str);
    w.u8(if m.created_by_directory { M_CREATED } else { 0 });
    w.time(m.joined_at);
    w.u64(m.seq);
    w.u64(m.version);
    w.0
}

/// Decode the membership of `profile` in `directory`.
pub(crate) fn decode_membership(
    directory: Uuid,
    profile: Uuid,
    b: &[u8],
) -> Result<MembershipRecord> {
    let mut r = Reader::new(b);
    let role = role(&mut r)?;
    let given_name = r.opt(Reader::str)?;
    let family_name = r.opt(Reader::str)?;
    let meta = r.opt(Reader::str)?;
    let flags = r.u8()?;
    if flags & !M_CREATED != 0 {
        return Err(r.bad_tag("unknown membership flag bits"));
    }
    let m = MembershipRecord {
        directory_id: directory,
        profile_id: profile,
        role,
        given_name,
        family_name,
        meta,
        created_by_directory: flags & M_CREATED != 0,
        joined_at: r.time()?,
        seq: r.u64()?,
        version: r.u64()?,
    };
    r.end()?;
    Ok(m)
}

/// Encode an invitation (its id is the key).
pub(crate) fn encode_invitation(i: &InvitationRecord) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(74 + i.username.len()));
    w.uuid(i.directory_id);
    w.str(&i.username);
    w.opt(i.invitee, Writer::uuid);
    w.u8(i.role.tag());
    w.uuid(i.invited_by);
    w.time(i.created_at);
    w.time(i.expires_at);
    w.0
}

/// Decode the invitation stored under `id`.
pub(crate) fn decode_invitation(id: Uuid, b: &[u8]) -> Result<InvitationRecord> {
    let mut r = Reader::new(b);
    let i = InvitationRecord {
        id,
        directory_id: r.uuid()?,
        username: r.str()?,
        invitee: r.opt(Reader::uuid)?,
        role: role(&mut r)?,
        invited_by: r.uuid()?,
        created_at: r.time()?,
        expires_at: r.time()?,
    };
    r.end()?;
    Ok(i)
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;

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
    fn rejects_damage<T>(data: &[u8], decode: impl Fn(&[u8]) -> Result<T>) {
        for n in 0..data.len() {
            assert!(decode(&data[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        let mut longer = data.to_vec();
        longer.push(0);
        assert!(decode(&longer).is_err(), "a trailing byte decoded");
    }

    #[test]
    fn directory_records_round_trip_and_refuse_damage() {
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
        let b = encode_directory(&directory(None));
        assert_eq!(&b[..16], Uuid::from_u128(2).as_bytes());
        assert!(b.ends_with(&u64::MAX.to_le_bytes()));
        let b = encode_membership(&membership(false));
        assert_eq!(
            b.len(),
            1 + 3 + 1 + 24,
            "role, three absent options, flags, times"
        );
        assert_eq!(b[0], 1, "owner");
        let b = encode_membership(&membership(true));
        assert_eq!(b[0], 2, "admin");
        let b = encode_invitation(&invitation(false));
        assert_eq!(&b[..16], Uuid::from_u128(1).as_bytes());
        assert_eq!(&b[16..23], b"\x03\0\0\0ann");
        assert_eq!((b[23], b[24]), (0, 3), "no invitee, member");
    }

    #[test]
    fn bad_roles_and_flags_are_errors() {
        let mut b = encode_membership(&membership(false));
        b[0] = 0;
        let e = decode_membership(Uuid::nil(), Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown directory role", 0));
        let mut b = encode_membership(&membership(false));
        b[4] = 2;
        let e = decode_membership(Uuid::nil(), Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown membership flag bits", 4));
        let mut b = encode_invitation(&invitation(false));
        b[24] = 9;
        let e = decode_invitation(Uuid::nil(), &b).unwrap_err();
        assert_eq!((e.what, e.offset), ("unknown directory role", 24));
    }
}
