//! The command feed on a real server: two stores on one schema (two nodes), the
//! subscriber's store behind a proxy that can cut it off. A command recorded through one
//! store reaches the other's subscription once; a rolled-back insert sends nothing; a
//! transaction that commits late (after a younger one was delivered) while the listener is
//! cut off is delivered by the catch-up, once, and nothing delivered before comes again.
//! Needs `TESSERA_TEST_POSTGRES_URL`.

use tessera_testkit::postgres as common;

use std::time::Duration;

use sqlx::Connection as _;
use tessera_core::CommandEvent;
use tessera_core::Timestamp;
use tessera_core::store::{CommandRecord, CommandStatus, CommandStore as _};
use tessera_storage_postgres::PostgresStore;
use tokio::sync::broadcast;
use uuid::Uuid;

fn command(body: &str) -> CommandRecord {
    CommandRecord {
        id: Uuid::new_v4(),
        profile_id: Some(Uuid::new_v4()),
        status: CommandStatus::Succeeded,
        body: body.to_owned(),
        result: vec![("k".into(), body.to_owned())],
        created_at: Timestamp(1_000),
        expires_at: Timestamp(i64::MAX / 2),
    }
}

/// `INSERT` of `c` as the stores write it, for a transaction of the test's own.
fn insert(
    c: &CommandRecord,
) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(
        "INSERT INTO commands (id, profile_id, status, body, result_names, result_values, \
         created_at, expires_at) VALUES ($1, $2, 2, $3, '{}', '{}', $4, $5)",
    )
    .bind(c.id)
    .bind(c.profile_id)
    .bind(c.body.clone())
    .bind(c.created_at.0)
    .bind(c.expires_at.0)
}

async fn next(rx: &mut broadcast::Receiver<CommandEvent>) -> Uuid {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a command in time")
        .expect("the feed is open")
        .command
        .id
}

async fn nothing_more(rx: &mut broadcast::Receiver<CommandEvent>) {
    let more = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(more.is_err(), "nothing more: {more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_delivers_each_commit_once_across_a_lost_connection() {
    let Some(url) = common::url("the_feed_delivers_each_commit_once_across_a_lost_connection")
    else {
        return;
    };
    let schemas = common::Schemas::new(url.clone());
    let config = schemas.fresh();
    let schema = config.schema.clone().unwrap();
    let a = PostgresStore::connect_with(config.clone()).await.unwrap();
    let proxy = common::proxy::Proxy::start(common::proxy::host_port(&url).0).await;
    let mut b_config = config;
    b_config.url = proxy.url_for(&url);
    let b = PostgresStore::connect_with(b_config).await.unwrap();
    let mut rx = b.command_feed().expect("a feed").subscribe().await.unwrap();
    common::wait_feed_listeners(&url, &schema, 1).await;
    let mut own = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(&format!("SET search_path TO \"{schema}\""))
        .execute(&mut own)
        .await
        .unwrap();

    // recorded through the other store: delivered whole, once
    let c1 = command("one");
    a.put_command(&c1).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.command, c1);

    // rolled back: nothing; the next commit comes next
    let mut tx = own.begin().await.unwrap();
    insert(&command("rolled back"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let c2 = command("two");
    a.put_command(&c2).await.unwrap();
    assert_eq!(next(&mut rx).await, c2.id);

    // an older transaction holds its insert; a younger one commits and is delivered
    let late = command("late");
    let mut held = own.begin().await.unwrap();
    insert(&late).execute(&mut *held).await.unwrap();
    let c3 = command("three");
    a.put_command(&c3).await.unwrap();
    assert_eq!(next(&mut rx).await, c3.id);

    // the listener is cut off; meanwhile the older one commits (below a sequence number
    // already delivered) and another command is recorded
    proxy.cut();
    common::wait_feed_listeners(&url, &schema, 0).await;
    held.commit().await.unwrap();
    let c4 = command("four");
    a.put_command(&c4).await.unwrap();
    // longer than the pool's idle-ping threshold: its dead connections are replaced
    tokio::time::sleep(Duration::from_millis(600)).await;
    proxy.restore();

    // the catch-up brings both, once; nothing delivered before comes again
    let mut caught = vec![next(&mut rx).await, next(&mut rx).await];
    caught.sort();
    let mut want = vec![late.id, c4.id];
    want.sort();
    assert_eq!(caught, want);
    nothing_more(&mut rx).await;
    common::wait_feed_listeners(&url, &schema, 1).await;

    // and it listens again
    let c5 = command("five");
    a.put_command(&c5).await.unwrap();
    assert_eq!(next(&mut rx).await, c5.id);
    nothing_more(&mut rx).await;
    own.close().await.unwrap();
}
