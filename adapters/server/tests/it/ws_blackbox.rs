//! The channel on the real `tessera` binary: join, the signed push of a command made over
//! HTTP, the Origin allow-list from the environment, and the close on revoke.

use tessera_testkit::binary as bin_support;
use tessera_testkit::ws as ws_support;

use std::process::Stdio;

use bin_support::Served;
use serde_json::Value;
use tessera_core::{KeyPair, OsRandom, PublicKey};
use tokio_tungstenite::tungstenite;
use uuid::Uuid;
use ws_support::{close_of, connect, join, next_json, password, post_form, verified_data};

/// Test-only configuration: cheap argon2 (never in production), quick token re-checks.
const TEST_CONFIG: &str = "allow_weak_hash_params = true\n\
    [argon2]\nmemory_kib = 64\niterations = 1\n\
    [hash_pool]\nworkers = 2\n\
    [http]\nshutdown_grace_secs = 5\n\
    [ws]\nrecheck_secs = 1\nallowed_origins = [\"https://from-file.example\"]\n";

struct Binary {
    server: Served,
    base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Binary {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tessera.toml");
        std::fs::write(&config, TEST_CONFIG).unwrap();
        let mut cmd = bin_support::serve(&config);
        cmd.args(["--backend", "redb"])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            // the environment replaces the file's list
            .env(
                "TESSERA_WS_ALLOWED_ORIGINS",
                "https://app.example.com,https://b.example",
            )
            .stderr(Stdio::null());
        let server = Served::start(cmd, None).await;
        Self {
            base: server.base.clone(),
            server,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn ws_url(&self) -> String {
        format!("{}/ws", self.base.replacen("http://", "ws://", 1))
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        fields: &[(&str, &str)],
    ) -> (u16, Option<String>, Value) {
        post_form(&self.http, &self.base, path, token, fields).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Value {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-DPT-AUTHORIZATION", t);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// Register, authenticate and register a key over HTTP: (token, profile id).
    async fn active_user(&self, name: &str) -> (String, String) {
        let pw = password(name);
        let (status, _, _) = self
            .post(
                "/profile/register-profile",
                None,
                &[("username", name), ("password", &pw)],
            )
            .await;
        assert_eq!(status, 202);
        let (status, _, body) = self
            .post(
                "/profile/authenticate",
                None,
                &[("username", name), ("password", &pw)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let token = body["authorizationToken"].as_str().unwrap().to_owned();
        let id = self.get("/profile/retrieve-profile-id", Some(&token)).await["profileId"]
            .as_str()
            .unwrap()
            .to_owned();
        let keys = KeyPair::generate(&OsRandom);
        let (status, _, body) = self
            .post(
                "/public-key/register-public-key",
                Some(&token),
                &[
                    ("publicKey", &keys.public().to_privicore_hex()),
                    ("signature", &keys.prove(Uuid::parse_str(&id).unwrap())),
                ],
            )
            .await;
        assert_eq!(status, 202, "{body}");
        (token, id)
    }

    async fn stop(self) {
        self.server.stop().await;
    }
}

#[tokio::test]
async fn join_push_and_close_on_revoke_against_the_binary() {
    let b = Binary::start().await;
    let (token, id) = b.active_user("alice").await;
    let url = b.ws_url();

    // join, as API.md
    let mut ws = connect(&url, Some("https://app.example.com"))
        .await
        .unwrap();
    let reply = join(&mut ws, &token, "c-1").await;
    assert_eq!(
        reply,
        serde_json::json!({"correlationId":"c-1","status":200,
            "data":{"channelId": id,"message":"Successfully joined profile channel."}})
    );

    // a command made over HTTP is pushed, signed by the key the server publishes
    let (status, cab, _) = b
        .post(
            "/profile/reauthorize-authorization-token",
            Some(&token),
            &[],
        )
        .await;
    assert_eq!(status, 202);
    let cab = cab.unwrap();
    let push = next_json(&mut ws).await;
    let key = b.get("/public-key/retrieve-cab-public-key", None).await;
    let key = PublicKey::parse(key["publicKey"].as_str().unwrap()).unwrap();
    let data = verified_data(&push, &key);
    assert_eq!(data["id"], cab.as_str());
    assert_eq!(data["command_status"], 2);
    assert_eq!(
        b.get(&format!("/request-status/{cab}"), None).await["data"],
        data
    );

    // a bad token: 401 in the same shape
    let mut bad = connect(&url, None).await.unwrap();
    let reply = join(&mut bad, "tsa_not-a-token", "c-2").await;
    assert_eq!(reply["correlationId"], "c-2");
    assert_eq!(reply["status"], 401);
    assert_eq!(close_of(&mut bad).await.0, 1008);

    // the allow-list comes from TESSERA_WS_ALLOWED_ORIGINS (replacing the file's)
    for origin in ["https://evil.example", "https://from-file.example"] {
        match connect(&url, Some(origin)).await {
            Err(tungstenite::Error::Http(res)) => assert_eq!(res.status().as_u16(), 403),
            other => panic!("{origin}: {other:?}"),
        }
    }

    // revoke over HTTP: the channel closes with a clear reason
    let (status, _, _) = b
        .post("/profile/revoke-authorization-token", Some(&token), &[])
        .await;
    assert_eq!(status, 202);
    let (code, reason, texts) = close_of(&mut ws).await;
    assert_eq!((code, reason.as_str()), (4401, "token revoked"));
    assert!(texts.is_empty(), "{texts:?}");

    // and the revoked token cannot join again
    let mut again = connect(&url, None).await.unwrap();
    assert_eq!(join(&mut again, &token, "c-3").await["status"], 401);

    // a joined channel does not hold up shutdown
    let (token2, _) = b.active_user("bob").await;
    let mut open = connect(&url, None).await.unwrap();
    assert_eq!(join(&mut open, &token2, "c-4").await["status"], 200);
    b.stop().await;
    assert_eq!(close_of(&mut open).await.0, 1001);
}
