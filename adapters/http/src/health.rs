//! The storage state `GET /utility/check-server-health` answers from: the result of the
//! last store probe, at most [`crate::HttpConfig::health_max_age`] old (default 1 s), so a
//! health check under load costs no store round trip.
//!
//! The first check after the state went stale probes the store (one check at a time; the
//! others meanwhile answer the last state). A store known to be down is probed by every
//! check, so recovery shows at once; and a request that meets a storage failure marks the
//! store down, so an outage shows at once too.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera_core::Engine;

/// The last probe's result and time.
#[derive(Debug)]
pub(crate) struct Health {
    max_age_ms: u64,
    /// Milliseconds since [`epoch`] of the last probe, shifted left once, with the low bit
    /// set when the store answered; 0 before the first probe.
    last: AtomicU64,
    /// A check is probing the store (set while it does).
    probing: AtomicBool,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    #[allow(clippy::disallowed_methods)] // freshness of a cached probe, not domain time
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    #[allow(clippy::disallowed_methods)] // freshness of a cached probe, not domain time
    let ms = Instant::now().duration_since(epoch()).as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX >> 2)
}

/// Clears the probing flag when the probe ends, even when the request is dropped.
struct Probing<'a>(&'a AtomicBool);

impl Drop for Probing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Health {
    pub(crate) fn new(max_age: Duration) -> Self {
        let _ = epoch();
        Self {
            max_age_ms: u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX),
            last: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn store(&self, up: bool) {
        // +1 so that a probe in the epoch's first millisecond is not "never".
        let at = now_ms() + 1;
        self.last
            .store((at << 1) | u64::from(up), Ordering::Release);
    }

    /// Record that a request met a storage failure.
    pub(crate) fn mark_down(&self) {
        self.store(false);
    }

    /// The store's state: the cached one while fresh, else a probe of `engine`'s store.
    /// Errors: the probe's ([`tessera_core::Error::Storage`]).
    pub(crate) async fn check(&self, engine: &Engine) -> tessera_core::Result<()> {
        let last = self.last.load(Ordering::Acquire);
        let up = last & 1 == 1;
        if up {
            let age = (now_ms() + 1).saturating_sub(last >> 1);
            if age < self.max_age_ms {
                return Ok(());
            }
            if self.probing.swap(true, Ordering::AcqRel) {
                // another check is probing: the state it replaces is just as good
                return Ok(());
            }
        } else {
            // never probed, or down: probe now (so an outage and a recovery show at once)
            self.probing.store(true, Ordering::Release);
        }
        let _probing = Probing(&self.probing);
        let result = engine.health().await;
        self.store(result.is_ok());
        result
    }
}
