//! Upgrading a format-1 store to format 2 on open (see the version history in
//! [`crate::codec`]).
//!
//! Format 2 adds trees and token kinds; every format-1 record reads unchanged. The upgrade
//! builds the family index (`family_tokens`, `family_size`) from the stored tokens, then
//! stamps version 2. It runs while the data directory is locked, before the store is
//! handed out, so nothing else writes meanwhile. It is idempotent: the index trees are
//! cleared and rebuilt from scratch, and the version is stamped only after the index is
//! flushed, so a crash anywhere leaves a format-1 store that the next open upgrades again.

use std::collections::BTreeMap;

use tessera_core::store::StoreResult;
use uuid::Uuid;

use crate::codec::{FORMAT_VERSION, decode_token_view};
use crate::error::{corrupt, corrupt_entry, from_sled};
use crate::trees::{FORMAT_KEY, Trees, pair_key};

/// Upgrade the format-1 store in `db` to [`FORMAT_VERSION`] and flush it.
pub(super) fn from_v1(db: &sled::Db, t: &Trees) -> StoreResult<()> {
    t.family_tokens.clear().map_err(from_sled)?;
    t.family_size.clear().map_err(from_sled)?;
    let mut members = sled::Batch::default();
    let mut sizes: BTreeMap<Uuid, u64> = BTreeMap::new();
    for entry in &t.tokens {
        let (k, v) = entry.map_err(from_sled)?;
        let view = decode_token_view(&v).map_err(|e| corrupt("tokens", &k, e))?;
        let Some(family) = view.family else { continue };
        let digest = <[u8; 32]>::try_from(&k[..])
            .map_err(|_| corrupt_entry("tokens", &k, "key is not a 32-byte digest"))?;
        members.insert(&pair_key(family, &digest)[..], &[][..]);
        *sizes.entry(family).or_default() += 1;
    }
    let mut counts = sled::Batch::default();
    for (family, n) in &sizes {
        counts.insert(&family.as_bytes()[..], &n.to_le_bytes()[..]);
    }
    t.family_tokens.apply_batch(members).map_err(from_sled)?;
    t.family_size.apply_batch(counts).map_err(from_sled)?;
    db.flush().map_err(from_sled)?;
    t.meta
        .insert(FORMAT_KEY, &FORMAT_VERSION.to_le_bytes())
        .map_err(from_sled)?;
    db.flush().map_err(from_sled)?;
    Ok(())
}
