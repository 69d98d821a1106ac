//! Two real `tessera` servers on one PostgreSQL database: what one node does, the other
//! sees at once (tokens, revocations, password changes, device removal, the throttle, the
//! command log); 32 concurrent registrations of one name over both nodes → one wins; 2 × 16
//! concurrent wrong-password logins of one name at a backoff edge → one password check. Also
//! a lost database (503 `storage_unavailable`, health down, recovery by itself) and the
//! admin commands on postgres. Needs `TESSERA_TEST_POSTGRES_URL`; without it each test
//! prints `SKIPPED: …` and returns.
#![allow(clippy::too_many_lines)] // scenarios read top to bottom

use tessera_testkit::postgres::nodes as pg_support;

use std::time::{Duration, Instant};

use pg_support::{Client, Proxy, Schema};
use tessera_core::{Engine, Store};
use tessera_storage_postgres::PostgresStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_database() {
    let Some(url) = pg_support::url("two_nodes_share_one_database") else {
        return;
    };
    let schema = Schema::create(&url).await;
    let db = schema.url(&url);
    let tmp = tempfile::tempdir().unwrap();
    let (n1, n2) = tokio::join!(
        pg_support::start_server(tmp.path(), "node1", &db),
        pg_support::start_server(tmp.path(), "node2", &db)
    );
    let (a, b) = (Client::new(&n1), Client::new(&n2));
    for c in [&a, &b] {
        let h = c.get("/utility/check-server-health", None).await;
        assert_eq!(h.status, 200, "{}", h.body);
        assert_eq!(h.body["storage"], "ok");
    }

    // registered on node 1, the command is visible on node 2; a token from node 1
    // verifies on node 2
    let pw = "amber walrus juggles nine kites";
    let cmd = a
        .command(
            "/profile/register-profile",
            None,
            &[("username", "Alice"), ("password", pw)],
        )
        .await;
    let s = b.get(&format!("/request-status/{cmd}"), None).await;
    assert_eq!(s.body["data"]["command_status"], 2, "{}", s.body);
    let token = a.token("alice", pw).await;
    let me = b.whoami(&token).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["state"], "incomplete");
    b.register_key(&token).await;
    assert_eq!(a.whoami(&token).await.body["state"], "active");

    // revoke on node 1 → refused on node 2 at once
    let spare = b.token("alice", pw).await;
    assert_eq!(b.whoami(&spare).await.status, 200);
    a.command("/profile/revoke-authorization-token", Some(&spare), &[])
        .await;
    b.whoami(&spare).await.expect(401, "unauthorized");

    // password change on node 1 → the other tokens (issued by node 2) are refused on node
    // 2 at once, the old password fails on node 2, the new one works there
    let other = b.token("alice", pw).await;
    let new_pw = "copper lantern drifts past midnight";
    a.command(
        "/profile/change-password",
        Some(&token),
        &[("currentPassword", pw), ("newPassword", new_pw)],
    )
    .await;
    b.whoami(&other).await.expect(401, "unauthorized");
    b.login("alice", pw).await.expect(401, "unauthorized");
    assert_eq!(
        b.whoami(&token).await.status,
        200,
        "the caller's token stays"
    );
    b.token("alice", new_pw).await;

    // a device onboarded across the nodes; removed on node 1 → refused on node 2 at once
    let qr = a
        .post(
            "/profile/generate-qr-token",
            Some(&token),
            &[("deviceName", "phone")],
        )
        .await;
    assert_eq!(qr.status, 200, "{}", qr.body);
    let qr_token = qr.body["qrToken"].as_str().unwrap().to_owned();
    let dev_pw = "quiet harbor lamp seventeen owls";
    let cmd = b
        .command(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", &qr_token),
                ("username", "alice-phone"),
                ("password", dev_pw),
            ],
        )
        .await;
    let ids = a
        .post(
            "/device/retrieve-unique-identifier",
            None,
            &[("commandId", &cmd)],
        )
        .await;
    assert_eq!(ids.status, 200, "{}", ids.body);
    let device_id = ids.body["deviceIdentifier"].as_str().unwrap().to_owned();
    // the QR token was single use on both nodes
    let again = a
        .post(
            "/device/request-unique-identifier",
            None,
            &[
                ("qrToken", &qr_token),
                ("username", "alice-tablet"),
                ("password", dev_pw),
            ],
        )
        .await;
    assert!(
        (400..500).contains(&again.status),
        "second redemption: {}",
        again.body
    );
    let dev_token = a.token("alice-phone", dev_pw).await;
    b.register_key(&dev_token).await;
    a.command(
        "/device/approve-device",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    let r = b
        .get("/public-key/retrieve-public-key", Some(&dev_token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    a.command(
        "/device/remove",
        Some(&token),
        &[("deviceIdentifier", &device_id)],
    )
    .await;
    b.whoami(&dev_token).await.expect(401, "unauthorized");
    b.login("alice-phone", dev_pw)
        .await
        .expect(401, "unauthorized");

    // the login throttle is one counter for both nodes (free_failures = 3 in the test
    // config): failures alternate between the nodes, the third (whose failure starts the
    // backoff) is counted before its check, and then both nodes refuse
    let mut failures = 0;
    let mut refused_on = None;
    for i in 0..12 {
        let (c, o) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let r = c.login("alice", "not the password at all").await;
        match r.status {
            401 => failures += 1,
            429 => {
                refused_on = Some(o.clone());
                break;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(failures, 3, "failures before the backoff");
    let other_node = refused_on.expect("the throttle engaged");
    other_node
        .login("alice", new_pw)
        .await
        .expect(429, "too_many_attempts");

    // at a backoff edge, 2 nodes × 16 concurrent wrong-password logins of one name: exactly
    // one password check runs (one 401, 31 × 429; the counter gained exactly one failure)
    edge_logins_make_one_password_check(&a, &b, &db).await;

    // 32 concurrent registrations of one name, spread over both nodes: exactly one wins
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let c = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let pw = format!("velvet otter quasar lantern {i} 7291");
                let r = c
                    .post(
                        "/profile/register-profile",
                        None,
                        &[("username", "contested"), ("password", &pw)],
                    )
                    .await;
                (i, pw, r)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, pw, r) = t.await.unwrap();
        match r.status {
            202 => winners.push((i, pw)),
            422 => assert_eq!(r.body["error"], "username_taken", "{}", r.body),
            s => panic!("registration {i}: {s} {}", r.body),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one registration wins");
    let (_, winner_pw) = &winners[0];
    a.token("contested", winner_pw).await;
    b.token("contested", winner_pw).await;

    let (s1, s2) = tokio::join!(n1.stop(), n2.stop());
    let ((), ()) = (s1, s2);
}

/// `bob` gets the 3 failures after which the next attempt waits 1 s; once that second
/// has passed, 16 wrong-password logins on each node at once. The attempt that gets through
/// is counted (4 failures, 2 s) before its password is checked, so every other one, on
/// either node, is refused without a check.
async fn edge_logins_make_one_password_check(a: &Client, b: &Client, db: &str) {
    let pw = "bright heron folds paper cranes";
    a.command(
        "/profile/register-profile",
        None,
        &[("username", "bob"), ("password", pw)],
    )
    .await;
    for c in [a, b, a] {
        c.login("bob", "not the password at all")
            .await
            .expect(401, "unauthorized");
    }
    // the third failure was stored at or before this second (whole seconds): from the
    // next second on, one attempt is allowed again
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let next_second = Duration::from_secs(now.as_secs() + 1);
    let until_then = next_second.saturating_sub(now);
    tokio::time::sleep(until_then + Duration::from_millis(50)).await;
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let c = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { c.login("bob", "not the password at all").await })
        })
        .collect();
    let (mut checked, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            401 => checked += 1,
            429 => {
                assert_eq!(r.body["error"], "too_many_attempts", "{}", r.body);
                refused += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(
        (checked, refused),
        (1, 31),
        "one password check at the edge"
    );
    let store = PostgresStore::connect(db).await.unwrap();
    let counter = tessera_core::store::ThrottleStore::get_throttle(&store, "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counter.failures, 4, "exactly one more failure counted");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_gives_503_and_recovers_by_itself() {
    let Some(url) = pg_support::url("a_lost_database_gives_503_and_recovers_by_itself") else {
        return;
    };
    let schema = Schema::create(&url).await;
    let proxy = Proxy::start(pg_support::host_port(&url).0).await;
    let tmp = tempfile::tempdir().unwrap();
    // the default connect timeout (5 s), which every reply waited for before the breaker
    let config =
        pg_support::TEST_CONFIG.replace("connect_timeout_secs = 1", "connect_timeout_secs = 5");
    let server = pg_support::start_server_with(
        tmp.path(),
        "node",
        &schema.url(&proxy.url_for(&url)),
        &config,
    )
    .await;
    let c = Client::new(&server);
    let pw = "amber walrus juggles nine kites";
    c.command(
        "/profile/register-profile",
        None,
        &[("username", "bob"), ("password", pw)],
    )
    .await;
    let token = c.token("bob", pw).await;

    // the database goes away: health turns 503 from the background prober (within its
    // 1 s probe timeout plus one 100 ms interval), each health reply answering at once
    proxy.cut();
    let cut = Instant::now();
    let health_503 = loop {
        let asked = Instant::now();
        let h = c.get("/utility/check-server-health", None).await;
        assert!(
            asked.elapsed() < Duration::from_millis(500),
            "a health reply waited {:?}",
            asked.elapsed()
        );
        if h.status == 503 {
            assert_eq!(h.body["storage"], "unavailable");
            assert_eq!(h.retry_after.as_deref(), Some("1"), "{}", h.body);
            break cut.elapsed();
        }
        assert_eq!(h.status, 200, "{}", h.body);
        assert!(cut.elapsed() < Duration::from_secs(3), "health still 200");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // then a token check answers 503 at once (the breaker), not after the connect timeout
    let asked = Instant::now();
    let r = c.whoami(&token).await;
    let token_503 = asked.elapsed();
    r.expect(503, "storage_unavailable");
    assert_eq!(r.retry_after.as_deref(), Some("1"), "{}", r.body);
    assert!(r.body["requestId"].is_string(), "{}", r.body);
    assert!(token_503 < Duration::from_millis(500), "{token_503:?}");
    let asked = Instant::now();
    c.login("bob", pw).await.expect(503, "storage_unavailable");
    let login_503 = asked.elapsed();
    assert!(login_503 < Duration::from_millis(500), "{login_503:?}");
    eprintln!(
        "outage: health 503 {health_503:?} after the cut; then a token check 503 in \
         {token_503:?}, a login 503 in {login_503:?} (connect timeout 5 s)"
    );

    proxy.restore();
    // the pool recovers by itself: a connection that broke in the outage may still fail
    // one request, then health and requests answer again without a restart
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let h = c.get("/utility/check-server-health", None).await;
        let me = c.whoami(&token).await;
        if h.status == 200 && me.status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not recover: {} {}",
            h.body,
            me.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.token("bob", pw).await;
    server.stop().await;

    // nothing of the database URL's password in the log
    let log = std::fs::read_to_string(tmp.path().join("node.log")).unwrap();
    if let Some(password) = url
        .split_once("://")
        .and_then(|(_, r)| r.split_once('@'))
        .and_then(|(user, _)| user.split_once(':'))
        .map(|(_, p)| p)
    {
        assert!(!log.contains(password), "the database password is logged");
    }
    assert!(log.contains("storage"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_on_postgres_beside_a_running_server() {
    let Some(url) = pg_support::url("admin_commands_work_on_postgres_beside_a_running_server")
    else {
        return;
    };
    let schema = Schema::create(&url).await;
    let db = schema.url(&url);
    let tmp = tempfile::tempdir().unwrap();
    let server = pg_support::start_server(tmp.path(), "node", &db).await;
    let tessera = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .env("TESSERA_LOG", "warn")
            .env_remove("TESSERA_DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = tessera(&[
        "admin",
        "create-api-key",
        "--backend",
        "postgres",
        "--database-url",
        &db,
        "--name",
        "billing",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.starts_with("tsk_"), "{key}");
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(PostgresStore::connect(&db).await.unwrap());
    let engine = Engine::builder().store(store).build().unwrap();
    assert_eq!(engine.verify_api_key(&key).await.unwrap(), "billing");

    // the key works on the running server; a second key of the name is refused; it is
    // listed, and once revoked the running server refuses it at once
    let c = Client::new(&server);
    let users_api = |key: String| {
        let c = c.clone();
        async move {
            c.http
                .get(format!("{}/v1/users/nobody", c.base))
                .header("X-Tessera-Api-Key", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(users_api(key.clone()).await, 404);
    let pg = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--backend", "postgres", "--database-url", &db]);
        tessera(&all)
    };
    let again = pg(&["create-api-key", "--name", "billing"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let list = pg(&["list-api-keys"]);
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(
        listed.ends_with("\tbilling\n") && listed.lines().count() == 1,
        "{listed}"
    );
    let revoked = pg(&["revoke-api-key", "--name", "billing"]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    assert_eq!(users_api(key.clone()).await, 401, "refused at once");
    assert!(
        !pg(&["revoke-api-key", "--name", "billing"])
            .status
            .success()
    );

    // throttle a name through the server, unlock it with the admin command
    let mut throttled = false;
    for _ in 0..10 {
        let r = c.login("lockedout", "wrong password entirely").await;
        if r.status == 429 {
            throttled = true;
            break;
        }
    }
    assert!(throttled);
    let out = tessera(&[
        "admin",
        "unlock",
        "--backend",
        "postgres",
        "--database-url",
        &db,
        "--username",
        "lockedout",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.login("lockedout", "wrong password entirely")
        .await
        .expect(401, "unauthorized");

    // without a URL the admin command says what is missing
    let out = tessera(&[
        "admin",
        "unlock",
        "--backend",
        "postgres",
        "--username",
        "x",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--database-url"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().await;
}
