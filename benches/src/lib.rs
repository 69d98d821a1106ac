//! Shared fixtures of the tessera benchmarks: stores filled with many live tokens, built
//! once per run in temp dirs and shared between the benchmarks of that run, and a way to
//! drive the engine's async calls without a scheduler hop.

mod postgres;

pub use postgres::{open_postgres, postgres_url};

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
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
            store
                .create_profile(&user(i, now), None)
                .await
                .expect("profile");
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

/// The sample token texts, packed end to end in one buffer: a verify's input then comes
/// from cache, as a request header would, and the benchmark measures the store lookup
/// rather than a pointer chase to a scattered `String`.
#[derive(Debug)]
pub struct Sample {
    text: String,
    width: usize,
}

impl Sample {
    /// Pack `texts`, which must all have the same length.
    #[must_use]
    pub fn new<S: AsRef<str>>(texts: &[S]) -> Self {
        let width = texts.first().map_or(0, |t| t.as_ref().len());
        let mut text = String::with_capacity(width * texts.len());
        for t in texts {
            assert_eq!(t.as_ref().len(), width, "sample texts differ in length");
            text.push_str(t.as_ref());
        }
        Self { text, width }
    }

    /// Text `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> &str {
        &self.text[i * self.width..(i + 1) * self.width]
    }

    /// How many texts.
    #[must_use]
    pub fn len(&self) -> usize {
        self.text.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// One built store: the store, its sample texts and (durable backends) its temp dir.
#[derive(Debug)]
struct Built {
    // Dropped first: the store closes its files before its directory is removed.
    store: Arc<dyn Store>,
    sample: Arc<Sample>,
    dir: Option<tempfile::TempDir>,
}

/// Stores built once per run, each durable one in its own temp dir, and shared by every
/// benchmark of the run that asks for the same backend and size (e.g. `verify/tessera_redb`
/// and `verify_scale/tessera_redb_1m`). Dropping it closes the stores and removes the dirs.
///
/// The temp dirs are made under `$TESSERA_BENCH_DIR` if set, else the system temp dir. For
/// development only, `TESSERA_BENCH_CACHE=DIR` keeps the durable stores in `DIR` and reuses
/// them in later runs instead.
#[derive(Default, Debug)]
pub struct Fixtures {
    built: Mutex<HashMap<(String, usize), Built>>,
}

impl Fixtures {
    /// The store of `backend` (`memory`, `redb`, `sled`) holding `total` live tokens over
    /// 1,000 profiles, and `SAMPLE` of their texts; built (and its build time printed) on
    /// the first call for that backend and size.
    pub fn get(
        &self,
        rt: &tokio::runtime::Runtime,
        backend: &str,
        total: usize,
    ) -> (Arc<dyn Store>, Arc<Sample>) {
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        let b = built
            .entry((backend.to_owned(), total))
            .or_insert_with(|| build(rt, backend, total));
        (Arc::clone(&b.store), Arc::clone(&b.sample))
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let built = self.built.get_mut().unwrap_or_else(PoisonError::into_inner);
        for (_, b) in built.drain() {
            let Built { store, sample, dir } = b;
            drop((store, sample));
            drop(dir);
        }
    }
}

fn build(rt: &tokio::runtime::Runtime, backend: &str, total: usize) -> Built {
    let label = format!("{backend}-{total}");
    if backend == "memory" {
        let store: Arc<dyn Store> = Arc::new(tessera_core::MemoryStore::new());
        let sample = Arc::new(Sample::new(&populate(rt, &store, total, &label)));
        return Built {
            store,
            sample,
            dir: None,
        };
    }
    assert!(
        matches!(backend, "redb" | "redb_uncached" | "sled" | "sled_uncached"),
        "unknown backend {backend} (memory, redb, redb_uncached, sled, sled_uncached)"
    );
    if let Some(cache) = std::env::var_os("TESSERA_BENCH_CACHE") {
        // Opt-in for development: keep the store between runs.
        let dir = std::path::Path::new(&cache).join(&label);
        let marker = dir.join("sample.txt");
        if let Ok(text) = std::fs::read_to_string(&marker) {
            eprintln!("fixture {label}: reusing {}", dir.display());
            let store = open_durable(backend, &dir);
            let sample = Arc::new(Sample::new(&text.lines().collect::<Vec<_>>()));
            return Built {
                store,
                sample,
                dir: None,
            };
        }
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("TESSERA_BENCH_CACHE");
        let store = open_durable(backend, &dir);
        let sample = populate(rt, &store, total, &label);
        std::fs::write(&marker, sample.join("\n")).expect("write sample");
        return Built {
            store,
            sample: Arc::new(Sample::new(&sample)),
            dir: None,
        };
    }
    let dir = temp_dir(&label);
    eprintln!("fixture {label}: building in {}", dir.path().display());
    let store = open_durable(backend, dir.path());
    let sample = Arc::new(Sample::new(&populate(rt, &store, total, &label)));
    Built {
        store,
        sample,
        dir: Some(dir),
    }
}

/// A fresh temp dir for a fixture or an engine bench (see [`Fixtures`] for where).
#[must_use]
pub fn temp_dir(label: &str) -> tempfile::TempDir {
    let prefix = format!("tessera-bench-{label}-");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix);
    match std::env::var_os("TESSERA_BENCH_DIR") {
        Some(base) => {
            std::fs::create_dir_all(&base).expect("TESSERA_BENCH_DIR");
            b.tempdir_in(base)
        }
        None => b.tempdir(),
    }
    .expect("temp dir")
}

/// Open (or create) a durable store of `backend` in `dir`.
pub fn open_durable(backend: &str, dir: &std::path::Path) -> Arc<dyn Store> {
    match backend {
        "redb" => Arc::new(tessera_storage_redb::RedbStore::open(dir).expect("open redb")),
        // the same store without the resolved-token cache (every verify reads the B-trees)
        "redb_uncached" => Arc::new(
            tessera_storage_redb::RedbStore::open_with(
                dir,
                tessera_storage_redb::RedbConfig::default().resolve_cache_entries(0),
            )
            .expect("open redb"),
        ),
        "sled" => Arc::new(tessera_storage_sled::SledStore::open(dir).expect("open sled")),
        "sled_uncached" => Arc::new(
            tessera_storage_sled::SledStore::open_with(
                dir,
                &tessera_storage_sled::SledConfig {
                    resolve_cache_entries: 0,
                    ..tessera_storage_sled::SledConfig::default()
                },
            )
            .expect("open sled"),
        ),
        other => panic!("not a durable backend: {other}"),
    }
}
