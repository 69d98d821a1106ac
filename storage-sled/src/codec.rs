//! The on-disk record layout, format version 2. Hand-written so the bytes never drift with
//! a serialisation library's version.
//!
//! **Versions.**
//!
//! - **1** — the first layout.
//! - **2** — format 1 plus the token kinds 5 (refresh, used), 6 (reset code) and 7 (session)
//!   and three trees: `family_tokens` and `family_size` (the refresh-family index) and
//!   `external_users`. Every record of format 1 reads unchanged. The version was bumped
//!   rather than the trees added silently because a format-1 build must not open a format-2
//!   store: it would refuse the new token kinds record by record (a purge would stop at the
//!   first one) and, deleting tokens without the family index, leave it wrong. So a
//!   format-1 build now refuses the whole store at open ("unknown format version 2").
//!   Opening a format-1 store with this build upgrades it in place, once: the family index
//!   is built from the stored tokens (format-1 builds never issued family tokens, so it is
//!   normally empty), then the version record and the marker file are rewritten (see
//!   `store/upgrade.rs`). Any other version is refused with `StoreError::Corrupt`.
//!
//! Primitives, all little-endian:
//!
//! | name        | bytes                                                      |
//! |-------------|------------------------------------------------------------|
//! | `u8`        | 1                                                          |
//! | `u32`/`u64` | 4 / 8, little-endian                                       |
//! | `i64`       | 8, little-endian two's complement (a `Timestamp`, Unix seconds) |
//! | `uuid`      | 16, the UUID's bytes in RFC 4122 order                     |
//! | `str`       | `u32` byte length, then that many bytes of UTF-8           |
//! | `opt<T>`    | `u8` 0 (absent) or 1 followed by `T`                       |
//! | `list<T>`   | `u32` count, then that many `T`                            |
//!
//! Records (the value stored under the key [`crate::store`]'s tree map describes):
//!
//! - **profile** — the fields verify reads (`TokenStore::resolve_token`) come first, so
//!   the verify path decodes a prefix and nothing else:
//!   `kind u8` (1 user, 2 device) · `state u8` (1 incomplete, 2 pending, 3 active,
//!   4 rejected, 5 removed) · `owner opt<uuid>` · `environments list<str>` · `id uuid` ·
//!   `version u64` · `created_at i64` · `updated_at i64` · `flags u8` (bit 0: password is
//!   temporary; other bits 0) · `username str` · `password_hash opt<str>` ·
//!   `public_key opt<[32]>` · `device opt<device>` where `device` = `device_id uuid` ·
//!   `name opt<str>` · `roles u8` · `meta opt<str>`.
//! - **token** (key: the 32-byte digest) — fixed 34 or 50 bytes: `profile_id uuid` ·
//!   `kind u8` ([`TokenKind::tag`](tessera_core::TokenKind::tag): 1 authorization,
//!   2 refresh, 5 refresh already rotated, 6 password-reset code, 7 challenge session; 3
//!   and 4 are never stored here) · `issued_at i64` · `expires_at i64` ·
//!   `family opt<uuid>` (the refresh family; every token with a family is also in
//!   `family_tokens`).
//! - **QR token** (key: digest): `owner uuid` · `issued_at i64` · `expires_at i64` ·
//!   `device_name opt<str>`.
//! - **command** (key: id): `profile_id opt<uuid>` · `status u8` (1, 2, 3) ·
//!   `created_at i64` · `expires_at i64` · `body str` · `result list<(str, str)>`.
//! - **throttle** (key: the throttle key's UTF-8): `failures u32` · `last_failure i64`.
//! - **API key** (key: digest): `created_at i64` · `name str`.
//! - **external user** (key: the external id's UTF-8): `profile_id uuid` ·
//!   `created_at i64` · `updated_at i64` · `email opt<str>` · `metadata opt<str>` (a JSON
//!   object's text, stored as given).
//! - **family size** (`family_size` tree, key: family id): `u64`, the number of stored
//!   tokens of the family; the entry is removed when it would become 0.
//! - **format version** (`meta` tree, key `format_version`): `u32` = [`FORMAT_VERSION`].
//! - **server key** (`meta` tree, key `server_key`): the 32-byte seed.
//!
//! Decoding is strict: a wrong tag, a bad flag bit, invalid UTF-8, a short read or
//! trailing bytes is a [`DecodeError`], which the store reports as
//! `StoreError::Corrupt` with the tree and key.

mod bytes;
mod commands;
mod keys;
mod profiles;
mod qr;
mod throttle;
mod tokens;
mod users;

pub(crate) use bytes::{DecodeError, decode_fixed};
pub(crate) use commands::{command_expiry, decode_command, encode_command};
pub(crate) use keys::{decode_api_key, encode_api_key};
pub(crate) use profiles::{decode_profile, decode_verify_prefix, encode_profile, profile_version};
pub(crate) use qr::{decode_qr, encode_qr};
pub(crate) use throttle::{decode_throttle, encode_throttle};
pub(crate) use tokens::{TokenView, decode_token, decode_token_view, encode_token};
pub(crate) use users::{decode_server_user, encode_server_user};

/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// The older layout this build upgrades on open (see the version history above).
pub(crate) const UPGRADABLE_VERSION: u32 = 1;
