use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStatus, ConsentRecord, DeviceInfo, DeviceRoles, IdTokenAlg,
    OAuthClientRecord, OAuthGrantRecord, ProfileRecord, QrRecord, ServerUserRecord, ThrottleRecord,
    TokenRecord,
};
use tessera_core::token::{TokenDigest, TokenKind};
use tessera_core::{ProfileKind, ProfileState, Timestamp};
use uuid::Uuid;

use super::*;

fn user() -> ProfileRecord {
    ProfileRecord {
        id: Uuid::from_u128(7),
        kind: ProfileKind::User,
        username: "alice".into(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
        password_temporary: true,
        state: ProfileState::Active,
        public_key: Some([9; 32]),
        owner: None,
        device: None,
        environments: vec!["prod".into(), "staging".into()],
        created_at: Timestamp(1_767_225_600),
        updated_at: Timestamp(1_767_225_700),
        version: 3,
    }
}

fn device() -> ProfileRecord {
    ProfileRecord {
        id: Uuid::from_u128(8),
        kind: ProfileKind::Device,
        username: "alice-phone".into(),
        password_hash: None,
        password_temporary: false,
        state: ProfileState::Pending,
        public_key: None,
        owner: Some(Uuid::from_u128(7)),
        device: Some(DeviceInfo {
            device_id: Uuid::from_u128(99),
            name: Some("phone".into()),
            roles: DeviceRoles(3),
            meta: Some("{\"a\":1}".into()),
        }),
        environments: vec![],
        created_at: Timestamp(-5),
        updated_at: Timestamp(0),
        version: 0,
    }
}

/// Every strict prefix of a record fails to decode (no panic), and so does one more byte.
fn rejects_damage<T: std::fmt::Debug>(
    data: &[u8],
    decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
) {
    for n in 0..data.len() {
        assert!(decode(&data[..n]).is_err(), "prefix of {n} bytes decoded");
    }
    let mut long = data.to_vec();
    long.push(0);
    assert_eq!(
        decode(&long).unwrap_err().what,
        "trailing bytes after the record"
    );
}

#[test]
fn profiles_round_trip() {
    for p in [user(), device()] {
        let bytes = encode_profile(&p);
        assert_eq!(decode_profile(p.id, &bytes).unwrap(), p);
        rejects_damage(&bytes, |b| decode_profile(p.id, b));
    }
}

#[test]
fn resolved_token_reads_the_prefix() {
    let p = device();
    let t = TokenRecord {
        digest: TokenDigest([1; 32]),
        profile_id: p.id,
        kind: TokenKind::Refresh,
        issued_at: Timestamp(10),
        expires_at: Timestamp(20),
        family: Some(Uuid::from_u128(5)),
    };
    let got = decode_resolved(&t, p.id, &encode_profile(&p)).unwrap();
    assert_eq!(got.owner, p.owner);
    assert_eq!(got.state, ProfileState::Pending);
    assert_eq!(got.token_kind, TokenKind::Refresh);
    assert_eq!(got.expires_at, Timestamp(20));
    let u = user();
    let got = decode_resolved(&t, u.id, &encode_profile(&u)).unwrap();
    assert_eq!(got.environments, u.environments);
}

#[test]
fn tokens_round_trip() {
    for kind in TokenKind::ALL {
        for family in [None, Some(Uuid::from_u128(5))] {
            let t = TokenRecord {
                digest: TokenDigest([1; 32]),
                profile_id: Uuid::from_u128(7),
                kind,
                issued_at: Timestamp(10),
                expires_at: Timestamp(i64::MAX),
                family,
            };
            let bytes = encode_token(&t);
            assert_eq!(bytes[16], kind.tag(), "the kind byte is the stable tag");
            assert_eq!(decode_token(t.digest, &bytes).unwrap(), t);
            rejects_damage(&bytes, |b| decode_token(t.digest, b));
        }
    }
}

fn external_user(email: Option<&str>, metadata: Option<&str>) -> ServerUserRecord {
    ServerUserRecord {
        external_id: "auth0|abc123".into(),
        profile_id: Uuid::from_u128(7),
        email: email.map(str::to_owned),
        metadata: metadata.map(str::to_owned),
        created_at: Timestamp(-3),
        updated_at: Timestamp(1_767_225_600),
    }
}

#[test]
fn external_users_round_trip() {
    for (email, metadata) in [
        (None, None),
        (Some("a@example.com"), None),
        (None, Some("{\"plan\":\"pro\"}")),
        (Some(""), Some("{}")),
    ] {
        let u = external_user(email, metadata);
        let bytes = encode_server_user(&u);
        assert_eq!(decode_server_user(&u.external_id, &bytes).unwrap(), u);
        rejects_damage(&bytes, |b| decode_server_user(&u.external_id, b));
    }
}

#[test]
fn external_user_layout_is_fixed() {
    let u = external_user(Some("e"), Some("{}"));
    let b = encode_server_user(&u);
    assert_eq!(&b[..16], u.profile_id.as_bytes());
    assert_eq!(&b[16..24], &(-3i64).to_le_bytes());
    assert_eq!(&b[24..32], &1_767_225_600i64.to_le_bytes());
    assert_eq!(b[32], 3, "flags: email and metadata");
    assert_eq!(&b[33..], b"\x01\0\0\0e\x02\0\0\0{}");
    let mut bad = b.clone();
    bad[32] = 4;
    let e = decode_server_user("x", &bad).unwrap_err();
    assert_eq!((e.what, e.offset), ("unknown external user flags", 32));
}

#[test]
fn other_records_round_trip() {
    for name in [None, Some("tablet".to_owned())] {
        let q = QrRecord {
            digest: TokenDigest([2; 32]),
            owner: Uuid::from_u128(7),
            issued_at: Timestamp(1),
            expires_at: Timestamp(2),
            device_name: name,
        };
        let bytes = encode_qr(&q);
        assert_eq!(decode_qr(q.digest, &bytes).unwrap(), q);
        rejects_damage(&bytes, |b| decode_qr(q.digest, b));
    }
    let c = CommandRecord {
        id: Uuid::from_u128(3),
        profile_id: Some(Uuid::from_u128(7)),
        status: CommandStatus::Succeeded,
        body: "done".into(),
        result: vec![("deviceIdentifier".into(), "x".into())],
        created_at: Timestamp(1),
        expires_at: Timestamp(2),
    };
    let bytes = encode_command(&c);
    assert_eq!(decode_command(c.id, &bytes).unwrap(), c);
    rejects_damage(&bytes, |b| decode_command(c.id, b));
    let t = ThrottleRecord {
        failures: 6,
        last_failure: Timestamp(44),
    };
    assert_eq!(decode_throttle(&encode_throttle(t)).unwrap(), t);
    rejects_damage(&encode_throttle(t), decode_throttle);
    let k = ApiKeyRecord {
        digest: TokenDigest([4; 32]),
        name: "ci".into(),
        created_at: Timestamp(9),
    };
    let bytes = encode_api_key(&k);
    assert_eq!(decode_api_key(k.digest, &bytes).unwrap(), k);
    rejects_damage(&bytes, |b| decode_api_key(k.digest, b));
}

#[test]
fn bad_enums_and_flags_are_errors() {
    let mut b = encode_profile(&user());
    b[0] = 9;
    assert_eq!(
        decode_profile(Uuid::nil(), &b).unwrap_err().what,
        "unknown profile kind"
    );
    let mut b = encode_profile(&user());
    b[1] = 0;
    assert_eq!(
        decode_profile(Uuid::nil(), &b).unwrap_err().what,
        "unknown profile state"
    );
    let mut b = encode_profile(&user());
    b[2] |= 0x80;
    assert_eq!(decode_profile(Uuid::nil(), &b).unwrap_err().offset, 2);
    let mut b = encode_profile(&user());
    b[19] = 0xff; // an absurd environment count must not allocate or panic
    assert!(decode_profile(Uuid::nil(), &b).is_err());
    let mut b = encode_token(&TokenRecord {
        digest: TokenDigest([1; 32]),
        profile_id: Uuid::nil(),
        kind: TokenKind::Authorization,
        issued_at: Timestamp(0),
        expires_at: Timestamp(0),
        family: None,
    });
    b[16] = 0;
    assert_eq!(
        decode_token(TokenDigest([1; 32]), &b).unwrap_err().offset,
        16
    );
    b[16] = 1;
    b[33] = 2;
    assert!(decode_token(TokenDigest([1; 32]), &b).is_err());
    let mut s = encode_api_key(&ApiKeyRecord {
        digest: TokenDigest([4; 32]),
        name: "ab".into(),
        created_at: Timestamp(9),
    });
    s[12] = 0xff;
    assert_eq!(
        decode_api_key(TokenDigest([4; 32]), &s).unwrap_err().what,
        "string is not UTF-8"
    );
}

fn oauth_client(all: bool) -> OAuthClientRecord {
    OAuthClientRecord {
        id: Uuid::from_u128(11),
        owner: Uuid::from_u128(7),
        name: "Fotoalbum – Ünïcødé".into(),
        confidential: all,
        redirect_uris: if all {
            vec![
                "https://app.example/cb".into(),
                "http://127.0.0.1/cb".into(),
            ]
        } else {
            vec![]
        },
        scopes: if all {
            vec!["openid".into(), "offline_access".into()]
        } else {
            vec![]
        },
        id_token_alg: if all {
            IdTokenAlg::EdDsa
        } else {
            IdTokenAlg::Rs256
        },
        secret: all.then_some(TokenDigest([5; 32])),
        pending_secret: all.then(|| "tsx_secret".into()),
        first_party: all,
        created_at: Timestamp(-7),
        updated_at: Timestamp(1_767_225_600),
        version: u64::MAX,
    }
}

fn oauth_grant(all: bool) -> OAuthGrantRecord {
    OAuthGrantRecord {
        id: Uuid::from_u128(12),
        client_id: Uuid::from_u128(11),
        profile_id: Uuid::from_u128(7),
        scopes: if all {
            vec!["openid".into(), String::new()]
        } else {
            vec![]
        },
        redirect_uri: all.then(|| "https://app.example/cb".into()),
        code_challenge: all.then(|| "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        nonce: all.then(|| "n-0S6".into()),
        auth_time: Timestamp(990),
        created_at: Timestamp(1000),
        expires_at: Timestamp(i64::MAX),
    }
}

#[test]
fn oauth_records_round_trip() {
    for all in [false, true] {
        let c = oauth_client(all);
        let bytes = encode_client(&c);
        assert_eq!(decode_client(c.id, &bytes).unwrap(), c);
        rejects_damage(&bytes, |b| decode_client(c.id, b));
        let g = oauth_grant(all);
        let bytes = encode_grant(&g);
        assert_eq!(decode_grant(g.id, &bytes).unwrap(), g);
        rejects_damage(&bytes, |b| decode_grant(g.id, b));
    }
    for scopes in [vec![], vec!["openid".to_owned(), "profile".to_owned()]] {
        let c = ConsentRecord {
            profile_id: Uuid::from_u128(7),
            client_id: Uuid::from_u128(11),
            scopes,
            granted_at: Timestamp(3),
        };
        let bytes = encode_consent(&c);
        assert_eq!(
            decode_consent(c.profile_id, c.client_id, &bytes).unwrap(),
            c
        );
        rejects_damage(&bytes, |b| decode_consent(c.profile_id, c.client_id, b));
    }
}

#[test]
fn oauth_layouts_are_fixed() {
    let c = oauth_client(true);
    let b = encode_client(&c);
    assert_eq!(&b[..16], c.owner.as_bytes());
    assert_eq!(
        b[16], 15,
        "flags: confidential, first party, secret, pending secret"
    );
    assert_eq!(b[17], 2, "EdDSA");
    assert_eq!(&b[18..26], &(-7i64).to_le_bytes());
    assert_eq!(&b[26..34], &1_767_225_600i64.to_le_bytes());
    assert_eq!(&b[34..42], &u64::MAX.to_le_bytes());
    assert_eq!(&b[42..74], &[5; 32]);
    assert!(b.ends_with(b"\x0a\0\0\0tsx_secret"));
    let b = encode_client(&oauth_client(false));
    assert_eq!((b[16], b[17]), (0, 1), "no flags, RS256");
    assert_eq!(b.len(), 42 + 4 + "Fotoalbum – Ünïcødé".len() + 4 + 4);
    let g = oauth_grant(true);
    let b = encode_grant(&g);
    assert_eq!(&b[..16], g.client_id.as_bytes());
    assert_eq!(&b[16..32], g.profile_id.as_bytes());
    assert_eq!(&b[32..40], &990i64.to_le_bytes());
    assert_eq!(&b[40..48], &1000i64.to_le_bytes());
    assert_eq!(&b[48..56], &i64::MAX.to_le_bytes());
    assert_eq!(b[56], 7, "flags: redirect URI, code challenge, nonce");
    assert_eq!(&b[57..61], &2u32.to_le_bytes(), "two scopes");
    assert!(b.ends_with(b"\x05\0\0\0n-0S6"));
    let b = encode_consent(&ConsentRecord {
        profile_id: Uuid::nil(),
        client_id: Uuid::nil(),
        scopes: vec!["a".into()],
        granted_at: Timestamp(3),
    });
    assert_eq!(b, b"\x03\0\0\0\0\0\0\0\x01\0\0\0\x01\0\0\0a");
}

#[test]
fn bad_oauth_flags_and_enums_are_errors() {
    let mut b = encode_client(&oauth_client(true));
    b[16] |= 0x10;
    let e = decode_client(Uuid::nil(), &b).unwrap_err();
    assert_eq!((e.what, e.offset), ("unknown client flag bits", 16));
    let mut b = encode_client(&oauth_client(true));
    b[17] = 0;
    let e = decode_client(Uuid::nil(), &b).unwrap_err();
    assert_eq!((e.what, e.offset), ("unknown id token algorithm", 17));
    let mut b = encode_grant(&oauth_grant(true));
    b[56] = 8;
    let e = decode_grant(Uuid::nil(), &b).unwrap_err();
    assert_eq!((e.what, e.offset), ("unknown grant flag bits", 56));
    // an absurd scope count must not allocate or panic
    let mut b = encode_grant(&oauth_grant(false));
    b[57..61].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_grant(Uuid::nil(), &b).is_err());
}
