//! One data directory, one open store: a second open fails at once with a clear error.

use std::process::Command;
use std::time::{Duration, Instant};

use tessera_core::StoreError;
use tessera_storage_redb::RedbStore;

/// Set in the child process: the data directory it tries to open.
const CHILD_DIR: &str = "TESSERA_REDB_EXCLUSIVE_CHILD_DIR";

fn assert_in_use(r: Result<RedbStore, StoreError>) {
    match r {
        Err(StoreError::Unavailable { retryable, message }) => {
            assert!(!retryable);
            assert!(message.contains("in use by another process"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn a_second_open_in_this_process_fails() {
    let dir = tempfile::tempdir().unwrap();
    let first = RedbStore::open(dir.path()).unwrap();
    let started = Instant::now();
    assert_in_use(RedbStore::open(dir.path()));
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(first);
    // released on drop
    RedbStore::open(dir.path()).unwrap();
}

#[test]
fn a_second_process_fails() {
    if let Some(dir) = std::env::var_os(CHILD_DIR) {
        assert_in_use(RedbStore::open(dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _first = RedbStore::open(dir.path()).unwrap();
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "exclusive::a_second_process_fails",
            "--exact",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
