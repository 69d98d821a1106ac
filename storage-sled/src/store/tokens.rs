//! [`TokenStore`] and [`QrStore`].

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tessera_core::store::{Conflict, QrRecord, QrStore, StoreResult, TokenRecord, TokenStore};
use tessera_core::{Principal, StoreError, Timestamp, TokenDigest};
use uuid::Uuid;

use super::revoke::{
    RevokeTx, bump_generation, remove_token_tx, revoke_attached, scan_attached, with_retry,
};
use super::{Inner, SledStore, read};
use crate::codec::{
    decode_principal_view, decode_qr, decode_token, decode_token_view, encode_qr, encode_token,
    profile_version,
};
use crate::error::{Abort, TxResult, abort, abort_corrupt, corrupt, finish, from_sled, from_tx};
use crate::trees::{EXP_QR, EXP_TOKEN, expiry_key, pair_key};

const EMPTY: &[u8] = &[];

/// How often `resolve_token` re-reads a token that changed under it.
const MAX_RESOLVE_TRIES: usize = 16;

/// A token to store, encoded, with the profile version it requires.
struct NewToken {
    digest: [u8; 32],
    profile: Uuid,
    expires_at: Timestamp,
    value: Vec<u8>,
    profile_version: u64,
}

impl NewToken {
    fn new(t: &TokenRecord, profile_version: u64) -> Self {
        Self {
            digest: t.digest.0,
            profile: t.profile_id,
            expires_at: t.expires_at,
            value: encode_token(t),
            profile_version,
        }
    }
}

/// Store `batch` in one transaction: each token with its index entries, if its profile
/// has the required version and its digest is new (also within the batch).
fn put_batch(db: &Inner, batch: &[NewToken]) -> StoreResult<()> {
    let t = &db.t;
    let trees = (
        &t.profiles,
        &t.tokens,
        &t.profile_tokens,
        &t.expiry,
        &t.attach_gen,
    );
    finish(
        trees.transaction(|(profiles, tokens, profile_tokens, expiry, attach)| {
            for n in batch {
                let d = &n.digest;
                check_version(profiles, n.profile, n.profile_version)?;
                if tokens.get(d)?.is_some() {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                tokens.insert(&d[..], n.value.as_slice())?;
                profile_tokens.insert(&pair_key(n.profile, d)[..], EMPTY)?;
                expiry.insert(expiry_key(n.expires_at, EXP_TOKEN, d), EMPTY)?;
                bump_generation(attach, n.profile)?;
            }
            Ok(())
        }),
    )
}

/// `NotFound` unless the profile `id` exists with `version` (inside a transaction).
fn check_version(profiles: &TransactionalTree, id: Uuid, version: u64) -> TxResult<()> {
    let key = id.as_bytes();
    let Some(raw) = profiles.get(key)? else {
        return abort(StoreError::NotFound);
    };
    match profile_version(&raw) {
        Ok(v) if v == version => Ok(()),
        Ok(_) => abort(StoreError::VersionMismatch),
        Err(e) => abort_corrupt("profiles", key, e),
    }
}

#[async_trait]
impl TokenStore for SledStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let batch = vec![NewToken::new(token, profile_version)];
        self.write(move |db: &Inner| put_batch(db, &batch)).await
    }

    /// One transaction for the whole batch and one flush: a refused token stores nothing.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        let batch: Vec<NewToken> = tokens.iter().map(|(t, v)| NewToken::new(t, *v)).collect();
        self.write(move |db: &Inner| put_batch(db, &batch)).await
    }

    /// Two point reads (token, then profile) and a re-read of the token: if the token is
    /// unchanged, it existed unchanged when the profile was read, so the pair is a
    /// consistent snapshot (each sled read is atomic with respect to transactions). No
    /// allocation but the principal's environments.
    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<Principal>> {
        let t = &self.inner.t;
        let key = &digest.0;
        let Some(mut tok) = t.tokens.get(key).map_err(from_sled)? else {
            return Ok(None);
        };
        for _ in 0..MAX_RESOLVE_TRIES {
            let v = decode_token_view(&tok).map_err(|e| corrupt("tokens", key, e))?;
            let pid = v.profile_id.as_bytes();
            let Some(prof) = t.profiles.get(pid).map_err(from_sled)? else {
                return Ok(None);
            };
            match t.tokens.get(key).map_err(from_sled)? {
                None => return Ok(None),
                Some(again) if again != tok => tok = again,
                Some(_) => {
                    let p =
                        decode_principal_view(&prof).map_err(|e| corrupt("profiles", pid, e))?;
                    return Ok(Some(Principal {
                        profile_id: v.profile_id,
                        kind: p.kind,
                        state: p.state,
                        owner: p.owner,
                        environments: p.environments,
                        token_kind: v.kind,
                        issued_at: v.issued_at,
                        expires_at: v.expires_at,
                        token: *digest,
                    }));
                }
            }
        }
        Err(StoreError::Unavailable {
            retryable: true,
            message: "token kept changing while it was read".into(),
        })
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        read(&self.inner.t.tokens, "tokens", &digest.0, |b| {
            decode_token(d, b)
        })
    }

    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<()> {
        let d = *digest;
        self.write(move |db: &Inner| {
            let t = &db.t;
            finish((&t.tokens, &t.expiry).transaction(|(tokens, expiry)| {
                let Some(raw) = tokens.get(d.0)? else {
                    return abort(StoreError::NotFound);
                };
                let mut rec = match decode_token(d, &raw) {
                    Ok(r) => r,
                    Err(e) => return abort_corrupt("tokens", &d.0, e),
                };
                if rec.expires_at <= now {
                    return abort(StoreError::NotFound);
                }
                expiry.remove(expiry_key(rec.expires_at, EXP_TOKEN, &d.0))?;
                rec.expires_at = expires_at;
                expiry.insert(expiry_key(expires_at, EXP_TOKEN, &d.0), EMPTY)?;
                tokens.insert(&d.0[..], encode_token(&rec))?;
                Ok(())
            }))
        })
        .await
    }

    async fn revoke_token(&self, digest: &TokenDigest) -> StoreResult<bool> {
        let d = digest.0;
        self.write(move |db: &Inner| {
            let t = &db.t;
            finish((&t.tokens, &t.profile_tokens, &t.expiry).transaction(
                |(tokens, profile_tokens, expiry)| {
                    let Some(raw) = tokens.get(d)? else {
                        return Ok(false);
                    };
                    let v = match decode_token_view(&raw) {
                        Ok(v) => v,
                        Err(e) => return abort_corrupt("tokens", &d, e),
                    };
                    remove_token_tx(tokens, profile_tokens, expiry, &d, &v)?;
                    Ok(true)
                },
            ))
        })
        .await
    }

    async fn revoke_profile_tokens(&self, profile: Uuid) -> StoreResult<u64> {
        self.write(move |db: &Inner| {
            let t = &db.t;
            with_retry(|| {
                let attached = scan_attached(db, profile).map_err(Abort::Store)?;
                let trees = (
                    &t.tokens,
                    &t.profile_tokens,
                    &t.qr,
                    &t.owner_qr,
                    &t.expiry,
                    &t.attach_gen,
                );
                from_tx(trees.transaction(
                    |(tokens, profile_tokens, qr, owner_qr, expiry, attach)| {
                        let tx = RevokeTx {
                            tokens,
                            profile_tokens,
                            qr,
                            owner_qr,
                            expiry,
                            attach,
                        };
                        revoke_attached(&tx, profile, &attached, None)
                    },
                ))
            })
        })
        .await
    }
}

#[async_trait]
impl QrStore for SledStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let value = encode_qr(qr);
        let (d, owner, exp) = (qr.digest.0, qr.owner, qr.expires_at);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (&t.profiles, &t.qr, &t.owner_qr, &t.expiry, &t.attach_gen);
            finish(
                trees.transaction(|(profiles, qr, owner_qr, expiry, attach)| {
                    check_version(profiles, owner, owner_version)?;
                    if qr.get(d)?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    qr.insert(&d[..], value.as_slice())?;
                    owner_qr.insert(&pair_key(owner, &d)[..], EMPTY)?;
                    expiry.insert(expiry_key(exp, EXP_QR, &d), EMPTY)?;
                    bump_generation(attach, owner)
                }),
            )
        })
        .await
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        let d = *digest;
        read(&self.inner.t.qr, "qr", &digest.0, |b| decode_qr(d, b))
    }
}
