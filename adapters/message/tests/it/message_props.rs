//! Property: any change to the bytes of a signed message fails verification.
//!
//! With `canonical_encoding` (the message must be its own RFC 8785 form) every substituted,
//! inserted or deleted byte is refused. With the default policy (any JSON encoding is
//! canonicalized first) a change is refused unless it leaves the signed content identical —
//! insignificant whitespace, say — and then what is accepted is exactly what was signed.

use std::sync::{Arc, OnceLock};

use proptest::prelude::*;
use serde_json::{Value, json};
use tessera_core::{Engine, KeyPair, ManualClock, MemoryStore, OsRandom};
use tessera_message::{MessageAuthenticator, MessageError, MessagePolicy, canonical_bytes};

struct Fixture {
    runtime: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    /// The signed message, in canonical form.
    message: Vec<u8>,
    /// Its content without the nonce, and the key that signs it.
    content: Value,
    keys: KeyPair,
}

impl Fixture {
    /// The fixture's message with another nonce, signed, in canonical form.
    fn message_with_nonce(&self, nonce: &str) -> Vec<u8> {
        let mut m = self.content.clone();
        m["nonce"] = nonce.into();
        let sig = self.keys.sign(&canonical_bytes(&m).unwrap());
        m["signature"] = hex::encode(sig).into();
        canonical_bytes(&m).unwrap()
    }
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (engine, clock) = tessera_testkit::test_engine(Arc::new(MemoryStore::new()));
        let (content, keys) = runtime.block_on(async {
            let pw = "velvet otter quasar lantern prop 7291";
            let id = engine.register_profile("prop", pw).await.unwrap().value;
            let issued = engine.authenticate("prop", pw, None).await.unwrap();
            let me = engine.verify(issued.token.expose()).await.unwrap();
            let keys = KeyPair::generate(&OsRandom);
            engine
                .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
                .await
                .unwrap();
            let m = json!({
                "token": issued.token.expose(),
                "type": "order.create",
                "correlationId": "c-42",
                "timestamp": engine.now().to_rfc3339(),
                "nonce": "prop-nonce-0000000001",
                "payload": {"sku": "A-1", "qty": 3, "price": 9.5, "tags": ["x", "\u{e9}"], "gift": false, "note": null},
            });
            (m, keys)
        });
        let mut f = Fixture {
            runtime,
            engine,
            clock,
            message: Vec::new(),
            content,
            keys,
        };
        f.message = f.message_with_nonce("prop-nonce-0000000001");
        f
    })
}

#[derive(Debug, Clone)]
enum Change {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn apply(bytes: &[u8], change: &Change) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match *change {
        Change::Replace(i, b) => {
            let i = i % out.len();
            out[i] = if out[i] == b { b.wrapping_add(1) } else { b };
        }
        Change::Insert(i, b) => out.insert(i % (out.len() + 1), b),
        Change::Delete(i) => {
            out.remove(i % bytes.len());
        }
    }
    out
}

/// Bytes worth trying: structural JSON characters, hex digits, whitespace, anything.
fn byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        prop::sample::select(b"{}[]:,\" \n\t\\0123456789abcdefABCDEF.-+eE".to_vec()),
        any::<u8>(),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (any::<usize>(), byte()).prop_map(|(i, b)| Change::Replace(i, b)),
        (any::<usize>(), byte()).prop_map(|(i, b)| Change::Insert(i, b)),
        any::<usize>().prop_map(Change::Delete),
    ]
}

fn authenticator(policy: MessagePolicy) -> MessageAuthenticator {
    let f = fixture();
    MessageAuthenticator::new(Arc::clone(&f.engine), f.clock.clone(), policy)
}

/// The signed content of a message: its canonical bytes without `signature`.
fn signed_content(bytes: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    v.as_object_mut().unwrap().remove("signature");
    canonical_bytes(&v).unwrap()
}

#[test]
fn the_unchanged_message_verifies() {
    let f = fixture();
    // nonces of their own: the engine's store remembers the ones it accepted
    for (policy, nonce) in [
        (MessagePolicy::signed(), "prop-nonce-unchanged-1"),
        (
            MessagePolicy {
                canonical_encoding: true,
                ..MessagePolicy::signed()
            },
            "prop-nonce-unchanged-2",
        ),
    ] {
        let message = f.message_with_nonce(nonce);
        let m = f
            .runtime
            .block_on(authenticator(policy).authenticate(&message))
            .unwrap();
        assert!(m.signed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_changed_byte_fails_with_canonical_encoding(change in change()) {
        let f = fixture();
        let changed = apply(&f.message, &change);
        prop_assume!(changed != f.message);
        let a = authenticator(MessagePolicy { canonical_encoding: true, ..MessagePolicy::signed() });
        let result = f.runtime.block_on(a.authenticate(&changed));
        // the nonce is checked last: a replay passed every other check
        prop_assert!(
            !matches!(result, Ok(_) | Err(MessageError::ReplayedNonce)),
            "accepted {:?}",
            String::from_utf8_lossy(&changed)
        );
    }

    #[test]
    fn any_changed_byte_fails_unless_the_signed_content_is_unchanged(change in change()) {
        let f = fixture();
        let changed = apply(&f.message, &change);
        prop_assume!(changed != f.message);
        let a = authenticator(MessagePolicy::signed());
        // the nonce is checked last: a replay passed every other check (an accepted
        // re-encoding claims the fixture's nonce)
        let result = f.runtime.block_on(a.authenticate(&changed));
        if matches!(result, Ok(_) | Err(MessageError::ReplayedNonce)) {
            prop_assert_eq!(
                signed_content(&changed),
                signed_content(&f.message),
                "accepted a different message: {:?}",
                String::from_utf8_lossy(&changed)
            );
        }
    }
}
