//! The TOML configuration file of `tessera serve` (`--config FILE`). Every key is optional;
//! a missing key keeps the documented default. Unknown keys are refused, so a typo does not
//! silently keep a default.
//!
//! ```toml
//! public_url = "https://id.example.com"   # put into QR onboarding URIs
//! default_ttl = 3600                      # seconds, one of the TTL table values
//! require_key_proof = true                # proof of possession on register-public-key
//! generate_keys = true                    # serve GET /generate-keys
//! pepper_file = "/etc/tessera/pepper"     # 1-64 bytes mixed into every hash, never stored
//! command_retention_secs = 86400
//! allow_weak_hash_params = false          # TESTS ONLY: accept argon2 below OWASP
//!
//! [password]
//! min_length = 15
//! max_length = 128
//! min_score = 3                           # zxcvbn, 0-4
//!
//! [argon2]
//! memory_kib = 19456
//! iterations = 2
//! parallelism = 1
//!
//! [hash_pool]
//! workers = 2                             # default: one per CPU
//! queue_per_worker = 32
//!
//! [throttle]
//! free_failures = 5
//! max_backoff_secs = 900
//!
//! [qr]
//! ttl_min = 60
//! ttl_default = 300
//! ttl_max = 900
//!
//! [http]
//! request_timeout_secs = 30
//! header_read_timeout_secs = 10
//! max_connections = 1024
//! shutdown_grace_secs = 30
//!
//! [database]                              # --backend postgres
//! url = "postgres://tessera:secret@db.internal:5432/tessera"
//! pool_size = 10                          # connections per server
//! connect_timeout_secs = 5                # then 503 storage_unavailable
//!
//! [ws]                                    # GET /ws, the command channel
//! allowed_origins = ["https://app.example.com"]   # or "*"; no Origin header is always allowed
//! max_message_bytes = 16384
//! ping_interval_secs = 30
//! idle_timeout_secs = 90
//! join_timeout_secs = 10
//! recheck_secs = 10                       # token re-check when no command arrives
//! max_channels = 4096
//! ```
//!
//! `TESSERA_WS_ALLOWED_ORIGINS` (comma-separated) or `--ws-allowed-origins` replaces
//! `ws.allowed_origins`; `--database-url` / `TESSERA_DATABASE_URL` and
//! `--database-pool-size` / `TESSERA_DATABASE_POOL_SIZE` replace `database.url` and
//! `database.pool_size`.
//!
//! The token API's `[token_api]` and the reset-code notifier's `[notify]` are described in
//! [`token_api`] and [`notify`].

pub mod notify;
pub mod token_api;

pub use notify::NotifySection;
pub use token_api::TokenApiSection;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tessera_core::{EngineConfig, HashParams, Ttl};

use tessera_http::HttpConfig;
use tessera_http::server::ServerConfig;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// URL put into QR onboarding URIs.
    pub public_url: Option<String>,
    /// Default TTL of authorization tokens, in seconds (a TTL table value).
    pub default_ttl: Option<u64>,
    /// Require proof of possession when registering a key.
    pub require_key_proof: Option<bool>,
    /// Serve `GET /generate-keys`.
    pub generate_keys: Option<bool>,
    /// File holding the pepper (1–64 bytes; a trailing newline is dropped).
    pub pepper_file: Option<PathBuf>,
    /// How long command records are kept, in seconds.
    pub command_retention_secs: Option<u64>,
    /// **Tests only**: accept argon2 parameters below OWASP's.
    pub allow_weak_hash_params: Option<bool>,
    /// Password policy.
    #[serde(default)]
    pub password: PasswordSection,
    /// Argon2id parameters.
    #[serde(default)]
    pub argon2: Argon2Section,
    /// Hashing pool.
    #[serde(default)]
    pub hash_pool: HashPoolSection,
    /// Credential-check throttle.
    #[serde(default)]
    pub throttle: ThrottleSection,
    /// QR token TTL bounds.
    #[serde(default)]
    pub qr: QrSection,
    /// HTTP server limits.
    #[serde(default)]
    pub http: HttpSection,
    /// The `/ws` channel.
    #[serde(default)]
    pub ws: WsSection,
    /// The JSON token API (`/v1/...`).
    #[serde(default)]
    pub token_api: TokenApiSection,
    /// Where password-reset codes go.
    #[serde(default)]
    pub notify: NotifySection,
    /// The PostgreSQL connection (`--backend postgres`).
    #[serde(default)]
    pub database: DatabaseSection,
}

/// `[database]`.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// PostgreSQL URL (`postgres://user:password@host:port/database`).
    pub url: Option<String>,
    /// Connections in the pool (default 10).
    pub pool_size: Option<u32>,
    /// How long a call waits for a connection before 503 `storage_unavailable`, in
    /// seconds (default 5).
    pub connect_timeout_secs: Option<u64>,
}

impl std::fmt::Debug for DatabaseSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSection")
            .field(
                "url",
                &self
                    .url
                    .as_deref()
                    .map(tessera_storage_postgres::redact_url),
            )
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_secs", &self.connect_timeout_secs)
            .finish()
    }
}

/// `[password]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordSection {
    /// Minimum length in code points (default 15).
    pub min_length: Option<usize>,
    /// Maximum length in code points (default 128).
    pub max_length: Option<usize>,
    /// Minimum zxcvbn score 0–4 (default 3).
    pub min_score: Option<u8>,
}

/// `[argon2]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Section {
    /// Memory in KiB (default 19456).
    pub memory_kib: Option<u32>,
    /// Iterations (default 2).
    pub iterations: Option<u32>,
    /// Lanes (default 1).
    pub parallelism: Option<u32>,
}

/// `[hash_pool]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashPoolSection {
    /// Hashing threads (default: one per CPU).
    pub workers: Option<usize>,
    /// Waiting jobs per worker before 503 `overloaded` (default 32).
    pub queue_per_worker: Option<usize>,
}

/// `[throttle]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSection {
    /// Failures allowed without delay (default 5).
    pub free_failures: Option<u32>,
    /// Longest wait, in seconds (default 900).
    pub max_backoff_secs: Option<u64>,
}

/// `[qr]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrSection {
    /// Shortest TTL (default 60).
    pub ttl_min: Option<u64>,
    /// Default TTL (default 300).
    pub ttl_default: Option<u64>,
    /// Longest TTL (default 900).
    pub ttl_max: Option<u64>,
}

/// `[http]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Longest time a request may take (default 30 s).
    pub request_timeout_secs: Option<u64>,
    /// Longest time to receive a request's headers (default 10 s).
    pub header_read_timeout_secs: Option<u64>,
    /// Open connections at most (default 1024).
    pub max_connections: Option<usize>,
    /// How long shutdown waits for in-flight requests (default 30 s).
    pub shutdown_grace_secs: Option<u64>,
}

/// `[ws]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WsSection {
    /// Origins allowed to open a channel (default: none; requests without `Origin` are
    /// always allowed).
    pub allowed_origins: Option<Vec<String>>,
    /// Largest client frame, in bytes (default 16384).
    pub max_message_bytes: Option<usize>,
    /// Ping interval (default 30 s).
    pub ping_interval_secs: Option<u64>,
    /// Close after this long without a frame from the client (default 90 s).
    pub idle_timeout_secs: Option<u64>,
    /// Close when no join arrives within this time (default 10 s).
    pub join_timeout_secs: Option<u64>,
    /// Re-check the token this often when no command arrives (default 10 s).
    pub recheck_secs: Option<u64>,
    /// Open channels at most (default 4096).
    pub max_channels: Option<usize>,
}

impl FileConfig {
    /// Read and parse `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("config {}: {e}", path.display()))
    }

    /// Parse TOML text.
    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// The engine configuration (validated by the engine builder).
    pub fn engine_config(&self) -> Result<EngineConfig, String> {
        let mut c = EngineConfig::default();
        if let Some(u) = &self.public_url {
            c.public_url.clone_from(u);
        }
        if let Some(t) = self.default_ttl {
            c.default_ttl = Ttl::from_secs(t).map_err(|e| format!("default_ttl: {e}"))?;
        }
        set(&mut c.require_key_proof, self.require_key_proof);
        set(&mut c.command_retention_secs, self.command_retention_secs);
        set(&mut c.allow_weak_hash_params, self.allow_weak_hash_params);
        let p = &self.password;
        set(&mut c.password_policy.min_len, p.min_length);
        set(&mut c.password_policy.max_len, p.max_length);
        set(&mut c.password_policy.min_score, p.min_score);
        let a = &self.argon2;
        c.hash_params = HashParams {
            m_kib: a.memory_kib.unwrap_or(c.hash_params.m_kib),
            t: a.iterations.unwrap_or(c.hash_params.t),
            p: a.parallelism.unwrap_or(c.hash_params.p),
        };
        set(&mut c.hash_workers, self.hash_pool.workers);
        set(
            &mut c.hash_queue_per_worker,
            self.hash_pool.queue_per_worker,
        );
        set(&mut c.throttle.free_failures, self.throttle.free_failures);
        set(
            &mut c.throttle.max_backoff_secs,
            self.throttle.max_backoff_secs,
        );
        set(&mut c.qr_ttl_min, self.qr.ttl_min);
        set(&mut c.qr_ttl_default, self.qr.ttl_default);
        set(&mut c.qr_ttl_max, self.qr.ttl_max);
        self.token_api.apply(&mut c)?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The HTTP layer's settings.
    #[must_use]
    pub fn http_config(&self) -> HttpConfig {
        let mut h = HttpConfig::default();
        set(&mut h.generate_keys, self.generate_keys);
        if let Some(s) = self.http.request_timeout_secs {
            h.request_timeout = Duration::from_secs(s.max(1));
        }
        let (w, c) = (&mut h.ws, &self.ws);
        if let Some(o) = &c.allowed_origins {
            w.allowed_origins.clone_from(o);
        }
        if let Some(n) = c.max_message_bytes {
            w.max_message_bytes = n.max(256);
        }
        let secs = |v: Option<u64>, slot: &mut Duration| {
            if let Some(s) = v {
                *slot = Duration::from_secs(s.max(1));
            }
        };
        secs(c.ping_interval_secs, &mut w.ping_interval);
        secs(c.idle_timeout_secs, &mut w.idle_timeout);
        secs(c.join_timeout_secs, &mut w.join_timeout);
        secs(c.recheck_secs, &mut w.recheck_interval);
        set(&mut w.max_channels, c.max_channels.map(|n| n.max(1)));
        h
    }

    /// The accept loop's settings.
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        let mut s = ServerConfig::default();
        if let Some(t) = self.http.header_read_timeout_secs {
            s.header_read_timeout = Duration::from_secs(t.max(1));
        }
        if let Some(n) = self.http.max_connections {
            s.max_connections = n.max(1);
        }
        if let Some(t) = self.http.shutdown_grace_secs {
            s.shutdown_grace = Duration::from_secs(t);
        }
        s
    }

    /// The pepper, read from `pepper_file` (a trailing newline is dropped).
    pub fn pepper(&self) -> Result<Option<Vec<u8>>, String> {
        let Some(path) = &self.pepper_file else {
            return Ok(None);
        };
        let mut bytes = std::fs::read(path)
            .map_err(|e| format!("cannot read pepper file {}: {e}", path.display()))?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        if bytes.is_empty() || bytes.len() > 64 {
            return Err(format!(
                "pepper file {}: 1-64 bytes expected",
                path.display()
            ));
        }
        Ok(Some(bytes))
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = FileConfig::parse("").unwrap();
        assert_eq!(c.engine_config().unwrap(), EngineConfig::default());
        assert_eq!(c.http_config(), HttpConfig::default());
    }

    #[test]
    fn values_are_applied_and_checked() {
        let c = FileConfig::parse(
            "default_ttl = 86400\nallow_weak_hash_params = true\n[argon2]\nmemory_kib = 64\niterations = 1\n[qr]\nttl_max = 600\n[http]\nmax_connections = 5\n",
        )
        .unwrap();
        let e = c.engine_config().unwrap();
        assert_eq!(e.default_ttl, Ttl::DAY);
        assert_eq!(e.hash_params.m_kib, 64);
        assert_eq!(e.qr_ttl_max, 600);
        assert_eq!(c.server_config().max_connections, 5);
        let ws = FileConfig::parse(
            "[ws]\nallowed_origins = [\"https://a.test\"]\nrecheck_secs = 2\nmax_channels = 7\n",
        )
        .unwrap()
        .http_config()
        .ws;
        assert_eq!(ws.allowed_origins, ["https://a.test"]);
        assert_eq!(ws.recheck_interval, Duration::from_secs(2));
        assert_eq!(ws.max_channels, 7);
        assert!(FileConfig::parse("[ws]\ntypo = 1").is_err());
        assert!(
            FileConfig::parse("default_ttl = 5")
                .unwrap()
                .engine_config()
                .is_err()
        );
        assert!(
            FileConfig::parse("[argon2]\nmemory_kib = 64")
                .unwrap()
                .engine_config()
                .is_err()
        );
        assert!(FileConfig::parse("typo = 1").is_err());
    }

    #[test]
    fn database_section_parses_and_hides_the_password() {
        let c = FileConfig::parse(
            "[database]\nurl = \"postgres://u:hunter2@db/t\"\npool_size = 4\nconnect_timeout_secs = 2\n",
        )
        .unwrap();
        assert_eq!(c.database.pool_size, Some(4));
        assert_eq!(c.database.connect_timeout_secs, Some(2));
        assert_eq!(c.database.url.as_deref(), Some("postgres://u:hunter2@db/t"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(FileConfig::parse("[database]\nport = 1").is_err());
    }
}
