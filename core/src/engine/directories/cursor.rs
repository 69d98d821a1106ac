//! The opaque cursors of the member listing.
//!
//! A walk over a directory's members starts at some second `start`; it lists, in
//! [`MemberKey`] order, the members who joined at or before `start`. A cursor carries
//! `start` and the key of the last member listed, so the next page begins strictly after
//! it. Keys never change while a membership lives, hence:
//!
//! - no member is listed twice in one walk (the position only moves forward, and a member
//!   who leaves and joins again has a new `joined_at`, after `start`);
//! - every member present for the whole walk is listed (its key lies between the first
//!   page and `start`, and nobody's leaving moves it).
//!
//! The cursor is `base64url(1 ‖ start ‖ joined_at ‖ profile_id ‖ tag)` (49 bytes, 66
//! characters): `start` and `joined_at` as big-endian i64, `tag` the first 16 bytes of a
//! keyed BLAKE2b over the directory id and the fields before it, with a key derived from the
//! server key. So a cursor cannot be forged, edited, or replayed on another directory: any
//! of those is a `validation_failed` on `cursor`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use blake2::Blake2bMac;
use blake2::digest::Mac as _;
use blake2::digest::consts::U16;
use uuid::Uuid;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::MemberKey;

const VERSION: u8 = 1;
const BODY: usize = 1 + 8 + 8 + 16;
const LEN: usize = BODY + 16;
/// Length of a cursor's text.
const TEXT_LEN: usize = 66;
/// BLAKE2b personalisation: what the key is used for.
const PERSONAL: &[u8] = b"tessera-cursor1";

/// Where a walk over a directory's members stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cursor {
    /// The walk lists members who joined at or before this second.
    pub(super) start: Timestamp,
    /// The last member listed.
    pub(super) after: MemberKey,
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
        raw[1..9].copy_from_slice(&self.start.0.to_be_bytes());
        raw[9..17].copy_from_slice(&self.after.joined_at.0.to_be_bytes());
        raw[17..33].copy_from_slice(self.after.profile_id.as_bytes());
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
        let i64_at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            i64::from_be_bytes(b)
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&raw[17..33]);
        Ok(Self {
            start: Timestamp(i64_at(1)),
            after: MemberKey {
                joined_at: Timestamp(i64_at(9)),
                profile_id: Uuid::from_bytes(id),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor {
            start: Timestamp(1_700_000_000),
            after: MemberKey {
                joined_at: Timestamp(1_600_000_000),
                profile_id: Uuid::from_u128(0x1234),
            },
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
        refused(&"é".repeat(33), &key, dir);
        // every single-character edit is caught
        for i in 0..text.len() {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let edited = String::from_utf8(b).unwrap();
            assert!(Cursor::decode(&edited, &key, dir).is_err(), "edit at {i}");
        }
    }
}
