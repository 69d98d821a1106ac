//! [`CommandFeed`] on [`PostgresStore`]: every command any node records reaches the
//! subscribers of every node once, through PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! A trigger on `commands` (migration 5) sends `'<xid> <xmin> <id>'` on the schema's
//! channel from the inserting transaction, so the notification leaves at commit and never
//! for a rollback. Each store has one listening connection (started by the first
//! [`CommandFeed::subscribe`]) and a task that reads the notified records and publishes
//! them on a broadcast.
//!
//! ## No push lost, none twice, across a lost connection
//!
//! A sequence number would not do for the catch-up: it is drawn at insert, not at commit,
//! so a transaction that commits late sits below numbers already seen. The feed keeps a
//! **horizon** instead, a transaction id with this invariant: *every command committed by
//! a transaction below the horizon has been published*. It holds because of two facts of
//! PostgreSQL: a snapshot's `xmin` is below every transaction still running when it was
//! taken (so every transaction below it had ended), and notifications are queued in commit
//! order and read in queue order.
//!
//! - Live: a notification's `xmin` is that of a snapshot its transaction took before
//!   committing; every transaction that ended before that snapshot committed before it,
//!   so its notification came earlier on this connection (or it was published by the
//!   catch-up that opened the connection). Once the notification is handled, the horizon
//!   moves up to its `xmin`.
//! - Reconnect: `LISTEN` first, then in one snapshot read every command at or above the
//!   horizon, publish those not yet published, and move the horizon to the snapshot's
//!   `xmin`. A transaction that committed while the listener was down is at or above the
//!   horizon (by the invariant), committed before the snapshot, so it is in that read; one
//!   that commits later is notified on the new connection.
//! - Duplicates: the ids published at or above the horizon are kept (`Cursor::seen`), and
//!   a command below the horizon was published already, so a command that both the
//!   catch-up and a notification bring is published once. The set holds only commands
//!   of transactions at or above the horizon: the commands recorded while the oldest
//!   running transaction of the cluster runs.
//!
//! The listening connection is pinged when nothing arrives for [`HEARTBEAT`], so a silently
//! dead connection is noticed; reconnecting backs off up to [`MAX_BACKOFF`].

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgNotification, PgPool};
use sqlx::{Executor as _, Row as _};
use tessera_core::StoreError;
use tessera_core::store::{CommandEvent, CommandFeed, CommandRecord, StoreResult};
use tokio::sync::{OnceCell, broadcast};
use uuid::Uuid;

use crate::codec::{self, COMMAND_COLUMNS};
use crate::error::from_sqlx;

/// Commands a subscription may fall behind by before it is told it lagged.
const CAPACITY: usize = 1024;
/// Ping the listening connection after this long without a notification.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// A ping that takes longer means the connection is lost.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// The first wait before reconnecting again; doubled after each failure up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Notifications read together (their records in one query).
const MAX_BATCH: usize = 256;

/// The feed of one store (shared by its clones).
pub(crate) struct Feed {
    /// The store's pool: reading the records.
    pool: PgPool,
    /// A pool of one connection: the listening session.
    listen: PgPool,
    events: broadcast::Sender<CommandEvent>,
    task: OnceCell<Task>,
}

/// The listening task, stopped when the feed is dropped.
struct Task(tokio::task::JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresFeed")
            .field("listening", &self.task.initialized())
            .field("subscribers", &self.events.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Feed {
    /// A feed reading with `pool` and listening through `listen` (nothing is opened yet).
    pub(crate) fn new(pool: PgPool, listen: PgPool) -> Self {
        Self {
            pool,
            listen,
            events: broadcast::channel(CAPACITY).0,
            task: OnceCell::new(),
        }
    }

    /// Stop listening and close the listening pool.
    pub(crate) async fn close(&self) {
        if let Some(task) = self.task.get() {
            task.0.abort();
        }
        self.listen.close().await;
    }

    /// Listen, take the first horizon, and start the task.
    async fn start(&self) -> StoreResult<Task> {
        let channel: String =
            sqlx::query_scalar("SELECT tessera_command_channel(current_schema())")
                .fetch_one(&self.pool)
                .await
                .map_err(from_sqlx)?;
        let mut runner = Runner {
            pool: self.pool.clone(),
            listen: self.listen.clone(),
            channel,
            events: self.events.clone(),
            cursor: Cursor::default(),
        };
        let listener = runner.listen().await.map_err(from_sqlx)?;
        // Commands committed before this snapshot predate every subscription: only seen.
        runner.catch_up(false).await.map_err(from_sqlx)?;
        Ok(Task(tokio::spawn(runner.run(listener))))
    }
}

#[async_trait]
impl CommandFeed for Feed {
    async fn subscribe(&self) -> StoreResult<broadcast::Receiver<CommandEvent>> {
        if self.listen.is_closed() {
            return Err(StoreError::Unavailable {
                retryable: false,
                message: "the store is closed".into(),
            });
        }
        self.task.get_or_try_init(|| self.start()).await?;
        Ok(self.events.subscribe())
    }
}

/// What has been published: the horizon and the commands at or above it.
#[derive(Debug, Default)]
struct Cursor {
    /// Every command of a transaction below this one has been published (`None`: not
    /// started).
    horizon: Option<i64>,
    /// `(xid, id)` of the commands published at or above the horizon.
    seen: BTreeSet<(i64, Uuid)>,
}

impl Cursor {
    /// Whether the command `id` of transaction `xid` is still to be published.
    fn is_new(&self, xid: i64, id: Uuid) -> bool {
        self.horizon.is_none_or(|h| xid >= h) && !self.seen.contains(&(xid, id))
    }

    /// The command has been published.
    fn published(&mut self, xid: i64, id: Uuid) {
        if self.horizon.is_none_or(|h| xid >= h) {
            self.seen.insert((xid, id));
        }
    }

    /// Every command of a transaction below `xmin` has been published: forget those.
    fn advance(&mut self, xmin: i64) {
        if self.horizon.is_none_or(|h| xmin > h) {
            self.horizon = Some(xmin);
            self.seen = self.seen.split_off(&(xmin, Uuid::nil()));
        }
    }

    /// Where a catch-up reads from.
    fn from(&self) -> i64 {
        self.horizon.unwrap_or(0)
    }
}

/// A notification's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Note {
    xid: i64,
    xmin: i64,
    id: Uuid,
}

impl Note {
    /// `'<xid> <xmin> <id>'`, as the trigger of migration 5 writes it.
    fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.split(' ');
        let note = Self {
            xid: parts.next()?.parse().ok()?,
            xmin: parts.next()?.parse().ok()?,
            id: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(note)
    }
}

/// The listening task's state.
struct Runner {
    pool: PgPool,
    listen: PgPool,
    channel: String,
    events: broadcast::Sender<CommandEvent>,
    cursor: Cursor,
}

impl Runner {
    /// Receive and publish; after a lost connection reconnect (with backoff) and catch up.
    /// Returns when the store is closed.
    async fn run(mut self, mut listener: PgListener) {
        loop {
            let lost = self.receive(&mut listener).await;
            drop(listener);
            if self.listen.is_closed() {
                return;
            }
            tracing::warn!(detail = %lost, "command feed: listening connection lost; reconnecting");
            listener = match self.reconnect().await {
                Some(l) => l,
                None => return,
            };
            tracing::info!("command feed: listening again, caught up");
        }
    }

    /// A new listening session on the channel.
    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.listen).await?;
        // A lost connection ends `try_recv` with `None`; this task reconnects itself,
        // because it must catch up after `LISTEN` and before the next notification.
        listener.eager_reconnect(false);
        listener.listen(&self.channel).await?;
        Ok(listener)
    }

    /// Listen again and catch up, until it works (`None`: the store was closed).
    async fn reconnect(&mut self) -> Option<PgListener> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            if self.listen.is_closed() {
                return None;
            }
            let attempt = async {
                let listener = self.listen().await?;
                self.catch_up(true).await?;
                Ok::<_, sqlx::Error>(listener)
            };
            match attempt.await {
                Ok(listener) => return Some(listener),
                Err(e) => tracing::debug!(detail = %e, "command feed: reconnect failed"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Handle notifications until the connection is lost; returns why.
    async fn receive(&mut self, listener: &mut PgListener) -> String {
        loop {
            let first = match tokio::time::timeout(HEARTBEAT, listener.try_recv()).await {
                Ok(Ok(Some(n))) => n,
                Ok(Ok(None)) => return "the connection closed".into(),
                Ok(Err(e)) => return e.to_string(),
                // The ping is the `LISTEN` again: a no-op for PostgreSQL, and the session's
                // last statement keeps naming the channel, which is how an operator (and
                // the tests) find the listener in `pg_stat_activity`.
                Err(_) => match tokio::time::timeout(
                    PING_TIMEOUT,
                    listener.execute(format!("LISTEN \"{}\"", self.channel).as_str()),
                )
                .await
                {
                    Ok(Ok(_)) => continue,
                    Ok(Err(e)) => return e.to_string(),
                    Err(_) => return "no answer to a ping".into(),
                },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match listener.next_buffered() {
                    Some(n) => batch.push(n),
                    None => break,
                }
            }
            if let Err(e) = self.deliver(&batch).await {
                // not published and the horizon not moved: the catch-up brings them
                return e.to_string();
            }
        }
    }

    /// Publish the records of `batch` not yet published, in notification order.
    async fn deliver(&mut self, batch: &[PgNotification]) -> Result<(), sqlx::Error> {
        let notes: Vec<Note> = batch
            .iter()
            .filter_map(|n| {
                let note = Note::parse(n.payload());
                if note.is_none() {
                    tracing::warn!(payload = n.payload(), "command feed: unknown notification");
                }
                note
            })
            .collect();
        let wanted: Vec<Uuid> = notes
            .iter()
            .filter(|n| self.cursor.is_new(n.xid, n.id))
            .map(|n| n.id)
            .collect();
        // Nobody subscribed: nothing to read (what is committed now predates any later
        // subscription), but the cursor moves on all the same.
        let mut records = if wanted.is_empty() || self.events.receiver_count() == 0 {
            HashMap::new()
        } else {
            self.records(&wanted).await?
        };
        for n in notes {
            if self.cursor.is_new(n.xid, n.id) {
                if let Some(command) = records.remove(&n.id) {
                    let _ = self.events.send(CommandEvent { command });
                }
                self.cursor.published(n.xid, n.id);
            }
            self.cursor.advance(n.xmin);
        }
        Ok(())
    }

    /// The records of `ids` (a purged one is missing).
    async fn records(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, CommandRecord>, sqlx::Error> {
        let sql = format!("SELECT {COMMAND_COLUMNS} FROM commands WHERE id = ANY($1)");
        let rows = sqlx::query(&sql).bind(ids).fetch_all(&self.pool).await?;
        let mut out = HashMap::with_capacity(rows.len());
        for row in &rows {
            match codec::command(row) {
                Ok(c) => {
                    out.insert(c.id, c);
                }
                Err(e) => tracing::error!(detail = %e, "command feed: a record does not decode"),
            }
        }
        Ok(out)
    }

    /// In one snapshot, read the commands at or above the horizon and publish the new ones
    /// (`publish` false: only mark them seen), then move the horizon to the snapshot's
    /// `xmin`.
    async fn catch_up(&mut self, publish: bool) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        let xmin: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&mut *tx)
                .await?;
        if !publish {
            self.cursor.advance(xmin);
        }
        let sql = format!(
            "SELECT {COMMAND_COLUMNS}, xid::text::bigint AS xid_n FROM commands \
             WHERE xid >= $1::bigint::text::xid8 ORDER BY xid, created_at"
        );
        let rows = sqlx::query(&sql)
            .bind(self.cursor.from())
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        for row in &rows {
            let xid: i64 = row.try_get("xid_n")?;
            let command = match codec::command(row) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(detail = %e, "command feed: a record does not decode");
                    continue;
                }
            };
            if self.cursor.is_new(xid, command.id) {
                self.cursor.published(xid, command.id);
                if publish {
                    let _ = self.events.send(CommandEvent { command });
                }
            }
        }
        self.cursor.advance(xmin);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_exactly() {
        let id = Uuid::new_v4();
        assert_eq!(
            Note::parse(&format!("750 748 {id}")),
            Some(Note {
                xid: 750,
                xmin: 748,
                id
            })
        );
        for bad in [
            "",
            "1 2",
            "1 2 x",
            &format!("1 2 {id} 4"),
            &format!("a 2 {id}"),
        ] {
            assert_eq!(Note::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_cursor_publishes_once_and_forgets_below_the_horizon() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut cur = Cursor::default();
        cur.advance(100);
        assert!(!cur.is_new(99, a), "below the horizon: published already");
        assert!(cur.is_new(100, a));
        cur.published(100, a);
        assert!(!cur.is_new(100, a), "once");
        // a late commit of an older transaction (101) after a younger one (105)
        cur.published(105, b);
        assert!(cur.is_new(101, c));
        cur.published(101, c);
        cur.advance(103);
        assert_eq!(cur.seen.len(), 1, "only 105 is kept: {:?}", cur.seen);
        assert!(!cur.is_new(101, c) && !cur.is_new(105, b));
        cur.advance(90);
        assert_eq!(cur.horizon, Some(103), "the horizon never goes back");
    }
}
