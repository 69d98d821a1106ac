//! Invitations: sent by username, single use, 7 days, accepted or declined by the invitee.
//!
//! An invitation is stored whether or not its username belongs to a user, and answered the
//! same way (one profile lookup and one write either way), so an inviter learns nothing about
//! which usernames exist; one sent to a name without a user can never be accepted and
//! expires like the others.

use uuid::Uuid;

use super::super::{Accepted, Engine};
use super::permissions::{self, DirectoryOperation as Op};
use super::{Invitation, InvitationDecision, limit_error, require_user, rules};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::{ProfileKind, ProfileState};
use crate::store::{
    Conflict, DirectoryRecord, DirectoryRole, InvitationRecord, MembershipRecord, StoreError,
};
use crate::username::Username;

impl Engine {
    /// Invite `username` to `directory` with `role` (`member` by default, or `admin`; owner,
    /// admin). The same answer whether or not the username exists. The invitation expires
    /// after 7 days. A command ("Profile invited", result `invitationId`).
    /// Errors: `InvalidUsername`, `validation_failed` (`role`; `username` already a member;
    /// `directoryId` when the directory has the most pending invitations allowed),
    /// `NotFound`, `Forbidden`.
    pub async fn invite_profile(
        &self,
        principal: &Principal,
        directory: Uuid,
        username: &str,
        role: Option<DirectoryRole>,
    ) -> Result<Accepted<Uuid>> {
        let actor = self.acting_member(principal, directory, Op::Invite).await?;
        let role = role.unwrap_or(DirectoryRole::Member);
        if !permissions::may_grant(actor.membership.role, role) {
            return Err(Error::validation("role", "role must be admin or member"));
        }
        let name = Username::parse(username)?;
        let invitee = self
            .store
            .get_profile_by_username(name.as_str())
            .await?
            .filter(|p| p.kind == ProfileKind::User && p.state != ProfileState::Removed)
            .map(|p| p.id);
        if let Some(id) = invitee
            && self.store.get_member(directory, id).await?.is_some()
        {
            return Err(Error::validation(
                "username",
                "this user is already a member",
            ));
        }
        let now = self.clock.now();
        let rec = InvitationRecord {
            id: self.new_id(),
            directory_id: directory,
            username: name.as_str().to_owned(),
            invitee,
            role,
            invited_by: principal.profile_id,
            created_at: now,
            expires_at: now.plus_secs(rules::INVITATION_TTL_SECS),
        };
        let command = self.new_command(
            Some(principal.profile_id),
            "Profile invited",
            vec![("invitationId".to_owned(), rec.id.hyphenated().to_string())],
        );
        match self
            .store
            .create_invitation(
                &rec,
                self.cfg.directories.pending_invitations,
                now,
                Some(&command),
            )
            .await
        {
            Ok(()) => Ok(self.accepted(rec.id, command)),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(limit_error(
                e,
                "directoryId",
                "the directory has the most pending invitations allowed",
            )),
        }
    }

    /// The caller's pending (live) invitations, oldest first.
    pub async fn my_invitations(&self, principal: &Principal) -> Result<Vec<Invitation>> {
        require_user(principal)?;
        let now = self.clock.now();
        let mut out = Vec::new();
        for i in self
            .store
            .list_profile_invitations(principal.profile_id)
            .await?
        {
            if i.expires_at <= now {
                continue;
            }
            if let Some(d) = self.store.get_directory(i.directory_id).await? {
                out.push(Invitation::of(i, &d));
            }
        }
        Ok(out)
    }

    /// A directory's pending (live) invitations, oldest first (owner, admin).
    pub async fn directory_invitations(
        &self,
        principal: &Principal,
        directory: Uuid,
    ) -> Result<Vec<Invitation>> {
        self.acting_member(principal, directory, Op::ListInvitations)
            .await?;
        let d: DirectoryRecord = self
            .store
            .get_directory(directory)
            .await?
            .ok_or(Error::NotFound)?;
        let now = self.clock.now();
        Ok(self
            .store
            .list_directory_invitations(directory)
            .await?
            .into_iter()
            .filter(|i| i.expires_at > now)
            .map(|i| Invitation::of(i, &d))
            .collect())
    }

    /// Accept or decline an invitation sent to the caller. Single use: of concurrent
    /// accepts exactly one makes a membership. Anyone else's, used, expired or unknown
    /// invitation is `NotFound`. A command of the invitee ("Invitation accepted", result
    /// `directoryId`; or "Invitation declined").
    /// Errors: `NotFound`, `validation_failed` on `invitationId` (already a member; the
    /// caller has the most memberships allowed).
    pub async fn process_invitation(
        &self,
        principal: &Principal,
        invitation: Uuid,
        decision: InvitationDecision,
    ) -> Result<Accepted<()>> {
        require_user(principal)?;
        let now = self.clock.now();
        let inv = self
            .store
            .get_invitation(invitation)
            .await?
            .filter(|i| i.invitee == Some(principal.profile_id) && i.expires_at > now)
            .ok_or(Error::NotFound)?;
        let result = vec![(
            "directoryId".to_owned(),
            inv.directory_id.hyphenated().to_string(),
        )];
        if decision == InvitationDecision::Decline {
            let command =
                self.new_command(Some(principal.profile_id), "Invitation declined", result);
            return if self
                .store
                .decline_invitation(invitation, principal.profile_id, now, Some(&command))
                .await?
            {
                Ok(self.accepted((), command))
            } else {
                Err(Error::NotFound)
            };
        }
        let membership = MembershipRecord {
            directory_id: inv.directory_id,
            profile_id: principal.profile_id,
            role: inv.role,
            given_name: None,
            family_name: None,
            meta: None,
            created_by_directory: false,
            joined_at: now,
            seq: 0,
            version: 1,
        };
        let command = self.new_command(Some(principal.profile_id), "Invitation accepted", result);
        match self
            .store
            .accept_invitation(
                invitation,
                &membership,
                self.membership_limits(),
                now,
                Some(&command),
            )
            .await
        {
            Ok(()) => Ok(self.accepted((), command)),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(StoreError::Conflict(Conflict::Exists)) => Err(Error::validation(
                "invitationId",
                "you are already a member of this directory",
            )),
            Err(e) => Err(limit_error(
                e,
                "invitationId",
                "you belong to the most directories allowed",
            )),
        }
    }
}
