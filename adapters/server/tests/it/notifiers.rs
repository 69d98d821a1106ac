//! The server's reset-code notifiers: `log` (the code on the audit target, by design),
//! `webhook` (a POST to a local receiver; failures logged without the code) and their
//! configuration. The `file` notifier is in `password_reset.rs` and `token_api_blackbox.rs`.

use tessera_testkit::app as common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::TestApp;
use serde_json::{Value, json};
use tessera_server::notify::{LogNotifier, NotifierKind, NotifyArgs, WebhookNotifier};
use tessera_server::settings::Settings;
use tokio::sync::mpsc;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

/// Capture this thread's tracing output (the tests run on a current-thread runtime).
fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (capture, guard)
}

async fn wait_for(capture: &Capture, needle: &str) -> String {
    for _ in 0..200 {
        let text = capture.text();
        if text.contains(needle) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{needle:?} never logged:\n{}", capture.text());
}

async fn forgot(app: &TestApp, name: &str) {
    let r = app
        .post_json("/v1/forgot-password", &json!({"username": name}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn confirm(app: &TestApp, name: &str, code: &str) -> StatusCode {
    app.post_json(
        "/v1/forgot-password-confirm",
        &json!({"username": name, "password": common::password("notified next"), "confirmation_code": code}),
    )
    .await
    .status
}

#[tokio::test]
async fn the_log_notifier_puts_the_code_on_the_audit_target() {
    let (logs, _guard) = capture_logs();
    let app = TestApp::with_notifier(Arc::new(LogNotifier));
    app.active_user("logged-reset").await;
    forgot(&app, "logged-reset").await;
    let text = wait_for(&logs, "event=\"reset_code\"").await;
    let line = text
        .lines()
        .find(|l| l.contains("event=\"reset_code\""))
        .unwrap();
    assert!(line.contains("tessera::audit"), "{line}");
    assert!(line.contains("username=\"logged-reset\""), "{line}");
    let code = line
        .split("code=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    assert_eq!(code.len(), 8, "{line}");
    // the operator hands it over: it works
    assert_eq!(confirm(&app, "logged-reset", &code).await, StatusCode::OK);
}

/// A webhook receiver on a free loopback port answering `status` after `delay`; every
/// request's headers and JSON body arrive on the channel.
async fn receiver(
    status: StatusCode,
    delay: Duration,
) -> (String, mpsc::UnboundedReceiver<(HeaderMap, Value)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, serde_json::from_slice(&body).unwrap()));
                tokio::time::sleep(delay).await;
                status
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/hook?token=receiver-secret",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

#[tokio::test]
async fn the_webhook_notifier_posts_the_code() {
    let (url, mut rx) = receiver(StatusCode::NO_CONTENT, Duration::ZERO).await;
    let (logs, _guard) = capture_logs();
    let hook = WebhookNotifier::new(&url, Duration::from_secs(5)).unwrap();
    let app = TestApp::with_notifier(Arc::new(hook));
    let u = app.active_user("hooked").await;
    forgot(&app, "hooked").await;
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("tessera/")
    );
    assert_eq!(body["type"], "reset_code");
    assert_eq!(body["username"], "hooked");
    assert_eq!(body["profileId"], u.profile_id);
    let code = body["code"].as_str().unwrap();
    assert_eq!(confirm(&app, "hooked", code).await, StatusCode::OK);
    let text = logs.text();
    assert!(
        !text.contains(code),
        "the code leaked into the log:\n{text}"
    );
    assert!(!text.contains("reset code not delivered"), "{text}");
}

#[tokio::test]
async fn webhook_failures_are_logged_without_the_code() {
    // the receiver refuses (500)
    let (url, mut rx) = receiver(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
    let (logs, _guard) = capture_logs();
    let app = TestApp::with_notifier(Arc::new(
        WebhookNotifier::new(&url, Duration::from_secs(5)).unwrap(),
    ));
    app.active_user("hook-refused").await;
    forgot(&app, "hook-refused").await;
    let (_, body) = rx.recv().await.unwrap();
    let code = body["code"].as_str().unwrap().to_owned();
    let text = wait_for(&logs, "answered 500").await;
    assert!(text.contains("reset code not delivered"), "{text}");
    assert!(
        text.contains("host=\"127.0.0.1\"") || text.contains("host=127.0.0.1"),
        "{text}"
    );

    // the receiver is too slow
    let (slow, mut slow_rx) = receiver(StatusCode::OK, Duration::from_secs(30)).await;
    let app2 = TestApp::with_notifier(Arc::new(
        WebhookNotifier::new(&slow, Duration::from_millis(300)).unwrap(),
    ));
    app2.active_user("hook-slow").await;
    forgot(&app2, "hook-slow").await;
    let (_, body) = slow_rx.recv().await.unwrap();
    let slow_code = body["code"].as_str().unwrap().to_owned();
    wait_for(&logs, "no answer within 300 ms").await;

    // nobody listens
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let app3 = TestApp::with_notifier(Arc::new(
        WebhookNotifier::new(&closed, Duration::from_secs(2)).unwrap(),
    ));
    app3.active_user("hook-closed").await;
    forgot(&app3, "hook-closed").await;
    let text = wait_for(&logs, "cannot connect").await;

    for secret in [&code, &slow_code, "receiver-secret"] {
        assert!(!text.contains(secret), "{secret} leaked:\n{text}");
    }
}

/// The flags' layer of `[notify]` alone.
#[derive(serde::Serialize)]
struct Flags<'a> {
    notify: &'a NotifyArgs,
}

fn layered(text: &str, args: &NotifyArgs) -> Settings {
    Settings::layered(text, "t.toml", &Flags { notify: args }).unwrap()
}

#[test]
fn notifier_settings_merge_flags_over_the_file() {
    let text = "[notify]\nkind = \"webhook\"\nwebhook_url = \"http://127.0.0.1:9/x\"\nwebhook_timeout_secs = 2\n";
    let s = layered(text, &NotifyArgs::default())
        .notify
        .settings()
        .unwrap();
    assert_eq!(s.kind, NotifierKind::Webhook);
    assert_eq!(s.webhook_timeout, Duration::from_secs(2));
    assert!(s.build().is_ok());
    let dir = tempfile::tempdir().unwrap();
    let args = NotifyArgs {
        notifier: Some(NotifierKind::File),
        notify_file: Some(dir.path().join("codes.jsonl")),
        notify_webhook_url: None,
    };
    let s = layered(text, &args).notify.settings().unwrap();
    assert_eq!(s.kind, NotifierKind::File);
    s.build().unwrap();
    assert!(dir.path().join("codes.jsonl").exists());
    // defaults and refusals
    let empty = Settings::parse("").unwrap();
    assert_eq!(empty.notify.settings().unwrap().kind, NotifierKind::Log);
    assert!(Settings::parse("[notify]\nkind = \"pigeon\"").is_err());
    assert!(Settings::parse("[notify]\ntypo = 1").is_err());
    let bad = Settings::parse("[notify]\nwebhook_url = \"ftp://x/\"").unwrap();
    assert!(bad.notify.settings().unwrap().build().is_err());
    let unwritable = NotifyArgs {
        notify_file: Some("/nonexistent-dir/codes.jsonl".into()),
        ..NotifyArgs::default()
    };
    assert!(
        layered("", &unwritable)
            .notify
            .settings()
            .unwrap()
            .build()
            .is_err()
    );
}
