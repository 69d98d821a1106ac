//! Registering, reading, describing and removing directories.

use uuid::Uuid;

use super::super::{Accepted, Engine, OPTIMISTIC_RETRIES};
use super::permissions::DirectoryOperation as Op;
use super::{Directory, limit_error, require_user, rules};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::store::{Conflict, DirectoryRecord, DirectoryRole, MembershipRecord, StoreError};

impl Engine {
    /// Register a directory owned by the caller (an active user), who becomes its one
    /// `owner`. `name`: 1–100 characters; `short_name`: canonicalised
    /// ([`rules::canonical_short_name`]) and unique on the server (of concurrent
    /// registrations of one short name exactly one succeeds). A command ("Directory
    /// registered", result `directoryId`).
    /// Errors: `validation_failed` on `directoryName`, on `directoryShortName` (rules, or
    /// taken), or on `directoryName` when the caller owns the most directories allowed
    /// ([`rules::DirectoryLimits`]) or has the most memberships.
    pub async fn register_directory(
        &self,
        principal: &Principal,
        name: &str,
        short_name: &str,
    ) -> Result<Accepted<Uuid>> {
        require_user(principal)?;
        let name = rules::name("directoryName", name, 1)?.unwrap_or_default();
        let short_name = rules::canonical_short_name(short_name)?;
        let now = self.clock.now();
        let dir = DirectoryRecord {
            id: self.new_id(),
            name,
            short_name,
            owner: principal.profile_id,
            meta: None,
            created_at: now,
            updated_at: now,
            version: 1,
            last_member_seq: 0,
        };
        let owner = MembershipRecord {
            directory_id: dir.id,
            profile_id: principal.profile_id,
            role: DirectoryRole::Owner,
            given_name: None,
            family_name: None,
            meta: None,
            created_by_directory: false,
            joined_at: now,
            seq: 0,
            version: 1,
        };
        let command = self.new_command(
            Some(principal.profile_id),
            "Directory registered",
            vec![("directoryId".to_owned(), dir.id.hyphenated().to_string())],
        );
        match self
            .store
            .create_directory(&dir, &owner, self.membership_limits(), Some(&command))
            .await
        {
            Ok(()) => Ok(self.accepted(dir.id, command)),
            Err(StoreError::Conflict(Conflict::ShortName)) => Err(Error::validation(
                "directoryShortName",
                "this directoryShortName is already taken",
            )),
            Err(StoreError::NotFound) => Err(Error::Unauthorized),
            Err(e) => Err(limit_error(
                e,
                "directoryName",
                "you own or belong to the most directories allowed",
            )),
        }
    }

    /// The directories of the caller whose role `keep` accepts, in joining order.
    async fn my_directories(
        &self,
        principal: &Principal,
        keep: fn(DirectoryRole) -> bool,
    ) -> Result<Vec<Directory>> {
        require_user(principal)?;
        Ok(self
            .store
            .list_profile_directories(principal.profile_id)
            .await?
            .into_iter()
            .filter(|(_, m)| keep(m.role))
            .map(|(d, m)| Directory::of(d, m.role))
            .collect())
    }

    /// The directories the caller owns, in registration order.
    pub async fn owned_directories(&self, principal: &Principal) -> Result<Vec<Directory>> {
        self.my_directories(principal, |r| r == DirectoryRole::Owner)
            .await
    }

    /// The directories where the caller is admin or member, in joining order.
    pub async fn assigned_directories(&self, principal: &Principal) -> Result<Vec<Directory>> {
        self.my_directories(principal, |r| r != DirectoryRole::Owner)
            .await
    }

    /// A directory, with the caller's role (members only; others `NotFound`).
    pub async fn directory(&self, principal: &Principal, directory: Uuid) -> Result<Directory> {
        let me = self
            .acting_member(principal, directory, Op::RetrieveDirectory)
            .await?;
        let d = self
            .store
            .get_directory(directory)
            .await?
            .ok_or(Error::NotFound)?;
        Ok(Directory::of(d, me.membership.role))
    }

    /// Store the directory's meta: a JSON object of at most 4 KiB (owner, admin). A command
    /// ("Directory meta stored").
    pub async fn store_directory_meta(
        &self,
        principal: &Principal,
        directory: Uuid,
        meta: &str,
    ) -> Result<Accepted<()>> {
        self.acting_member(principal, directory, Op::StoreMeta)
            .await?;
        let meta = rules::meta("meta", meta)?;
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut d = self
                .store
                .get_directory(directory)
                .await?
                .ok_or(Error::NotFound)?;
            let expected = d.version;
            d.meta = Some(meta.clone());
            d.version = expected + 1;
            d.updated_at = self.clock.now();
            let command = self.new_command(
                Some(principal.profile_id),
                "Directory meta stored",
                Vec::new(),
            );
            match self
                .store
                .update_directory(&d, expected, Some(&command))
                .await
            {
                Ok(()) => return Ok(self.accepted((), command)),
                Err(StoreError::VersionMismatch) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// Remove a directory (owner only): its memberships and invitations go with it in one
    /// store transaction; no profile is changed (users it created stay, without this
    /// membership). A command ("Directory removed").
    pub async fn remove_directory(
        &self,
        principal: &Principal,
        directory: Uuid,
    ) -> Result<Accepted<()>> {
        self.acting_member(principal, directory, Op::RemoveDirectory)
            .await?;
        let command = self.new_command(
            Some(principal.profile_id),
            "Directory removed",
            vec![("directoryId".to_owned(), directory.hyphenated().to_string())],
        );
        if self
            .store
            .remove_directory(directory, Some(&command))
            .await?
        {
            Ok(self.accepted((), command))
        } else {
            Err(Error::NotFound)
        }
    }
}
