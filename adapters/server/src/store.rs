//! Opening a storage backend by name: the one place the binary chooses a store. Each
//! durable backend is a cargo feature (`redb`, `sled`, `postgres`, all on by default); a
//! backend compiled out is refused with an [`OpenError::NotCompiled`] naming its feature.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tessera_core::{MemoryStore, Store};

/// A storage backend of `tessera serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// redb in `<data-dir>/tessera.redb`: the default, durable (fsync before every reply).
    Redb,
    /// sled in `<data-dir>/sled` (experimental).
    Sled,
    /// PostgreSQL at `--database-url`: several servers can share it.
    Postgres,
    /// In memory: everything is lost at exit (tests, demos).
    Memory,
}

impl Backend {
    /// Its name on the command line.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Redb => "redb",
            Self::Sled => "sled",
            Self::Postgres => "postgres",
            Self::Memory => "memory",
        }
    }

    /// Whether this backend keeps its data directory to one process (redb, sled).
    #[must_use]
    pub const fn single_process(self) -> bool {
        matches!(self, Self::Redb | Self::Sled)
    }
}

/// Why a store could not be opened (the message is for the operator).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// This build has no such backend.
    #[error(
        "the {backend} backend is not in this build: rebuild tessera-server with the cargo \
         feature `{backend}` (e.g. `cargo build --release --features {backend}`)",
        backend = .0.as_str()
    )]
    NotCompiled(Backend),
    /// `--backend postgres` without a URL.
    #[error(
        "the postgres backend needs a database URL: --database-url, TESSERA_DATABASE_URL \
         or `[database] url` in the config file"
    )]
    NoDatabaseUrl,
    /// Another process holds the data directory (redb, sled).
    #[error("{0}")]
    InUse(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Where the store is: a backend and what it needs (a data directory, or a database URL).
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The backend.
    pub backend: Backend,
    /// Data directory of `redb` and `sled`.
    pub data_dir: PathBuf,
    /// PostgreSQL URL of `postgres`.
    pub database_url: Option<String>,
    /// Connections in the PostgreSQL pool.
    pub pool_size: u32,
    /// How long a PostgreSQL call waits for a connection.
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("backend", &self.backend)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl StoreConfig {
    /// Where the store is, for logs (never a password).
    #[must_use]
    pub fn location(&self) -> String {
        match self.backend {
            Backend::Postgres => self
                .database_url
                .as_deref()
                .map_or_else(|| "(no database URL)".to_owned(), redact_url),
            Backend::Memory => "memory".to_owned(),
            Backend::Redb | Backend::Sled => self.data_dir.display().to_string(),
        }
    }
}

/// `url` with its password replaced by `***`, for logs and error messages (without the
/// `postgres` feature the whole URL is hidden).
#[must_use]
pub fn redact_url(url: &str) -> String {
    #[cfg(feature = "postgres")]
    {
        tessera_storage_postgres::redact_url(url)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = url;
        "<redacted>".to_owned()
    }
}

/// Open (creating it on first use) the store `config` describes. For `postgres` this
/// connects, applies the migrations the database lacks and checks its schema version.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    if config.backend != Backend::Postgres {
        return open_store(config.backend, &config.data_dir);
    }
    open_postgres(config).await
}

#[cfg(feature = "postgres")]
async fn open_postgres(config: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    use tessera_storage_postgres::{PostgresConfig, PostgresStore};
    let Some(url) = config.database_url.as_deref() else {
        return Err(OpenError::NoDatabaseUrl);
    };
    let pg = PostgresConfig::new(url)
        .pool_size(config.pool_size)
        .connect_timeout(config.connect_timeout);
    PostgresStore::connect_with(pg)
        .await
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| {
            OpenError::Other(format!(
                "cannot open the postgres store at {}: {e}",
                redact_url(url)
            ))
        })
}

#[cfg(not(feature = "postgres"))]
#[allow(clippy::unused_async)] // the same signature as with the feature
async fn open_postgres(_: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    Err(OpenError::NotCompiled(Backend::Postgres))
}

/// Open (creating it on first use) the store of a file backend (`redb`, `sled`) in `dir`,
/// or a memory store. `postgres` needs [`open`].
pub fn open_store(backend: Backend, dir: &Path) -> Result<Arc<dyn Store>, OpenError> {
    match backend {
        Backend::Memory => Ok(Arc::new(MemoryStore::new())),
        Backend::Redb => open_redb(dir),
        Backend::Sled => open_sled(dir),
        Backend::Postgres => Err(OpenError::Other(
            "the postgres backend is opened with store::open (it needs a database URL)".to_owned(),
        )),
    }
}

#[cfg(feature = "redb")]
fn open_redb(dir: &Path) -> Result<Arc<dyn Store>, OpenError> {
    tessera_storage_redb::RedbStore::open(dir)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| opening_failed(&e, &format!("the redb store in {}", dir.display())))
}

#[cfg(not(feature = "redb"))]
fn open_redb(_: &Path) -> Result<Arc<dyn Store>, OpenError> {
    Err(OpenError::NotCompiled(Backend::Redb))
}

#[cfg(feature = "sled")]
fn open_sled(dir: &Path) -> Result<Arc<dyn Store>, OpenError> {
    let sled_dir = dir.join("sled");
    tessera_storage_sled::SledStore::open(&sled_dir)
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| opening_failed(&e, &format!("the sled store in {}", sled_dir.display())))
}

#[cfg(not(feature = "sled"))]
fn open_sled(_: &Path) -> Result<Arc<dyn Store>, OpenError> {
    Err(OpenError::NotCompiled(Backend::Sled))
}

/// The error of opening `what`: [`OpenError::InUse`] when another process holds it (both
/// file backends say "in use" in a non-retryable `Unavailable`).
#[cfg(any(feature = "redb", feature = "sled"))]
fn opening_failed(e: &tessera_core::StoreError, what: &str) -> OpenError {
    let message = format!("cannot open {what}: {e}");
    match e {
        tessera_core::StoreError::Unavailable {
            retryable: false,
            message: m,
        } if m.contains("in use") => OpenError::InUse(message),
        _ => OpenError::Other(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backend_compiled_out_names_its_feature() {
        let e = OpenError::NotCompiled(Backend::Sled).to_string();
        assert!(e.contains("feature `sled`"), "{e}");
    }

    #[cfg(not(feature = "sled"))]
    #[test]
    fn choosing_sled_compiled_out_is_refused() {
        let e = open_store(Backend::Sled, Path::new("/nonexistent")).err();
        assert_eq!(e, Some(OpenError::NotCompiled(Backend::Sled)));
    }

    #[cfg(not(feature = "redb"))]
    #[test]
    fn choosing_redb_compiled_out_is_refused() {
        let e = open_store(Backend::Redb, Path::new("/nonexistent")).err();
        assert_eq!(e, Some(OpenError::NotCompiled(Backend::Redb)));
    }
}
