//! The fixed byte layout of every record, format version [`FORMAT_VERSION`].
//!
//! Hand-written on purpose: no serde format whose encoding could drift between versions
//! of a dependency. Integers are little-endian; `str` is a `u32` byte length followed by
//! UTF-8; `id` is a 16-byte uuid; `ts` is an `i64` of seconds since the Unix epoch.
//! A flag byte says which optional fields follow; unknown flag bits, unknown enum numbers,
//! invalid UTF-8, a short record and trailing bytes are all decode errors (reported as
//! `StoreError::Corrupt` with the table, key and byte offset), never panics.
//!
//! Any change to a layout below, or to the set of tables ([`crate::tables`]), is a new
//! format version: a build refuses a store stamped with a version it does not know
//! (`StoreError::Corrupt`, "unknown format version N"), so an older build never writes to
//! a store whose indexes it would not keep.
//!
//! ## Format versions
//!
//! - **1**: the tables up to `api_keys`; token kinds 1–4.
//! - **2** (this build): adds the tables `tokens_by_family` and `external_users`, and token
//!   kinds 5–7 (`RefreshUsed`, `ResetCode`, `Session`). Every record layout of version 1 is
//!   unchanged (the token record already carried its family). A version-1 store is upgraded
//!   at open, in one write transaction committed with `Durability::Immediate`: both tables
//!   are created, `tokens_by_family` is filled from the family field of every stored token,
//!   and the version is stamped 2. A crash before the commit leaves the version-1 store as
//!   it was, upgraded again at the next open. After it, version-1 builds refuse the store.
//!   Any other version (0, 3, …) is refused with `Corrupt`.
//!
//! ## Profile (`profiles`, key = id)
//!
//! The fields [`decode_resolved`] needs come first, so verify reads a prefix and stops.
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
//! | 16 | 1 | token kind (`TokenKind::tag`): 1 authorization, 2 refresh, 3 QR, 4 API key, 5 used refresh, 6 reset code, 7 session |
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
//! ## Server-registered user (`external_users`, key = external id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | profile id |
//! | 16 | 8 | created_at (ts) |
//! | 24 | 8 | updated_at (ts) |
//! | 32 | 1 | flags: 1 email, 2 metadata |
//! | 33 | str | email (only with flag 1) |
//! | | str | metadata, a JSON object's text (only with flag 2) |
//!
//! ## Meta (`meta`)
//!
//! `format_version`: u32; `device_seq`: u64 (last device sequence number used);
//! `server_key`: the 32-byte seed.

mod bytes;
mod commands;
mod keys;
mod profiles;
mod qr;
mod throttle;
mod tokens;
mod users;

pub(crate) use bytes::{DecodeError, decode_fixed};
pub(crate) use commands::{decode_command, encode_command};
pub(crate) use keys::{decode_api_key, encode_api_key};
pub(crate) use profiles::{decode_profile, decode_resolved, encode_profile};
pub(crate) use qr::{decode_qr, encode_qr};
pub(crate) use throttle::{decode_throttle, encode_throttle};
pub(crate) use tokens::{decode_token, encode_token};
pub(crate) use users::{decode_server_user, encode_server_user};

/// The layout version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// The one older version this build upgrades at open (see "Format versions" above).
pub(crate) const UPGRADABLE_VERSION: u32 = 1;

#[cfg(test)]
mod tests;
