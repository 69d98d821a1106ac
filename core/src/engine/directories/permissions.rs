//! Who may do what in a directory: the role table, and the rules about whom an operation
//! is done to.
//!
//! Every directory operation is checked here, in the engine, before anything else about the
//! directory is read: a profile that is not a member gets [`crate::Error::NotFound`] (as for
//! an unknown directory), a member whose role is not allowed the operation gets
//! [`crate::Error::Forbidden`].
//!
//! Operations on another member (update its information, set its password, change its role,
//! remove it, provision a device for it) also obey [`may_manage`]: the owner manages every
//! member, an admin manages plain members only. A role granted (by an invitation or a role
//! change) is never above the granter's own ([`may_grant`]), and never `owner`. The
//! owner's membership itself can never be removed or given another role (the store refuses
//! it: `Conflict(Owner)`).

use crate::store::DirectoryRole;

/// Every operation on a directory, as the role table knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryOperation {
    /// Read the directory (`retrieve-directory`).
    RetrieveDirectory,
    /// Store the directory's meta.
    StoreMeta,
    /// Remove the directory with its memberships and invitations.
    RemoveDirectory,
    /// Create a user profile that is a member (`create-directory-user`).
    CreateUser,
    /// Update one's own given name, family name and member meta.
    UpdateOwnInformation,
    /// Update another member's given name, family name and member meta.
    UpdateMemberInformation,
    /// Set a temporary password on a user the directory created.
    SetProfilePassword,
    /// Read one member's directory profile.
    RetrieveProfile,
    /// Walk the member listing.
    ListUsers,
    /// Read the directory profiles of several members at once.
    ProfilesInfo,
    /// Invite a profile by username.
    Invite,
    /// See the directory's pending invitations.
    ListInvitations,
    /// Change a member's role.
    ChangeRole,
    /// Remove another member.
    RemoveMember,
    /// Remove one's own membership.
    Leave,
    /// Issue a device-onboarding QR token owned by a member.
    CreateProfileDevice,
    /// See the devices of every member.
    ListDevices,
}

impl DirectoryOperation {
    /// Every operation, for exhaustive tests.
    pub const ALL: [Self; 17] = [
        Self::RetrieveDirectory,
        Self::StoreMeta,
        Self::RemoveDirectory,
        Self::CreateUser,
        Self::UpdateOwnInformation,
        Self::UpdateMemberInformation,
        Self::SetProfilePassword,
        Self::RetrieveProfile,
        Self::ListUsers,
        Self::ProfilesInfo,
        Self::Invite,
        Self::ListInvitations,
        Self::ChangeRole,
        Self::RemoveMember,
        Self::Leave,
        Self::CreateProfileDevice,
        Self::ListDevices,
    ];
}

const Y: bool = true;
const N: bool = false;

/// The role table: for each operation, whether `[owner, admin, member]` may do it.
#[rustfmt::skip]
const fn row(op: DirectoryOperation) -> [bool; 3] {
    use DirectoryOperation as Op;
    match op {
        //                                  owner admin member
        Op::RetrieveDirectory =>            [Y,    Y,    Y],
        Op::StoreMeta =>                    [Y,    Y,    N],
        Op::RemoveDirectory =>              [Y,    N,    N],
        Op::CreateUser =>                   [Y,    Y,    N],
        Op::UpdateOwnInformation =>         [Y,    Y,    Y],
        Op::UpdateMemberInformation =>      [Y,    Y,    N],
        Op::SetProfilePassword =>           [Y,    Y,    N],
        Op::RetrieveProfile =>              [Y,    Y,    Y],
        Op::ListUsers =>                    [Y,    Y,    Y],
        Op::ProfilesInfo =>                 [Y,    Y,    Y],
        Op::Invite =>                       [Y,    Y,    N],
        Op::ListInvitations =>              [Y,    Y,    N],
        Op::ChangeRole =>                   [Y,    Y,    N],
        Op::RemoveMember =>                 [Y,    Y,    N],
        Op::Leave =>                        [Y,    Y,    Y],
        Op::CreateProfileDevice =>          [Y,    Y,    N],
        Op::ListDevices =>                  [Y,    Y,    N],
    }
}

/// Whether a member of role `role` may do `op` (the role table).
#[must_use]
pub const fn allowed(role: DirectoryRole, op: DirectoryOperation) -> bool {
    let r = row(op);
    match role {
        DirectoryRole::Owner => r[0],
        DirectoryRole::Admin => r[1],
        DirectoryRole::Member => r[2],
    }
}

/// Whether a member of role `actor` may act on another member of role `target`: the owner
/// on anyone, an admin on plain members.
#[must_use]
pub const fn may_manage(actor: DirectoryRole, target: DirectoryRole) -> bool {
    matches!(
        (actor, target),
        (DirectoryRole::Owner, _) | (DirectoryRole::Admin, DirectoryRole::Member)
    )
}

/// Whether a member of role `actor` may give `role` to someone (an invitation or a role
/// change): never `owner`, and nothing above its own role.
#[must_use]
pub const fn may_grant(actor: DirectoryRole, role: DirectoryRole) -> bool {
    matches!(
        (actor, role),
        (
            DirectoryRole::Owner | DirectoryRole::Admin,
            DirectoryRole::Admin | DirectoryRole::Member
        ) | (DirectoryRole::Member, DirectoryRole::Member)
    )
}

#[cfg(test)]
mod tests {
    use super::DirectoryOperation as Op;
    use super::*;
    use DirectoryRole::{Admin, Member, Owner};

    /// The table written out as the API contract states it, independently of `row`.
    fn expected(role: DirectoryRole, op: Op) -> bool {
        let everyone = [
            Op::RetrieveDirectory,
            Op::UpdateOwnInformation,
            Op::RetrieveProfile,
            Op::ListUsers,
            Op::ProfilesInfo,
            Op::Leave,
        ];
        let owner_only = [Op::RemoveDirectory];
        match role {
            Owner => true,
            Admin => !owner_only.contains(&op),
            Member => everyone.contains(&op),
        }
    }

    #[test]
    fn every_role_and_operation_pair() {
        let mut pairs = 0;
        for role in DirectoryRole::ALL {
            for op in Op::ALL {
                assert_eq!(allowed(role, op), expected(role, op), "{role:?} {op:?}");
                pairs += 1;
            }
        }
        assert_eq!(pairs, 51);
    }

    #[test]
    fn only_the_owner_manages_admins_and_nobody_grants_ownership() {
        for actor in DirectoryRole::ALL {
            for target in DirectoryRole::ALL {
                let manage = matches!((actor, target), (Owner, _) | (Admin, Member));
                assert_eq!(may_manage(actor, target), manage, "{actor:?} on {target:?}");
                let grant = target != Owner && actor <= target;
                assert_eq!(
                    may_grant(actor, target),
                    grant,
                    "{actor:?} grants {target:?}"
                );
            }
        }
    }
}
