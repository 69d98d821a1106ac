//! The message-token adapter: authenticating one message, unsigned vs signed.
//!
//! Group `message` (results in `target/criterion/message/<function>/`):
//! - `unsigned`: parse (bounded), timestamp window, token verify (memory store), nonce
//!   cache insert;
//! - `signed`: the same plus the profile's key lookup, RFC 8785 canonicalization of the
//!   message without `signature` and a strict Ed25519 verification.
//!
//! Each iteration authenticates a fresh message (a new nonce; signing happens in the
//! untimed setup) against one shared authenticator, as a queue consumer would. The manual
//! clock jumps past the window every 20,000 messages so the replay cache stays bounded
//! (the timed part includes that atomic store and the amortized purge).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;
use tessera_benches::{run, runtime};
use tessera_core::{Engine, KeyPair, ManualClock, MemoryStore, OsRandom, Timestamp, Ttl};
use tessera_message::{MessageAuthenticator, MessagePolicy, canonical_bytes};

/// Messages between two clock jumps past the window.
const PER_WINDOW: u64 = 20_000;

struct Fixture {
    auth: MessageAuthenticator,
    clock: Arc<ManualClock>,
    token: String,
    keys: KeyPair,
    start: Timestamp,
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    let clock = Arc::new(ManualClock::default());
    let engine = Arc::new(
        Engine::builder()
            .store(Arc::new(MemoryStore::new()))
            .clock(clock.clone())
            .build()
            .expect("engine"),
    );
    let (token, keys) = rt.block_on(async {
        let pw = "velvet otter quasar lantern bench 7291";
        let id = engine.register_profile("bench", pw).await.unwrap().value;
        let login = engine
            .authenticate("bench", pw, Some(Ttl::from_secs(31_104_000).unwrap()))
            .await
            .unwrap();
        let me = engine.verify(login.token.expose()).await.unwrap();
        let keys = KeyPair::generate(&OsRandom);
        engine
            .register_public_key(&me, &keys.public().to_privicore_hex(), &keys.prove(id))
            .await
            .unwrap();
        (login.token.expose().to_owned(), keys)
    });
    let policy = MessagePolicy {
        replay_capacity: 2 * PER_WINDOW as usize,
        replay_per_profile: 2 * PER_WINDOW as usize,
        ..MessagePolicy::default()
    };
    Fixture {
        auth: MessageAuthenticator::new(Arc::clone(&engine), clock.clone(), policy),
        clock,
        token,
        keys,
        start: engine.now(),
    }
}

impl Fixture {
    /// The clock's time while message `n` is authenticated: 601 s later every
    /// `PER_WINDOW` messages, so older nonces leave the replay cache.
    fn time_of(&self, n: u64) -> Timestamp {
        Timestamp(self.start.0 + 601 * (n / PER_WINDOW) as i64)
    }

    /// Message `n` (a new nonce), signed or not.
    fn message(&self, n: u64, sign: bool) -> Vec<u8> {
        let mut m = json!({
            "token": self.token,
            "type": "order.create",
            "correlationId": format!("c-{n}"),
            "timestamp": self.time_of(n).to_rfc3339(),
            "nonce": format!("bench-nonce-{n:016}"),
            "payload": {"sku": "A-1042", "qty": 3, "price": 19.5, "tags": ["gift", "express"],
                        "address": {"city": "Lyon", "zip": "69002"}},
        });
        if sign {
            let sig = self.keys.sign(&canonical_bytes(&m).unwrap());
            m["signature"] = hex::encode(sig).into();
        }
        serde_json::to_vec(&m).unwrap()
    }
}

fn message(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture(&rt);
    let mut g = c.benchmark_group("message");
    let mut n = 0u64; // one nonce sequence for both functions
    for (name, sign) in [("unsigned", false), ("signed", true)] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || {
                    n += 1;
                    (n, f.message(n, sign))
                },
                |(n, bytes)| {
                    f.clock.set(f.time_of(n));
                    let m = run(&rt, f.auth.authenticate(black_box(&bytes))).expect("accepted");
                    assert_eq!(m.signed, sign);
                    m
                },
                BatchSize::SmallInput,
            );
        });
    }
    g.finish();
}

criterion_group!(benches, message);
criterion_main!(benches);
