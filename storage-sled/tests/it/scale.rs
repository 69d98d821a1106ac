//! Scale: 1,000,000 tokens, reporting the bytes sled takes on disk per token.
//! Ignored by default; run it with
//! `cargo test --release -p tessera-storage-sled --test scale -- --ignored --nocapture`
//! (`TESSERA_SCALE_TOKENS` overrides the count).
#![allow(clippy::cast_precision_loss)] // a measurement

use crate::common;

use std::path::Path;
use std::time::Instant;

use common::{stored_profile, token};
use tessera_core::store::TokenStore;
use tessera_storage_sled::SledStore;

const PROFILES: usize = 10_000;
const BATCH: usize = 10_000;

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                dir_bytes(&e.path())
            } else {
                m.len()
            }
        })
        .sum()
}

/// The bytes of every key and value, what a store without overhead would take.
fn logical_bytes(dir: &Path) -> u64 {
    let db = common::raw(dir);
    let mut n = 0;
    for name in db.tree_names() {
        for kv in &db.open_tree(name).unwrap() {
            let (k, v) = kv.unwrap();
            n += (k.len() + v.len()) as u64;
        }
    }
    n
}

#[tokio::test]
#[ignore = "writes a million tokens; run in the benchmarks job"]
async fn million_tokens_bytes_per_token() {
    let total: usize = std::env::var("TESSERA_SCALE_TOKENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path()).unwrap();
    let mut ids = Vec::with_capacity(PROFILES);
    for i in 0..PROFILES {
        ids.push(stored_profile(&s, &format!("scale{i}")).await.id);
    }
    let before = dir_bytes(dir.path());
    let started = Instant::now();
    for start in (0..total).step_by(BATCH) {
        let batch: Vec<_> = (start..total.min(start + BATCH))
            .map(|n| (token(ids[n % PROFILES], 1_000, 1_000 + 86_400), 1))
            .collect();
        s.put_tokens(&batch).await.unwrap();
    }
    let elapsed = started.elapsed();
    let reported = s.size_on_disk().unwrap();
    drop(s);
    let after = dir_bytes(dir.path());
    let logical = logical_bytes(dir.path());
    let per = |b: u64| b as f64 / total as f64;
    eprintln!(
        "sled scale: {total} tokens over {PROFILES} profiles in {elapsed:?} ({:.0}/s)\n\
         files: {before} B before tokens, {after} B after = {:.1} B/token ({:.1} B/token \
         including profiles); sled size_on_disk {reported} B; keys + values {logical} B \
         ({:.1} B/token including profiles)",
        total as f64 / elapsed.as_secs_f64(),
        per(after.saturating_sub(before)),
        per(after),
        per(logical),
    );
    // Reopen (sled may compact its log on recovery) and spot-check.
    let s = SledStore::open(dir.path()).unwrap();
    let reopened = dir_bytes(dir.path());
    eprintln!(
        "after reopen: {reopened} B = {:.1} B/token for the tokens alone",
        per(reopened.saturating_sub(before))
    );
    let t = token(ids[0], 1_000, 90_000);
    s.put_token(&t, 1).await.unwrap();
    assert!(s.resolve_token(&t.digest).await.unwrap().is_some());
}
