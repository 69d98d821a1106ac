//! The command log of the asynchronous pattern, and live command events.

use uuid::Uuid;

use super::Engine;
use crate::error::Result;
use crate::store::{CommandRecord, CommandStatus};

/// A command just recorded, for subscribers (e.g. a profile's WebSocket channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEvent {
    /// The recorded command.
    pub command: CommandRecord,
}

impl Engine {
    /// Record the outcome of a command of `profile_id` (durably, before the caller replies)
    /// and publish it to subscribers. Returns the record (its `id` is the command id).
    pub async fn record_command(
        &self,
        profile_id: Option<Uuid>,
        status: CommandStatus,
        body: &str,
        result: Vec<(String, String)>,
    ) -> Result<CommandRecord> {
        let now = self.clock.now();
        let rec = CommandRecord {
            id: self.new_id(),
            profile_id,
            status,
            body: body.to_owned(),
            result,
            created_at: now,
            expires_at: now.plus_secs(self.cfg.command_retention_secs),
        };
        self.store.put_command(&rec).await?;
        let _ = self.events.send(CommandEvent {
            command: rec.clone(),
        });
        Ok(rec)
    }

    /// A command record by id; `None` when unknown or purged (or past retention).
    pub async fn command(&self, id: Uuid) -> Result<Option<CommandRecord>> {
        let now = self.clock.now();
        Ok(self
            .store
            .get_command(id)
            .await?
            .filter(|c| c.expires_at > now))
    }

    /// Subscribe to commands as they are recorded.
    #[must_use]
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<CommandEvent> {
        self.events.subscribe()
    }
}
