//! `OAuthStore` on the in-memory maps.

use async_trait::async_trait;
use uuid::Uuid;

use super::{Inner, MemoryStore};
use crate::profile::ProfileKind;
use crate::store::{
    CommandRecord, Conflict, ConsentRecord, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ResolvedGrant, StoreError, StoreResult, TokenRecord,
};
use crate::token::TokenDigest;

impl Inner {
    /// Delete the grants of `client` (and of `profile`, if given) and every token of them.
    /// Returns how many grants.
    fn remove_grants(&mut self, client: Uuid, profile: Option<Uuid>) -> usize {
        let ids: Vec<Uuid> = self
            .grants
            .values()
            .filter(|g| g.client_id == client && profile.is_none_or(|p| g.profile_id == p))
            .map(|g| g.id)
            .collect();
        for id in &ids {
            self.grants.remove(id);
            self.revoke_family(*id);
        }
        ids.len()
    }
}

#[async_trait]
impl OAuthStore for MemoryStore {
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if !g.profiles.contains_key(&client.owner) {
            return Err(StoreError::NotFound);
        }
        if g.clients.contains_key(&client.id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.clients.insert(client.id, client.clone());
        g.record(command);
        Ok(())
    }

    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>> {
        Ok(self.read().clients.get(&id).cloned())
    }

    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>> {
        let mut out: Vec<OAuthClientRecord> = self
            .read()
            .clients
            .values()
            .filter(|c| c.owner == owner)
            .cloned()
            .collect();
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }

    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let stored = g.clients.get(&client.id).ok_or(StoreError::NotFound)?;
        if stored.version != expected_version {
            return Err(StoreError::VersionMismatch);
        }
        let mut new = client.clone();
        new.owner = stored.owner;
        g.clients.insert(client.id, new);
        g.record(command);
        Ok(())
    }

    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool> {
        let mut g = self.write();
        if g.clients.remove(&id).is_none() {
            return Ok(false);
        }
        g.remove_grants(id, None);
        g.consents.retain(|(_, c), _| *c != id);
        g.record(command);
        Ok(true)
    }

    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()> {
        let mut g = self.write();
        g.profile_version(token.profile_id, profile_version)?;
        let device_itself = grant.client_id == grant.profile_id
            && g.profiles
                .get(&grant.client_id)
                .is_some_and(|p| p.kind == ProfileKind::Device);
        if !device_itself && !g.clients.contains_key(&grant.client_id) {
            return Err(StoreError::NotFound);
        }
        if g.grants.contains_key(&grant.id) || g.tokens.contains_key(&token.digest) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.grants.insert(grant.id, grant.clone());
        g.insert_token(token);
        Ok(())
    }

    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>> {
        Ok(self.read().grants.get(&id).cloned())
    }

    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>> {
        let g = self.read();
        let Some(t) = g.tokens.get(digest) else {
            return Ok(None);
        };
        let (Some(p), Some(grant)) = (
            g.profiles.get(&t.profile_id),
            t.family.and_then(|f| g.grants.get(&f)),
        ) else {
            return Ok(None);
        };
        Ok(Some(ResolvedGrant {
            token: t.resolved(*digest, p),
            username: p.username.clone(),
            grant: grant.clone(),
        }))
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        let mut g = self.write();
        if !g.clients.contains_key(&consent.client_id) {
            return Err(StoreError::NotFound);
        }
        g.consents
            .insert((consent.profile_id, consent.client_id), consent.clone());
        Ok(())
    }

    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>> {
        Ok(self.read().consents.get(&(profile, client)).cloned())
    }

    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        let mut out: Vec<ConsentRecord> = self
            .read()
            .consents
            .values()
            .filter(|c| c.profile_id == profile)
            .cloned()
            .collect();
        out.sort_by_key(|c| (c.granted_at, c.client_id));
        Ok(out)
    }

    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut g = self.write();
        let had_consent = g.consents.remove(&(profile, client)).is_some();
        let grants = g.remove_grants(client, Some(profile));
        let any = had_consent || grants > 0;
        if any {
            g.record(command);
        }
        Ok(any)
    }

    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        Ok(self
            .write()
            .rsa_key
            .get_or_insert_with(|| candidate.to_vec())
            .clone())
    }
}
