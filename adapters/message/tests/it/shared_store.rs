//! The replay guard is the store's: two engines (two nodes) on one store, each with its own
//! authenticator, accept one nonce exactly once, on a `MemoryStore` shared in process and on
//! one PostgreSQL schema through two connections (needs `TESSERA_TEST_POSTGRES_URL`; without
//! it that test prints `SKIPPED: …`, or fails under `TESSERA_REQUIRE_POSTGRES`).

use std::sync::Arc;

use serde_json::json;
use tessera_core::{MemoryStore, Store};
use tessera_message::{MessageAuthenticator, MessageError, MessagePolicy};
use tessera_storage_postgres::PostgresStore;
use tessera_testkit::postgres as common;

const PW: &str = "velvet otter quasar lantern shared 7291";

/// 16 concurrent authentications of one message, alternating between the two nodes:
/// exactly one is accepted, the others are `replayed_nonce`; a replay after that on either
/// node too, and a new nonce is accepted.
async fn one_nonce_is_accepted_once_across_two_nodes(stores: [Arc<dyn Store>; 2]) {
    let [sa, sb] = stores;
    let (a, clock_a) = tessera_testkit::test_engine(sa);
    let (b, clock_b) = tessera_testkit::test_engine(sb);
    a.register_profile("shared", PW).await.unwrap();
    let token = a.authenticate("shared", PW, None).await.unwrap().token;
    let message = |nonce: &str| {
        serde_json::to_vec(&json!({
            "token": token.expose(),
            "type": "device.ping",
            "correlationId": "c-1",
            "timestamp": a.now().to_rfc3339(),
            "nonce": nonce,
            "payload": null,
        }))
        .unwrap()
    };
    let policy = MessagePolicy {
        operation: tessera_core::Operation::RetrieveProfileId,
        ..MessagePolicy::default()
    };
    let nodes = [
        Arc::new(MessageAuthenticator::new(
            Arc::clone(&a),
            clock_a,
            policy.clone(),
        )),
        Arc::new(MessageAuthenticator::new(Arc::clone(&b), clock_b, policy)),
    ];
    let msg = Arc::new(message("shared-nonce-000001"));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let node = Arc::clone(&nodes[i % 2]);
            let msg = Arc::clone(&msg);
            tokio::spawn(async move { node.authenticate(&msg).await })
        })
        .collect();
    let (mut accepted, mut replayed) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => accepted += 1,
            Err(MessageError::ReplayedNonce) => replayed += 1,
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!((accepted, replayed), (1, 15));
    for node in &nodes {
        assert_eq!(
            node.authenticate(&msg).await.unwrap_err(),
            MessageError::ReplayedNonce
        );
    }
    nodes[1]
        .authenticate(&message("shared-nonce-000002"))
        .await
        .unwrap();
    assert_eq!(
        nodes[0]
            .authenticate(&message("shared-nonce-000002"))
            .await
            .unwrap_err(),
        MessageError::ReplayedNonce
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_nonce_once_across_two_engines_on_one_memory_store() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    one_nonce_is_accepted_once_across_two_nodes([Arc::clone(&store), store]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_nonce_once_across_two_engines_on_one_postgres_schema() {
    let Some(url) = common::url("one_nonce_once_across_two_engines_on_one_postgres_schema") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let a = PostgresStore::connect_with(config.clone()).await.unwrap();
    let b = PostgresStore::connect_with(config).await.unwrap();
    one_nonce_is_accepted_once_across_two_nodes([Arc::new(a), Arc::new(b)]).await;
}
