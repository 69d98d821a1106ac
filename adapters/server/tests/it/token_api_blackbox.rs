//! Black box: the real `tessera` binary. `admin create-user` (generated and piped temporary
//! passwords) and `admin create-api-key` offline, then `serve` with the file notifier (by
//! environment variable) and a `[token_api]` section: NEW_PASSWORD_REQUIRED, id tokens
//! checked against the JWKS with the configured `iss`/`aud`, a password reset with the code
//! from the file, the users API. Finally the server log holds none of the secrets.
#![allow(clippy::too_many_lines)] // one scenario, top to bottom

use tessera_testkit::binary as bin_support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use bin_support::Served;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

const CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [http]\nshutdown_grace_secs = 5\n\
    [token_api]\naccess_ttl = 3600\nid_token_issuer = \"https://id.blackbox.test\"\n\
    id_token_audience = \"blackbox-app\"\n";

fn admin(args: &[&str], dir: &Path, stdin: Option<&str>) -> (String, String) {
    let mut child = StdCommand::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("TESSERA_LOG", "warn")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "admin {args:?}: {stderr}");
    (stdout, stderr)
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> u16 {
        self.http
            .get(format!("{}{path}", self.base))
            .header("X-DPT-AUTHORIZATION", token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[test]
fn help_documents_create_user_and_the_notifier_flags() {
    let help = |args: &[&str]| {
        let out = StdCommand::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(help(&["admin", "--help"]).contains("create-user"));
    let create = help(&["admin", "create-user", "--help"]);
    for word in [
        "--username",
        "--temporary-password",
        "--data-dir",
        "--backend",
        "stdin",
        "NEW_PASSWORD_REQUIRED",
    ] {
        assert!(create.contains(word), "{word} missing from:\n{create}");
    }
    let serve = help(&["serve", "--help"]);
    for word in [
        "--notifier",
        "--notify-file",
        "--notify-webhook-url",
        "TESSERA_NOTIFIER",
        "TESSERA_NOTIFY_FILE",
        "TESSERA_NOTIFY_WEBHOOK_URL",
        "webhook",
    ] {
        assert!(serve.contains(word), "{word} missing from:\n{serve}");
    }
    // the password is never a command-line value
    let out = StdCommand::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "admin",
            "create-user",
            "--username",
            "x1x",
            "--temporary-password",
            "hunter2hunter2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn token_api_against_the_real_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap();
    let mut secrets: Vec<String> = Vec::new();

    // offline: an API key, a user with a generated password, one with a piped password
    let (key, _) = admin(&["create-api-key", "--name", "backend"], &data, None);
    let key = key.trim().to_owned();
    secrets.push(key.clone());
    let (generated, note) = admin(
        &[
            "create-user",
            "--username",
            "Carol",
            "--temporary-password",
            "--backend",
            "redb",
        ],
        &data,
        None,
    );
    let generated = generated.trim().to_owned();
    assert_eq!(generated.len(), 29, "{generated:?}");
    assert!(note.contains("NEW_PASSWORD_REQUIRED"), "{note}");
    secrets.push(generated.clone());
    let piped = "a piped temporary password for dave 8841".to_owned();
    let (out, _) = admin(
        &["create-user", "--username", "dave", "--temporary-password"],
        &data,
        Some(&format!("{piped}\n")),
    );
    assert!(
        out.trim().is_empty(),
        "a piped password is not echoed: {out}"
    );
    secrets.push(piped.clone());
    // a taken name fails cleanly
    let out = StdCommand::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "admin",
            "create-user",
            "--username",
            "carol",
            "--temporary-password",
            "--data-dir",
            data_s,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
    // the data never holds the passwords
    for secret in [&generated, &piped] {
        for f in walk(&data) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
        }
    }

    // serve, with the file notifier chosen by environment variable
    let config = tmp.path().join("tessera.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let codes = tmp.path().join("codes.jsonl");
    let log = tmp.path().join("server.log");
    let mut cmd = bin_support::serve(&config);
    cmd.args(["--data-dir", data_s])
        .env("TESSERA_NOTIFY_FILE", &codes)
        .env("TESSERA_LOG", "trace")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    let server = Served::start(cmd, Some(&log)).await;
    let c = Client {
        http: reqwest::Client::new(),
        base: server.base.clone(),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&codes).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the code file is created 0600");
    }

    // NEW_PASSWORD_REQUIRED for both users
    let mut tokens = Vec::new();
    for (name, temp) in [("carol", &generated), ("dave", &piped)] {
        let (status, j) = c
            .post("/v1/login", &json!({"username": name, "password": temp}))
            .await;
        assert_eq!(status, 200, "{j}");
        assert_eq!(j["challenge_name"], "NEW_PASSWORD_REQUIRED");
        let session = j["session"].as_str().unwrap().to_owned();
        secrets.push(session.clone());
        let chosen = format!("{name} chose this long passphrase 5521");
        secrets.push(chosen.clone());
        let (status, t) = c
            .post(
                "/v1/new-password-required",
                &json!({"session": session, "username": name, "new_password": chosen}),
            )
            .await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(t["expires_in"], 3600, "[token_api] access_ttl applies");
        for k in ["access_token", "refresh_token", "id_token"] {
            secrets.push(t[k].as_str().unwrap().to_owned());
        }
        tokens.push((name, chosen, t));
    }
    let (_, carol_pw, carol) = &tokens[0];
    let access = carol["access_token"].as_str().unwrap();
    assert_eq!(c.get("/profile/retrieve-profile-id", access).await, 200);

    // the id token verifies with the JWKS and the configured claims
    let jwks: JwkSet = c
        .http
        .get(format!("{}/.well-known/jwks.json", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_token = carol["id_token"].as_str().unwrap();
    let kid = jsonwebtoken::decode_header(id_token).unwrap().kid.unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&["blackbox-app"]);
    v.set_issuer(&["https://id.blackbox.test"]);
    let claims = jsonwebtoken::decode::<Value>(
        id_token,
        &DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["username"], "carol");

    // password reset: the code arrives in the file, never in the log
    let (status, _) = c
        .post("/v1/forgot-password", &json!({"username": "carol"}))
        .await;
    assert_eq!(status, 200);
    let mut code = String::new();
    for _ in 0..200 {
        if let Some(l) = std::fs::read_to_string(&codes).unwrap().lines().last() {
            let j: Value = serde_json::from_str(l).unwrap();
            assert_eq!(j["username"], "carol");
            j["code"].as_str().unwrap().clone_into(&mut code);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(code.len(), 8, "no code in the file");
    secrets.push(code.clone());
    let reset_pw = "carol reset it to this passphrase 7710".to_owned();
    secrets.push(reset_pw.clone());
    let (status, j) = c
        .post(
            "/v1/forgot-password-confirm",
            &json!({"username": "carol", "password": reset_pw, "confirmation_code": code}),
        )
        .await;
    assert_eq!(status, 200, "{j}");
    assert_eq!(c.get("/profile/retrieve-profile-id", access).await, 401);
    let (status, _) = c
        .post(
            "/v1/login",
            &json!({"username": "carol", "password": carol_pw}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = c
        .post(
            "/v1/login",
            &json!({"username": "carol", "password": reset_pw}),
        )
        .await;
    assert_eq!(status, 200);

    // the users API with the offline key
    let temp = "a temporary password from the backend 3319".to_owned();
    secrets.push(temp.clone());
    let res = c
        .http
        .put(format!("{}/v1/users/google-oauth2%7C1234", c.base))
        .header("X-Tessera-Api-Key", &key)
        .json(&json!({"environments": {"prod": true}, "createToken": true, "username": "erin", "temporaryPassword": temp}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    let user_token = user["userToken"].as_str().unwrap().to_owned();
    secrets.push(user_token.clone());
    assert_eq!(
        c.get("/profile/retrieve-profile-id", &user_token).await,
        200
    );
    let res = c
        .http
        .get(format!("{}/v1/users/google-oauth2%7C1234", c.base))
        .header("X-Tessera-Api-Key", "tsk_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // stop, then grep the log for every secret
    server.stop().await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("event=\"login\""), "audit lines expected");
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "{s:?} leaked into the server log"
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
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
