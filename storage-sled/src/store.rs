//! [`SledStore`]: the storage traits on sled trees.
//!
//! **Atomicity.** Every write that touches more than one key is one sled multi-tree
//! transaction (`(&a, &b, …).transaction(…)`); records and their index entries are never
//! written apart. sled 0.34 runs transactions under a process-wide lock, so they are
//! serialisable. Inside a transaction only point reads are possible (a scan would
//! deadlock on that lock), so revoking *every* token of a profile or of a refresh family
//! is optimistic: the scan before the transaction is proven current inside it, else the
//! transaction aborts and the caller rescans (see `revoke.rs`, and `revoke_family` in
//! `tokens.rs`).
//!
//! **Durability.** Every write calls `Db::flush` (an fsync of sled's log) before it returns,
//! also when it ends in a refusal, since a refusal may rest on another writer's
//! not-yet-flushed data.
//!
//! **Blocking.** A flush takes milliseconds, so every write (transaction + flush) runs on
//! tokio's blocking pool (`spawn_blocking`), or inline when there is no tokio runtime.
//! Reads are point lookups in sled's page cache and run inline on the calling task.
//!
//! **Verify.** `resolve_token` reads the token, then its profile. Two reads are one
//! consistent snapshot when no write of this store ran while they did, which [`Writes`]
//! tells (sled is opened by one process, so every write goes through this store);
//! otherwise it re-reads the token (see `tokens.rs`).

mod open;
mod release;
mod upgrade;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_core::store::StoreResult;

use crate::codec::DecodeError;
use crate::config::SledConfig;
use crate::error::{corrupt, from_join, from_sled};
use crate::trees::Trees;

/// The sled backend. Cheap to clone (an `Arc`); every clone is the same store.
///
/// Open it once per process: the data directory is locked while a `SledStore` on it is
/// alive, and a second open (from this or another process) fails at once with
/// `StoreError::Unavailable { retryable: false, .. }`. Dropping the last clone closes the
/// store and returns once sled has released the directory, so it can be reopened at once.
#[derive(Clone)]
pub struct SledStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) db: sled::Db,
    pub(crate) t: Trees,
    pub(crate) writes: Writes,
    dir: PathBuf,
    pub(crate) purge_chunk: usize,
    /// Resolved tokens, tagged with the count of writes started when they were read
    /// ([`SledConfig::resolve_cache_entries`](crate::SledConfig::resolve_cache_entries)).
    pub(crate) resolved: tessera_core::store::ResolveCache,
    /// Held by every write of `api_keys` (see `keys.rs`): name uniqueness needs a scan,
    /// which a sled transaction cannot do.
    pub(crate) api_key_writes: std::sync::Mutex<()>,
    /// Held by every write of the directory trees (see `directory.rs`): the bounds and
    /// the removal of a directory need scans, which a sled transaction cannot do.
    pub(crate) directory_writes: std::sync::Mutex<()>,
    /// Last: dropped after `db` and `t`, it waits for sled to release the directory.
    _release: release::LockRelease,
}

impl fmt::Debug for SledStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // sled's own Debug dumps every tree; show where the store is instead.
        f.debug_struct("SledStore")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl SledStore {
    /// Open the store in `dir`, creating the directory and an empty store if needed, with
    /// the default [`SledConfig`].
    ///
    /// Errors: `Unavailable { retryable: false }` when another process has it open or the
    /// directory cannot be used; `Corrupt` for an unknown format version, a missing or
    /// damaged format record, or data sled cannot recover.
    pub fn open(dir: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(dir, &SledConfig::default())
    }

    /// [`open`](Self::open) with explicit settings.
    pub fn open_with(dir: impl AsRef<Path>, config: &SledConfig) -> StoreResult<Self> {
        let inner = open::open(dir.as_ref(), config)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Bytes sled's files take on disk now.
    pub fn size_on_disk(&self) -> StoreResult<u64> {
        self.inner.db.size_on_disk().map_err(from_sled)
    }

    /// Run a write (a transaction) off the async executor, then flush it to disk.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let job = move || {
            let r = inner.writes.run(|| f(&inner));
            let flushed = inner.db.flush().map_err(from_sled);
            match r {
                Ok(v) => flushed.map(|_| v),
                Err(e) => Err(e),
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => rt.spawn_blocking(job).await.map_err(|e| from_join(&e))?,
            Err(_) => job(),
        }
    }
}

/// Counts of writes started and finished: a seqlock for the verify path's reads.
#[derive(Default)]
pub(crate) struct Writes {
    started: AtomicU64,
    finished: AtomicU64,
}

impl Writes {
    /// Run the write `f`, counted.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        // Finished also when `f` panics, or every later read would take the slow path.
        struct Finish<'a>(&'a AtomicU64);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        let _finish = Finish(&self.finished);
        f()
    }

    /// Before reads: a ticket if no write is running now.
    pub(crate) fn quiet(&self) -> Option<u64> {
        let started = self.started.load(Ordering::SeqCst);
        (self.finished.load(Ordering::SeqCst) == started).then_some(started)
    }

    /// After reads: whether no write started since [`Writes::quiet`] gave `ticket`. Then
    /// none ran during the reads, and they saw the store between two writes. (A write
    /// counts itself started before it changes anything, and any change a read saw
    /// happened after that count, so this load sees it.)
    pub(crate) fn still_quiet(&self, ticket: u64) -> bool {
        self.started.load(Ordering::SeqCst) == ticket
    }
}

/// Point read of `tree[key]`, decoded with `decode`.
pub(crate) fn read<T>(
    tree: &sled::Tree,
    name: &str,
    key: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
) -> StoreResult<Option<T>> {
    match tree.get(key).map_err(from_sled)? {
        None => Ok(None),
        Some(v) => decode(&v).map(Some).map_err(|e| corrupt(name, key, e)),
    }
}
