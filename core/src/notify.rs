//! Notifications the engine sends out of band (password-reset codes), through an injected
//! [`Notifier`]. The engine never logs a code; a notifier decides where it goes (the server
//! offers a log, a JSON-lines file and a webhook).

use std::fmt;

use async_trait::async_trait;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::clock::Timestamp;

/// A password-reset confirmation code: 8 characters of Crockford base32
/// (`0-9 A-Z` without `I L O U`). Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct ResetCode(Zeroizing<String>);

impl ResetCode {
    pub(crate) fn new(code: String) -> Self {
        Self(Zeroizing::new(code))
    }

    /// The code, to deliver to the account's owner.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResetCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetCode(<redacted>)")
    }
}

/// Something to tell a profile's owner.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Notification {
    /// A password-reset code was issued (forgot-password).
    ResetCode {
        /// The profile whose password may be reset.
        profile_id: Uuid,
        /// Its canonical username.
        username: String,
        /// The code (secret).
        code: ResetCode,
        /// The code works while `now < expires_at`.
        expires_at: Timestamp,
    },
}

/// Delivers [`Notification`]s. Called from a background task, never on a request's path,
/// so its latency and failures are invisible to the caller (forgot-password answers the
/// same whether or not anything is sent). Implementations report their own failures.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Deliver one notification.
    async fn notify(&self, notification: Notification);
}

/// Drops every notification (the engine's default: embedders choose where codes go).
#[derive(Debug, Default, Clone, Copy)]
pub struct DiscardNotifier;

#[async_trait]
impl Notifier for DiscardNotifier {
    async fn notify(&self, _notification: Notification) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_redacted() {
        let n = Notification::ResetCode {
            profile_id: Uuid::nil(),
            username: "alice".into(),
            code: ResetCode::new("7K3MQ9XZ".into()),
            expires_at: Timestamp(0),
        };
        let text = format!("{n:?}");
        assert!(!text.contains("7K3MQ9XZ"), "{text}");
        assert!(text.contains("alice"));
    }
}
