//! The OAuth back-channel cases of the suite on `MemoryStore`, on their own (they are in
//! the whole suite too), so that `cargo test -p tessera-core --test it oauth` runs them.

use std::sync::Arc;

use tessera_core::MemoryStore;
use tessera_testkit as testkit;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oauth_engine_cases_on_memory() {
    for (name, case) in testkit::cases() {
        if name.starts_with("oauth_") {
            eprintln!("testkit: {name}");
            case(Arc::new(MemoryStore::new())).await;
        }
    }
}
