//! The core conformance suite, unchanged, on a real PostgreSQL server: every case gets a
//! store on a schema of its own (so test binaries can run at once on one database).
//! Needs `TESSERA_TEST_POSTGRES_URL`; without it the test prints `SKIPPED: …` and returns.

use tessera_testkit::postgres as common;

use std::sync::{Arc, Mutex, PoisonError};

use tessera_core::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    let Some(url) = common::url("conformance") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    // `run_all` asks for stores synchronously, one per case: connect (and migrate) them all
    // first, then hand them out in order.
    let cases = tessera_testkit::cases().len();
    let mut stores = Vec::with_capacity(cases);
    for _ in 0..cases {
        stores.push(Arc::new(schemas.store().await) as Arc<dyn Store>);
    }
    stores.reverse();
    let stores = Mutex::new(stores);
    tessera_testkit::run_all(|| {
        stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .expect("one store per case")
    })
    .await;
}
