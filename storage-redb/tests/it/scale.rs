//! Scale: 1,000,000 tokens (100 per profile), then the file's bytes per token. Ignored by
//! default (minutes); run it with
//! `cargo test --release -p tessera-storage-redb --test scale -- --ignored --nocapture`.
//! Tokens go in through `put_tokens`, `TESSERA_SCALE_BATCH` (default 1000) per write
//! transaction; a batch of 1 is one commit per token, as a live server does.
//! `TESSERA_SCALE_TOKENS` changes the count; `TESSERA_SCALE_DIR` the parent directory
//! (every commit is fsynced, so a tmpfs such as `/dev/shm` measures redb, not the disk).

#![allow(clippy::cast_precision_loss)] // a printed ratio

use std::time::Instant;

use tessera_core::store::{ProfileStore, TokenStore};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{profile, token_record};

const PER_PROFILE: usize = 100;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes a million tokens; run explicitly"]
async fn a_million_tokens() {
    let tokens: usize = env_or("TESSERA_SCALE_TOKENS", 1_000_000);
    let parent: String = env_or(
        "TESSERA_SCALE_DIR",
        std::env::temp_dir().display().to_string(),
    );
    let dir = tempfile::tempdir_in(parent).unwrap();
    let file = dir.path().join(FILE_NAME);
    let s = RedbStore::open(dir.path()).unwrap();
    let profiles = tokens.div_ceil(PER_PROFILE);
    let mut ids = Vec::with_capacity(profiles);
    for i in 0..profiles {
        let p = profile(&format!("scale{i:07}"));
        s.create_profile(&p, None).await.unwrap();
        ids.push((p.id, p.version));
    }
    let profile_bytes = std::fs::metadata(&file).unwrap().len();
    let started = Instant::now();
    let batch_len: usize = env_or("TESSERA_SCALE_BATCH", 1000).max(1);
    let mut batch = Vec::with_capacity(batch_len);
    let mut written = 0;
    'all: for round in 0..PER_PROFILE {
        for &(id, version) in &ids {
            if written == tokens {
                break 'all;
            }
            batch.push((token_record(id, 2_000_000_000 + round as i64), version));
            written += 1;
            if batch.len() == batch_len {
                s.put_tokens(&batch).await.unwrap();
                batch.clear();
            }
        }
    }
    s.put_tokens(&batch).await.unwrap();
    let took = started.elapsed();
    drop(s);
    let total = std::fs::metadata(&file).unwrap().len();
    let mut db = redb::Database::open(&file).unwrap();
    while db.compact().unwrap() {}
    drop(db);
    let compacted = std::fs::metadata(&file).unwrap().len();
    let per = |bytes: u64| bytes as f64 / written as f64;
    println!(
        "redb scale: {written} tokens of {profiles} profiles, {batch_len} per commit, in \
         {took:.1?} ({:.0} tokens/s)",
        written as f64 / took.as_secs_f64()
    );
    println!(
        "redb scale: file {total} bytes = {:.1} bytes/token ({:.1} bytes/token beyond the \
         profiles' {profile_bytes}); compacted {compacted} bytes = {:.1} bytes/token",
        per(total),
        per(total.saturating_sub(profile_bytes)),
        per(compacted)
    );
    // Tokens are reachable after the reopen.
    let s = RedbStore::open(dir.path()).unwrap();
    assert!(s.get_profile(ids[0].0).await.unwrap().is_some());
}
