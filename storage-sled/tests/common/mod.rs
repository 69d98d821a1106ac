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
