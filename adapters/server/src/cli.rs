//! The command line of the `tessera` binary.

use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tessera_server::notify::NotifyArgs;
use tessera_server::settings::flags::listen_address;
use tessera_server::settings::{CommonArgs, WsArgs};

/// tessera: an identity server speaking the Privicore profile API.
///
/// Every flag can also be set with its `TESSERA_*` environment variable; the optional TOML
/// file (`--config`, read by `serve` and by every `admin` command) sets the engine policy
/// (TTL, passwords, argon2, pepper, hash pool, throttle, QR TTLs, key proof,
/// /generate-keys, the /ws channel), the PostgreSQL connection (`[database]`) and the
/// reset-code notifier (`[notify]`). Settings are layered: the file, then the environment,
/// then the flags. Several servers can share one PostgreSQL database
/// (`--backend postgres --database-url URL`). Logs go to stderr; set
/// the level with `TESSERA_LOG` (e.g. `info`, `tessera=debug`).
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, long_about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Administration on the store (redb and sled allow one process: stop the server first;
    /// with postgres the servers may keep running). Reads `--config` like `serve`: the
    /// store from `[database]`, and the engine policy (pepper, argon2, passwords) the server
    /// uses.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `tessera serve`. It serializes to the settings file's shape (what is set of `[database]`,
/// `[ws]` and `[notify]`), the top layer of the settings.
#[derive(Debug, Clone, Args, Serialize)]
pub(crate) struct ServeArgs {
    /// Address to listen on, IP:PORT or HOST:PORT (port 0 picks a free port; the address is
    /// printed on stdout).
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:9009", value_parser = listen_address)]
    #[serde(skip)]
    pub listen: String,
    /// Serve /metrics on this address (IP:PORT or HOST:PORT) instead of the main listener.
    #[arg(long, env = "TESSERA_METRICS_LISTEN", value_parser = listen_address)]
    #[serde(skip)]
    pub metrics_listen: Option<String>,
    /// The settings file and the store.
    #[command(flatten)]
    #[serde(flatten)]
    pub common: CommonArgs,
    /// `[ws]`.
    #[command(flatten)]
    pub ws: WsArgs,
    /// Where password-reset codes go.
    #[command(flatten)]
    pub notify: NotifyArgs,
}

/// `tessera admin …`.
#[derive(Debug, Subcommand)]
pub(crate) enum AdminCommand {
    /// Create a server API key (`tsk_…`): printed once, only its digest is stored. A name
    /// that another key has is refused (revoke that key first).
    CreateApiKey {
        /// The settings file and the store.
        #[command(flatten)]
        common: CommonArgs,
        /// A unique name for the key (1-64 characters).
        #[arg(long)]
        name: String,
    },
    /// List the server API keys: one line per key, its creation time (RFC 3339, UTC), a tab
    /// and its name, oldest first. A key itself is never shown again.
    ListApiKeys {
        /// The settings file and the store.
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Revoke (delete) the server API key of this name: from then on it answers 401 on the
    /// users API. An unknown name is an error.
    RevokeApiKey {
        /// The settings file and the store.
        #[command(flatten)]
        common: CommonArgs,
        /// The key's name.
        #[arg(long)]
        name: String,
    },
    /// Create a user with a temporary password; its first /v1/login answers
    /// NEW_PASSWORD_REQUIRED. The password is read from the first line of stdin when stdin
    /// is a pipe or a file; otherwise (or when stdin is empty) one is generated and printed
    /// once on stdout. Never give it on the command line.
    CreateUser {
        /// The settings file and the store.
        #[command(flatten)]
        common: CommonArgs,
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
        /// The settings file and the store.
        #[command(flatten)]
        common: CommonArgs,
        /// The username.
        #[arg(long)]
        username: String,
    },
}
