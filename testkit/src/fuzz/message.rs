//! Fuzz body `message`: [`MessageAuthenticator::authenticate`] on arbitrary bytes, against
//! an engine on a `MemoryStore` with a fixed clock that holds an active user with a
//! registered key and an incomplete user.
//!
//! Input layout: byte 0 chooses the policy (bit 0 signature required, bit 1 canonical
//! encoding required, bit 2 a 256-byte size limit, bit 3 a depth limit of 3, bit 4 the
//! limited `Reauthorize` guard instead of active-only, bit 5 the incomplete user's token);
//! the rest is the message, in which `$TOKEN` becomes the chosen user's token, `$NOW` the
//! clock's time (RFC 3339) and `$SIG` the active user's signature of the message.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::test_engine;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use tessera_core::{Clock as _, Engine, KeyPair, ManualClock, MemoryStore, Operation, Timestamp};
use uuid::Uuid;

use tessera_message::{MessageAuthenticator, MessagePolicy, canonical_bytes};

/// The fixed time of the fixture's clock.
const NOW: i64 = 1_767_225_600;
/// Every code [`tessera_message::MessageError::code`] may give here.
const CODES: [&str; 14] = [
    "message_too_large",
    "malformed_message",
    "unauthorized",
    "profile_incomplete",
    "device_pending",
    "device_rejected",
    "forbidden",
    "storage_unavailable",
    "stale_timestamp",
    "invalid_signature",
    "malformed_signature",
    "non_canonical_signature",
    "replayed_nonce",
    "replay_cache_full",
];
/// The fields a message may have.
const FIELDS: [&str; 7] = [
    "token",
    "type",
    "correlationId",
    "timestamp",
    "nonce",
    "payload",
    "signature",
];

struct Fixture {
    rt: tokio::runtime::Runtime,
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    key: KeyPair,
    active: (Uuid, String),
    incomplete: (Uuid, String),
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let key = KeyPair::from_seed(&[7; 32]);
        let (engine, clock, active, incomplete) = rt.block_on(async {
            let (engine, clock) = test_engine(Arc::new(MemoryStore::new()));
            clock.set(Timestamp(NOW));
            let pw = "velvet thunder orchard kites";
            let mut users = Vec::new();
            for name in ["ann", "ben"] {
                engine.register_profile(name, pw).await.expect("register");
                let t = engine.authenticate(name, pw, None).await.expect("login");
                users.push((t.profile_id, t.token.expose().to_owned()));
            }
            let p = engine.verify(&users[0].1).await.expect("verify");
            let proof = key.prove(p.profile_id);
            engine
                .register_public_key(&p, &key.public().to_raw_hex(), &proof)
                .await
                .expect("key");
            let incomplete = users.pop().expect("ben");
            let active = users.pop().expect("ann");
            (engine, clock, active, incomplete)
        });
        Fixture {
            rt,
            engine,
            clock,
            key,
            active,
            incomplete,
        }
    })
}

fn replace(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// The active user's signature of `bytes` (as a message), if they are a JSON object.
fn sign(f: &Fixture, bytes: &[u8]) -> Option<String> {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(bytes) else {
        return None;
    };
    object.remove("signature");
    let canonical = canonical_bytes(&object).ok()?;
    Some(hex::encode(f.key.sign(&canonical)))
}

/// Nesting depth of a JSON text (scalars 0, `[]` 1), refusing duplicated object keys.
fn depth(bytes: &[u8]) -> Result<usize, serde_json::Error> {
    struct Depth;
    impl<'de> DeserializeSeed<'de> for Depth {
        type Value = usize;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Depth {
        type Value = usize;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_i64<E>(self, _: i64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_u64<E>(self, _: u64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_f64<E>(self, _: f64) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_str<E>(self, _: &str) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_unit<E>(self) -> Result<usize, E> {
            Ok(0)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut deepest = 0;
            while let Some(d) = seq.next_element_seed(Depth)? {
                deepest = deepest.max(d);
            }
            Ok(deepest + 1)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<usize, A::Error> {
            let (mut deepest, mut keys) = (0, HashSet::new());
            while let Some(k) = map.next_key::<String>()? {
                if !keys.insert(k) {
                    return Err(de::Error::custom("duplicated key"));
                }
                deepest = deepest.max(map.next_value_seed(Depth)?);
            }
            Ok(deepest + 1)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let d = Depth.deserialize(&mut de)?;
    de.end()?;
    Ok(d)
}

/// The fuzz body. See the module docs.
pub fn message(data: &[u8]) {
    let Some((&flags, template)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let policy = MessagePolicy {
        require_signature: flags & 1 != 0,
        canonical_encoding: flags & 2 != 0,
        max_bytes: if flags & 4 != 0 {
            256
        } else {
            MessagePolicy::default().max_bytes
        },
        max_depth: if flags & 8 != 0 {
            3
        } else {
            MessagePolicy::default().max_depth
        },
        operation: if flags & 16 != 0 {
            Operation::Reauthorize
        } else {
            Operation::Other
        },
        ..MessagePolicy::default()
    };
    let token = if flags & 32 != 0 {
        &f.incomplete.1
    } else {
        &f.active.1
    };
    let bytes = replace(template, b"$TOKEN", token.as_bytes());
    let bytes = replace(&bytes, b"$NOW", Timestamp(NOW).to_rfc3339().as_bytes());
    let bytes = match sign(f, &bytes) {
        Some(sig) => replace(&bytes, b"$SIG", sig.as_bytes()),
        None => bytes,
    };
    let auth = MessageAuthenticator::new(f.engine.clone(), f.clock.clone(), policy.clone());
    let got = f.rt.block_on(auth.authenticate(&bytes));
    assert_eq!(f.clock.now().0, NOW);
    let msg = match got {
        Err(e) => {
            assert!(CODES.contains(&e.code()), "undocumented code {}", e.code());
            assert_eq!(
                e.code() == "message_too_large",
                bytes.len() > policy.max_bytes,
                "size limit"
            );
            return;
        }
        Ok(msg) => msg,
    };
    assert!(bytes.len() <= policy.max_bytes);
    let d = depth(&bytes).expect("accepted JSON without duplicated keys");
    assert!(d <= policy.max_depth, "depth {d} accepted");
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes) else {
        panic!("accepted a message that is not a JSON object");
    };
    assert!(object.keys().all(|k| FIELDS.contains(&k.as_str())));
    assert!(object.contains_key("payload"));
    assert_eq!(msg.payload, object["payload"]);
    assert!((1..=64).contains(&msg.message_type.chars().count()));
    assert!((1..=128).contains(&msg.correlation_id.chars().count()));
    assert!(
        (16..=64).contains(&msg.nonce.len()) && msg.nonce.bytes().all(|b| b.is_ascii_graphic())
    );
    assert!(msg.timestamp.0.abs_diff(NOW) <= policy.window_secs);
    assert_eq!(msg.signed, object.contains_key("signature"));
    assert!(msg.signed || !policy.require_signature);
    if policy.canonical_encoding {
        assert_eq!(
            canonical_bytes(&Value::Object(object)).ok(),
            Some(bytes.clone())
        );
    }
    assert!(msg.principal.profile_id == f.active.0 || msg.principal.profile_id == f.incomplete.0);
    if msg.principal.profile_id == f.incomplete.0 {
        assert_eq!(
            policy.operation,
            Operation::Reauthorize,
            "incomplete profile admitted"
        );
        assert!(!msg.signed, "a profile without a key signed");
    }
    let again = f.rt.block_on(auth.authenticate(&bytes));
    assert_eq!(again.map_err(|e| e.code()), Err("replayed_nonce"));
}
