//! [`CommandEvents`]: how a recorded command reaches the subscribers (e.g. the `/ws`
//! channels), whatever the store.
//!
//! A store of one process (memory, redb, sled) has no feed: the engine publishes each
//! command on an in-process broadcast once its write is durable. A store shared by
//! several processes (PostgreSQL) offers a [`CommandFeed`] that delivers every command
//! committed by any of them, this engine's own included; the engine then publishes
//! nothing itself, so each subscriber gets each command once, by one path.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::error::Result;
use crate::store::{CommandEvent, CommandFeed, CommandRecord, Store};

/// Commands a subscription may fall behind by before it is told it lagged.
const CAPACITY: usize = 1024;

/// The engine's source of command events.
pub(super) enum CommandEvents {
    /// In process: [`CommandEvents::published`] sends on this broadcast.
    Local(broadcast::Sender<CommandEvent>),
    /// The store's feed delivers every committed command.
    Feed(Arc<dyn CommandFeed>),
}

impl CommandEvents {
    /// The store's feed when it has one, else an in-process broadcast.
    pub(super) fn for_store(store: &dyn Store) -> Self {
        match store.command_feed() {
            Some(feed) => Self::Feed(feed),
            None => Self::Local(broadcast::channel(CAPACITY).0),
        }
    }

    /// `command` is durable with its change: publish it (in process; a feed delivers it
    /// by itself).
    pub(super) fn published(&self, command: &CommandRecord) {
        match self {
            Self::Local(tx) => {
                let _ = tx.send(CommandEvent {
                    command: command.clone(),
                });
            }
            Self::Feed(_) => {}
        }
    }

    /// A subscription to every command recorded after this returns.
    pub(super) async fn subscribe(&self) -> Result<broadcast::Receiver<CommandEvent>> {
        match self {
            Self::Local(tx) => Ok(tx.subscribe()),
            Self::Feed(feed) => Ok(feed.subscribe().await?),
        }
    }
}

impl std::fmt::Debug for CommandEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(_) => f.write_str("CommandEvents::Local"),
            Self::Feed(feed) => f.debug_tuple("CommandEvents::Feed").field(feed).finish(),
        }
    }
}
