//! [`ThrottleStore`] on [`RedbStore`]: failed-credential counters by throttle key.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, WriteTransaction};
use tessera_core::Timestamp;
use tessera_core::store::{StoreResult, ThrottleRecord, ThrottleStore};

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

/// Add one failure to a throttle counter.
fn record_failure(tx: &WriteTransaction, key: &str, now: Timestamp) -> Fallible<ThrottleRecord> {
    let mut throttle = tx.open_table(t::THROTTLE)?;
    let mut r = match throttle.get(key)? {
        Some(v) => codec::decode_throttle(v.value())
            .map_err(|e| Failure::decode("throttle", key.as_bytes(), e))?,
        None => ThrottleRecord::default(),
    };
    r.failures = r.failures.saturating_add(1);
    r.last_failure = now;
    throttle.insert(key, codec::encode_throttle(r).as_slice())?;
    Ok(r)
}
