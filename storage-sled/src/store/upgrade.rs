//! Upgrading a format-1 or format-2 store to format 3 on open (see the version history in
//! [`crate::codec`]).
//!
//! Format 2 added trees and token kinds; every format-1 record reads unchanged. The step
//! 1 → 2 builds the family index (`family_tokens`, `family_size`) from the stored tokens.
//! Format 3 adds the OAuth trees, which a format-2 store does not have: they start empty,
//! so the step 2 → 3 writes nothing but the version. Both run while the data directory is
//! locked, before the store is handed out, so nothing else writes meanwhile. The upgrade is
//! idempotent: the index trees are cleared and rebuilt from scratch, and the version is
//! stamped only after they are flushed, so a crash anywhere leaves a store of the version
//! it had, which the next open upgrades again.

use std::collections::BTreeMap;

use tessera_core::store::StoreResult;
use uuid::Uuid;

use crate::codec::{FORMAT_VERSION, decode_token_view};
use crate::error::{corrupt, corrupt_entry, from_sled};
use crate::trees::{FORMAT_KEY, Trees, pair_key};

/// Upgrade the store in `db`, of format `from` (1 or 2), to [`FORMAT_VERSION`] and flush
/// it.
pub(super) fn upgrade(db: &sled::Db, t: &Trees, from: u32) -> StoreResult<()> {
    if from == 1 {
        build_family_index(db, t)?;
    }
    t.meta
        .insert(FORMAT_KEY, &FORMAT_VERSION.to_le_bytes())
        .map_err(from_sled)?;
    db.flush().map_err(from_sled)?;
    Ok(())
}

/// Format 1 → 2: the family index from the stored tokens, flushed.
fn build_family_index(db: &sled::Db, t: &Trees) -> StoreResult<()> {
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
    Ok(())
}
