//! The small aggregates: [`CommandStore`], [`ThrottleStore`] and [`KeyStore`].

use async_trait::async_trait;
use sled::Transactional;
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStore, Conflict, KeyStore, StoreResult, ThrottleRecord,
    ThrottleStore,
};
use tessera_core::{StoreError, Timestamp, TokenDigest};
use uuid::Uuid;

use super::{Inner, SledStore, read};
use crate::codec::{
    decode_api_key, decode_command, decode_fixed, decode_throttle, encode_api_key, encode_command,
    encode_throttle,
};
use crate::error::{abort, abort_corrupt, finish, from_sled};
use crate::trees::{EXP_COMMAND, SERVER_KEY, expiry_key};

#[async_trait]
impl CommandStore for SledStore {
    async fn put_command(&self, command: &CommandRecord) -> StoreResult<()> {
        let value = encode_command(command);
        let (id, exp) = (command.id, command.expires_at);
        self.write(move |db: &Inner| {
            let t = &db.t;
            finish((&t.commands, &t.expiry).transaction(|(commands, expiry)| {
                let key = id.as_bytes();
                if commands.get(key)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                commands.insert(&key[..], value.as_slice())?;
                expiry.insert(expiry_key(exp, EXP_COMMAND, key), &[][..])?;
                Ok(())
            }))
        })
        .await
    }

    async fn get_command(&self, id: Uuid) -> StoreResult<Option<CommandRecord>> {
        read(&self.inner.t.commands, "commands", id.as_bytes(), |b| {
            decode_command(id, b)
        })
    }
}

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

#[async_trait]
impl KeyStore for SledStore {
    async fn server_key_or_insert(&self, candidate: [u8; 32]) -> StoreResult<[u8; 32]> {
        self.write(move |db: &Inner| {
            finish(db.t.meta.transaction(|meta| {
                let Some(raw) = meta.get(SERVER_KEY)? else {
                    meta.insert(SERVER_KEY, &candidate[..])?;
                    return Ok(candidate);
                };
                match decode_fixed::<32>(&raw) {
                    Ok(k) => Ok(k),
                    Err(e) => abort_corrupt("meta", SERVER_KEY, e),
                }
            }))
        })
        .await
    }

    async fn put_api_key(&self, key: &ApiKeyRecord) -> StoreResult<()> {
        let value = encode_api_key(key);
        let d = key.digest.0;
        self.write(move |db: &Inner| {
            finish(db.t.api_keys.transaction(|api_keys| {
                if api_keys.get(d)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                api_keys.insert(&d[..], value.as_slice())?;
                Ok(())
            }))
        })
        .await
    }

    async fn get_api_key(&self, digest: &TokenDigest) -> StoreResult<Option<ApiKeyRecord>> {
        let d = *digest;
        read(&self.inner.t.api_keys, "api_keys", &digest.0, |b| {
            decode_api_key(d, b)
        })
    }
}
