//! The message-token adapter: every acceptance rule and every rejection, each with its own
//! error code (SECURITY.md K3 and §5 "Signed message").

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{Value, json};
use tessera_core::{
    Engine, KeyPair, ManualClock, MemoryStore, Operation, OsRandom, RevokeScope, Timestamp,
};
use tessera_message::{
    AuthenticatedMessage, MessageAuthenticator, MessageError, MessagePolicy, canonical_bytes,
};
use uuid::Uuid;

/// The Ed25519 group order ℓ, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

struct Fixture {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
}

struct Profile {
    id: Uuid,
    token: String,
    keys: Option<KeyPair>,
}

fn password(tag: &str) -> String {
    format!("velvet otter quasar lantern {tag} 7291")
}

impl Fixture {
    fn new() -> Self {
        let (engine, clock) = tessera_testkit::test_engine(Arc::new(MemoryStore::new()));
        Self { engine, clock }
    }

    fn authenticator(&self, policy: MessagePolicy) -> MessageAuthenticator {
        MessageAuthenticator::new(Arc::clone(&self.engine), self.clock.clone(), policy)
    }

    async fn incomplete(&self, name: &str) -> Profile {
        let id = self
            .engine
            .register_profile(name, &password(name))
            .await
            .unwrap()
            .value;
        let issued = self
            .engine
            .authenticate(name, &password(name), None)
            .await
            .unwrap();
        Profile {
            id,
            token: issued.token.expose().to_owned(),
            keys: None,
        }
    }

    async fn active(&self, name: &str) -> Profile {
        let mut p = self.incomplete(name).await;
        let keys = KeyPair::generate(&OsRandom);
        let me = self.engine.verify(&p.token).await.unwrap();
        self.engine
            .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(p.id))
            .await
            .unwrap();
        p.keys = Some(keys);
        p
    }

    fn now(&self) -> Timestamp {
        self.engine.now()
    }
}

/// An unsigned message object.
fn object(token: &str, nonce: &str, at: Timestamp) -> Value {
    json!({
        "token": token,
        "type": "device.ping",
        "correlationId": "c-1",
        "timestamp": at.to_rfc3339(),
        "nonce": nonce,
        "payload": {"n": 1, "text": "hello", "list": [true, null, 2.5]},
    })
}

/// `object` signed by `keys` (the signing rule: RFC 8785 bytes without `signature`).
fn signed(mut o: Value, keys: &KeyPair) -> Value {
    let sig = keys.sign(&canonical_bytes(&o).unwrap());
    o["signature"] = hex::encode(sig).into();
    o
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

async fn code(a: &MessageAuthenticator, msg: &[u8]) -> &'static str {
    match a.authenticate(msg).await {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(e) => e.code(),
    }
}

async fn accept(a: &MessageAuthenticator, msg: &[u8]) -> AuthenticatedMessage {
    a.authenticate(msg)
        .await
        .unwrap_or_else(|e| panic!("refused ({}): {e}", e.code()))
}

#[tokio::test]
async fn unsigned_and_signed_messages_are_accepted() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let m = accept(
        &a,
        &bytes(&object(&alice.token, "nonce-0000000001", f.now())),
    )
    .await;
    assert_eq!(m.principal.profile_id, alice.id);
    assert_eq!(m.message_type, "device.ping");
    assert_eq!(m.correlation_id, "c-1");
    assert_eq!(m.nonce, "nonce-0000000001");
    assert_eq!(m.timestamp, f.now());
    assert_eq!(m.payload["list"], json!([true, null, 2.5]));
    assert!(!m.signed);
    let keys = alice.keys.as_ref().unwrap();
    let msg = signed(object(&alice.token, "nonce-0000000002", f.now()), keys);
    let m = accept(&f.authenticator(MessagePolicy::signed()), &bytes(&msg)).await;
    assert!(m.signed);
    // any JSON encoding of the same message verifies (key order, whitespace)
    let pretty = serde_json::to_vec_pretty(&signed(
        object(&alice.token, "nonce-0000000003", f.now()),
        keys,
    ))
    .unwrap();
    assert!(accept(&a, &pretty).await.signed);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_per_profile() {
    let f = Fixture::new();
    let (alice, bob) = (f.active("alice").await, f.active("bob").await);
    let a = f.authenticator(MessagePolicy::default());
    let msg = signed(
        object(&alice.token, "nonce-replay-0001", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    accept(&a, &bytes(&msg)).await;
    assert_eq!(code(&a, &bytes(&msg)).await, "replayed_nonce");
    // a new encoding of the same message is the same nonce
    assert_eq!(
        code(&a, &serde_json::to_vec_pretty(&msg).unwrap()).await,
        "replayed_nonce"
    );
    // a nonce is remembered per profile: bob may use the same text
    accept(
        &a,
        &bytes(&object(&bob.token, "nonce-replay-0001", f.now())),
    )
    .await;
    // still refused until the timestamp leaves the window; then the timestamp refuses it
    f.clock.advance(300);
    assert_eq!(code(&a, &bytes(&msg)).await, "replayed_nonce");
    f.clock.advance(1);
    assert_eq!(code(&a, &bytes(&msg)).await, "stale_timestamp");
}

#[tokio::test]
async fn a_failed_message_does_not_burn_its_nonce() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let good = signed(
        object(&alice.token, "nonce-kept-000001", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    let mut bad = good.clone();
    bad["payload"]["text"] = "forged".into();
    assert_eq!(code(&a, &bytes(&bad)).await, "invalid_signature");
    accept(&a, &bytes(&good)).await;
}

#[tokio::test]
async fn timestamps_outside_the_window_are_stale() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let now = f.now().0;
    for (i, offset) in [-300i64, 300].into_iter().enumerate() {
        let msg = object(
            &alice.token,
            &format!("nonce-window-{i:04}"),
            Timestamp(now + offset),
        );
        accept(&a, &bytes(&msg)).await;
    }
    for offset in [-301i64, 301, -86_400, 86_400] {
        let msg = object(&alice.token, "nonce-window-9999", Timestamp(now + offset));
        assert_eq!(code(&a, &bytes(&msg)).await, "stale_timestamp", "{offset}");
    }
    let narrow = f.authenticator(MessagePolicy {
        window_secs: 10,
        ..MessagePolicy::default()
    });
    let msg = object(&alice.token, "nonce-window-8888", Timestamp(now - 11));
    assert_eq!(code(&narrow, &bytes(&msg)).await, "stale_timestamp");
}

#[tokio::test]
async fn a_changed_byte_fails_the_signature() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let msg = signed(
        object(&alice.token, "nonce-flip-000001", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    let text = String::from_utf8(bytes(&msg)).unwrap();
    for (from, to) in [
        ("hello", "hellp"),
        ("\"n\":1", "\"n\":2"),
        ("device.ping", "device.pinh"),
        ("\"c-1\"", "\"c-2\""),
        ("nonce-flip-000001", "nonce-flip-000002"),
    ] {
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text);
        assert_eq!(
            code(&a, changed.as_bytes()).await,
            "invalid_signature",
            "{from}"
        );
    }
    // a flipped bit in the signature itself (R half, then S half kept canonical)
    let sig = msg["signature"].as_str().unwrap();
    for at in [0, 70] {
        let mut raw = hex::decode(sig).unwrap();
        raw[at / 2] ^= 0x01;
        let mut m = msg.clone();
        m["signature"] = hex::encode(&raw).into();
        assert_eq!(code(&a, &bytes(&m)).await, "invalid_signature", "{at}");
    }
    // a field added after signing
    let mut m = msg.clone();
    m["payload"]["extra"] = true.into();
    assert_eq!(code(&a, &bytes(&m)).await, "invalid_signature");
}

#[tokio::test]
async fn another_profiles_key_or_token_fails_the_signature() {
    let f = Fixture::new();
    let (x, y) = (f.active("xavier").await, f.active("yvonne").await);
    let a = f.authenticator(MessagePolicy::default());
    // Y's token, signed by X's key
    let msg = signed(
        object(&y.token, "nonce-cross-00001", f.now()),
        x.keys.as_ref().unwrap(),
    );
    assert_eq!(code(&a, &bytes(&msg)).await, "invalid_signature");
    // X's signed message with its token swapped for Y's
    let mut msg = signed(
        object(&x.token, "nonce-cross-00002", f.now()),
        x.keys.as_ref().unwrap(),
    );
    msg["token"] = y.token.clone().into();
    assert_eq!(code(&a, &bytes(&msg)).await, "invalid_signature");
    // a key that belongs to nobody
    let stranger = KeyPair::generate(&OsRandom);
    let msg = signed(object(&x.token, "nonce-cross-00003", f.now()), &stranger);
    assert_eq!(code(&a, &bytes(&msg)).await, "invalid_signature");
}

#[tokio::test]
async fn signatures_of_the_wrong_length_or_spelling_are_malformed() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let msg = signed(
        object(&alice.token, "nonce-length-0001", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    let sig = msg["signature"].as_str().unwrap().to_owned();
    let variants = [
        sig[..126].to_owned(),        // 63 bytes
        format!("{sig}00"),           // 65 bytes
        sig[..127].to_owned(),        // odd length
        sig.to_uppercase(),           // one signature has one spelling
        format!("{}zz", &sig[..126]), // not hex
        String::new(),
    ];
    for v in variants {
        let mut m = msg.clone();
        m["signature"] = v.clone().into();
        assert_eq!(code(&a, &bytes(&m)).await, "malformed_signature", "{v}");
    }
    for v in [json!(null), json!(1), json!([sig])] {
        let mut m = msg.clone();
        m["signature"] = v;
        assert_eq!(code(&a, &bytes(&m)).await, "malformed_signature");
    }
}

/// `s + ℓ` (little-endian): the same signature to a lax verifier, malleated.
fn add_group_order(s: &mut [u8]) {
    let mut carry = 0u16;
    for (b, l) in s.iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
}

#[tokio::test]
async fn a_non_canonical_signature_is_refused() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let msg = signed(
        object(&alice.token, "nonce-malleate-01", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    let mut raw = hex::decode(msg["signature"].as_str().unwrap()).unwrap();
    add_group_order(&mut raw[32..]);
    let mut m = msg.clone();
    m["signature"] = hex::encode(&raw).into();
    assert_eq!(code(&a, &bytes(&m)).await, "non_canonical_signature");
    // the untouched message still passes
    accept(&a, &bytes(&msg)).await;
}

#[tokio::test]
async fn a_required_signature_must_be_there() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::signed());
    let msg = object(&alice.token, "nonce-required-01", f.now());
    assert_eq!(code(&a, &bytes(&msg)).await, "invalid_signature");
    assert!(matches!(
        a.authenticate(&bytes(&msg)).await,
        Err(MessageError::MissingSignature)
    ));
    // not required: the same message passes unsigned
    accept(&f.authenticator(MessagePolicy::default()), &bytes(&msg)).await;
}

#[tokio::test]
async fn malformed_messages_are_refused() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let good = object(&alice.token, "nonce-shape-00001", f.now());
    let with = |k: &str, v: Value| {
        let mut m = good.clone();
        m[k] = v;
        bytes(&m)
    };
    let without = |k: &str| {
        let mut m = good.clone();
        m.as_object_mut().unwrap().remove(k);
        bytes(&m)
    };
    let text = String::from_utf8(bytes(&good)).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"token=tsa_x".to_vec()),
        ("empty", Vec::new()),
        ("array", b"[]".to_vec()),
        ("trailing", format!("{text} {{}}").into_bytes()),
        ("invalid UTF-8", b"{\"token\":\"\xff\"}".to_vec()),
        ("unknown field", with("extra", json!(1))),
        ("no type", without("type")),
        ("empty type", with("type", json!(""))),
        ("type not a string", with("type", json!(1))),
        ("no correlationId", without("correlationId")),
        ("no nonce", without("nonce")),
        ("short nonce", with("nonce", json!("abc"))),
        (
            "nonce with a space",
            with("nonce", json!("nonce with spaces!")),
        ),
        ("no timestamp", without("timestamp")),
        ("unix timestamp", with("timestamp", json!(1_771_688_024))),
        ("bad timestamp", with("timestamp", json!("yesterday"))),
        ("no payload", without("payload")),
        (
            "unsafe integer",
            with("payload", json!(9_007_199_254_740_993_u64)),
        ),
        (
            "duplicated key",
            text.replacen('{', "{\"type\":\"x\",", 1).into_bytes(),
        ),
        (
            "too deep",
            with(
                "payload",
                serde_json::from_str(&format!("{}{}", "[".repeat(40), "]".repeat(40))).unwrap(),
            ),
        ),
    ];
    for (what, msg) in cases {
        assert_eq!(code(&a, &msg).await, "malformed_message", "{what}");
    }
    let big = with("payload", json!("x".repeat(70_000)));
    assert_eq!(code(&a, &big).await, "message_too_large");
    // null payload is allowed
    accept(&a, &with("payload", Value::Null)).await;
}

#[tokio::test]
async fn bad_tokens_are_unauthorized_as_on_the_header() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy::default());
    let now = f.now();
    let mut no_token = object(&alice.token, "nonce-token-00001", now);
    no_token.as_object_mut().unwrap().remove("token");
    assert_eq!(code(&a, &bytes(&no_token)).await, "unauthorized");
    let mut number = no_token.clone();
    number["token"] = json!(7);
    assert_eq!(code(&a, &bytes(&number)).await, "unauthorized");
    for t in ["", "tsa_garbage", &alice.token[..alice.token.len() - 1]] {
        let msg = object(t, "nonce-token-00002", now);
        assert_eq!(code(&a, &bytes(&msg)).await, "unauthorized", "{t}");
    }
    // revoked
    let second = f
        .engine
        .authenticate("alice", &password("alice"), None)
        .await
        .unwrap();
    let p = f.engine.verify(second.token.expose()).await.unwrap();
    f.engine.revoke(&p, RevokeScope::Token).await.unwrap();
    let msg = object(second.token.expose(), "nonce-token-00003", now);
    assert_eq!(code(&a, &bytes(&msg)).await, "unauthorized");
    // expired (the timestamp moves with the clock, so only the token is at fault)
    f.clock.advance(3600);
    let msg = object(&alice.token, "nonce-token-00004", f.now());
    assert_eq!(code(&a, &bytes(&msg)).await, "unauthorized");
}

#[tokio::test]
async fn state_guards_follow_the_chosen_operation() {
    let f = Fixture::new();
    let carol = f.incomplete("carol").await;
    let a = f.authenticator(MessagePolicy::default());
    let msg = bytes(&object(&carol.token, "nonce-state-00001", f.now()));
    assert_eq!(code(&a, &msg).await, "profile_incomplete");
    // an operation an incomplete profile may do
    let m = a
        .authenticate_for(&msg, Operation::RetrieveProfileId)
        .await
        .unwrap();
    assert_eq!(m.principal.profile_id, carol.id);
    // the policy's operation is the default for `authenticate` (another authenticator on
    // the same engine shares the nonces: the message sent again is a replay)
    let lenient = f.authenticator(MessagePolicy {
        operation: Operation::Revoke,
        ..MessagePolicy::default()
    });
    assert_eq!(code(&lenient, &msg).await, "replayed_nonce");
    let msg = bytes(&object(&carol.token, "nonce-state-00003", f.now()));
    lenient.authenticate(&msg).await.unwrap();
    // signed without a registered key: nothing to verify against
    let keys = KeyPair::generate(&OsRandom);
    let msg = bytes(&signed(
        object(&carol.token, "nonce-state-00002", f.now()),
        &keys,
    ));
    assert_eq!(code(&lenient, &msg).await, "invalid_signature");
}

#[tokio::test]
async fn a_pending_device_signs_with_its_own_key() {
    let f = Fixture::new();
    let owner = f.active("owner").await;
    let me = f.engine.verify(&owner.token).await.unwrap();
    let qr = f.engine.generate_qr_token(&me, None, None).await.unwrap();
    let dev = f
        .engine
        .redeem_qr_token(qr.token.expose(), "sensor", &password("sensor"), None, None)
        .await
        .unwrap()
        .value;
    let issued = f
        .engine
        .authenticate("sensor", &password("sensor"), None)
        .await
        .unwrap();
    let token = issued.token.expose();
    let keys = KeyPair::generate(&OsRandom);
    let p = f.engine.verify(token).await.unwrap();
    f.engine
        .register_public_key(
            &p,
            &keys.public().to_privicore_hex(),
            &keys.prove(dev.profile_id),
        )
        .await
        .unwrap();
    let a = f.authenticator(MessagePolicy {
        operation: Operation::RetrieveProfileId,
        require_signature: true,
        ..MessagePolicy::default()
    });
    let msg = signed(object(token, "nonce-device-0001", f.now()), &keys);
    let m = accept(&a, &bytes(&msg)).await;
    assert_eq!(m.principal.profile_id, dev.profile_id);
    // but not for an operation that needs an active device
    let msg = signed(object(token, "nonce-device-0002", f.now()), &keys);
    assert_eq!(
        f.authenticator(MessagePolicy::signed())
            .authenticate(&bytes(&msg))
            .await
            .unwrap_err()
            .code(),
        "device_pending"
    );
}

#[tokio::test]
async fn the_replay_cache_is_bounded() {
    let f = Fixture::new();
    let (alice, bob) = (f.active("alice").await, f.active("bob").await);
    let a = f.authenticator(MessagePolicy {
        replay_capacity: 3,
        replay_per_profile: 2,
        ..MessagePolicy::default()
    });
    let send =
        |p: &Profile, n: usize| bytes(&object(&p.token, &format!("nonce-bound-{n:05}"), f.now()));
    accept(&a, &send(&alice, 1)).await;
    accept(&a, &send(&alice, 2)).await;
    assert_eq!(code(&a, &send(&alice, 3)).await, "replay_cache_full");
    accept(&a, &send(&bob, 1)).await;
    assert_eq!(code(&a, &send(&bob, 2)).await, "replay_cache_full");
    // entries leave with the window
    f.clock.advance(301);
    accept(&a, &send(&alice, 3)).await;
    accept(&a, &send(&bob, 2)).await;
}

#[tokio::test]
async fn canonical_encoding_can_be_required() {
    let f = Fixture::new();
    let alice = f.active("alice").await;
    let a = f.authenticator(MessagePolicy {
        canonical_encoding: true,
        ..MessagePolicy::signed()
    });
    let msg = signed(
        object(&alice.token, "nonce-canon-00001", f.now()),
        alice.keys.as_ref().unwrap(),
    );
    let pretty = serde_json::to_vec_pretty(&msg).unwrap();
    assert_eq!(code(&a, &pretty).await, "malformed_message");
    accept(&a, &canonical_bytes(&msg).unwrap()).await;
}

#[test]
fn every_refusal_has_its_own_code() {
    let codes: Vec<&str> = [
        MessageError::TooLarge { max: 1 },
        MessageError::Malformed(String::new()),
        MessageError::Token(tessera_core::Error::Unauthorized),
        MessageError::StaleTimestamp { window_secs: 1 },
        MessageError::ReplayedNonce,
        MessageError::InvalidSignature("x"),
        MessageError::MalformedSignature,
        MessageError::NonCanonicalSignature,
        MessageError::ReplayCacheFull,
    ]
    .iter()
    .map(MessageError::code)
    .collect();
    let distinct: BTreeSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), codes.len(), "{codes:?}");
    assert_eq!(MessageError::MissingSignature.code(), "invalid_signature");
    assert_eq!(MessageError::ReplayedNonce.status(), 401);
    assert_eq!(
        MessageError::Token(tessera_core::Error::DevicePending).status(),
        403
    );
}
