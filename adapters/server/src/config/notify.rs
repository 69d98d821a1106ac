//! `[notify]`: where password-reset codes go.
//!
//! ```toml
//! [notify]
//! kind = "file"                           # log (default) | file | webhook
//! file = "/var/lib/tessera/reset-codes.jsonl"
//! webhook_url = "https://hooks.internal.example/tessera"
//! webhook_timeout_secs = 5                # 1-60
//! ```
//!
//! `--notifier` / `TESSERA_NOTIFIER`, `--notify-file` / `TESSERA_NOTIFY_FILE` and
//! `--notify-webhook-url` / `TESSERA_NOTIFY_WEBHOOK_URL` replace `kind`, `file` and
//! `webhook_url`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::notify::{NotifierKind, NotifyArgs, NotifySettings};

/// `[notify]`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    /// `log` (default), `file` or `webhook`.
    pub kind: Option<NotifierKind>,
    /// File of the `file` notifier.
    pub file: Option<PathBuf>,
    /// URL of the `webhook` notifier.
    pub webhook_url: Option<String>,
    /// Timeout of one webhook delivery, in seconds (default 5; 1-60).
    pub webhook_timeout_secs: Option<u64>,
}

impl std::fmt::Debug for NotifySection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotifySection")
            .field("kind", &self.kind)
            .field("file", &self.file)
            .field("webhook_url", &self.webhook_url.as_ref().map(|_| "<set>"))
            .field("webhook_timeout_secs", &self.webhook_timeout_secs)
            .finish()
    }
}

impl NotifySection {
    /// The settings in force: the flags (and their environment variables) over this section.
    #[must_use]
    pub fn settings(&self, args: &NotifyArgs) -> NotifySettings {
        NotifySettings {
            kind: args.notifier.or(self.kind),
            file: args.notify_file.clone().or_else(|| self.file.clone()),
            webhook_url: args
                .notify_webhook_url
                .clone()
                .or_else(|| self.webhook_url.clone()),
            webhook_timeout: self.webhook_timeout_secs.map(Duration::from_secs),
        }
    }
}
