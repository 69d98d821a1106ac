//! The settings of `tessera serve` and `tessera admin …`, in one place.
//!
//! Three layers, each over the one before: the TOML file (`--config FILE` /
//! `TESSERA_CONFIG`), then the `TESSERA_*` environment variables, then the flags. The
//! environment and the flags are read by clap (a flag beats its variable); the flags that
//! set a key of the file ([`flags`]) are serialized into the file's shape and merged over it,
//! and the result is deserialized once into [`Settings`]. Every section is a plain serde
//! struct with `#[serde(default, deny_unknown_fields)]`: a missing key keeps the documented
//! default, an unknown key is refused (so a typo does not silently keep a default).
//! [`Settings::resolve`] then validates everything once into the runtime configurations.
//! Errors are [`SettingsError`]s that name the key.
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
//! The token API's `[token_api]`, the OAuth provider's `[oauth]` and the reset-code
//! notifier's `[notify]` are described in [`token_api`], [`oauth`] and [`notify`]; the flags and variables that replace keys in [`flags`].
//!
//! One file per section: [`engine`] (the top-level keys and the engine policy sections),
//! [`token_api`], [`oauth`], [`http`] (`[http]`, `[ws]`), [`database`], [`notify`].

pub mod database;
pub mod engine;
mod error;
pub mod flags;
pub mod http;
pub mod notify;
pub mod oauth;
pub mod token_api;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tessera_core::EngineConfig;
use tessera_http::HttpConfig;
use tessera_http::server::ServerConfig;

pub use database::DatabaseSection;
pub use engine::{Argon2Section, HashPoolSection, PasswordSection, QrSection, ThrottleSection};
pub use error::SettingsError;
pub use flags::{CommonArgs, DatabaseArgs, WsArgs};
pub use http::{HttpSection, WsSection};
pub use notify::NotifySection;
pub use oauth::OAuthSection;
pub use token_api::TokenApiSection;

use crate::notify::NotifySettings;

/// The whole settings document (the file's shape), after layering.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// URL put into QR onboarding URIs (default: `http://` and the listen address).
    pub public_url: Option<String>,
    /// Default TTL of authorization tokens, in seconds (a TTL table value; default 3600).
    pub default_ttl: u64,
    /// Require proof of possession when registering a key (default true).
    pub require_key_proof: bool,
    /// Serve `GET /generate-keys` (default true).
    pub generate_keys: bool,
    /// File holding the pepper (1–64 bytes; a trailing newline is dropped).
    pub pepper_file: Option<PathBuf>,
    /// How long command records are kept, in seconds (default 86400).
    pub command_retention_secs: u64,
    /// **Tests only**: accept argon2 parameters below OWASP's.
    pub allow_weak_hash_params: bool,
    /// Password policy.
    pub password: PasswordSection,
    /// Argon2id parameters.
    pub argon2: Argon2Section,
    /// Hashing pool.
    pub hash_pool: HashPoolSection,
    /// Credential-check throttle.
    pub throttle: ThrottleSection,
    /// QR token TTL bounds.
    pub qr: QrSection,
    /// HTTP server limits.
    pub http: HttpSection,
    /// The `/ws` channel.
    pub ws: WsSection,
    /// The JSON token API (`/v1/...`).
    pub token_api: TokenApiSection,
    /// The OAuth 2.1 / OpenID Connect provider (`/oauth2/...`).
    pub oauth: OAuthSection,
    /// Where password-reset codes go.
    pub notify: NotifySection,
    /// The PostgreSQL connection (`--backend postgres`).
    pub database: DatabaseSection,
}

/// What [`Settings::resolve`] gives: every runtime configuration, validated.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The engine's policy (`public_url` defaults to `http://` and the listen address).
    pub engine: EngineConfig,
    /// The pepper read from `pepper_file`.
    pub pepper: Option<Vec<u8>>,
    /// The router's settings.
    pub http: HttpConfig,
    /// The accept loop's settings.
    pub server: ServerConfig,
    /// The reset-code notifier's settings (its kind already decided).
    pub notify: NotifySettings,
}

impl Settings {
    /// Parse TOML text alone (no environment, no flags).
    pub fn parse(text: &str) -> Result<Self, SettingsError> {
        Self::layered(text, "(text)", &NoFlags {})
    }

    /// The file at `path` (if any), with the flags (and their environment variables)
    /// `flags` serializes over it. `flags` must serialize to a table of the file's shape,
    /// leaving out what is not set (see [`flags`]).
    pub fn load(path: Option<&Path>, flags: &impl Serialize) -> Result<Self, SettingsError> {
        match path {
            None => Self::layered("", "the flags", flags),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Self::layered(&text, &path.display().to_string(), flags)
            }
        }
    }

    /// TOML `text` (from `origin`, for messages) with `flags` merged over it.
    pub fn layered(
        text: &str,
        origin: &str,
        flags: &impl Serialize,
    ) -> Result<Self, SettingsError> {
        let mut doc: toml::Table = toml::from_str(text).map_err(|e| SettingsError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        let top = toml::Table::try_from(flags).map_err(|e| SettingsError::Flags(e.to_string()))?;
        merge(&mut doc, top);
        serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
            let key = e.path().to_string();
            SettingsError::Invalid {
                origin: origin.to_owned(),
                key: if key == "." { String::new() } else { key },
                message: e.into_inner().message().to_owned(),
            }
        })
    }

    /// Validate everything once. `listen` (the address `tessera serve` listens on) gives the
    /// default `public_url`.
    pub fn resolve(&self, listen: Option<&str>) -> Result<Resolved, SettingsError> {
        let mut engine = self.engine_config()?;
        if let (None, Some(listen)) = (&self.public_url, listen) {
            engine.public_url = format!("http://{listen}");
        }
        engine
            .public_url
            .trim_end_matches('/')
            .clone_into(&mut engine.oauth.issuer);
        Ok(Resolved {
            engine,
            pepper: self.pepper()?,
            http: self.http_config(),
            server: self.http.server_config(),
            notify: self.notify.settings()?,
        })
    }

    /// The pepper, read from `pepper_file` (a trailing newline is dropped).
    pub fn pepper(&self) -> Result<Option<Vec<u8>>, SettingsError> {
        let Some(path) = &self.pepper_file else {
            return Ok(None);
        };
        let invalid = |message: String| SettingsError::invalid("pepper_file", message);
        let mut bytes = std::fs::read(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        if bytes.is_empty() || bytes.len() > 64 {
            return Err(invalid(format!("{}: 1-64 bytes expected", path.display())));
        }
        Ok(Some(bytes))
    }

    /// The HTTP layer's settings (`generate_keys`, `[http]`, `[ws]`).
    #[must_use]
    pub fn http_config(&self) -> HttpConfig {
        let mut h = self.http.http_config(&self.ws);
        h.generate_keys = self.generate_keys;
        h
    }

    /// The accept loop's settings (`[http]`).
    #[must_use]
    pub fn server_config(&self) -> ServerConfig {
        self.http.server_config()
    }
}

impl Default for Settings {
    fn default() -> Self {
        let e = EngineConfig::default();
        Self {
            public_url: None,
            default_ttl: e.default_ttl.secs(),
            require_key_proof: e.require_key_proof,
            generate_keys: HttpConfig::default().generate_keys,
            pepper_file: None,
            command_retention_secs: e.command_retention_secs,
            allow_weak_hash_params: e.allow_weak_hash_params,
            password: PasswordSection::default(),
            argon2: Argon2Section::default(),
            hash_pool: HashPoolSection::default(),
            throttle: ThrottleSection::default(),
            qr: QrSection::default(),
            http: HttpSection::default(),
            ws: WsSection::default(),
            token_api: TokenApiSection::default(),
            oauth: OAuthSection::default(),
            notify: NotifySection::default(),
            database: DatabaseSection::default(),
        }
    }
}

/// No flags: the file alone.
#[derive(Serialize)]
struct NoFlags {}

/// Merge `top` over `base`: tables key by key, any other value replaced.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tessera_core::Ttl;

    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Settings::parse("").unwrap();
        assert_eq!(c, Settings::default());
        assert_eq!(c.engine_config().unwrap(), EngineConfig::default());
        assert_eq!(c.http_config(), HttpConfig::default());
    }

    #[test]
    fn values_are_applied_and_checked() {
        let c = Settings::parse(
            "default_ttl = 86400\nallow_weak_hash_params = true\n[argon2]\nmemory_kib = 64\niterations = 1\n[qr]\nttl_max = 600\n[http]\nmax_connections = 5\n",
        )
        .unwrap();
        let e = c.engine_config().unwrap();
        assert_eq!(e.default_ttl, Ttl::DAY);
        assert_eq!(e.hash_params.m_kib, 64);
        assert_eq!(e.qr_ttl_max, 600);
        assert_eq!(c.server_config().max_connections, 5);
        let ws = Settings::parse(
            "[ws]\nallowed_origins = [\"https://a.test\"]\nrecheck_secs = 2\nmax_channels = 7\n",
        )
        .unwrap()
        .http_config()
        .ws;
        assert_eq!(ws.allowed_origins, ["https://a.test"]);
        assert_eq!(ws.recheck_interval, Duration::from_secs(2));
        assert_eq!(ws.max_channels, 7);
        assert!(Settings::parse("[ws]\ntypo = 1").is_err());
        assert!(
            Settings::parse("default_ttl = 5")
                .unwrap()
                .engine_config()
                .is_err()
        );
        assert!(
            Settings::parse("[argon2]\nmemory_kib = 64")
                .unwrap()
                .engine_config()
                .is_err()
        );
        assert!(Settings::parse("typo = 1").is_err());
    }

    #[test]
    fn errors_name_the_key() {
        let e = Settings::parse("[http]\nmax_connections = \"many\"").unwrap_err();
        assert!(
            e.to_string().contains("http.max_connections: invalid type"),
            "{e}"
        );
        let e = Settings::parse("[ws]\ntypo = 1").unwrap_err();
        assert!(
            e.to_string().contains("ws.typo: unknown field `typo`"),
            "{e}"
        );
        let e = Settings::parse("default_ttl = 5")
            .unwrap()
            .engine_config()
            .unwrap_err();
        assert!(e.to_string().starts_with("default_ttl: "), "{e}");
        let e = Settings::parse("[notify]\nkind = \"pigeon\"").unwrap_err();
        assert!(
            e.to_string().contains("notify.kind: unknown variant"),
            "{e}"
        );
    }

    #[test]
    fn flags_go_over_the_file() {
        #[derive(Serialize)]
        struct Flags {
            database: Db,
        }
        #[derive(Serialize)]
        struct Db {
            pool_size: u32,
        }
        let s = Settings::layered(
            "[database]\nurl = \"postgres://db/t\"\npool_size = 4\n",
            "t.toml",
            &Flags {
                database: Db { pool_size: 7 },
            },
        )
        .unwrap();
        assert_eq!(s.database.pool_size, 7);
        assert_eq!(s.database.url.as_deref(), Some("postgres://db/t"));
    }

    #[test]
    fn database_section_parses_and_hides_the_password() {
        let c = Settings::parse(
            "[database]\nurl = \"postgres://u:hunter2@db/t\"\npool_size = 4\nconnect_timeout_secs = 2\n",
        )
        .unwrap();
        assert_eq!(c.database.pool_size, 4);
        assert_eq!(c.database.connect_timeout_secs, 2);
        assert_eq!(c.database.url.as_deref(), Some("postgres://u:hunter2@db/t"));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(Settings::parse("[database]\nport = 1").is_err());
    }
}
