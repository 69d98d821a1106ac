//! A store that delegates to a MemoryStore until told to fail: every call then returns
//! `StoreError::Backend` with a message that must never reach a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use tessera_core::store::*;
use tessera_core::{MemoryStore, StoreError, Timestamp, TokenDigest, TokenKind};
use uuid::Uuid;

pub const SECRET_DETAIL: &str = "disk /var/lib/secret-path exploded";

#[derive(Debug, Default)]
pub struct FailingStore {
    inner: MemoryStore,
    pub failing: AtomicBool,
}

impl FailingStore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn fail(&self, on: bool) {
        self.failing.store(on, Ordering::SeqCst);
    }
    fn check(&self) -> StoreResult<()> {
        if self.failing.load(Ordering::SeqCst) {
            Err(StoreError::Backend(SECRET_DETAIL.into()))
        } else {
            Ok(())
        }
    }
}

macro_rules! delegate {
    ($tr:ident { $($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $tr for FailingStore {
            $(async fn $name(&self, $($arg: $ty),*) -> StoreResult<$ret> {
                self.check()?;
                self.inner.$name($($arg),*).await
            })*
        }
    };
}

delegate! {
    ProfileStore {
        create_profile(p: &ProfileRecord) -> ();
        get_profile(id: Uuid) -> Option<ProfileRecord>;
        get_profile_by_username(u: &str) -> Option<ProfileRecord>;
        update_profile(p: &ProfileRecord, v: u64, r: Revoke) -> ();
        list_devices(o: Uuid) -> Vec<ProfileRecord>;
        create_device(d: &ProfileRecord, q: &TokenDigest, n: Timestamp) -> ();
    }
}

delegate! {
    TokenStore {
        put_token(t: &TokenRecord, v: u64) -> ();
        resolve_token(d: &TokenDigest) -> Option<ResolvedToken>;
        get_token(d: &TokenDigest) -> Option<TokenRecord>;
        set_token_expiry(d: &TokenDigest, e: Timestamp, n: Timestamp) -> ();
        revoke_token(d: &TokenDigest) -> bool;
        revoke_profile_tokens(p: Uuid) -> u64;
        put_tokens(t: &[(TokenRecord, u64)]) -> ();
        rotate_refresh(o: &TokenDigest, r: &TokenRecord, a: &TokenRecord, n: Timestamp) -> Rotation;
        revoke_family(f: Uuid) -> u64;
        take_token(d: &TokenDigest, k: TokenKind, n: Timestamp) -> Option<TokenRecord>;
        replace_tokens(t: &TokenRecord) -> u64;
    }
}

delegate! {
    QrStore {
        put_qr(q: &QrRecord, v: u64) -> ();
        get_qr(d: &TokenDigest) -> Option<QrRecord>;
    }
}

delegate! {
    CommandStore {
        put_command(c: &CommandRecord) -> ();
        get_command(id: Uuid) -> Option<CommandRecord>;
    }
}

delegate! {
    ThrottleStore {
        get_throttle(k: &str) -> Option<ThrottleRecord>;
        record_failure(k: &str, n: Timestamp) -> ThrottleRecord;
        clear_throttle(k: &str) -> ();
    }
}

delegate! {
    KeyStore {
        server_key_or_insert(c: [u8; 32]) -> [u8; 32];
        put_api_key(k: &ApiKeyRecord) -> ();
        get_api_key(d: &TokenDigest) -> Option<ApiKeyRecord>;
    }
}

delegate! {
    ServerUserStore {
        create_server_user(u: &ServerUserRecord, p: &ProfileRecord) -> ();
        get_server_user(e: &str) -> Option<ServerUserRecord>;
        update_server_user(u: &ServerUserRecord, p: &ProfileRecord, v: u64, r: Revoke) -> ();
    }
}

delegate! {
    MaintenanceStore {
        ping() -> ();
        purge_expired(n: Timestamp, l: usize) -> usize;
    }
}
