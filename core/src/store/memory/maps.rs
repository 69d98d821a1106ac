//! The memory store's maps: their hashers and the compact token entry.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use uuid::Uuid;

use crate::clock::Timestamp;
use crate::store::{ProfileRecord, ResolvedToken, TokenRecord};
use crate::token::{DigestHasher, TokenDigest, TokenKind};

pub(super) type DigestMap<V> = HashMap<TokenDigest, V, BuildHasherDefault<DigestHasher>>;

/// Profile ids are made by the engine from the OS CSPRNG, never chosen by a client, so
/// the profile map (read by every verify) can use a fast unkeyed hash instead of SipHash:
/// FxHash's multiply-rotate steps and murmur3's finalizer, so that every input bit reaches
/// both the low bits (the bucket) and the top bits (hashbrown's tag), whatever the ids look
/// like. Maps keyed by client input (usernames) keep the default hasher.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(super) type IdMap<V> = HashMap<Uuid, V, BuildHasherDefault<IdHasher>>;

/// A stored token: a [`TokenRecord`] without the digest, which is the map key.
#[derive(Debug, Clone, Copy)]
pub(super) struct TokenEntry {
    pub(super) profile_id: Uuid,
    pub(super) issued_at: Timestamp,
    pub(super) expires_at: Timestamp,
    pub(super) family: Option<Uuid>,
    pub(super) kind: TokenKind,
}

impl TokenEntry {
    pub(super) fn of(t: &TokenRecord) -> Self {
        Self {
            profile_id: t.profile_id,
            issued_at: t.issued_at,
            expires_at: t.expires_at,
            family: t.family,
            kind: t.kind,
        }
    }

    pub(super) fn record(&self, digest: TokenDigest) -> TokenRecord {
        TokenRecord {
            digest,
            profile_id: self.profile_id,
            kind: self.kind,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            family: self.family,
        }
    }

    /// This token of `profile` as verify reads it (the fields of both that it needs).
    pub(super) fn resolved(&self, digest: TokenDigest, profile: &ProfileRecord) -> ResolvedToken {
        ResolvedToken {
            profile_id: profile.id,
            kind: profile.kind,
            state: profile.state,
            owner: profile.owner,
            environments: profile.environments.clone(),
            token_kind: self.kind,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            token: digest,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher as _;

    use super::*;

    #[test]
    fn id_hash_spreads_ids_that_differ_in_few_bytes() {
        // Sequential ids (as tests and fixtures make) differ only in their last bytes; their
        // hashes must still differ in the low bits (the bucket) and the top 7 (the tag).
        let h = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (1..=1024u128)
            .map(|n| h.hash_one(Uuid::from_u128(n)))
            .collect();
        let buckets: HashSet<u64> = hashes.iter().map(|x| x & 1023).collect();
        let tags: HashSet<u64> = hashes.iter().map(|x| x >> 57).collect();
        assert!(buckets.len() > 550, "{} buckets", buckets.len());
        assert_eq!(tags.len(), 128);
    }
}
