//! The records the storage traits move. Plain data; backends choose their own byte layout.

use uuid::Uuid;

use crate::clock::Timestamp;
use crate::profile::{ProfileKind, ProfileState};
use crate::token::{TokenDigest, TokenKind};

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRecord {
    /// Profile id.
    pub id: Uuid,
    /// User or device.
    pub kind: ProfileKind,
    /// Canonical username (unique).
    pub username: String,
    /// Argon2id PHC string; `None` for profiles that cannot use a password.
    pub password_hash: Option<String>,
    /// The password was set by someone else and must be replaced at first login.
    pub password_temporary: bool,
    /// Lifecycle state.
    pub state: ProfileState,
    /// Registered Ed25519 key (unique across profiles).
    pub public_key: Option<[u8; 32]>,
    /// The owning user, for devices.
    pub owner: Option<Uuid>,
    /// Device details, for devices.
    pub device: Option<DeviceInfo>,
    /// Environments the profile may access.
    pub environments: Vec<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version, +1 per update.
    pub version: u64,
}

/// Device roles (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeviceRoles(pub u8);

impl DeviceRoles {
    /// Stores data.
    pub const STORAGE: Self = Self(1);
    /// Authenticates its owner.
    pub const AUTHENTICATOR: Self = Self(2);

    /// Parse `storage`, `authenticator` or `storage,authenticator` (either order).
    pub fn parse(text: &str) -> Option<Self> {
        let mut bits = 0u8;
        for part in text.split(',') {
            bits |= match part {
                "storage" => Self::STORAGE.0,
                "authenticator" => Self::AUTHENTICATOR.0,
                _ => return None,
            };
        }
        Some(Self(bits))
    }

    /// Role names, in fixed order.
    #[must_use]
    pub fn names(self) -> Vec<&'static str> {
        let mut v = Vec::with_capacity(2);
        if self.0 & Self::STORAGE.0 != 0 {
            v.push("storage");
        }
        if self.0 & Self::AUTHENTICATOR.0 != 0 {
            v.push("authenticator");
        }
        v
    }
}

/// Details of a device profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device identifier (distinct from the profile id).
    pub device_id: Uuid,
    /// Human name given at onboarding.
    pub name: Option<String>,
    /// Roles.
    pub roles: DeviceRoles,
    /// Owner-set metadata: a JSON object's text (≤ 4 KiB).
    pub meta: Option<String>,
}

/// What to revoke together with a profile update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoke {
    /// Nothing.
    Nothing,
    /// Every token and QR token of the profile.
    All,
    /// Every token and QR token of the profile but this one (the caller's).
    AllExcept(TokenDigest),
}

/// A stored authorization or refresh token (only its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token text.
    pub digest: TokenDigest,
    /// Owner profile.
    pub profile_id: Uuid,
    /// Authorization or refresh.
    pub kind: TokenKind,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Valid while `now < expires_at`.
    pub expires_at: Timestamp,
    /// Refresh-token family (every token descended from one login), if any.
    pub family: Option<Uuid>,
}

/// What [`super::TokenStore::resolve_token`] reads in its one transaction: a token and the
/// fields of its profile that verify needs. Plain data; the engine turns it into a
/// [`crate::Principal`] (moving the fields, so no allocation is added on the hot path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedToken {
    /// The profile the token belongs to.
    pub profile_id: Uuid,
    /// The profile's kind.
    pub kind: ProfileKind,
    /// The profile's state.
    pub state: ProfileState,
    /// The profile's owning user, for devices.
    pub owner: Option<Uuid>,
    /// The profile's environments.
    pub environments: Vec<String>,
    /// The token's kind.
    pub token_kind: TokenKind,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token stops being valid (valid while `now < expires_at`).
    pub expires_at: Timestamp,
    /// The token's digest.
    pub token: TokenDigest,
}

/// A device-onboarding QR token (only its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrRecord {
    /// SHA-256 of the token text.
    pub digest: TokenDigest,
    /// The user who issued it; the device will belong to them.
    pub owner: Uuid,
    /// Issue time.
    pub issued_at: Timestamp,
    /// Valid while `now < expires_at`.
    pub expires_at: Timestamp,
    /// Suggested device name.
    pub device_name: Option<String>,
}

/// Outcome of a command: 1 pending, 2 succeeded, 3 failed (Privicore's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandStatus {
    /// Not finished (tessera never records this: it completes commands before replying).
    Pending = 1,
    /// Done.
    Succeeded = 2,
    /// Failed.
    Failed = 3,
}

impl CommandStatus {
    /// From the wire number.
    #[must_use]
    pub const fn from_u8(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::Pending),
            2 => Some(Self::Succeeded),
            3 => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One entry of the command log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// Command id.
    pub id: Uuid,
    /// The profile that issued it, if any.
    pub profile_id: Option<Uuid>,
    /// Outcome.
    pub status: CommandStatus,
    /// Human-readable outcome.
    pub body: String,
    /// Values the command produced (e.g. `deviceIdentifier`), as ordered pairs.
    pub result: Vec<(String, String)>,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// When it may be purged.
    pub expires_at: Timestamp,
}

/// A command just recorded, for subscribers (e.g. a profile's WebSocket channel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEvent {
    /// The recorded command.
    pub command: CommandRecord,
}

/// Failed credential checks of one username.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThrottleRecord {
    /// Consecutive failures.
    pub failures: u32,
    /// Time of the last failure.
    pub last_failure: Timestamp,
}

/// A server API key (only its digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// SHA-256 of the key text.
    pub digest: TokenDigest,
    /// Name given by the administrator.
    pub name: String,
    /// Creation time.
    pub created_at: Timestamp,
}

/// A server-registered user: the identity provider's id mapped to a profile.
///
/// The environment grants are not here but on the profile ([`ProfileRecord::environments`]),
/// so `verify` reads them with the token in its one read. Changes of this record and of its
/// profile are versioned together by the profile's version
/// ([`super::ServerUserStore::update_server_user`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUserRecord {
    /// The identity provider's unique id (unique; 1–255 printable ASCII characters).
    pub external_id: String,
    /// The profile created for this user (immutable).
    pub profile_id: Uuid,
    /// Email, for the registering server's identification only.
    pub email: Option<String>,
    /// Custom metadata: a JSON object's text (≤ 16 KiB).
    pub metadata: Option<String>,
    /// Creation time (immutable).
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Outcome of [`super::TokenStore::rotate_refresh`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The old refresh token was live: it is now [`TokenKind::RefreshUsed`] and both new
    /// tokens are stored.
    Rotated,
    /// The old refresh token had already been rotated (reuse): its whole family was revoked
    /// and nothing was stored.
    Reused,
    /// No live refresh token (or used one) with that digest, of that profile and family:
    /// unknown, expired, revoked, or not a refresh token. Nothing was changed.
    Unknown,
}
