//! `ExternalUserStore` on the in-memory maps.

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::{
    Conflict, ExternalUserRecord, ExternalUserStore, ProfileRecord, Revoke, StoreError, StoreResult,
};

#[async_trait]
impl ExternalUserStore for MemoryStore {
    async fn create_external_user(
        &self,
        user: &ExternalUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if g.external.contains_key(&user.external_id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.insert_profile(profile)?;
        g.external.insert(user.external_id.clone(), user.clone());
        Ok(())
    }

    async fn get_external_user(
        &self,
        external_id: &str,
    ) -> StoreResult<Option<ExternalUserRecord>> {
        Ok(self.read().external.get(external_id).cloned())
    }

    async fn update_external_user(
        &self,
        user: &ExternalUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let (profile_id, created_at) = match g.external.get(&user.external_id) {
            Some(u) if u.profile_id == profile.id => (u.profile_id, u.created_at),
            _ => return Err(StoreError::NotFound),
        };
        g.update_profile(profile, expected_version, revoke)?;
        let mut stored = user.clone();
        stored.profile_id = profile_id;
        stored.created_at = created_at;
        g.external.insert(stored.external_id.clone(), stored);
        Ok(())
    }
}
