//! Members: directory-created users, member information, passwords, roles, removal.

use uuid::Uuid;

use super::super::{Accepted, Engine, OPTIMISTIC_RETRIES};
use super::permissions::{self, DirectoryOperation as Op};
use super::{MemberUpdate, NewDirectoryUser, owner_protected, rules};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::store::{
    CommandRecord, Conflict, DirectoryRole, MembershipRecord, ProfileRecord, Revoke, StoreError,
};

/// The result pair naming the profile a command was about.
fn profile_result(profile: Uuid) -> Vec<(String, String)> {
    vec![("profileId".to_owned(), profile.hyphenated().to_string())]
}

impl Engine {
    /// Create a user profile that is a member of `directory` (owner, admin): `incomplete`
    /// like a registered profile, with `temporary_password` to be replaced at its first
    /// [`Engine::login`] (NEW_PASSWORD_REQUIRED, as
    /// [`Engine::create_user_with_temporary_password`]). The profile and its membership
    /// (role `member`, the given and family names, marked as created by the directory) are
    /// stored in one transaction. A command ("Directory user created", result `profileId`).
    /// Errors: `validation_failed` (`givenName`, `familyName`), `InvalidUsername`,
    /// `UsernameTaken`, password policy errors, `Overloaded`.
    pub async fn create_directory_user(
        &self,
        principal: &Principal,
        directory: Uuid,
        user: NewDirectoryUser<'_>,
    ) -> Result<Accepted<Uuid>> {
        self.acting_member(principal, directory, Op::CreateUser)
            .await?;
        let given_name = rules::name("givenName", user.given_name, 1)?;
        let family_name = rules::name("familyName", user.family_name, 1)?;
        let id = self.new_id();
        let profile = self
            .new_user_record(id, user.username, user.temporary_password, true)
            .await?;
        let membership = MembershipRecord {
            directory_id: directory,
            profile_id: id,
            role: DirectoryRole::Member,
            given_name,
            family_name,
            meta: None,
            created_by_directory: true,
            joined_at: profile.created_at,
            seq: 0,
            version: 1,
        };
        let command = self.new_command(
            Some(principal.profile_id),
            "Directory user created",
            profile_result(id),
        );
        match self
            .store
            .create_directory_user(&profile, &membership, Some(&command))
            .await
        {
            Ok(()) => Ok(self.accepted(id, command)),
            Err(StoreError::Conflict(Conflict::Username)) => Err(Error::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Update a member's given name, family name and member meta: the caller's own (any
    /// member), or another member's (owner, admin; an admin only a plain member's). A
    /// command ("User information updated").
    /// Errors: `validation_failed` (`givenName`, `familyName`, `meta`), `NotFound`,
    /// `Forbidden`.
    pub async fn update_member_information(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
        update: MemberUpdate<'_>,
    ) -> Result<Accepted<()>> {
        let op = if profile == principal.profile_id {
            Op::UpdateOwnInformation
        } else {
            Op::UpdateMemberInformation
        };
        let actor = self.acting_member(principal, directory, op).await?;
        let given_name = update
            .given_name
            .map(|n| rules::name("givenName", n, 0))
            .transpose()?;
        let family_name = update
            .family_name
            .map(|n| rules::name("familyName", n, 0))
            .transpose()?;
        let meta = update.meta.map(|m| rules::meta("meta", m)).transpose()?;
        self.target_member(&actor, profile, false).await?;
        self.change_membership(
            principal,
            directory,
            profile,
            "User information updated",
            |m| {
                if let Some(n) = &given_name {
                    m.given_name.clone_from(n);
                }
                if let Some(n) = &family_name {
                    m.family_name.clone_from(n);
                }
                if let Some(v) = &meta {
                    m.meta = Some(v.clone());
                }
            },
        )
        .await
    }

    /// Give a member the role `role` (`admin` or `member`; owner, admin; an admin may
    /// change only plain members and itself). The owner's role never changes. A command
    /// ("Role changed", result `profileId`, `role`).
    /// Errors: `validation_failed` (`role` is `owner`; `profileId` is the owner),
    /// `NotFound`, `Forbidden`.
    pub async fn change_member_role(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
        role: DirectoryRole,
    ) -> Result<Accepted<()>> {
        let actor = self
            .acting_member(principal, directory, Op::ChangeRole)
            .await?;
        self.target_member(&actor, profile, true).await?;
        if !permissions::may_grant(actor.membership.role, role) {
            return Err(Error::validation("role", "role must be admin or member"));
        }
        self.change_membership(principal, directory, profile, "Role changed", |m| {
            m.role = role;
        })
        .await
    }

    /// Read-modify-write the membership of `profile` (retried on a concurrent change), as
    /// a command of the caller with `body`.
    async fn change_membership<F>(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
        body: &str,
        change: F,
    ) -> Result<Accepted<()>>
    where
        F: Fn(&mut MembershipRecord) + Send + Sync,
    {
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut m = self
                .store
                .get_member(directory, profile)
                .await?
                .ok_or(Error::NotFound)?
                .membership;
            let expected = m.version;
            change(&mut m);
            m.version = expected + 1;
            let mut result = profile_result(profile);
            result.push(("role".to_owned(), m.role.as_str().to_owned()));
            let command = self.new_command(Some(principal.profile_id), body, result);
            match self
                .store
                .update_membership(&m, expected, Some(&command))
                .await
            {
                Ok(()) => return Ok(self.accepted((), command)),
                Err(StoreError::VersionMismatch) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(StoreError::Conflict(Conflict::Owner)) => return Err(owner_protected()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// Remove a member from a directory (owner, admin; an admin only plain members), or
    /// the caller's own membership (any member but the owner). Nothing of the profile
    /// changes but this membership. A command ("Member removed", result `profileId`).
    /// Errors: `validation_failed` (`profileId` is the owner), `NotFound`, `Forbidden`.
    pub async fn remove_member(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
    ) -> Result<Accepted<()>> {
        let op = if profile == principal.profile_id {
            Op::Leave
        } else {
            Op::RemoveMember
        };
        let actor = self.acting_member(principal, directory, op).await?;
        self.target_member(&actor, profile, true).await?;
        let command = self.new_command(
            Some(principal.profile_id),
            "Member removed",
            profile_result(profile),
        );
        match self
            .store
            .remove_membership(directory, profile, Some(&command))
            .await
        {
            Ok(true) => Ok(self.accepted((), command)),
            Ok(false) => Err(Error::NotFound),
            Err(StoreError::Conflict(Conflict::Owner)) => Err(owner_protected()),
            Err(e) => Err(e.into()),
        }
    }

    /// Set a temporary password on a user this directory created (owner, admin; an admin
    /// only on plain members): every token of that profile is revoked in the same store
    /// transaction, and its next [`Engine::login`] answers NEW_PASSWORD_REQUIRED. A command
    /// ("Profile password set", result `profileId`).
    /// Errors: `NotFound` (not a member), `Forbidden` (a member the directory did not
    /// create, or one the caller may not manage), password policy errors, `Overloaded`.
    pub async fn set_member_password(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
        temporary_password: &str,
    ) -> Result<Accepted<()>> {
        let actor = self
            .acting_member(principal, directory, Op::SetProfilePassword)
            .await?;
        let target = self.target_member(&actor, profile, false).await?;
        if !target.membership.created_by_directory {
            return Err(Error::Forbidden);
        }
        let password = self
            .check_new_password(temporary_password, &target.username)
            .await?;
        let hash = self.hash_password(password).await?;
        let command = self.new_command(
            Some(principal.profile_id),
            "Profile password set",
            profile_result(profile),
        );
        self.write_created_profile(directory, profile, &command, |p| {
            p.password_hash = Some(hash.clone());
            p.password_temporary = true;
        })
        .await?;
        Ok(self.accepted((), command))
    }

    /// Read-modify-write a profile the directory created, all its tokens revoked with the
    /// change (retried on a concurrent change).
    async fn write_created_profile<F>(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: &CommandRecord,
        change: F,
    ) -> Result<()>
    where
        F: Fn(&mut ProfileRecord) + Send + Sync,
    {
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut p = self.profile(profile).await?;
            let expected = p.version;
            change(&mut p);
            p.version = expected + 1;
            p.updated_at = self.clock.now();
            match self
                .store
                .update_created_profile(directory, &p, expected, Revoke::All, Some(command))
                .await
            {
                Ok(()) => return Ok(()),
                Err(StoreError::VersionMismatch) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }
}
