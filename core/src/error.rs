//! The engine's error type: small, with a stable machine code per variant.

use crate::store::StoreError;

/// Everything an engine operation can refuse. [`Error::code`] gives the stable machine code
/// (the `error` field of the HTTP contract); the `Display` text is safe to show to a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field is missing, duplicated, out of range or malformed (no more specific code fits).
    #[error("{message}")]
    Validation {
        /// The field the problem is about.
        field: &'static str,
        /// What is wrong, safe to show.
        message: String,
    },
    /// The username breaks the username rules.
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    /// The username is already registered.
    #[error("this username is already taken")]
    UsernameTaken,
    /// The password is too easy to guess.
    #[error("the password is too easy to guess")]
    WeakPassword {
        /// zxcvbn's warning and suggestions, safe to show.
        feedback: Vec<String>,
    },
    /// The password has fewer code points than the policy's minimum.
    #[error("the password must have at least {min} characters")]
    PasswordTooShort {
        /// The minimum length in code points.
        min: usize,
    },
    /// The password has more code points than the policy's maximum.
    #[error("the password must have at most {max} characters")]
    PasswordTooLong {
        /// The maximum length in code points.
        max: usize,
    },
    /// The TTL is not one of the table's values.
    #[error(
        "ttl must be one of 3600, 86400, 604800, 2592000, 7776000, 15552000, 23328000, 31104000"
    )]
    InvalidTtl,
    /// The public key is malformed, weak or registered to another profile.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(&'static str),
    /// The proof-of-possession signature is missing or wrong.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// The QR token is unknown, used, expired or revoked.
    #[error("the QR token is invalid, used or expired")]
    InvalidQrToken,
    /// The current password given to change-password is wrong.
    #[error("the current password is wrong")]
    WrongPassword,
    /// A confirmation code is wrong, used or expired.
    #[error("the confirmation code is invalid, used or expired")]
    InvalidCode,
    /// Any token problem, or bad credentials: one answer for all, so nothing leaks.
    #[error("unauthorized")]
    Unauthorized,
    /// The profile has no registered public key yet.
    #[error("the profile is incomplete: register a public key first")]
    ProfileIncomplete,
    /// The device waits for its owner's approval.
    #[error("the device is waiting for its owner's approval")]
    DevicePending,
    /// The device was rejected by its owner.
    #[error("the device was rejected by its owner")]
    DeviceRejected,
    /// The profile may not do this (e.g. a device calling a user-only operation).
    #[error("forbidden")]
    Forbidden,
    /// No such object, or one the caller may not see.
    #[error("not found")]
    NotFound,
    /// Credential checks for this username are throttled.
    #[error("too many attempts: retry after {retry_after} s")]
    TooManyAttempts {
        /// Seconds until the next attempt is allowed.
        retry_after: u64,
    },
    /// The password-hashing queue is full.
    #[error("overloaded: retry after {retry_after} s")]
    Overloaded {
        /// Seconds after which a retry is sensible.
        retry_after: u64,
    },
    /// The store failed; the detail is in the wrapped error (never shown to clients).
    #[error("storage unavailable")]
    Storage(StoreError),
    /// The engine was built with an invalid configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The stable machine code, as in API.md's error table.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } | Self::Config(_) => "validation_failed",
            Self::InvalidUsername(_) => "invalid_username",
            Self::UsernameTaken => "username_taken",
            Self::WeakPassword { .. } => "weak_password",
            Self::PasswordTooShort { .. } => "password_too_short",
            Self::PasswordTooLong { .. } => "password_too_long",
            Self::InvalidTtl => "invalid_ttl",
            Self::InvalidPublicKey(_) => "invalid_public_key",
            Self::InvalidSignature(_) => "invalid_signature",
            Self::InvalidQrToken => "invalid_qr_token",
            Self::WrongPassword => "wrong_password",
            Self::InvalidCode => "invalid_code",
            Self::Unauthorized => "unauthorized",
            Self::ProfileIncomplete => "profile_incomplete",
            Self::DevicePending => "device_pending",
            Self::DeviceRejected => "device_rejected",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Overloaded { .. } => "overloaded",
            Self::Storage(_) => "storage_unavailable",
        }
    }

    /// The form field this error is about, when there is one (`errors.<field>` on the wire).
    #[must_use]
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            Self::Validation { field, .. } => Some(field),
            Self::InvalidUsername(_) | Self::UsernameTaken => Some("username"),
            Self::WeakPassword { .. }
            | Self::PasswordTooShort { .. }
            | Self::PasswordTooLong { .. } => Some("password"),
            Self::InvalidTtl => Some("ttl"),
            Self::InvalidPublicKey(_) => Some("publicKey"),
            Self::InvalidSignature(_) => Some("signature"),
            Self::InvalidQrToken => Some("qrToken"),
            Self::WrongPassword => Some("currentPassword"),
            Self::InvalidCode => Some("confirmation_code"),
            _ => None,
        }
    }

    /// Field messages to show: zxcvbn feedback for weak passwords, else the error text.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::WeakPassword { feedback } if !feedback.is_empty() => feedback.clone(),
            other => vec![other.to_string()],
        }
    }

    pub(crate) fn validation(field: &'static str, message: impl Into<String>) -> Self {
        Self::Validation {
            field,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Storage(e)
    }
}

/// Result of an engine operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
