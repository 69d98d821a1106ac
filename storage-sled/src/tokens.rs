//! [`TokenStore`] on [`SledStore`]: authorization, refresh and single-use tokens. Every
//! token written or deleted goes through `token_index.rs` ([`TokenTx`]); revoking what is
//! attached to a profile goes through `revoke.rs`.

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;
use tessera_core::store::{
    CommandRecord, Conflict, ResolvedToken, Rotation, StoreResult, TokenRecord, TokenStore,
};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};
use uuid::Uuid;

use crate::codec::{
    TokenView, decode_token, decode_token_view, decode_verify_prefix, encode_token,
};
use crate::commands;
use crate::error::{Abort, TxResult, abort, abort_corrupt, corrupt, finish, from_sled, from_tx};
use crate::profiles::expect_version;
use crate::revoke::{
    RevokeTx, check_generation, revoke_attached, scan_attached, scan_digests, with_retry,
};
use crate::store::{Inner, SledStore, read};
use crate::token_index::{NewToken, TokenTx};
use crate::trees::{EXP_TOKEN, expiry_key};

const EMPTY: &[u8] = &[];

/// How often `resolve_token` re-reads a token that changed under it.
const MAX_RESOLVE_TRIES: usize = 16;

/// The token `digest` and what `reads` reads for it (`None` when the token or any of those
/// records is missing), as one consistent snapshot.
///
/// The point reads (the token, then `reads`) are a consistent snapshot when no write of
/// this store ran meanwhile (see `Writes`); otherwise the token is read again: if it is
/// unchanged, it existed unchanged while `reads` ran, so the records are a consistent
/// snapshot (each sled read is atomic with respect to transactions, and the records read
/// after a token, its profile and its grant, are only deleted in the transaction that
/// deletes the token or after the token has expired). If the token changed, everything is
/// read again.
pub(crate) fn consistent_reads<T>(
    db: &Inner,
    digest: &TokenDigest,
    mut reads: impl FnMut(&TokenView) -> StoreResult<Option<T>>,
) -> StoreResult<Option<(TokenView, T)>> {
    let key = &digest.0;
    let ticket = db.writes.quiet();
    let Some(mut tok) = db.t.tokens.get(key).map_err(from_sled)? else {
        return Ok(None);
    };
    for _ in 0..MAX_RESOLVE_TRIES {
        let v = decode_token_view(&tok).map_err(|e| corrupt("tokens", key, e))?;
        let Some(extra) = reads(&v)? else {
            return Ok(None);
        };
        if !ticket.is_some_and(|n| db.writes.still_quiet(n)) {
            match db.t.tokens.get(key).map_err(from_sled)? {
                None => return Ok(None),
                Some(again) if again != tok => {
                    tok = again;
                    continue;
                }
                Some(_) => {}
            }
        }
        return Ok(Some((v, extra)));
    }
    Err(StoreError::Unavailable {
        retryable: true,
        message: "token kept changing while it was read".into(),
    })
}

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
                expect_version(profiles, n.profile, *version)?;
                if tx.exists(&n.digest)? {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                tx.insert(attach, n)?;
            }
            Ok(())
        },
    ))
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

    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        self.resolve(digest)
    }

    fn resolve_token_now(
        &self,
        digest: &TokenDigest,
    ) -> Option<StoreResult<Option<ResolvedToken>>> {
        Some(self.resolve(digest))
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
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let d = *digest;
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (&t.tokens, &t.expiry, &t.commands);
            finish(trees.transaction(|(tokens, expiry, commands_tree)| {
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
                commands::record_tx(commands_tree, expiry, command.as_ref())
            }))
        })
        .await
    }

    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let d = digest.0;
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.expiry,
                &t.commands,
            );
            finish(trees.transaction(
                |(tokens, profile_tokens, family_tokens, family_size, expiry, commands_tree)| {
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
                    commands::record_tx(commands_tree, expiry, command.as_ref())?;
                    Ok(true)
                },
            ))
        })
        .await
    }

    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64> {
        let command = commands::Encoded::of(command);
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
                &t.commands,
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
                        commands_tree,
                    )| {
                        commands::record_tx(commands_tree, expiry, command.as_ref())?;
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

    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let old = *old_digest;
        let issue: Vec<NewToken> = issue.iter().map(NewToken::new).collect();
        self.write(move |db: &Inner| spend_token(db, &old, &issue, now))
            .await
    }

    /// A prefix scan of `profile_tokens`, then a point read of each token (one removed
    /// between the two is left out).
    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>> {
        let t = &self.inner.t;
        let digests = scan_digests(&t.profile_tokens, "profile_tokens", profile.as_bytes())?;
        let mut out = Vec::with_capacity(digests.len());
        for d in digests {
            let d = TokenDigest(d);
            if let Some(tok) = read(&t.tokens, "tokens", &d.0, |b| decode_token(d, b))? {
                out.push(tok);
            }
        }
        out.sort_by_key(|t| (t.issued_at, t.digest.0));
        Ok(out)
    }

    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        self.write(move |db: &Inner| revoke_family(db, family))
            .await
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let d = *digest;
        self.write(move |db: &Inner| take_token(db, d, kind, now))
            .await
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let t = token.clone();
        self.write(move |db: &Inner| replace_tokens(db, &t)).await
    }
}

/// Spend the token `old` and store `issue` (see the trait), in one transaction that
/// decides and writes.
///
/// The common case (a live refresh token or code) needs no scan: the transaction marks the
/// old token spent and stores the new ones. Reuse (a spent token presented again) must
/// delete the whole family, which a transaction cannot list; so the first attempt, finding
/// a spent token, notes its family and aborts with [`Abort::Stale`], the family is
/// scanned, and the transaction runs again with the list, re-checking everything (see
/// [`revoke_family`]).
fn spend_token(
    db: &Inner,
    old: &TokenDigest,
    issue: &[NewToken],
    now: Timestamp,
) -> StoreResult<Rotation> {
    let old = old.0;
    let t = &db.t;
    let trees = (
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.attach_gen,
    );
    // The family of a spent `old`, found by an attempt that aborted to have it scanned.
    let reused = std::cell::Cell::new(None::<Uuid>);
    let mut scanned: Option<(Uuid, Vec<[u8; 32]>)> = None;
    with_retry(|| {
        if let Some(family) = reused.get() {
            scanned = Some((family, scan_family(db, family).map_err(Abort::Store)?));
        }
        from_tx(trees.transaction(
            |(tokens, profile_tokens, family_tokens, family_size, expiry, attach)| {
                let tx = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                let Some(mut v) = tx.view(&old)? else {
                    return Ok(Rotation::Unknown);
                };
                let Some(family) = v.family else {
                    return Ok(Rotation::Unknown);
                };
                let matches = issue
                    .iter()
                    .all(|n| n.profile == v.profile_id && n.family == Some(family));
                if !matches || v.expires_at <= now {
                    return Ok(Rotation::Unknown);
                }
                if let Some(spent) = v.kind.spent() {
                    for (i, n) in issue.iter().enumerate() {
                        if tx.exists(&n.digest)? || issue[..i].iter().any(|m| m.digest == n.digest)
                        {
                            return abort(StoreError::Conflict(Conflict::Exists));
                        }
                    }
                    v.kind = spent;
                    tx.rewrite(&old, &v)?;
                    for n in issue {
                        tx.insert(attach, n)?;
                    }
                    Ok(Rotation::Rotated)
                } else if v.kind.is_spent() {
                    match &scanned {
                        Some((f, list)) if *f == family => {
                            revoke_family_tx(&tx, family, list)?;
                            Ok(Rotation::Reused)
                        }
                        // Reuse: scan the family, then decide again.
                        _ => {
                            reused.set(Some(family));
                            Err(ConflictableTransactionError::Abort(Abort::Stale))
                        }
                    }
                } else {
                    Ok(Rotation::Unknown)
                }
            },
        ))
    })
}

/// `TokenStore::revoke_family`: every token of a refresh family, without scanning inside a
/// transaction.
///
/// The family's tokens are listed by a prefix scan of `family_tokens` before the
/// transaction. The transaction deletes the listed tokens that are still stored and then
/// reads the family's size from `family_size`, which every transaction storing or deleting
/// a family token keeps exact: if it is not 0, a token joined the family after the scan
/// (a concurrent rotation), and the transaction aborts with [`Abort::Stale`] so the
/// caller scans again. A size that is 0 proves the family empty, whatever happened
/// meanwhile, so a revoked family never keeps a token.
fn revoke_family(db: &Inner, family: Uuid) -> StoreResult<u64> {
    let t = &db.t;
    with_retry(|| {
        let scanned = scan_family(db, family).map_err(Abort::Store)?;
        let trees = (
            &t.tokens,
            &t.profile_tokens,
            &t.family_tokens,
            &t.family_size,
            &t.expiry,
        );
        from_tx(trees.transaction(
            |(tokens, profile_tokens, family_tokens, family_size, expiry)| {
                let tx = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                revoke_family_tx(&tx, family, &scanned)
            },
        ))
    })
}

/// The digests listed under `family` in `family_tokens` now (outside a transaction).
fn scan_family(db: &Inner, family: Uuid) -> StoreResult<Vec<[u8; 32]>> {
    scan_digests(&db.t.family_tokens, "family_tokens", family.as_bytes())
}

/// Delete the `scanned` tokens of `family`; abort with `Stale` if the family still has
/// tokens afterwards. Returns how many were deleted.
pub(crate) fn revoke_family_tx(
    tx: &TokenTx<'_>,
    family: Uuid,
    scanned: &[[u8; 32]],
) -> TxResult<u64> {
    let mut n = 0;
    for d in scanned {
        if let Some(v) = tx.view(d)?
            && v.family == Some(family)
        {
            tx.remove(d, &v)?;
            n += 1;
        }
    }
    if tx.family_size(family)? == 0 {
        Ok(n)
    } else {
        Err(ConflictableTransactionError::Abort(Abort::Stale))
    }
}

/// Delete the token `digest` if it is of `kind`; return it if it had not expired.
fn take_token(
    db: &Inner,
    digest: TokenDigest,
    kind: TokenKind,
    now: Timestamp,
) -> StoreResult<Option<TokenRecord>> {
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
            let Some(v) = tx.view(&digest.0)? else {
                return Ok(None);
            };
            if v.kind != kind {
                return Ok(None);
            }
            tx.remove(&digest.0, &v)?;
            Ok((v.expires_at > now).then_some(TokenRecord {
                digest,
                profile_id: v.profile_id,
                kind: v.kind,
                issued_at: v.issued_at,
                expires_at: v.expires_at,
                family: v.family,
            }))
        },
    ))
}

/// Delete every token of `token`'s profile and kind, and store `token`, in one
/// transaction. The profile's tokens are listed before it; the profile's attachment
/// generation proves the list current (see `revoke.rs`).
fn replace_tokens(db: &Inner, token: &TokenRecord) -> StoreResult<u64> {
    let new = NewToken::new(token);
    let (profile, kind) = (token.profile_id, token.kind);
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
    with_retry(|| {
        let attached = scan_attached(db, profile, false).map_err(Abort::Store)?;
        from_tx(trees.transaction(
            |(profiles, tokens, profile_tokens, family_tokens, family_size, expiry, attach)| {
                let tx = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                if profiles.get(profile.as_bytes())?.is_none() {
                    return abort(StoreError::NotFound);
                }
                if tx.exists(&new.digest)? {
                    return abort(StoreError::Conflict(Conflict::Exists));
                }
                check_generation(attach, profile, &attached)?;
                let mut n = 0;
                for d in &attached.tokens {
                    if let Some(v) = tx.view(d)?
                        && v.kind == kind
                    {
                        tx.remove(d, &v)?;
                        n += 1;
                    }
                }
                tx.insert(attach, &new)?;
                Ok(n)
            },
        ))
    })
}

impl SledStore {
    /// `resolve_token`: two point reads (token, then profile), made consistent by
    /// [`consistent_reads`], behind the cache of resolved tokens. No allocation but the
    /// environments.
    fn resolve(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        // a ticket while no write runs: the cache answers if no write started since its
        // entry was read
        let ticket = self.inner.writes.quiet();
        if let Some(hit) = ticket.and_then(|n| self.inner.resolved.get(digest, n)) {
            return Ok(Some(hit));
        }
        let found = self.resolve_uncached(digest)?;
        if let (Some(t), Some(n)) = (&found, ticket) {
            // read entirely while no write ran: keep it for that epoch
            if self.inner.writes.still_quiet(n) {
                self.inner.resolved.put(t, n);
            }
        }
        Ok(found)
    }

    /// `resolve_token` from the trees: the token and its profile, read consistently.
    fn resolve_uncached(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        let t = &self.inner.t;
        let read_profile =
            |v: &TokenView| t.profiles.get(v.profile_id.as_bytes()).map_err(from_sled);
        let Some((v, prof)) = consistent_reads(&self.inner, digest, read_profile)? else {
            return Ok(None);
        };
        let pid = v.profile_id.as_bytes();
        let p = decode_verify_prefix(&prof).map_err(|e| corrupt("profiles", pid, e))?;
        Ok(Some(ResolvedToken {
            profile_id: v.profile_id,
            kind: p.kind,
            state: p.state,
            owner: p.owner,
            environments: p.environments,
            token_kind: v.kind,
            issued_at: v.issued_at,
            expires_at: v.expires_at,
            token: *digest,
        }))
    }
}
