//! The notifier flags of `tessera serve` (each with its `TESSERA_*` variable).

use std::path::PathBuf;

use clap::Args;

use super::NotifierKind;

/// Where password-reset codes go (replaces `[notify]` of the config file).
#[derive(Debug, Clone, Default, Args)]
pub struct NotifyArgs {
    /// Notifier of password-reset codes: `log` (default: an event on the server log's
    /// tessera::audit target, code included), `file` (JSON lines appended to --notify-file,
    /// created 0600) or `webhook` (HTTP POST to --notify-webhook-url). Without it, a given
    /// --notify-file or --notify-webhook-url picks its notifier.
    #[arg(long, env = "TESSERA_NOTIFIER", value_enum)]
    pub notifier: Option<NotifierKind>,
    /// File the `file` notifier appends to.
    #[arg(long, env = "TESSERA_NOTIFY_FILE")]
    pub notify_file: Option<PathBuf>,
    /// URL the `webhook` notifier posts to (http:// or https://).
    #[arg(long, env = "TESSERA_NOTIFY_WEBHOOK_URL", hide_env_values = true)]
    pub notify_webhook_url: Option<String>,
}
