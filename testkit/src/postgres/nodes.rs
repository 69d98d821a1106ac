//! Helpers of the tests that run `tessera` on PostgreSQL: the server URL (or a SKIPPED
//! line), a fresh schema per test (dropped afterwards), the real binary on it, and a TCP
//! proxy that can cut the connection to the database.

use std::process::Stdio;

use sqlx::Connection as _;

use crate::binary::{self as bin_support, Served};

/// Test-only configuration: cheap argon2 (never in production), a short database timeout.
pub const TEST_CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [throttle]\nfree_failures = 3\n\
    [database]\npool_size = 8\nconnect_timeout_secs = 1\n\
    [http]\nshutdown_grace_secs = 5\n";

/// A schema of its own on the test database, dropped (with everything in it) on drop.
#[derive(Debug)]
pub struct Schema {
    admin_url: String,
    name: String,
}

impl Schema {
    /// Create a fresh schema on the server at `admin_url`.
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
        sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        Self {
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `url` (the test server's, or a proxy's) working in this schema.
    pub fn url(&self, url: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20search_path%3D{}", self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut conn = sqlx::PgConnection::connect(&url).await?;
                sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop schema {}: {dropped:?}", self.name);
        }
    }
}

/// A running `tessera serve --backend postgres`.
pub type Server = Served;

/// Start the binary on port 0 with `database_url` (through `TESSERA_DATABASE_URL`, as an
/// operator would pass a secret) and the test config written in `dir`.
pub async fn start_server(dir: &std::path::Path, name: &str, database_url: &str) -> Server {
    start_server_with(dir, name, database_url, TEST_CONFIG).await
}

/// [`start_server`] with its own settings file text (e.g. [`TEST_CONFIG`] with another
/// `[database] connect_timeout_secs`).
pub async fn start_server_with(
    dir: &std::path::Path,
    name: &str,
    database_url: &str,
    config_text: &str,
) -> Server {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, config_text).unwrap();
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = bin_support::serve(&config);
    cmd.args(["--backend", "postgres"])
        .env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_LOG", "info")
        .stderr(Stdio::from(log));
    Served::start(cmd, Some(&log_path)).await
}

pub use super::proxy::{Proxy, host_port};
pub use super::url;
pub use crate::binary::{Client, Reply};

impl Client {
    /// A command: 202 and its id (`X-DPT-CAB-ID`).
    pub async fn command(
        &self,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> String {
        let r = self.post(path, token, fields).await;
        assert_eq!(r.status, 202, "{path}: {}", r.body);
        r.cab_id.expect("X-DPT-CAB-ID")
    }

    /// `POST /profile/authenticate`.
    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/profile/authenticate",
            None,
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// `POST /profile/authenticate`; the authorization token (asserts 200).
    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["authorizationToken"].as_str().unwrap().to_owned()
    }

    /// `GET /profile/retrieve-profile-id` with `token`.
    pub async fn whoami(&self, token: &str) -> Reply {
        self.get("/profile/retrieve-profile-id", Some(token)).await
    }

    /// Register a fresh Ed25519 key for the token's profile, with proof of possession.
    pub async fn register_key(&self, token: &str) {
        let pair = tessera_core::KeyPair::generate(&tessera_core::OsRandom);
        let me = self.whoami(token).await;
        assert_eq!(me.status, 200, "{}", me.body);
        let id = uuid::Uuid::parse_str(me.body["profileId"].as_str().unwrap()).unwrap();
        self.command(
            "/public-key/register-public-key",
            Some(token),
            &[
                ("publicKey", &pair.public().to_privicore_hex()),
                ("signature", &pair.prove(id)),
            ],
        )
        .await;
    }
}
