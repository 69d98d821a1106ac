//! `[database]`: the PostgreSQL connection of `--backend postgres`.
//!
//! `--database-url` / `TESSERA_DATABASE_URL` and `--database-pool-size` /
//! `TESSERA_DATABASE_POOL_SIZE` replace `url` and `pool_size`.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::store::{Backend, StoreConfig, redact_url};

/// `[database]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSection {
    /// PostgreSQL URL (`postgres://user:password@host:port/database`).
    pub url: Option<String>,
    /// Connections in the pool (default 10; at least 1).
    pub pool_size: u32,
    /// How long a call waits for a connection before 503 `storage_unavailable`, in
    /// seconds (default 5; at least 1).
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self {
            url: None,
            pool_size: 10,
            connect_timeout_secs: 5,
        }
    }
}

impl std::fmt::Debug for DatabaseSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSection")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .finish()
    }
}

impl DatabaseSection {
    /// Where the store is: `backend` in `data_dir` (redb, sled) or at this section's URL.
    #[must_use]
    pub fn store_config(&self, backend: Backend, data_dir: &Path) -> StoreConfig {
        StoreConfig {
            backend,
            data_dir: data_dir.to_owned(),
            database_url: self.url.clone(),
            pool_size: self.pool_size.max(1),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs.max(1)),
        }
    }
}
