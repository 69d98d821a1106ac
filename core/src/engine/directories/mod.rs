//! Directories (Privicore "Directory"): organisations of profiles with roles, invitations
//! and directory-created users.
//!
//! Every operation takes the caller's [`Principal`] (an active user: others get their
//! state's 403, devices `Forbidden`) and, for operations on a directory, checks the
//! caller's membership first: a profile that is not a member
//! gets [`Error::NotFound`] for everything of a directory, exactly as for an unknown id; a
//! member whose role may not do the operation gets [`Error::Forbidden`]. Who may do what is
//! the one table of [`permissions`].
//!
//! | file | operations |
//! |---|---|
//! | `registry.rs` | [`Engine::register_directory`], [`Engine::owned_directories`], [`Engine::assigned_directories`], [`Engine::directory`], [`Engine::store_directory_meta`], [`Engine::remove_directory`] |
//! | `members.rs` | [`Engine::create_directory_user`], [`Engine::update_member_information`], [`Engine::set_member_password`], [`Engine::change_member_role`], [`Engine::remove_member`] |
//! | `listing.rs` | [`Engine::directory_profile`], [`Engine::directory_profiles`], [`Engine::list_directory_members`] (cursor pages, `cursor.rs`) |
//! | `invitations.rs` | [`Engine::invite_profile`], [`Engine::my_invitations`], [`Engine::directory_invitations`], [`Engine::process_invitation`] |
//! | `member_devices.rs` | [`Engine::create_member_device`], [`Engine::directory_devices`] |
//! | `claims.rs` | [`Engine::directory_claims`] (the OpenID `directories` claim) |
//! | `rules.rs`, `permissions.rs`, `views.rs` | field rules and bounds, the role table, the types |

mod claims;
mod cursor;
mod invitations;
mod listing;
mod member_devices;
mod members;
pub mod permissions;
mod registry;
pub mod rules;
mod views;

pub use permissions::DirectoryOperation;
pub use rules::DirectoryLimits;
pub use views::{
    DevicePage, Directory, DirectoryClaim, DirectoryDevice, DirectoryProfile, Invitation,
    InvitationDecision, MemberPage, MemberUpdate, NewDirectoryUser, parse_granted_role,
};

use uuid::Uuid;

use super::Engine;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::ProfileKind;
use crate::store::{Conflict, DirectoryMember, DirectoryRole, MembershipLimits, StoreError};

/// Directory operations are for active users.
fn require_user(principal: &Principal) -> Result<()> {
    principal.require_active()?;
    if principal.kind == ProfileKind::User {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The refusal of a change to the owner's membership.
fn owner_protected() -> Error {
    Error::validation(
        "profileId",
        "the directory owner cannot be removed or given another role",
    )
}

/// A store answer that a bound was reached, as a 422 on `field`.
fn limit_error(e: StoreError, field: &'static str, what: &str) -> Error {
    match e {
        StoreError::Conflict(Conflict::Limit) => Error::validation(field, what.to_owned()),
        e => e.into(),
    }
}

impl Engine {
    fn membership_limits(&self) -> MembershipLimits {
        MembershipLimits {
            owned_per_profile: self.cfg.directories.owned_per_profile,
            memberships_per_profile: self.cfg.directories.memberships_per_profile,
        }
    }

    /// The caller's membership of `directory`, if it may do `op` there: `NotFound` when it
    /// is not a member (or there is no such directory), `Forbidden` when its role may not.
    async fn acting_member(
        &self,
        principal: &Principal,
        directory: Uuid,
        op: DirectoryOperation,
    ) -> Result<DirectoryMember> {
        require_user(principal)?;
        let me = self
            .store
            .get_member(directory, principal.profile_id)
            .await?
            .ok_or(Error::NotFound)?;
        if permissions::allowed(me.membership.role, op) {
            Ok(me)
        } else {
            Err(Error::Forbidden)
        }
    }

    /// The member `profile` that the caller `actor` acts on (itself, or a member it may
    /// manage, see [`permissions::may_manage`]). `NotFound` when it is not a member;
    /// with `protect_owner` (role changes and removals) the owner is refused with a 422,
    /// whoever asks; otherwise `Forbidden` when `actor` may not manage it.
    async fn target_member(
        &self,
        actor: &DirectoryMember,
        profile: Uuid,
        protect_owner: bool,
    ) -> Result<DirectoryMember> {
        let target = if profile == actor.membership.profile_id {
            actor.clone()
        } else {
            self.store
                .get_member(actor.membership.directory_id, profile)
                .await?
                .ok_or(Error::NotFound)?
        };
        if protect_owner && target.membership.role == DirectoryRole::Owner {
            return Err(owner_protected());
        }
        if profile == actor.membership.profile_id
            || permissions::may_manage(actor.membership.role, target.membership.role)
        {
            Ok(target)
        } else {
            Err(Error::Forbidden)
        }
    }
}
