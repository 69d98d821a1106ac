//! The header read timeout of [`crate::server::serve`], one timer per connection rather
//! than one per request.
//!
//! hyper's own `header_read_timeout` arms a fresh timer for every request head (an
//! allocation, a timer-wheel insert and removal, and often a wake-up of the thread parked
//! on the driver to shorten its sleep): about 3 µs of the ~17 µs a request cost the server
//! under load (issue 14's profile). Here each connection has a [`Watchdog`] that the
//! service marks when a request starts (its head is complete: hyper calls the service)
//! and when its response is ready; one timer per connection wakes every half `limit`, and
//! the connection is closed once it has waited for a request head (no request in flight,
//! no request started or finished) through two whole periods: after between `limit` and
//! 1.5 × `limit`. That covers a client that never finishes its headers (slowloris) and an
//! idle keep-alive connection, as hyper's timeout did.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The request activity of one connection.
#[derive(Debug, Default)]
pub(crate) struct Watchdog {
    /// Requests started (wrapping).
    started: AtomicU32,
    /// Requests whose response is ready (wrapping).
    finished: AtomicU32,
}

impl Watchdog {
    /// A request's head is complete: it is in flight.
    pub(crate) fn started(&self) {
        self.started.fetch_add(1, Ordering::Relaxed);
    }

    /// A request's response is ready.
    pub(crate) fn finished(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }

    fn marks(&self) -> (u32, u32) {
        (
            self.started.load(Ordering::Relaxed),
            self.finished.load(Ordering::Relaxed),
        )
    }

    /// Completes once the connection has waited for a request head through two whole
    /// periods of `limit / 2` (so after between `limit` and 1.5 × `limit`); never while a
    /// request is in flight.
    pub(crate) async fn head_timeout(&self, limit: Duration) {
        let period = (limit / 2).max(Duration::from_millis(1));
        let mut seen = self.marks();
        let mut quiet = 0u8;
        loop {
            tokio::time::sleep(period).await;
            let now = self.marks();
            if now == seen && now.0 == now.1 {
                quiet += 1;
                if quiet >= 2 {
                    return;
                }
            } else {
                quiet = 0;
                seen = now;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_times_out_between_the_limit_and_one_and_a_half_times_it() {
        let w = Watchdog::default();
        let start = tokio::time::Instant::now();
        w.head_timeout(Duration::from_secs(10)).await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(10) && waited <= Duration::from_secs(15));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_never_times_out_and_activity_restarts_the_wait() {
        let w = std::sync::Arc::new(Watchdog::default());
        w.started();
        let timeout = tokio::time::timeout(
            Duration::from_secs(60),
            w.head_timeout(Duration::from_secs(10)),
        );
        assert!(timeout.await.is_err(), "cut while a request is in flight");
        // the response is ready at 60 s: the wait for the next head starts then
        let w2 = std::sync::Arc::clone(&w);
        let cut = tokio::spawn(async move {
            w2.head_timeout(Duration::from_secs(10)).await;
            tokio::time::Instant::now()
        });
        tokio::time::sleep(Duration::from_secs(7)).await;
        let finished_at = tokio::time::Instant::now();
        w.finished();
        let cut_at = cut.await.unwrap();
        let waited = cut_at - finished_at;
        assert!(
            waited >= Duration::from_secs(10) && waited <= Duration::from_secs(15),
            "{waited:?}"
        );
    }
}
