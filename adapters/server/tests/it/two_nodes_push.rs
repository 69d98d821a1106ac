//! `/ws` pushes across two real `tessera` servers on one PostgreSQL database: a command
//! recorded on node A is pushed to the profile's channel on node B, and a revocation, a
//! password change or a device removal on A closes the affected sockets on B within 1 s
//! (the token re-check interval is set to 60 s, so only the event can close them). The
//! measured figures are printed (`--nocapture`). Then, on a cluster of the test's own, a
//! push stream through a PostgreSQL stop and start, and through a cut-off listener on B
//! while A records: B receives every command once. Needs `TESSERA_TEST_POSTGRES_URL` (and
//! `initdb` for the restart).
#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use tessera_testkit::postgres::nodes as pg_support;
use tessera_testkit::ws;

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use pg_support::{Client, Proxy, Schema};
use tessera_core::PublicKey;
use tessera_testkit::postgres::cluster::Cluster;
use tessera_testkit::postgres::wait_feed_listeners;
use tokio_tungstenite::tungstenite::Message;

/// The test config with the `/ws` re-check far away: only an event may close a socket
/// within a test.
fn slow_recheck() -> String {
    format!("{}[ws]\nrecheck_secs = 60\n", pg_support::TEST_CONFIG)
}
/// What a revocation on one node may take to close a socket on the other.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);
const PW: &str = "amber walrus juggles nine kites";

fn ws_url(c: &Client) -> String {
    format!("{}/ws", c.base.replacen("http://", "ws://", 1))
}

/// Register `name` on `c` with a key (active); its token.
async fn active_user(c: &Client, name: &str) -> String {
    c.command(
        "/profile/register-profile",
        None,
        &[("username", name), ("password", PW)],
    )
    .await;
    let token = c.token(name, PW).await;
    c.register_key(&token).await;
    token
}

/// Read up to the server's close frame (pushes are not expected): its code and reason,
/// and when it arrived.
async fn close_frame(socket: &mut ws::Ws) -> (u16, String, Instant) {
    loop {
        let msg = tokio::time::timeout(ws::WAIT, socket.next())
            .await
            .expect("close in time")
            .expect("a close frame")
            .expect("readable");
        match msg {
            Message::Close(Some(f)) => {
                return (
                    u16::from(f.code),
                    f.reason.as_str().to_owned(),
                    Instant::now(),
                );
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected the close frame, got {other:?}"),
        }
    }
}

/// Median and max, in milliseconds.
fn figures(d: &mut [Duration]) -> (f64, f64) {
    d.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let n = d.len();
    let median = if n.is_multiple_of(2) {
        f64::midpoint(ms(d[n / 2 - 1]), ms(d[n / 2]))
    } else {
        ms(d[n / 2])
    };
    (median, ms(d[n - 1]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_one_node_is_pushed_and_closes_sockets_on_the_other() {
    let Some(url) =
        pg_support::url("a_command_on_one_node_is_pushed_and_closes_sockets_on_the_other")
    else {
        return;
    };
    let schema = Schema::create(&url).await;
    let db = schema.url(&url);
    let tmp = tempfile::tempdir().unwrap();
    let config = slow_recheck();
    let (na, nb) = tokio::join!(
        pg_support::start_server_with(tmp.path(), "a", &db, &config),
        pg_support::start_server_with(tmp.path(), "b", &db, &config)
    );
    let (a, b) = (Client::new(&na), Client::new(&nb));
    let token = active_user(&a, "alice").await;
    let key = b.get("/public-key/retrieve-cab-public-key", None).await;
    let cab_key = PublicKey::parse(key.body["publicKey"].as_str().unwrap()).unwrap();

    // pushes: a command recorded on A arrives on B's channel, signed, once
    let mut channel = ws::joined(&ws_url(&b), &token).await;
    let mut latency = Vec::new();
    for _ in 0..20 {
        let sent = Instant::now();
        let id = a
            .command(
                "/profile/reauthorize-authorization-token",
                Some(&token),
                &[],
            )
            .await;
        let push = ws::next_json(&mut channel).await;
        latency.push(sent.elapsed());
        let data = ws::verified_data(&push, &cab_key);
        assert_eq!(data["id"], id.as_str(), "{push}");
        assert_eq!(data["body"], "Authorization token reauthorized");
    }
    ws::silent_for(&mut channel, Duration::from_millis(300))
        .await
        .expect("each command pushed once");
    drop(channel);
    let (median, max) = figures(&mut latency);
    eprintln!(
        "push A→B over 20 commands (request sent on A → push read on B): median {median:.1} ms, max {max:.1} ms"
    );

    // a revocation on A closes B's socket of that token within 1 s (20 tries)
    let mut closes = Vec::new();
    for _ in 0..20 {
        let t = b.token("alice", PW).await;
        let mut socket = ws::joined(&ws_url(&b), &t).await;
        let revoked = Instant::now();
        a.command("/profile/revoke-authorization-token", Some(&t), &[])
            .await;
        let (code, reason, at) = close_frame(&mut socket).await;
        assert_eq!((code, reason.as_str()), (4401, "token revoked"));
        closes.push(at - revoked);
    }
    let (median, max) = figures(&mut closes);
    eprintln!("revocation on A → close on B over 20 tries: median {median:.1} ms, max {max:.1} ms");
    assert!(
        closes.iter().all(|d| *d < CLOSE_WITHIN),
        "a close took {max:.1} ms"
    );

    // a password change on A closes B's sockets of the other tokens
    let other = b.token("alice", PW).await;
    let mut socket = ws::joined(&ws_url(&b), &other).await;
    let changed = Instant::now();
    let new_pw = "copper lantern drifts past midnight";
    a.command(
        "/profile/change-password",
        Some(&token),
        &[("currentPassword", PW), ("newPassword", new_pw)],
    )
    .await;
    let (code, reason, at) = close_frame(&mut socket).await;
    assert_eq!((code, reason.as_str()), (4401, "token revoked"));
    assert!(at - changed < CLOSE_WITHIN, "{:?}", at - changed);

    // a device removed on A: its socket on B closes
    let qr = a
        .post(
            "/profile/generate-qr-token",
            Some(&token),
            &[("deviceName", "phone")],
        )
        .await;
    assert_eq!(qr.status, 200, "{}", qr.body);
    let dev_pw = "quiet harbor lamp seventeen owls";
    let cmd = b
        .command(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", qr.body["qrToken"].as_str().unwrap()),
                ("username", "alice-phone"),
                ("password", dev_pw),
            ],
        )
        .await;
    let ids = b
        .post(
            "/device/retrieve-unique-identifier",
            None,
            &[("commandId", &cmd)],
        )
        .await;
    assert_eq!(ids.status, 200, "{}", ids.body);
    let device_id = ids.body["deviceIdentifier"].as_str().unwrap().to_owned();
    let dev_token = b.token("alice-phone", dev_pw).await;
    b.register_key(&dev_token).await;
    a.command(
        "/device/approve-device",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    let mut socket = ws::joined(&ws_url(&b), &dev_token).await;
    let removed = Instant::now();
    a.command(
        "/device/remove",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    let (code, reason, at) = close_frame(&mut socket).await;
    assert!(
        [4401, 4403].contains(&code),
        "the removed device's channel: {code} {reason}"
    );
    assert!(at - removed < CLOSE_WITHIN, "{:?}", at - removed);

    let (s1, s2) = tokio::join!(na.stop(), nb.stop());
    let ((), ()) = (s1, s2);
}

/// Record a command of `token` on `c`, retrying while the database is back but not yet
/// reached (503); its id.
async fn reauthorize(c: &Client, token: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = c
            .post("/profile/reauthorize-authorization-token", Some(token), &[])
            .await;
        if r.status == 202 {
            return r.cab_id.expect("X-DPT-CAB-ID");
        }
        assert_eq!(r.status, 503, "{}", r.body);
        assert!(Instant::now() < deadline, "no 202 again: {}", r.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Read pushes until `got` holds `n`.
async fn read_pushes(socket: &mut ws::Ws, got: &mut Vec<String>, n: usize) {
    while got.len() < n {
        let push = ws::next_json(socket).await;
        got.push(
            push["data"]["id"]
                .as_str()
                .expect("a command push")
                .to_owned(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_resume_after_a_postgres_restart_and_the_catch_up_brings_what_was_missed() {
    let test = "pushes_resume_after_a_postgres_restart_and_the_catch_up_brings_what_was_missed";
    if pg_support::url(test).is_none() {
        return;
    }
    let Some(cluster) = Cluster::start(test).await else {
        return;
    };
    let url = cluster.url();
    let schema = Schema::create(&url).await;
    let proxy = Proxy::start(pg_support::host_port(&url).0).await;
    let tmp = tempfile::tempdir().unwrap();
    // A reaches the database directly, B through the proxy (which can cut B off alone)
    let (direct, proxied) = (schema.url(&url), schema.url(&proxy.url_for(&url)));
    let config = slow_recheck();
    let (na, nb) = tokio::join!(
        pg_support::start_server_with(tmp.path(), "a", &direct, &config),
        pg_support::start_server_with(tmp.path(), "b", &proxied, &config)
    );
    let (a, b) = (Client::new(&na), Client::new(&nb));
    let token = active_user(&a, "alice").await;
    let mut channel = ws::joined(&ws_url(&b), &token).await;
    wait_feed_listeners(&url, schema.name(), 1).await;
    let (mut sent, mut got) = (Vec::new(), Vec::new());

    // a live stream
    for _ in 0..5 {
        sent.push(reauthorize(&a, &token).await);
    }
    read_pushes(&mut channel, &mut got, sent.len()).await;

    // PostgreSQL stops in the middle of it (every session ends) and starts again, down
    // longer than the pools' idle-ping threshold: pushes resume
    cluster.stop().await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    cluster.start_again().await;
    for _ in 0..5 {
        sent.push(reauthorize(&a, &token).await);
    }
    read_pushes(&mut channel, &mut got, sent.len()).await;
    wait_feed_listeners(&url, schema.name(), 1).await;

    // B's listener is cut off while A records: those come by B's catch-up
    proxy.cut();
    wait_feed_listeners(&url, schema.name(), 0).await;
    let cut = Instant::now();
    for _ in 0..5 {
        sent.push(reauthorize(&a, &token).await);
    }
    tokio::time::sleep(Duration::from_millis(600).saturating_sub(cut.elapsed())).await;
    proxy.restore();
    for _ in 0..5 {
        sent.push(reauthorize(&a, &token).await);
    }
    read_pushes(&mut channel, &mut got, sent.len()).await;
    ws::silent_for(&mut channel, Duration::from_millis(500))
        .await
        .expect("nothing pushed twice");

    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "a push came twice: {got:?}");
    let mut want = sent.clone();
    want.sort();
    assert_eq!(unique, want, "every recorded command pushed once");
    assert_eq!(&got[..10], &sent[..10], "the live pushes in order");

    let (s1, s2) = tokio::join!(na.stop(), nb.stop());
    let ((), ()) = (s1, s2);
    drop(schema);
    drop(cluster);
}
