//! `[http]` (request and connection limits) and `[ws]` (the `/ws` command channel).

use std::time::Duration;

use serde::Deserialize;
use tessera_http::HttpConfig;
use tessera_http::server::ServerConfig;
use tessera_http::ws::WsConfig;

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// Longest time a request may take (default 30 s; at least 1).
    pub request_timeout_secs: u64,
    /// Longest time to receive a request's headers (default 10 s; at least 1).
    pub header_read_timeout_secs: u64,
    /// Open connections at most (default 1024; at least 1).
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests (default 30 s).
    pub shutdown_grace_secs: u64,
}

impl Default for HttpSection {
    fn default() -> Self {
        let (h, s) = (HttpConfig::default(), ServerConfig::default());
        Self {
            request_timeout_secs: h.request_timeout.as_secs(),
            header_read_timeout_secs: s.header_read_timeout.as_secs(),
            max_connections: s.max_connections,
            shutdown_grace_secs: s.shutdown_grace.as_secs(),
        }
    }
}

/// `[ws]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WsSection {
    /// Origins allowed to open a channel (default: none; requests without `Origin` are
    /// always allowed). `--ws-allowed-origins` / `TESSERA_WS_ALLOWED_ORIGINS` replaces it.
    pub allowed_origins: Vec<String>,
    /// Largest client frame, in bytes (default 16384; at least 256).
    pub max_message_bytes: usize,
    /// Ping interval (default 30 s).
    pub ping_interval_secs: u64,
    /// Close after this long without a frame from the client (default 90 s).
    pub idle_timeout_secs: u64,
    /// Close when no join arrives within this time (default 10 s).
    pub join_timeout_secs: u64,
    /// Re-check the token this often when no command arrives (default 10 s).
    pub recheck_secs: u64,
    /// Open channels at most (default 4096; at least 1).
    pub max_channels: usize,
}

impl Default for WsSection {
    fn default() -> Self {
        let w = WsConfig::default();
        Self {
            allowed_origins: w.allowed_origins,
            max_message_bytes: w.max_message_bytes,
            ping_interval_secs: w.ping_interval.as_secs(),
            idle_timeout_secs: w.idle_timeout.as_secs(),
            join_timeout_secs: w.join_timeout.as_secs(),
            recheck_secs: w.recheck_interval.as_secs(),
            max_channels: w.max_channels,
        }
    }
}

/// Whole seconds, at least one.
fn secs(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

impl HttpSection {
    /// The router's settings, with `ws` (`generate_keys` and `metrics_route` keep their
    /// defaults: [`super::Settings::http_config`] sets the first).
    #[must_use]
    pub fn http_config(&self, ws: &WsSection) -> HttpConfig {
        HttpConfig {
            request_timeout: secs(self.request_timeout_secs),
            ws: WsConfig {
                allowed_origins: ws.allowed_origins.clone(),
                max_message_bytes: ws.max_message_bytes.max(256),
                ping_interval: secs(ws.ping_interval_secs),
                idle_timeout: secs(ws.idle_timeout_secs),
                join_timeout: secs(ws.join_timeout_secs),
                recheck_interval: secs(ws.recheck_secs),
                max_channels: ws.max_channels.max(1),
            },
            ..HttpConfig::default()
        }
    }

    /// The accept loop's settings.
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        ServerConfig {
            max_connections: self.max_connections.max(1),
            header_read_timeout: secs(self.header_read_timeout_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
        }
    }
}
