//! Two stores on one schema, as two tessera nodes use one database: uniqueness, single use
//! and revocation hold across them. Needs `TESSERA_TEST_POSTGRES_URL`.

use tessera_testkit::postgres as common;

use std::sync::Arc;

use tessera_core::store::{Conflict, Revoke, StoreError};
use tessera_core::{Store, Timestamp};
use tessera_storage_postgres::PostgresStore;
use tessera_testkit::{device, profile, qr, token_record};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_database_agree() {
    let Some(url) = common::url("two_stores_on_one_database_agree") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let nodes: [Arc<dyn Store>; 2] = [
        Arc::new(PostgresStore::connect_with(config.clone()).await.unwrap()),
        Arc::new(PostgresStore::connect_with(config).await.unwrap()),
    ];

    // 32 registrations of one name, alternating between the nodes: one wins
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let s = Arc::clone(&nodes[i % 2]);
            tokio::spawn(async move {
                let p = profile("contested");
                s.create_profile(&p, None).await.map(|()| p.id)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => winners.push(id),
            Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::Username)),
        }
    }
    assert_eq!(winners.len(), 1);

    // a token stored through one node resolves on the other; revoking it on one ends it on both
    let owner = nodes[0].get_profile(winners[0]).await.unwrap().unwrap();
    let t = token_record(owner.id, 5000);
    nodes[0].put_token(&t, owner.version).await.unwrap();
    assert!(nodes[1].resolve_token(&t.digest).await.unwrap().is_some());
    assert!(nodes[1].revoke_token(&t.digest, None).await.unwrap());
    assert_eq!(nodes[0].resolve_token(&t.digest).await.unwrap(), None);

    // an update with revocation on one node ends the tokens at once on the other, and a
    // token put against the old version through the other node is refused
    let kept = token_record(owner.id, 5000);
    let other = token_record(owner.id, 5000);
    nodes[1].put_token(&kept, 1).await.unwrap();
    nodes[1].put_token(&other, 1).await.unwrap();
    let mut changed = owner.clone();
    changed.password_hash = Some("$argon2id$changed".into());
    changed.version = 2;
    nodes[0]
        .update_profile(&changed, 1, Revoke::AllExcept(kept.digest), None)
        .await
        .unwrap();
    assert!(
        nodes[1]
            .resolve_token(&kept.digest)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(nodes[1].resolve_token(&other.digest).await.unwrap(), None);
    assert_eq!(
        nodes[1].put_token(&token_record(owner.id, 5000), 1).await,
        Err(StoreError::VersionMismatch)
    );

    // 20 redemptions of one QR token over both nodes: one device
    let q = qr(owner.id, 10_000);
    nodes[0].put_qr(&q, 2).await.unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let s = Arc::clone(&nodes[i % 2]);
            let d = device(owner.id, &format!("dev-{i}"));
            tokio::spawn(async move { s.create_device(&d, &q.digest, Timestamp(5), None).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e, StoreError::NotFound),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(nodes[1].list_devices(owner.id).await.unwrap().len(), 1);
}

/// Password change racing token issue, over two nodes: after the change commits, no token
/// issued against the old version is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn update_and_put_token_race_leaves_no_stale_token() {
    let Some(url) = common::url("update_and_put_token_race_leaves_no_stale_token") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config.clone()).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config).await.unwrap());
    let mut p = profile("racer");
    a.create_profile(&p, None).await.unwrap();
    for round in 0..40u64 {
        let version = p.version;
        let mut next = p.clone();
        next.version = version + 1;
        next.password_hash = Some(format!("$argon2id$round{round}"));
        let puts: Vec<_> = (0..4)
            .map(|_| {
                let b = Arc::clone(&b);
                let t = token_record(p.id, 5000);
                tokio::spawn(async move { (t.digest, b.put_token(&t, version).await) })
            })
            .collect();
        let a2 = Arc::clone(&a);
        let update =
            tokio::spawn(async move { a2.update_profile(&next, version, Revoke::All, None).await });
        update.await.unwrap().unwrap();
        for t in puts {
            let (digest, put) = t.await.unwrap();
            match put {
                Ok(()) | Err(StoreError::VersionMismatch) => {}
                Err(e) => panic!("{e:?}"),
            }
            assert_eq!(
                a.resolve_token(&digest).await.unwrap(),
                None,
                "round {round}: a token of the old version outlived the update"
            );
        }
        p = a.get_profile(p.id).await.unwrap().unwrap();
    }
}

/// A refresh rotation racing a password change (revoke all), over two nodes: after both,
/// no token of the profile is left, neither the old family nor what the rotation issued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_racing_a_password_change_leaves_no_token() {
    use tessera_core::TokenKind;
    let Some(url) = common::url("rotation_racing_a_password_change_leaves_no_token") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config.clone()).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config).await.unwrap());
    let mut p = profile("rotor");
    a.create_profile(&p, None).await.unwrap();
    let pid = p.id;
    let family_token = |kind: TokenKind, family: Uuid| {
        let mut t = token_record(pid, 90_000);
        t.kind = kind;
        t.family = Some(family);
        t
    };
    for round in 0..40u64 {
        let family = Uuid::new_v4();
        let refresh = family_token(TokenKind::Refresh, family);
        a.put_token(&refresh, p.version).await.unwrap();
        let (r2, a2) = (
            family_token(TokenKind::Refresh, family),
            family_token(TokenKind::Authorization, family),
        );
        let issued = [r2.digest, a2.digest];
        let b2 = Arc::clone(&b);
        let old = refresh.digest;
        let rotate =
            tokio::spawn(async move { b2.rotate_refresh(&old, &r2, &a2, Timestamp(10)).await });
        let mut next = p.clone();
        next.version = p.version + 1;
        let a2 = Arc::clone(&a);
        let expected = p.version;
        let update =
            tokio::spawn(
                async move { a2.update_profile(&next, expected, Revoke::All, None).await },
            );
        update.await.unwrap().unwrap();
        rotate.await.unwrap().unwrap();
        for d in issued.iter().chain([&refresh.digest]) {
            assert_eq!(
                a.get_token(d).await.unwrap(),
                None,
                "round {round}: a token outlived the password change"
            );
        }
        p = a.get_profile(p.id).await.unwrap().unwrap();
    }
}

/// A family revocation racing a chain of rotations of that family on the other node:
/// afterwards no token of the family is left, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn family_revocation_racing_rotations_leaves_no_token() {
    use tessera_core::TokenKind;
    use tessera_core::store::Rotation;
    let Some(url) = common::url("family_revocation_racing_rotations_leaves_no_token") else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config.clone()).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config).await.unwrap());
    let p = profile("chain");
    a.create_profile(&p, None).await.unwrap();
    let pid = p.id;
    let token = move |kind: TokenKind, family: Uuid| {
        let mut t = token_record(pid, 90_000);
        t.kind = kind;
        t.family = Some(family);
        t
    };
    for round in 0..30u64 {
        let family = Uuid::new_v4();
        let first = token(TokenKind::Refresh, family);
        a.put_token(&first, 1).await.unwrap();
        let b2 = Arc::clone(&b);
        let chain = tokio::spawn(async move {
            let mut issued = vec![first.digest];
            let mut old = first.digest;
            for _ in 0..6 {
                let (r, acc) = (
                    token(TokenKind::Refresh, family),
                    token(TokenKind::Authorization, family),
                );
                issued.extend([r.digest, acc.digest]);
                match b2
                    .rotate_refresh(&old, &r, &acc, Timestamp(10))
                    .await
                    .unwrap()
                {
                    Rotation::Rotated => old = r.digest,
                    _ => break,
                }
            }
            issued
        });
        tokio::time::sleep(std::time::Duration::from_micros(round * 150)).await;
        a.revoke_family(family).await.unwrap();
        let issued = chain.await.unwrap();
        // the chain may go on after the revocation only by rotating a token it cannot find
        for d in &issued {
            assert_eq!(
                a.get_token(d).await.unwrap(),
                None,
                "round {round}: a token of the revoked family is left"
            );
        }
    }
}

/// A public application of `owner`.
fn oauth_client(owner: Uuid) -> tessera_core::store::OAuthClientRecord {
    tessera_core::store::OAuthClientRecord {
        id: Uuid::new_v4(),
        owner,
        name: "Photos".into(),
        confidential: false,
        redirect_uris: vec!["https://a.example/cb".into()],
        scopes: vec!["openid".into(), "offline_access".into()],
        id_token_alg: tessera_core::store::IdTokenAlg::Rs256,
        secret: None,
        pending_secret: None,
        first_party: false,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        version: 1,
    }
}

/// A grant of `profile` to `client`, expiring at t = 90 000.
fn oauth_grant(client: Uuid, profile: Uuid) -> tessera_core::store::OAuthGrantRecord {
    tessera_core::store::OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: client,
        profile_id: profile,
        scopes: vec!["openid".into(), "offline_access".into()],
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        auth_time: Timestamp(1),
        created_at: Timestamp(1),
        expires_at: Timestamp(90_000),
    }
}

/// Removing an application on one node while the other signs in to it and rotates refresh
/// tokens of it: afterwards no grant, consent or token of the application is left, whatever
/// the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn application_removal_racing_sign_ins_and_rotations_leaves_nothing() {
    use tessera_core::TokenKind;
    use tessera_core::store::{ConsentRecord, Rotation, TokenRecord};
    let Some(url) = common::url("application_removal_racing_sign_ins_and_rotations_leaves_nothing")
    else {
        return;
    };
    let schemas = common::Schemas::new(url);
    let config = schemas.fresh();
    let a: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config.clone()).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::connect_with(config).await.unwrap());
    let (owner, alice) = (profile("owner"), profile("alice"));
    a.create_profile(&owner, None).await.unwrap();
    a.create_profile(&alice, None).await.unwrap();
    let pid = alice.id;
    let token = move |kind: TokenKind, grant: Uuid| -> TokenRecord {
        let mut t = token_record(pid, 90_000);
        t.kind = kind;
        t.family = Some(grant);
        t
    };
    let sign_in = move |s: Arc<dyn Store>, client: Uuid| async move {
        let g = oauth_grant(client, pid);
        let code = token(TokenKind::OAuthCode, g.id);
        s.put_grant(&g, &code, 1).await.map(|()| (g.id, code))
    };
    for round in 0..20u64 {
        let x = oauth_client(owner.id);
        a.create_client(&x, None).await.unwrap();
        let c = ConsentRecord {
            profile_id: pid,
            client_id: x.id,
            scopes: vec!["openid".into()],
            granted_at: Timestamp(1),
        };
        a.put_consent(&c).await.unwrap();
        let b2 = Arc::clone(&b);
        let client = x.id;
        let other = tokio::spawn(async move {
            let mut issued = Vec::new();
            for _ in 0..4 {
                let Ok((grant, code)) = sign_in(Arc::clone(&b2), client).await else {
                    break;
                };
                issued.push(code.digest);
                let mut old = code.digest;
                for _ in 0..3 {
                    let (acc, r) = (
                        token(TokenKind::OAuthAccess, grant),
                        token(TokenKind::OAuthRefresh, grant),
                    );
                    issued.extend([acc.digest, r.digest]);
                    match b2
                        .spend_token(&old, &[acc, r.clone()], Timestamp(10))
                        .await
                        .unwrap()
                    {
                        Rotation::Rotated => old = r.digest,
                        _ => break,
                    }
                }
            }
            issued
        });
        tokio::time::sleep(std::time::Duration::from_micros(round * 400)).await;
        assert!(a.remove_client(x.id, None).await.unwrap());
        let issued = other.await.unwrap();
        for d in &issued {
            assert_eq!(
                a.get_token(d).await.unwrap(),
                None,
                "round {round}: a token of the removed application is left"
            );
        }
        assert_eq!(a.get_consent(pid, x.id).await.unwrap(), None);
        assert!(a.list_profile_tokens(pid).await.unwrap().is_empty());
        // a sign-in after the removal is refused
        assert_eq!(
            sign_in(Arc::clone(&a), x.id).await.unwrap_err(),
            StoreError::NotFound
        );
    }
}
