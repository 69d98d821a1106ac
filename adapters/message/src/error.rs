//! [`MessageError`]: why a message was refused, with a stable machine code per cause.

/// Why [`super::MessageAuthenticator::authenticate`] refused a message. Each variant has a
/// stable machine code ([`MessageError::code`]); token and state problems carry the engine's
/// own error, so they have exactly the codes of the `X-DPT-AUTHORIZATION` header path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The message is larger than the policy allows (`message_too_large`).
    #[error("the message is larger than {max} bytes")]
    TooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// Not JSON, nested too deep, a duplicated key, a missing, extra or ill-typed field, an
    /// integer outside ±(2^53−1), or (strict policy) not in canonical form
    /// (`malformed_message`).
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The token failed verification or the profile's state forbids the operation: the
    /// engine's error (`unauthorized`, `profile_incomplete`, `device_pending`,
    /// `device_rejected`, `forbidden`, `storage_unavailable`).
    #[error(transparent)]
    Token(tessera_core::Error),
    /// The timestamp is outside the window around the current time (`stale_timestamp`).
    #[error("the timestamp is outside the accepted window of ±{window_secs} s")]
    StaleTimestamp {
        /// The window, in seconds.
        window_secs: u64,
    },
    /// This profile already sent a message with this nonce inside the window, to this or
    /// any other process on the store (`replayed_nonce`).
    #[error("this nonce was already used")]
    ReplayedNonce,
    /// The policy requires a signature and the message has none (`invalid_signature`).
    #[error("invalid signature: the message must be signed")]
    MissingSignature,
    /// The signature does not verify with the profile's registered key: a changed byte,
    /// another profile's key, or a profile without a key (`invalid_signature`).
    #[error("invalid signature: {0}")]
    InvalidSignature(&'static str),
    /// The signature is not 128 lowercase hex characters (64 bytes), e.g. 63 or 65 bytes
    /// (`malformed_signature`).
    #[error("malformed signature: a signature is 128 lowercase hex characters (64 bytes)")]
    MalformedSignature,
    /// The signature's scalar S is not reduced modulo the group order: a malleated
    /// signature (`non_canonical_signature`).
    #[error("non-canonical signature: S must be below the group order")]
    NonCanonicalSignature,
    /// The process's bound of claimed nonces (overall or for the profile) is reached;
    /// refused rather than let one profile fill the store (`replay_cache_full`).
    #[error("too many messages inside the replay window; retry later")]
    ReplayCacheFull,
}

impl MessageError {
    /// The stable machine code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "message_too_large",
            Self::Malformed(_) => "malformed_message",
            Self::Token(e) => e.code(),
            Self::StaleTimestamp { .. } => "stale_timestamp",
            Self::ReplayedNonce => "replayed_nonce",
            Self::MissingSignature | Self::InvalidSignature(_) => "invalid_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::NonCanonicalSignature => "non_canonical_signature",
            Self::ReplayCacheFull => "replay_cache_full",
        }
    }

    /// An HTTP-like status for transports that report one: 413 too large, 400 malformed,
    /// the header path's status for token and state problems (401, 403, 503), 503 for a
    /// full replay cache, and 401 for every timestamp, nonce and signature refusal.
    #[must_use]
    pub const fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::Malformed(_) => 400,
            Self::Token(e) => match e {
                tessera_core::Error::Unauthorized => 401,
                tessera_core::Error::ProfileIncomplete
                | tessera_core::Error::DevicePending
                | tessera_core::Error::DeviceRejected
                | tessera_core::Error::Forbidden => 403,
                _ => 503,
            },
            Self::ReplayCacheFull => 503,
            _ => 401,
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed(reason.into())
    }
}

impl From<tessera_core::Error> for MessageError {
    fn from(e: tessera_core::Error) -> Self {
        Self::Token(e)
    }
}
