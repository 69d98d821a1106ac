//! Connecting: migrations at connect, the schema version check, and the errors of a bad
//! URL, bad credentials and an unreachable server. Needs `TESSERA_TEST_POSTGRES_URL`.

mod common;

use std::time::{Duration, Instant};

use tessera_core::StoreError;
use tessera_core::store::{MaintenanceStore as _, ProfileStore as _};
use tessera_core::testkit::profile;
use tessera_storage_postgres::{PostgresConfig, PostgresStore, SCHEMA_VERSION};

fn corrupt_what(e: StoreError) -> String {
    match e {
        StoreError::Corrupt { what, location } => {
            assert!(location.contains("_sqlx_migrations"), "{location}");
            what
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_and_the_version_is_checked() {
    let Some(url) = common::url("migrations_run_once_and_the_version_is_checked") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let schema = config.schema.clone().unwrap();

    // two nodes starting together on an empty schema: both come up, the schema is made once
    let (a, b) = tokio::join!(
        PostgresStore::connect_with(config.clone()),
        PostgresStore::connect_with(config.clone())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
    assert!(a.target().contains(&schema), "{}", a.target());
    let p = profile("alice");
    a.create_profile(&p).await.unwrap();
    assert_eq!(b.get_profile(p.id).await.unwrap(), Some(p.clone()));

    // reconnecting to a current schema changes nothing
    let again = PostgresStore::connect_with(config.clone()).await.unwrap();
    assert_eq!(again.get_profile(p.id).await.unwrap(), Some(p));

    // a newer tessera applied migration 2: this build refuses the database
    let admin = PostgresStore::connect_with(config.clone()).await.unwrap();
    sqlx_exec(
        schemas.url(),
        &format!(
            "INSERT INTO \"{schema}\"._sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES (2, 'from the future', true, '\\x00', 0)"
        ),
    )
    .await;
    let what = corrupt_what(
        PostgresStore::connect_with(config.clone())
            .await
            .unwrap_err(),
    );
    assert!(what.contains("migration 2"), "{what}");
    assert!(what.contains("newer tessera"), "{what}");
    sqlx_exec(
        schemas.url(),
        &format!("DELETE FROM \"{schema}\"._sqlx_migrations WHERE version = 2"),
    )
    .await;

    // an applied migration that differs from this build's
    sqlx_exec(
        schemas.url(),
        &format!("UPDATE \"{schema}\"._sqlx_migrations SET checksum = '\\x01' WHERE version = 1"),
    )
    .await;
    let what = corrupt_what(PostgresStore::connect_with(config).await.unwrap_err());
    assert!(what.contains("migration 1"), "{what}");
    admin.ping().await.unwrap();
}

async fn sqlx_exec(url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sql).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn connect_errors_are_clear_and_never_show_the_password() {
    // an invalid URL (no server needed)
    let e = PostgresStore::connect("mysql://u:hunter2@h/d")
        .await
        .unwrap_err();
    let StoreError::Unavailable { retryable, message } = e else {
        panic!("expected Unavailable, got {e:?}");
    };
    assert!(!retryable);
    assert!(!message.contains("hunter2"), "{message}");

    // nothing listens on the port: Unavailable (retryable) within the connect timeout
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let e = PostgresStore::connect_with(
        PostgresConfig::new(format!("postgres://u:hunter2@127.0.0.1:{port}/d"))
            .connect_timeout(Duration::from_millis(500)),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, StoreError::Unavailable { retryable: true, message } if !message.contains("hunter2")),
        "{e:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    let Some(url) = common::url("connect_errors (wrong password)") else {
        return;
    };
    let wrong = match url.split_once('@') {
        Some((head, tail)) if head.matches(':').count() == 2 => {
            let user = head.rsplit_once(':').unwrap().0;
            format!("{user}:not-the-password@{tail}")
        }
        _ => return, // the test URL has no password to get wrong
    };
    let e = PostgresStore::connect(&wrong).await.unwrap_err();
    assert!(
        matches!(&e, StoreError::Unavailable { retryable: false, message } if message.contains("28P01")),
        "{e:?}"
    );
}

#[tokio::test]
async fn bad_schema_names_are_refused() {
    let e = PostgresStore::connect_with(
        PostgresConfig::new("postgres://u@127.0.0.1:1/d").schema("x\"; DROP TABLE y; --"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::Unavailable {
                retryable: false,
                ..
            }
        ),
        "{e:?}"
    );
}
