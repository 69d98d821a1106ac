//! Logs at TRACE level never contain a token, password or QR token; each authentication
//! outcome is one (injection-safe) line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{TestApp, password};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

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

#[tokio::test]
async fn no_secret_in_the_logs() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();

    let app = TestApp::new();
    let mut secrets: Vec<String> = Vec::new();
    let mut owner = app.active_user("logowner").await;
    secrets.extend([owner.password.clone(), owner.token.clone()]);
    let dev = app.pending_device(&owner, "logdevice").await;
    secrets.extend([dev.user.password.clone(), dev.user.token.clone()]);
    let qr = app.qr_token(&owner).await;
    secrets.push(qr);
    let keys = app.get("/generate-keys", None).await.json();
    secrets.push(keys["private"].as_str().unwrap().to_owned());
    // failures too: a wrong password, a token in the query string, a bad header
    let wrong = "this is the wrong password 123".to_owned();
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "logowner"), ("password", &wrong)],
    )
    .await;
    secrets.push(wrong);
    app.get(
        &format!("/profile/retrieve-profile-id?token={}", owner.token),
        None,
    )
    .await;
    let new_pw = password("logowner-new");
    app.post(
        "/profile/change-password",
        Some(&owner.token),
        &[
            ("currentPassword", &owner.password),
            ("newPassword", &new_pw),
        ],
    )
    .await
    .command_id();
    secrets.push(new_pw.clone());
    owner.token = app.login("logowner", &new_pw).await;
    secrets.push(owner.token.clone());
    // a log-injection attempt in the username
    app.post(
        "/profile/authenticate",
        None,
        &[("username", "a\nFAKE audit line"), ("password", "x")],
    )
    .await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("authentication"),
        "audit lines expected:\n{logs}"
    );
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "secret {s:?} leaked into the logs:\n{logs}"
        );
        // nor a long piece of it
        let piece = &s[s.len() / 4..s.len() / 4 + 12];
        assert!(!logs.contains(piece), "part of {s:?} leaked");
    }
    assert!(
        !logs.lines().any(|l| l.starts_with("FAKE")),
        "log injection"
    );
    let outcomes = logs
        .lines()
        .filter(|l| l.contains("tessera::audit") && l.contains("event=\"authenticate\""))
        .count();
    // logins: owner, device, owner again, plus 2 failures
    assert!(
        outcomes >= 5,
        "one line per authentication outcome:\n{logs}"
    );
}
