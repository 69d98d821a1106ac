//! The `file` notifier: JSON lines appended to a file only its owner can read.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tessera_core::{Notification, Notifier};
use zeroize::Zeroizing;

/// Appends one JSON line ([`super::payload`]) per notification to a file. The file is
/// created with mode 0600 (an existing file keeps its mode: a warning is logged at start
/// when others may read it). It is opened for each line, so it can be rotated or truncated
/// while the server runs. A failed write is logged without the code.
#[derive(Debug, Clone)]
pub struct FileNotifier {
    path: Arc<PathBuf>,
    /// One writer at a time, so lines never interleave.
    lock: Arc<std::sync::Mutex<()>>,
}

impl FileNotifier {
    /// Check that `path` can be opened for appending (creating it with mode 0600).
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = append(path)
            .map_err(|e| format!("notify: cannot open {} for appending: {e}", path.display()))?;
        warn_if_readable_by_others(&file, path);
        Ok(Self {
            path: Arc::new(path.to_owned()),
            lock: Arc::new(std::sync::Mutex::new(())),
        })
    }

    /// Append `line` and a newline in one write.
    fn write_line(&self, line: &[u8]) -> std::io::Result<()> {
        let _one_writer = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        append(&self.path)?.write_all(line)
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &File, path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "the reset-code file is readable by others: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &File, _path: &Path) {}

#[async_trait]
impl Notifier for FileNotifier {
    async fn notify(&self, notification: Notification) {
        let Some(payload) = super::payload(&notification) else {
            return;
        };
        let mut line = Zeroizing::new(serde_json::to_vec(&payload).unwrap_or_default());
        line.push(b'\n');
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || this.write_line(&line)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(path = %self.path.display(), error = %e,
                "reset code not delivered: cannot append to the notification file"),
            Err(e) => tracing::error!(error = %e, "reset code not delivered: the writer failed"),
        }
    }
}
