//! SIGKILL at a random moment, reopen, check every acknowledged write (core's harness).
//! 50 cycles by default; set `TESSERA_CRASH_CYCLES` for more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_core::Store;
use tessera_storage_redb::{RedbConfig, RedbStore};
use tessera_testkit::crash;

#[test]
fn crash_sigkill() {
    let started = Instant::now();
    let report = crash::run("crash::crash_sigkill", |dir| {
        RedbStore::open(dir).map(|s| Arc::new(s) as Arc<dyn Store>)
    });
    let took = started.elapsed();
    eprintln!(
        "redb crash: {} cycles, {} acknowledged operations, {took:.1?}",
        report.cycles, report.acknowledged
    );
    assert!(report.cycles >= 1 && report.acknowledged > 0);
    // Bounded: about a second per cycle at most, whatever the machine's load.
    let budget = Duration::from_secs(60 + 2 * report.cycles as u64);
    assert!(took < budget, "{} cycles took {took:?}", report.cycles);
}

/// The same with quick repair off: a reopen after the crash walks the whole file.
#[test]
fn crash_sigkill_full_repair() {
    let report = crash::run("crash::crash_sigkill_full_repair", |dir| {
        let config = RedbConfig::default().quick_repair(false);
        RedbStore::open_with(dir, config).map(|s| Arc::new(s) as Arc<dyn Store>)
    });
    assert!(report.cycles >= 1 && report.acknowledged > 0);
}
