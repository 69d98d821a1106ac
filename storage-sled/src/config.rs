//! [`SledConfig`]: how a [`SledStore`](crate::SledStore) opens its data directory.

/// Tuning for [`SledStore::open_with`](crate::SledStore::open_with). The defaults suit a
/// single server; every write is flushed to disk before it is acknowledged whatever the
/// settings, so none of them trades durability away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledConfig {
    /// Page cache size in bytes (sled's `cache_capacity`). Default 64 MiB.
    pub cache_capacity: u64,
    /// Favour write throughput over disk space (sled's `Mode::HighThroughput`). Default
    /// `false` (`Mode::LowSpace`, which compacts more eagerly).
    pub high_throughput: bool,
    /// How often sled's background thread flushes on its own, in milliseconds. Writes are
    /// flushed before they return anyway; this only bounds how long sled's own internal
    /// bookkeeping stays in memory. `None` disables the thread. Default `Some(500)`.
    pub flush_every_ms: Option<u64>,
    /// Largest number of records one purge transaction removes; a
    /// [`purge_expired`](tessera_core::store::MaintenanceStore::purge_expired) call with a
    /// larger limit runs several transactions. Default 256.
    pub purge_chunk: usize,
    /// How many resolved tokens `resolve_token` keeps in memory (0: none), in one map per
    /// thread that verifies (each thread at most this ÷ the CPUs). An entry answers
    /// only while no write has started since it was read (the store's count of writes
    /// started, which every write bumps before it changes anything), so a cached answer is
    /// never older than the last write that returned; any write empties the cache for the
    /// next read. Live tokens only; once full, further tokens are read as without it.
    /// Default 65,536 (some 10 MiB at most).
    pub resolve_cache_entries: usize,
}

impl Default for SledConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 64 * 1024 * 1024,
            high_throughput: false,
            flush_every_ms: Some(500),
            purge_chunk: 256,
            resolve_cache_entries: 65_536,
        }
    }
}

impl SledConfig {
    /// The sled configuration for a database at `path`.
    pub(crate) fn to_sled(&self, path: &std::path::Path) -> sled::Config {
        let mode = if self.high_throughput {
            sled::Mode::HighThroughput
        } else {
            sled::Mode::LowSpace
        };
        sled::Config::new()
            .path(path)
            .cache_capacity(self.cache_capacity)
            .mode(mode)
            .flush_every_ms(self.flush_every_ms)
    }
}
