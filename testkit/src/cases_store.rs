//! Conformance cases: every trait method, one aggregate at a time.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{device, profile, qr, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::{ProfileKind, ProfileState};
use tessera_core::store::{
    ApiKeyRecord, CommandRecord, CommandStatus, Conflict, Revoke, Store, StoreError,
};
use tessera_core::token::{TokenDigest, TokenKind};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    profile_create_and_read,
    profile_username_and_id_unique,
    profile_update_checks_version,
    profile_update_keeps_username_and_owner,
    public_key_index_follows_updates,
    token_put_checks_profile_version,
    token_resolve_and_read,
    token_bulk_put,
    token_expiry_update,
    token_revoke_one_and_all,
    update_profile_revokes_atomically,
    qr_put_get_and_redeem_once,
    qr_redeem_refusals_leave_it_usable,
    devices_listed_by_owner,
    command_log,
    throttle_counters,
    server_and_api_keys,
    api_key_names_unique_listed_and_revoked,
    purge_removes_only_expired,
    ping_answers,
];

async fn profile_create_and_read(s: Arc<dyn Store>) {
    let mut p = profile("alice");
    p.environments = vec!["prod".into(), "staging".into()];
    p.password_temporary = true;
    s.create_profile(&p, None).await.unwrap();
    assert_eq!(s.get_profile(p.id).await.unwrap().as_ref(), Some(&p));
    assert_eq!(
        s.get_profile_by_username("alice").await.unwrap().as_ref(),
        Some(&p)
    );
    assert_eq!(s.get_profile(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(s.get_profile_by_username("bob").await.unwrap(), None);
    let mut d = device(p.id, "alice-phone");
    d.public_key = Some([9; 32]);
    d.state = ProfileState::Pending;
    s.create_profile(&d, None).await.unwrap();
    assert_eq!(s.get_profile(d.id).await.unwrap().as_ref(), Some(&d));
}

async fn profile_username_and_id_unique(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let same_name = profile("alice");
    assert_eq!(
        s.create_profile(&same_name, None).await,
        Err(StoreError::Conflict(Conflict::Username))
    );
    let mut same_id = profile("bob");
    same_id.id = p.id;
    assert_eq!(
        s.create_profile(&same_id, None).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(
        s.get_profile_by_username("bob").await.unwrap(),
        None,
        "no half-created profile"
    );
    assert_eq!(
        s.get_profile(p.id).await.unwrap().unwrap().username,
        "alice"
    );
}

async fn profile_update_checks_version(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let mut q = p.clone();
    q.state = ProfileState::Active;
    q.version = 2;
    assert_eq!(
        s.update_profile(&q, 7, Revoke::Nothing, None).await,
        Err(StoreError::VersionMismatch)
    );
    s.update_profile(&q, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    let got = s.get_profile(p.id).await.unwrap().unwrap();
    assert_eq!(got.state, ProfileState::Active);
    assert_eq!(got.version, 2);
    assert_eq!(
        s.update_profile(&q, 1, Revoke::Nothing, None).await,
        Err(StoreError::VersionMismatch),
        "a stale writer loses"
    );
    let ghost = profile("ghost");
    assert_eq!(
        s.update_profile(&ghost, 1, Revoke::Nothing, None).await,
        Err(StoreError::NotFound)
    );
}

async fn profile_update_keeps_username_and_owner(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let mut q = p.clone();
    q.username = "mallory".into();
    q.owner = Some(Uuid::new_v4());
    q.version = 2;
    s.update_profile(&q, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    let got = s.get_profile(p.id).await.unwrap().unwrap();
    assert_eq!(got.username, "alice");
    assert_eq!(got.owner, None);
    assert!(
        s.get_profile_by_username("mallory")
            .await
            .unwrap()
            .is_none()
    );
}

async fn public_key_index_follows_updates(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let mut a2 = a.clone();
    a2.public_key = Some([1; 32]);
    a2.version = 2;
    s.update_profile(&a2, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    let mut b2 = b.clone();
    b2.public_key = Some([1; 32]);
    b2.version = 2;
    assert_eq!(
        s.update_profile(&b2, 1, Revoke::Nothing, None).await,
        Err(StoreError::Conflict(Conflict::PublicKey))
    );
    assert_eq!(s.get_profile(b.id).await.unwrap().unwrap().public_key, None);
    // the same profile may re-register its own key
    let mut a3 = a2.clone();
    a3.version = 3;
    s.update_profile(&a3, 2, Revoke::Nothing, None)
        .await
        .unwrap();
    // rotation releases the old key
    let mut a4 = a3.clone();
    a4.public_key = Some([2; 32]);
    a4.version = 4;
    s.update_profile(&a4, 3, Revoke::Nothing, None)
        .await
        .unwrap();
    s.update_profile(&b2, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    assert_eq!(
        s.get_profile(b.id).await.unwrap().unwrap().public_key,
        Some([1; 32])
    );
}

async fn token_put_checks_profile_version(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let t = token_record(p.id, 5000);
    assert_eq!(s.put_token(&t, 2).await, Err(StoreError::VersionMismatch));
    assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    s.put_token(&t, 1).await.unwrap();
    assert_eq!(
        s.put_token(&t, 1).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    let orphan = token_record(Uuid::new_v4(), 5000);
    assert_eq!(s.put_token(&orphan, 1).await, Err(StoreError::NotFound));
}

async fn token_resolve_and_read(s: Arc<dyn Store>) {
    let mut p = profile("alice");
    p.environments = vec!["prod".into()];
    p.state = ProfileState::Active;
    s.create_profile(&p, None).await.unwrap();
    let mut t = token_record(p.id, 5000);
    t.family = Some(Uuid::new_v4());
    s.put_token(&t, 1).await.unwrap();
    assert_eq!(s.get_token(&t.digest).await.unwrap().as_ref(), Some(&t));
    let pr = s.resolve_token(&t.digest).await.unwrap().unwrap();
    assert_eq!(pr.profile_id, p.id);
    assert_eq!(pr.kind, ProfileKind::User);
    assert_eq!(pr.state, ProfileState::Active);
    assert_eq!(pr.owner, None);
    assert_eq!(pr.environments, vec!["prod".to_owned()]);
    assert_eq!(pr.token_kind, TokenKind::Authorization);
    assert_eq!(pr.issued_at, Timestamp(1000));
    assert_eq!(pr.expires_at, Timestamp(5000));
    assert_eq!(pr.token, t.digest);
    assert_eq!(s.resolve_token(&TokenDigest([0; 32])).await.unwrap(), None);
    // a device's principal carries its owner
    let d = device(p.id, "alice-phone");
    s.create_profile(&d, None).await.unwrap();
    let mut rt = token_record(d.id, 6000);
    rt.kind = TokenKind::Refresh;
    s.put_token(&rt, 1).await.unwrap();
    let dp = s.resolve_token(&rt.digest).await.unwrap().unwrap();
    assert_eq!(
        (dp.kind, dp.owner, dp.token_kind),
        (ProfileKind::Device, Some(p.id), TokenKind::Refresh)
    );
}

async fn token_bulk_put(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let batch: Vec<_> = (0..200)
        .map(|i| (token_record(if i % 2 == 0 { a.id } else { b.id }, 5000), 1))
        .collect();
    s.put_tokens(&batch).await.unwrap();
    for (t, _) in &batch {
        assert_eq!(
            s.resolve_token(&t.digest)
                .await
                .unwrap()
                .unwrap()
                .profile_id,
            t.profile_id
        );
    }
    assert_eq!(
        s.revoke_profile_tokens(a.id, None).await.unwrap(),
        100,
        "indexed by profile"
    );
    let stale = vec![(token_record(b.id, 5000), 9)];
    assert_eq!(s.put_tokens(&stale).await, Err(StoreError::VersionMismatch));
    assert_eq!(s.get_token(&stale[0].0.digest).await.unwrap(), None);
}

async fn token_expiry_update(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let t = token_record(p.id, 5000);
    s.put_token(&t, 1).await.unwrap();
    s.set_token_expiry(&t.digest, Timestamp(9000), Timestamp(4999), None)
        .await
        .unwrap();
    assert_eq!(
        s.get_token(&t.digest).await.unwrap().unwrap().expires_at,
        Timestamp(9000)
    );
    assert_eq!(
        s.set_token_expiry(&t.digest, Timestamp(20_000), Timestamp(9000), None)
            .await,
        Err(StoreError::NotFound),
        "an expired token is never extended"
    );
    assert_eq!(
        s.set_token_expiry(&TokenDigest([3; 32]), Timestamp(20_000), Timestamp(0), None)
            .await,
        Err(StoreError::NotFound)
    );
    assert!(s.revoke_token(&t.digest, None).await.unwrap());
    assert_eq!(
        s.set_token_expiry(&t.digest, Timestamp(20_000), Timestamp(0), None)
            .await,
        Err(StoreError::NotFound),
        "a revoked token is never brought back"
    );
    assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
}

async fn token_revoke_one_and_all(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let ta: Vec<_> = (0..3).map(|_| token_record(a.id, 5000)).collect();
    for t in &ta {
        s.put_token(t, 1).await.unwrap();
    }
    let tb = token_record(b.id, 5000);
    s.put_token(&tb, 1).await.unwrap();
    s.put_qr(&qr(a.id, 5000), 1).await.unwrap();
    assert!(s.revoke_token(&ta[0].digest, None).await.unwrap());
    assert!(!s.revoke_token(&ta[0].digest, None).await.unwrap());
    assert_eq!(
        s.revoke_profile_tokens(a.id, None).await.unwrap(),
        3,
        "2 tokens + 1 QR token"
    );
    for t in &ta {
        assert_eq!(s.resolve_token(&t.digest).await.unwrap(), None);
    }
    assert!(
        s.resolve_token(&tb.digest).await.unwrap().is_some(),
        "other profiles untouched"
    );
    assert_eq!(s.revoke_profile_tokens(a.id, None).await.unwrap(), 0);
}

async fn update_profile_revokes_atomically(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let keep = token_record(a.id, 5000);
    let other = token_record(a.id, 5000);
    let q = qr(a.id, 5000);
    let tb = token_record(b.id, 5000);
    s.put_token(&keep, 1).await.unwrap();
    s.put_token(&other, 1).await.unwrap();
    s.put_qr(&q, 1).await.unwrap();
    s.put_token(&tb, 1).await.unwrap();
    let mut a2 = a.clone();
    a2.password_hash = Some("$argon2id$new".into());
    a2.version = 2;
    s.update_profile(&a2, 1, Revoke::AllExcept(keep.digest), None)
        .await
        .unwrap();
    assert!(s.resolve_token(&keep.digest).await.unwrap().is_some());
    assert_eq!(s.resolve_token(&other.digest).await.unwrap(), None);
    assert_eq!(s.get_qr(&q.digest).await.unwrap(), None);
    assert!(s.resolve_token(&tb.digest).await.unwrap().is_some());
    // a failed update revokes nothing
    let mut stale = a2.clone();
    stale.version = 2;
    assert_eq!(
        s.update_profile(&stale, 1, Revoke::All, None).await,
        Err(StoreError::VersionMismatch)
    );
    assert!(s.resolve_token(&keep.digest).await.unwrap().is_some());
    let mut a3 = a2.clone();
    a3.state = ProfileState::Active;
    a3.version = 3;
    s.update_profile(&a3, 2, Revoke::All, None).await.unwrap();
    assert_eq!(s.resolve_token(&keep.digest).await.unwrap(), None);
    // a token put after the update must name the new version
    let late = token_record(a.id, 5000);
    assert_eq!(
        s.put_token(&late, 2).await,
        Err(StoreError::VersionMismatch)
    );
    s.put_token(&late, 3).await.unwrap();
    assert_eq!(
        s.resolve_token(&late.digest).await.unwrap().unwrap().state,
        ProfileState::Active
    );
}

async fn qr_put_get_and_redeem_once(s: Arc<dyn Store>) {
    let owner = profile("alice");
    s.create_profile(&owner, None).await.unwrap();
    let q = qr(owner.id, 5000);
    assert_eq!(s.put_qr(&q, 9).await, Err(StoreError::VersionMismatch));
    assert_eq!(
        s.put_qr(&qr(Uuid::new_v4(), 5000), 1).await,
        Err(StoreError::NotFound)
    );
    s.put_qr(&q, 1).await.unwrap();
    assert_eq!(s.get_qr(&q.digest).await.unwrap().as_ref(), Some(&q));
    let d = device(owner.id, "alice-phone");
    s.create_device(&d, &q.digest, Timestamp(4999), None)
        .await
        .unwrap();
    assert_eq!(s.get_qr(&q.digest).await.unwrap(), None, "consumed");
    assert_eq!(s.get_profile(d.id).await.unwrap().as_ref(), Some(&d));
    let d2 = device(owner.id, "alice-tablet");
    assert_eq!(
        s.create_device(&d2, &q.digest, Timestamp(4999), None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_profile(d2.id).await.unwrap(), None);
}

async fn qr_redeem_refusals_leave_it_usable(s: Arc<dyn Store>) {
    let owner = profile("alice");
    let other = profile("bob");
    s.create_profile(&owner, None).await.unwrap();
    s.create_profile(&other, None).await.unwrap();
    let q = qr(owner.id, 5000);
    s.put_qr(&q, 1).await.unwrap();
    // expired at `now`
    assert_eq!(
        s.create_device(&device(owner.id, "dev-a"), &q.digest, Timestamp(5000), None)
            .await,
        Err(StoreError::NotFound)
    );
    // another owner's QR token
    assert_eq!(
        s.create_device(&device(other.id, "dev-b"), &q.digest, Timestamp(10), None)
            .await,
        Err(StoreError::NotFound)
    );
    // username taken: the QR token stays usable
    assert_eq!(
        s.create_device(&device(owner.id, "bob"), &q.digest, Timestamp(10), None)
            .await,
        Err(StoreError::Conflict(Conflict::Username))
    );
    assert!(s.get_qr(&q.digest).await.unwrap().is_some());
    s.create_device(&device(owner.id, "dev-c"), &q.digest, Timestamp(10), None)
        .await
        .unwrap();
    for n in ["dev-a", "dev-b"] {
        assert_eq!(s.get_profile_by_username(n).await.unwrap(), None);
    }
}

async fn devices_listed_by_owner(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let d = device(a.id, &format!("alice-dev{i}"));
        ids.push(d.id);
        s.create_profile(&d, None).await.unwrap();
    }
    s.create_profile(&device(b.id, "bob-dev"), None)
        .await
        .unwrap();
    let listed: Vec<Uuid> = s
        .list_devices(a.id)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, ids, "creation order");
    assert_eq!(s.list_devices(b.id).await.unwrap().len(), 1);
    assert!(s.list_devices(Uuid::new_v4()).await.unwrap().is_empty());
}

async fn command_log(s: Arc<dyn Store>) {
    let c = CommandRecord {
        id: Uuid::new_v4(),
        profile_id: Some(Uuid::new_v4()),
        status: CommandStatus::Succeeded,
        body: "Command completed successfully".into(),
        result: vec![
            ("deviceIdentifier".into(), "x".into()),
            ("profileId".into(), "y".into()),
        ],
        created_at: Timestamp(1000),
        expires_at: Timestamp(2000),
    };
    s.put_command(&c).await.unwrap();
    assert_eq!(s.get_command(c.id).await.unwrap().as_ref(), Some(&c));
    assert_eq!(
        s.put_command(&c).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.get_command(Uuid::new_v4()).await.unwrap(), None);
    let mut failed = c.clone();
    failed.id = Uuid::new_v4();
    failed.status = CommandStatus::Failed;
    failed.profile_id = None;
    failed.result.clear();
    s.put_command(&failed).await.unwrap();
    assert_eq!(
        s.get_command(failed.id).await.unwrap().as_ref(),
        Some(&failed)
    );
}

async fn throttle_counters(s: Arc<dyn Store>) {
    assert_eq!(s.get_throttle("alice").await.unwrap(), None);
    for i in 1..=3 {
        let r = s.record_failure("alice", Timestamp(100 + i)).await.unwrap();
        assert_eq!((r.failures, r.last_failure), (i as u32, Timestamp(100 + i)));
    }
    assert_eq!(s.get_throttle("alice").await.unwrap().unwrap().failures, 3);
    assert_eq!(s.get_throttle("bob").await.unwrap(), None);
    s.clear_throttle("alice").await.unwrap();
    assert_eq!(s.get_throttle("alice").await.unwrap(), None);
    s.clear_throttle("nobody").await.unwrap();
}

async fn server_and_api_keys(s: Arc<dyn Store>) {
    assert_eq!(s.server_key_or_insert([1; 32]).await.unwrap(), [1; 32]);
    assert_eq!(
        s.server_key_or_insert([2; 32]).await.unwrap(),
        [1; 32],
        "created once"
    );
    let k = ApiKeyRecord {
        digest: TokenDigest([5; 32]),
        name: "billing".into(),
        created_at: Timestamp(10),
    };
    s.put_api_key(&k).await.unwrap();
    assert_eq!(s.get_api_key(&k.digest).await.unwrap().as_ref(), Some(&k));
    assert_eq!(
        s.put_api_key(&k).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.get_api_key(&TokenDigest([6; 32])).await.unwrap(), None);
}

async fn api_key_names_unique_listed_and_revoked(s: Arc<dyn Store>) {
    let key = |d: u8, name: &str, at: i64| ApiKeyRecord {
        digest: TokenDigest([d; 32]),
        name: name.into(),
        created_at: Timestamp(at),
    };
    assert_eq!(s.list_api_keys().await.unwrap(), vec![]);
    let billing = key(1, "billing", 20);
    let ops = key(2, "ops", 10);
    s.put_api_key(&billing).await.unwrap();
    s.put_api_key(&ops).await.unwrap();
    assert_eq!(
        s.put_api_key(&key(3, "billing", 30)).await,
        Err(StoreError::Conflict(Conflict::Exists)),
        "a taken name"
    );
    assert_eq!(
        s.get_api_key(&TokenDigest([3; 32])).await.unwrap(),
        None,
        "nothing written on a refusal"
    );
    assert_eq!(
        s.list_api_keys().await.unwrap(),
        vec![ops.clone(), billing.clone()],
        "oldest first"
    );
    assert_eq!(s.revoke_api_key("billing").await, Ok(1));
    assert_eq!(s.get_api_key(&billing.digest).await.unwrap(), None);
    assert_eq!(s.list_api_keys().await.unwrap(), vec![ops.clone()]);
    assert_eq!(s.revoke_api_key("billing").await, Err(StoreError::NotFound));
    assert_eq!(s.revoke_api_key("nobody").await, Err(StoreError::NotFound));
    assert_eq!(
        s.revoke_api_key("OPS").await,
        Err(StoreError::NotFound),
        "names are exact"
    );
    // a revoked name is free again
    let again = key(4, "billing", 40);
    s.put_api_key(&again).await.unwrap();
    assert_eq!(s.list_api_keys().await.unwrap(), vec![ops, again]);
}

async fn purge_removes_only_expired(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let expired: Vec<_> = (0..10).map(|i| token_record(p.id, 100 + i)).collect();
    let live: Vec<_> = (0..5).map(|i| token_record(p.id, 111 + i)).collect();
    for t in expired.iter().chain(&live) {
        s.put_token(t, 1).await.unwrap();
    }
    let old_qr = qr(p.id, 50);
    let new_qr = qr(p.id, 5000);
    s.put_qr(&old_qr, 1).await.unwrap();
    s.put_qr(&new_qr, 1).await.unwrap();
    let cmd = |exp| CommandRecord {
        id: Uuid::new_v4(),
        profile_id: None,
        status: CommandStatus::Succeeded,
        body: "ok".into(),
        result: Vec::new(),
        created_at: Timestamp(0),
        expires_at: Timestamp(exp),
    };
    let (old_c, new_c) = (cmd(60), cmd(6000));
    s.put_command(&old_c).await.unwrap();
    s.put_command(&new_c).await.unwrap();
    // an extended token leaves its old expiry behind
    let moved = token_record(p.id, 105);
    s.put_token(&moved, 1).await.unwrap();
    s.set_token_expiry(&moved.digest, Timestamp(7000), Timestamp(0), None)
        .await
        .unwrap();

    let now = Timestamp(110);
    let first = s.purge_expired(now, 4).await.unwrap();
    assert_eq!(first, 4, "bounded batch");
    let mut total = first;
    loop {
        let n = s.purge_expired(now, 4).await.unwrap();
        assert!(n <= 4);
        if n == 0 {
            break;
        }
        total += n;
    }
    assert_eq!(total, 12, "10 tokens + 1 QR + 1 command");
    for t in &expired {
        assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    }
    for t in live.iter().chain([&moved]) {
        assert!(
            s.get_token(&t.digest).await.unwrap().is_some(),
            "unexpired token purged"
        );
    }
    assert_eq!(s.get_qr(&old_qr.digest).await.unwrap(), None);
    assert!(s.get_qr(&new_qr.digest).await.unwrap().is_some());
    assert_eq!(s.get_command(old_c.id).await.unwrap(), None);
    assert!(s.get_command(new_c.id).await.unwrap().is_some());
    // purged tokens no longer count as the profile's
    assert_eq!(
        s.revoke_profile_tokens(p.id, None).await.unwrap(),
        7,
        "5 live + moved + new QR"
    );
}

async fn ping_answers(s: Arc<dyn Store>) {
    s.ping().await.unwrap();
}
