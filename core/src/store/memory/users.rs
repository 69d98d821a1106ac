//! `ServerUserStore` (server-registered users) on the in-memory maps.

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::{
    Conflict, ProfileRecord, Revoke, ServerUserRecord, ServerUserStore, StoreError, StoreResult,
};

#[async_trait]
impl ServerUserStore for MemoryStore {
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let mut g = self.write();
        if g.server_users.contains_key(&user.external_id) {
            return Err(StoreError::Conflict(Conflict::Exists));
        }
        g.insert_profile(profile)?;
        g.server_users
            .insert(user.external_id.clone(), user.clone());
        Ok(())
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        Ok(self.read().server_users.get(external_id).cloned())
    }

    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let mut g = self.write();
        let (profile_id, created_at) = match g.server_users.get(&user.external_id) {
            Some(u) if u.profile_id == profile.id => (u.profile_id, u.created_at),
            _ => return Err(StoreError::NotFound),
        };
        g.update_profile(profile, expected_version, revoke)?;
        let mut stored = user.clone();
        stored.profile_id = profile_id;
        stored.created_at = created_at;
        g.server_users.insert(stored.external_id.clone(), stored);
        Ok(())
    }
}
