//! `TokenStore` on the in-memory maps.

use async_trait::async_trait;
use uuid::Uuid;

use super::MemoryStore;
use crate::clock::Timestamp;
use crate::store::{
    CommandRecord, Conflict, ResolvedToken, Rotation, StoreError, StoreResult, TokenRecord,
    TokenStore,
};
use crate::token::{TokenDigest, TokenKind};

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_token(&self, token: &TokenRecord, profile_version: u64) -> StoreResult<()> {
        let mut g = self.write();
        g.profile_version(token.profile_id, profile_version)?;
        if g.tokens.contains_key(&token.digest) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.insert_token(token);
        Ok(())
    }

    async fn put_tokens(&self, tokens: &[(TokenRecord, u64)]) -> StoreResult<()> {
        let mut g = self.write();
        let mut seen = std::collections::HashSet::with_capacity(tokens.len());
        for (t, v) in tokens {
            g.profile_version(t.profile_id, *v)?;
            if g.tokens.contains_key(&t.digest) || !seen.insert(t.digest) {
                return Err(StoreError::Conflict(Conflict::Exists));
            }
        }
        for (t, _) in tokens {
            g.insert_token(t);
        }
        Ok(())
    }

    async fn resolve_token(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedToken>> {
        Ok(self.resolve(digest))
    }

    fn resolve_token_now(
        &self,
        digest: &TokenDigest,
    ) -> Option<StoreResult<Option<ResolvedToken>>> {
        Some(Ok(self.resolve(digest)))
    }

    async fn get_token(&self, digest: &TokenDigest) -> StoreResult<Option<TokenRecord>> {
        Ok(self.read().tokens.get(digest).map(|t| t.record(*digest)))
    }

    async fn set_token_expiry(
        &self,
        digest: &TokenDigest,
        expires_at: Timestamp,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        match g.tokens.get_mut(digest) {
            Some(t) if t.expires_at > now => t.expires_at = expires_at,
            _ => return Err(StoreError::NotFound),
        }
        g.record(command);
        Ok(())
    }

    async fn revoke_token(
        &self,
        digest: &TokenDigest,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        let existed = g.remove_token(digest).is_some();
        if existed {
            g.record(command);
        }
        Ok(existed)
    }

    async fn revoke_profile_tokens(
        &self,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<u64> {
        let mut g = self.write();
        let n = g.revoke(profile, None);
        g.record(command);
        Ok(n)
    }

    async fn spend_token(
        &self,
        old_digest: &TokenDigest,
        issue: &[TokenRecord],
        now: Timestamp,
    ) -> StoreResult<Rotation> {
        let mut g = self.write();
        let Some(old) = g.tokens.get(old_digest) else {
            return Ok(Rotation::Unknown);
        };
        let matches = old.family.is_some()
            && issue
                .iter()
                .all(|n| n.profile_id == old.profile_id && n.family == old.family);
        if !matches || old.expires_at <= now {
            return Ok(Rotation::Unknown);
        }
        if let Some(spent) = old.kind.spent() {
            let mut seen = std::collections::HashSet::with_capacity(issue.len());
            if issue
                .iter()
                .any(|n| g.tokens.contains_key(&n.digest) || !seen.insert(n.digest))
            {
                return Err(StoreError::Conflict(Conflict::Exists));
            }
            if let Some(old) = g.tokens.get_mut(old_digest) {
                old.kind = spent;
            }
            for n in issue {
                g.insert_token(n);
            }
            Ok(Rotation::Rotated)
        } else if old.kind.is_spent() {
            if let Some(family) = old.family {
                g.revoke_family(family);
            }
            Ok(Rotation::Reused)
        } else {
            Ok(Rotation::Unknown)
        }
    }

    async fn list_profile_tokens(&self, profile: Uuid) -> StoreResult<Vec<TokenRecord>> {
        let g = self.read();
        let mut out: Vec<TokenRecord> = g
            .tokens_by_profile
            .get(&profile)
            .into_iter()
            .flatten()
            .filter_map(|d| g.tokens.get(d).map(|t| t.record(*d)))
            .collect();
        out.sort_by_key(|a| (a.issued_at, a.digest.0));
        Ok(out)
    }

    async fn revoke_family(&self, family: Uuid) -> StoreResult<u64> {
        Ok(self.write().revoke_family(family))
    }

    async fn take_token(
        &self,
        digest: &TokenDigest,
        kind: TokenKind,
        now: Timestamp,
    ) -> StoreResult<Option<TokenRecord>> {
        let mut g = self.write();
        if g.tokens.get(digest).is_none_or(|t| t.kind != kind) {
            return Ok(None);
        }
        Ok(g.remove_token(digest).filter(|t| t.expires_at > now))
    }

    async fn replace_tokens(&self, token: &TokenRecord) -> StoreResult<u64> {
        let mut g = self.write();
        if !g.profiles.contains_key(&token.profile_id) {
            return Err(StoreError::NotFound);
        }
        if g.tokens.contains_key(&token.digest) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        let same_kind: Vec<TokenDigest> = g
            .tokens_by_profile
            .get(&token.profile_id)
            .into_iter()
            .flatten()
            .filter(|d| g.tokens.get(*d).is_some_and(|t| t.kind == token.kind))
            .copied()
            .collect();
        for d in &same_kind {
            g.remove_token(d);
        }
        g.insert_token(token);
        Ok(same_kind.len() as u64)
    }
}

impl MemoryStore {
    /// `resolve_token` on the maps (it cannot fail).
    fn resolve(&self, digest: &TokenDigest) -> Option<ResolvedToken> {
        let g = self.read();
        let t = g.tokens.get(digest)?;
        let p = g.profiles.get(&t.profile_id)?;
        Some(t.resolved(*digest, p))
    }
}
