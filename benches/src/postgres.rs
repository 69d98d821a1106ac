//! The PostgreSQL fixture: a schema `tessera_bench_<total>` on the benchmark server holding
//! `total` live tokens, loaded once (multi-row inserts of 10,000 tokens each, through
//! `put_tokens`) and reused by later runs while it is complete. The sample token texts are
//! kept in the schema too (`bench_sample`), so a reused schema needs nothing on disk.

use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tessera_core::store::Store;
use tessera_storage_postgres::{PostgresConfig, PostgresStore};

use crate::{SAMPLE, populate};

/// The benchmark server: `TESSERA_BENCH_POSTGRES_URL`, else `TESSERA_TEST_POSTGRES_URL`.
#[must_use]
pub fn postgres_url() -> Option<String> {
    ["TESSERA_BENCH_POSTGRES_URL", "TESSERA_TEST_POSTGRES_URL"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
}

/// The sample texts of a complete fixture in the schema `pool` works in, if there is one.
async fn reusable(pool: &PgPool, total: usize) -> Option<Vec<String>> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM tokens")
        .fetch_one(pool)
        .await
        .ok()?;
    let sample: Vec<String> = sqlx::query_scalar("SELECT token FROM bench_sample ORDER BY n")
        .fetch_all(pool)
        .await
        .ok()?;
    (usize::try_from(count).ok() == Some(total) && sample.len() == SAMPLE.min(total))
        .then_some(sample)
}

async fn save_sample(pool: &PgPool, sample: &[String]) {
    sqlx::query("CREATE TABLE bench_sample (n int PRIMARY KEY, token text NOT NULL)")
        .execute(pool)
        .await
        .expect("create bench_sample");
    let n: Vec<i32> = (0..sample.len() as i32).collect();
    sqlx::query("INSERT INTO bench_sample SELECT * FROM UNNEST($1::int[], $2::text[])")
        .bind(&n)
        .bind(sample)
        .execute(pool)
        .await
        .expect("save the sample");
    sqlx::query("ANALYZE").execute(pool).await.expect("analyze");
}

/// A PostgreSQL store with `total` live tokens and the sample token texts, or `None` when
/// no server is configured ([`postgres_url`]).
pub fn open_postgres(
    rt: &tokio::runtime::Runtime,
    total: usize,
) -> Option<(Arc<dyn Store>, Vec<String>)> {
    let url = postgres_url()?;
    let schema = format!("tessera_bench_{total}");
    let config = PostgresConfig::new(url.clone()).schema(schema.clone());
    let options: PgConnectOptions = url.parse().expect("benchmark database URL");
    let admin = rt
        .block_on(
            PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options.options([("search_path", schema.as_str())])),
        )
        .expect("connect to the benchmark database");
    if let Some(sample) = rt.block_on(reusable(&admin, total)) {
        eprintln!("fixture postgres-{total}: reusing schema {schema}");
        let store = rt
            .block_on(PostgresStore::connect_with(config))
            .expect("open the benchmark store");
        return Some((Arc::new(store), sample));
    }
    rt.block_on(
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&admin),
    )
    .expect("drop an incomplete benchmark schema");
    let store: Arc<dyn Store> = Arc::new(
        rt.block_on(PostgresStore::connect_with(config))
            .expect("open the benchmark store"),
    );
    let sample = populate(rt, &store, total, &format!("postgres-{total}"));
    rt.block_on(save_sample(&admin, &sample));
    Some((store, sample))
}
