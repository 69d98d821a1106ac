//! The fixed byte layout of every record, format version [`FORMAT_VERSION`].
//!
//! Hand-written on purpose: no serde format whose encoding could drift between versions
//! of a dependency. Integers are little-endian; `str` is a `u32` byte length followed by
//! UTF-8; `id` is a 16-byte uuid; `ts` is an `i64` of seconds since the Unix epoch.
//! A flag byte says which optional fields follow; unknown flag bits, unknown enum numbers,
//! invalid UTF-8, a short record and trailing bytes are all decode errors (reported as
//! `StoreError::Corrupt` with the table, key and byte offset), never panics.
//!
//! Any change to a layout below is a new format version: stores stamped with another
//! version are refused at open.
//!
//! ## Profile (`profiles`, key = id)
//!
//! The fields [`decode_principal`] needs come first, so verify reads a prefix and stops.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | kind: 1 user, 2 device |
//! | 1 | 1 | state: 1 incomplete, 2 pending, 3 active, 4 rejected, 5 removed |
//! | 2 | 1 | flags: 1 password temporary, 2 password hash, 4 public key, 8 owner, 16 device |
//! | 3 | 16 | owner id (zero without flag 8) |
//! | 19 | 4 | environment count `n` (u32) |
//! | 23 | … | `n` × str environment |
//! | | 8 | version (u64) |
//! | | 8 | created_at (ts) |
//! | | 8 | updated_at (ts) |
//! | | 32 | public key (only with flag 4) |
//! | | str | username |
//! | | str | password hash (only with flag 2) |
//! | | 16 | device id (only with flag 16; so are the fields below) |
//! | | 1 | device roles (bit set) |
//! | | 1 | device flags: 1 name, 2 meta |
//! | | str | device name (only with device flag 1) |
//! | | str | device meta (only with device flag 2) |
//!
//! ## Token (`tokens`, key = digest): 50 bytes, fixed
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | profile id |
//! | 16 | 1 | token kind (`TokenKind::tag`) |
//! | 17 | 8 | issued_at (ts) |
//! | 25 | 8 | expires_at (ts) |
//! | 33 | 1 | 1 if a refresh family follows, else 0 |
//! | 34 | 16 | family id (zero without it) |
//!
//! ## QR token (`qr`, key = digest)
//!
//! owner id (16) ‖ issued_at (ts) ‖ expires_at (ts) ‖ 1 if a name follows else 0 (1) ‖
//! device name (str, only then).
//!
//! ## Command (`commands`, key = id)
//!
//! status (1: 1 pending, 2 succeeded, 3 failed) ‖ 1 if a profile follows else 0 (1) ‖
//! profile id (16, zero without it) ‖ created_at (ts) ‖ expires_at (ts) ‖ body (str) ‖
//! result pair count (u32) ‖ that many × (name str ‖ value str).
//!
//! ## Throttle (`throttle`, key = throttle key): 12 bytes
//!
//! failures (u32) ‖ last_failure (ts).
//!
//! ## API key (`api_keys`, key = digest)
//!
//! created_at (ts) ‖ name (str).
//!
//! ## Meta (`meta`)
//!
//! `format_version`: u32; `device_seq`: u64 (last device sequence number used);
//! `server_key`: the 32-byte seed.

mod bytes;
mod profile;
mod records;

pub use bytes::DecodeError;
pub use profile::{decode_principal, decode_profile, encode_profile};
pub use records::{
    decode_api_key, decode_command, decode_fixed, decode_qr, decode_throttle, decode_token,
    encode_api_key, encode_command, encode_qr, encode_throttle, encode_token,
};

/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

#[cfg(test)]
mod tests;
