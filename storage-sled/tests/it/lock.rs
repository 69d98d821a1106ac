//! A data directory is used by one process at a time; a second open fails at once.

use crate::common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::open;
use tessera_core::StoreError;
use tessera_storage_sled::SledStore;

const CHILD_ENV: &str = "TESSERA_SLED_LOCK_CHILD_DIR";

/// Run in a child process: open the directory, expect the in-use error.
fn child(dir: &str) -> ! {
    let started = Instant::now();
    let code = match SledStore::open(dir) {
        Err(StoreError::Unavailable {
            retryable: false,
            message,
        }) if message.contains("in use by another process") => {
            println!("REFUSED in {:?}: {message}", started.elapsed());
            0
        }
        Err(e) => {
            println!("WRONG ERROR: {e:?}");
            2
        }
        Ok(_) => {
            println!("OPENED");
            3
        }
    };
    std::process::exit(code)
}

fn assert_in_use(e: StoreError) {
    match e {
        StoreError::Unavailable {
            retryable: false,
            message,
        } => assert!(message.contains("in use by another process"), "{message}"),
        other => panic!("expected Unavailable(in use), got {other:?}"),
    }
}

#[test]
fn a_second_process_is_refused_at_once() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
    }
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let started = Instant::now();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "lock::a_second_process_is_refused_at_once",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir.path())
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "child: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("REFUSED"), "{stdout}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the child waited for the lock"
    );
    drop(store);
}

#[test]
fn a_second_open_in_this_process_is_refused_and_drop_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let started = Instant::now();
    assert_in_use(SledStore::open(dir.path()).unwrap_err());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "open waited for the lock"
    );
    drop(store);
    // Dropping waits for sled's threads to let go of the lock: reopening works at once,
    // also from another process (the crash test's child relies on this).
    for _ in 0..20 {
        drop(open(dir.path()));
    }
}
