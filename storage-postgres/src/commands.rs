//! [`CommandStore`] on [`PostgresStore`]: the command log.

use std::sync::Arc;

use async_trait::async_trait;
use tessera_core::store::{CommandFeed, CommandRecord, CommandStore, StoreResult};
use uuid::Uuid;

use crate::codec::{self, COMMAND_COLUMNS, status_to_i16};
use crate::error::from_sqlx;
use crate::store::PostgresStore;

#[async_trait]
impl CommandStore for PostgresStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        insert(self.pool(), command).await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        let sql = format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::command).transpose()
    }

    /// Every node's commands, through `LISTEN`/`NOTIFY` (see `feed.rs`).
    fn command_feed(&self) -> Option<Arc<dyn CommandFeed>> {
        Some(Arc::clone(self.feed()) as Arc<dyn CommandFeed>)
    }
}

/// Insert `command` through `on` (the pool, or the transaction of the change it records).
pub(crate) async fn insert<'c, E>(on: E, command: &CommandRecord) -> StoreResult<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Postgres>,
{
    let names: Vec<&str> = command.result.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<&str> = command.result.iter().map(|(_, v)| v.as_str()).collect();
    sqlx::query(
        "INSERT INTO commands (id, profile_id, status, body, result_names, result_values, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(command.id)
    .bind(command.profile_id)
    .bind(status_to_i16(command.status))
    .bind(command.body.as_str())
    .bind(&names)
    .bind(&values)
    .bind(command.created_at.0)
    .bind(command.expires_at.0)
    .execute(on)
    .await
    .map_err(from_sqlx)?;
    Ok(())
}

/// Insert `command`, if any, in the transaction `tx`.
pub(crate) async fn insert_in(
    tx: &mut sqlx::PgConnection,
    command: Option<&CommandRecord>,
) -> StoreResult<()> {
    match command {
        Some(c) => insert(tx, c).await,
        None => Ok(()),
    }
}
