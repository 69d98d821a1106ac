//! Closing a store synchronously.
//!
//! Dropping a `sled::Db` stops its flusher and flushes, but I/O tasks already queued on
//! sled's thread pool keep the data file, and with it the `flock`, open a few milliseconds
//! longer, and a child process forked meanwhile by another thread shares the open file
//! (and its lock) until it execs. A process that closes a store and then opens it again or
//! starts another process on the same directory (a restart, the crash test's parent) would
//! see "in use" in that window.
//! [`LockRelease`] closes it: dropped after every sled handle, it waits until this process
//! no longer has the data file open.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs2::FileExt;

/// How long a drop waits for sled's thread pool at most.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

/// Waits, when dropped, until sled has closed its data file. Must be dropped after every
/// sled handle (it is the last field of `Inner`).
#[derive(Default)]
pub(super) struct LockRelease {
    /// The canonical path of sled's locked data file, once sled has opened it.
    file: Option<PathBuf>,
}

impl LockRelease {
    /// Start guarding `file` (sled opened it).
    pub(super) fn arm(&mut self, file: &Path) {
        self.file = Some(fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf()));
    }
}

impl Drop for LockRelease {
    fn drop(&mut self) {
        let Some(file) = &self.file else { return };
        let deadline = Instant::now() + RELEASE_WAIT;
        loop {
            // Closed here is not enough: a child forked by another thread of this process
            // shares the open file (and its lock) until it execs. So once the file is
            // closed here (or where /proc is missing) probe the lock itself. Another process
            // that took the lock already makes this wait until the deadline, which only
            // delays this drop.
            let closed = match open_here(file) {
                Some(true) => false,
                Some(false) | None => lock_free(file),
            };
            if closed || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Whether this process has `file` open, from `/proc/self/fd`; `None` where unknown.
fn open_here(file: &Path) -> Option<bool> {
    let fds = fs::read_dir("/proc/self/fd").ok()?;
    Some(
        fds.flatten()
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|p| p == file)),
    )
}

/// Whether nobody holds the lock on `file` (or it is gone).
fn lock_free(file: &Path) -> bool {
    let Ok(f) = fs::File::open(file) else {
        return true;
    };
    let free = FileExt::try_lock_exclusive(&f).is_ok();
    if free {
        let _ = FileExt::unlock(&f);
    }
    free
}
