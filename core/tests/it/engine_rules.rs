//! Engine rules that need a hand-made store state: rehash on login, the pepper, dummy
//! hashing for unknown users, overload of the hashing pool.

use std::sync::Arc;

use tessera_core::clock::Timestamp;
use tessera_core::hasher::{Argon2Hasher, HashParams};
use tessera_core::store::{ProfileRecord, ProfileStore as _, Store};
use tessera_core::{
    Engine, EngineConfig, Error, ManualClock, MemoryStore, Password, ProfileKind, ProfileState,
};
use tessera_testkit::test_engine;

const PW: &str = "velvet thunder orchard kites";

fn seeded(params: HashParams) -> ProfileRecord {
    let old = Argon2Hasher::new(params, None).unwrap();
    let phc = old
        .hash(&Password::for_login(PW, 128).unwrap(), &[4; 16])
        .unwrap();
    ProfileRecord {
        id: uuid::Uuid::new_v4(),
        kind: ProfileKind::User,
        username: "alice".into(),
        password_hash: Some(phc),
        password_temporary: false,
        state: ProfileState::Active,
        public_key: None,
        owner: None,
        device: None,
        environments: Vec::new(),
        created_at: Timestamp(0),
        updated_at: Timestamp(0),
        version: 1,
    }
}

#[tokio::test]
async fn login_rehashes_obsolete_parameters_and_failed_login_does_not() {
    let store = Arc::new(MemoryStore::new());
    let rec = seeded(HashParams {
        m_kib: 128,
        t: 1,
        p: 1,
    });
    store.create_profile(&rec, None).await.unwrap();
    let (e, _) = test_engine(store.clone());
    assert_eq!(
        e.authenticate("alice", "wrong password here", None)
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    let after_fail = store.get_profile(rec.id).await.unwrap().unwrap();
    assert_eq!(
        after_fail.password_hash, rec.password_hash,
        "a failed login changes nothing"
    );
    let issued = e.authenticate("alice", PW, None).await.unwrap();
    let after = store.get_profile(rec.id).await.unwrap().unwrap();
    let phc = after.password_hash.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
    assert!(
        e.verify(issued.token.expose()).await.is_ok(),
        "the token survives its own rehash"
    );
    e.authenticate("alice", PW, None).await.unwrap();
}

fn engine_with_pepper(store: Arc<dyn Store>, pepper: &[u8]) -> Engine {
    Engine::builder()
        .store(store)
        .clock(Arc::new(ManualClock::default()))
        .config(EngineConfig {
            hash_params: HashParams::INSECURE_FOR_TESTS,
            allow_weak_hash_params: true,
            ..EngineConfig::default()
        })
        .pepper(pepper.to_vec())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_store_moved_to_another_pepper_refuses_every_login() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let a = engine_with_pepper(store.clone(), b"pepper number one");
    a.register_profile("alice", PW).await.unwrap();
    a.authenticate("alice", PW, None).await.unwrap();
    let b = engine_with_pepper(store.clone(), b"pepper number two");
    assert_eq!(
        b.authenticate("alice", PW, None).await.err(),
        Some(Error::Unauthorized)
    );
    let phc = store
        .get_profile_by_username("alice")
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(!phc.contains("pepper"));
}

#[test]
fn builder_refuses_weak_parameters_and_bad_config() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let weak = EngineConfig {
        hash_params: HashParams::INSECURE_FOR_TESTS,
        ..EngineConfig::default()
    };
    let err = Engine::builder()
        .store(store.clone())
        .config(weak)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let bad_qr = EngineConfig {
        qr_ttl_min: 600,
        qr_ttl_default: 300,
        ..EngineConfig::default()
    };
    assert!(
        Engine::builder()
            .store(store.clone())
            .config(bad_qr)
            .build()
            .is_err()
    );
    assert!(Engine::builder().build().is_err(), "a store is required");
}

#[tokio::test]
async fn full_hash_queue_fails_fast_with_overloaded() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let e = Arc::new(
        Engine::builder()
            .store(store)
            .config(EngineConfig {
                // real parameters so that hashes take long enough to pile up
                hash_workers: 1,
                hash_queue_per_worker: 1,
                ..EngineConfig::default()
            })
            .build()
            .unwrap(),
    );
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let e = Arc::clone(&e);
            tokio::spawn(async move { e.register_profile(&format!("user{i}"), PW).await })
        })
        .collect();
    let mut overloaded = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => {}
            Err(Error::Overloaded { retry_after }) => {
                assert!(retry_after >= 1);
                overloaded += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    assert!(
        overloaded >= 1,
        "a pool of 1 worker + 1 queued job must refuse some of 12"
    );
}
