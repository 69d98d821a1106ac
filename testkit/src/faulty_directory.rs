//! [`DirectoryStore`] through the [`FaultyStore`] gate.

use async_trait::async_trait;
use uuid::Uuid;

use super::FaultyStore;
use tessera_core::clock::Timestamp;
use tessera_core::store::{
    CommandRecord, DirectoryMember, DirectoryRecord, DirectoryStore, InvitationRecord,
    MembershipLimits, MembershipRecord, ProfileRecord, Revoke, StoreResult,
};

#[async_trait]
impl DirectoryStore for FaultyStore {
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.create_directory(dir, owner, limits, command);
        self.write("create_directory", call).await
    }

    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>> {
        self.read("get_directory", self.inner.get_directory(id))
            .await
    }

    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.update_directory(dir, expected_version, command);
        self.write("update_directory", call).await
    }

    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.remove_directory(id, command);
        self.write("remove_directory", call).await
    }

    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>> {
        let call = self.inner.list_profile_directories(profile);
        self.read("list_profile_directories", call).await
    }

    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>> {
        let call = self.inner.get_member(directory, profile);
        self.read("get_member", call).await
    }

    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>> {
        let call = self.inner.get_members(directory, profiles);
        self.read("get_members", call).await
    }

    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>> {
        let call = self.inner.list_members(directory, after, limit);
        self.read("list_members", call).await
    }

    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .create_directory_user(profile, membership, command);
        self.write("create_directory_user", call).await
    }

    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.update_membership(m, expected_version, command);
        self.write("update_membership", call).await
    }

    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.remove_membership(directory, profile, command);
        self.write("remove_membership", call).await
    }

    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self.inner.update_created_profile(
            directory,
            profile,
            expected_version,
            revoke,
            command,
        );
        self.write("update_created_profile", call).await
    }

    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        max_pending: usize,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .create_invitation(invitation, max_pending, now, command);
        self.write("create_invitation", call).await
    }

    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>> {
        self.read("get_invitation", self.inner.get_invitation(id))
            .await
    }

    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>> {
        let call = self.inner.list_directory_invitations(directory);
        self.read("list_directory_invitations", call).await
    }

    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>> {
        let call = self.inner.list_profile_invitations(profile);
        self.read("list_profile_invitations", call).await
    }

    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let call = self
            .inner
            .accept_invitation(id, membership, limits, now, command);
        self.write("accept_invitation", call).await
    }

    async fn decline_invitation(
        &self,
        id: Uuid,
        profile: Uuid,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let call = self.inner.decline_invitation(id, profile, now, command);
        self.write("decline_invitation", call).await
    }
}
