//! `purge_expired` walks the expiry index: bounded, oldest first, never an unexpired record.

use crate::common;

use std::sync::Arc;

use common::{digest, open, stored_profile, token};
use tessera_core::store::{
    CommandRecord, CommandStatus, CommandStore, MaintenanceStore, QrRecord, QrStore, TokenStore,
};
use tessera_core::{Store, Timestamp, Ttl};
use tessera_storage_sled::{SledConfig, SledStore};
use uuid::Uuid;

fn qr(owner: Uuid, expires: i64) -> QrRecord {
    QrRecord {
        digest: digest(),
        owner,
        issued_at: Timestamp(0),
        expires_at: Timestamp(expires),
        device_name: None,
    }
}

fn command(expires: i64) -> CommandRecord {
    CommandRecord {
        id: Uuid::new_v4(),
        profile_id: None,
        status: CommandStatus::Succeeded,
        body: "ok".into(),
        result: Vec::new(),
        created_at: Timestamp(0),
        expires_at: Timestamp(expires),
    }
}

#[tokio::test]
async fn purge_is_bounded_ordered_and_exact_at_the_boundary() {
    let dir = tempfile::tempdir().unwrap();
    // Small transactions, so one call spans several of them.
    let config = SledConfig {
        purge_chunk: 3,
        ..SledConfig::default()
    };
    let s = SledStore::open_with(dir.path(), &config).unwrap();
    let p = stored_profile(&s, "alice").await;
    // tokens expiring at 100..=119, negative and extreme times too
    let tokens: Vec<_> = (100..120).map(|e| token(p.id, 0, e)).collect();
    for t in &tokens {
        s.put_token(t, 1).await.unwrap();
    }
    let ancient = token(p.id, 0, i64::MIN);
    let forever = token(p.id, 0, i64::MAX);
    s.put_token(&ancient, 1).await.unwrap();
    s.put_token(&forever, 1).await.unwrap();
    let (q_old, q_new) = (qr(p.id, 105), qr(p.id, 115));
    s.put_qr(&q_old, 1).await.unwrap();
    s.put_qr(&q_new, 1).await.unwrap();
    let (c_old, c_new) = (command(-5), command(200));
    s.put_command(&c_old).await.unwrap();
    s.put_command(&c_new).await.unwrap();

    // Nothing expires before its time; `limit` 0 does nothing.
    assert_eq!(s.purge_expired(Timestamp(109), 0).await.unwrap(), 0);
    // At now = 109: ancient, c_old, tokens 100..=109, q_old = 13 records; take 5, then 5.
    let now = Timestamp(109);
    assert_eq!(s.purge_expired(now, 5).await.unwrap(), 5);
    // oldest first: the ancient token and the old command went in the first batch
    assert_eq!(s.get_token(&ancient.digest).await.unwrap(), None);
    assert_eq!(s.get_command(c_old.id).await.unwrap(), None);
    assert_eq!(s.purge_expired(now, 5).await.unwrap(), 5);
    assert_eq!(s.purge_expired(now, 100).await.unwrap(), 3);
    assert_eq!(s.purge_expired(now, 100).await.unwrap(), 0);
    for t in &tokens {
        let present = s.get_token(&t.digest).await.unwrap().is_some();
        assert_eq!(
            present,
            t.expires_at > now,
            "token expiring at {:?}",
            t.expires_at
        );
    }
    assert_eq!(s.get_qr(&q_old.digest).await.unwrap(), None);
    assert!(s.get_qr(&q_new.digest).await.unwrap().is_some());
    assert!(s.get_command(c_new.id).await.unwrap().is_some());
    assert!(s.get_token(&forever.digest).await.unwrap().is_some());

    // A reauthorized token moves in the index: its old expiry no longer purges it.
    let moved = &tokens[15]; // expires at 115
    s.set_token_expiry(&moved.digest, Timestamp(10_000), now, None)
        .await
        .unwrap();
    assert_eq!(
        s.purge_expired(Timestamp(1000), usize::MAX).await.unwrap(),
        9 + 1 + 1,
        "tokens 110..=119 but the moved one, q_new, c_new"
    );
    assert!(s.get_token(&moved.digest).await.unwrap().is_some());
    assert_eq!(
        s.purge_expired(Timestamp(i64::MAX - 1), usize::MAX)
            .await
            .unwrap(),
        1
    );
    assert!(
        s.get_token(&forever.digest).await.unwrap().is_some(),
        "expires after `now`"
    );
    // The profile's index no longer lists purged tokens: only `forever` is left.
    assert_eq!(s.revoke_profile_tokens(p.id, None).await.unwrap(), 1);
}

#[tokio::test]
async fn purge_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (live, dead) = {
        let s = open(dir.path());
        let p = stored_profile(&s, "alice").await;
        let (live, dead) = (token(p.id, 0, 500), token(p.id, 0, 50));
        s.put_token(&live, 1).await.unwrap();
        s.put_token(&dead, 1).await.unwrap();
        (live, dead)
    };
    let s = open(dir.path());
    assert_eq!(s.purge_expired(Timestamp(100), 10).await.unwrap(), 1);
    assert_eq!(s.get_token(&dead.digest).await.unwrap(), None);
    assert!(s.resolve_token(&live.digest).await.unwrap().is_some());
}

#[tokio::test]
async fn the_engine_purges_by_its_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(open(dir.path()));
    let (engine, clock) = tessera_testkit::test_engine(Arc::clone(&store));
    engine
        .register_profile("alice", "correct horse battery staple")
        .await
        .unwrap();
    let short = engine
        .authenticate("alice", "correct horse battery staple", Some(Ttl::HOUR))
        .await
        .unwrap();
    let long = engine
        .authenticate("alice", "correct horse battery staple", Some(Ttl::DAY))
        .await
        .unwrap();
    let short_digest = short.token.digest();
    assert_eq!(
        engine.purge_expired(100).await.unwrap(),
        0,
        "nothing expired yet"
    );
    clock.advance(3599);
    assert_eq!(
        engine.purge_expired(100).await.unwrap(),
        0,
        "one second to go"
    );
    clock.advance(1);
    assert_eq!(engine.purge_expired(100).await.unwrap(), 1);
    assert_eq!(store.get_token(&short_digest).await.unwrap(), None);
    engine.verify(long.token.expose()).await.unwrap();
}
