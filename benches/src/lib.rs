//! Shared fixtures of the tessera benchmarks: stores filled with many live tokens, built
//! once per run (durable ones cached on disk between runs), and a way to drive the engine's
//! async calls without a scheduler hop.

mod postgres;

pub use postgres::{open_postgres, postgres_url};

use std::future::Future;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tessera_core::clock::Timestamp;
use tessera_core::store::{ProfileRecord, Store, TokenRecord};
use tessera_core::{
    Clock, Engine, EngineConfig, OsRandom, ProfileKind, ProfileState, SystemClock, Token,
    TokenDigest, TokenKind,
};

/// How many token texts each fixture keeps for lookups.
pub const SAMPLE: usize = 10_000;
/// Profiles the tokens are spread over.
const PROFILES: usize = 1_000;

/// A store with `total` live tokens and the texts of `SAMPLE` of them.
pub struct Fixture {
    /// The engine over the store.
    pub engine: Arc<Engine>,
    /// Token texts to look up.
    pub sample: Vec<String>,
}

/// Poll `f` to completion on this thread. Store calls that do not yield complete on the
/// first poll, so this measures the call itself; if one does yield, `rt` finishes it.
pub fn run<F: Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(f),
    }
}

/// A small multi-threaded runtime for the benchmarks.
#[must_use]
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// An engine with production parameters (OWASP argon2) over `store`.
#[must_use]
pub fn engine(store: Arc<dyn Store>) -> Arc<Engine> {
    Arc::new(
        Engine::builder()
            .store(store)
            .config(EngineConfig::default())
            .build()
            .expect("engine"),
    )
}

/// Where durable fixtures are cached: `target/tessera-bench/<name>`.
#[must_use]
pub fn cache_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    base.join("tessera-bench").join(name)
}

fn user(i: usize, now: Timestamp) -> ProfileRecord {
    ProfileRecord {
        id: uuid_from(i as u128 + 1),
        kind: ProfileKind::User,
        username: format!("bench-user-{i}"),
        password_hash: None,
        password_temporary: false,
        state: ProfileState::Active,
        public_key: None,
        owner: None,
        device: None,
        environments: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

fn uuid_from(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// Fill `store` with `total` live tokens over 1,000 profiles; returns `SAMPLE` token texts.
/// Prints the build time.
pub fn populate(
    rt: &tokio::runtime::Runtime,
    store: &Arc<dyn Store>,
    total: usize,
    label: &str,
) -> Vec<String> {
    let started = Instant::now();
    let now = SystemClock.now();
    let expires_at = now.plus_secs(360 * 86_400);
    rt.block_on(async {
        for i in 0..PROFILES {
            store.create_profile(&user(i, now)).await.expect("profile");
        }
        let mut sample = Vec::with_capacity(SAMPLE);
        let mut batch = Vec::with_capacity(10_000);
        for i in 0..total {
            let digest = if i < SAMPLE {
                let t = Token::generate(TokenKind::Authorization, &OsRandom);
                sample.push(t.expose().to_owned());
                t.digest()
            } else {
                let mut b = [0u8; 32];
                b[..8].copy_from_slice(&(i as u64).to_le_bytes());
                b[8..16].copy_from_slice(b"tessera!");
                TokenDigest(b)
            };
            batch.push((
                TokenRecord {
                    digest,
                    profile_id: uuid_from((i % PROFILES) as u128 + 1),
                    kind: TokenKind::Authorization,
                    issued_at: now,
                    expires_at,
                    family: None,
                },
                1,
            ));
            if batch.len() == 10_000 {
                store.put_tokens(&batch).await.expect("tokens");
                batch.clear();
            }
        }
        if !batch.is_empty() {
            store.put_tokens(&batch).await.expect("tokens");
        }
        eprintln!(
            "fixture {label}: {total} tokens built in {:.1?}",
            started.elapsed()
        );
        sample
    })
}

/// A store of `backend` (`memory`, `redb`, `sled`) holding `total` live tokens, and the
/// sample token texts. Durable stores are built once and cached under [`cache_dir`].
pub fn open_backend(
    rt: &tokio::runtime::Runtime,
    backend: &str,
    total: usize,
) -> (Arc<dyn Store>, Vec<String>) {
    match backend {
        "memory" => {
            let store: Arc<dyn Store> = Arc::new(tessera_core::MemoryStore::new());
            let sample = populate(rt, &store, total, "memory");
            (store, sample)
        }
        "redb" | "sled" => {
            let dir = cache_dir(&format!("{backend}-{total}"));
            let marker = dir.join("sample.txt");
            let cached = std::fs::read_to_string(&marker).ok();
            if cached.is_none() {
                let _ = std::fs::remove_dir_all(&dir);
            }
            let store = open_durable(backend, &dir);
            let sample = if let Some(text) = cached {
                eprintln!("fixture {backend}-{total}: reusing {}", dir.display());
                text.lines().map(str::to_owned).collect()
            } else {
                let sample = populate(rt, &store, total, &format!("{backend}-{total}"));
                std::fs::write(&marker, sample.join("\n")).expect("write sample");
                sample
            };
            (store, sample)
        }
        other => panic!("unknown backend {other} (memory, redb, sled)"),
    }
}

/// Open (or create) a durable store of `backend` in `dir`.
pub fn open_durable(backend: &str, dir: &std::path::Path) -> Arc<dyn Store> {
    std::fs::create_dir_all(dir).expect("bench dir");
    match backend {
        "redb" => Arc::new(tessera_storage_redb::RedbStore::open(dir).expect("open redb")),
        "sled" => Arc::new(tessera_storage_sled::SledStore::open(dir).expect("open sled")),
        other => panic!("not a durable backend: {other}"),
    }
}
