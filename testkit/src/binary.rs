//! The real `tessera` binary in black-box tests: a `serve` command on a free loopback
//! port, start-up (read the address it prints), a graceful stop, and an HTTP client of it
//! (each test file adds the calls of its scenario to [`Client`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The `tessera` binary of this build: `$TESSERA_BIN` if set, else `tessera` beside the
/// running test executable's directory (`target/<profile>/deps/..`), where cargo puts the
/// binary it builds for `tessera-server`'s integration tests.
pub fn tessera_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TESSERA_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let mut dir = exe
        .parent()
        .expect("the test executable's folder")
        .to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(format!("tessera{}", std::env::consts::EXE_SUFFIX))
}

/// `tessera serve --listen 127.0.0.1:0 --config <config>`, stdout piped (for the listening
/// line), killed on drop. The caller adds the backend, data directory, environment and
/// stderr.
pub fn serve(config: &Path) -> Command {
    let mut cmd = Command::new(tessera_bin());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// A running `tessera serve`.
#[derive(Debug)]
pub struct Served {
    /// The server process.
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Served {
    /// Spawn `cmd` (see [`serve`]) and read the address it prints first. `log` is the
    /// server's stderr file, if any: shown when the server exits before listening.
    pub async fn start(mut cmd: Command, log: Option<&Path>) -> Self {
        let mut child = cmd.spawn().expect("start tessera");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("tessera did not start in time")
            .unwrap()
            .unwrap_or_else(|| {
                let log = log.map(std::fs::read_to_string);
                panic!("tessera exited before listening: {log:?}")
            });
        let base = line
            .strip_prefix("tessera listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    /// SIGTERM, then wait for a clean exit (status 0).
    pub async fn stop(mut self) {
        let pid = self.child.id().unwrap();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("tessera did not stop on SIGTERM")
            .unwrap();
        assert!(exit.success(), "graceful shutdown exits 0: {exit}");
    }
}

/// An HTTP client of one server.
#[derive(Clone, Debug)]
pub struct Client {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// A reply: status, `X-DPT-CAB-ID`, JSON body (or the text as a JSON string).
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The command id (`X-DPT-CAB-ID`) of a 202.
    pub cab_id: Option<String>,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
    /// The JSON body, or the text as a JSON string.
    pub body: serde_json::Value,
}

impl Reply {
    /// Assert status and error code.
    #[track_caller]
    pub fn expect(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.body["error"], code, "{}", self.body);
    }
}

impl Client {
    /// A client of `server`.
    pub fn new(server: &Served) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: server.base.clone(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let cab_id = res
            .headers()
            .get("x-dpt-cab-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Reply {
            status,
            cab_id,
            retry_after,
            body,
        }
    }

    /// POST a form, with `token` in `X-DPT-AUTHORIZATION` if given.
    pub async fn post(&self, path: &str, token: Option<&str>, fields: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(t) = token {
            req = req.header("X-DPT-AUTHORIZATION", t);
        }
        self.send(req).await
    }

    /// GET, with `token` in `X-DPT-AUTHORIZATION` if given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("X-DPT-AUTHORIZATION", t);
        }
        self.send(req).await
    }
}
