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
//! `webhook_url` ([`crate::notify::NotifyArgs`]).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::SettingsError;
use crate::notify::{DEFAULT_WEBHOOK_TIMEOUT, NotifierKind, NotifySettings};

/// `[notify]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySection {
    /// `log`, `file` or `webhook`; unset, a given `file` or `webhook_url` picks its
    /// notifier, else `log`.
    pub kind: Option<NotifierKind>,
    /// File of the `file` notifier.
    pub file: Option<PathBuf>,
    /// URL of the `webhook` notifier.
    pub webhook_url: Option<String>,
    /// Timeout of one webhook delivery, in seconds (default 5; 1-60).
    pub webhook_timeout_secs: u64,
}

impl Default for NotifySection {
    fn default() -> Self {
        Self {
            kind: None,
            file: None,
            webhook_url: None,
            webhook_timeout_secs: DEFAULT_WEBHOOK_TIMEOUT.as_secs(),
        }
    }
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
    /// The notifier settings, its kind decided.
    pub fn settings(&self) -> Result<NotifySettings, SettingsError> {
        let kind = match (self.kind, &self.file, &self.webhook_url) {
            (Some(k), _, _) => k,
            (None, Some(_), Some(_)) => {
                return Err(SettingsError::invalid(
                    "notify.kind",
                    "both a file and a webhook URL are set: choose one with --notifier / [notify] kind",
                ));
            }
            (None, Some(_), None) => NotifierKind::File,
            (None, None, Some(_)) => NotifierKind::Webhook,
            (None, None, None) => NotifierKind::Log,
        };
        Ok(NotifySettings {
            kind,
            file: self.file.clone(),
            webhook_url: self.webhook_url.clone(),
            webhook_timeout: Duration::from_secs(self.webhook_timeout_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_follows_the_settings_given() {
        let mut s = NotifySection::default();
        assert_eq!(s.settings().unwrap().kind, NotifierKind::Log);
        s.file = Some("/tmp/x".into());
        assert_eq!(s.settings().unwrap().kind, NotifierKind::File);
        s.webhook_url = Some("http://127.0.0.1:1/".into());
        assert!(s.settings().is_err());
        s.kind = Some(NotifierKind::Webhook);
        assert_eq!(s.settings().unwrap().kind, NotifierKind::Webhook);
        let missing = NotifySection {
            kind: Some(NotifierKind::File),
            ..NotifySection::default()
        };
        assert!(
            missing
                .settings()
                .unwrap()
                .build()
                .unwrap_err()
                .contains("--notify-file")
        );
    }
}
