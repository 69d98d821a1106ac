//! The process-local replay cache: remembers `(profile, nonce)` until the message's
//! timestamp leaves the window, within fixed bounds (overall and per profile). It is the
//! cheap first check and the admission bound in front of the store's claim
//! ([`tessera_core::Engine::claim_nonce`]), which is the guard every node shares: an entry is
//! remembered only after its claim succeeded, and lives exactly as long as the claim, so a
//! refusal as replayed here is what the store would answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use uuid::Uuid;

use super::error::MessageError;

type Key = (Uuid, Arc<str>);

/// Bounded memory of accepted nonces. An entry lives until `expires` (the message's
/// timestamp plus the window): after that the timestamp check refuses the message anyway.
#[derive(Debug)]
pub(crate) struct ReplayCache {
    capacity: usize,
    per_profile: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Nonce → expiry (seconds).
    seen: HashMap<Key, i64>,
    /// The same entries in expiry order, for purging.
    by_expiry: BTreeSet<(i64, Key)>,
    /// Entries per profile.
    counts: HashMap<Uuid, usize>,
}

impl ReplayCache {
    pub(crate) fn new(capacity: usize, per_profile: usize) -> Self {
        Self {
            capacity,
            per_profile,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Whether `nonce` of `profile` may go on to the store's claim at `now`:
    /// `ReplayedNonce` when it is remembered already, `ReplayCacheFull` when a bound is
    /// reached (refused rather than let a profile fill the store).
    pub(crate) fn admit(&self, profile: Uuid, nonce: &str, now: i64) -> Result<(), MessageError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.purge(now);
        if inner.seen.contains_key(&(profile, Arc::from(nonce))) {
            return Err(MessageError::ReplayedNonce);
        }
        if self.full(&inner, profile) {
            return Err(MessageError::ReplayCacheFull);
        }
        Ok(())
    }

    /// A bound is reached: the whole cache, or `profile`'s share of it.
    fn full(&self, inner: &Inner, profile: Uuid) -> bool {
        inner.seen.len() >= self.capacity || inner.count(profile) >= self.per_profile
    }

    /// Remember `nonce` of `profile` until `expires`, after its claim succeeded. Within
    /// the bounds only (concurrent admissions may have filled them meanwhile: the store's
    /// claim still guards the nonce).
    pub(crate) fn remember(&self, profile: Uuid, nonce: &str, expires: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if self.full(&inner, profile) {
            return;
        }
        let key: Key = (profile, Arc::from(nonce));
        if inner.seen.insert(key.clone(), expires).is_none() {
            inner.by_expiry.insert((expires, key));
            *inner.counts.entry(profile).or_insert(0) += 1;
        }
    }

    /// Entries remembered now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .seen
            .len()
    }
}

impl Inner {
    /// Entries of `profile`.
    fn count(&self, profile: Uuid) -> usize {
        self.counts.get(&profile).copied().unwrap_or(0)
    }

    /// Drop the entries that expired before `now`.
    fn purge(&mut self, now: i64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            let Some((_, key)) = self.by_expiry.pop_first() else {
                break;
            };
            self.seen.remove(&key);
            if let Some(c) = self.counts.get_mut(&key.0) {
                *c -= 1;
                if *c == 0 {
                    self.counts.remove(&key.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ReplayCache {
        /// Admit and remember, as a successful claim does.
        fn insert(
            &self,
            profile: Uuid,
            nonce: &str,
            expires: i64,
            now: i64,
        ) -> Result<(), MessageError> {
            self.admit(profile, nonce, now)?;
            self.remember(profile, nonce, expires);
            Ok(())
        }
    }

    #[test]
    fn a_nonce_is_refused_until_it_expires() {
        let c = ReplayCache::new(10, 10);
        let p = Uuid::from_u128(1);
        c.insert(p, "n1", 100, 0).unwrap();
        assert_eq!(c.insert(p, "n1", 100, 50), Err(MessageError::ReplayedNonce));
        // another profile's identical nonce is its own
        c.insert(Uuid::from_u128(2), "n1", 100, 50).unwrap();
        assert_eq!(
            c.insert(p, "n1", 100, 100),
            Err(MessageError::ReplayedNonce)
        );
        c.insert(p, "n1", 200, 101).unwrap();
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn bounds_hold_overall_and_per_profile() {
        let c = ReplayCache::new(4, 2);
        let (a, b, d) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        c.insert(a, "1", 10, 0).unwrap();
        c.insert(a, "2", 20, 0).unwrap();
        assert_eq!(c.insert(a, "3", 10, 0), Err(MessageError::ReplayCacheFull));
        c.insert(b, "1", 10, 0).unwrap();
        c.insert(b, "2", 10, 0).unwrap();
        assert_eq!(c.insert(d, "1", 10, 0), Err(MessageError::ReplayCacheFull));
        // once the first entries expire there is room again
        c.insert(d, "1", 30, 11).unwrap();
        c.insert(a, "3", 30, 11).unwrap();
        assert_eq!(c.len(), 3);
    }
}
