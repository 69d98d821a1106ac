//! The credential-check throttle's policy and the decision every backend's
//! [`ThrottleStore::reserve_attempt`](super::ThrottleStore::reserve_attempt) makes inside its
//! own transaction (one function, so the backends cannot disagree).

use super::ThrottleRecord;
use crate::clock::Timestamp;

/// Backoff of credential checks per username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Consecutive failures allowed without delay (default 5).
    pub free_failures: u32,
    /// Longest wait between attempts, in seconds (default 900).
    pub max_backoff_secs: u64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            max_backoff_secs: 900,
        }
    }
}

/// What [`ThrottleStore::reserve_attempt`](super::ThrottleStore::reserve_attempt) decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// No attempt before `retry_after` seconds (at least 1) have passed. Nothing was written.
    Refused {
        /// Seconds until an attempt is allowed.
        retry_after: u64,
    },
    /// The attempt may run.
    Allowed {
        /// The counter as it was before this attempt.
        before: Option<ThrottleRecord>,
        /// `Some(stored)` when the attempt was counted as a failure in advance (and
        /// `stored` is the counter written): a failure of this attempt would make the next
        /// one wait, so every concurrent attempt must already see that wait. A later
        /// failure then adds nothing; a success clears the counter.
        counted: Option<ThrottleRecord>,
    },
}

impl Reservation {
    /// The counter an allowed attempt wrote in advance, if it did (else nothing was
    /// written).
    #[must_use]
    pub fn counted(self) -> Option<ThrottleRecord> {
        match self {
            Self::Allowed { counted, .. } => counted,
            Self::Refused { .. } => None,
        }
    }
}

impl ThrottlePolicy {
    /// Seconds to wait after the last failure once `failures` were counted, or `None` while
    /// failures are free: 2^(failures − free) capped at `max_backoff_secs`.
    #[must_use]
    pub fn backoff(self, failures: u32) -> Option<u64> {
        let over = failures.checked_sub(self.free_failures)?;
        let secs = if over >= 63 { u64::MAX } else { 1u64 << over };
        Some(secs.min(self.max_backoff_secs))
    }

    /// Seconds until `rec` allows an attempt at `now`, or `None` if it allows one now.
    #[must_use]
    pub fn retry_after(self, rec: Option<ThrottleRecord>, now: Timestamp) -> Option<u64> {
        let rec = rec?;
        let wait = self.backoff(rec.failures)?;
        let allowed_at = rec.last_failure.plus_secs(wait);
        (now < allowed_at).then(|| now.secs_until(allowed_at).max(1))
    }

    /// The decision of a reservation on counter `rec` at `now`: refused while the wait
    /// runs; otherwise allowed, and counted in advance (`failures + 1`, `last_failure =
    /// now`) when a failure of this attempt would make the next attempt wait.
    #[must_use]
    pub fn reserve(self, rec: Option<ThrottleRecord>, now: Timestamp) -> Reservation {
        if let Some(retry_after) = self.retry_after(rec, now) {
            return Reservation::Refused { retry_after };
        }
        let failures = rec.map_or(0, |r| r.failures).saturating_add(1);
        let counted = self.backoff(failures).map(|_| ThrottleRecord {
            failures,
            last_failure: now,
        });
        Reservation::Allowed {
            before: rec,
            counted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_counts_in_advance_only_where_a_failure_would_make_a_wait() {
        let p = ThrottlePolicy::default();
        let at = |failures, t| {
            Some(ThrottleRecord {
                failures,
                last_failure: Timestamp(t),
            })
        };
        assert_eq!(
            p.reserve(None, Timestamp(5)),
            Reservation::Allowed {
                before: None,
                counted: None
            }
        );
        assert_eq!(
            p.reserve(at(3, 1), Timestamp(5)),
            Reservation::Allowed {
                before: at(3, 1),
                counted: None
            }
        );
        // the fifth failure would start the backoff: counted now
        assert_eq!(
            p.reserve(at(4, 1), Timestamp(5)),
            Reservation::Allowed {
                before: at(4, 1),
                counted: at(5, 5)
            }
        );
        assert_eq!(
            p.reserve(at(6, 10), Timestamp(11)),
            Reservation::Refused { retry_after: 1 }
        );
        // at the edge of the wait: allowed, and the next one waits 4 s from now
        assert_eq!(
            p.reserve(at(6, 10), Timestamp(12)),
            Reservation::Allowed {
                before: at(6, 10),
                counted: at(7, 12)
            }
        );
        assert_eq!(
            p.reserve(at(7, 12), Timestamp(12)),
            Reservation::Refused { retry_after: 4 }
        );
        assert_eq!(
            p.reserve(at(u32::MAX, 0), Timestamp(900)),
            Reservation::Allowed {
                before: at(u32::MAX, 0),
                counted: at(u32::MAX, 900)
            }
        );
    }
}
