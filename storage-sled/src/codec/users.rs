//! The external-user layout (see [`crate::codec`]).

use tessera_core::store::ServerUserRecord;

use super::bytes::{Reader, Result, Writer};

/// Encode a server-registered user (its external id is the key).
pub(crate) fn encode_server_user(u: &ServerUserRecord) -> Vec<u8> {
    let len = u.email.as_ref().map_or(0, String::len) + u.metadata.as_ref().map_or(0, String::len);
    let mut w = Writer(Vec::with_capacity(42 + len));
    w.uuid(u.profile_id);
    w.time(u.created_at);
    w.time(u.updated_at);
    w.opt(u.email.as_deref(), Writer::str);
    w.opt(u.metadata.as_deref(), Writer::str);
    w.0
}

/// Decode the server-registered user stored under `external_id`.
pub(crate) fn decode_server_user(external_id: &str, b: &[u8]) -> Result<ServerUserRecord> {
    let mut r = Reader::new(b);
    let u = ServerUserRecord {
        external_id: external_id.to_owned(),
        profile_id: r.uuid()?,
        created_at: r.time()?,
        updated_at: r.time()?,
        email: r.opt(Reader::str)?,
        metadata: r.opt(Reader::str)?,
    };
    r.end()?;
    Ok(u)
}

#[cfg(test)]
mod tests {
    use tessera_core::Timestamp;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn external_user_layout_is_fixed() {
        let u = ServerUserRecord {
            external_id: "auth0|abc".into(),
            profile_id: Uuid::new_v4(),
            email: Some("a@example.com".into()),
            metadata: Some("{\"plan\":\"pro\"}".into()),
            created_at: Timestamp(10),
            updated_at: Timestamp(-20),
        };
        let b = encode_server_user(&u);
        assert_eq!(&b[..16], u.profile_id.as_bytes());
        assert_eq!(&b[16..24], &10i64.to_le_bytes());
        assert_eq!(&b[24..32], &(-20i64).to_le_bytes());
        assert_eq!(b[32], 1);
        assert_eq!(&b[33..37], &13u32.to_le_bytes());
        assert_eq!(decode_server_user("auth0|abc", &b).unwrap(), u);

        let bare = ServerUserRecord {
            email: None,
            metadata: None,
            ..u.clone()
        };
        let b = encode_server_user(&bare);
        assert_eq!(b.len(), 34);
        assert_eq!(decode_server_user("auth0|abc", &b).unwrap(), bare);
        let mut bad = b.clone();
        bad[33] = 2;
        assert_eq!(
            decode_server_user("x", &bad).unwrap_err().what,
            "option tag is neither 0 nor 1"
        );
        assert_eq!(
            decode_server_user("x", &b[..33]).unwrap_err().what,
            "truncated"
        );
        let mut long = b;
        long.push(0);
        assert_eq!(
            decode_server_user("x", &long).unwrap_err().what,
            "trailing bytes"
        );
    }
}
