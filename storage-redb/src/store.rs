//! [`RedbStore`]: opening the data directory, checking the format, running transactions.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, Durability, ReadTransaction, ReadableDatabase, WriteTransaction};
use tessera_core::StoreError;
use tessera_core::store::StoreResult;

use crate::config::RedbConfig;
use crate::error::{Failure, Fallible, corrupt, join_failed};

mod format;

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
/// than the read. Cloning is cheap and shares the database.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
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

    /// Run `f` in a read transaction on the calling thread (the verify path).
    pub(crate) fn read_here<T>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> Fallible<T>,
    ) -> StoreResult<T> {
        let inner = &self.inner;
        catch_unwind(AssertUnwindSafe(|| inner.read(f)))
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

impl Inner {
    fn write<T>(&self, f: impl FnOnce(&WriteTransaction) -> Fallible<T>) -> Fallible<T> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        tx.set_quick_repair(self.quick_repair);
        match f(&tx) {
            Ok(v) => {
                tx.commit()?;
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
}
