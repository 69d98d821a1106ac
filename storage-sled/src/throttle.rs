//! [`ThrottleStore`] on [`SledStore`]: failed-credential counters by throttle key.

use async_trait::async_trait;
use tessera_core::Timestamp;
use tessera_core::store::{
    Reservation, StoreResult, ThrottlePolicy, ThrottleRecord, ThrottleStore,
};

use crate::codec::{decode_throttle, encode_throttle};
use sled::transaction::TransactionalTree;

use crate::error::{TxResult, abort_corrupt, finish, from_sled};
use crate::store::{Inner, SledStore, read};

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

    /// One transaction on `throttle`: read, decide, write.
    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation> {
        let key = key.as_bytes().to_vec();
        self.write(move |db: &Inner| {
            finish(db.t.throttle.transaction(|throttle| {
                let decided = policy.reserve(stored(throttle, &key)?, now);
                if let Some(c) = decided.counted() {
                    throttle.insert(key.as_slice(), encode_throttle(&c))?;
                }
                Ok(decided)
            }))
        })
        .await
    }

    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool> {
        let key = key.as_bytes().to_vec();
        self.write(move |db: &Inner| {
            finish(db.t.throttle.transaction(|throttle| {
                if stored(throttle, &key)? != Some(counted) {
                    return Ok(false);
                }
                match before {
                    Some(b) => drop(throttle.insert(key.as_slice(), encode_throttle(&b))?),
                    None => drop(throttle.remove(key.as_slice())?),
                }
                Ok(true)
            }))
        })
        .await
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let key = key.as_bytes().to_vec();
        self.write(move |db: &Inner| {
            finish(db.t.throttle.transaction(|throttle| {
                let mut r = stored(throttle, &key)?.unwrap_or_default();
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

/// The counter `key` in a transaction on `throttle`.
fn stored(throttle: &TransactionalTree, key: &[u8]) -> TxResult<Option<ThrottleRecord>> {
    match throttle.get(key)? {
        None => Ok(None),
        Some(raw) => match decode_throttle(&raw) {
            Ok(r) => Ok(Some(r)),
            Err(e) => abort_corrupt("throttle", key, e),
        },
    }
}
