//! [`SettingsError`]: why the settings were refused, naming the file and the key.

use std::path::PathBuf;

/// Why the settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file cannot be read.
    #[error("cannot read config {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not TOML.
    #[error("config {origin}: {message}")]
    Syntax {
        /// The file.
        origin: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key has a value of the wrong type, or is unknown (`key` is the enclosing table's
    /// path then, empty at the top level).
    #[error("config {origin}: {}{message}", key_prefix(key))]
    Invalid {
        /// The file (or "the flags").
        origin: String,
        /// The key's path, e.g. `http.max_connections`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A value is of the right type but out of its range.
    #[error("{key}: {message}")]
    Value {
        /// The key's path, e.g. `token_api.access_ttl`.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The engine refused its policy as a whole (e.g. argon2 below OWASP).
    #[error("engine settings: {0}")]
    Engine(String),
    /// The flags could not be layered (a bug).
    #[error("flags: {0}")]
    Flags(String),
}

impl SettingsError {
    /// A [`SettingsError::Value`].
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> Self {
        Self::Value {
            key,
            message: message.into(),
        }
    }
}

fn key_prefix(key: &str) -> String {
    if key.is_empty() {
        String::new()
    } else {
        format!("{key}: ")
    }
}
