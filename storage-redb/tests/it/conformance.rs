//! The core conformance suite on fresh redb stores.

use std::sync::{Arc, Mutex, PoisonError};

use tessera_core::Store;
use tessera_storage_redb::RedbStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    // Every store gets its own directory, removed when the test ends.
    let dirs = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&dirs);
    tessera_testkit::run_all(move || {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(dir.path()).expect("open store");
        keep.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(dir);
        Arc::new(store) as Arc<dyn Store>
    })
    .await;
    drop(dirs);
}
