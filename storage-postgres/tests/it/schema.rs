//! Connecting: migrations at connect, the schema version check, and the errors of a bad
//! URL, bad credentials and an unreachable server. Needs `TESSERA_TEST_POSTGRES_URL`.

use tessera_testkit::postgres as common;

use std::time::{Duration, Instant};

use tessera_core::StoreError;
use tessera_core::store::{MaintenanceStore as _, OAuthStore as _, ProfileStore as _};
use tessera_storage_postgres::{PostgresConfig, PostgresStore, SCHEMA_VERSION};
use tessera_testkit::profile;

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
    a.create_profile(&p, None).await.unwrap();
    assert_eq!(b.get_profile(p.id).await.unwrap(), Some(p.clone()));

    // reconnecting to a current schema changes nothing
    let again = PostgresStore::connect_with(config.clone()).await.unwrap();
    assert_eq!(again.get_profile(p.id).await.unwrap(), Some(p));

    // a newer tessera applied a migration this build does not know: refused
    let future = SCHEMA_VERSION + 1;
    let admin = PostgresStore::connect_with(config.clone()).await.unwrap();
    sqlx_exec(
        schemas.url(),
        &format!(
            "INSERT INTO \"{schema}\"._sqlx_migrations \
             (version, description, success, checksum, execution_time) \
             VALUES ({future}, 'from the future', true, '\\x00', 0)"
        ),
    )
    .await;
    let what = corrupt_what(
        PostgresStore::connect_with(config.clone())
            .await
            .unwrap_err(),
    );
    assert!(what.contains(&format!("migration {future}")), "{what}");
    assert!(what.contains("newer tessera"), "{what}");
    sqlx_exec(
        schemas.url(),
        &format!("DELETE FROM \"{schema}\"._sqlx_migrations WHERE version = {future}"),
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

/// A database written by a build that let an API key name be taken twice (there is no
/// unique index, so no migration could fail on it): both keys are listed, the name counts
/// as taken, and revoking it removes both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_name_stored_twice_by_an_older_build_is_refused_and_revoked_whole() {
    use tessera_core::store::{ApiKeyRecord, Conflict, KeyStore as _};
    use tessera_core::{Timestamp, TokenDigest};
    let Some(url) = common::url("an_api_key_name_stored_twice_by_an_older_build") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let schema = config.schema.clone().unwrap();
    let s = PostgresStore::connect_with(config).await.unwrap();
    for d in [1u8, 2] {
        sqlx_exec(
            schemas.url(),
            &format!(
                "INSERT INTO \"{schema}\".api_keys (digest, name, created_at) \
                 VALUES ('\\x{}', 'billing', {d})",
                format!("{d:02x}").repeat(32)
            ),
        )
        .await;
    }
    let key = |d: u8| ApiKeyRecord {
        digest: TokenDigest([d; 32]),
        name: "billing".into(),
        created_at: Timestamp(i64::from(d)),
    };
    assert_eq!(s.list_api_keys().await.unwrap(), vec![key(1), key(2)]);
    assert_eq!(
        s.put_api_key(&key(3)).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.revoke_api_key("billing").await, Ok(2));
    assert_eq!(s.list_api_keys().await.unwrap(), vec![]);
    s.put_api_key(&key(3)).await.unwrap();
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

/// A database an older build created (schema version 1, with data) is upgraded at connect
/// and keeps its data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_schema_is_upgraded_at_connect() {
    let Some(url) = common::url("an_older_schema_is_upgraded_at_connect") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let schema = config.schema.clone().unwrap();
    sqlx_exec(schemas.url(), &format!("CREATE SCHEMA \"{schema}\"")).await;
    // the migrations of version 1 only, as the older build had them
    let old = tempfile::tempdir().unwrap();
    let first = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("0001_")
        })
        .unwrap();
    std::fs::copy(&first, old.path().join(first.file_name().unwrap())).unwrap();
    let migrator = sqlx::migrate::Migrator::new(old.path().to_path_buf())
        .await
        .unwrap();
    let options: sqlx::postgres::PgConnectOptions = schemas.url().parse().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    migrator.run(&pool).await.unwrap();
    pool.close().await;
    let p = profile("from-v1");
    {
        // written by the older build: a profile and a token (no family)
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(schemas.url())
            .await
            .unwrap();
        sqlx::query(&format!(
            "INSERT INTO \"{schema}\".profiles (id, kind, state, username, password_hash, \
             password_temporary, environments, created_at, updated_at, version) \
             VALUES ($1, 1, 1, 'from-v1', $2, false, '{{}}', 1000, 1000, 1)"
        ))
        .bind(p.id)
        .bind(p.password_hash.as_deref())
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let store = PostgresStore::connect_with(config).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
    assert_eq!(store.get_profile(p.id).await.unwrap(), Some(p.clone()));
    // the tables of the later migrations are there: an application of the old profile
    let app = tessera_core::store::OAuthClientRecord {
        id: uuid::Uuid::new_v4(),
        owner: p.id,
        name: "after the upgrade".into(),
        confidential: false,
        redirect_uris: vec!["https://a.example/cb".into()],
        scopes: Vec::new(),
        id_token_alg: tessera_core::store::IdTokenAlg::EdDsa,
        secret: None,
        pending_secret: None,
        first_party: true,
        created_at: tessera_core::Timestamp(1),
        updated_at: tessera_core::Timestamp(1),
        version: 1,
    };
    store.create_client(&app, None).await.unwrap();
    assert_eq!(store.list_clients(p.id).await.unwrap(), vec![app]);
}

/// A schema migrated to version 4 by an older build (there is no migration 5 in this
/// build: sqlx needs no contiguous versions) is brought to [`SCHEMA_VERSION`] at connect,
/// and the nonce table of migration 6 works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_4_schema_gets_the_guards_at_connect() {
    use tessera_core::store::NonceStore as _;
    let Some(url) = common::url("a_version_4_schema_gets_the_guards_at_connect") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let schema = config.schema.clone().unwrap();
    sqlx_exec(schemas.url(), &format!("CREATE SCHEMA \"{schema}\"")).await;
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if ["0001_", "0002_", "0003_", "0004_"]
            .iter()
            .any(|v| name.starts_with(v))
        {
            std::fs::copy(&path, old.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(old.path().to_path_buf())
        .await
        .unwrap();
    let options: sqlx::postgres::PgConnectOptions = schemas.url().parse().unwrap();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", schema.as_str())]))
        .await
        .unwrap();
    migrator.run(&pool).await.unwrap();
    pool.close().await;

    let store = PostgresStore::connect_with(config).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), Some(SCHEMA_VERSION));
    let t = tessera_core::Timestamp;
    assert!(store.claim_nonce(&[1; 32], t(100), t(1)).await.unwrap());
    assert!(!store.claim_nonce(&[1; 32], t(100), t(2)).await.unwrap());
}
