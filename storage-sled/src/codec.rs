//! The on-disk record layout, format version 3. Hand-written so the bytes never drift with
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
//!   `store/upgrade.rs`).
//! - **3** — format 2 plus the OAuth token kinds 8 (OAuth access), 9 (OAuth refresh),
//!   10 (OAuth refresh, used), 11 (authorization code), 12 (code, exchanged) and 13 (browser
//!   session), the trees `oauth_clients`, `owner_clients`, `oauth_grants`, `client_grants`,
//!   `profile_grants`, `consents`, `client_consents` and `oauth_gen`, the expiry kind 4
//!   (grant) and the `meta` key `rsa_key`. Every record of format 2 reads unchanged. Bumped
//!   for the reason format 2 was: a format-2 build would refuse the new token kinds record
//!   by record and, not knowing the grants, leave them behind when it purges; it now refuses
//!   the whole store at open. A format-2 store is upgraded at open by stamping version 3
//!   (its new trees start empty; nothing else changes); a format-1 store is first given
//!   the family index as above, then stamped 3. Any other version is refused with
//!   `StoreError::Corrupt`. The directory trees (`directories`, `directory_short_names`,
//!   `memberships`, `members_by_seq`, `profile_memberships`, `invitations`,
//!   `directory_invitations`, `profile_invitations`) and the expiry kind 5 (invitation)
//!   belong to format 3 as well (it was not released without them); they start empty in
//!   every upgraded store.
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
//!   2 refresh, 5 refresh already rotated, 6 password-reset code, 7 challenge session,
//!   8 OAuth access, 9 OAuth refresh, 10 OAuth refresh already rotated, 11 authorization
//!   code, 12 code already exchanged, 13 browser session; 3 and 4 are never stored here) ·
//!   `issued_at i64` · `expires_at i64` · `family opt<uuid>` (the refresh family or OAuth
//!   grant; every token with a family is also in `family_tokens`).
//! - **QR token** (key: digest): `owner uuid` · `issued_at i64` · `expires_at i64` ·
//!   `device_name opt<str>`.
//! - **command** (key: id): `profile_id opt<uuid>` · `status u8` (1, 2, 3) ·
//!   `created_at i64` · `expires_at i64` · `body str` · `result list<(str, str)>`.
//! - **throttle** (key: the throttle key's UTF-8): `failures u32` · `last_failure i64`.
//! - **API key** (key: digest): `created_at i64` · `name str`.
//! - **external user** (key: the external id's UTF-8): `profile_id uuid` ·
//!   `created_at i64` · `updated_at i64` · `email opt<str>` · `metadata opt<str>` (a JSON
//!   object's text, stored as given).
//! - **application** (`oauth_clients`, key: client id): `owner uuid` · `name str` ·
//!   `flags u8` (bit 0 confidential, bit 1 first-party; other bits 0) ·
//!   `redirect_uris list<str>` · `scopes list<str>` · `id_token_alg u8`
//!   ([`IdTokenAlg::tag`](tessera_core::store::IdTokenAlg::tag): 1 RS256, 2 EdDSA) ·
//!   `secret opt<[32]>` (SHA-256 of the secret) · `pending_secret opt<str>` ·
//!   `created_at i64` · `updated_at i64` · `version u64`.
//! - **grant** (`oauth_grants`, key: grant id): `client_id uuid` · `profile_id uuid` ·
//!   `scopes list<str>` · `redirect_uri opt<str>` · `code_challenge opt<str>` ·
//!   `nonce opt<str>` · `auth_time i64` · `created_at i64` · `expires_at i64`.
//! - **consent** (`consents`, key: profile id ‖ client id): `scopes list<str>` ·
//!   `granted_at i64`.
//! - **OAuth generation** (`oauth_gen`): `u64`.
//! - **directory** (`directories`, key: directory id): `owner uuid` · `name str` ·
//!   `short_name str` (canonical) · `meta opt<str>` (a JSON object's text) ·
//!   `created_at i64` · `updated_at i64` · `version u64` · `last_member_seq u64`.
//! - **membership** (`memberships`, key: directory id ‖ profile id): `role u8`
//!   ([`DirectoryRole::tag`](tessera_core::store::DirectoryRole::tag): 1 owner, 2 admin,
//!   3 member) · `given_name opt<str>` · `family_name opt<str>` · `meta opt<str>` ·
//!   `flags u8` (bit 0: the directory created the profile; other bits 0) ·
//!   `joined_at i64` · `seq u64` · `version u64`.
//! - **invitation** (`invitations`, key: invitation id): `directory_id uuid` ·
//!   `username str` · `invitee opt<uuid>` · `role u8` · `invited_by uuid` ·
//!   `created_at i64` · `expires_at i64`.
//! - **membership role** (`profile_memberships`): the role tag, 1 byte.
//! - **invitation expiry** (`directory_invitations`): `expires_at i64`.
//! - **RSA key** (`meta` tree, key `rsa_key`): the PKCS#8 DER bytes as given.
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
mod directory;
mod keys;
mod oauth;
mod profiles;
mod qr;
mod throttle;
mod tokens;
mod users;

pub(crate) use bytes::{DecodeError, decode_fixed};
pub(crate) use commands::{command_expiry, decode_command, encode_command};
pub(crate) use directory::{
    decode_directory, decode_invitation, decode_membership, encode_directory, encode_invitation,
    encode_membership,
};
pub(crate) use keys::{decode_api_key, encode_api_key};
pub(crate) use oauth::{
    decode_client, decode_consent, decode_grant, encode_client, encode_consent, encode_grant,
};
pub(crate) use profiles::{
    decode_profile, decode_verify_prefix, encode_profile, profile_kind_version,
};
pub(crate) use qr::{decode_qr, encode_qr};
pub(crate) use throttle::{decode_throttle, encode_throttle};
pub(crate) use tokens::{TokenView, decode_token, decode_token_view, encode_token};
pub(crate) use users::{decode_server_user, encode_server_user};

/// The layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;

/// The older layouts this build upgrades on open (see the version history above).
pub(crate) const UPGRADABLE_VERSIONS: [u32; 2] = [1, 2];
