//! [`PostgresConfig`]: how [`crate::PostgresStore::connect_with`] reaches the database.

use std::fmt;
use std::time::Duration;

/// Options of a PostgreSQL store. `PostgresConfig::new(url)` suits a server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostgresConfig {
    /// `postgres://user:password@host:port/database[?sslmode=require…]` (libpq's URL form;
    /// `sslmode=require` or `verify-full` turns on TLS with rustls).
    pub url: String,
    /// Connections the pool keeps open at most. Default 10.
    pub pool_size: u32,
    /// How long a call waits for a connection (including connecting) before it fails with
    /// `StoreError::Unavailable { retryable: true }`. Default 5 s.
    pub connect_timeout: Duration,
    /// Use this schema (created if missing) instead of the user's default `search_path`;
    /// the migrations and every table live there. Letters, digits and `_` only. Default
    /// `None`. Tests use one schema per store so they can run in parallel on one database.
    pub schema: Option<String>,
}

impl PostgresConfig {
    /// The defaults, for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 10,
            connect_timeout: Duration::from_secs(5),
            schema: None,
        }
    }

    /// Set [`PostgresConfig::pool_size`] (at least 1).
    #[must_use]
    pub fn pool_size(mut self, connections: u32) -> Self {
        self.pool_size = connections.max(1);
        self
    }

    /// Set [`PostgresConfig::connect_timeout`].
    #[must_use]
    pub const fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Set [`PostgresConfig::schema`].
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("schema", &self.schema)
            .finish()
    }
}

/// `url` with the password (of the user part, or a `password=` parameter) replaced by
/// `***`, for logs and error messages.
#[must_use]
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = rest..rest + at;
            if let Some(colon) = out[userinfo.clone()].find(':') {
                out.replace_range(rest + colon + 1..userinfo.end, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| {
                if kv.to_ascii_lowercase().starts_with("password=") {
                    "password=***".to_owned()
                } else {
                    kv.to_owned()
                }
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

/// Whether `schema` is a plain identifier this crate may quote into SQL.
pub(crate) fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !schema.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact_url("postgres://tessera:s3cret@db:5432/id"),
            "postgres://tessera:***@db:5432/id"
        );
        assert_eq!(
            redact_url("postgres://u:p@h/d?password=x&sslmode=require"),
            "postgres://u:***@h/d?password=***&sslmode=require"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url("postgres://h:5/d"), "postgres://h:5/d");
        let shown = format!("{:?}", PostgresConfig::new("postgres://a:hunter2@h/d"));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn schema_names_are_plain() {
        assert!(valid_schema("tessera_test_1"));
        for bad in ["", "1abc", "a-b", "A", "a;drop", &"a".repeat(64)] {
            assert!(!valid_schema(bad), "{bad}");
        }
    }
}
