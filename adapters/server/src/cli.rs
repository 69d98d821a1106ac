//! The command line of the `tessera` binary.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tessera_server::store::Backend;

/// tessera: an identity server speaking the Privicore profile API.
///
/// Every flag can also be set with its `TESSERA_*` environment variable; the optional TOML
/// file (`--config`) sets the engine policy (TTL, passwords, argon2, pepper, hash pool,
/// throttle, QR TTLs, key proof, /generate-keys, the /ws channel) and the PostgreSQL
/// connection (`[database]`). Several servers can share one PostgreSQL database
/// (`--backend postgres --database-url URL`). Logs go to stderr; set
/// the level with `TESSERA_LOG` (e.g. `info`, `tessera=debug`).
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Administration on the store (redb and sled allow one process: stop the server first;
    /// with postgres the servers may keep running).
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// Where the data lives.
#[derive(Clone, Args)]
pub struct StoreArgs {
    /// Directory of the store (redb, sled), created on first start.
    #[arg(long, env = "TESSERA_DATA_DIR", default_value = "./tessera-data")]
    pub data_dir: PathBuf,
    /// Storage backend. `postgres` lets several servers share one database.
    #[arg(long, env = "TESSERA_BACKEND", value_enum, default_value = "redb")]
    pub backend: Backend,
    /// PostgreSQL URL for `--backend postgres`: postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (`?sslmode=require` for TLS). The schema is created or upgraded at start. Prefer the
    /// environment variable or `[database] url` in the config file: a command line is
    /// visible to other users of the machine.
    #[arg(long, env = "TESSERA_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Connections in the PostgreSQL pool [default: 10].
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub database_pool_size: Option<u32>,
}

impl std::fmt::Debug for StoreArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreArgs")
            .field("data_dir", &self.data_dir)
            .field("backend", &self.backend)
            .field(
                "database_url",
                &self
                    .database_url
                    .as_deref()
                    .map(tessera_storage_postgres::redact_url),
            )
            .field("database_pool_size", &self.database_pool_size)
            .finish()
    }
}

/// `tessera serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the address is printed on stdout).
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:9009")]
    pub listen: SocketAddr,
    /// Serve /metrics on this address instead of the main listener.
    #[arg(long, env = "TESSERA_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Origins allowed to open a `/ws` channel, comma-separated (`*` for any); replaces
    /// `ws.allowed_origins` of the config file. Requests without `Origin` are always allowed.
    #[arg(long, env = "TESSERA_WS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub ws_allowed_origins: Option<Vec<String>>,
    /// TOML configuration file (see the README's configuration table).
    #[arg(long, env = "TESSERA_CONFIG")]
    pub config: Option<PathBuf>,
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// Where password-reset codes go.
    #[command(flatten)]
    pub notify: tessera_server::notify::NotifyArgs,
}

/// `tessera admin …`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a server API key (`tsk_…`): printed once, only its digest is stored.
    CreateApiKey {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// A name for the key (1-64 characters).
        #[arg(long)]
        name: String,
    },
    /// Create a user with a temporary password; its first /v1/login answers
    /// NEW_PASSWORD_REQUIRED. The password is read from the first line of stdin when stdin
    /// is a pipe or a file; otherwise (or when stdin is empty) one is generated and printed
    /// once on stdout. Never give it on the command line.
    CreateUser {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The username (username rules: 3-64 of a-z 0-9 . _ - @ +, canonicalised).
        #[arg(long)]
        username: String,
        /// Give the user a temporary password (required: the only kind of user this
        /// command creates).
        #[arg(long, required = true)]
        temporary_password: bool,
    },
    /// Clear the login throttle of a username.
    Unlock {
        /// The store.
        #[command(flatten)]
        store: StoreArgs,
        /// The username.
        #[arg(long)]
        username: String,
    },
}
