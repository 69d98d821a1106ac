//! Error paths of API.md at the router: identity rules and key, QR and TTL validation
//! (422), expired and revoked tokens (401), throttling (429), overload and storage failures
//! (503). State guards and IDOR are in `state_guards.rs`.
#![allow(clippy::too_many_lines)] // scenario tests read top to bottom

use tessera_testkit::app as common;

use axum::http::StatusCode;
use common::{TestApp, User, password};
use tessera_core::{KeyPair, OsRandom};
use tessera_http::HttpConfig;
use tessera_testkit::faulty::{FaultyStore, SECRET_DETAIL};
use uuid::Uuid;

#[tokio::test]
async fn username_rules() {
    let app = TestApp::new();
    let pw = password("names");
    let long = "a".repeat(65);
    for name in [
        "",
        "   ",
        "ab",
        long.as_str(),
        "a\0b",
        "ali\u{202E}ce",
        "ali\u{200B}ce",
        " alice",
        "alice ",
        "a\nFAKE",
        "-alice",
    ] {
        app.register(name, &pw)
            .await
            .expect_error(422, "invalid_username");
    }
    app.register("Alice", &pw).await.command_id();
    for same in ["alice", "ALICE", "\u{FF41}lice"] {
        app.register(same, &pw)
            .await
            .expect_error(422, "username_taken");
    }
    // canonicalised on login too
    app.login("ALICE", &pw).await;
}

#[tokio::test]
async fn password_rules() {
    let app = TestApp::new();
    let r = app.register("shortpw", "abcdefghijklmn").await;
    r.expect_error(422, "password_too_short");
    assert!(r.json()["errors"]["password"].is_array());
    app.register("longpw", &"Zq9!".repeat(33)[..129])
        .await
        .expect_error(422, "password_too_long");
    app.register("weakpw", "password12345678")
        .await
        .expect_error(422, "weak_password");
    app.register("ctrlpw", "velvet otter quasar\u{7}lantern")
        .await
        .expect_error(422, "validation_failed");
    app.register("nulpw", "velvet otter quasar\0lantern")
        .await
        .expect_error(422, "validation_failed");
    // 15 emoji are 15 code points
    let emoji = "🐎🦊🐙🦉🐢🦋🐝🦀🐬🦜🐌🦒🐘🦔🐿";
    app.register("emojipw", emoji).await.command_id();
    // no truncation, no case change
    let u = app.incomplete_user("exactpw").await;
    let p = &u.password;
    let flipped = format!("{}{}", p[..1].to_uppercase(), &p[1..]);
    for wrong in [&p[..p.len() - 1], &format!("{p}x"), &flipped] {
        app.post(
            "/profile/authenticate",
            None,
            &[("username", &u.name), ("password", wrong)],
        )
        .await
        .expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn bad_credentials_share_one_body_and_throttle_with_retry_after() {
    let app = TestApp::new();
    let u = app.incomplete_user("throttled").await;
    let unknown = app
        .post(
            "/profile/authenticate",
            None,
            &[("username", "nosuchuser"), ("password", &u.password)],
        )
        .await;
    unknown.expect_error(401, "unauthorized");
    let wrong = app
        .post(
            "/profile/authenticate",
            None,
            &[("username", &u.name), ("password", "wrong password here!!")],
        )
        .await;
    assert_eq!(unknown.body, wrong.body);
    for _ in 0..4 {
        app.post(
            "/profile/authenticate",
            None,
            &[("username", &u.name), ("password", "nope nope nope nope")],
        )
        .await
        .expect_error(401, "unauthorized");
    }
    let r = app
        .post(
            "/profile/authenticate",
            None,
            &[("username", &u.name), ("password", &u.password)],
        )
        .await;
    r.expect_error(429, "too_many_attempts");
    let secs: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(secs >= 1);
    // existing tokens keep working; after the wait the right password works
    app.profile_id(&u.token).await;
    app.clock.advance(secs);
    app.login(&u.name, &u.password).await;
}

#[tokio::test]
async fn change_password_errors() {
    let app = TestApp::new();
    let u = app.active_user("changer").await;
    let r = app
        .post(
            "/profile/change-password",
            Some(&u.token),
            &[
                ("currentPassword", "not the password at all"),
                ("newPassword", &password("next")),
            ],
        )
        .await;
    r.expect_error(422, "wrong_password");
    assert!(r.json()["errors"]["currentPassword"].is_array());
    let r = app
        .post(
            "/profile/change-password",
            Some(&u.token),
            &[("currentPassword", &u.password), ("newPassword", "short")],
        )
        .await;
    r.expect_error(422, "password_too_short");
    assert!(r.json()["errors"]["newPassword"].is_array());
}

#[tokio::test]
async fn public_key_errors() {
    let app = TestApp::new();
    let mut u = app.incomplete_user("keyuser").await;
    let id = Uuid::parse_str(&u.profile_id).unwrap();
    let keys = KeyPair::generate(&OsRandom);
    let good = keys.public().to_privicore_hex();
    let mut wrong_tag = good.clone();
    wrong_tag.replace_range(0..8, "31420501");
    let mut bad_check = good.clone();
    let last = if good.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(199..200, last);
    let raw = keys.public().to_raw_hex();
    let bad = [
        String::new(),
        "0".repeat(199),
        "0".repeat(201),
        "g".repeat(200),
        format!("0x{}", &raw[2..]),
        wrong_tag,
        bad_check,
        "0".repeat(64),
        format!("01{}", "0".repeat(62)),
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a".to_owned(),
    ];
    for key in &bad {
        app.post(
            "/public-key/register-public-key",
            Some(&u.token),
            &[("publicKey", key), ("signature", &keys.prove(id))],
        )
        .await
        .expect_error(422, "invalid_public_key");
    }
    // missing or wrong signature → invalid_signature, with what to sign
    let r = app
        .post(
            "/public-key/register-public-key",
            Some(&u.token),
            &[("publicKey", &good)],
        )
        .await;
    r.expect_error(422, "invalid_signature");
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("tessera-register-key:")
    );
    let other = KeyPair::generate(&OsRandom);
    app.post(
        "/public-key/register-public-key",
        Some(&u.token),
        &[("publicKey", &good), ("signature", &other.prove(id))],
    )
    .await
    .expect_error(422, "invalid_signature");
    app.post(
        "/public-key/register-public-key",
        Some(&u.token),
        &[
            ("publicKey", &good),
            ("signature", &keys.prove(id)),
            ("signature", &keys.prove(id)),
        ],
    )
    .await
    .expect_error(422, "validation_failed");
    // mixed case is fine; then a key bound to another profile is refused
    let r = app
        .post(
            "/public-key/register-public-key",
            Some(&u.token),
            &[
                ("publicKey", &good.to_uppercase()),
                ("signature", &keys.prove(id)),
            ],
        )
        .await;
    r.command_id();
    u.keys = Some(keys);
    let v = app.incomplete_user("keyuser2").await;
    let vid = Uuid::parse_str(&v.profile_id).unwrap();
    let sig = u.keys.as_ref().unwrap().prove(vid);
    app.post(
        "/public-key/register-public-key",
        Some(&v.token),
        &[("publicKey", &good), ("signature", &sig)],
    )
    .await
    .expect_error(422, "invalid_public_key");
    // lookups: another profile without a key → 404; unknown or malformed id → 404
    for q in [
        v.profile_id.clone(),
        Uuid::new_v4().to_string(),
        "xyz".into(),
    ] {
        app.get(
            &format!("/public-key/retrieve-public-key?profileId={q}"),
            Some(&u.token),
        )
        .await
        .expect_error(404, "not_found");
    }
    let r = app
        .get(
            &format!("/public-key/retrieve-public-key?profileId={}", u.profile_id),
            Some(&u.token),
        )
        .await;
    assert_eq!(r.json()["publicKey"], good.as_str());
}

#[tokio::test]
async fn qr_and_revoke_validation() {
    let app = TestApp::new();
    let u: User = app.active_user("qruser").await;
    for ttl in ["59", "901", "abc", "-1", "1e3"] {
        app.post(
            "/profile/generate-qr-token",
            Some(&u.token),
            &[("ttl", ttl)],
        )
        .await
        .expect_error(422, "validation_failed");
    }
    app.post(
        "/profile/generate-qr-token",
        Some(&u.token),
        &[("deviceName", &"d".repeat(65))],
    )
    .await
    .expect_error(422, "validation_failed");
    app.post(
        "/profile/revoke-authorization-token",
        Some(&u.token),
        &[("scope", "everything")],
    )
    .await
    .expect_error(422, "validation_failed");
    // bad or used QR tokens
    let pw = password("qrdev");
    for qr in ["", "tsq_nope", &u.token] {
        app.post(
            "/device/request-unique-identifier",
            None,
            &[("qrToken", qr), ("username", "qrdev"), ("password", &pw)],
        )
        .await
        .expect_error(422, "invalid_qr_token");
    }
    let qr = app.qr_token(&u).await;
    app.post(
        "/device/request-unique-identifier",
        None,
        &[
            ("qrToken", &qr),
            ("username", "qrdev"),
            ("password", &pw),
            ("role", "toaster"),
        ],
    )
    .await
    .expect_error(422, "validation_failed");
    app.post(
        "/device/request-unique-identifier",
        None,
        &[("qrToken", &qr), ("username", "qrdev"), ("password", &pw)],
    )
    .await
    .command_id();
    app.post(
        "/device/request-unique-identifier",
        None,
        &[("qrToken", &qr), ("username", "qrdev2"), ("password", &pw)],
    )
    .await
    .expect_error(422, "invalid_qr_token");
    // expired
    let qr = app.qr_token(&u).await;
    app.clock.advance(301);
    app.post(
        "/device/request-unique-identifier",
        None,
        &[("qrToken", &qr), ("username", "qrdev3"), ("password", &pw)],
    )
    .await
    .expect_error(422, "invalid_qr_token");
    // meta must be a JSON object of at most 4 KiB
    let dev = app.pending_device(&u, "metadev").await;
    for meta in [
        "[1]",
        "nope",
        &format!("{{\"a\":\"{}\"}}", "x".repeat(5000)),
    ] {
        app.post(
            "/device/configure-device-meta",
            Some(&u.token),
            &[("deviceIdentifier", &dev.device_id), ("meta", meta)],
        )
        .await
        .expect_error(422, "validation_failed");
    }
}

#[tokio::test]
async fn expired_and_revoked_tokens_are_401() {
    let app = TestApp::new();
    let u = app.incomplete_user("expiring").await;
    app.clock.advance(3599);
    app.profile_id(&u.token).await;
    app.clock.advance(1);
    app.get("/profile/retrieve-profile-id", Some(&u.token))
        .await
        .expect_error(401, "unauthorized");
    app.post(
        "/profile/reauthorize-authorization-token",
        Some(&u.token),
        &[],
    )
    .await
    .expect_error(401, "unauthorized");
    let t = app.login(&u.name, &u.password).await;
    app.post("/profile/revoke-authorization-token", Some(&t), &[])
        .await
        .command_id();
    app.post("/profile/revoke-authorization-token", Some(&t), &[])
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn storage_failure_is_503_with_request_id_and_no_internals() {
    let store = FaultyStore::memory();
    let app = TestApp::with(store.clone(), HttpConfig::default());
    let u = app.incomplete_user("storeuser").await;
    store.fail_all(true);
    let pw = password("x");
    let replies = [
        app.get("/profile/retrieve-profile-id", Some(&u.token))
            .await,
        app.register("another", &pw).await,
        app.post(
            "/profile/authenticate",
            None,
            &[("username", &u.name), ("password", &u.password)],
        )
        .await,
        app.get(&format!("/request-status/{}", Uuid::new_v4()), None)
            .await,
    ];
    for r in replies {
        r.expect_error(503, "storage_unavailable");
        let j = r.json();
        let id = j["requestId"].as_str().unwrap();
        assert_eq!(r.headers["x-request-id"], id);
        assert!(!r.text().contains("secret-path") && !r.text().contains(SECRET_DETAIL));
    }
    let r = app.get("/utility/check-server-health", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.json()["status"], "unavailable");
    store.fail_all(false);
    // the next probe (every 100 ms) finds the store again and closes the breaker
    app.until_status("/utility/check-server-health", None, StatusCode::OK)
        .await;
    let r = app.get("/utility/check-server-health", None).await;
    assert_eq!(r.json()["status"], "ok");
    let r = app
        .get("/profile/retrieve-profile-id", Some(&u.token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn full_hash_queue_is_503_overloaded_while_tokens_still_verify() {
    let app = TestApp::with_tiny_hash_pool();
    let u = app.incomplete_user("verifier").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let a = app.clone();
        tasks.push(tokio::spawn(async move {
            a.register(&format!("flood{i}"), &password(&format!("flood{i}")))
                .await
        }));
    }
    // verification does no hashing: it answers while the pool is saturated
    let r = app
        .get("/profile/retrieve-profile-id", Some(&u.token))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let mut overloaded = 0;
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == StatusCode::SERVICE_UNAVAILABLE {
            r.expect_error(503, "overloaded");
            assert!(
                r.headers["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            overloaded += 1;
        } else {
            assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
        }
    }
    assert!(
        overloaded > 0,
        "24 concurrent hashes on 1 worker with a queue of 1"
    );
}

#[tokio::test]
async fn health_follows_the_background_prober_and_the_breaker_answers_503_at_once() {
    let store = FaultyStore::memory();
    let cfg = HttpConfig {
        health_interval: std::time::Duration::from_millis(20),
        ..HttpConfig::default()
    };
    let app = TestApp::with(store.clone(), cfg);
    let u = app.incomplete_user("healthuser").await;
    let health = "/utility/check-server-health";
    let me = "/profile/retrieve-profile-id";
    assert_eq!(app.get(health, None).await.status, StatusCode::OK);
    // health costs no store call: it answers from the prober's state
    let before = store.calls();
    for _ in 0..50 {
        assert_eq!(app.get(health, None).await.status, StatusCode::OK);
    }
    assert!(
        store.calls() - before < 10,
        "health read the store per call"
    );

    // the store goes down: the prober sees it within its interval, with no request
    store.fail_all(true);
    let took = app
        .until_status(health, None, StatusCode::SERVICE_UNAVAILABLE)
        .await;
    assert!(took < std::time::Duration::from_millis(500), "{took:?}");
    let h = app.get(health, None).await;
    assert_eq!(h.headers["retry-after"], "1");
    assert_eq!(h.json()["storage"], "unavailable");
    // the breaker is open: a request that needs the store gets 503 at once, without
    // reaching it (the prober's own probes aside)
    let before = store.calls();
    for _ in 0..20 {
        let r = app.get(me, Some(&u.token)).await;
        assert_eq!(r.headers["retry-after"], "1");
        r.expect_error(503, "storage_unavailable");
    }
    assert!(
        store.calls() - before < 10,
        "the breaker let requests through"
    );
    // what needs no store still answers
    assert_eq!(app.get("/openapi.json", None).await.status, StatusCode::OK);
    let css = app.get("/assets/tessera.css", None).await;
    assert_eq!(
        css.status,
        StatusCode::OK,
        "{:?} {}",
        css.headers,
        css.text()
    );
    // a page a person sees gets the HTML error page, not a JSON body
    let page = app.get("/account", None).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers["retry-after"], "1");
    assert!(
        page.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers
    );
    assert!(
        page.text().contains("cannot reach its storage"),
        "{}",
        page.text()
    );

    // the store is back: the next probe closes the breaker
    store.fail_all(false);
    let took = app.until_status(me, Some(&u.token), StatusCode::OK).await;
    assert!(took < std::time::Duration::from_millis(500), "{took:?}");
    assert_eq!(app.get(health, None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_meeting_a_storage_failure_opens_the_breaker_until_a_probe_succeeds() {
    let store = FaultyStore::memory();
    let cfg = HttpConfig {
        health_interval: std::time::Duration::from_secs(3600),
        ..HttpConfig::default()
    };
    let app = TestApp::with(store.clone(), cfg);
    let u = app.incomplete_user("breakeruser").await;
    let health = "/utility/check-server-health";
    assert_eq!(app.get(health, None).await.status, StatusCode::OK);
    store.fail_all(true);
    // the prober's next probe is an hour away: the request's failure opens the breaker
    app.get("/profile/retrieve-profile-id", Some(&u.token))
        .await
        .expect_error(503, "storage_unavailable");
    assert_eq!(
        app.get(health, None).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let before = store.calls();
    app.get("/profile/retrieve-profile-id", Some(&u.token))
        .await
        .expect_error(503, "storage_unavailable");
    assert_eq!(
        store.calls(),
        before,
        "an open breaker does not call the store"
    );
}
