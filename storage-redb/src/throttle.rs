//! [`ThrottleStore`] on [`RedbStore`]: failed-credential counters by throttle key.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{
    Reservation, StoreResult, ThrottlePolicy, ThrottleRecord, ThrottleStore,
};

use crate::codec;
use crate::error::{Failure, Fallible};
use crate::store::RedbStore;
use crate::tables as t;

#[async_trait]
impl ThrottleStore for RedbStore {
    async fn get_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        let k = key.to_owned();
        self.read(move |rx| get_throttle(rx, &k)).await
    }

    /// One write transaction: read, decide, write.
    async fn reserve_attempt(
        &self,
        key: &str,
        now: Timestamp,
        policy: ThrottlePolicy,
    ) -> StoreResult<Reservation> {
        let k = key.to_owned();
        self.write(move |tx| {
            let mut throttle = tx.open_table(t::THROTTLE)?;
            let before = stored(&throttle, &k)?;
            let decided = policy.reserve(before, now);
            if let Some(c) = decided.counted() {
                throttle.insert(k.as_str(), codec::encode_throttle(c).as_slice())?;
            }
            Ok(decided)
        })
        .await
    }

    async fn release_attempt(
        &self,
        key: &str,
        counted: ThrottleRecord,
        before: Option<ThrottleRecord>,
    ) -> StoreResult<bool> {
        let k = key.to_owned();
        self.write(move |tx| {
            let mut throttle = tx.open_table(t::THROTTLE)?;
            if stored(&throttle, &k)? != Some(counted) {
                return Ok(false);
            }
            match before {
                Some(b) => drop(throttle.insert(k.as_str(), codec::encode_throttle(b).as_slice())?),
                None => drop(throttle.remove(k.as_str())?),
            }
            Ok(true)
        })
        .await
    }

    async fn record_failure(&self, key: &str, now: Timestamp) -> StoreResult<ThrottleRecord> {
        let k = key.to_owned();
        self.write(move |tx| record_failure(tx, &k, now)).await
    }

    async fn clear_throttle(&self, key: &str) -> StoreResult<()> {
        let k = key.to_owned();
        self.write(move |tx| {
            tx.open_table(t::THROTTLE)?.remove(k.as_str())?;
            Ok(())
        })
        .await
    }
}

/// Throttle counter `key`.
fn get_throttle(rx: &ReadTransaction, key: &str) -> Fallible<Option<ThrottleRecord>> {
    let throttle = rx.open_table(t::THROTTLE)?;
    let Some(v) = throttle.get(key)? else {
        return Ok(None);
    };
    codec::decode_throttle(v.value())
        .map(Some)
        .map_err(|e| Failure::decode("throttle", key.as_bytes(), e))
}

/// The counter `key` of an open throttle table.
fn stored(
    throttle: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Fallible<Option<ThrottleRecord>> {
    let Some(v) = throttle.get(key)? else {
        return Ok(None);
    };
    codec::decode_throttle(v.value())
        .map(Some)
        .map_err(|e| Failure::decode("throttle", key.as_bytes(), e))
}

/// Add one failure to a throttle counter.
fn record_failure(tx: &WriteTransaction, key: &str, now: Timestamp) -> Fallible<ThrottleRecord> {
    let mut throttle = tx.open_table(t::THROTTLE)?;
    let mut r = stored(&throttle, key)?.unwrap_or_default();
    r.failures = r.failures.saturating_add(1);
    r.last_failure = now;
    throttle.insert(key, codec::encode_throttle(r).as_slice())?;
    Ok(r)
}
