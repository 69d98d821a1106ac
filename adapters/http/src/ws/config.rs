//! [`WsConfig`]: limits and timers of the `/ws` channel.

use std::time::Duration;

/// Settings of `GET /ws` (part of [`crate::HttpConfig`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsConfig {
    /// Origins allowed to open a channel, e.g. `https://app.example.com` (scheme, host and
    /// port, compared without letter case and without a trailing `/`), or `*` for any. A
    /// request without an `Origin` header (not a browser) is always allowed: the token in
    /// the join frame is what authenticates. Default: empty, so browsers are refused until
    /// their origin is listed.
    pub allowed_origins: Vec<String>,
    /// Largest frame and message a client may send, in bytes (default 16 KiB).
    pub max_message_bytes: usize,
    /// How often the server pings a joined socket (default 30 s).
    pub ping_interval: Duration,
    /// A socket that sent nothing (not even a pong) for this long is closed (default 90 s;
    /// at least twice `ping_interval` is used, so a live client always has time to answer).
    pub idle_timeout: Duration,
    /// A socket that has not joined within this time is closed (default 10 s).
    pub join_timeout: Duration,
    /// How often a joined socket's token is checked again when no command arrives, so that
    /// expiry and revocations without an event close it (default 10 s). The token is also
    /// checked before every push, and at its expiry time.
    pub recheck_interval: Duration,
    /// Open channels at most; past it the upgrade is refused with 503 (default 4096).
    pub max_channels: usize,
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            allowed_origins: Vec::new(),
            max_message_bytes: 16 * 1024,
            ping_interval: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            join_timeout: Duration::from_secs(10),
            recheck_interval: Duration::from_secs(10),
            max_channels: 4096,
        }
    }
}

impl WsConfig {
    /// Whether a request with this `Origin` header value (or none) may open a channel.
    #[must_use]
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        self.allowed_origins.iter().any(|allowed| {
            allowed == "*" || allowed.trim_end_matches('/').eq_ignore_ascii_case(origin)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_star() {
        let mut c = WsConfig::default();
        assert!(c.origin_allowed(None));
        assert!(!c.origin_allowed(Some("https://app.example.com")));
        c.allowed_origins = vec!["https://App.example.com/".into()];
        assert!(c.origin_allowed(Some("https://app.example.com")));
        assert!(!c.origin_allowed(Some("https://app.example.com.evil.test")));
        assert!(!c.origin_allowed(Some("http://app.example.com")));
        assert!(!c.origin_allowed(Some("null")));
        c.allowed_origins.push("*".into());
        assert!(c.origin_allowed(Some("null")));
    }
}
