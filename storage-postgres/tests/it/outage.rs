//! A lost connection: calls fail with `Unavailable { retryable: true }` while the database
//! is unreachable, and the pool recovers by itself when it returns. The database sits
//! behind a loopback TCP proxy that the test cuts and restores. Needs
//! `TESSERA_TEST_POSTGRES_URL`.

use tessera_testkit::postgres as common;

use std::time::{Duration, Instant};

use tessera_core::StoreError;
use tessera_core::store::{MaintenanceStore as _, ProfileStore as _, TokenStore as _};
use tessera_storage_postgres::PostgresStore;
use tessera_testkit::{profile, token_record};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_is_unavailable_then_recovers() {
    let Some(url) = common::url("a_lost_connection_is_unavailable_then_recovers") else {
        return;
    };
    let schemas = common::Schemas::new(url.clone());
    let (upstream, _) = common::proxy::host_port(&url);
    let proxy = common::proxy::Proxy::start(upstream).await;
    let mut config = schemas.fresh();
    config.url = proxy.url_for(&url);
    let config = config
        .connect_timeout(Duration::from_millis(800))
        .pool_size(4);
    let store = PostgresStore::connect_with(config).await.unwrap();

    let p = profile("alice");
    store.create_profile(&p, None).await.unwrap();
    let t = token_record(p.id, 5000);
    store.put_token(&t, 1).await.unwrap();
    assert!(store.resolve_token(&t.digest).await.unwrap().is_some());

    for round in 0..2 {
        proxy.cut();
        let started = Instant::now();
        for _ in 0..3 {
            let e = store.resolve_token(&t.digest).await.unwrap_err();
            assert!(
                matches!(
                    e,
                    StoreError::Unavailable {
                        retryable: true,
                        ..
                    }
                ),
                "round {round}: {e:?}"
            );
            let e = store.ping().await.unwrap_err();
            assert!(
                matches!(
                    e,
                    StoreError::Unavailable {
                        retryable: true,
                        ..
                    }
                ),
                "{e:?}"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(10), "fails fast");

        if round == 1 {
            // a longer outage: every pooled connection is idle past the ping threshold, so
            // the dead ones are replaced before use and the first call after it succeeds
            tokio::time::sleep(Duration::from_millis(700)).await;
            proxy.restore();
            assert!(store.resolve_token(&t.digest).await.unwrap().is_some());
            continue;
        }
        proxy.restore();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match store.resolve_token(&t.digest).await {
                Ok(found) => {
                    assert_eq!(found.unwrap().profile_id, p.id, "data survived");
                    break;
                }
                Err(StoreError::Unavailable { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("round {round}: did not recover: {e:?}"),
            }
        }
        store.ping().await.unwrap();
        // writes work again too
        let u = token_record(p.id, 5000);
        store.put_token(&u, 1).await.unwrap();
    }
}
