//! Black-box test: builds and starts the real `tessera` binary on a free loopback port with
//! a temporary data directory (redb, and sled), drives the whole Privicore workflow over HTTP with
//! reqwest, restarts the server on the same directory and checks that tokens, revocations
//! and commands survived. Finally greps the server's log output and the data directory for
//! every secret used.
#![allow(clippy::too_many_lines)] // one scenario, top to bottom

use tessera_testkit::binary as bin_support;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bin_support::{Reply, Served};
use serde_json::{Value, json};
use tessera_core::KeyPair;
use uuid::Uuid;

const TTLS: [u64; 8] = [
    3600, 86_400, 604_800, 2_592_000, 7_776_000, 15_552_000, 23_328_000, 31_104_000,
];

/// Test-only configuration: cheap argon2 (never in production).
const TEST_CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [http]\nshutdown_grace_secs = 5\n";

/// Start `tessera serve` with `backend` on `dir/data`, its stderr appended to `log`.
async fn start_server(dir: &Path, log: &Path, backend: &str) -> Served {
    let config = dir.join("tessera.toml");
    std::fs::write(&config, TEST_CONFIG).unwrap();
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut cmd = bin_support::serve(&config);
    cmd.args(["--backend", backend])
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("TESSERA_LOG", "trace")
        .stderr(Stdio::from(log_file));
    Served::start(cmd, Some(log)).await
}

/// The binary's HTTP client with this scenario's calls.
struct Client(bin_support::Client);

impl std::ops::Deref for Client {
    type Target = bin_support::Client;
    fn deref(&self) -> &bin_support::Client {
        &self.0
    }
}

impl Client {
    fn new(server: &Served) -> Self {
        Self(bin_support::Client::new(server))
    }

    /// A command: 202, `X-DPT-CAB-ID`, `["id"]`, and status 2 at `/request-status/{id}`.
    async fn command(&self, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> String {
        let r = self.post(path, token, fields).await;
        assert_eq!(r.status, 202, "{path}: {}", r.body);
        let id = r.cab_id.expect("X-DPT-CAB-ID");
        assert_eq!(r.body, json!([id]));
        let s = self.get(&format!("/request-status/{id}"), None).await;
        assert_eq!(s.status, 200);
        assert_eq!(s.body["data"]["command_status"], 2);
        assert_eq!(s.body["data"]["type"], "X-DPT-CAB-ID");
        id
    }

    async fn login(&self, username: &str, password: &str, ttl: Option<&str>) -> Reply {
        let mut f = vec![("username", username), ("password", password)];
        if let Some(t) = ttl {
            f.push(("ttl", t));
        }
        self.post("/profile/authenticate", None, &f).await
    }

    async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["authorizationToken"].as_str().unwrap().to_owned()
    }

    async fn profile(&self, token: &str) -> Value {
        let r = self.get("/profile/retrieve-profile-id", Some(token)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Register a key from `/generate-keys` with proof of possession.
    async fn register_key(&self, token: &str) -> String {
        let keys = self.get("/generate-keys", None).await.body;
        let seed: [u8; 32] = hex::decode(keys["private"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let pair = KeyPair::from_seed(&seed);
        assert_eq!(pair.public().to_privicore_hex(), keys["public"]);
        let id = Uuid::parse_str(self.profile(token).await["profileId"].as_str().unwrap()).unwrap();
        self.command(
            "/public-key/register-public-key",
            Some(token),
            &[
                ("publicKey", keys["public"].as_str().unwrap()),
                ("signature", &pair.prove(id)),
            ],
        )
        .await;
        keys["private"].as_str().unwrap().to_owned()
    }
}

/// Every regular file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privicore_workflow_against_the_real_binary_on_redb() {
    workflow("redb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privicore_workflow_against_the_real_binary_on_sled() {
    workflow("sled").await;
}

async fn workflow(backend: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("server.log");
    let server = start_server(tmp.path(), &log, backend).await;
    let c = Client::new(&server);
    let mut secrets: Vec<String> = Vec::new();

    let health = c.get("/utility/check-server-health", None).await;
    assert_eq!(health.body["status"], "ok");

    // register → request-status → authenticate → 403 profile_incomplete
    let pw = "amber walrus juggles nine kites".to_owned();
    secrets.push(pw.clone());
    c.command(
        "/profile/register-profile",
        None,
        &[("username", "Alice"), ("password", &pw)],
    )
    .await;
    let token = c.token("alice", &pw).await;
    secrets.push(token.clone());
    assert_eq!(c.profile(&token).await["state"], "incomplete");
    let r = c
        .get("/device/retrieve-profile-devices", Some(&token))
        .await;
    r.expect(403, "profile_incomplete");

    // generate-keys / register key with proof → active
    secrets.push(c.register_key(&token).await);
    assert_eq!(c.profile(&token).await["state"], "active");

    // QR token → device request-unique-identifier → device key → pending → approve
    let qr = c
        .post(
            "/profile/generate-qr-token",
            Some(&token),
            &[("deviceName", "phone")],
        )
        .await;
    assert_eq!(qr.status, 200, "{}", qr.body);
    // The default public_url is the address bound, not the literal `--listen 127.0.0.1:0`.
    let uri = qr.body["uri"].as_str().unwrap();
    let port = c.base.rsplit(':').next().unwrap();
    assert!(
        uri.ends_with(&format!("&server=http%3A%2F%2F127.0.0.1%3A{port}")),
        "{uri} does not name {}",
        c.base
    );
    let qr_token = qr.body["qrToken"].as_str().unwrap().to_owned();
    secrets.push(qr_token.clone());
    let dev_pw = "quiet harbor lamp seventeen owls".to_owned();
    secrets.push(dev_pw.clone());
    let cmd = c
        .command(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", &qr_token),
                ("username", "alice-phone"),
                ("password", &dev_pw),
            ],
        )
        .await;
    let ids = c
        .post(
            "/device/retrieve-unique-identifier",
            None,
            &[("commandId", &cmd)],
        )
        .await;
    assert_eq!(ids.status, 200);
    let device_id = ids.body["deviceIdentifier"].as_str().unwrap().to_owned();
    let dev_token = c.token("alice-phone", &dev_pw).await;
    secrets.push(dev_token.clone());
    secrets.push(c.register_key(&dev_token).await);
    assert_eq!(c.profile(&dev_token).await["state"], "pending");
    let r = c
        .get("/public-key/retrieve-public-key", Some(&dev_token))
        .await;
    r.expect(403, "device_pending");
    c.command(
        "/device/approve-device",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;

    // the device operates
    let r = c
        .get("/public-key/retrieve-public-key", Some(&dev_token))
        .await;
    assert_eq!(r.status, 200);
    let cfg = c
        .get(
            &format!("/device/retrieve-device-configuration/{device_id}"),
            Some(&dev_token),
        )
        .await;
    assert_eq!(cfg.body["state"], "active");
    assert_eq!(
        cfg.body["owner-profile-id"],
        c.profile(&token).await["profileId"]
    );

    // a second device is rejected: its token → 401
    let qr2 = c
        .post("/profile/generate-qr-token", Some(&token), &[])
        .await
        .body["qrToken"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(qr2.clone());
    let cmd = c
        .command(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", &qr2),
                ("username", "alice-tablet"),
                ("password", &dev_pw),
            ],
        )
        .await;
    let dev2 = c
        .post(
            "/device/retrieve-unique-identifier",
            None,
            &[("commandId", &cmd)],
        )
        .await;
    let dev2_id = dev2.body["deviceIdentifier"].as_str().unwrap().to_owned();
    let dev2_token = c.token("alice-tablet", &dev_pw).await;
    secrets.push(dev2_token.clone());
    c.command(
        "/device/reject-device",
        Some(&token),
        &[("deviceIdentifier", &dev2_id)],
    )
    .await;
    let r = c
        .get("/profile/retrieve-profile-id", Some(&dev2_token))
        .await;
    r.expect(401, "unauthorized");

    // remove the first device: its token → 401, it cannot log in
    c.command(
        "/device/remove",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    let r = c
        .get("/profile/retrieve-profile-id", Some(&dev_token))
        .await;
    r.expect(401, "unauthorized");
    let r = c.login("alice-phone", &dev_pw, None).await;
    r.expect(401, "unauthorized");

    // reauthorize with each TTL: the same token, a new expiry
    for ttl in TTLS {
        let t = ttl.to_string();
        c.command(
            "/profile/reauthorize-authorization-token",
            Some(&token),
            &[("ttl", &t)],
        )
        .await;
        let e = c
            .post("/profile/retrieve-token-expiry", Some(&token), &[])
            .await;
        let left = e.body["expiresIn"].as_u64().unwrap();
        assert!(left <= ttl && left + 5 >= ttl, "ttl {ttl}: {}", e.body);
    }
    let r = c
        .post(
            "/profile/reauthorize-authorization-token",
            Some(&token),
            &[("ttl", "3601")],
        )
        .await;
    r.expect(422, "invalid_ttl");

    // revoke one token; a second revoke → 401
    let spare = c.token("alice", &pw).await;
    secrets.push(spare.clone());
    c.command("/profile/revoke-authorization-token", Some(&spare), &[])
        .await;
    let r = c
        .post("/profile/revoke-authorization-token", Some(&spare), &[])
        .await;
    r.expect(401, "unauthorized");

    // change password: other tokens revoked, the calling one stays valid
    let other = c.token("alice", &pw).await;
    secrets.push(other.clone());
    let new_pw = "copper lantern drifts past midnight".to_owned();
    secrets.push(new_pw.clone());
    let change = c
        .command(
            "/profile/change-password",
            Some(&token),
            &[("currentPassword", &pw), ("newPassword", &new_pw)],
        )
        .await;
    let r = c.get("/profile/retrieve-profile-id", Some(&other)).await;
    r.expect(401, "unauthorized");
    c.profile(&token).await;

    // metrics and OpenAPI are served
    let m = c.get("/metrics", None).await;
    assert!(
        m.body
            .as_str()
            .unwrap()
            .contains("tessera_logins_total{outcome=\"success\"}")
    );
    assert!(c.get("/openapi.json", None).await.body["paths"].is_object());

    // restart on the same directory: tokens, revocations, passwords and commands survived
    server.stop().await;
    let server = start_server(tmp.path(), &log, backend).await;
    let c = Client::new(&server);
    assert_eq!(c.profile(&token).await["state"], "active");
    for dead in [&spare, &other, &dev_token, &dev2_token] {
        let r = c.get("/profile/retrieve-profile-id", Some(dead)).await;
        r.expect(401, "unauthorized");
    }
    let r = c.login("alice", &pw, None).await;
    r.expect(401, "unauthorized");
    let fresh = c.token("alice", &new_pw).await;
    secrets.push(fresh);
    let s = c.get(&format!("/request-status/{change}"), None).await;
    assert_eq!(s.body["data"]["command_status"], 2);
    let devices = c
        .get("/device/retrieve-profile-devices", Some(&token))
        .await
        .body;
    assert_eq!(devices.as_array().unwrap().len(), 1, "{devices}");
    assert_eq!(devices[0]["state"], "rejected");
    server.stop().await;

    // no secret in the logs or in the data directory
    let logs = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&logs);
    assert!(text.contains("tessera listening"), "{text}");
    assert!(text.contains("authentication"), "audit lines expected");
    let mut blobs = vec![("log".to_owned(), logs.clone())];
    for f in files(&tmp.path().join("data")) {
        blobs.push((f.display().to_string(), std::fs::read(&f).unwrap()));
    }
    for s in &secrets {
        for (name, blob) in &blobs {
            let found = blob.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!found, "secret {s:?} found in {name}");
        }
    }
}
