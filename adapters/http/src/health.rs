//! The storage state, kept fresh in the background: what
//! `GET /utility/check-server-health` answers from, and the breaker in front of every route
//! that needs the store.
//!
//! A prober task probes the store every [`crate::HttpConfig::health_interval`] (default
//! 100 ms), each probe bounded by [`crate::HttpConfig::health_probe_timeout`] (default 1 s;
//! a probe that takes longer counts as down). The health route answers from the last
//! probe, so a health check costs no store round trip and never waits for a dead
//! database's connect timeout. While the store is known down the breaker is open: a
//! request to a route that needs the store gets 503 `storage_unavailable` with
//! `Retry-After` at once instead of queueing for the pool; the prober keeps probing and the
//! next probe that succeeds closes the breaker. A request that meets a storage failure
//! opens the breaker at once (the next good probe closes it again).
//!
//! The prober starts with the first request the router serves (a router may be built
//! outside a runtime) and ends once the router is dropped.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use tessera_core::Engine;

/// No probe has finished yet.
const UNKNOWN: u8 = 0;
/// The last probe succeeded.
const UP: u8 = 1;
/// The last probe failed, or a request met a storage failure since.
const DOWN: u8 = 2;

/// The storage state and its prober's settings.
#[derive(Debug)]
pub(crate) struct Health {
    engine: Weak<Engine>,
    interval: Duration,
    probe_timeout: Duration,
    state: AtomicU8,
    /// The prober task has been started.
    started: AtomicBool,
}

impl Health {
    pub(crate) fn new(engine: &Arc<Engine>, interval: Duration, probe_timeout: Duration) -> Self {
        Self {
            engine: Arc::downgrade(engine),
            interval: interval.max(Duration::from_millis(1)),
            probe_timeout,
            state: AtomicU8::new(UNKNOWN),
            started: AtomicBool::new(false),
        }
    }

    /// Start the prober on the current runtime, once (later calls cost one atomic load).
    pub(crate) fn start(self: &Arc<Self>) {
        if self.started.load(Ordering::Relaxed) || self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            self.started.store(false, Ordering::Release);
            return;
        };
        let me = Arc::downgrade(self);
        rt.spawn(async move {
            let mut tick =
                tokio::time::interval(me.upgrade().map_or(Duration::from_secs(1), |h| h.interval));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(h) = me.upgrade() else { return };
                if h.probe().await.is_none() {
                    return;
                }
            }
        });
    }

    /// Probe the store once and record the result; `None` when the engine is gone.
    async fn probe(&self) -> Option<tessera_core::Result<()>> {
        let engine = self.engine.upgrade()?;
        let result = match tokio::time::timeout(self.probe_timeout, engine.health()).await {
            Ok(r) => r,
            Err(_) => Err(tessera_core::Error::Storage(
                tessera_core::StoreError::Backend(format!(
                    "the store did not answer within {} ms",
                    self.probe_timeout.as_millis()
                )),
            )),
        };
        let state = if result.is_ok() { UP } else { DOWN };
        if self.state.swap(state, Ordering::AcqRel) != state {
            match &result {
                Ok(()) => tracing::info!("storage available again"),
                Err(e) => tracing::error!(detail = %e, "storage unavailable"),
            }
        }
        Some(result)
    }

    /// Record that a request met a storage failure: the breaker opens until a probe
    /// succeeds.
    pub(crate) fn mark_down(&self) {
        self.state.store(DOWN, Ordering::Release);
    }

    /// The breaker is open: the store is known down.
    pub(crate) fn is_down(&self) -> bool {
        self.state.load(Ordering::Acquire) == DOWN
    }

    /// The store's state for the health route: the last probe's, or (before the first
    /// probe has finished) a probe made now.
    pub(crate) async fn check(self: &Arc<Self>) -> bool {
        self.start();
        match self.state.load(Ordering::Acquire) {
            UP => true,
            DOWN => false,
            _ => self.probe().await.is_some_and(|r| r.is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::MemoryStore;

    #[tokio::test]
    async fn the_state_follows_the_store_and_a_failure_opens_the_breaker() {
        let store = Arc::new(MemoryStore::new());
        let engine = Arc::new(Engine::builder().store(store).build().unwrap());
        let h = Arc::new(Health::new(
            &engine,
            Duration::from_millis(5),
            Duration::from_secs(1),
        ));
        assert!(!h.is_down());
        assert!(h.check().await, "an answering store is up");
        h.mark_down();
        assert!(h.is_down());
        assert!(
            !h.check().await,
            "a request's storage failure shows at once"
        );
        // the prober closes the breaker again
        for _ in 0..200 {
            if !h.is_down() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!h.is_down(), "the next good probe closes the breaker");
    }

    #[tokio::test]
    async fn the_prober_ends_with_the_router() {
        let store = Arc::new(MemoryStore::new());
        let engine = Arc::new(Engine::builder().store(store).build().unwrap());
        let h = Arc::new(Health::new(
            &engine,
            Duration::from_millis(1),
            Duration::from_secs(1),
        ));
        h.start();
        let weak = Arc::downgrade(&h);
        drop(h);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(weak.upgrade().is_none());
    }
}
