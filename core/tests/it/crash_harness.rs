//! Self-test of the crash harness's bookkeeping on a store that forgets everything on
//! reopen: the harness must notice. (Durable backends run the real thing.)

use std::sync::Arc;

use tessera_core::{MemoryStore, Store};
use tessera_testkit::crash;

#[test]
fn harness_detects_a_store_that_loses_acknowledged_writes() {
    if std::env::var_os(crash::CHILD_ENV).is_some() {
        crash::run(
            "crash_harness::harness_detects_a_store_that_loses_acknowledged_writes",
            |_| Ok(Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        );
        return;
    }
    let caught = std::panic::catch_unwind(|| {
        crash::run(
            "crash_harness::harness_detects_a_store_that_loses_acknowledged_writes",
            |_| Ok(Arc::new(MemoryStore::new()) as Arc<dyn Store>),
        )
    });
    let msg = caught.expect_err("a forgetting store must fail the crash check");
    let text = msg.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains("lost"), "unexpected failure: {text}");
}
