//! [`ThrottleStore`] on [`SledStore`]: failed-credential counters by throttle key.

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{StoreResult, ThrottleRecord, ThrottleStore};

use crate::codec::{decode_throttle, encode_throttle};
use crate::error::{abort_corrupt, finish, from_sled};
use crate::store::{Inner, SledStore, read};

#[async_trait]
#[async_trait]
impl ThrottleStore for SledStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        read(
            &self.inner.t.throttle,
            "throttle",
            key.as_bytes(),
            decode_throttle,
        )
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let key = key.as_bytes().to_vec();
        self.write(move |db: &Inner| {
            finish(db.t.throttle.transaction(|throttle| {
                let mut r = match throttle.get(&key)? {
                    None => ThrottleRecord::default(),
                    Some(raw) => match decode_throttle(&raw) {
                        Ok(r) => r,
                        Err(e) => return abort_corrupt("throttle", &key, e),
                    },
                };
                r.failures = r.failures.saturating_add(1);
                r.last_failure = now;
                throttle.insert(key.as_slice(), encode_throttle(&r))?;
                Ok(r)
            }))
        })
        .await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        let key = key.as_bytes().to_vec();
        self.write(move |db: &Inner| {
            db.t.throttle.remove(key).map_err(from_sled)?;
            Ok(())
        })
        .await
    }
}
