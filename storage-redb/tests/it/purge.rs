//! `purge_expired` walks the expiry index: bounded, earliest first, never an unexpired record.

use std::sync::Arc;

use tessera_core::store::{
    CommandRecord, CommandStatus, CommandStore, MaintenanceStore, ProfileStore, QrRecord, QrStore,
    TokenStore,
};
use tessera_core::{Store, Timestamp, Ttl};
use tessera_storage_redb::RedbStore;
use tessera_testkit::{profile, random_digest, test_engine, token_record};
use uuid::Uuid;

fn command(expires_at: i64) -> CommandRecord {
    CommandRecord {
        id: Uuid::new_v4(),
        profile_id: None,
        status: CommandStatus::Succeeded,
        body: "done".into(),
        result: vec![],
        created_at: Timestamp(0),
        expires_at: Timestamp(expires_at),
    }
}

#[tokio::test]
async fn purges_by_expiry_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = RedbStore::open(dir.path()).unwrap();
    let owner = profile("purgeowner");
    s.create_profile(&owner, None).await.unwrap();
    let v = owner.version;
    let t100 = token_record(owner.id, 100);
    let t200 = token_record(owner.id, 200);
    let t300 = token_record(owner.id, 300);
    for t in [&t300, &t100, &t200] {
        s.put_token(t, v).await.unwrap();
    }
    let qr = QrRecord {
        digest: random_digest(),
        owner: owner.id,
        issued_at: Timestamp(0),
        expires_at: Timestamp(150),
        device_name: None,
    };
    s.put_qr(&qr, v).await.unwrap();
    let c250 = command(250);
    s.put_command(&c250).await.unwrap();

    assert_eq!(s.purge_expired(Timestamp(99), 10).await.unwrap(), 0);
    assert_eq!(s.purge_expired(Timestamp(500), 0).await.unwrap(), 0);
    // limit 1 at t=200: only the earliest (the token expiring at 100) goes
    assert_eq!(s.purge_expired(Timestamp(200), 1).await.unwrap(), 1);
    assert!(s.get_token(&t100.digest).await.unwrap().is_none());
    assert!(s.get_qr(&qr.digest).await.unwrap().is_some());
    // expires_at == now is expired; 250 and 300 are not yet
    assert_eq!(s.purge_expired(Timestamp(200), 10).await.unwrap(), 2);
    assert!(s.get_qr(&qr.digest).await.unwrap().is_none());
    assert!(s.get_token(&t200.digest).await.unwrap().is_none());
    assert!(s.get_token(&t300.digest).await.unwrap().is_some());
    assert!(s.get_command(c250.id).await.unwrap().is_some());
    assert_eq!(s.purge_expired(Timestamp(299), 10).await.unwrap(), 1);
    assert!(s.get_command(c250.id).await.unwrap().is_none());
    assert!(s.resolve_token(&t300.digest).await.unwrap().is_some());
    assert_eq!(s.purge_expired(Timestamp(i64::MAX), 10).await.unwrap(), 1);
    assert_eq!(s.purge_expired(Timestamp(i64::MAX), 10).await.unwrap(), 0);
}

#[tokio::test]
async fn a_moved_expiry_moves_its_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let s = RedbStore::open(dir.path()).unwrap();
    let owner = profile("moveowner");
    s.create_profile(&owner, None).await.unwrap();
    let t = token_record(owner.id, 100);
    s.put_token(&t, owner.version).await.unwrap();
    s.set_token_expiry(&t.digest, Timestamp(1000), Timestamp(50), None)
        .await
        .unwrap();
    assert_eq!(s.purge_expired(Timestamp(500), 10).await.unwrap(), 0);
    assert!(s.get_token(&t.digest).await.unwrap().is_some());
    assert_eq!(s.purge_expired(Timestamp(1000), 10).await.unwrap(), 1);
    // a revoked token leaves no index entry behind to count
    let u = token_record(owner.id, 100);
    s.put_token(&u, owner.version).await.unwrap();
    assert!(s.revoke_token(&u.digest, None).await.unwrap());
    assert_eq!(s.purge_expired(Timestamp(i64::MAX), 10).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_purge_follows_the_manual_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(dir.path()).unwrap());
    let (engine, clock) = test_engine(Arc::clone(&store));
    engine
        .register_profile("Clocky", "correct horse battery staple")
        .await
        .unwrap();
    let short = engine
        .authenticate("clocky", "correct horse battery staple", Some(Ttl::HOUR))
        .await
        .unwrap();
    let long = engine
        .authenticate("clocky", "correct horse battery staple", Some(Ttl::DAY))
        .await
        .unwrap();
    clock.advance(3600);
    assert!(engine.purge_expired(100).await.unwrap() >= 1);
    assert!(engine.verify(short.token.expose()).await.is_err());
    engine.verify(long.token.expose()).await.unwrap();
    clock.advance(86_400);
    assert!(engine.purge_expired(100).await.unwrap() >= 1);
    assert!(engine.verify(long.token.expose()).await.is_err());
}
