//! [`RedbStore`]: opening the data directory, checking the format, running transactions.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use redb::{
    Database, Durability, ReadOnlyTable, ReadTransaction, ReadableDatabase, WriteTransaction,
};
use tessera_core::StoreError;
use tessera_core::store::{ResolveCache, StoreResult};

use crate::config::RedbConfig;
use crate::error::{Failure, Fallible, corrupt, join_failed};
use crate::tables as t;

mod format;

pub(crate) use format::format_version;

/// Name of the database file inside the data directory.
pub const FILE_NAME: &str = "tessera.redb";

/// The durable backend: every storage trait of `tessera_core::store` on one redb file,
/// `tessera.redb` in the data directory.
///
/// Each trait method is one redb transaction; every write transaction commits with
/// `Durability::Immediate`, so a call that returned `Ok` is on disk. Writes run on tokio's
/// blocking pool (`spawn_blocking`), since a commit waits for `fsync`. `resolve_token`, the
/// hot path of verify, reads on the calling task instead: it is one read transaction of two
/// B-tree lookups, served from redb's page cache in the common case, and never waits for a
/// writer (redb readers see a snapshot), so handing it to another thread would cost more
/// than the read. Verifies share one read snapshot with the two tables they read already
/// open, until the next commit of this store drops it (see [`Inner::verify_snapshot`]), so
/// a verify is two B-tree lookups and no transaction setup; in front of it, the resolved
/// tokens are kept per thread, tagged with the store's commit count (a hit takes no lock).
/// Cloning is cheap and shares the database. `resolve_oauth`, the hot path of introspection
/// and userinfo, reads the same snapshot (three lookups), and so does `get_client` (client
/// authentication).
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    // Declared before `db`: the snapshot's tables are dropped before the database.
    verify: Mutex<Option<Arc<Snapshot>>>,
    /// Commits so far (also of failed commits), counted after redb's commit and before the
    /// write returns; changed only with `verify` locked. The epoch of [`Inner::resolved`].
    commits: AtomicU64,
    /// Tokens resolved (at most [`RedbConfig::resolve_cache_entries`] per thread), tagged
    /// with the commit count of the snapshot they were read on.
    pub resolved: ResolveCache,
    db: Database,
    file: PathBuf,
    quick_repair: bool,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore")
            .field("file", &self.inner.file)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Open (or create) the store in data directory `dir` with the default [`RedbConfig`].
    ///
    /// Errors: `Unavailable { retryable: false }` when another process (or another open
    /// store in this process) has the directory, or it cannot be created; `Corrupt` when the
    /// file is not a tessera store of a format version this build reads.
    pub fn open(dir: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(dir, RedbConfig::default())
    }

    /// Open (or create) the store in data directory `dir` with `config`.
    pub fn open_with(dir: impl AsRef<Path>, config: RedbConfig) -> StoreResult<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable {
            retryable: false,
            message: format!("cannot create data directory {}: {e}", dir.display()),
        })?;
        let file = dir.join(FILE_NAME);
        let mut builder = Database::builder();
        builder
            .set_cache_size(config.cache_size)
            .set_check_integrity_on_open(config.check_integrity_on_open);
        // redb documents that opening a file damaged outside redb may panic: report it.
        let db = catch_unwind(AssertUnwindSafe(|| builder.create(&file)))
            .map_err(|_| corrupt(&file, "redb file structure", "redb could not read the file"))?
            .map_err(|e| Failure::from(e).into_store(&file))?;
        let inner = Inner {
            verify: Mutex::new(None),
            commits: AtomicU64::new(0),
            resolved: ResolveCache::new(config.resolve_cache_entries),
            db,
            file,
            quick_repair: config.quick_repair,
        };
        inner
            .check_format()
            .map_err(|e| e.into_store(&inner.file))?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The database file.
    pub fn file(&self) -> &Path {
        &self.inner.file
    }

    /// Run `f` in a write transaction on the blocking pool; commit if it succeeds.
    pub(crate) async fn write<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Fallible<T> + Send + 'static,
    {
        self.blocking(move |inner| inner.write(f)).await
    }

    /// Run `f` in a read transaction on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Fallible<T> + Send + 'static,
    {
        self.blocking(move |inner| inner.read(f)).await
    }

    /// The shared state (the verify path reads its cache of resolved tokens).
    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Run `f` on the shared verify snapshot, on the calling thread (the verify path).
    pub(crate) fn read_snapshot<T>(
        &self,
        f: impl FnOnce(&Snapshot) -> Fallible<T>,
    ) -> StoreResult<T> {
        let inner = &self.inner;
        catch_unwind(AssertUnwindSafe(|| f(&*inner.verify_snapshot()?)))
            .unwrap_or_else(|_| Err(panicked()))
            .map_err(|e| e.into_store(&inner.file))
    }

    async fn blocking<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Fallible<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        match tokio::task::spawn_blocking(move || f(&inner).map_err(|e| e.into_store(&inner.file)))
            .await
        {
            Ok(r) => r,
            Err(e) => Err(join_failed(&e, &self.inner.file)),
        }
    }
}

fn panicked() -> Failure {
    Failure::Store(StoreError::Backend(
        "redb panicked during a read".to_owned(),
    ))
}

/// The tables verify (and OAuth's `resolve_oauth`) reads, open in one read transaction
/// (they keep it alive).
pub(crate) struct Snapshot {
    /// `tokens`.
    pub tokens: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    /// `profiles`.
    pub profiles: ReadOnlyTable<&'static [u8; 16], &'static [u8]>,
    /// `oauth_grants`.
    pub grants: ReadOnlyTable<&'static [u8; 16], &'static [u8]>,
    /// `oauth_clients` (client authentication at the token and introspection endpoints).
    pub clients: ReadOnlyTable<&'static [u8; 16], &'static [u8]>,
    /// The commit count when it was begun: it holds at least every commit counted.
    pub epoch: u64,
}

impl Inner {
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Fallible<T>) -> Fallible<T> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.set_quick_repair(self.quick_repair);
        match f(&tx) {
            Ok(v) => {
                let committed = tx.commit();
                // Whether or not the commit went through, no verify after this call returns
                // may use a snapshot from before it.
                self.drop_verify_snapshot();
                committed?;
                Ok(v)
            }
            Err(e) => {
                tx.abort()?;
                Err(e)
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> Fallible<T>) -> Fallible<T> {
        f(&self.db.begin_read()?)
    }

    /// The read snapshot verifies share: the current one, or a new one (a read transaction
    /// begun now) that becomes current unless a commit ended in the meantime.
    ///
    /// A commit bumps `commits` and drops the current snapshot after redb has committed
    /// and before the write call returns, so a verify that starts after a write returned
    /// either finds no snapshot or one begun after that commit: it sees the write, exactly
    /// as with a fresh read transaction. Holding the snapshot pins redb pages only until
    /// the next commit.
    pub(crate) fn verify_snapshot(&self) -> Fallible<Arc<Snapshot>> {
        let epoch = {
            let current = self.verify.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(s) = &*current {
                return Ok(Arc::clone(s));
            }
            self.commits.load(Ordering::SeqCst)
        };
        let rx = self.db.begin_read()?;
        let snapshot = Arc::new(Snapshot {
            tokens: rx.open_table(t::TOKENS)?,
            profiles: rx.open_table(t::PROFILES)?,
            grants: rx.open_table(t::OAUTH_GRANTS)?,
            clients: rx.open_table(t::OAUTH_CLIENTS)?,
            epoch,
        });
        let mut current = self.verify.lock().unwrap_or_else(PoisonError::into_inner);
        if self.commits.load(Ordering::SeqCst) == epoch && current.is_none() {
            *current = Some(Arc::clone(&snapshot));
        }
        Ok(snapshot)
    }

    /// Commits counted so far: the epoch of [`Inner::resolved`].
    pub(crate) fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    fn drop_verify_snapshot(&self) {
        let old = {
            let mut current = self.verify.lock().unwrap_or_else(PoisonError::into_inner);
            self.commits.fetch_add(1, Ordering::SeqCst);
            current.take()
        };
        drop(old);
    }
}
