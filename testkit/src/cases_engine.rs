//! Conformance cases: the engine end to end on the store under test.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::test_engine;
use tessera_core::clock::Clock as _;
use tessera_core::engine::{Engine, RevokeScope};
use tessera_core::error::Error;
use tessera_core::key::KeyPair;
use tessera_core::principal::Principal;
use tessera_core::profile::{ProfileKind, ProfileState};
use tessera_core::random::OsRandom;
use tessera_core::store::{CommandStatus, Store};
use tessera_core::token::Ttl;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_register_activate_and_expire,
    engine_reauthorize_and_revoke,
    engine_change_password_ends_other_sessions,
    engine_device_onboarding_lifecycle,
    engine_qr_token_rules,
    engine_throttles_per_username,
    engine_concurrent_registrations_and_logins,
    engine_command_log_and_server_key,
    engine_commands_are_written_with_their_change,
];

const PW: &str = "velvet thunder orchard kites";
const PW2: &str = "marble lantern bicycle reef";
const DEV_PW: &str = "quiet copper harbor ninety";

async fn active_user(e: &Engine, name: &str) -> (Uuid, String) {
    let id = e.register_profile(name, PW).await.unwrap().value;
    let t = e.authenticate(name, PW, None).await.unwrap();
    let p = e.verify(t.token.expose()).await.unwrap();
    let kp = KeyPair::generate(&OsRandom);
    let st = e
        .register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(id))
        .await
        .unwrap()
        .value;
    assert_eq!(st, ProfileState::Active);
    (id, t.token.expose().to_owned())
}

async fn principal(e: &Engine, token: &str) -> Principal {
    e.verify(token).await.unwrap()
}

async fn engine_register_activate_and_expire(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let id = e.register_profile("Alice", PW).await.unwrap().value;
    assert_eq!(
        e.register_profile("ALICE", PW).await,
        Err(Error::UsernameTaken)
    );
    assert_eq!(
        e.register_profile("ａｌｉｃｅ", PW).await,
        Err(Error::UsernameTaken)
    );
    assert!(matches!(
        e.register_profile("bob", "password12345678").await,
        Err(Error::WeakPassword { .. })
    ));
    let t = e.authenticate("alice", PW, None).await.unwrap();
    assert_eq!(t.expires_at, clock.now().plus_secs(3600));
    let p = principal(&e, t.token.expose()).await;
    assert_eq!(
        (p.profile_id, p.kind, p.state),
        (id, ProfileKind::User, ProfileState::Incomplete)
    );
    // guards of an incomplete profile
    assert_eq!(
        e.change_password(&p, PW, PW2).await,
        Err(Error::ProfileIncomplete)
    );
    assert_eq!(
        e.generate_qr_token(&p, None, None).await.err(),
        Some(Error::ProfileIncomplete)
    );
    assert_eq!(e.list_devices(&p).await, Err(Error::ProfileIncomplete));
    e.token_expiry(&p).unwrap();
    assert_eq!(e.profile_info(&p).await.unwrap().username, "alice");
    // key registration: proof required, strict
    let kp = KeyPair::generate(&OsRandom);
    let key = kp.public().to_privicore_hex();
    assert!(matches!(
        e.register_public_key(&p, &key, "").await,
        Err(Error::InvalidSignature(_))
    ));
    let other = KeyPair::generate(&OsRandom);
    assert!(matches!(
        e.register_public_key(&p, &key, &other.prove(id)).await,
        Err(Error::InvalidSignature(_))
    ));
    assert_eq!(
        e.register_public_key(&p, &key, &kp.prove(id))
            .await
            .map(|done| done.value),
        Ok(ProfileState::Active)
    );
    let p = principal(&e, t.token.expose()).await;
    assert!(p.require_active().is_ok());
    assert_eq!(e.public_key(&p, None).await.unwrap(), kp.public());
    // the key cannot be bound to a second profile
    let (bob, bob_tok) = active_user(&e, "bob").await;
    let pb = principal(&e, &bob_tok).await;
    assert!(matches!(
        e.register_public_key(&pb, &key, &kp.prove(bob)).await,
        Err(Error::InvalidPublicKey(_))
    ));
    // expiry at the second: valid at expiresAt−1, not at expiresAt+1
    clock.set(tessera_core::Timestamp(t.expires_at.0 - 1));
    assert!(e.verify(t.token.expose()).await.is_ok());
    clock.advance(2);
    assert_eq!(e.verify(t.token.expose()).await, Err(Error::Unauthorized));
}

async fn engine_reauthorize_and_revoke(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let (_, tok) = active_user(&e, "alice").await;
    for ttl in Ttl::TABLE {
        let p = principal(&e, &tok).await;
        let ttl = Ttl::from_secs(u64::from(ttl)).unwrap();
        let x = e.reauthorize(&p, Some(ttl)).await.unwrap().value;
        assert_eq!(x.expires_at, clock.now().plus_secs(ttl.secs()));
        assert_eq!(principal(&e, &tok).await.expires_at, x.expires_at);
    }
    let other = e.authenticate("alice", PW, None).await.unwrap();
    assert_ne!(other.token.expose(), tok, "a new token per authentication");
    let p = principal(&e, &tok).await;
    e.revoke(&p, RevokeScope::Token).await.unwrap();
    assert_eq!(e.verify(&tok).await, Err(Error::Unauthorized));
    assert_eq!(
        e.revoke(&p, RevokeScope::Token).await,
        Err(Error::Unauthorized)
    );
    assert_eq!(
        e.reauthorize(&p, None).await,
        Err(Error::Unauthorized),
        "revoked stays revoked"
    );
    let po = principal(&e, other.token.expose()).await;
    let third = e.authenticate("alice", PW, None).await.unwrap();
    e.revoke(&po, RevokeScope::All).await.unwrap();
    assert_eq!(
        e.verify(other.token.expose()).await,
        Err(Error::Unauthorized)
    );
    assert_eq!(
        e.verify(third.token.expose()).await,
        Err(Error::Unauthorized)
    );
    // an expired token cannot be reauthorized
    let t = e.authenticate("alice", PW, None).await.unwrap();
    let p = principal(&e, t.token.expose()).await;
    clock.advance(3601);
    assert_eq!(e.reauthorize(&p, None).await, Err(Error::Unauthorized));
}

async fn engine_change_password_ends_other_sessions(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let (_, a) = active_user(&e, "alice").await;
    let b = e.authenticate("alice", PW, None).await.unwrap();
    let pa = principal(&e, &a).await;
    let qr = e.generate_qr_token(&pa, None, None).await.unwrap();
    assert!(matches!(
        e.change_password(&pa, PW, "password12345678").await,
        Err(Error::WeakPassword { .. })
    ));
    assert_eq!(
        e.change_password(&pa, "not the password at all", PW2).await,
        Err(Error::WrongPassword)
    );
    e.change_password(&pa, PW, PW2).await.unwrap();
    assert!(e.verify(&a).await.is_ok(), "the calling token stays valid");
    assert_eq!(e.verify(b.token.expose()).await, Err(Error::Unauthorized));
    assert_eq!(
        e.redeem_qr_token(qr.token.expose(), "alice-phone", DEV_PW, None, None)
            .await,
        Err(Error::InvalidQrToken),
        "the issuer's password change revokes QR tokens"
    );
    assert_eq!(
        e.authenticate("alice", PW, None).await.err(),
        Some(Error::Unauthorized)
    );
    e.authenticate("alice", PW2, None).await.unwrap();
}

async fn engine_device_onboarding_lifecycle(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let (owner, otok) = active_user(&e, "alice").await;
    let po = principal(&e, &otok).await;
    let qr = e
        .generate_qr_token(&po, Some(120), Some("phone"))
        .await
        .unwrap();
    assert!(qr.uri.starts_with("tessera://onboard?token=tsq_"));
    let server = e.server_public_key().await.unwrap();
    server
        .verify(qr.uri.as_bytes(), &hex::decode(&qr.signature).unwrap())
        .unwrap();
    let enr = e
        .redeem_qr_token(
            qr.token.expose(),
            "alice-phone",
            DEV_PW,
            None,
            Some("storage,authenticator"),
        )
        .await
        .unwrap()
        .value;
    let dt = e.authenticate("alice-phone", DEV_PW, None).await.unwrap();
    let pd = principal(&e, dt.token.expose()).await;
    assert_eq!(
        (pd.kind, pd.state, pd.owner),
        (ProfileKind::Device, ProfileState::Incomplete, Some(owner))
    );
    // the device registers its key: pending until approved
    let kp = KeyPair::generate(&OsRandom);
    let st = e
        .register_public_key(&pd, &kp.public().to_raw_hex(), &kp.prove(enr.profile_id))
        .await
        .unwrap()
        .value;
    assert_eq!(st, ProfileState::Pending);
    let pd = principal(&e, dt.token.expose()).await;
    assert_eq!(e.list_devices(&pd).await, Err(Error::DevicePending));
    let cfg = e.device_configuration(&pd, enr.device_id).await.unwrap();
    assert_eq!(
        (cfg.owner, cfg.device.state),
        (owner, ProfileState::Pending)
    );
    let devices = e.list_devices(&po).await.unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name.as_deref(), Some("phone"));
    assert_eq!(devices[0].roles.names(), vec!["storage", "authenticator"]);
    // another user sees nothing of it
    let (_, btok) = active_user(&e, "bob").await;
    let pb = principal(&e, &btok).await;
    assert_eq!(
        e.approve_device(&pb, enr.device_id).await,
        Err(Error::NotFound)
    );
    assert_eq!(
        e.device_configuration(&pb, enr.device_id).await,
        Err(Error::NotFound)
    );
    assert_eq!(
        e.approve_device(&po, Uuid::new_v4()).await,
        Err(Error::NotFound)
    );
    // approve → active; the device operates
    e.approve_device(&po, enr.device_id).await.unwrap();
    assert_eq!(
        e.approve_device(&po, enr.device_id)
            .await
            .unwrap_err()
            .code(),
        "validation_failed"
    );
    let pd = principal(&e, dt.token.expose()).await;
    assert_eq!(pd.state, ProfileState::Active);
    assert_eq!(
        e.generate_qr_token(&pd, None, None).await.err(),
        Some(Error::Forbidden)
    );
    let with_meta = e
        .configure_device_meta(&po, enr.device_id, r#"{"rack": 4}"#)
        .await
        .unwrap()
        .value;
    assert_eq!(with_meta.meta.as_deref(), Some(r#"{"rack":4}"#));
    assert_eq!(
        e.configure_device_meta(&po, enr.device_id, "[1]")
            .await
            .unwrap_err()
            .code(),
        "validation_failed"
    );
    assert_eq!(
        e.configure_device_meta(
            &po,
            enr.device_id,
            &format!("{{\"a\":\"{}\"}}", "x".repeat(4100))
        )
        .await
        .unwrap_err()
        .code(),
        "validation_failed"
    );
    // reject → its tokens die at once; it may still log in to learn its state
    e.reject_device(&po, enr.device_id).await.unwrap();
    assert_eq!(e.verify(dt.token.expose()).await, Err(Error::Unauthorized));
    let rt = e.authenticate("alice-phone", DEV_PW, None).await.unwrap();
    let pr = principal(&e, rt.token.expose()).await;
    assert_eq!(pr.state, ProfileState::Rejected);
    e.token_expiry(&pr).unwrap();
    assert_eq!(
        e.register_public_key(&pr, &kp.public().to_raw_hex(), &kp.prove(enr.profile_id))
            .await,
        Err(Error::DeviceRejected)
    );
    assert_eq!(e.list_devices(&pr).await, Err(Error::DeviceRejected));
    // remove → gone: tokens dead, cannot authenticate, not listed
    e.remove_device(&po, enr.device_id).await.unwrap();
    assert_eq!(e.verify(rt.token.expose()).await, Err(Error::Unauthorized));
    assert_eq!(
        e.authenticate("alice-phone", DEV_PW, None).await.err(),
        Some(Error::Unauthorized)
    );
    assert!(e.list_devices(&po).await.unwrap().is_empty());
    assert_eq!(
        e.remove_device(&po, enr.device_id).await,
        Err(Error::NotFound)
    );
}

async fn engine_qr_token_rules(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let (_, otok) = active_user(&e, "alice").await;
    let po = principal(&e, &otok).await;
    for bad in [0, 59, 901, u64::MAX] {
        assert_eq!(
            e.generate_qr_token(&po, Some(bad), None)
                .await
                .unwrap_err()
                .code(),
            "validation_failed",
            "ttl {bad}"
        );
    }
    let qr = e.generate_qr_token(&po, None, None).await.unwrap();
    assert_eq!(qr.expires_at, clock.now().plus_secs(300));
    assert_eq!(
        e.redeem_qr_token("tsq_nonsense", "dev-one", DEV_PW, None, None)
            .await,
        Err(Error::InvalidQrToken)
    );
    assert_eq!(
        e.redeem_qr_token(qr.token.expose(), "dev-one", DEV_PW, None, Some("printer"))
            .await
            .unwrap_err()
            .code(),
        "validation_failed"
    );
    clock.advance(300);
    assert_eq!(
        e.redeem_qr_token(qr.token.expose(), "dev-one", DEV_PW, None, None)
            .await,
        Err(Error::InvalidQrToken),
        "expired"
    );
    let qr = e.generate_qr_token(&po, Some(60), None).await.unwrap();
    e.redeem_qr_token(qr.token.expose(), "dev-one", DEV_PW, None, None)
        .await
        .unwrap();
    assert_eq!(
        e.redeem_qr_token(qr.token.expose(), "dev-two", DEV_PW, None, None)
            .await,
        Err(Error::InvalidQrToken),
        "single use"
    );
    // concurrent redemptions through the engine: exactly one
    let qr = e.generate_qr_token(&po, None, None).await.unwrap();
    let text = qr.token.expose().to_owned();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let e = Arc::clone(&e);
            let text = text.clone();
            tokio::spawn(async move {
                e.redeem_qr_token(&text, &format!("racer-{i}"), DEV_PW, None, None)
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(err) => assert_eq!(err, Error::InvalidQrToken),
        }
    }
    assert_eq!(ok, 1);
}

async fn engine_throttles_per_username(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(Arc::clone(&s));
    active_user(&e, "alice").await;
    for _ in 0..5 {
        assert_eq!(
            e.authenticate("alice", "wrong password here", None)
                .await
                .err(),
            Some(Error::Unauthorized)
        );
    }
    let refused = e.authenticate("alice", PW, None).await.unwrap_err();
    assert_eq!(
        refused,
        Error::TooManyAttempts { retry_after: 1 },
        "correct password refused in the window"
    );
    assert_eq!(
        s.get_throttle("alice").await.unwrap().unwrap().failures,
        5,
        "refusals do not count"
    );
    clock.advance(1);
    e.authenticate("alice", PW, None).await.unwrap();
    assert_eq!(
        s.get_throttle("alice").await.unwrap(),
        None,
        "success resets"
    );
    // unknown names are throttled the same way
    for _ in 0..5 {
        assert_eq!(
            e.authenticate("nobody", "wrong password here", None)
                .await
                .err(),
            Some(Error::Unauthorized)
        );
    }
    assert!(matches!(
        e.authenticate("nobody", PW, None).await,
        Err(Error::TooManyAttempts { .. })
    ));
    // the backoff grows and is capped; an admin unlock clears it
    for _ in 0..20 {
        clock.advance(901);
        let _ = e.authenticate("alice", "wrong password here", None).await;
    }
    match e.authenticate("alice", PW, None).await.unwrap_err() {
        Error::TooManyAttempts { retry_after } => assert!(retry_after <= 900),
        other => panic!("{other:?}"),
    }
    e.unlock("ALICE").await.unwrap();
    e.authenticate("alice", PW, None).await.unwrap();
}

async fn engine_concurrent_registrations_and_logins(s: Arc<dyn Store>) {
    let (e, _) = test_engine(Arc::clone(&s));
    let variants = ["Carol", "carol", "CAROL", "ｃａｒｏｌ"];
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let e = Arc::clone(&e);
            tokio::spawn(async move { e.register_profile(variants[i % 4], PW).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(err) => assert_eq!(err, Error::UsernameTaken),
        }
    }
    assert_eq!(ok, 1);
    // 40 parallel wrong attempts: the counter is exact and nothing past the limit hashes
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let e = Arc::clone(&e);
            tokio::spawn(async move { e.authenticate("carol", "wrong password here", None).await })
        })
        .collect();
    let (mut unauthorized, mut throttled) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap_err() {
            Error::Unauthorized => unauthorized += 1,
            Error::TooManyAttempts { .. } => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((unauthorized, throttled), (5, 35));
    assert_eq!(s.get_throttle("carol").await.unwrap().unwrap().failures, 5);
    e.unlock("carol").await.unwrap();
    // 20 parallel correct logins all succeed
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let e = Arc::clone(&e);
            tokio::spawn(async move {
                e.authenticate("carol", PW, None)
                    .await
                    .map(|i| i.token.expose().to_owned())
            })
        })
        .collect();
    let mut tokens = std::collections::HashSet::new();
    for t in tasks {
        assert!(tokens.insert(t.await.unwrap().unwrap()));
    }
    assert_eq!(tokens.len(), 20);
}

async fn engine_command_log_and_server_key(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(Arc::clone(&s));
    let mut events = e.subscribe().await.unwrap();
    let id = Uuid::new_v4();
    let c = e
        .record_command(
            Some(id),
            CommandStatus::Succeeded,
            "Command completed successfully",
            vec![("k".into(), "v".into())],
        )
        .await
        .unwrap();
    assert_eq!(events.recv().await.unwrap().command, c);
    assert_eq!(e.command(c.id).await.unwrap().as_ref(), Some(&c));
    assert_eq!(e.command(Uuid::new_v4()).await.unwrap(), None);
    clock.advance(86_400);
    assert_eq!(e.command(c.id).await.unwrap(), None, "past retention");
    assert!(e.purge_expired(100).await.unwrap() >= 1);
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    // the server key is created once and kept in the store
    let k1 = e.server_public_key().await.unwrap();
    let (e2, _) = test_engine(s);
    assert_eq!(e2.server_public_key().await.unwrap(), k1);
    // server API keys: shown once, stored as a digest
    let key = e.create_api_key("billing").await.unwrap();
    assert_eq!(e2.verify_api_key(key.expose()).await.unwrap(), "billing");
    assert_eq!(e2.verify_api_key("tsk_bad").await, Err(Error::Unauthorized));
    assert_eq!(
        e.create_api_key("").await.unwrap_err().code(),
        "validation_failed"
    );
    // names are unique; keys are listed without the key, and revoked by name
    let taken = e2.create_api_key("billing").await.unwrap_err();
    assert_eq!(taken.code(), "validation_failed");
    assert!(taken.to_string().contains("already exists"), "{taken}");
    let other = e.create_api_key("ops").await.unwrap();
    let listed = e2.list_api_keys().await.unwrap();
    let names: Vec<_> = listed.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["billing", "ops"]);
    assert!(listed.iter().all(|k| k.created_at == e.now()));
    e.revoke_api_key("billing").await.unwrap();
    assert_eq!(
        e2.verify_api_key(key.expose()).await,
        Err(Error::Unauthorized),
        "refused at once, by another engine on the store too"
    );
    assert_eq!(e2.verify_api_key(other.expose()).await.unwrap(), "ops");
    assert_eq!(e.revoke_api_key("billing").await, Err(Error::NotFound));
    assert_eq!(e2.list_api_keys().await.unwrap().len(), 1);
}

/// Every command operation writes its record with its change and publishes it: the engine,
/// not an adapter, makes the command, so embedders get the same log and pushes.
async fn engine_commands_are_written_with_their_change(s: Arc<dyn Store>) {
    let (e, _) = test_engine(Arc::clone(&s));
    let mut events = e.subscribe().await.unwrap();
    let mut seen = Vec::new();
    let mut check = |c: &tessera_core::store::CommandRecord, owner: Uuid, body: &str| {
        assert_eq!(c.profile_id, Some(owner), "{body}");
        assert_eq!(c.body, body);
        assert_eq!(c.status, CommandStatus::Succeeded);
        seen.push(c.clone());
    };
    let reg = e.register_profile("erin", PW).await.unwrap();
    check(&reg.command, reg.value, "Profile registered");
    let id = reg.value;
    let t = e.authenticate("erin", PW, None).await.unwrap();
    let p = principal(&e, t.token.expose()).await;
    let kp = KeyPair::generate(&OsRandom);
    let key = e
        .register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(id))
        .await
        .unwrap();
    check(&key.command, id, "Public key registered");
    assert_eq!(key.command.result, vec![("state".into(), "active".into())]);
    let p = principal(&e, t.token.expose()).await;
    let re = e.reauthorize(&p, None).await.unwrap();
    check(&re.command, id, "Authorization token reauthorized");
    assert_eq!(
        re.command.result,
        vec![("expiresAt".into(), re.value.expires_at.to_rfc3339())]
    );
    let qr = e.generate_qr_token(&p, None, None).await.unwrap();
    let dev = e
        .redeem_qr_token(qr.token.expose(), "erin-phone", DEV_PW, None, None)
        .await
        .unwrap();
    check(&dev.command, id, "Device registered");
    let approve_err = e.approve_device(&p, dev.value.device_id).await;
    assert!(approve_err.is_err(), "an incomplete device is not approved");
    let removed = e.remove_device(&p, dev.value.device_id).await.unwrap();
    check(&removed.command, id, "Device removed");
    assert_eq!(
        removed.command.result,
        vec![
            (
                "deviceIdentifier".into(),
                dev.value.device_id.hyphenated().to_string()
            ),
            ("state".into(), "removed".into()),
        ]
    );
    let changed = e.change_password(&p, PW, PW2).await.unwrap();
    check(&changed.command, id, "Password changed");
    let revoked = e.revoke(&p, RevokeScope::Token).await.unwrap();
    check(&revoked.command, id, "Authorization token revoked");
    // each is in the store and was published, in order
    for c in &seen {
        assert_eq!(e.command(c.id).await.unwrap().as_ref(), Some(c));
        assert_eq!(&events.recv().await.unwrap().command, c);
    }
    // a refused operation records nothing and publishes nothing
    assert!(e.revoke(&p, RevokeScope::Token).await.is_err());
    assert!(events.try_recv().is_err());
}
