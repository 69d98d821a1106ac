//! Directories (organisations of profiles): the directories, their memberships with roles,
//! and invitations.
//!
//! A directory's short name is unique on the server; a profile is a member of a directory
//! at most once; the owner's membership (role [`DirectoryRole::Owner`], made with the
//! directory) can be neither removed nor changed to another role, and no other membership
//! ever gets that role. Members are listed in join order: every membership stored gets the
//! next number of its directory's sequence ([`MembershipRecord::seq`], assigned by the
//! store in the transaction that stores it, never reused), so a listing walked page by page
//! with "after this number, up to the last number when the walk began" never repeats a
//! member (one who leaves and joins again gets a new number, past the walk's bound) and
//! never skips one that stayed a member throughout.
//!
//! Every method is atomic; the ones that change several records do it in one transaction,
//! and write their `command` (see [`super::CommandStore`]) in that same transaction.

use async_trait::async_trait;
use uuid::Uuid;

use super::{CommandRecord, ProfileRecord, Revoke, StoreResult};
use crate::clock::Timestamp;
use crate::profile::ProfileState;

/// A member's role in a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DirectoryRole {
    /// The user who registered the directory (one per directory, for its whole life).
    Owner,
    /// Manages members, invitations and the directory's meta.
    Admin,
    /// Sees the directory and its members.
    Member,
}

impl DirectoryRole {
    /// Every role, for exhaustive tests.
    pub const ALL: [Self; 3] = [Self::Owner, Self::Admin, Self::Member];

    /// Wire name: `owner`, `admin` or `member`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Inverse of [`DirectoryRole::as_str`] (exact, lowercase).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Self::Owner),
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }

    /// Stable one-byte tag used by the storage layouts: 1 owner, 2 admin, 3 member. A
    /// stored value: never renumber.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::Owner => 1,
            Self::Admin => 2,
            Self::Member => 3,
        }
    }

    /// Inverse of [`DirectoryRole::tag`].
    #[must_use]
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Owner),
            2 => Some(Self::Admin),
            3 => Some(Self::Member),
            _ => None,
        }
    }
}

/// A stored directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryRecord {
    /// Directory id.
    pub id: Uuid,
    /// Display name (1–100 characters).
    pub name: String,
    /// Canonical short name (2–32 of `a-z 0-9 -`), unique on the server, immutable.
    pub short_name: String,
    /// The registering user (immutable).
    pub owner: Uuid,
    /// Directory meta: a JSON object's text (≤ 4 KiB).
    pub meta: Option<String>,
    /// Registration time (immutable).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version, +1 per update.
    pub version: u64,
    /// The last number of the member sequence given out ([`MembershipRecord::seq`]);
    /// maintained by the store (the value given to a write is ignored).
    pub last_member_seq: u64,
}

/// One profile's membership of one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRecord {
    /// The directory.
    pub directory_id: Uuid,
    /// The member (a user profile).
    pub profile_id: Uuid,
    /// Its role.
    pub role: DirectoryRole,
    /// Given name, as the directory knows the member (≤ 100 characters).
    pub given_name: Option<String>,
    /// Family name, as the directory knows the member (≤ 100 characters).
    pub family_name: Option<String>,
    /// Member meta: a JSON object's text (≤ 4 KiB).
    pub meta: Option<String>,
    /// The directory created this profile (`create-directory-user`), so its administrators
    /// may set its password. Immutable.
    pub created_by_directory: bool,
    /// When the profile joined (immutable).
    pub joined_at: Timestamp,
    /// Its number in the directory's join order (1 for the owner), unique in the directory:
    /// assigned by the store when the membership is stored (the value given is ignored),
    /// immutable. The listing order.
    pub seq: u64,
    /// Optimistic-concurrency version, +1 per update.
    pub version: u64,
}

/// A membership with what the directory shows of its profile, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryMember {
    /// The membership.
    pub membership: MembershipRecord,
    /// The profile's canonical username.
    pub username: String,
    /// The profile's state.
    pub state: ProfileState,
}

/// A pending invitation to join a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Invitation id.
    pub id: Uuid,
    /// The directory.
    pub directory_id: Uuid,
    /// The canonical username it was sent to.
    pub username: String,
    /// The user profile of that username when it was sent; `None` when there was none (the
    /// invitation is then kept, so an inviter sees the same whether or not the name exists,
    /// but nobody can accept it).
    pub invitee: Option<Uuid>,
    /// The role it grants: admin or member.
    pub role: DirectoryRole,
    /// Who sent it.
    pub invited_by: Uuid,
    /// When.
    pub created_at: Timestamp,
    /// Usable while `now < expires_at`.
    pub expires_at: Timestamp,
}

/// Bounds the store enforces in the transaction that would exceed them
/// (→ `Conflict(Limit)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipLimits {
    /// Most directories one profile may own.
    pub owned_per_profile: usize,
    /// Most memberships (owned directories included) one profile may have.
    pub memberships_per_profile: usize,
}

/// Directories, memberships and invitations.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Register a directory, in one transaction: claim its short name, store it and the
    /// owner's membership `owner` (the caller guarantees `owner.directory_id == dir.id`,
    /// `owner.profile_id == dir.owner` and `owner.role == Owner`), which gets `seq` 1 (and
    /// the directory `last_member_seq` 1). Of N concurrent
    /// registrations of one short name exactly one succeeds.
    /// Errors: `NotFound` (no owner profile), `Conflict(ShortName)`, `Conflict(Exists)`
    /// (the id is taken), `Conflict(Limit)` (the owner already owns
    /// `limits.owned_per_profile` directories or has `limits.memberships_per_profile`
    /// memberships). Nothing is written on an error.
    async fn create_directory(
        &self,
        dir: &DirectoryRecord,
        owner: &MembershipRecord,
        limits: MembershipLimits,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Read a directory.
    async fn get_directory(&self, id: Uuid) -> StoreResult<Option<DirectoryRecord>>;

    /// Replace a directory whose stored version is `expected_version` (name and meta; the
    /// short name, owner, creation time and `last_member_seq` keep their stored values,
    /// `version` is written as given). Errors: `NotFound`, `VersionMismatch` (nothing written).
    async fn update_directory(
        &self,
        dir: &DirectoryRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Remove a directory and, in the same transaction, every membership and invitation of
    /// it, and release its short name. No profile is changed. Returns whether it existed
    /// (`command` is written only then).
    async fn remove_directory(
        &self,
        id: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool>;

    /// Every directory `profile` is a member of (owned ones included) with its membership,
    /// in one consistent read, ordered by `joined_at`, then directory id.
    async fn list_profile_directories(
        &self,
        profile: Uuid,
    ) -> StoreResult<Vec<(DirectoryRecord, MembershipRecord)>>;

    /// The membership of `profile` in `directory` with its profile's username and state,
    /// in one read.
    async fn get_member(
        &self,
        directory: Uuid,
        profile: Uuid,
    ) -> StoreResult<Option<DirectoryMember>>;

    /// The members among `profiles` (distinct ids) of `directory`, in the order of
    /// `profiles`, non-members left out, in one consistent read.
    async fn get_members(
        &self,
        directory: Uuid,
        profiles: &[Uuid],
    ) -> StoreResult<Vec<DirectoryMember>>;

    /// At most `limit` members of `directory` whose `seq` is greater than `after` (from
    /// the first when 0), in `seq` order, in one consistent read.
    async fn list_members(
        &self,
        directory: Uuid,
        after: u64,
        limit: usize,
    ) -> StoreResult<Vec<DirectoryMember>>;

    /// Create a user profile and its membership of `membership.directory_id` in one
    /// transaction (the caller guarantees `membership.profile_id == profile.id`): the
    /// username is claimed as by [`super::ProfileStore::create_profile`], the membership
    /// gets the directory's next `seq`.
    /// Errors: `NotFound` (no such directory), `Conflict(Username)`, `Conflict(Exists)`
    /// (the id is taken), `Conflict(PublicKey)`. Nothing is written on an error.
    async fn create_directory_user(
        &self,
        profile: &ProfileRecord,
        membership: &MembershipRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Replace the membership of (`m.directory_id`, `m.profile_id`) whose stored version is
    /// `expected_version` (role, names, meta; `created_by_directory`, `joined_at` and `seq`
    /// keep their stored values, `version` is written as given).
    /// Errors: `NotFound`, `VersionMismatch`, `Conflict(Owner)` (the stored role is owner
    /// and `m.role` is not, or `m.role` is owner and the stored one is not). Nothing is
    /// written on an error.
    async fn update_membership(
        &self,
        m: &MembershipRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Remove the membership of `profile` in `directory` (nothing else of the profile
    /// changes). Returns whether it existed (`command` is written only then).
    /// Errors: `Conflict(Owner)` when it is the owner's (nothing written).
    async fn remove_membership(
        &self,
        directory: Uuid,
        profile: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool>;

    /// Update a profile the directory created, in one transaction: the membership of
    /// `profile.id` in `directory` must exist with `created_by_directory`, else `NotFound`;
    /// the profile is then written exactly as [`super::ProfileStore::update_profile`] does
    /// (version check against `expected_version`, `revoke` applied to its tokens).
    /// Errors: `NotFound`, `VersionMismatch`, `Conflict(PublicKey)`. Nothing is written on
    /// an error.
    async fn update_created_profile(
        &self,
        directory: Uuid,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Store an invitation if its directory exists and has fewer than `max_pending`
    /// invitations that are still live at `now` (`expires_at > now`).
    /// Errors: `NotFound` (no directory), `Conflict(Limit)`, `Conflict(Exists)` (the id is
    /// taken). Nothing is written on an error.
    async fn create_invitation(
        &self,
        invitation: &InvitationRecord,
        max_pending: usize,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Read an invitation (expired or not; expired ones are deleted by
    /// [`super::MaintenanceStore::purge_expired`]).
    async fn get_invitation(&self, id: Uuid) -> StoreResult<Option<InvitationRecord>>;

    /// The invitations of a directory (expired ones included), by creation time, then id.
    async fn list_directory_invitations(
        &self,
        directory: Uuid,
    ) -> StoreResult<Vec<InvitationRecord>>;

    /// The invitations whose invitee is `profile` (expired ones included), by creation
    /// time, then id.
    async fn list_profile_invitations(&self, profile: Uuid) -> StoreResult<Vec<InvitationRecord>>;

    /// Accept an invitation, in one transaction: the invitation `id` must exist, expire
    /// after `now`, be for `membership.profile_id` (its `invitee`) and of
    /// `membership.directory_id`; it is deleted and `membership` stored together, with the
    /// directory's next `seq`. Of N concurrent accepts of one invitation exactly one
    /// succeeds.
    /// Errors: `NotFound` (no such live invitation of that profile and directory),
    /// `Conflict(Exists)` (already a member), `Conflict(Limit)` (the profile has
    /// `limits.memberships_per_profile` memberships). Nothing is written on an error.
    async fn accept_invitation(
        &self,
        id: Uuid,
        membership: &MembershipRecord,
        limits: MembershipLimits,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Decline an invitation: delete it if it exists, expires after `now` and its invitee
    /// is `profile`. Returns whether it did (`command` is written only then).
    async fn decline_invitation(
        &self,
        id: Uuid,
        profile: Uuid,
        now: Timestamp,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool>;
}
