//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fs2::FileExt;

use tessera_core::store::{ProfileRecord, TokenRecord};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};
use tessera_storage_sled::SledStore;
use uuid::Uuid;

pub(crate) use tessera_testkit::profile;

/// sled itself on a store's data directory. Dropping it waits until sled's threads have
/// let go of the directory's lock (as `SledStore`'s drop does), so the store, or sled
/// again, can be opened right after.
pub(crate) struct Raw {
    db: Option<sled::Db>,
    lock_file: PathBuf,
}

impl Deref for Raw {
    type Target = sled::Db;

    fn deref(&self) -> &sled::Db {
        self.db.as_ref().expect("open")
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        drop(self.db.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let free = std::fs::File::open(&self.lock_file)
                .map_or(true, |f| f.try_lock_exclusive().is_ok());
            if free {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Open sled itself on a store's data directory (the store must be closed).
pub(crate) fn raw(dir: &Path) -> Raw {
    let path = dir.join("sled");
    Raw {
        db: Some(sled::open(&path).expect("open raw sled")),
        lock_file: path.join("db"),
    }
}

/// Open a store, panicking on error.
pub(crate) fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()))
}

/// The error of opening `dir`, which must fail.
pub(crate) fn open_err(dir: &Path) -> StoreError {
    match SledStore::open(dir) {
        Ok(s) => panic!("opening {} should fail, got {s:?}", dir.display()),
        Err(e) => e,
    }
}

/// A token record with explicit times.
pub(crate) fn token(profile: Uuid, issued: i64, expires: i64) -> TokenRecord {
    TokenRecord {
        digest: digest(),
        profile_id: profile,
        kind: TokenKind::Authorization,
        issued_at: Timestamp(issued),
        expires_at: Timestamp(expires),
        family: None,
    }
}

/// A random digest.
pub(crate) fn digest() -> TokenDigest {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    b[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenDigest(b)
}

/// A stored profile, for tests that only need one.
pub(crate) async fn stored_profile(s: &SledStore, name: &str) -> ProfileRecord {
    use tessera_core::store::ProfileStore;
    let p = profile(name);
    s.create_profile(&p, None).await.expect("create profile");
    p
}

/// A token of `kind` in `family`.
pub(crate) fn family_token(
    profile: Uuid,
    kind: TokenKind,
    family: Uuid,
    expires: i64,
) -> TokenRecord {
    TokenRecord {
        kind,
        family: Some(family),
        ..token(profile, 0, expires)
    }
}

/// Check the family index of a closed store against its tokens: every token with a family
/// has its `family_tokens` entry, every entry has its token, and `family_size` counts
/// exactly the stored tokens of each family (no entry for an empty family). Returns the
/// number of family tokens.
pub(crate) fn check_family_index(dir: &Path) -> usize {
    use std::collections::{BTreeMap, BTreeSet};
    let db = raw(dir);
    let tokens = db.open_tree("tokens").unwrap();
    let mut expected: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut sizes: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    for kv in &tokens {
        let (k, v) = kv.unwrap();
        // family opt<uuid> is the tail of the fixed 34/50-byte token value
        if v.len() == 50 {
            assert_eq!(v[33], 1, "family tag");
            let mut key = v[34..50].to_vec();
            key.extend_from_slice(&k);
            *sizes.entry(v[34..50].to_vec()).or_default() += 1;
            expected.insert(key);
        } else {
            assert_eq!((v.len(), v[33]), (34, 0), "token without family");
        }
    }
    let index: BTreeSet<Vec<u8>> = db
        .open_tree("family_tokens")
        .unwrap()
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect();
    assert_eq!(
        index, expected,
        "family_tokens lists exactly the family tokens"
    );
    let stored: BTreeMap<Vec<u8>, u64> = db
        .open_tree("family_size")
        .unwrap()
        .iter()
        .map(|kv| {
            let (k, v) = kv.unwrap();
            (k.to_vec(), u64::from_le_bytes(v[..].try_into().unwrap()))
        })
        .collect();
    assert_eq!(stored, sizes, "family_size counts each family's tokens");
    expected.len()
}
