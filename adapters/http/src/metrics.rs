//! Prometheus metrics on [`prometheus_client`], rendered in the text exposition format.
//!
//! - `tessera_http_requests_total{route,method,status}` (counter)
//! - `tessera_http_request_duration_seconds{route}` (histogram)
//! - `tessera_logins_total{outcome}` (counter: success, unauthorized, throttled, overloaded,
//!   invalid, error)
//! - `tessera_tokens_verified_total{result}` (counter: valid, rejected)
//! - `tessera_hash_queue_depth` (gauge: jobs waiting for or running on the hash pool)
//!
//! The hot path touches atomics only: each route has one [`RouteMetrics`] handle, made the
//! first time the route is seen (its label is then a `&'static str`), holding its latency
//! histogram and the counters of the (method, status) pairs it answered; login and
//! verification counters are made once, with the registry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use http::Method;
use prometheus_client::encoding::{EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];
/// [`BUCKETS`] in nanoseconds (what a request's latency is compared with).
const BUCKET_NANOS: [u64; BUCKETS.len()] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    10_000_000_000,
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

/// The route label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// A latency histogram on atomics: one counter per bucket (the last one is `+Inf`) and the
/// sum in nanoseconds. (`prometheus_client`'s own histogram takes a lock per observation.)
#[derive(Debug, Clone, Default)]
struct Latency(Arc<LatencyCells>);

#[derive(Debug, Default)]
struct LatencyCells {
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Latency {
    fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let i = BUCKET_NANOS
            .iter()
            .position(|b| nanos <= *b)
            .unwrap_or(BUCKETS.len());
        self.0.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.0.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for Latency {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Latency {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        // (upper bound, count in that bucket alone): the encoder makes them cumulative;
        // f64::MAX is its `+Inf`.
        let mut buckets = [(f64::MAX, 0u64); BUCKETS.len() + 1];
        for (i, cell) in self.0.buckets.iter().enumerate() {
            buckets[i].1 = cell.load(Ordering::Relaxed);
            if let Some(bound) = BUCKETS.get(i) {
                buckets[i].0 = *bound;
            }
        }
        let count = buckets.iter().map(|b| b.1).sum();
        #[allow(clippy::cast_precision_loss)] // a sum of latencies, in seconds
        let sum = self.0.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// How many (method, status) counters a route keeps at hand; rarer pairs go through the
/// registry's map (a read lock).
const SLOTS: usize = 8;

/// The metrics of one route: made once per route by [`Metrics::route`], then updated with
/// atomics only.
#[derive(Debug)]
pub struct RouteMetrics {
    route: &'static str,
    latency: Latency,
    requests: Family<RequestLabels, Counter>,
    /// (method index << 16 | status, its counter), filled on first use.
    slots: [OnceLock<(u32, Counter)>; SLOTS],
}

impl RouteMetrics {
    /// The route label (the router's path template, or `unmatched`).
    #[must_use]
    pub const fn route(&self) -> &'static str {
        self.route
    }

    /// Count one finished request of this route.
    pub fn record(&self, method: &Method, status: u16, elapsed: Duration) {
        self.latency.observe(elapsed);
        let (index, method) = method_label(method);
        let key = (index << 16) | u32::from(status);
        for slot in &self.slots {
            match slot.get() {
                Some((k, counter)) if *k == key => {
                    counter.inc();
                    return;
                }
                Some(_) => {}
                None => {
                    let counter = self
                        .requests
                        .get_or_create_owned(&self.labels(method, status));
                    counter.inc();
                    // Lost to another pair: that one keeps the slot, this one is still counted.
                    let _ = slot.set((key, counter));
                    return;
                }
            }
        }
        self.requests
            .get_or_create(&self.labels(method, status))
            .inc();
    }

    const fn labels(&self, method: &'static str, status: u16) -> RequestLabels {
        RequestLabels {
            route: self.route,
            method,
            status,
        }
    }
}

/// The label of a method, with a small index; methods outside RFC 9110 are `other` (a
/// client cannot make new series by sending made-up methods).
fn method_label(method: &Method) -> (u32, &'static str) {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::HEAD, "HEAD"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .zip(0..)
        .find(|((m, _), _)| m == method)
        .map_or((KNOWN.len() as u32, "other"), |((_, label), i)| (i, *label))
}

/// The server's counters. Cheap to update; rendered on `GET /metrics`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabel, Latency>,
    logins: [Counter; LOGIN_OUTCOMES.len()],
    verified_ok: Counter,
    verified_rejected: Counter,
    hash_queue_depth: Gauge,
    routes: RwLock<HashMap<&'static str, Arc<RouteMetrics>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "tessera_http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabel, Latency>::default();
        registry.register(
            "tessera_http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let login_family = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "tessera_logins",
            "Authentication attempts by outcome",
            login_family.clone(),
        );
        let logins = LOGIN_OUTCOMES
            .map(|outcome| login_family.get_or_create_owned(&OutcomeLabel { outcome }));
        let verified = Family::<ResultLabel, Counter>::default();
        registry.register(
            "tessera_tokens_verified",
            "Authorization token checks by result",
            verified.clone(),
        );
        let verified_ok = verified.get_or_create_owned(&ResultLabel { result: "valid" });
        let verified_rejected = verified.get_or_create_owned(&ResultLabel { result: "rejected" });
        let hash_queue_depth = Gauge::default();
        registry.register(
            "tessera_hash_queue_depth",
            "Password-hashing jobs waiting or running",
            hash_queue_depth.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            logins,
            verified_ok,
            verified_rejected,
            hash_queue_depth,
            routes: RwLock::new(HashMap::new()),
        }
    }
}

impl Metrics {
    /// The handle of `route` (a path template of the router, or [`UNMATCHED`]), made on
    /// first use. Keep it: updating it takes no lock. Route labels are kept for the
    /// process's life, so pass templates (a bounded set), not request paths.
    pub fn route(&self, route: &str) -> Arc<RouteMetrics> {
        if let Some(m) = self
            .routes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(route)
        {
            return Arc::clone(m);
        }
        let mut routes = self
            .routes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = routes.get(route) {
            return Arc::clone(m);
        }
        let label: &'static str = if route == UNMATCHED {
            UNMATCHED
        } else {
            Box::leak(route.into())
        };
        let m = Arc::new(RouteMetrics {
            route: label,
            latency: self
                .latency
                .get_or_create_owned(&RouteLabel { route: label }),
            requests: self.requests.clone(),
            slots: Default::default(),
        });
        routes.insert(label, Arc::clone(&m));
        m
    }

    /// Count one finished request (looks the route up; [`Self::route`] once and
    /// [`RouteMetrics::record`] is the cheap way).
    pub fn request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        self.route(route).record(method, status, elapsed);
    }

    /// Count one login outcome (one of [`LOGIN_OUTCOMES`]; others count as `error`).
    pub fn login(&self, outcome: &str) {
        let i = LOGIN_OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(LOGIN_OUTCOMES.len() - 1);
        self.logins[i].inc();
    }

    /// Count one token verification.
    pub fn token_verified(&self, valid: bool) {
        if valid {
            self.verified_ok.inc();
        } else {
            self.verified_rejected.inc();
        }
    }

    /// The Prometheus text of every metric, with the current hash queue depth.
    #[must_use]
    pub fn render(&self, hash_queue_depth: usize) -> String {
        self.hash_queue_depth
            .set(i64::try_from(hash_queue_depth).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(4096);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("/a", &Method::GET, 200, Duration::from_millis(3));
        let a = m.route("/a");
        a.record(&Method::GET, 200, Duration::from_millis(30));
        a.record(
            &Method::from_bytes(b"BREW").unwrap(),
            418,
            Duration::from_secs(11),
        );
        for status in 500..520 {
            a.record(&Method::POST, status, Duration::ZERO);
        }
        m.login("success");
        m.login("bogus");
        m.token_verified(true);
        let text = m.render(7);
        for needle in [
            "tessera_http_requests_total{route=\"/a\",method=\"GET\",status=\"200\"} 2",
            "tessera_http_requests_total{route=\"/a\",method=\"other\",status=\"418\"} 1",
            "tessera_http_requests_total{route=\"/a\",method=\"POST\",status=\"519\"} 1",
            "tessera_http_request_duration_seconds_bucket{le=\"0.005\",route=\"/a\"} 21",
            "tessera_http_request_duration_seconds_bucket{le=\"10.0\",route=\"/a\"} 22",
            "tessera_http_request_duration_seconds_bucket{le=\"+Inf\",route=\"/a\"} 23",
            "tessera_http_request_duration_seconds_count{route=\"/a\"} 23",
            "tessera_http_request_duration_seconds_sum{route=\"/a\"} 11.033",
            "tessera_logins_total{outcome=\"success\"} 1",
            "tessera_logins_total{outcome=\"error\"} 1",
            "tessera_logins_total{outcome=\"throttled\"} 0",
            "tessera_tokens_verified_total{result=\"valid\"} 1",
            "tessera_tokens_verified_total{result=\"rejected\"} 0",
            "tessera_hash_queue_depth 7",
            "# TYPE tessera_http_request_duration_seconds histogram",
        ] {
            assert!(text.contains(needle), "missing {needle}\n{text}");
        }
        assert!(Arc::ptr_eq(&a, &m.route("/a")));
        assert_eq!(m.route(UNMATCHED).route(), UNMATCHED);
    }
}
