//! SIGKILL crash test: the core harness re-runs this test as a child that registers,
//! authenticates, registers keys, revokes and changes passwords on a sled store, kills it
//! at a random moment, reopens the store and checks every acknowledged write.
//! 50 cycles by default; set `TESSERA_CRASH_CYCLES` for more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::Store;
use tessera_storage_sled::SledStore;
use tessera_testkit::crash;

#[test]
fn crash_sigkill() {
    let started = Instant::now();
    let report = crash::run("crash::crash_sigkill", |dir| {
        SledStore::open(dir).map(|s| Arc::new(s) as Arc<dyn Store>)
    });
    let elapsed = started.elapsed();
    eprintln!(
        "sled crash test: {} cycles, {} acknowledged operations, {elapsed:?}",
        report.cycles, report.acknowledged
    );
    // Bounded: a cycle is a child start, up to 260 ms of work and a reopen.
    let budget = Duration::from_secs(30) + Duration::from_secs(5) * report.cycles as u32;
    assert!(elapsed < budget, "crash test took {elapsed:?}");
}
