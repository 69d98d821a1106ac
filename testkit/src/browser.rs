//! A real browser in tests: `chromedriver` on a free loopback port driving headless
//! Chromium over WebDriver (fantoccini), and the loopback servers a browser test needs
//! (the router on real TCP, a tiny server that records the requests it gets and answers
//! one fixed page).
//!
//! Chromium and chromedriver are the Debian packages (`apt-get install chromium
//! chromium-driver`; `.ci/run` installs them). When either is missing, [`Browser::start`]
//! prints a `SKIPPED:` line and returns `None`, unless `TESSERA_REQUIRE_BROWSER` is set
//! (CI), where it panics saying what is missing.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use fantoccini::{Client, ClientBuilder};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, OwnedMutexGuard, mpsc};

/// With this set, a missing browser fails the test instead of skipping it.
pub const REQUIRE_VAR: &str = "TESSERA_REQUIRE_BROWSER";

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The browser binary itself first (Debian's `/usr/bin/chromium` is a launcher script).
const CHROMIUM: [&str; 2] = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

/// Chromium's flags: headless, no sandbox (tests run as root in CI), nothing that reaches
/// the network on its own, a profile of its own.
const FLAGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
];

/// One browser at a time in a test process: each is a chromedriver and a Chromium, and
/// the machine has two cores.
static ONE_AT_A_TIME: std::sync::LazyLock<Arc<Mutex<()>>> =
    std::sync::LazyLock::new(|| Arc::new(Mutex::new(())));

/// A headless Chromium session; [`Browser::close`] ends it (dropping kills chromedriver).
/// Browsers of one test process run one after the other.
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: OwnedMutexGuard<()>,
}

impl Browser {
    /// Start chromedriver and a Chromium session, or `None` (after a `SKIPPED:` line for
    /// `test`) when they are not installed and [`REQUIRE_VAR`] is not set.
    pub async fn start(test: &str) -> Option<Self> {
        let chromium = CHROMIUM.iter().find(|p| Path::new(p).exists());
        let missing = if !Path::new(CHROMEDRIVER).exists() {
            Some(CHROMEDRIVER)
        } else if chromium.is_none() {
            Some("chromium")
        } else {
            None
        };
        if let Some(what) = missing {
            assert!(
                std::env::var_os(REQUIRE_VAR).is_none(),
                "{test}: {REQUIRE_VAR} is set but {what} is missing (apt-get install chromium chromium-driver)"
            );
            println!(
                "SKIPPED: {test}: {what} is not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let turn = Arc::clone(&ONE_AT_A_TIME).lock_owned().await;
        let port = free_port().await;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        wait_until_listening(port).await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = serde_json::json!({
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a chromedriver session");
        Some(Self {
            client,
            driver,
            _profile: profile,
            _turn: turn,
        })
    }

    /// End the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn wait_until_listening(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on port {port} within 30 s");
}

/// A listener on a free loopback port and its base URL (`http://127.0.0.1:<port>`): bind
/// first, so the server's issuer can be its real address.
pub async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    (l, base)
}

/// Serve `router` on `listener` until the task is aborted.
pub fn serve(listener: TcpListener, router: Router) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// A tiny HTTP server on a free loopback port: answers every request with one fixed HTML
/// page and records each request line (`GET /cb?code=… HTTP/1.1`).
#[derive(Debug)]
pub struct Recorder {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    lines: mpsc::UnboundedReceiver<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Start one answering `html`.
    pub async fn start(html: String) -> Self {
        let (listener, base) = listener().await;
        let (tx, lines) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let tx = tx.clone();
                let html = html.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 65_536 {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(line) = text.lines().next() {
                        let _ = tx.send(line.to_owned());
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                        html.len()
                    );
                    let _ = conn.write_all(reply.as_bytes()).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        Self { base, lines, task }
    }

    /// The next request line whose path starts with `prefix` (others, such as
    /// `/favicon.ico`, are skipped), waiting at most `timeout`.
    pub async fn next(&mut self, prefix: &str, timeout: Duration) -> Option<String> {
        let wanted = format!("GET {prefix}");
        tokio::time::timeout(timeout, async {
            while let Some(line) = self.lines.recv().await {
                if line.starts_with(&wanted) {
                    return Some(line);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
