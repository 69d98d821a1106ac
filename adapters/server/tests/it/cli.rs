//! The `tessera` binary's command line: help, admin commands, backends, bad configs.

use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use tessera_core::{Engine, Store};

fn tessera(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .env("TESSERA_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run tessera")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_documents_every_command_and_flag() {
    let out = tessera(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for word in ["serve", "admin", "TESSERA_LOG"] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let serve = text(&tessera(&["serve", "--help"]).stdout);
    for flag in [
        "--listen",
        "--data-dir",
        "--backend",
        "--config",
        "--metrics-listen",
        "--ws-allowed-origins",
        "TESSERA_WS_ALLOWED_ORIGINS",
        "TESSERA_LISTEN",
        "TESSERA_DATA_DIR",
        "TESSERA_BACKEND",
        "TESSERA_CONFIG",
        "127.0.0.1:9009",
        "./tessera-data",
        "redb",
        "sled",
        "memory",
        "postgres",
        "--database-url",
        "TESSERA_DATABASE_URL",
        "--database-pool-size",
        "TESSERA_DATABASE_POOL_SIZE",
    ] {
        assert!(serve.contains(flag), "{flag} missing from:\n{serve}");
    }
    // the database URL (and its password) from the environment never shows in the help
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--help"])
        .env("TESSERA_DATABASE_URL", "postgres://u:hunter2@db/t")
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains("hunter2"));
    let admin_key = text(&tessera(&["admin", "unlock", "--help"]).stdout);
    assert!(admin_key.contains("--database-url"), "{admin_key}");
    let admin = text(&tessera(&["admin", "--help"]).stdout);
    assert!(
        admin.contains("create-api-key")
            && admin.contains("list-api-keys")
            && admin.contains("revoke-api-key")
            && admin.contains("unlock"),
        "{admin}"
    );
    let list = text(&tessera(&["admin", "list-api-keys", "--help"]).stdout);
    assert!(
        list.contains("--data-dir") && list.contains("never shown"),
        "{list}"
    );
    let revoke = text(&tessera(&["admin", "revoke-api-key", "--help"]).stdout);
    assert!(
        revoke.contains("--name") && revoke.contains("401"),
        "{revoke}"
    );
    let key = text(&tessera(&["admin", "create-api-key", "--help"]).stdout);
    assert!(
        key.contains("--name") && key.contains("--data-dir"),
        "{key}"
    );
}

fn open(backend: &str, dir: &std::path::Path) -> Arc<dyn Store> {
    let b = match backend {
        "redb" => tessera_server::store::Backend::Redb,
        _ => tessera_server::store::Backend::Sled,
    };
    tessera_server::store::open_store(b, dir).unwrap()
}

#[tokio::test]
async fn admin_create_api_key_and_unlock_work_offline() {
    for backend in ["redb", "sled"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let out = tessera(&[
            "admin",
            "create-api-key",
            "--data-dir",
            dir,
            "--backend",
            backend,
            "--name",
            "billing",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let key = text(&out.stdout).trim().to_owned();
        assert!(key.starts_with("tsk_") && key.len() == 47, "{key}");
        // only the digest is stored
        for f in walk(tmp.path()) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{f:?}"
            );
        }
        {
            let engine = Engine::builder()
                .store(open(backend, tmp.path()))
                .build()
                .unwrap();
            assert_eq!(engine.verify_api_key(&key).await.unwrap(), "billing");
            // throttle someone, then unlock them offline
            for _ in 0..6 {
                let _ = engine
                    .authenticate("lockedout", "wrong password", None)
                    .await;
            }
            assert_eq!(
                engine
                    .authenticate("lockedout", "wrong password", None)
                    .await
                    .unwrap_err()
                    .code(),
                "too_many_attempts"
            );
        }
        let out = tessera(&[
            "admin",
            "unlock",
            "--data-dir",
            dir,
            "--backend",
            backend,
            "--username",
            "lockedout",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let engine = Engine::builder()
            .store(open(backend, tmp.path()))
            .build()
            .unwrap();
        assert_eq!(
            engine
                .authenticate("lockedout", "wrong password", None)
                .await
                .unwrap_err()
                .code(),
            "unauthorized"
        );
    }
}

/// The status of `GET /v1/users/<unknown id>` with API key `key`: 404 with a valid key.
async fn users_api_status(c: &tessera_testkit::binary::Client, key: &str) -> u16 {
    c.http
        .get(format!("{}/v1/users/nobody", c.base))
        .header("X-Tessera-Api-Key", key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn admin_api_keys_are_unique_listed_and_revoked() {
    use tessera_testkit::binary::{Client, Served, serve};
    for backend in ["redb", "sled"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let admin = |args: &[&str]| {
            let mut all = vec!["admin"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["--data-dir", dir, "--backend", backend]);
            tessera(&all)
        };
        let list = admin(&["list-api-keys"]);
        assert!(list.status.success(), "{}", text(&list.stderr));
        assert_eq!(text(&list.stdout), "", "no keys yet");
        assert!(text(&list.stderr).contains("no API keys"));
        let billing = admin(&["create-api-key", "--name", "billing"]);
        assert!(billing.status.success(), "{}", text(&billing.stderr));
        let billing = text(&billing.stdout).trim().to_owned();
        // a taken name is refused, and nothing is printed on stdout
        let again = admin(&["create-api-key", "--name", "billing"]);
        assert!(!again.status.success());
        assert_eq!(text(&again.stdout), "");
        let err = text(&again.stderr);
        assert!(
            err.contains("an API key named \"billing\" already exists"),
            "{err}"
        );
        let ops = admin(&["create-api-key", "--name", "ops team"]);
        assert!(ops.status.success(), "{}", text(&ops.stderr));
        let ops = text(&ops.stdout).trim().to_owned();
        // listed: creation time and name, never the key
        let list = admin(&["list-api-keys"]);
        assert!(list.status.success(), "{}", text(&list.stderr));
        let out = text(&list.stdout);
        let names: Vec<&str> = out.lines().map(|l| l.split_once('\t').unwrap().1).collect();
        assert_eq!(names, ["billing", "ops team"], "{out}");
        for line in out.lines() {
            let (at, _) = line.split_once('\t').unwrap();
            assert!(at.len() == 25 && at.ends_with("+00:00"), "{line}");
        }
        assert!(!out.contains("tsk_") && !out.contains(&billing[4..]));
        // an unknown name is an error
        let unknown = admin(&["revoke-api-key", "--name", "nobody"]);
        assert!(!unknown.status.success());
        let err = text(&unknown.stderr);
        assert!(
            err.contains("no API key named \"nobody\"") && err.contains("nothing was changed"),
            "{err}"
        );
        let revoked = admin(&["revoke-api-key", "--name", "billing"]);
        assert!(revoked.status.success(), "{}", text(&revoked.stderr));
        let list = text(&admin(&["list-api-keys"]).stdout);
        assert_eq!(list.lines().count(), 1, "{list}");
        assert!(list.ends_with("\tops team\n"), "{list}");
        // the server refuses the revoked key and accepts the other
        let cfg = tmp.path().join("t.toml");
        std::fs::write(&cfg, WEAK).unwrap();
        let mut cmd = serve(&cfg);
        cmd.args(["--backend", backend, "--data-dir", dir])
            .env("TESSERA_LOG", "warn");
        let server = Served::start(cmd, None).await;
        let c = Client::new(&server);
        assert_eq!(users_api_status(&c, &billing).await, 401);
        assert_eq!(users_api_status(&c, &ops).await, 404);
        server.stop().await;
        // the revoked name can be given to a new key
        let renewed = admin(&["create-api-key", "--name", "billing"]);
        assert!(renewed.status.success(), "{}", text(&renewed.stderr));
        assert_ne!(text(&renewed.stdout).trim(), billing);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn bad_configuration_exits_non_zero_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.toml");
    let dir = tmp.path().join("data");
    let dir = dir.to_str().unwrap();
    for (content, needle) in [
        ("typo_key = 1", "typo_key"),
        ("default_ttl = 5", "ttl"),
        ("[argon2]\nmemory_kib = 64", "OWASP"),
    ] {
        std::fs::write(&cfg, content).unwrap();
        let out = tessera(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--backend",
            "memory",
            "--data-dir",
            dir,
            "--config",
            cfg.to_str().unwrap(),
        ]);
        assert!(!out.status.success());
        assert!(text(&out.stderr).contains(needle), "{}", text(&out.stderr));
    }
    let out = tessera(&["serve", "--backend", "nosuch"]);
    assert!(!out.status.success());
}

#[test]
fn a_second_server_on_the_same_redb_dir_exits_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir])
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(first.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("tessera listening on "), "{line}");
    let out = tessera(&["serve", "--listen", "127.0.0.1:0", "--data-dir", dir]);
    let _ = first.kill();
    let _ = first.wait();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("redb"), "{}", text(&out.stderr));
}

#[tokio::test]
async fn metrics_can_have_their_own_listener() {
    use tokio::io::AsyncBufReadExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("t.toml");
    std::fs::write(
        &cfg,
        "allow_weak_hash_params = true\n[argon2]\nmemory_kib = 64\niterations = 1\n",
    )
    .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--backend", "memory"])
        .arg("--config")
        .arg(&cfg)
        .env("TESSERA_METRICS_LISTEN", "127.0.0.1:0")
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let metrics = lines.next_line().await.unwrap().unwrap();
    let main = lines.next_line().await.unwrap().unwrap();
    let metrics = metrics
        .strip_prefix("tessera metrics on ")
        .unwrap()
        .to_owned();
    let main = main
        .strip_prefix("tessera listening on ")
        .unwrap()
        .to_owned();
    let http = reqwest::Client::new();
    let health = http
        .get(format!("{main}/utility/check-server-health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let m = http.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(m.status(), 200);
    assert!(
        m.text()
            .await
            .unwrap()
            .contains("route=\"/utility/check-server-health\"")
    );
    let none = http.get(format!("{main}/metrics")).send().await.unwrap();
    assert_eq!(none.status(), 404);
    child.kill().await.unwrap();
}

/// Settings that make hashing cheap (tests only).
const WEAK: &str = "allow_weak_hash_params = true\n[argon2]\nmemory_kib = 64\niterations = 1\n";

#[test]
fn a_cli_error_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(&cfg, "[http]\nmax_connections = \"many\"\n").unwrap();
    let out = tessera(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--backend",
        "memory",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    // the error names the key, and is there once
    assert_eq!(
        err.matches("http.max_connections: invalid type").count(),
        1,
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn an_admin_command_on_a_store_the_server_holds_says_stop_the_server_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir])
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("tessera listening on "), "{line}");
    let out = tessera(&[
        "admin",
        "create-api-key",
        "--data-dir",
        dir,
        "--name",
        "billing",
    ]);
    let _ = server.kill();
    let _ = server.wait();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("in use") && err.contains("stop the server first"),
        "{err}"
    );
}

#[tokio::test]
async fn listen_accepts_a_host_name() {
    use tokio::io::AsyncBufReadExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("t.toml");
    std::fs::write(&cfg, WEAK).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "localhost:0", "--backend", "memory"])
        .arg("--config")
        .arg(&cfg)
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let base = line
        .strip_prefix("tessera listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let health = reqwest::get(format!("{base}/utility/check-server-health"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    child.kill().await.unwrap();
    // not a HOST:PORT at all: refused by the flag's parser
    let out = tessera(&["serve", "--listen", "localhost", "--backend", "memory"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("HOST:PORT"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn admin_unlock_of_an_unknown_username_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let out = tessera(&[
        "admin",
        "unlock",
        "--data-dir",
        dir,
        "--username",
        "nobody-here",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("no user named \"nobody-here\"") && err.contains("nothing was changed"),
        "{err}"
    );
}

#[tokio::test]
async fn logs_show_plain_values() {
    use tessera_testkit::binary::{Client, Served, serve};
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("t.toml");
    std::fs::write(&cfg, WEAK).unwrap();
    let log = tmp.path().join("server.log");
    let mut cmd = serve(&cfg);
    cmd.args(["--backend", "memory"])
        .env("TESSERA_LOG", "info")
        .stderr(std::fs::File::create(&log).unwrap());
    let server = Served::start(cmd, Some(&log)).await;
    let c = Client::new(&server);
    let pw = "amber walrus juggles nine kites";
    let r = c
        .post(
            "/profile/register-profile",
            None,
            &[("username", "plainlogs"), ("password", pw)],
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let ok = c
        .post(
            "/profile/authenticate",
            None,
            &[("username", "plainlogs"), ("password", pw)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let bad = c
        .post(
            "/profile/authenticate",
            None,
            &[
                ("username", "plainlogs"),
                ("password", "not the password at all"),
            ],
        )
        .await;
    assert_eq!(bad.status, 401, "{}", bad.body);
    server.stop().await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("outcome=\"success\"") || text.contains("outcome=success"),
        "{text}"
    );
    assert!(text.contains("profile_id="), "{text}");
    for debug in ["Some(", "=None"] {
        assert!(!text.contains(debug), "{debug} in the log:\n{text}");
    }
}

#[test]
fn admin_commands_read_the_config_file() {
    let help = text(&tessera(&["admin", "--help"]).stdout);
    assert!(help.contains("--config"), "{help}");
    let unlock = text(&tessera(&["admin", "unlock", "--help"]).stdout);
    assert!(
        unlock.contains("--config") && unlock.contains("TESSERA_CONFIG"),
        "{unlock}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("t.toml");
    // `[database]` of the file: the URL is used (no "needs a database URL")
    std::fs::write(
        &cfg,
        "[database]\nurl = \"postgres://u:hunter2@127.0.0.1:1/x\"\nconnect_timeout_secs = 1\n",
    )
    .unwrap();
    let out = tessera(&[
        "admin",
        "unlock",
        "--backend",
        "postgres",
        "--config",
        cfg.to_str().unwrap(),
        "--username",
        "someone",
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("postgres://u:***@127.0.0.1:1/x"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    // the rest of the file too: an unknown key is refused, naming it
    std::fs::write(&cfg, "[argon2]\ntypo_key = 1\n").unwrap();
    let dir = tmp.path().join("data");
    let out = tessera(&[
        "admin",
        "unlock",
        "--data-dir",
        dir.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        "--username",
        "someone",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("argon2.typo_key"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn admin_create_user_uses_the_pepper_of_the_config_file() {
    use std::io::Write as _;
    use tessera_testkit::binary::{Served, serve};
    let tmp = tempfile::tempdir().unwrap();
    let pepper = tmp.path().join("pepper");
    std::fs::write(&pepper, "a server pepper 4471\n").unwrap();
    let cfg = tmp.path().join("t.toml");
    std::fs::write(
        &cfg,
        format!("pepper_file = {:?}\n{WEAK}", pepper.to_str().unwrap()),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let temp = "a piped temporary password for erin 7731";
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "admin",
            "create-user",
            "--username",
            "erin",
            "--temporary-password",
        ])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&cfg)
        .env("TESSERA_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{temp}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // the server with the same file (so the same pepper) accepts the temporary password
    let mut cmd = serve(&cfg);
    cmd.arg("--data-dir")
        .arg(&data)
        .env("TESSERA_LOG", "warn")
        .stderr(Stdio::null());
    let server = Served::start(cmd, None).await;
    let reply = reqwest::Client::new()
        .post(format!("{}/v1/login", server.base))
        .header("content-type", "application/json")
        .body(serde_json::json!({"username": "erin", "password": temp}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
    assert_eq!(body["challenge_name"], "NEW_PASSWORD_REQUIRED", "{body}");
    server.stop().await;
}
