//! [`CommandStore`] on [`RedbStore`]: the command log, each record with its `expiry` entry.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::store::{CommandRecord, CommandStore, Conflict, StoreError, StoreResult};
use uuid::Uuid;

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::store::RedbStore;
use crate::tables::{self as t, Expiring};

#[async_trait]
impl CommandStore for RedbStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let c = command.clone();
        self.write(move |tx| put_command(tx, &c)).await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        self.read(move |rx| get_command(rx, id)).await
    }
}

/// Write `command`, if any, in the transaction of the change it records.
pub(crate) fn record(tx: &WriteTransaction, command: Option<&CommandRecord>) -> Fallible<()> {
    command.map_or(Ok(()), |c| put_command(tx, c))
}

/// Record a command outcome.
fn put_command(tx: &WriteTransaction, c: &CommandRecord) -> Fallible<()> {
    let mut commands = tx.open_table(t::COMMANDS)?;
    if commands.get(c.id.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    commands.insert(c.id.as_bytes(), codec::encode_command(c).as_slice())?;
    tx.open_table(t::EXPIRY)?.insert(
        &t::expiry_key(c.expires_at, Expiring::Command, c.id.as_bytes()),
        (),
    )?;
    Ok(())
}

/// Command `id`.
fn get_command(rx: &ReadTransaction, id: Uuid) -> Fallible<Option<CommandRecord>> {
    let commands = rx.open_table(t::COMMANDS)?;
    let Some(v) = commands.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_command(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("commands", id.as_bytes(), e))
}
