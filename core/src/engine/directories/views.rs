//! What the directory operations take and return (plain data, no transport).

use uuid::Uuid;

use super::super::Device;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::profile::ProfileState;
use crate::store::{DirectoryMember, DirectoryRecord, DirectoryRole, InvitationRecord};

/// A directory as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// Directory id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Canonical short name.
    pub short_name: String,
    /// The owner's profile id.
    pub owner: Uuid,
    /// The caller's role in it.
    pub role: DirectoryRole,
    /// Directory meta (a JSON object's text).
    pub meta: Option<String>,
    /// Registration time.
    pub created_at: Timestamp,
}

impl Directory {
    pub(super) fn of(d: DirectoryRecord, role: DirectoryRole) -> Self {
        Self {
            id: d.id,
            name: d.name,
            short_name: d.short_name,
            owner: d.owner,
            role,
            meta: d.meta,
            created_at: d.created_at,
        }
    }
}

/// A member as its directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryProfile {
    /// The member's profile id.
    pub profile_id: Uuid,
    /// Its canonical username.
    pub username: String,
    /// Given name, as the directory knows it.
    pub given_name: Option<String>,
    /// Family name, as the directory knows it.
    pub family_name: Option<String>,
    /// Its role.
    pub role: DirectoryRole,
    /// Its profile's state.
    pub state: ProfileState,
    /// Member meta (a JSON object's text).
    pub meta: Option<String>,
    /// When it joined.
    pub joined_at: Timestamp,
    /// The directory created this profile (so its administrators may set its password).
    pub created_by_directory: bool,
}

impl From<DirectoryMember> for DirectoryProfile {
    fn from(m: DirectoryMember) -> Self {
        let r = m.membership;
        Self {
            profile_id: r.profile_id,
            username: m.username,
            given_name: r.given_name,
            family_name: r.family_name,
            role: r.role,
            state: m.state,
            meta: r.meta,
            joined_at: r.joined_at,
            created_by_directory: r.created_by_directory,
        }
    }
}

/// One page of a directory's member listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberPage {
    /// The members, in listing order.
    pub members: Vec<DirectoryProfile>,
    /// The cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A device of a directory's member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryDevice {
    /// The member owning it.
    pub member: Uuid,
    /// The device.
    pub device: Device,
}

/// The devices of one page of a directory's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePage {
    /// The devices, by member in listing order.
    pub devices: Vec<DirectoryDevice>,
    /// The cursor of the next page of members; `None` on the last.
    pub next_cursor: Option<String>,
}

/// A pending invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Invitation id.
    pub id: Uuid,
    /// The directory.
    pub directory_id: Uuid,
    /// Its name.
    pub directory_name: String,
    /// Its short name.
    pub directory_short_name: String,
    /// The canonical username invited.
    pub username: String,
    /// The role it grants.
    pub role: DirectoryRole,
    /// Who sent it.
    pub invited_by: Uuid,
    /// When.
    pub created_at: Timestamp,
    /// Usable until then.
    pub expires_at: Timestamp,
}

impl Invitation {
    pub(super) fn of(i: InvitationRecord, d: &DirectoryRecord) -> Self {
        Self {
            id: i.id,
            directory_id: i.directory_id,
            directory_name: d.name.clone(),
            directory_short_name: d.short_name.clone(),
            username: i.username,
            role: i.role,
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

/// The invitee's answer to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationDecision {
    /// Join the directory.
    Accept,
    /// Turn it down (the invitation is deleted).
    Decline,
}

impl InvitationDecision {
    /// `accept` or `decline`; anything else → `validation_failed` on `decision`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "accept" => Ok(Self::Accept),
            "decline" => Ok(Self::Decline),
            _ => Err(Error::validation(
                "decision",
                "decision must be accept or decline",
            )),
        }
    }
}

/// A role given by an invitation or a role change: `admin` or `member` (`owner` is never
/// given; anything else → `validation_failed` on `role`).
pub fn parse_granted_role(text: &str) -> Result<DirectoryRole> {
    match DirectoryRole::parse(text) {
        Some(r @ (DirectoryRole::Admin | DirectoryRole::Member)) => Ok(r),
        _ => Err(Error::validation("role", "role must be admin or member")),
    }
}

/// A user for [`crate::Engine::create_directory_user`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NewDirectoryUser<'a> {
    /// The username (username rules).
    pub username: &'a str,
    /// 1–100 characters.
    pub given_name: &'a str,
    /// 1–100 characters.
    pub family_name: &'a str,
    /// The password rules; replaced by the user at its first login.
    pub temporary_password: &'a str,
}

impl std::fmt::Debug for NewDirectoryUser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDirectoryUser")
            .field("username", &self.username)
            .field("given_name", &self.given_name)
            .field("family_name", &self.family_name)
            .field("temporary_password", &"<redacted>")
            .finish()
    }
}

/// What [`crate::Engine::update_member_information`] changes: each `Some` field is set
/// (an empty name clears it), each `None` kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemberUpdate<'a> {
    /// Given name (≤ 100 characters; empty clears).
    pub given_name: Option<&'a str>,
    /// Family name (≤ 100 characters; empty clears).
    pub family_name: Option<&'a str>,
    /// Member meta (a JSON object ≤ 4 KiB).
    pub meta: Option<&'a str>,
}

/// One entry of the OpenID `directories` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryClaim {
    /// Directory id.
    pub id: Uuid,
    /// Its short name.
    pub short_name: String,
    /// The profile's role in it.
    pub role: DirectoryRole,
}
