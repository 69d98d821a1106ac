//! The replay guard of signed messages, shared by every process on the store: a nonce is
//! claimed in the store ([`crate::store::NonceStore`]), so a message accepted by one node is
//! a replay on every other.

use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::Engine;
use crate::clock::Timestamp;
use crate::error::Result;

/// Domain separation of the claim keys (no other store key is made this way).
const NONCE_KEY_CONTEXT: &[u8] = b"tessera nonce v1\0";

/// The store key of `nonce` sent by `sender`: SHA-256 over a context string, the sender's
/// profile id (16 bytes) and the nonce's bytes (the id is fixed-width, so no two pairs share
/// an input).
#[must_use]
pub(crate) fn nonce_key(sender: Uuid, nonce: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(NONCE_KEY_CONTEXT);
    h.update(sender.as_bytes());
    h.update(nonce.as_bytes());
    h.finalize().into()
}

impl Engine {
    /// Claim `nonce` of profile `sender` until `expires_at` (the first second at which the
    /// message carrying it is refused as stale anyway): `true` the first time, `false` while
    /// an earlier claim stands, on whichever node it was made. Of N concurrent claims of one
    /// nonce exactly one gets `true`. The purger removes expired claims.
    /// Errors: `Storage`.
    pub async fn claim_nonce(
        &self,
        sender: Uuid,
        nonce: &str,
        expires_at: Timestamp,
    ) -> Result<bool> {
        let key = nonce_key(sender, nonce);
        Ok(self
            .store
            .claim_nonce(&key, expires_at, self.clock.now())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_senders_and_nonces() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(nonce_key(a, "n1"), nonce_key(a, "n1"));
        assert_ne!(nonce_key(a, "n1"), nonce_key(b, "n1"));
        assert_ne!(nonce_key(a, "n1"), nonce_key(a, "n2"));
    }
}
