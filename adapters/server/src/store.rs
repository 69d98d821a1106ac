//! Opening a storage backend by name: the one place the binary chooses a store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tessera_core::{MemoryStore, Store};
use tessera_storage_postgres::{PostgresConfig, PostgresStore, redact_url};

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
}

/// Why a store could not be opened (the message is for the operator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OpenError {}

/// Where the store is: a backend and what it needs (a data directory, or a database URL).
#[derive(Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The backend.
    pub backend: Backend,
    /// Data directory of `redb` and `sled`.
    pub data_dir: PathBuf,
    /// PostgreSQL URL of `postgres`.
    pub database_url: Option<String>,
    /// Connections in the PostgreSQL pool (default 10).
    pub pool_size: Option<u32>,
    /// How long a PostgreSQL call waits for a connection (default 5 s).
    pub connect_timeout: Option<Duration>,
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

/// Open (creating it on first use) the store `config` describes. For `postgres` this
/// connects, applies the migrations the database lacks and checks its schema version.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, OpenError> {
    if config.backend != Backend::Postgres {
        return open_store(config.backend, &config.data_dir);
    }
    let Some(url) = config.database_url.as_deref() else {
        return Err(OpenError(
            "the postgres backend needs a database URL: --database-url, TESSERA_DATABASE_URL \
             or `[database] url` in the config file"
                .to_owned(),
        ));
    };
    let mut pg = PostgresConfig::new(url);
    if let Some(n) = config.pool_size {
        pg = pg.pool_size(n);
    }
    if let Some(t) = config.connect_timeout {
        pg = pg.connect_timeout(t);
    }
    PostgresStore::connect_with(pg)
        .await
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .map_err(|e| {
            OpenError(format!(
                "cannot open the postgres store at {}: {e}",
                redact_url(url)
            ))
        })
}

/// Open (creating it on first use) the store of a file backend (`redb`, `sled`) in `dir`,
/// or a memory store. `postgres` needs [`open`].
pub fn open_store(backend: Backend, dir: &Path) -> Result<Arc<dyn Store>, OpenError> {
    match backend {
        Backend::Memory => Ok(Arc::new(MemoryStore::new())),
        Backend::Redb => tessera_storage_redb::RedbStore::open(dir)
            .map(|s| Arc::new(s) as Arc<dyn Store>)
            .map_err(|e| {
                OpenError(format!(
                    "cannot open the redb store in {}: {e}",
                    dir.display()
                ))
            }),
        Backend::Sled => {
            let sled_dir = dir.join("sled");
            tessera_storage_sled::SledStore::open(&sled_dir)
                .map(|s| Arc::new(s) as Arc<dyn Store>)
                .map_err(|e| {
                    OpenError(format!(
                        "cannot open the sled store in {}: {e}",
                        sled_dir.display()
                    ))
                })
        }
        Backend::Postgres => Err(OpenError(
            "the postgres backend is opened with store::open (it needs a database URL)".to_owned(),
        )),
    }
}
