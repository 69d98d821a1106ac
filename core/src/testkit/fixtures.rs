//! Record and engine fixtures for the suite.

use std::sync::Arc;

use uuid::Uuid;

use crate::clock::{ManualClock, Timestamp};
use crate::engine::{Engine, EngineConfig};
use crate::hasher::HashParams;
use crate::profile::{ProfileKind, ProfileState};
use crate::store::{ProfileRecord, Store, TokenRecord};
use crate::token::{TokenDigest, TokenKind};

/// A user record named `name`, version 1, created at t = 1000.
#[must_use]
pub fn profile(name: &str) -> ProfileRecord {
    ProfileRecord {
        id: Uuid::new_v4(),
        kind: ProfileKind::User,
        username: name.to_owned(),
        password_hash: Some("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned()),
        password_temporary: false,
        state: ProfileState::Incomplete,
        public_key: None,
        owner: None,
        device: None,
        environments: Vec::new(),
        created_at: Timestamp(1000),
        updated_at: Timestamp(1000),
        version: 1,
    }
}

/// An authorization token record of `profile` expiring at `expires_at`.
#[must_use]
pub fn token_record(profile: Uuid, expires_at: i64) -> TokenRecord {
    TokenRecord {
        digest: random_digest(),
        profile_id: profile,
        kind: TokenKind::Authorization,
        issued_at: Timestamp(1000),
        expires_at: Timestamp(expires_at),
        family: None,
    }
}

/// A random digest (for records whose token text the test does not need).
#[must_use]
pub fn random_digest() -> TokenDigest {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(Uuid::new_v4().as_bytes());
    b[16..].copy_from_slice(Uuid::new_v4().as_bytes());
    TokenDigest(b)
}

/// An engine on `store` with a manual clock and cheap hashing (tests only).
#[must_use]
pub fn test_engine(store: Arc<dyn Store>) -> (Arc<Engine>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let config = EngineConfig {
        hash_params: HashParams::INSECURE_FOR_TESTS,
        allow_weak_hash_params: true,
        hash_workers: 2,
        ..EngineConfig::default()
    };
    let engine = Engine::builder()
        .store(store)
        .clock(clock.clone())
        .config(config)
        .build()
        .expect("test engine");
    (Arc::new(engine), clock)
}
