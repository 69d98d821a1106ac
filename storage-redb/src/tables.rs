//! The redb tables of format version 3 and the byte layout of their keys.
//!
//! Every key is a fixed-width byte array (`&[u8; N]`, compared bytewise) or a `&str`;
//! every record value is `&[u8]` in a layout of [`crate::codec`]. Index tables hold no
//! data of their own: each entry is written and removed in the same write transaction as
//! the record it points to, so a reader never sees one without the other.
//!
//! | table               | key                                          | value            |
//! |---------------------|----------------------------------------------|------------------|
//! | `meta`              | name (`format_version`, `device_seq`, `server_key`, `rsa_key`) | bytes |
//! | `profiles`          | profile id (16)                              | profile record   |
//! | `usernames`         | canonical username (str)                     | profile id (16)  |
//! | `public_keys`       | Ed25519 public key (32)                      | profile id (16)  |
//! | `devices`           | owner id (16) ‖ creation sequence (u64 BE)   | device id (16)   |
//! | `tokens`            | token digest (32)                            | token record     |
//! | `tokens_by_profile` | profile id (16) ‖ token digest (32)          | `()`             |
//! | `tokens_by_family`  | family id (16) ‖ token digest (32)           | `()`             |
//! | `qr`                | QR digest (32)                               | QR record        |
//! | `qr_by_owner`       | owner id (16) ‖ QR digest (32)               | `()`             |
//! | `commands`          | command id (16)                              | command record   |
//! | `expiry`            | expires_at (8, [`time_key`]) ‖ kind (1) ‖ id (32) | `()`        |
//! | `throttle`          | throttle key (str)                           | throttle record  |
//! | `api_keys`          | API key digest (32)                          | API key record   |
//! | `external_users`    | external id (str)                            | external user record |
//! | `oauth_clients`     | client id (16)                               | client record    |
//! | `oauth_clients_by_owner` | owner id (16) ‖ created_at (8, [`time_key`]) ‖ client id (16) | `()` |
//! | `oauth_grants`      | grant id (16)                                | grant record     |
//! | `oauth_grants_by_client` | client id (16) ‖ grant id (16)          | `()`             |
//! | `oauth_grants_by_profile` | profile id (16) ‖ client id (16) ‖ grant id (16) | `()`  |
//! | `oauth_consents`    | profile id (16) ‖ client id (16)             | consent record   |
//! | `oauth_consents_by_client` | client id (16) ‖ profile id (16)      | `()`             |
//! | `directories`       | directory id (16)                            | directory record |
//! | `directory_short_names` | canonical short name (str)               | directory id (16) |
//! | `memberships`       | directory id (16) ‖ profile id (16)          | membership record |
//! | `members_by_seq`    | directory id (16) ‖ member seq (u64 BE)      | profile id (16)  |
//! | `memberships_by_profile` | profile id (16) ‖ directory id (16)     | role tag (u8)    |
//! | `invitations`       | invitation id (16)                           | invitation record |
//! | `invitations_by_directory` | directory id (16) ‖ invitation id (16) | expires_at (i64) |
//! | `invitations_by_profile` | invitee id (16) ‖ invitation id (16)    | `()`             |
//! | `nonces`            | nonce claim key (32)                         | expires_at (i64) |
//! | `nonces_by_expiry`  | expires_at (8, [`time_key`]) ‖ nonce claim key (32) | `()`      |
//!
//! `tokens_by_family` and `external_users` are new in format version 2 (see
//! [`crate::codec`] for the upgrade of a version-1 file). `tokens_by_family` lists every
//! token whose record has a family, of any kind, expired or not, so revoking a family
//! (and the reuse path of a refresh rotation) is one range read, never a scan.
//!
//! The seven `oauth_` tables are new in format version 3. `oauth_clients_by_owner` lists an
//! owner's applications in the order `list_clients` returns them (creation time, then id);
//! `oauth_grants_by_client` and `oauth_consents_by_client` are what removing an application
//! reads, `oauth_grants_by_profile` what withdrawing a consent reads: each is one range read.
//! Every grant also has an `expiry` entry (kind 4), so the purge removes expired grants.
//! A device acting as its own client has grants whose client id is its own profile id
//! (there is no `oauth_clients` record of it): they are indexed the same way, no removal
//! of an application reaches them, and they go with the purge once expired (their tokens
//! with the device's, by profile).
//!
//! The eight directory tables are part of format version 3 too (it was not released before
//! they were added). `members_by_seq` is the member listing, in join order;
//! `memberships_by_profile` (with the role, so counting owned directories reads no record)
//! what a profile's directories and the bounds read; the two invitation indexes what
//! listing, counting live invitations (the value is the expiry) and removing a directory
//! read. Every invitation also has an `expiry` entry (kind 5), so the purge removes expired
//! invitations.
//!
//! The two nonce tables (the message adapter's replay guard) came after format version 3
//! was released and need no new version: a write transaction creates them when it first
//! opens them (a claim, a purge), nothing reads them outside one, and a build without them
//! never opens them. Their expiry index is their own (not `expiry`), so an older build's
//! purge meets no record kind it does not know.
//!
//! Big-endian integers in keys make byte order equal numeric order, so `devices` lists
//! an owner's devices in creation order and `expiry` yields the earliest expiry first.

use redb::TableDefinition;
use tessera_core::Timestamp;
use tessera_core::token::TokenDigest;
use uuid::Uuid;

/// Format metadata: `format_version` (u32 LE), `device_seq` (u64 LE), `server_key` (32).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Profile records by id.
pub(crate) const PROFILES: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("profiles");
/// Canonical username → profile id.
pub(crate) const USERNAMES: TableDefinition<&str, &[u8; 16]> = TableDefinition::new("usernames");
/// Public key → profile id.
pub(crate) const PUBLIC_KEYS: TableDefinition<&[u8; 32], &[u8; 16]> =
    TableDefinition::new("public_keys");
/// Owner ‖ creation sequence → device profile id.
pub(crate) const DEVICES: TableDefinition<&[u8; 24], &[u8; 16]> = TableDefinition::new("devices");
/// Token records by digest.
pub(crate) const TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tokens");
/// Profile ‖ token digest.
pub(crate) const TOKENS_BY_PROFILE: TableDefinition<&[u8; 48], ()> =
    TableDefinition::new("tokens_by_profile");
/// Family ‖ token digest, for every token that has a family.
pub(crate) const TOKENS_BY_FAMILY: TableDefinition<&[u8; 48], ()> =
    TableDefinition::new("tokens_by_family");
/// QR records by digest.
pub(crate) const QR: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("qr");
/// Owner ‖ QR digest.
pub(crate) const QR_BY_OWNER: TableDefinition<&[u8; 48], ()> = TableDefinition::new("qr_by_owner");
/// Command records by id.
pub(crate) const COMMANDS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("commands");
/// Expiry ‖ kind ‖ id of every token, QR token and command.
pub(crate) const EXPIRY: TableDefinition<&[u8; 41], ()> = TableDefinition::new("expiry");
/// Throttle records by key.
pub(crate) const THROTTLE: TableDefinition<&str, &[u8]> = TableDefinition::new("throttle");
/// API key records by digest.
pub(crate) const API_KEYS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("api_keys");
/// Server-registered user records by external id (the table kept its format-2 name).
pub(crate) const SERVER_USERS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("external_users");

/// OAuth application records by client id.
pub(crate) const OAUTH_CLIENTS: TableDefinition<&[u8; 16], &[u8]> =
    TableDefinition::new("oauth_clients");
/// Owner ‖ created_at ‖ client id.
pub(crate) const OAUTH_CLIENTS_BY_OWNER: TableDefinition<&[u8; 40], ()> =
    TableDefinition::new("oauth_clients_by_owner");
/// OAuth grant records by grant id.
pub(crate) const OAUTH_GRANTS: TableDefinition<&[u8; 16], &[u8]> =
    TableDefinition::new("oauth_grants");
/// Client id ‖ grant id.
pub(crate) const OAUTH_GRANTS_BY_CLIENT: TableDefinition<&[u8; 32], ()> =
    TableDefinition::new("oauth_grants_by_client");
/// Profile id ‖ client id ‖ grant id.
pub(crate) const OAUTH_GRANTS_BY_PROFILE: TableDefinition<&[u8; 48], ()> =
    TableDefinition::new("oauth_grants_by_profile");
/// Consent records by profile id ‖ client id.
pub(crate) const OAUTH_CONSENTS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("oauth_consents");
/// Client id ‖ profile id, for every consent.
pub(crate) const OAUTH_CONSENTS_BY_CLIENT: TableDefinition<&[u8; 32], ()> =
    TableDefinition::new("oauth_consents_by_client");

/// Directory records by id.
pub(crate) const DIRECTORIES: TableDefinition<&[u8; 16], &[u8]> =
    TableDefinition::new("directories");
/// Canonical short name → directory id.
pub(crate) const DIRECTORY_SHORT_NAMES: TableDefinition<&str, &[u8; 16]> =
    TableDefinition::new("directory_short_names");
/// Membership records by directory id ‖ profile id.
pub(crate) const MEMBERSHIPS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("memberships");
/// Directory id ‖ member seq → profile id: the listing order.
pub(crate) const MEMBERS_BY_SEQ: TableDefinition<&[u8; 24], &[u8; 16]> =
    TableDefinition::new("members_by_seq");
/// Profile id ‖ directory id → role tag.
pub(crate) const MEMBERSHIPS_BY_PROFILE: TableDefinition<&[u8; 32], u8> =
    TableDefinition::new("memberships_by_profile");
/// Invitation records by id.
pub(crate) const INVITATIONS: TableDefinition<&[u8; 16], &[u8]> =
    TableDefinition::new("invitations");
/// Directory id ‖ invitation id → expires_at.
pub(crate) const INVITATIONS_BY_DIRECTORY: TableDefinition<&[u8; 32], i64> =
    TableDefinition::new("invitations_by_directory");
/// Invitee id ‖ invitation id.
pub(crate) const INVITATIONS_BY_PROFILE: TableDefinition<&[u8; 32], ()> =
    TableDefinition::new("invitations_by_profile");

/// Nonce claims: key → expires_at.
pub(crate) const NONCES: TableDefinition<&[u8; 32], i64> = TableDefinition::new("nonces");
/// Expiry ‖ nonce claim key, for the purge.
pub(crate) const NONCES_BY_EXPIRY: TableDefinition<&[u8; 40], ()> =
    TableDefinition::new("nonces_by_expiry");

/// `meta` key of the format version.
pub(crate) const META_FORMAT_VERSION: &str = "format_version";
/// `meta` key of the device creation counter.
pub(crate) const META_DEVICE_SEQ: &str = "device_seq";
/// `meta` key of the server signing-key seed.
pub(crate) const META_SERVER_KEY: &str = "server_key";
/// `meta` key of the RSA signing key (PKCS#8 DER).
pub(crate) const META_RSA_KEY: &str = "rsa_key";

/// Which record an `expiry` entry points to (byte 8 of its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Expiring {
    /// A token; the id is its digest.
    Token = 1,
    /// A QR token; the id is its digest.
    Qr = 2,
    /// A command; the id is its uuid followed by 16 zero bytes.
    Command = 3,
    /// An OAuth grant; the id is its uuid followed by 16 zero bytes.
    Grant = 4,
    /// A directory invitation; the id is its uuid followed by 16 zero bytes.
    Invitation = 5,
}

impl Expiring {
    /// Inverse of `as u8`.
    pub(crate) const fn from_u8(n: u8) -> Option<Self> {
        match n {
            1 => Some(Self::Token),
            2 => Some(Self::Qr),
            3 => Some(Self::Command),
            4 => Some(Self::Grant),
            5 => Some(Self::Invitation),
            _ => None,
        }
    }
}

/// A timestamp as 8 bytes whose byte order is its numeric order (sign bit flipped, BE).
pub(crate) const fn time_key(t: Timestamp) -> [u8; 8] {
    ((t.0 as u64) ^ (1 << 63)).to_be_bytes()
}

/// `expiry` key of a record.
pub(crate) fn expiry_key(expires_at: Timestamp, kind: Expiring, id: &[u8]) -> [u8; 41] {
    let mut k = [0u8; 41];
    k[..8].copy_from_slice(&time_key(expires_at));
    k[8] = kind as u8;
    k[9..9 + id.len()].copy_from_slice(id);
    k
}

/// The first `expiry` key after every entry that expires at or before `now`.
pub(crate) fn expiry_bound(now: Timestamp) -> Option<[u8; 41]> {
    let next = now.0.checked_add(1)?;
    let mut k = [0u8; 41];
    k[..8].copy_from_slice(&time_key(Timestamp(next)));
    Some(k)
}

/// `tokens_by_profile` / `tokens_by_family` / `qr_by_owner` key.
pub(crate) fn pair_key(profile: Uuid, digest: &TokenDigest) -> [u8; 48] {
    let mut k = [0u8; 48];
    k[..16].copy_from_slice(profile.as_bytes());
    k[16..].copy_from_slice(&digest.0);
    k
}

/// The inclusive range of `pair_key`s of one profile (or family).
pub(crate) fn pair_range(profile: Uuid) -> ([u8; 48], [u8; 48]) {
    let mut lo = [0u8; 48];
    lo[..16].copy_from_slice(profile.as_bytes());
    let mut hi = [0xffu8; 48];
    hi[..16].copy_from_slice(profile.as_bytes());
    (lo, hi)
}

/// A key of `N` bytes made of `parts`, in order (their lengths add up to `N`).
pub(crate) fn key<const N: usize>(parts: &[&[u8]]) -> [u8; N] {
    let mut k = [0u8; N];
    let mut at = 0;
    for p in parts {
        k[at..at + p.len()].copy_from_slice(p);
        at += p.len();
    }
    debug_assert_eq!(at, N, "key parts do not fill the key");
    k
}

/// The inclusive range of the `N`-byte keys that start with `prefix`.
pub(crate) fn prefix_range<const N: usize>(prefix: &[u8]) -> ([u8; N], [u8; N]) {
    let mut lo = [0u8; N];
    lo[..prefix.len()].copy_from_slice(prefix);
    let mut hi = [0xffu8; N];
    hi[..prefix.len()].copy_from_slice(prefix);
    (lo, hi)
}

/// `oauth_clients_by_owner` key.
pub(crate) fn owner_client_key(owner: Uuid, created_at: Timestamp, client: Uuid) -> [u8; 40] {
    key(&[owner.as_bytes(), &time_key(created_at), client.as_bytes()])
}

/// `devices` key.
pub(crate) fn device_key(owner: Uuid, seq: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
    k[..16].copy_from_slice(owner.as_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Lowercase hex of a key, for error locations.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_as_numbers() {
        let ts = [i64::MIN, -5, -1, 0, 1, 1_767_225_600, i64::MAX];
        for w in ts.windows(2) {
            assert!(time_key(Timestamp(w[0])) < time_key(Timestamp(w[1])));
        }
    }

    #[test]
    fn expiry_bound_covers_now_and_not_later() {
        let now = Timestamp(100);
        let b = expiry_bound(now).unwrap();
        let at_now = expiry_key(now, Expiring::Command, &[0xff; 32]);
        let later = expiry_key(Timestamp(101), Expiring::Token, &[0; 32]);
        assert!(at_now < b);
        assert!(later >= b);
        assert!(expiry_bound(Timestamp(i64::MAX)).is_none());
    }
}
