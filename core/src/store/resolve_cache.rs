//! [`ResolveCache`]: resolved tokens kept by a backend in front of its own reads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

use thread_local::ThreadLocal;

use super::ResolvedToken;
use crate::token::{DigestHasher, TokenDigest};

/// Digests are uniform already, and only tokens the store resolved are put (see
/// [`DigestHasher`]): no SipHash per verify.
type Entries = HashMap<[u8; 32], ResolvedToken, BuildHasherDefault<DigestHasher>>;

/// Live tokens a backend resolved, by digest, each tagged with the store's write epoch at
/// the time of its read: an entry answers only while the epoch is unchanged, and a put of
/// a newer epoch first drops everything older. A backend must change the epoch for every
/// write before that write returns (redb counts its commits, sled its writes started), so
/// an answer from the cache is never older than the last write that returned.
///
/// One map per thread that asks (the runtime's workers, in a server): a hit takes no lock
/// and writes no memory another thread reads, so verifies on several cores do not contend
/// for a lock's cache line. Bounded: each thread keeps at most `capacity` ÷ the CPUs
/// (rounded up) entries, so that the runtime's workers (one per CPU, the threads that
/// verify in a server) keep about `capacity` in all; once a thread's map is full, further
/// tokens are simply read. Capacity 0 keeps nothing.
pub struct ResolveCache {
    /// Entries per thread.
    capacity: usize,
    entries: ThreadLocal<RefCell<(u64, Entries)>>,
}

impl fmt::Debug for ResolveCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveCache")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl ResolveCache {
    /// An empty cache of about `capacity` tokens (see [`ResolveCache`] for the bound).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::per_thread(capacity.div_ceil(cpus))
    }

    /// An empty cache of at most `capacity` tokens per thread.
    fn per_thread(capacity: usize) -> Self {
        Self {
            capacity,
            entries: ThreadLocal::new(),
        }
    }

    /// The token cached for `digest` at write epoch `epoch`, if any.
    pub fn get(&self, digest: &TokenDigest, epoch: u64) -> Option<ResolvedToken> {
        let entries = self.entries.get()?.borrow();
        if entries.0 != epoch {
            return None;
        }
        entries.1.get(&digest.0).cloned()
    }

    /// Keep `token`, read entirely at write epoch `epoch` (no write ran during the read),
    /// unless this thread's map is full. Entries of an older epoch are dropped first; a
    /// put of an epoch older than the map's is ignored.
    pub fn put(&self, token: &ResolvedToken, epoch: u64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.get_or_default().borrow_mut();
        if entries.0 != epoch {
            if epoch < entries.0 {
                return;
            }
            entries.0 = epoch;
            entries.1.clear();
        }
        if entries.1.len() < self.capacity {
            entries.1.insert(token.token.0, token.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::profile::{ProfileKind, ProfileState};
    use crate::token::TokenKind;

    fn token(byte: u8) -> ResolvedToken {
        ResolvedToken {
            profile_id: uuid::Uuid::nil(),
            kind: ProfileKind::User,
            state: ProfileState::Active,
            owner: None,
            environments: Vec::new(),
            token_kind: TokenKind::Authorization,
            issued_at: Timestamp(1),
            expires_at: Timestamp(2),
            token: TokenDigest([byte; 32]),
        }
    }

    #[test]
    fn entries_answer_only_at_their_epoch_and_the_cache_stays_bounded() {
        let c = ResolveCache::per_thread(2);
        let (a, b, d) = (token(1), token(2), token(3));
        c.put(&a, 5);
        assert_eq!(c.get(&a.token, 5), Some(a.clone()));
        assert_eq!(c.get(&a.token, 6), None, "a write ran since");
        c.put(&b, 5);
        c.put(&d, 5);
        assert_eq!(c.get(&d.token, 5), None, "full: not kept");
        c.put(&d, 6);
        assert_eq!(c.get(&a.token, 6), None, "older entries dropped");
        assert_eq!(c.get(&d.token, 6), Some(d));
        c.put(&a, 5);
        assert_eq!(c.get(&a.token, 5), None, "an older epoch is not put back");
        let off = ResolveCache::new(0);
        off.put(&b, 1);
        assert_eq!(off.get(&b.token, 1), None);
    }

    #[test]
    fn each_thread_has_its_own_entries_and_epoch() {
        let c = ResolveCache::per_thread(4);
        let a = token(1);
        c.put(&a, 7);
        std::thread::scope(|s| {
            s.spawn(|| {
                assert_eq!(c.get(&a.token, 7), None, "another thread's entry");
                c.put(&a, 8);
                assert_eq!(c.get(&a.token, 8), Some(a.clone()));
            });
        });
        assert_eq!(
            c.get(&a.token, 7),
            Some(a.clone()),
            "not dropped by the other epoch"
        );
        assert_eq!(c.get(&a.token, 8), None);
    }
}
