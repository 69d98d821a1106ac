//! [`PostgresStore`]: connecting, migrating and checking the schema version. Each storage
//! trait is implemented in the file named after it (`profiles.rs`, `tokens.rs`, …); a
//! transaction is a pooled connection's `begin()`.

use std::fmt;
use std::sync::Arc;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tessera_core::StoreError;
use tessera_core::store::StoreResult;

use crate::config::{PostgresConfig, redact_url, valid_schema};
use crate::error::{from_migrate, from_sqlx};
use crate::feed::Feed;

/// The embedded migrations (`storage-postgres/migrations/`), applied in order at connect.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// A pooled connection idle at least this long is pinged before it is used.
const PING_IF_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The schema version this build creates and reads: its newest migration.
pub const SCHEMA_VERSION: i64 = 6;

/// Every storage trait of `tessera_core::store` on a PostgreSQL database, shared by any
/// number of tessera processes.
///
/// Each trait method is one SQL statement or one transaction on a pooled connection, so
/// every guarantee of the traits holds across processes: uniqueness comes from `UNIQUE`
/// constraints, single use from `DELETE … RETURNING`-style statements, and optimistic
/// versions from `UPDATE … WHERE version = $n` (see the README). Cloning is cheap and
/// shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    target: String,
    feed: Arc<Feed>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.target)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connect to the database at `url` with the default [`PostgresConfig`], creating or
    /// upgrading the schema. See [`PostgresStore::connect_with`].
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(PostgresConfig::new(url)).await
    }

    /// Connect with `config`: open the pool (one connection at once, more on demand),
    /// create the schema if one is configured, apply the embedded migrations that the
    /// database lacks (under PostgreSQL's advisory lock, so nodes starting together apply
    /// each migration once) and check the schema version.
    ///
    /// Errors: `Unavailable` when the database cannot be reached in
    /// [`PostgresConfig::connect_timeout`], refuses the credentials or the URL is invalid;
    /// `Corrupt` when the database holds a migration this build does not know (it was
    /// upgraded by a newer tessera) or an applied migration differs from this build's.
    pub async fn connect_with(config: PostgresConfig) -> StoreResult<Self> {
        let shown = redact_url(&config.url);
        let invalid = |e: &dyn fmt::Display| StoreError::Unavailable {
            retryable: false,
            message: format!(
                "invalid database URL {shown} (expected postgres://user:password@host:port/database): {e}"
            ),
        };
        if !(config.url.starts_with("postgres://") || config.url.starts_with("postgresql://")) {
            return Err(invalid(&"the scheme is not postgres://"));
        }
        let mut options: PgConnectOptions = config.url.parse().map_err(|e| invalid(&e))?;
        options = options.application_name("tessera");
        if let Some(schema) = &config.schema {
            if !valid_schema(schema) {
                return Err(StoreError::Unavailable {
                    retryable: false,
                    message: format!(
                        "schema name {schema:?}: use lowercase letters, digits and _ (at most 63)"
                    ),
                });
            }
            options = options.options([("search_path", schema.as_str())]);
        }
        let target = format!(
            "{}:{}/{}{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("(default database)"),
            config
                .schema
                .as_deref()
                .map_or_else(String::new, |s| format!(" schema {s}")),
        );
        // The command feed's listening session: one connection of its own, opened by the
        // first subscription (see `feed.rs`).
        let listen = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(config.connect_timeout)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_lazy_with(options.clone().application_name("tessera feed"));
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size.max(1))
            .acquire_timeout(config.connect_timeout)
            // Not a ping before every use (a second round trip on every verify): only
            // connections idle for a while, which may have died with the server, are
            // pinged, and a dead one is replaced. sqlx also pings each connection as it
            // goes back to the pool, and drops it if that fails.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(from_sqlx)?;
        let feed = Arc::new(Feed::new(pool.clone(), listen));
        let store = Self { pool, target, feed };
        if let Some(schema) = &config.schema {
            store.create_schema(schema).await?;
        }
        MIGRATOR.run(&store.pool).await.map_err(from_migrate)?;
        match store.schema_version().await? {
            Some(SCHEMA_VERSION) => Ok(store),
            other => Err(StoreError::Corrupt {
                what: format!(
                    "schema version {other:?} after migrating (this build reads {SCHEMA_VERSION})"
                ),
                location: crate::error::MIGRATIONS_TABLE.into(),
            }),
        }
    }

    async fn create_schema(&self, schema: &str) -> StoreResult<()> {
        let sql = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
        match sqlx::query(&sql)
            .execute(&self.pool)
            .await
            .map_err(from_sqlx)
        {
            // two nodes creating it at once: one of them wins, both can go on
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The newest migration applied to the database (`None` before the first).
    pub async fn schema_version(&self) -> StoreResult<Option<i64>> {
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(from_sqlx)
    }

    /// Where the store is: `host:port/database` (and the schema), never the password.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Close every connection (the command feed's too); later calls fail with
    /// `Unavailable`.
    pub async fn close(&self) {
        self.feed.close().await;
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_version_is_the_newest_migration() {
        let newest = MIGRATOR.iter().map(|m| m.version).max();
        assert_eq!(newest, Some(SCHEMA_VERSION));
    }
}
