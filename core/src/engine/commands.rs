//! The command log of the asynchronous (202) pattern, and live command events.
//!
//! An operation that is a command (registering a profile, changing a password,
//! reauthorizing or revoking a token, registering a key, onboarding, configuring, approving,
//! rejecting or removing a device) builds its [`CommandRecord`] before its store write and
//! hands it to that write, which stores both in one transaction; once the write is durable
//! the command is published as a [`CommandEvent`] (by the engine, or by the store's feed
//! on a shared store: see `events.rs`) and the record is returned in [`Accepted`]. So every
//! caller (the HTTP routes, the message adapter, an embedding service) produces the same
//! command, and a crash never leaves a change without its record or a record without its
//! change.

use uuid::Uuid;

use super::Engine;
use crate::error::Result;
use crate::store::{CommandEvent, CommandRecord, CommandStatus};

/// What a command operation returns: its result and the command record written in the
/// same store transaction as its change (`command.id` is the id a 202 reply carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted<T> {
    /// The operation's own result.
    pub value: T,
    /// The command record, already durable and published.
    pub command: CommandRecord,
}

impl Engine {
    /// A new succeeded command of `profile_id` (not yet stored).
    pub(crate) fn new_command(
        &self,
        profile_id: Option<Uuid>,
        body: &str,
        result: Vec<(String, String)>,
    ) -> CommandRecord {
        let now = self.clock.now();
        CommandRecord {
            id: self.new_id(),
            profile_id,
            status: CommandStatus::Succeeded,
            body: body.to_owned(),
            result,
            created_at: now,
            expires_at: now.plus_secs(self.cfg.command_retention_secs),
        }
    }

    /// Publish a command that is durable (with its change) and wrap the operation's result.
    pub(crate) fn accepted<T>(&self, value: T, command: CommandRecord) -> Accepted<T> {
        self.events.published(&command);
        Accepted { value, command }
    }

    /// Record the outcome of a command of `profile_id` that has no change of its own in
    /// the store (durably, before the caller replies) and publish it. The engine's own
    /// command operations write their records with their changes; this is for commands an
    /// embedding service defines. Returns the record (its `id` is the command id).
    pub async fn record_command(
        &self,
        profile_id: Option<Uuid>,
        status: CommandStatus,
        body: &str,
        result: Vec<(String, String)>,
    ) -> Result<CommandRecord> {
        let mut rec = self.new_command(profile_id, body, result);
        rec.status = status;
        self.store.put_command(&rec).await?;
        Ok(self.accepted((), rec).command)
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

    /// Subscribe to commands as they are recorded: the subscription receives every command
    /// recorded after this returns, once, by this engine or (on a store several servers
    /// share, e.g. PostgreSQL) by any engine on the store. A subscription that falls more
    /// than 1024 commands behind is told it lagged. Errors: [`crate::Error::Storage`] when
    /// the store's feed cannot start.
    pub async fn subscribe(&self) -> Result<tokio::sync::broadcast::Receiver<CommandEvent>> {
        self.events.subscribe().await
    }
}
