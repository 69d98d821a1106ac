//! The verified identity behind a token.

use uuid::Uuid;

use crate::clock::Timestamp;
use crate::error::Result;
use crate::profile::{self, Operation, ProfileKind, ProfileState};
use crate::token::{TokenDigest, TokenKind};

/// Who presented a valid token: what [`crate::Engine::verify`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The profile the token belongs to.
    pub profile_id: Uuid,
    /// User or device.
    pub kind: ProfileKind,
    /// The profile's state when the token was checked.
    pub state: ProfileState,
    /// The owning user, for devices.
    pub owner: Option<Uuid>,
    /// Environments the profile may access (server-registered users).
    pub environments: Vec<String>,
    /// Which kind of token was presented.
    pub token_kind: TokenKind,
    /// When the token was issued.
    pub issued_at: Timestamp,
    /// When the token stops being valid (valid while `now < expires_at`).
    pub expires_at: Timestamp,
    /// The token's digest (identifies it for reauthorize/revoke).
    pub token: TokenDigest,
}

impl Principal {
    /// Whether the profile's state allows `op` (API.md "Profile states").
    pub fn require(&self, op: Operation) -> Result<()> {
        profile::guard(self.kind, self.state, op)
    }

    /// Shorthand for `require(Operation::Other)`: an active profile.
    pub fn require_active(&self) -> Result<()> {
        self.require(Operation::Other)
    }

    /// Whether access to environment `env` was granted.
    #[must_use]
    pub fn can_access(&self, env: &str) -> bool {
        self.environments.iter().any(|e| e == env)
    }
}
