//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use tessera_core::store::{ProfileRecord, TokenRecord};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};
use tessera_storage_sled::SledStore;
use uuid::Uuid;

pub use tessera_core::testkit::profile;

/// Open sled itself on a store's data directory (the store must be closed).
pub fn raw(dir: &Path) -> sled::Db {
    sled::open(dir.join("sled")).expect("open raw sled")
}

/// Open a store, panicking on error.
pub fn open(dir: &Path) -> SledStore {
    SledStore::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()))
}

/// The error of opening `dir`, which must fail.
pub fn open_err(dir: &Path) -> StoreError {
    match SledStore::open(dir) {
        Ok(s) => panic!("opening {} should fail, got {s:?}", dir.display()),
        Err(e) => e,
    }
}

/// A token record with explicit times.
pub fn token(profile: Uuid, issued: i64, expires: i64) -> TokenRecord {
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
pub fn digest() -> TokenDigest {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    b[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenDigest(b)
}

/// A stored profile, for tests that only need one.
pub async fn stored_profile(s: &SledStore, name: &str) -> ProfileRecord {
    use tessera_core::store::ProfileStore;
    let p = profile(name);
    s.create_profile(&p).await.expect("create profile");
    p
}

/// A token of `kind` in `family`.
pub fn family_token(profile: Uuid, kind: TokenKind, family: Uuid, expires: i64) -> TokenRecord {
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
pub fn check_family_index(dir: &Path) -> usize {
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
