//! The conformance suite on `MemoryStore`.

use std::sync::Arc;

use tessera_core::MemoryStore;
use tessera_testkit as testkit;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_the_conformance_suite() {
    testkit::run_all(|| Arc::new(MemoryStore::new())).await;
}
