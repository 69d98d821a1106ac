//! Throttling of credential checks per canonical username (unknown names too).
//!
//! After `free_failures` consecutive failures, each further attempt must wait
//! 2^(n − free) seconds after the last failure, capped at `max_backoff_secs`. Refused attempts
//! do no hashing and do not extend the wait. Success resets the counter (after the
//! operation's own write, best effort). Counters live in the store, so they survive
//! restarts and are shared by every process on it.
//!
//! The check and the count are one store call ([`ThrottleStore::reserve_attempt`]): an
//! attempt whose failure would make the next one wait is counted before it runs, so of any
//! number of concurrent attempts at a backoff edge, on any number of nodes, exactly one
//! hashes. A failure of such an attempt adds nothing more; a success clears the counter; an
//! attempt that comes to no verdict (a storage error, an overloaded pool) is released
//! ([`ThrottleStore::release_attempt`]), so the counter is as before. Callers still hold the
//! username's stripe lock while they check, hash and record: within one process attempts
//! queue instead of racing for the store.
//!
//! [`ThrottleStore::reserve_attempt`]: crate::store::ThrottleStore::reserve_attempt
//! [`ThrottleStore::release_attempt`]: crate::store::ThrottleStore::release_attempt

use super::Engine;
use crate::error::{Error, Result};
use crate::store::{Reservation, ThrottleRecord};

/// A credential attempt the throttle let through ([`Engine::throttle_reserve`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    /// The counter before the attempt.
    before: Option<ThrottleRecord>,
    /// The counter written when the attempt was counted in advance.
    counted: Option<ThrottleRecord>,
}

impl Engine {
    /// Reserve an attempt on `key`, or refuse it (`TooManyAttempts`). A decision that writes
    /// nothing (refused, or allowed while failures are free) holds on a plain read; only an
    /// attempt that counts in advance takes the store's transaction.
    pub(super) async fn throttle_reserve(&self, key: &str) -> Result<Attempt> {
        let (now, policy) = (self.clock.now(), self.cfg.throttle);
        let read = policy.reserve(self.store.get_throttle(key).await?, now);
        let decided = if read.counted().is_none() {
            read
        } else {
            self.store.reserve_attempt(key, now, policy).await?
        };
        match decided {
            Reservation::Refused { retry_after } => Err(Error::TooManyAttempts { retry_after }),
            Reservation::Allowed { before, counted } => Ok(Attempt { before, counted }),
        }
    }

    /// The attempt failed: count it (unless it was counted in advance).
    pub(super) async fn throttle_fail(&self, key: &str, attempt: Attempt) -> Result<()> {
        if attempt.counted.is_none() {
            self.store.record_failure(key, self.clock.now()).await?;
        }
        Ok(())
    }

    /// The attempt succeeded: clear the counter, if there is one.
    pub(super) async fn throttle_clear(&self, key: &str, attempt: Attempt) -> Result<()> {
        if attempt.counted.is_some() || attempt.before.is_some_and(|r| r.failures > 0) {
            self.store.clear_throttle(key).await?;
        }
        Ok(())
    }

    /// Reset the counter after a successful credential operation, once the operation's
    /// own write succeeded. Best effort: the operation has happened, so a storage failure
    /// here must not turn it into an error; the counter then stays as it was before the
    /// attempt (its advance count released, if that works), which only ever throttles more,
    /// never less, and the next success resets it.
    pub(super) async fn throttle_reset(&self, key: &str, attempt: Attempt) {
        if self.throttle_clear(key, attempt).await.is_err() {
            self.throttle_release(key, attempt).await;
        }
    }

    /// The attempt came to no verdict (an error after the reservation): put back the
    /// counter it counted in advance, if nothing changed it since. Best effort: a counter
    /// left counted only throttles more.
    pub(super) async fn throttle_release(&self, key: &str, attempt: Attempt) {
        if let Some(counted) = attempt.counted {
            let _ = self
                .store
                .release_attempt(key, counted, attempt.before)
                .await;
        }
    }

    /// [`Engine::throttle_release`] when `outcome` is an error; `outcome` unchanged.
    pub(super) async fn throttle_settle<T>(
        &self,
        key: &str,
        attempt: Attempt,
        outcome: Result<T>,
    ) -> Result<T> {
        if outcome.is_err() {
            self.throttle_release(key, attempt).await;
        }
        outcome
    }

    /// Clear the throttle of `username` (an administrator's unlock).
    pub async fn unlock(&self, username: &str) -> Result<()> {
        let name = crate::Username::parse(username)?;
        self.store.clear_throttle(name.as_str()).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::engine::ThrottlePolicy;

    /// Seconds to wait after the last failure, or `None` while failures are free.
    fn backoff(policy: ThrottlePolicy, failures: u32) -> Option<u64> {
        policy.backoff(failures)
    }

    /// `Err(TooManyAttempts)` if `rec` forbids an attempt at `now`.
    fn check(policy: ThrottlePolicy, rec: Option<ThrottleRecord>, now: Timestamp) -> Result<()> {
        match policy.retry_after(rec, now) {
            Some(retry_after) => Err(Error::TooManyAttempts { retry_after }),
            None => Ok(()),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = ThrottlePolicy::default();
        assert_eq!(backoff(p, 0), None);
        assert_eq!(backoff(p, 4), None);
        assert_eq!(backoff(p, 5), Some(1));
        assert_eq!(backoff(p, 6), Some(2));
        assert_eq!(backoff(p, 10), Some(32));
        assert_eq!(backoff(p, 15), Some(900));
        assert_eq!(backoff(p, u32::MAX), Some(900));
    }

    #[test]
    fn check_uses_last_failure() {
        let p = ThrottlePolicy::default();
        let rec = ThrottleRecord {
            failures: 6,
            last_failure: Timestamp(1000),
        };
        assert_eq!(
            check(p, Some(rec), Timestamp(1000)),
            Err(Error::TooManyAttempts { retry_after: 2 })
        );
        assert_eq!(
            check(p, Some(rec), Timestamp(1001)),
            Err(Error::TooManyAttempts { retry_after: 1 })
        );
        assert_eq!(check(p, Some(rec), Timestamp(1002)), Ok(()));
        assert_eq!(check(p, None, Timestamp(0)), Ok(()));
    }
}
