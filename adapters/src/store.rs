//! Opening a storage backend by name: the one place the binary chooses a store.

use std::path::Path;
use std::sync::Arc;

use tessera_core::{MemoryStore, Store};

/// A storage backend of `tessera serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// redb in `<data-dir>/tessera.redb`: the default, durable (fsync before every reply).
    Redb,
    /// sled in `<data-dir>/sled` (experimental).
    Sled,
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

/// Open (creating it on first use) the store of `backend` in `dir`.
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
    }
}
