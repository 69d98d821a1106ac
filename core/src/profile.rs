//! Profiles: kinds, states, the pure state machine and the operation guards.
//!
//! Users: `incomplete` →(key registered)→ `active`.
//! Devices: `incomplete` →(key)→ `pending` →(approved)→ `active`; `incomplete`, `pending` or
//! `active` →(rejected)→ `rejected`; any state →(removed)→ `removed` (terminal).
//! Registering a key again rotates it without changing an active or pending state.

use crate::error::{Error, Result};

/// A user, or a device owned by a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileKind {
    /// A person's profile.
    User,
    /// A device profile owned by a user.
    Device,
}

impl ProfileKind {
    /// Every kind, for exhaustive tests.
    pub const ALL: [Self; 2] = [Self::User, Self::Device];

    /// Stable one-byte tag used by the storage layouts (redb, sled and PostgreSQL store
    /// it): 1 user, 2 device. A stored value: never renumber.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::User => 1,
            Self::Device => 2,
        }
    }

    /// Inverse of [`ProfileKind::tag`].
    #[must_use]
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::User),
            2 => Some(Self::Device),
            _ => None,
        }
    }

    /// Wire name: `user` or `device`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Device => "device",
        }
    }
}

/// Where a profile stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileState {
    /// No public key registered yet.
    Incomplete,
    /// A device with a key, waiting for its owner's approval.
    Pending,
    /// Fully functional.
    Active,
    /// A device its owner rejected.
    Rejected,
    /// A device its owner removed (terminal; cannot authenticate).
    Removed,
}

impl ProfileState {
    /// Every state, for exhaustive tests.
    pub const ALL: [Self; 5] = [
        Self::Incomplete,
        Self::Pending,
        Self::Active,
        Self::Rejected,
        Self::Removed,
    ];

    /// Stable one-byte tag used by the storage layouts (redb, sled and PostgreSQL store
    /// it): 1 incomplete, 2 pending, 3 active, 4 rejected, 5 removed. A stored value:
    /// never renumber.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::Incomplete => 1,
            Self::Pending => 2,
            Self::Active => 3,
            Self::Rejected => 4,
            Self::Removed => 5,
        }
    }

    /// Inverse of [`ProfileState::tag`].
    #[must_use]
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Incomplete),
            2 => Some(Self::Pending),
            3 => Some(Self::Active),
            4 => Some(Self::Rejected),
            5 => Some(Self::Removed),
            _ => None,
        }
    }

    /// Wire name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Removed => "removed",
        }
    }
}

/// Something that happens to a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A public key was registered (or rotated).
    KeyRegistered,
    /// The owner approved the device.
    Approved,
    /// The owner rejected the device.
    Rejected,
    /// The owner removed the device.
    Removed,
}

impl Event {
    /// Every event, for exhaustive tests.
    pub const ALL: [Self; 4] = [
        Self::KeyRegistered,
        Self::Approved,
        Self::Rejected,
        Self::Removed,
    ];
}

/// The state after `event`, or why the event is not allowed in `state`.
///
/// Pure: no I/O, no clock. The engine persists the result together with any token
/// revocation the transition requires (reject and remove revoke every token).
pub fn apply(kind: ProfileKind, state: ProfileState, event: Event) -> Result<ProfileState> {
    use Event as E;
    use ProfileState as S;
    let invalid = |msg: &str| Err(Error::validation("deviceIdentifier", msg));
    match (kind, state, event) {
        (_, S::Removed, _) => Err(Error::NotFound),
        (ProfileKind::User, S::Incomplete | S::Active, E::KeyRegistered) => Ok(S::Active),
        (ProfileKind::User, _, E::KeyRegistered) => Err(Error::Forbidden),
        (ProfileKind::User, _, _) => Err(Error::Forbidden),
        (ProfileKind::Device, S::Incomplete | S::Pending, E::KeyRegistered) => Ok(S::Pending),
        (ProfileKind::Device, S::Active, E::KeyRegistered) => Ok(S::Active),
        (ProfileKind::Device, S::Rejected, E::KeyRegistered) => Err(Error::DeviceRejected),
        (ProfileKind::Device, S::Pending, E::Approved) => Ok(S::Active),
        (ProfileKind::Device, _, E::Approved) => invalid("the device is not pending approval"),
        (ProfileKind::Device, S::Incomplete | S::Pending | S::Active, E::Rejected) => {
            Ok(S::Rejected)
        }
        (ProfileKind::Device, S::Rejected, E::Rejected) => {
            invalid("the device is already rejected")
        }
        (ProfileKind::Device, _, E::Removed) => Ok(S::Removed),
    }
}

/// What a token holder wants to do; the guard decides per state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Register or rotate the public key.
    RegisterPublicKey,
    /// Read the token's expiry.
    TokenExpiry,
    /// Extend the token.
    Reauthorize,
    /// Revoke the token (or all of the profile's).
    Revoke,
    /// Read the profile id.
    RetrieveProfileId,
    /// Read a device's configuration (a device reading its own).
    RetrieveDeviceConfiguration,
    /// Anything else: needs an active profile.
    Other,
}

impl Operation {
    /// Every operation, for exhaustive tests.
    pub const ALL: [Self; 7] = [
        Self::RegisterPublicKey,
        Self::TokenExpiry,
        Self::Reauthorize,
        Self::Revoke,
        Self::RetrieveProfileId,
        Self::RetrieveDeviceConfiguration,
        Self::Other,
    ];
}

/// Whether a profile of `kind` in `state` may perform `op` (API.md "Profile states").
pub fn guard(kind: ProfileKind, state: ProfileState, op: Operation) -> Result<()> {
    use Operation as O;
    use ProfileState as S;
    let limited = matches!(
        op,
        O::RegisterPublicKey | O::TokenExpiry | O::Reauthorize | O::Revoke | O::RetrieveProfileId
    ) || (op == O::RetrieveDeviceConfiguration && kind == ProfileKind::Device);
    match state {
        S::Active => Ok(()),
        S::Removed => Err(Error::Unauthorized),
        S::Incomplete if limited => Ok(()),
        S::Incomplete => Err(Error::ProfileIncomplete),
        S::Pending if limited => Ok(()),
        S::Pending => Err(Error::DevicePending),
        S::Rejected if limited && op != O::RegisterPublicKey => Ok(()),
        S::Rejected => Err(Error::DeviceRejected),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use ProfileKind::{Device, User};
    use ProfileState as S;

    #[test]
    fn tags_are_stable_and_invertible() {
        assert_eq!(ProfileKind::ALL.map(ProfileKind::tag), [1, 2]);
        assert_eq!(S::ALL.map(S::tag), [1, 2, 3, 4, 5]);
        for k in ProfileKind::ALL {
            assert_eq!(ProfileKind::from_tag(k.tag()), Some(k));
        }
        for s in S::ALL {
            assert_eq!(S::from_tag(s.tag()), Some(s));
        }
        assert_eq!(ProfileKind::from_tag(0), None);
        assert_eq!(ProfileKind::from_tag(3), None);
        assert_eq!(S::from_tag(0), None);
        assert_eq!(S::from_tag(6), None);
    }

    #[test]
    fn every_user_transition() {
        for s in S::ALL {
            for e in E::ALL {
                let got = apply(User, s, e);
                let want = match (s, e) {
                    (S::Removed, _) => Err(Error::NotFound),
                    (S::Incomplete | S::Active, E::KeyRegistered) => Ok(S::Active),
                    _ => Err(Error::Forbidden),
                };
                assert_eq!(got, want, "user {s:?} + {e:?}");
            }
        }
    }

    #[test]
    fn every_device_transition() {
        for s in S::ALL {
            for e in E::ALL {
                let got = apply(Device, s, e);
                let want: std::result::Result<S, &str> = match (s, e) {
                    (S::Removed, _) => Err("not_found"),
                    (S::Incomplete | S::Pending, E::KeyRegistered) => Ok(S::Pending),
                    (S::Active, E::KeyRegistered) => Ok(S::Active),
                    (S::Rejected, E::KeyRegistered) => Err("device_rejected"),
                    (S::Pending, E::Approved) => Ok(S::Active),
                    (_, E::Approved) | (S::Rejected, E::Rejected) => Err("validation_failed"),
                    (_, E::Rejected) => Ok(S::Rejected),
                    (_, E::Removed) => Ok(S::Removed),
                };
                assert_eq!(got.map_err(|e| e.code()), want, "device {s:?} + {e:?}");
            }
        }
    }

    #[test]
    fn every_guard() {
        use Operation as O;
        for kind in [User, Device] {
            for s in S::ALL {
                for op in O::ALL {
                    let got = guard(kind, s, op).map_err(|e| e.code());
                    let limited = matches!(
                        op,
                        O::RegisterPublicKey
                            | O::TokenExpiry
                            | O::Reauthorize
                            | O::Revoke
                            | O::RetrieveProfileId
                    ) || (op == O::RetrieveDeviceConfiguration && kind == Device);
                    let want = match s {
                        S::Active => Ok(()),
                        S::Removed => Err("unauthorized"),
                        S::Incomplete if limited => Ok(()),
                        S::Incomplete => Err("profile_incomplete"),
                        S::Pending if limited => Ok(()),
                        S::Pending => Err("device_pending"),
                        S::Rejected if limited && op != O::RegisterPublicKey => Ok(()),
                        S::Rejected => Err("device_rejected"),
                    };
                    assert_eq!(got, want, "{kind:?} {s:?} {op:?}");
                }
            }
        }
        // spot checks against API.md's wording
        assert_eq!(
            guard(User, S::Incomplete, O::RetrieveDeviceConfiguration),
            Err(Error::ProfileIncomplete)
        );
        assert_eq!(
            guard(Device, S::Rejected, O::RegisterPublicKey),
            Err(Error::DeviceRejected)
        );
        assert_eq!(
            guard(Device, S::Pending, O::Other),
            Err(Error::DevicePending)
        );
    }
}
