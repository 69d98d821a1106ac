//! The flags that set the settings, each with its `TESSERA_*` environment variable (clap
//! reads both; a flag beats its variable). Each struct serializes to a table of the file's
//! shape holding only what is set, which [`super::Settings::load`] merges over the file.

use std::path::PathBuf;

use clap::Args;
use serde::{Serialize, Serializer};

use crate::notify::NotifierKind;
use crate::store::{Backend, redact_url};

/// What every command reads: the settings file and the store.
#[derive(Clone, Args, Serialize)]
pub struct CommonArgs {
    /// TOML settings file: the engine policy (TTLs, passwords, argon2, pepper, hash pool,
    /// throttle, QR TTLs, key proof, /generate-keys, the /ws channel), `[database]` and
    /// `[notify]` (see the README's configuration table). Flags and their variables
    /// replace its keys.
    #[arg(long, env = "TESSERA_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Directory of the store (redb, sled), created on first start.
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "./tessera-data")]
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// Storage backend. `postgres` lets several servers share one database.
    #[arg(long, env = "TESSERA_BACKEND", value_enum, default_value = "redb")]
    #[serde(skip)]
    pub backend: Backend,
    /// `[database]`.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

impl std::fmt::Debug for CommonArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonArgs")
            .field("config", &self.config)
            .field("data_dir", &self.data_dir)
            .field("backend", &self.backend)
            .field("database", &self.database)
            .finish()
    }
}

/// The flags of `[database]`.
#[derive(Clone, Default, Args, Serialize)]
pub struct DatabaseArgs {
    /// PostgreSQL URL for `--backend postgres`: postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (`?sslmode=require` for TLS); replaces `[database] url`. The schema is created or
    /// upgraded at start. Prefer the environment variable or the config file: a command
    /// line is visible to other users of the machine.
    #[arg(long, env = "TESSERA_DATABASE_URL", hide_env_values = true)]
    #[serde(rename = "url", skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Connections in the PostgreSQL pool [default: 10]; replaces `[database] pool_size`.
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    #[serde(rename = "pool_size", skip_serializing_if = "Option::is_none")]
    pub database_pool_size: Option<u32>,
}

impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("database_pool_size", &self.database_pool_size)
            .finish()
    }
}

/// The flags of `[ws]`.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct WsArgs {
    /// Origins allowed to open a `/ws` channel, comma-separated (`*` for any); replaces
    /// `ws.allowed_origins` of the config file. Requests without `Origin` are always allowed.
    #[arg(long, env = "TESSERA_WS_ALLOWED_ORIGINS", value_delimiter = ',')]
    #[serde(
        rename = "allowed_origins",
        skip_serializing_if = "Option::is_none",
        serialize_with = "trimmed"
    )]
    pub ws_allowed_origins: Option<Vec<String>>,
}

/// The origins given, trimmed, empty ones left out.
#[allow(clippy::ref_option)] // serde's `serialize_with` hands a reference to the field
fn trimmed<S: Serializer>(origins: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
    let list: Vec<&str> = origins
        .iter()
        .flatten()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    list.serialize(s)
}

/// The flags of `[notify]`: where password-reset codes go.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct NotifyArgs {
    /// Notifier of password-reset codes: `log` (default: an event on the server log's
    /// tessera::audit target, code included), `file` (JSON lines appended to --notify-file,
    /// created 0600) or `webhook` (HTTP POST to --notify-webhook-url). Without it, a given
    /// --notify-file or --notify-webhook-url picks its notifier. Replaces `[notify] kind`.
    #[arg(long, env = "TESSERA_NOTIFIER", value_enum)]
    #[serde(rename = "kind", skip_serializing_if = "Option::is_none")]
    pub notifier: Option<NotifierKind>,
    /// File the `file` notifier appends to (replaces `[notify] file`).
    #[arg(long, env = "TESSERA_NOTIFY_FILE")]
    #[serde(rename = "file", skip_serializing_if = "Option::is_none")]
    pub notify_file: Option<PathBuf>,
    /// URL the `webhook` notifier posts to, http:// or https:// (replaces
    /// `[notify] webhook_url`).
    #[arg(long, env = "TESSERA_NOTIFY_WEBHOOK_URL", hide_env_values = true)]
    #[serde(rename = "webhook_url", skip_serializing_if = "Option::is_none")]
    pub notify_webhook_url: Option<String>,
}

/// A listen address: `IP:PORT` or `HOST:PORT` (a host name is resolved when binding).
pub fn listen_address(s: &str) -> Result<String, String> {
    if s.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(s.to_owned());
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err("expected HOST:PORT, e.g. 127.0.0.1:9009 or localhost:9009".into());
    };
    if host.is_empty() || host.contains(['/', ' ', '[', ']']) {
        return Err(format!("{host:?} is not a host name"));
    }
    port.parse::<u16>()
        .map_err(|_| format!("{port:?} is not a port (0-65535)"))?;
    Ok(s.to_owned())
}
