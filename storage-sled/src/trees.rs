//! The named sled trees and their key layouts. Values are described in [`crate::codec`].
//!
//! | tree             | key                                   | value                       |
//! |------------------|---------------------------------------|-----------------------------|
//! | `meta`           | `format_version`, `server_key`, `rsa_key` | `u32` LE / 32-byte seed / PKCS#8 DER |
//! | `profiles`       | profile id (16)                       | profile record              |
//! | `usernames`      | canonical username (UTF-8)            | profile id (16)             |
//! | `public_keys`    | Ed25519 key (32)                      | profile id (16)             |
//! | `devices`        | owner id (16)                         | device ids (16 each), in creation order |
//! | `tokens`         | token digest (32)                     | token record                |
//! | `profile_tokens` | profile id (16) ‖ token digest (32)   | empty                       |
//! | `family_tokens`  | family id (16) ‖ token digest (32)    | empty (tokens whose `family` is set) |
//! | `family_size`    | family id (16)                        | `u64` LE: how many tokens of the family are stored (absent when none) |
//! | `qr`             | QR token digest (32)                  | QR record                   |
//! | `owner_qr`       | owner id (16) ‖ QR digest (32)        | empty                       |
//! | `attach_gen`     | profile id (16)                       | `u64` LE: +1 whenever a token or QR token is attached to the profile |
//! | `commands`       | command id (16)                       | command record              |
//! | `throttle`       | throttle key (UTF-8)                  | throttle record             |
//! | `api_keys`       | API key digest (32)                   | API key record              |
//! | `external_users` | external id (UTF-8)                   | server-registered user record |
//! | `oauth_clients`  | client id (16)                        | application record          |
//! | `owner_clients`  | owner id (16) ‖ client id (16)        | empty                       |
//! | `oauth_grants`   | grant id (16)                         | grant record                |
//! | `client_grants`  | client id (16) ‖ grant id (16)        | empty                       |
//! | `profile_grants` | profile id (16) ‖ client id (16) ‖ grant id (16) | empty            |
//! | `consents`       | profile id (16) ‖ client id (16)      | consent record              |
//! | `client_consents`| client id (16) ‖ profile id (16)      | empty                       |
//! | `oauth_gen`      | client id (16), or client id (16) ‖ profile id (16) | `u64` LE: +1 whenever a grant or consent of the client (of the pair) is stored; removed with the client |
//! | `directories`    | directory id (16)                     | directory record            |
//! | `directory_short_names` | canonical short name (UTF-8)   | directory id (16)           |
//! | `memberships`    | directory id (16) ‖ profile id (16)   | membership record           |
//! | `members_by_seq` | directory id (16) ‖ member seq (u64 BE) | profile id (16): the listing, in join order |
//! | `profile_memberships` | profile id (16) ‖ directory id (16) | role tag (1 byte)        |
//! | `invitations`    | invitation id (16)                    | invitation record           |
//! | `directory_invitations` | directory id (16) ‖ invitation id (16) | `expires_at` (i64 LE) |
//! | `profile_invitations` | invitee id (16) ‖ invitation id (16) | empty                   |
//! | `nonces`         | nonce claim key (32)                  | `expires_at` (i64 BE)       |
//! | `nonce_expiry`   | `expires_at` (8, order-preserving big-endian) ‖ nonce claim key (32) | empty |
//! | `expiry`         | `expires_at` (8, order-preserving big-endian) ‖ kind (1: token, 2: QR, 3: command, 4: grant, 5: invitation) ‖ key in its tree | empty |
//!
//! Every index entry is written in the same transaction as its record, so an index entry
//! never outlives or precedes its record. `family_tokens`, `family_size` and
//! `external_users` are new in format 2, the OAuth trees (`oauth_clients` to `oauth_gen`),
//! expiry kind 4 and `meta`'s `rsa_key` in format 3 (see [`crate::codec`]), and so are the
//! directory trees (`directories` to `profile_invitations`) and expiry kind 5: format 3 was
//! not released before they were added. The directory trees are written only under the
//! store's directory lock (see `directory.rs`), so their scans are current.
//!
//! The two nonce trees (the message adapter's replay guard) came after format 3 was
//! released and need no new format: sled creates a tree when it is first opened, and a
//! build without them never opens them. Their expiry index is their own (not `expiry`), so an
//! older build's purge meets no kind it does not know.
//!
//! A device acting as its own client has grants whose client id is its own profile id,
//! with no `oauth_clients` record: they are indexed the same way, and their only counter
//! is the pair `device ‖ device` (only withdrawing a consent reads it; it is kept as long
//! as the device, there being no application to remove).

use sled::{Db, Tree};
use tessera_core::Timestamp;
use uuid::Uuid;

/// `meta` key of the format version.
pub(crate) const FORMAT_KEY: &[u8] = b"format_version";
/// `meta` key of the server key seed.
pub(crate) const SERVER_KEY: &[u8] = b"server_key";
/// `meta` key of the RSA signing key (PKCS#8 DER).
pub(crate) const RSA_KEY: &[u8] = b"rsa_key";

/// Expiry index kind of a token.
pub(crate) const EXP_TOKEN: u8 = 1;
/// Expiry index kind of a QR token.
pub(crate) const EXP_QR: u8 = 2;
/// Expiry index kind of a command.
pub(crate) const EXP_COMMAND: u8 = 3;
/// Expiry index kind of an OAuth grant.
pub(crate) const EXP_GRANT: u8 = 4;
/// Expiry index kind of a directory invitation.
pub(crate) const EXP_INVITATION: u8 = 5;

/// Every tree of the store, opened once.
#[derive(Clone)]
pub(crate) struct Trees {
    pub meta: Tree,
    pub profiles: Tree,
    pub usernames: Tree,
    pub public_keys: Tree,
    pub devices: Tree,
    pub tokens: Tree,
    pub profile_tokens: Tree,
    pub family_tokens: Tree,
    pub family_size: Tree,
    pub qr: Tree,
    pub owner_qr: Tree,
    pub attach_gen: Tree,
    pub commands: Tree,
    pub throttle: Tree,
    pub api_keys: Tree,
    /// Server-registered users (the tree kept its format-2 name, `external_users`).
    pub server_users: Tree,
    pub expiry: Tree,
    pub clients: Tree,
    pub owner_clients: Tree,
    pub grants: Tree,
    pub client_grants: Tree,
    pub profile_grants: Tree,
    pub consents: Tree,
    pub client_consents: Tree,
    pub oauth_gen: Tree,
    pub directories: Tree,
    pub short_names: Tree,
    pub memberships: Tree,
    pub members_by_seq: Tree,
    pub profile_memberships: Tree,
    pub invitations: Tree,
    pub directory_invitations: Tree,
    pub profile_invitations: Tree,
    pub nonces: Tree,
    pub nonce_expiry: Tree,
}

impl Trees {
    /// Open (or create) every tree of `db`.
    pub(crate) fn open(db: &Db) -> sled::Result<Self> {
        Ok(Self {
            meta: db.open_tree("meta")?,
            profiles: db.open_tree("profiles")?,
            usernames: db.open_tree("usernames")?,
            public_keys: db.open_tree("public_keys")?,
            devices: db.open_tree("devices")?,
            tokens: db.open_tree("tokens")?,
            profile_tokens: db.open_tree("profile_tokens")?,
            family_tokens: db.open_tree("family_tokens")?,
            family_size: db.open_tree("family_size")?,
            qr: db.open_tree("qr")?,
            owner_qr: db.open_tree("owner_qr")?,
            attach_gen: db.open_tree("attach_gen")?,
            commands: db.open_tree("commands")?,
            throttle: db.open_tree("throttle")?,
            api_keys: db.open_tree("api_keys")?,
            server_users: db.open_tree("external_users")?,
            expiry: db.open_tree("expiry")?,
            clients: db.open_tree("oauth_clients")?,
            owner_clients: db.open_tree("owner_clients")?,
            grants: db.open_tree("oauth_grants")?,
            client_grants: db.open_tree("client_grants")?,
            profile_grants: db.open_tree("profile_grants")?,
            consents: db.open_tree("consents")?,
            client_consents: db.open_tree("client_consents")?,
            oauth_gen: db.open_tree("oauth_gen")?,
            directories: db.open_tree("directories")?,
            short_names: db.open_tree("directory_short_names")?,
            memberships: db.open_tree("memberships")?,
            members_by_seq: db.open_tree("members_by_seq")?,
            profile_memberships: db.open_tree("profile_memberships")?,
            invitations: db.open_tree("invitations")?,
            directory_invitations: db.open_tree("directory_invitations")?,
            profile_invitations: db.open_tree("profile_invitations")?,
            nonces: db.open_tree("nonces")?,
            nonce_expiry: db.open_tree("nonce_expiry")?,
        })
    }

    /// Whether any tree but `meta` holds a record.
    pub(crate) fn any_data(&self) -> bool {
        [
            &self.profiles,
            &self.usernames,
            &self.public_keys,
            &self.devices,
            &self.tokens,
            &self.profile_tokens,
            &self.family_tokens,
            &self.family_size,
            &self.qr,
            &self.owner_qr,
            &self.attach_gen,
            &self.commands,
            &self.throttle,
            &self.api_keys,
            &self.server_users,
            &self.expiry,
            &self.clients,
            &self.owner_clients,
            &self.grants,
            &self.client_grants,
            &self.profile_grants,
            &self.consents,
            &self.client_consents,
            &self.oauth_gen,
            &self.directories,
            &self.short_names,
            &self.memberships,
            &self.members_by_seq,
            &self.profile_memberships,
            &self.invitations,
            &self.directory_invitations,
            &self.profile_invitations,
            &self.nonces,
            &self.nonce_expiry,
        ]
        .iter()
        .any(|t| !t.is_empty())
    }
}

/// `id ‖ digest`: a `profile_tokens`, `family_tokens` or `owner_qr` key.
pub(crate) fn pair_key(id: Uuid, digest: &[u8; 32]) -> [u8; 48] {
    let mut k = [0u8; 48];
    k[..16].copy_from_slice(id.as_bytes());
    k[16..].copy_from_slice(digest);
    k
}

/// `a ‖ b`: an `owner_clients`, `client_grants`, `consents`, `client_consents` or
/// `oauth_gen` key.
pub(crate) fn id_pair(a: Uuid, b: Uuid) -> [u8; 32] {
    let mut k = [0u8; 32];
    k[..16].copy_from_slice(a.as_bytes());
    k[16..].copy_from_slice(b.as_bytes());
    k
}

/// `profile ‖ client ‖ grant`: a `profile_grants` key.
pub(crate) fn id_triple(profile: Uuid, client: Uuid, grant: Uuid) -> [u8; 48] {
    let mut k = [0u8; 48];
    k[..32].copy_from_slice(&id_pair(profile, client));
    k[32..].copy_from_slice(grant.as_bytes());
    k
}

/// Timestamps as big-endian with the sign bit flipped, so byte order is time order.
pub(crate) const fn time_key(t: Timestamp) -> [u8; 8] {
    ((t.0 as u64) ^ (1 << 63)).to_be_bytes()
}

/// An `expiry` key.
pub(crate) fn expiry_key(at: Timestamp, kind: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.extend_from_slice(&time_key(at));
    k.push(kind);
    k.extend_from_slice(key);
    k
}

/// A parsed `expiry` key.
pub(crate) struct ExpiryEntry<'a> {
    /// When the record expires.
    pub at: Timestamp,
    /// [`EXP_TOKEN`], [`EXP_QR`], [`EXP_COMMAND`], [`EXP_GRANT`] or [`EXP_INVITATION`].
    pub kind: u8,
    /// The record's key in its tree.
    pub key: &'a [u8],
}

/// Parse an `expiry` key; `None` if it is malformed.
pub(crate) fn parse_expiry_key(k: &[u8]) -> Option<ExpiryEntry<'_>> {
    let (time, rest) = k.split_first_chunk::<8>()?;
    let (&kind, key) = rest.split_first()?;
    let at = Timestamp((u64::from_be_bytes(*time) ^ (1 << 63)) as i64);
    let ok = match kind {
        EXP_TOKEN | EXP_QR => key.len() == 32,
        EXP_COMMAND | EXP_GRANT | EXP_INVITATION => key.len() == 16,
        _ => false,
    };
    ok.then_some(ExpiryEntry { at, kind, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_keys_sort_like_time() {
        let ts = [i64::MIN, -1, 0, 1, 1000, i64::MAX];
        for w in ts.windows(2) {
            assert!(time_key(Timestamp(w[0])) < time_key(Timestamp(w[1])));
        }
        let k = expiry_key(Timestamp(-7), EXP_COMMAND, &[3; 16]);
        let e = parse_expiry_key(&k).unwrap();
        assert_eq!(
            (e.at, e.kind, e.key),
            (Timestamp(-7), EXP_COMMAND, &[3u8; 16][..])
        );
        assert!(parse_expiry_key(&k[..20]).is_none());
    }
}
