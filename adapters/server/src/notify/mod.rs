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
//! companions ([`NotifyArgs`], [`crate::config::NotifySection`]); [`NotifySettings::build`]
//! makes the notifier.

mod args;
mod file;
mod log;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::{Notification, Notifier};

pub use args::NotifyArgs;
pub use file::FileNotifier;
pub use log::LogNotifier;
pub use webhook::WebhookNotifier;

/// Default timeout of a webhook delivery (connect, send and response status).
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// Which notifier delivers reset codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
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

/// The notifier settings after merging flags, environment and the config file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotifySettings {
    /// Which notifier; `None` picks `file` or `webhook` when exactly one of their settings is
    /// given, else `log`.
    pub kind: Option<NotifierKind>,
    /// The file of the `file` notifier.
    pub file: Option<PathBuf>,
    /// The URL of the `webhook` notifier (`http://` or `https://`).
    pub webhook_url: Option<String>,
    /// Timeout of one webhook delivery (default 5 s).
    pub webhook_timeout: Option<Duration>,
}

impl NotifySettings {
    /// The notifier kind in force.
    pub fn kind(&self) -> Result<NotifierKind, String> {
        match (self.kind, &self.file, &self.webhook_url) {
            (Some(k), _, _) => Ok(k),
            (None, Some(_), Some(_)) => Err(
                "notify: both a file and a webhook URL are set: choose one with --notifier / [notify] kind"
                    .into(),
            ),
            (None, Some(_), None) => Ok(NotifierKind::File),
            (None, None, Some(_)) => Ok(NotifierKind::Webhook),
            (None, None, None) => Ok(NotifierKind::Log),
        }
    }

    /// Make the notifier (checks the file can be created, the URL parses).
    pub fn build(&self) -> Result<Arc<dyn Notifier>, String> {
        Ok(match self.kind()? {
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
                Arc::new(WebhookNotifier::new(
                    url,
                    self.webhook_timeout.unwrap_or(DEFAULT_WEBHOOK_TIMEOUT),
                )?)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_follows_the_settings_given() {
        let mut s = NotifySettings::default();
        assert_eq!(s.kind().unwrap(), NotifierKind::Log);
        s.file = Some("/tmp/x".into());
        assert_eq!(s.kind().unwrap(), NotifierKind::File);
        s.webhook_url = Some("http://127.0.0.1:1/".into());
        assert!(s.kind().is_err());
        s.kind = Some(NotifierKind::Webhook);
        assert_eq!(s.kind().unwrap(), NotifierKind::Webhook);
        let missing = NotifySettings {
            kind: Some(NotifierKind::File),
            ..NotifySettings::default()
        };
        assert!(missing.build().unwrap_err().contains("--notify-file"));
    }
}
