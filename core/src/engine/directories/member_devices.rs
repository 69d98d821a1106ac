//! Devices of members: provisioning one for a member, and seeing those of every member.

use uuid::Uuid;

use super::super::devices::device_view;
use super::super::{Engine, QrIssued};
use super::permissions::DirectoryOperation as Op;
use super::{DevicePage, DirectoryDevice};
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::{ProfileKind, ProfileState};
use crate::store::DeviceRoles;

impl Engine {
    /// Issue a device-onboarding QR token owned by the member `profile` (owner, admin; an
    /// admin only for plain members and itself), exactly as
    /// [`Engine::generate_qr_token`] issues one for its caller: the device it onboards
    /// belongs to that member and waits for that member's approval. `roles` (`storage`,
    /// `authenticator` or both, comma-separated) is named in the URI for the device.
    /// Errors: `NotFound`, `Forbidden`, `validation_failed` (`deviceName`, `role`;
    /// `profileId` when the member's profile is not active).
    pub async fn create_member_device(
        &self,
        principal: &Principal,
        directory: Uuid,
        profile: Uuid,
        device_name: Option<&str>,
        roles: Option<&str>,
    ) -> Result<QrIssued> {
        let actor = self
            .acting_member(principal, directory, Op::CreateProfileDevice)
            .await?;
        let roles = match roles {
            None | Some("") => None,
            Some(r) => Some(DeviceRoles::parse(r).ok_or_else(|| {
                Error::validation(
                    "role",
                    "role must be storage, authenticator or storage,authenticator",
                )
            })?),
        };
        self.target_member(&actor, profile, false).await?;
        let owner = self.profile(profile).await?;
        if owner.kind != ProfileKind::User || owner.state != ProfileState::Active {
            return Err(Error::validation(
                "profileId",
                "the member's profile is not active (it has no public key yet)",
            ));
        }
        self.issue_qr(&owner, None, device_name, roles).await
    }

    /// The devices (not removed) of one page of the directory's members (owner, admin):
    /// `limit` members per page (1–500, default 100), walked with `cursor` as
    /// [`Engine::list_directory_members`].
    /// Errors: `validation_failed` on `limit` or `cursor`, `NotFound`, `Forbidden`.
    pub async fn directory_devices(
        &self,
        principal: &Principal,
        directory: Uuid,
        limit: Option<usize>,
        cursor: Option<&str>,
    ) -> Result<DevicePage> {
        self.acting_member(principal, directory, Op::ListDevices)
            .await?;
        let (members, next_cursor) = self.member_page(directory, limit, cursor).await?;
        let mut devices = Vec::new();
        for m in members {
            let member = m.membership.profile_id;
            devices.extend(
                self.store
                    .list_devices(member)
                    .await?
                    .iter()
                    .filter(|p| p.state != ProfileState::Removed)
                    .filter_map(device_view)
                    .map(|device| DirectoryDevice { member, device }),
            );
        }
        Ok(DevicePage {
            devices,
            next_cursor,
        })
    }
}
