//! [`TokenStore`] and [`QrStore`]. The token-API methods delegate to `rotation.rs`
//! (refresh rotation), `family.rs` (family revocation) and `single_use.rs` (take, replace);
//! every token write goes through `token_index.rs`.

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::TransactionalTree;
use tessera_core::store::{
    Conflict, QrRecord, QrStore, ResolvedToken, Rotation, StoreResult, TokenRecord, TokenStore,
};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};
use uuid::Uuid;

use super::revoke::{RevokeTx, bump_generation, revoke_attached, scan_attached, with_retry};
use super::token_index::{NewToken, TokenTx};
use super::{Inner, SledStore, family, read, rotation, single_use};
use crate::codec::{
    decode_qr, decode_token, decode_token_view, decode_verify_prefix, encode_qr, encode_token,
    profile_version,
};
use crate::error::{Abort, TxResult, abort, abort_corrupt, corrupt, finish, from_sled, from_tx};
use crate::trees::{EXP_QR, EXP_TOKEN, expiry_key, pair_key};

const EMPTY: &[u8] = &[];

/// How often `resolve_token` re-reads a token that changed under it.
const MAX_RESOLVE_TRIES: usize = 16;

/// Store `batch` in one transaction: each token with its index entries, if its profile
/// has the paired version and its digest is new (also within the batch).
fn put_batch(db: &Inner, batch: &[(NewToken, u64)]) -> StoreResult<()> {
    let t = &db.t;
    let trees = (
        &t.profiles,
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.attach_gen,
    );
    finish(trees.transaction(
        |(profiles, tokens, profile_tokens, family_tokens, family_size, expiry, attach)| {
            let tx = TokenTx {
                tokens,
                profile_tokens,
                family_tokens,
                family_size,
                expiry,
            };
            for (n, version) in batch {
                check_version(profiles, n.profile, *version)?;
                if tx.exists(&n.digest)? {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                tx.insert(attach, n)?;
            }
            Ok(())
        },
    ))
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
        let batch = vec![(NewToken::new(token), profile_version)];
        self.write(move |db: &Inner| put_batch(db, &batch)).await
    }

    /// One transaction for the whole batch and one flush: a refused token stores nothing.
    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        let batch: Vec<(NewToken, u64)> =
            tokens.iter().map(|(t, v)| (NewToken::new(t), *v)).collect();
        self.write(move |db: &Inner| put_batch(db, &batch)).await
    }

    /// Two point reads (token, then profile). They are a consistent snapshot when no write
    /// of this store ran meanwhile (see `Writes`); otherwise the token is read again: if it
    /// is unchanged, it existed unchanged when the profile was read, so the pair is a
    /// consistent snapshot (each sled read is atomic with respect to transactions). No
    /// allocation but the environments.
    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        let t = &self.inner.t;
        let key = &digest.0;
        let ticket = self.inner.writes.quiet();
        let Some(mut tok) = t.tokens.get(key).map_err(from_sled)? else {
            return Ok(None);
        };
        for _ in 0..MAX_RESOLVE_TRIES {
            let v = decode_token_view(&tok).map_err(|e| corrupt("tokens", key, e))?;
            let pid = v.profile_id.as_bytes();
            let Some(prof) = t.profiles.get(pid).map_err(from_sled)? else {
                return Ok(None);
            };
            if !ticket.is_some_and(|n| self.inner.writes.still_quiet(n)) {
                match t.tokens.get(key).map_err(from_sled)? {
                    None => return Ok(None),
                    Some(again) if again != tok => {
                        tok = again;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            let p = decode_verify_prefix(&prof).map_err(|e| corrupt("profiles", pid, e))?;
            return Ok(Some(ResolvedToken {
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
            let trees = (
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.expiry,
            );
            finish(trees.transaction(
                |(tokens, profile_tokens, family_tokens, family_size, expiry)| {
                    let tx = TokenTx {
                        tokens,
                        profile_tokens,
                        family_tokens,
                        family_size,
                        expiry,
                    };
                    let Some(v) = tx.view(&d)? else {
                        return Ok(false);
                    };
                    tx.remove(&d, &v)?;
                    Ok(true)
                },
            ))
        })
        .await
    }

    async fn revoke_profile_tokens(&self, profile: Uuid) -> StoreResult<u64> {
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.qr,
                &t.owner_qr,
                &t.expiry,
                &t.attach_gen,
            );
            with_retry(|| {
                let attached = scan_attached(db, profile, true).map_err(Abort::Store)?;
                from_tx(trees.transaction(
                    |(
                        tokens,
                        profile_tokens,
                        family_tokens,
                        family_size,
                        qr,
                        owner_qr,
                        expiry,
                        attach,
                    )| {
                        let tx = RevokeTx {
                            tok: TokenTx {
                                tokens,
                                profile_tokens,
                                family_tokens,
                                family_size,
                                expiry,
                            },
                            qr,
                            owner_qr,
                            attach,
                        };
                        revoke_attached(&tx, profile, &attached, None)
                    },
                ))
            })
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        old_digest: &TokenDigest,
        new_refresh: &TokenRecord,
        new_access: &TokenRecord,
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let (old, r, a) = (*old_digest, new_refresh.clone(), new_access.clone());
        self.write(move |db: &Inner| rotation::rotate(db, &old, &r, &a, now))
            .await
    }

    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        self.write(move |db: &Inner| family::revoke_family(db, family))
            .await
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.write(move |db: &Inner| single_use::take(db, d, kind, now))
            .await
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let t = token.clone();
        self.write(move |db: &Inner| single_use::replace(db, &t))
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
