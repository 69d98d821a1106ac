//! Single-use tokens: `TokenStore::take_token` and `TokenStore::replace_tokens`.

use sled::Transactional;
use tessera_core::store::{Conflict, StoreResult, TokenRecord};
use tessera_core::{StoreError, Timestamp, TokenDigest, TokenKind};

use super::Inner;
use super::revoke::{check_generation, scan_attached, with_retry};
use super::token_index::{NewToken, TokenTx};
use crate::error::{Abort, abort, finish, from_tx};

/// Delete the token `digest` if it is of `kind`; return it if it had not expired.
pub(super) fn take(
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
pub(super) fn replace(db: &Inner, token: &TokenRecord) -> StoreResult<u64> {
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
