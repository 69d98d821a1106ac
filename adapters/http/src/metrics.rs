//! Prometheus metrics, hand-rendered in the text exposition format (version 0.0.4).
//!
//! - `tessera_http_requests_total{route,method,status}` (counter)
//! - `tessera_http_request_duration_seconds{route}` (histogram)
//! - `tessera_logins_total{outcome}` (counter: success, unauthorized, throttled, overloaded,
//!   invalid, error)
//! - `tessera_tokens_verified_total{result}` (counter: valid, rejected)
//! - `tessera_hash_queue_depth` (gauge: jobs waiting for or running on the hash pool)

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Login outcomes counted by `tessera_logins_total`.
pub const LOGIN_OUTCOMES: [&str; 6] = [
    "success",
    "unauthorized",
    "throttled",
    "overloaded",
    "invalid",
    "error",
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    total: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Requests {
    counts: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

/// The server's counters. Cheap to update; rendered on `GET /metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<Requests>,
    logins: [AtomicU64; LOGIN_OUTCOMES.len()],
    verified_ok: AtomicU64,
    verified_rejected: AtomicU64,
}

impl Metrics {
    /// Count one finished request.
    pub fn request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut r = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *r.counts
            .entry((route.to_owned(), method.to_owned(), status))
            .or_default() += 1;
        let h = r.latency.entry(route.to_owned()).or_default();
        for (count, bound) in h.counts.iter_mut().zip(BUCKETS) {
            if secs <= bound {
                *count += 1;
            }
        }
        h.total += 1;
        h.sum += secs;
    }

    /// Count one login outcome (one of [`LOGIN_OUTCOMES`]; others count as `error`).
    pub fn login(&self, outcome: &str) {
        let i = LOGIN_OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(LOGIN_OUTCOMES.len() - 1);
        self.logins[i].fetch_add(1, Ordering::Relaxed);
    }

    /// Count one token verification.
    pub fn token_verified(&self, valid: bool) {
        let c = if valid {
            &self.verified_ok
        } else {
            &self.verified_rejected
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text of every metric, with the current hash queue depth.
    #[must_use]
    pub fn render(&self, hash_queue_depth: usize) -> String {
        let mut out = String::with_capacity(4096);
        let r = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str(
            "# HELP tessera_http_requests_total HTTP requests by route, method and status.\n",
        );
        out.push_str("# TYPE tessera_http_requests_total counter\n");
        for ((route, method, status), n) in &r.counts {
            let _ = writeln!(
                out,
                "tessera_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        out.push_str(
            "# HELP tessera_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE tessera_http_request_duration_seconds histogram\n");
        for (route, h) in &r.latency {
            let route = escape(route);
            for (count, bound) in h.counts.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.total
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.total
            );
        }
        drop(r);
        out.push_str("# HELP tessera_logins_total Authentication attempts by outcome.\n");
        out.push_str("# TYPE tessera_logins_total counter\n");
        for (outcome, n) in LOGIN_OUTCOMES.iter().zip(&self.logins) {
            let _ = writeln!(
                out,
                "tessera_logins_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        out.push_str(
            "# HELP tessera_tokens_verified_total Authorization token checks by result.\n",
        );
        out.push_str("# TYPE tessera_tokens_verified_total counter\n");
        let _ = writeln!(
            out,
            "tessera_tokens_verified_total{{result=\"valid\"}} {}",
            self.verified_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "tessera_tokens_verified_total{{result=\"rejected\"}} {}",
            self.verified_rejected.load(Ordering::Relaxed)
        );
        out.push_str("# HELP tessera_hash_queue_depth Password-hashing jobs waiting or running.\n");
        out.push_str("# TYPE tessera_hash_queue_depth gauge\n");
        let _ = writeln!(out, "tessera_hash_queue_depth {hash_queue_depth}");
        out
    }
}

/// Escape a label value (`\`, `"`, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("/a", "GET", 200, Duration::from_millis(3));
        m.request("/a", "GET", 200, Duration::from_millis(30));
        m.login("success");
        m.login("bogus");
        m.token_verified(true);
        let text = m.render(7);
        assert!(
            text.contains(
                "tessera_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2"
            )
        );
        assert!(
            text.contains(
                "tessera_http_request_duration_seconds_bucket{route=\"/a\",le=\"0.005\"} 1"
            )
        );
        assert!(text.contains("tessera_http_request_duration_seconds_count{route=\"/a\"} 2"));
        assert!(text.contains("tessera_logins_total{outcome=\"success\"} 1"));
        assert!(text.contains("tessera_logins_total{outcome=\"error\"} 1"));
        assert!(text.contains("tessera_tokens_verified_total{result=\"valid\"} 1"));
        assert!(text.contains("tessera_hash_queue_depth 7"));
        assert_eq!(escape("a\"b\\c\n"), "a\\\"b\\\\c\\n");
    }
}
