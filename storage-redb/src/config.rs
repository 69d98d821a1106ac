//! [`RedbConfig`]: how [`crate::RedbStore::open_with`] opens the database file.

/// Options of a redb store. `RedbConfig::default()` suits a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedbConfig {
    /// Bytes of memory redb may use to cache pages. Default 64 MiB.
    pub cache_size: usize,
    /// Save the allocator state with every commit, so that reopening after a crash takes
    /// milliseconds instead of a walk over the whole file; commits are a little slower.
    /// Default `true`.
    pub quick_repair: bool,
    /// Verify the checksum of every page each time the store opens (not only after a
    /// crash), so a file damaged outside redb is refused as `Corrupt` at open instead of
    /// failing later. Reads the whole file. Default `false`.
    pub check_integrity_on_open: bool,
    /// How many resolved tokens `resolve_token` keeps in memory (0: none), in one map per
    /// thread that verifies (each thread at most this ÷ the CPUs). An entry answers only
    /// while no commit of this store has been counted since its read (every commit is
    /// counted before the write returns), so a cached answer is never older than the last
    /// write that returned. Live tokens only; once full, further tokens are read as without
    /// it. Default 65,536 (some 10 MiB at most).
    pub resolve_cache_entries: usize,
}

impl Default for RedbConfig {
    fn default() -> Self {
        Self {
            cache_size: 64 * 1024 * 1024,
            quick_repair: true,
            check_integrity_on_open: false,
            resolve_cache_entries: 65_536,
        }
    }
}

impl RedbConfig {
    /// Set [`RedbConfig::cache_size`].
    #[must_use]
    pub const fn cache_size(mut self, bytes: usize) -> Self {
        self.cache_size = bytes;
        self
    }

    /// Set [`RedbConfig::quick_repair`].
    #[must_use]
    pub const fn quick_repair(mut self, on: bool) -> Self {
        self.quick_repair = on;
        self
    }

    /// Set [`RedbConfig::resolve_cache_entries`] (0 turns the cache off).
    #[must_use]
    pub const fn resolve_cache_entries(mut self, entries: usize) -> Self {
        self.resolve_cache_entries = entries;
        self
    }

    /// Set [`RedbConfig::check_integrity_on_open`].
    #[must_use]
    pub const fn check_integrity_on_open(mut self, on: bool) -> Self {
        self.check_integrity_on_open = on;
        self
    }
}
