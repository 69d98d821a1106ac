//! Record and engine fixtures for the suite.

use std::sync::Arc;

use uuid::Uuid;

use tessera_core::clock::{ManualClock, Timestamp};
use tessera_core::engine::{Engine, EngineConfig};
use tessera_core::hasher::HashParams;
use tessera_core::notify::{Notification, Notifier};
use tessera_core::profile::{ProfileKind, ProfileState};
use tessera_core::store::{DeviceInfo, DeviceRoles, ProfileRecord, QrRecord, Store, TokenRecord};
use tessera_core::token::{TokenDigest, TokenKind};

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

/// A device record of `owner` named `name` (roles: storage), version 1.
#[must_use]
pub fn device(owner: Uuid, name: &str) -> ProfileRecord {
    let mut d = profile(name);
    d.kind = ProfileKind::Device;
    d.owner = Some(owner);
    d.device = Some(DeviceInfo {
        device_id: Uuid::new_v4(),
        name: Some(format!("{name} device")),
        roles: DeviceRoles::STORAGE,
        meta: Some("{\"a\":1}".to_owned()),
    });
    d
}

/// A QR token of `owner` issued at t = 1000, expiring at `expires_at`.
#[must_use]
pub fn qr(owner: Uuid, expires_at: i64) -> QrRecord {
    QrRecord {
        digest: random_digest(),
        owner,
        issued_at: Timestamp(1000),
        expires_at: Timestamp(expires_at),
        device_name: Some("phone".to_owned()),
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
    let (engine, clock, _) = test_engine_notified(store);
    (engine, clock)
}

/// [`test_engine`] with a [`CapturingNotifier`] installed.
#[must_use]
pub fn test_engine_notified(
    store: Arc<dyn Store>,
) -> (Arc<Engine>, Arc<ManualClock>, Arc<CapturingNotifier>) {
    let clock = Arc::new(ManualClock::default());
    let notifier = Arc::new(CapturingNotifier::default());
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
        .notifier(notifier.clone())
        .build()
        .expect("test engine");
    (Arc::new(engine), clock, notifier)
}

/// A [`Notifier`] that keeps what it is sent, for tests to receive in order.
#[derive(Debug)]
pub struct CapturingNotifier {
    tx: tokio::sync::mpsc::UnboundedSender<Notification>,
    rx: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Notification>>,
}

impl Default for CapturingNotifier {
    fn default() -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
        }
    }
}

impl CapturingNotifier {
    /// The next notification, if one arrives within `within`.
    pub async fn recv(&self, within: std::time::Duration) -> Option<Notification> {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    /// The next reset code sent to `username` (waits up to 5 s; panics otherwise).
    pub async fn reset_code(&self, username: &str) -> String {
        match self.recv(std::time::Duration::from_secs(5)).await {
            Some(Notification::ResetCode {
                username: u, code, ..
            }) if u == username => code.expose().to_owned(),
            other => panic!("expected a reset code for {username}, got {other:?}"),
        }
    }
}

#[async_trait::async_trait]
impl Notifier for CapturingNotifier {
    async fn notify(&self, notification: Notification) {
        let _ = self.tx.send(notification);
    }
}
