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
//! - **2**: adds the tables `tokens_by_family` and `external_users`, and token kinds 5–7
//!   (`RefreshUsed`, `ResetCode`, `Session`). Every record layout of version 1 is unchanged
//!   (the token record already carried its family).
//! - **3** (this build): adds the seven `oauth_` tables (applications, grants, consents and
//!   their indexes, see [`crate::tables`]), the `expiry` record kind 4 (grants), the `meta`
//!   key `rsa_key`, and token kinds 8–13 (`OAuthAccess`, `OAuthRefresh`, `OAuthRefreshUsed`,
//!   `OAuthCode`, `OAuthCodeUsed`, `Browser`); and the eight directory tables (directories,
//!   memberships, invitations and their indexes) with the `expiry` record kind 5
//!   (invitations). Every record layout of version 2 is unchanged.
//!
//! An older store is upgraded at open, in one write transaction committed with
//! `Durability::Immediate`. From version 1: `tokens_by_family` and `external_users` are
//! created and `tokens_by_family` is filled from the family field of every stored token
//! (then on as from version 2). From version 2: the `oauth_` and directory tables are
//! created (empty: nothing older holds OAuth or directory data). Then the version is
//! stamped 3. (A version-3 file written before the directory tables were added, by an
//! unreleased build, gets them, empty, at open.) A crash before the
//! commit leaves the older store as it was, upgraded again at the next open. After it,
//! older builds refuse the store (they would not keep the new indexes, and would fail on
//! the new token and expiry kinds). Any other version (0, 4, …) is refused with `Corrupt`.
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
//! | 16 | 1 | token kind (`TokenKind::tag`): 1 authorization, 2 refresh, 3 QR, 4 API key, 5 used refresh, 6 reset code, 7 session, 8 OAuth access, 9 OAuth refresh, 10 used OAuth refresh, 11 OAuth code, 12 used OAuth code, 13 browser session |
//! | 17 | 8 | issued_at (ts) |
//! | 25 | 8 | expires_at (ts) |
//! | 33 | 1 | 1 if a family follows (a login's refresh family, an OAuth grant), else 0 |
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
//! ## OAuth application (`oauth_clients`, key = client id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | owner id |
//! | 16 | 1 | flags: 1 confidential, 2 first party, 4 secret digest, 8 pending secret |
//! | 17 | 1 | id token algorithm (`IdTokenAlg::tag`): 1 RS256, 2 EdDSA |
//! | 18 | 8 | created_at (ts) |
//! | 26 | 8 | updated_at (ts) |
//! | 34 | 8 | version (u64) |
//! | 42 | 32 | SHA-256 of the client secret (only with flag 4) |
//! | | str | name |
//! | | 4 | redirect URI count `n` (u32) |
//! | | … | `n` × str redirect URI, in registration order |
//! | | 4 | scope count `m` (u32) |
//! | | … | `m` × str scope |
//! | | str | pending secret text (only with flag 8) |
//!
//! ## OAuth grant (`oauth_grants`, key = grant id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | client id |
//! | 16 | 16 | profile id |
//! | 32 | 8 | auth_time (ts) |
//! | 40 | 8 | created_at (ts) |
//! | 48 | 8 | expires_at (ts) |
//! | 56 | 1 | flags: 1 redirect URI, 2 code challenge, 4 nonce |
//! | 57 | 4 | scope count `n` (u32) |
//! | 61 | … | `n` × str scope, in request order |
//! | | str | redirect URI (only with flag 1) |
//! | | str | PKCE code challenge (only with flag 2) |
//! | | str | nonce (only with flag 4) |
//!
//! ## Consent (`oauth_consents`, key = profile id ‖ client id)
//!
//! granted_at (ts) ‖ scope count (u32) ‖ that many × scope (str).
//!
//! ## Directory (`directories`, key = directory id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | owner id |
//! | 16 | 8 | created_at (ts) |
//! | 24 | 8 | updated_at (ts) |
//! | 32 | 8 | version (u64) |
//! | 40 | 8 | last_member_seq (u64) |
//! | 48 | 1 | flags: 1 meta |
//! | 49 | str | name |
//! | | str | canonical short name |
//! | | str | meta, a JSON object's text (only with flag 1) |
//!
//! ## Membership (`memberships`, key = directory id ‖ profile id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 1 | role (`DirectoryRole::tag`): 1 owner, 2 admin, 3 member |
//! | 1 | 1 | flags: 1 given name, 2 family name, 4 meta, 8 created by the directory |
//! | 2 | 8 | joined_at (ts) |
//! | 10 | 8 | seq (u64) |
//! | 18 | 8 | version (u64) |
//! | 26 | str | given name (only with flag 1) |
//! | | str | family name (only with flag 2) |
//! | | str | meta, a JSON object's text (only with flag 4) |
//!
//! ## Invitation (`invitations`, key = invitation id)
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 16 | directory id |
//! | 16 | 16 | invited_by (profile id) |
//! | 32 | 8 | created_at (ts) |
//! | 40 | 8 | expires_at (ts) |
//! | 48 | 1 | role (`DirectoryRole::tag`) |
//! | 49 | 1 | flags: 1 invitee |
//! | 50 | 16 | invitee profile id (zero without flag 1) |
//! | 66 | str | canonical username |
//!
//! ## Meta (`meta`)
//!
//! `format_version`: u32; `device_seq`: u64 (last device sequence number used);
//! `server_key`: the 32-byte seed; `rsa_key`: the RSA signing key, PKCS#8 DER bytes as
//! given (any length).

mod bytes;
mod commands;
mod directory;
mod keys;
mod oauth;
mod profiles;
mod qr;
mod throttle;
mod tokens;
mod users;

pub(crate) use bytes::{DecodeError, decode_fixed};
pub(crate) use commands::{decode_command, encode_command};
pub(crate) use directory::{
    decode_directory, decode_invitation, decode_membership, encode_directory, encode_invitation,
    encode_membership,
};
pub(crate) use keys::{decode_api_key, encode_api_key};
pub(crate) use oauth::{
    decode_client, decode_consent, decode_grant, encode_client, encode_consent, encode_grant,
};
pub(crate) use profiles::{decode_profile, decode_resolved, encode_profile};
pub(crate) use qr::{decode_qr, encode_qr};
pub(crate) use throttle::{decode_throttle, encode_throttle};
pub(crate) use tokens::{decode_token, encode_token};
pub(crate) use users::{decode_server_user, encode_server_user};

/// The layout version this build writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 3;

/// The older versions this build upgrades at open (see "Format versions" above).
pub(crate) const UPGRADABLE_VERSIONS: [u32; 2] = [1, 2];

#[cfg(test)]
mod tests;
