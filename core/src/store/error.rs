//! Storage errors, shared by every backend.

/// What a uniqueness conflict was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// The canonical username is taken.
    Username,
    /// The public key is registered to another profile.
    PublicKey,
    /// A record with this key already exists.
    Exists,
    /// The directory short name is taken.
    ShortName,
    /// The change would remove a directory owner's membership or change its role, or give
    /// another membership the owner role.
    Owner,
    /// A bounded count (directories per owner, memberships per profile, pending
    /// invitations per directory) is reached.
    Limit,
}

/// Why a storage call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness constraint refused the write.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// The record changed since it was read.
    #[error("version mismatch")]
    VersionMismatch,
    /// The store cannot serve now (I/O error, lost connection, full disk).
    #[error("storage unavailable: {message}")]
    Unavailable {
        /// Whether retrying later may succeed.
        retryable: bool,
        /// Detail for logs (never sent to clients).
        message: String,
    },
    /// Stored data is not what the layout says: unknown format version, truncated record…
    #[error("corrupt store: {what} at {location}")]
    Corrupt {
        /// What is wrong.
        what: String,
        /// Where (table and key, or file and offset).
        location: String,
    },
    /// Any other backend failure.
    #[error("backend error: {0}")]
    Backend(String),
}
