//! Throttling of credential checks per canonical username (unknown names too).
//!
//! After `free_failures` consecutive failures, each further attempt must wait
//! 2^(n − free) seconds after the last failure, capped at `max_backoff_secs`. Refused attempts
//! do no hashing and do not extend the wait. Success resets the counter (after the
//! operation's own write, best effort). Counters live in the store, so they survive
//! restarts. Callers hold the username's stripe lock while they check, hash and record, so
//! parallel attempts cannot overtake the counter.

use super::{Engine, ThrottlePolicy};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::ThrottleRecord;

/// Seconds to wait after the last failure, or `None` while failures are free.
pub(crate) fn backoff(policy: ThrottlePolicy, failures: u32) -> Option<u64> {
    let over = failures.checked_sub(policy.free_failures)?;
    let secs = if over >= 63 { u64::MAX } else { 1u64 << over };
    Some(secs.min(policy.max_backoff_secs))
}

/// `Err(TooManyAttempts)` if `rec` forbids an attempt at `now`.
pub(crate) fn check(
    policy: ThrottlePolicy,
    rec: Option<ThrottleRecord>,
    now: Timestamp,
) -> Result<()> {
    let Some(rec) = rec else { return Ok(()) };
    let Some(wait) = backoff(policy, rec.failures) else {
        return Ok(());
    };
    let allowed_at = rec.last_failure.plus_secs(wait);
    if now < allowed_at {
        return Err(Error::TooManyAttempts {
            retry_after: now.secs_until(allowed_at).max(1),
        });
    }
    Ok(())
}

impl Engine {
    /// Refuse the attempt if the key is throttled; returns the current counter.
    pub(super) async fn throttle_check(&self, key: &str) -> Result<Option<ThrottleRecord>> {
        let rec = self.store.get_throttle(key).await?;
        check(self.cfg.throttle, rec, self.clock.now())?;
        Ok(rec)
    }

    pub(super) async fn throttle_fail(&self, key: &str) -> Result<()> {
        self.store.record_failure(key, self.clock.now()).await?;
        Ok(())
    }

    pub(super) async fn throttle_clear(
        &self,
        key: &str,
        rec: Option<ThrottleRecord>,
    ) -> Result<()> {
        if rec.is_some_and(|r| r.failures > 0) {
            self.store.clear_throttle(key).await?;
        }
        Ok(())
    }

    /// Reset the counter after a successful credential operation, once the operation's
    /// own write succeeded. Best effort: the operation has happened, so a storage failure
    /// here must not turn it into an error; the counter then simply stays (which only ever
    /// throttles more, never less) and the next success resets it.
    pub(super) async fn throttle_reset(&self, key: &str, rec: Option<ThrottleRecord>) {
        let _ = self.throttle_clear(key, rec).await;
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
