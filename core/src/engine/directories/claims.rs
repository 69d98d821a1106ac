//! The OpenID `directories` claim: what id tokens and userinfo carry with the scope
//! `directories`.

use uuid::Uuid;

use super::super::Engine;
use super::DirectoryClaim;
use crate::error::Result;

impl Engine {
    /// Every directory `profile` is a member of, as `{id, shortName, role}` entries in
    /// joining order (the OAuth provider's hook for the `directories` claim: call it with
    /// the token's profile when the granted scopes include `directories`). A profile in no
    /// directory (or unknown) gets an empty list. One consistent store read; bounded by
    /// [`super::DirectoryLimits::memberships_per_profile`].
    pub async fn directory_claims(&self, profile: Uuid) -> Result<Vec<DirectoryClaim>> {
        Ok(self
            .store
            .list_profile_directories(profile)
            .await?
            .into_iter()
            .map(|(d, m)| DirectoryClaim {
                id: d.id,
                short_name: d.short_name,
                role: m.role,
            })
            .collect())
    }
}
