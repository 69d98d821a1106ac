//! Where password-reset codes go: the [`Notifier`]s of `tessera serve`.
//!
//! - [`LogNotifier`] (the default): one event on the `tessera::audit` tracing target that
//!   **contains the code**: with no other notifier configured, the server log is how an
//!   operator hands a code to its owner. Choose `file` or `webhook` to keep codes out of the
//!   log.
//! - [`FileNotifier`]: one JSON line per code appended to a file created with mode 0600.
//! - [`WebhookNotifier`]: an HTTP POST of the same JSON to a configured URL, with a bounded
//!   timeout; a failure is logged without the code.
//!
//! The JSON of a notification ([`payload`]):
//! `{"type":"reset_code","profileId","username","code","expiresAt"}`.
//!
//! Settings come from `--notifier` / `TESSERA_NOTIFIER` / `[notify] kind` and their
//! companions ([`NotifyArgs`], [`crate::settings::NotifySection`]); [`NotifySettings::build`]
//! makes the notifier.

mod file;
mod log;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tessera_core::{Notification, Notifier};

pub use crate::settings::flags::NotifyArgs;
pub use file::FileNotifier;
pub use log::LogNotifier;
pub use webhook::WebhookNotifier;

/// Default timeout of a webhook delivery (connect, send and response status).
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Which notifier delivers reset codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// An event on the server log's `tessera::audit` target, with the code (default).
    #[default]
    Log,
    /// JSON lines appended to a file (mode 0600).
    File,
    /// HTTP POST of the JSON to a URL.
    Webhook,
}

/// The notifier settings in force (from [`crate::settings::NotifySection::settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Which notifier.
    pub kind: NotifierKind,
    /// The file of the `file` notifier.
    pub file: Option<PathBuf>,
    /// The URL of the `webhook` notifier (`http://` or `https://`).
    pub webhook_url: Option<String>,
    /// Timeout of one webhook delivery (default 5 s).
    pub webhook_timeout: Duration,
}

impl NotifySettings {
    /// Make the notifier (checks the file can be created, the URL parses).
    pub fn build(&self) -> Result<Arc<dyn Notifier>, String> {
        Ok(match self.kind {
            NotifierKind::Log => Arc::new(LogNotifier),
            NotifierKind::File => {
                let path = self.file.as_ref().ok_or(
                    "notify: the file notifier needs a path (--notify-file / [notify] file)",
                )?;
                Arc::new(FileNotifier::open(path)?)
            }
            NotifierKind::Webhook => {
                let url = self.webhook_url.as_deref().ok_or(
                    "notify: the webhook notifier needs a URL (--notify-webhook-url / [notify] webhook_url)",
                )?;
                Arc::new(WebhookNotifier::new(url, self.webhook_timeout)?)
            }
        })
    }
}

/// The JSON of `n` (with the code: only for a file or a webhook), or `None` for a kind of
/// notification this server does not deliver.
#[must_use]
pub fn payload(n: &Notification) -> Option<Value> {
    match n {
        Notification::ResetCode {
            profile_id,
            username,
            code,
            expires_at,
        } => Some(json!({
            "type": "reset_code",
            "profileId": profile_id.hyphenated().to_string(),
            "username": username,
            "code": code.expose(),
            "expiresAt": expires_at.to_rfc3339(),
        })),
        _ => None,
    }
}
