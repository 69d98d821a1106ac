//! [`CommandStore`] on [`SledStore`]: the command log, each record with its `expiry` entry
//! in one transaction.

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tessera_core::StoreError;
use tessera_core::Timestamp;
use tessera_core::store::{CommandRecord, CommandStore, Conflict, StoreResult};
use uuid::Uuid;

use crate::codec::{decode_command, encode_command};
use crate::error::{TxResult, abort, finish};
use crate::store::{Inner, SledStore, read};
use crate::trees::{EXP_COMMAND, expiry_key};

/// A command record encoded for a transaction (encoded once, outside the closure that a
/// conflicting transaction may re-run).
pub(crate) struct Encoded {
    id: Uuid,
    expires_at: Timestamp,
    value: Vec<u8>,
}

impl Encoded {
    /// `command` encoded, if any.
    pub(crate) fn of(command: Option<&CommandRecord>) -> Option<Self> {
        command.map(|c| Self {
            id: c.id,
            expires_at: c.expires_at,
            value: encode_command(c),
        })
    }
}

/// Write `command`, if any, in the transaction of the change it records (`commands` and
/// `expiry` are that transaction's trees).
pub(crate) fn record_tx(
    commands: &TransactionalTree,
    expiry: &TransactionalTree,
    command: Option<&Encoded>,
) -> TxResult<()> {
    if let Some(c) = command {
        let key = c.id.as_bytes();
        commands.insert(&key[..], c.value.as_slice())?;
        expiry.insert(expiry_key(c.expires_at, EXP_COMMAND, key), &[][..])?;
    }
    Ok(())
}

#[async_trait]
impl CommandStore for SledStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let value = encode_command(command);
        let (id, exp) = (command.id, command.expires_at);
        self.write(move |db: &Inner| {
            let t = &db.t;
            finish((&t.commands, &t.expiry).transaction(|(commands, expiry)| {
                let key = id.as_bytes();
                if commands.get(key)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                commands.insert(&key[..], value.as_slice())?;
                expiry.insert(expiry_key(exp, EXP_COMMAND, key), &[][..])?;
                Ok(())
            }))
        })
        .await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        read(&self.inner.t.commands, "commands", id.as_bytes(), |b| {
            decode_command(id, b)
        })
    }
}
