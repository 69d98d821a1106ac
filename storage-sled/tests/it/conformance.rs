//! The core conformance suite on fresh sled stores.

use std::sync::{Arc, Mutex};

use tessera_core::Store;
use tessera_storage_sled::SledStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance() {
    // Every case gets its own directory; they are removed when the test ends.
    let dirs = Mutex::new(Vec::new());
    tessera_testkit::run_all(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SledStore::open(dir.path()).expect("open sled store");
        dirs.lock().expect("dirs").push(dir);
        Arc::new(store) as Arc<dyn Store>
    })
    .await;
}
