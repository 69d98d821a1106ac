//! Shared steps of the OAuth tests against the real binary: a server on redb, an active
//! user, a registered application.

use std::process::Stdio;

use serde_json::json;
use tessera_core::KeyPair;
use tessera_testkit::binary::{self as bin_support, Served};
use uuid::Uuid;

/// Test-only configuration: cheap argon2 (never in production).
const TEST_CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [http]\nshutdown_grace_secs = 5\n";

/// `tessera serve` on redb in a temporary directory (kept alive by the returned guard).
pub(crate) async fn start() -> (Served, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, TEST_CONFIG).unwrap();
    let log = dir.path().join("server.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut cmd = bin_support::serve(&config);
    cmd.args(["--backend", "redb"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stderr(Stdio::from(log_file));
    (Served::start(cmd, Some(&log)).await, dir)
}

/// Register `name`, authenticate, register a key: an active user. Returns the username,
/// its password and an authorization token.
pub(crate) async fn active_user(api: &bin_support::Client, name: &str) -> (String, String, String) {
    let password = "amber walrus juggles nine kites".to_owned();
    let r = api
        .post(
            "/profile/register-profile",
            None,
            &[("username", name), ("password", &password)],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let r = api
        .post(
            "/profile/authenticate",
            None,
            &[("username", name), ("password", &password)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let token = r.body["authorizationToken"].as_str().unwrap().to_owned();
    let me = api.get("/profile/retrieve-profile-id", Some(&token)).await;
    let id = Uuid::parse_str(me.body["profileId"].as_str().unwrap()).unwrap();
    let keys = KeyPair::generate(&tessera_core::OsRandom);
    let r = api
        .post(
            "/public-key/register-public-key",
            Some(&token),
            &[
                ("publicKey", &keys.public().to_privicore_hex()),
                ("signature", &keys.prove(id)),
            ],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    (name.to_owned(), password, token)
}

/// A registered application: its id and (confidential clients) its secret.
pub(crate) struct App {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
}

/// Register an application through the Privicore-style route and read its configuration
/// (the secret is shown in this first read only).
pub(crate) async fn register_app(
    api: &bin_support::Client,
    token: &str,
    name: &str,
    redirect_uris: &[&str],
    client_type: &str,
    id_token_alg: &str,
) -> App {
    let mut fields = vec![
        ("name", name),
        ("scope", "openid profile email offline_access"),
        ("clientType", client_type),
        ("idTokenAlg", id_token_alg),
    ];
    fields.extend(redirect_uris.iter().map(|u| ("redirectUri", *u)));
    let r = api
        .post("/oauth-application/register", Some(token), &fields)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let command = r.cab_id.unwrap();
    let r = api
        .post(
            "/oauth-application/retrieve-configuration",
            Some(token),
            &[("commandId", &command)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["clientType"], json!(client_type));
    let again = api
        .post(
            "/oauth-application/retrieve-configuration",
            Some(token),
            &[("commandId", &command)],
        )
        .await;
    assert_eq!(
        again.body["clientSecret"],
        json!(null),
        "the secret is shown once"
    );
    App {
        client_id: r.body["clientId"].as_str().unwrap().to_owned(),
        client_secret: r.body["clientSecret"].as_str().map(str::to_owned),
    }
}
