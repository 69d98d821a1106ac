//! [`MessagePolicy`]: what a message must satisfy beyond a valid token.

use tessera_core::Operation;

/// Largest message accepted by default: 64 KiB.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// Deepest nesting of arrays and objects accepted by default (the message object is 1).
pub const DEFAULT_MAX_DEPTH: usize = 32;
/// Default timestamp window: ±300 s around the clock's time.
pub const DEFAULT_WINDOW_SECS: u64 = 300;

/// What [`super::MessageAuthenticator`] demands of each message. `Default` is the
/// documented policy: an active profile, signatures checked when present but not required,
/// ±300 s, 64 KiB, depth 32, at most 100,000 remembered nonces (10,000 per profile), any
/// JSON encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePolicy {
    /// The state guard applied to the token's profile, as on the HTTP routes:
    /// [`Operation::Other`] (the default) needs an active profile; the limited operations
    /// also admit incomplete or pending profiles (API.md "Profile states").
    pub operation: Operation,
    /// Refuse unsigned messages (`invalid_signature`). A message that carries a signature
    /// is always checked, whatever this says.
    pub require_signature: bool,
    /// Accepted distance between the message's `timestamp` and the clock, in seconds,
    /// either way.
    pub window_secs: u64,
    /// Largest message, in bytes (`message_too_large` above).
    pub max_bytes: usize,
    /// Deepest nesting of arrays and objects (the message object itself is depth 1).
    pub max_depth: usize,
    /// Nonces this process remembers at most (the ones it claimed in the store), over all
    /// profiles; when full (after dropping expired ones) new messages are refused with
    /// `replay_cache_full`, which also bounds what this process claims in the store per
    /// window.
    pub replay_capacity: usize,
    /// Nonces remembered at most per profile, so one profile cannot fill the cache (nor
    /// the store, through this process).
    pub replay_per_profile: usize,
    /// Also require the message bytes to be exactly their own RFC 8785 canonical form
    /// (signature included), so that no two encodings of one message are accepted. Off by
    /// default: any JSON encoding of the message is accepted and canonicalized to check the
    /// signature.
    pub canonical_encoding: bool,
}

impl Default for MessagePolicy {
    fn default() -> Self {
        Self {
            operation: Operation::Other,
            require_signature: false,
            window_secs: DEFAULT_WINDOW_SECS,
            max_bytes: DEFAULT_MAX_BYTES,
            max_depth: DEFAULT_MAX_DEPTH,
            replay_capacity: 100_000,
            replay_per_profile: 10_000,
            canonical_encoding: false,
        }
    }
}

impl MessagePolicy {
    /// The default policy with signatures required.
    #[must_use]
    pub fn signed() -> Self {
        Self {
            require_signature: true,
            ..Self::default()
        }
    }
}
