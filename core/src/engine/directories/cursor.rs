//! The opaque cursors of the member listing.
//!
//! Members are listed in join order ([`MembershipRecord::seq`]: every membership stored gets
//! its directory's next number, and keeps it while it lives). A walk starts by reading the
//! directory's last number (`bound`) and lists the members numbered up to it; a cursor
//! carries `bound` and the number of the last member listed, so the next page begins
//! strictly after it. Hence:
//!
//! - no member is listed twice in one walk (the position only moves forward, and a member
//!   who leaves and joins again gets a new number, past `bound`);
//! - every member present for the whole walk is listed (its number lies between the first
//!   page and `bound`, and nobody's leaving moves it).
//!
//! The cursor is `base64url(1 ‖ bound ‖ after ‖ tag)` (33 bytes, 44 characters): `bound`
//! and `after` as big-endian u64, `tag` the first 16 bytes of a keyed BLAKE2b (keyed with
//! the server key's seed, under its own personalisation) over the directory id and the
//! fields before it. So a cursor cannot be forged, edited, or replayed on another
//! directory: any of those is a `validation_failed` on `cursor`.
//!
//! [`MembershipRecord::seq`]: crate::store::MembershipRecord::seq

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blake2::Blake2bMac;
use blake2::digest::Mac as _;
use blake2::digest::consts::U16;
use uuid::Uuid;

use crate::error::{Error, Result};

const VERSION: u8 = 1;
const BODY: usize = 1 + 8 + 8;
const LEN: usize = BODY + 16;
/// Length of a cursor's text.
const TEXT_LEN: usize = 44;
/// BLAKE2b personalisation: what the key is used for.
const PERSONAL: &[u8] = b"tessera-cursor1";

/// Where a walk over a directory's members stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    /// The walk lists members numbered up to this.
    pub(super) bound: u64,
    /// The number of the last member listed.
    pub(super) after: u64,
}

/// The keyed BLAKE2b of `directory ‖ body` (a 32-byte key and a 15-byte personalisation
/// are within BLAKE2b's bounds, so this is always `Some`).
fn mac(key: &[u8; 32], directory: Uuid, body: &[u8]) -> Option<Blake2bMac<U16>> {
    let mut m = Blake2bMac::<U16>::new_with_salt_and_personal(key, &[], PERSONAL).ok()?;
    m.update(directory.as_bytes());
    m.update(body);
    Some(m)
}

impl Cursor {
    /// The cursor's text for `directory`, tagged with `key`.
    pub(super) fn encode(&self, key: &[u8; 32], directory: Uuid) -> Result<String> {
        let mut raw = [0u8; LEN];
        raw[0] = VERSION;
        raw[1..9].copy_from_slice(&self.bound.to_be_bytes());
        raw[9..17].copy_from_slice(&self.after.to_be_bytes());
        let tag = mac(key, directory, &raw[..BODY])
            .ok_or_else(|| Error::Config("cursor key".into()))?
            .finalize()
            .into_bytes();
        raw[BODY..].copy_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(raw))
    }

    /// Read a cursor of `directory` tagged with `key`; anything else is refused.
    pub(super) fn decode(text: &str, key: &[u8; 32], directory: Uuid) -> Result<Self> {
        let invalid = || Error::validation("cursor", "cursor is invalid");
        if text.len() != TEXT_LEN {
            return Err(invalid());
        }
        let raw = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        if raw.len() != LEN || raw[0] != VERSION {
            return Err(invalid());
        }
        mac(key, directory, &raw[..BODY])
            .ok_or_else(invalid)?
            .verify_slice(&raw[BODY..])
            .map_err(|_| invalid())?;
        let u64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            u64::from_be_bytes(b)
        };
        Ok(Self {
            bound: u64_at(1),
            after: u64_at(9),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor {
            bound: 1_700_000_000,
            after: 0x1234,
        }
    }

    #[test]
    fn round_trips_on_its_directory_only() {
        let key = [7u8; 32];
        let dir = Uuid::from_u128(1);
        let text = sample().encode(&key, dir).unwrap();
        assert_eq!(text.len(), TEXT_LEN);
        assert_eq!(Cursor::decode(&text, &key, dir).unwrap(), sample());
        let refused = |t: &str, k: &[u8; 32], d: Uuid| {
            let e = Cursor::decode(t, k, d).unwrap_err();
            assert_eq!(e.field(), Some("cursor"));
        };
        refused(&text, &key, Uuid::from_u128(2));
        refused(&text, &[8u8; 32], dir);
        refused("", &key, dir);
        refused(&text[1..], &key, dir);
        refused(&format!("{text}A"), &key, dir);
        refused(&"A".repeat(TEXT_LEN), &key, dir);
        refused(&"é".repeat(22), &key, dir);
        // every single-character edit is caught
        for i in 0..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(b).unwrap();
            assert!(Cursor::decode(&edited, &key, dir).is_err(), "edit at {i}");
        }
    }
}
