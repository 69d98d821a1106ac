//! Helpers of the PostgreSQL tests: the server URL (or a SKIPPED line), fresh schemas that
//! are dropped again, and a TCP proxy that can cut the connection to the server.

pub mod cluster;
pub mod nodes;
pub mod proxy;
mod server;

pub use server::url;

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::Connection as _;
use tessera_storage_postgres::{PostgresConfig, PostgresStore};

/// Fresh schemas on the test database, each named `tessera_t_<uuid>`; dropped (with
/// everything in them) when this value is dropped, even after a failed assertion.
#[derive(Debug)]
pub struct Schemas {
    url: String,
    made: Mutex<Vec<String>>,
}

impl Schemas {
    /// Schemas on the server at `url`.
    pub fn new(url: String) -> Self {
        Self {
            url,
            made: Mutex::new(Vec::new()),
        }
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new schema name, remembered for dropping.
    pub fn fresh_name(&self) -> String {
        let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
        self.made
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(name.clone());
        name
    }

    /// A config for a new schema on the test database (small pool, short timeout).
    pub fn fresh(&self) -> PostgresConfig {
        PostgresConfig::new(self.url.clone())
            .schema(self.fresh_name())
            .pool_size(8)
            .connect_timeout(Duration::from_secs(10))
    }

    /// A store on a new schema.
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect_with(self.fresh())
            .await
            .expect("connect to the test database")
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        let names = std::mem::take(self.made.get_mut().unwrap_or_else(PoisonError::into_inner));
        if names.is_empty() {
            return;
        }
        let url = self.url.clone();
        // A runtime of its own on a thread of its own: drop may run inside a runtime.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                for n in names {
                    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{n}\" CASCADE"))
                        .execute(&mut conn)
                        .await?;
                }
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop the test schemas: {dropped:?}");
        }
    }
}

/// Wait (at most 10 s) until exactly `want` sessions listen on the command feed of `schema`
/// on the server at `url`. A feed's listening session is told by its last statement, its
/// `LISTEN` on the schema's channel (its heartbeat repeats it; see storage-postgres's
/// `feed.rs`); a session that lost its client is gone from `pg_stat_activity`.
pub async fn wait_feed_listeners(url: &str, schema: &str, want: i64) {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    let sql = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE query = \
         'LISTEN \"' || \"{schema}\".tessera_command_channel('{schema}') || '\"'"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut conn)
            .await
            .expect("count the listeners");
        if n == want {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{n} feed listeners on {schema}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = conn.close().await;
}
