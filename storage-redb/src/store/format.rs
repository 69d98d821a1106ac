//! The format version at open: stamp a new file, upgrade a version-1 or version-2 file in
//! place, refuse any other (see "Format versions" in [`crate::codec`]).

use redb::{ReadTransaction, ReadableTable, TableHandle as _, WriteTransaction};
use tessera_core::token::TokenDigest;

use super::Inner;
use crate::codec::{self, FORMAT_VERSION, UPGRADABLE_VERSIONS};
use crate::error::{Failure, Fallible, corrupt};
use crate::tables as t;

const PLACE: &str = "table `meta`, key format_version";

impl Inner {
    /// Stamp a new file with [`FORMAT_VERSION`] and create every table; upgrade a file of
    /// one of [`UPGRADABLE_VERSIONS`] (in one durable write transaction); refuse a file
    /// stamped with another version, or one with tables but no stamp.
    pub(super) fn check_format(&self) -> Fallible<()> {
        let tx = self.db.begin_write()?;
        if tx.list_tables()?.next().is_none() {
            tx.abort()?;
            return self.write(create_tables);
        }
        tx.abort()?;
        match self.read(format_version)? {
            Some(FORMAT_VERSION) if self.read(has_directory_tables)? => Ok(()),
            // written by an unreleased version-3 build from before the directory tables
            Some(FORMAT_VERSION) => self.write(create_directory_tables),
            Some(1) => self.write(|tx| {
                upgrade_1_to_2(tx)?;
                create_oauth_tables(tx)?;
                create_directory_tables(tx)?;
                stamp(tx)
            }),
            Some(2) => self.write(|tx| {
                create_oauth_tables(tx)?;
                create_directory_tables(tx)?;
                stamp(tx)
            }),
            Some(v) => Err(self.unknown_version(v)),
            None => Err(corrupt(&self.file, PLACE, "the format version record is missing").into()),
        }
    }

    fn unknown_version(&self, v: u32) -> Failure {
        corrupt(
            &self.file,
            PLACE,
            format!(
                "unknown format version {v} (this build reads {FORMAT_VERSION} and upgrades \
                 {} and {})",
                UPGRADABLE_VERSIONS[0], UPGRADABLE_VERSIONS[1]
            ),
        )
        .into()
    }
}

/// Every table of the current version, and the stamp.
fn create_tables(tx: &WriteTransaction) -> Fallible<()> {
    stamp(tx)?;
    tx.open_table(t::PROFILES)?;
    tx.open_table(t::USERNAMES)?;
    tx.open_table(t::PUBLIC_KEYS)?;
    tx.open_table(t::DEVICES)?;
    tx.open_table(t::TOKENS)?;
    tx.open_table(t::TOKENS_BY_PROFILE)?;
    tx.open_table(t::TOKENS_BY_FAMILY)?;
    tx.open_table(t::QR)?;
    tx.open_table(t::QR_BY_OWNER)?;
    tx.open_table(t::COMMANDS)?;
    tx.open_table(t::EXPIRY)?;
    tx.open_table(t::THROTTLE)?;
    tx.open_table(t::API_KEYS)?;
    tx.open_table(t::SERVER_USERS)?;
    tx.open_table(t::NONCES)?;
    tx.open_table(t::NONCES_BY_EXPIRY)?;
    create_oauth_tables(tx)?;
    create_directory_tables(tx)
}

fn stamp(tx: &WriteTransaction) -> Fallible<()> {
    tx.open_table(t::META)?.insert(
        t::META_FORMAT_VERSION,
        FORMAT_VERSION.to_le_bytes().as_slice(),
    )?;
    Ok(())
}

/// Version 1 → 2, in the caller's one transaction: the two new tables and the family index
/// of every stored token. A token that does not decode aborts the upgrade (`Corrupt`,
/// naming it), leaving the version-1 file untouched.
fn upgrade_1_to_2(tx: &WriteTransaction) -> Fallible<()> {
    tx.open_table(t::SERVER_USERS)?;
    let tokens = tx.open_table(t::TOKENS)?;
    let mut by_family = tx.open_table(t::TOKENS_BY_FAMILY)?;
    for entry in tokens.iter()? {
        let (k, v) = entry?;
        let digest = TokenDigest(*k.value());
        let tok = codec::decode_token(digest, v.value())
            .map_err(|e| Failure::decode("tokens", &digest.0, e))?;
        if let Some(family) = tok.family {
            by_family.insert(&t::pair_key(family, &digest), ())?;
        }
    }
    Ok(())
}

/// The tables new in version 3, empty: all of version 2 → 3 (no older build stored OAuth
/// data; the new token kinds, expiry kind and `meta` key need no table).
fn create_oauth_tables(tx: &WriteTransaction) -> Fallible<()> {
    tx.open_table(t::OAUTH_CLIENTS)?;
    tx.open_table(t::OAUTH_CLIENTS_BY_OWNER)?;
    tx.open_table(t::OAUTH_GRANTS)?;
    tx.open_table(t::OAUTH_GRANTS_BY_CLIENT)?;
    tx.open_table(t::OAUTH_GRANTS_BY_PROFILE)?;
    tx.open_table(t::OAUTH_CONSENTS)?;
    tx.open_table(t::OAUTH_CONSENTS_BY_CLIENT)?;
    Ok(())
}

/// The directory tables of version 3, empty (no older build stored directories).
fn create_directory_tables(tx: &WriteTransaction) -> Fallible<()> {
    tx.open_table(t::DIRECTORIES)?;
    tx.open_table(t::DIRECTORY_SHORT_NAMES)?;
    tx.open_table(t::MEMBERSHIPS)?;
    tx.open_table(t::MEMBERS_BY_SEQ)?;
    tx.open_table(t::MEMBERSHIPS_BY_PROFILE)?;
    tx.open_table(t::INVITATIONS)?;
    tx.open_table(t::INVITATIONS_BY_DIRECTORY)?;
    tx.open_table(t::INVITATIONS_BY_PROFILE)?;
    Ok(())
}

/// Whether every directory table exists.
fn has_directory_tables(rx: &ReadTransaction) -> Fallible<bool> {
    let names: Vec<String> = rx.list_tables()?.map(|h| h.name().to_owned()).collect();
    Ok([
        t::DIRECTORIES.name(),
        t::DIRECTORY_SHORT_NAMES.name(),
        t::MEMBERSHIPS.name(),
        t::MEMBERS_BY_SEQ.name(),
        t::MEMBERSHIPS_BY_PROFILE.name(),
        t::INVITATIONS.name(),
        t::INVITATIONS_BY_DIRECTORY.name(),
        t::INVITATIONS_BY_PROFILE.name(),
    ]
    .iter()
    .all(|n| names.iter().any(|have| have == n)))
}

/// The stamped format version (a cheap read that proves the store can serve).
pub(crate) fn format_version(rx: &ReadTransaction) -> Fallible<Option<u32>> {
    let meta = rx.open_table(t::META)?;
    let Some(v) = meta.get(t::META_FORMAT_VERSION)? else {
        return Ok(None);
    };
    codec::decode_fixed(v.value())
        .map(|b| Some(u32::from_le_bytes(b)))
        .map_err(|e| Failure::decode("meta", t::META_FORMAT_VERSION.as_bytes(), e))
}
