//! The default notifier: the server log.

use async_trait::async_trait;
use tessera_core::{Notification, Notifier};

/// Writes each reset code as an `info` event on the `tessera::audit` target, **code
/// included**: in the default setup the server log is how an operator learns a code to
/// hand to its owner. It is the one event that carries a secret; configure the `file` or
/// `webhook` notifier to keep codes out of the log.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn notify(&self, notification: Notification) {
        match notification {
            Notification::ResetCode {
                profile_id,
                username,
                code,
                expires_at,
            } => {
                // `?` (Debug) escapes control characters in the (canonical) username.
                tracing::info!(
                    target: "tessera::audit",
                    event = "reset_code",
                    profile_id = %profile_id,
                    username = ?username,
                    code = code.expose(),
                    expires_at = %expires_at.to_rfc3339(),
                    "password reset code issued"
                );
            }
            other => {
                tracing::warn!(notification = ?other, "notification of an unknown kind dropped");
            }
        }
    }
}
