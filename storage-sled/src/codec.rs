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
//! | `i64`       | 8, little-endian two's complement (a [`Timestamp`], Unix seconds) |
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

mod external;
mod profile;
mod records;

use tessera_core::Timestamp;
use uuid::Uuid;

pub use external::{decode_server_user, encode_server_user};
pub use profile::{decode_profile, decode_verify_prefix, encode_profile, profile_version};
pub use records::{
    TokenView, command_expiry, decode_api_key, decode_command, decode_qr, decode_throttle,
    decode_token, decode_token_view, encode_api_key, encode_command, encode_qr, encode_throttle,
    encode_token,
};

/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// The older layout this build upgrades on open (see the version history above).
pub const UPGRADABLE_VERSION: u32 = 1;

/// Why a record did not decode: what was wrong and at which byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// What was wrong.
    pub what: &'static str,
    /// Offset into the value.
    pub offset: usize,
}

pub(crate) type Result<T> = std::result::Result<T, DecodeError>;

/// Append-only encoder.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn time(&mut self, t: Timestamp) {
        self.0.extend_from_slice(&t.0.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    pub(crate) fn uuid(&mut self, id: Uuid) {
        self.bytes(id.as_bytes());
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.bytes(s.as_bytes());
    }
    pub(crate) fn len(&mut self, n: usize) {
        // Records are bounded far below 4 GiB by the engine (names, hashes, 4 KiB meta).
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    pub(crate) fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                f(self, v);
            }
        }
    }
}

/// Strict decoder over one value.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(crate) const fn err(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos,
        }
    }
    /// An error about the byte just read.
    pub(crate) const fn bad_tag(&self, what: &'static str) -> DecodeError {
        DecodeError {
            what,
            offset: self.pos.saturating_sub(1),
        }
    }
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| self.err("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_le_bytes)
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_le_bytes)
    }
    pub(crate) fn time(&mut self) -> Result<Timestamp> {
        self.array().map(|a| Timestamp(i64::from_le_bytes(a)))
    }
    pub(crate) fn uuid(&mut self) -> Result<Uuid> {
        self.array().map(Uuid::from_bytes)
    }
    pub(crate) fn str(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let at = self.pos;
        let b = self.take(n)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| DecodeError {
                what: "invalid UTF-8",
                offset: at,
            })
    }
    pub(crate) fn count(&mut self) -> Result<usize> {
        let n = self.u32()? as usize;
        // Every element takes at least 4 bytes: refuse counts the value cannot hold, so a
        // corrupted count never drives a huge allocation.
        if n > (self.buf.len() - self.pos) / 4 {
            return Err(self.err("count larger than the record"));
        }
        Ok(n)
    }
    pub(crate) fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err(self.bad_tag("option tag is neither 0 nor 1")),
        }
    }
    pub(crate) fn end(&self) -> Result<()> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}

/// Decode a fixed-size value (an id, a key, a version).
pub fn decode_fixed<const N: usize>(b: &[u8]) -> Result<[u8; N]> {
    let mut r = Reader::new(b);
    let a = r.array::<N>()?;
    r.end()?;
    Ok(a)
}
