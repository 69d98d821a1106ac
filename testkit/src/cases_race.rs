//! Conformance cases: concurrency. Uniqueness and single use are enforced by the store's
//! transactions, so they hold however the tasks interleave.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use uuid::Uuid;

use super::fixtures::{device, profile, qr, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::ProfileState;
use tessera_core::store::{
    ApiKeyRecord, Conflict, ResolvedToken, Revoke, Rotation, Store, StoreError,
};
use tessera_core::token::{TokenDigest, TokenKind};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    race_32_registrations_of_one_username,
    race_20_redemptions_of_one_qr_token,
    race_revoke_against_reauthorize,
    race_server_key_created_once,
    race_16_creations_of_one_api_key_name,
    race_20_rotations_of_one_refresh_token,
    race_20_takes_of_one_single_use_token,
    race_16_creations_of_one_external_user,
    race_resolve_sees_every_returned_write,
];

async fn race_32_registrations_of_one_username(s: Arc<dyn Store>) {
    for round in 0..5 {
        let name = format!("contested{round}");
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let s = Arc::clone(&s);
                let p = profile(&name);
                tokio::spawn(async move { s.create_profile(&p, None).await.map(|()| p.id) })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(id) => winners.push(id),
                Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::Username)),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one registration wins");
        let stored = s.get_profile_by_username(&name).await.unwrap().unwrap();
        assert_eq!(stored.id, winners[0]);
    }
}

async fn race_20_redemptions_of_one_qr_token(s: Arc<dyn Store>) {
    let owner = profile("owner");
    s.create_profile(&owner, None).await.unwrap();
    for round in 0..3 {
        let q = qr(owner.id, 10_000);
        s.put_qr(&q, 1).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let s = Arc::clone(&s);
                let d = device(owner.id, &format!("dev-{round}-{i}"));
                let digest = q.digest;
                tokio::spawn(async move { s.create_device(&d, &digest, Timestamp(5), None).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(e) => assert_eq!(e, StoreError::NotFound),
            }
        }
        assert_eq!(ok, 1, "exactly one redemption wins");
    }
    assert_eq!(s.list_devices(owner.id).await.unwrap().len(), 3);
}

async fn race_revoke_against_reauthorize(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    for _ in 0..50 {
        let t = token_record(p.id, 5000);
        s.put_token(&t, 1).await.unwrap();
        let (s1, s2) = (Arc::clone(&s), Arc::clone(&s));
        let d = t.digest;
        let revoke = tokio::spawn(async move { s1.revoke_token(&d, None).await });
        let extend = tokio::spawn(async move {
            s2.set_token_expiry(&d, Timestamp(90_000), Timestamp(10), None)
                .await
        });
        assert!(revoke.await.unwrap().unwrap(), "the revoke found the token");
        match extend.await.unwrap() {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
        assert_eq!(
            s.resolve_token(&d).await.unwrap(),
            None,
            "revoked token came back"
        );
        assert_eq!(s.get_token(&d).await.unwrap(), None);
    }
}

async fn race_server_key_created_once(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..16u8)
        .map(|i| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.server_key_or_insert([i; 32]).await.unwrap() })
        })
        .collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap());
    }
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "every caller sees one key"
    );
}

async fn race_20_rotations_of_one_refresh_token(s: Arc<dyn Store>) {
    use super::cases_tokens::family_token;
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    for _ in 0..3 {
        let family = Uuid::new_v4();
        let r1 = family_token(p.id, TokenKind::Refresh, family, 90_000);
        s.put_token(&r1, 1).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let s = Arc::clone(&s);
                let r = family_token(p.id, TokenKind::Refresh, family, 90_000);
                let a = family_token(p.id, TokenKind::Authorization, family, 6000);
                let old = r1.digest;
                tokio::spawn(async move {
                    let got = s.rotate_refresh(&old, &r, &a, Timestamp(10)).await;
                    (got, r, a)
                })
            })
            .collect();
        let (mut rotated, mut reused) = (0, 0);
        let mut issued = Vec::new();
        for t in tasks {
            let (got, r, a) = t.await.unwrap();
            match got.unwrap() {
                Rotation::Rotated => rotated += 1,
                Rotation::Reused => reused += 1,
                Rotation::Unknown => {}
            }
            issued.push(r.digest);
            issued.push(a.digest);
        }
        assert_eq!(rotated, 1, "exactly one rotation wins");
        assert!(reused >= 1, "the first late rotation is reuse");
        // the reuse revoked the family, the winner's new tokens included
        assert_eq!(s.get_token(&r1.digest).await.unwrap(), None);
        for d in &issued {
            assert_eq!(s.get_token(d).await.unwrap(), None);
        }
    }
}

async fn race_20_takes_of_one_single_use_token(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    for kind in [TokenKind::ResetCode, TokenKind::Session] {
        let mut t = token_record(p.id, 5000);
        t.kind = kind;
        s.put_token(&t, 1).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let s = Arc::clone(&s);
                let d = t.digest;
                tokio::spawn(async move { s.take_token(&d, kind, Timestamp(10)).await })
            })
            .collect();
        let mut taken = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().is_some() {
                taken += 1;
            }
        }
        assert_eq!(taken, 1, "exactly one take of a {kind:?} wins");
    }
}

async fn race_16_creations_of_one_external_user(s: Arc<dyn Store>) {
    use super::cases_external::external;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s = Arc::clone(&s);
            let (u, p) = external("idp|contested", &format!("x-contested-{i}"));
            tokio::spawn(async move { s.create_server_user(&u, &p).await.map(|()| p.id) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(id) => winners.push(id),
            Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::Exists)),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one creation wins");
    let u = s.get_server_user("idp|contested").await.unwrap().unwrap();
    assert_eq!(u.profile_id, winners[0]);
    for i in 0..16 {
        let found = s
            .get_profile_by_username(&format!("x-contested-{i}"))
            .await
            .unwrap();
        assert_eq!(found.is_some(), found.is_some_and(|p| p.id == winners[0]));
    }
}

/// Backends may share read state between verifies (redb keeps one read snapshot until the
/// next commit; both keep resolved tokens until the next write): with verifies running all
/// along, every write that has returned must be seen by the next resolve, by
/// `resolve_token` and by `resolve_token_now` (see [`resolve`]).
async fn race_resolve_sees_every_returned_write(s: Arc<dyn Store>) {
    let p = profile("reader");
    s.create_profile(&p, None).await.unwrap();
    let hot = token_record(p.id, 5000);
    s.put_token(&hot, 1).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (s, stop, d) = (Arc::clone(&s), Arc::clone(&stop), hot.digest);
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    // the way verify asks (the token's profile changes meanwhile, so
                    // the two ways are not compared here)
                    let found = match s.resolve_token_now(&d) {
                        Some(now) => now.unwrap(),
                        None => s.resolve_token(&d).await.unwrap(),
                    };
                    assert!(found.is_some());
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for (version, round) in (1..).zip(0..30) {
        let t = token_record(p.id, 5000);
        s.put_token(&t, version).await.unwrap();
        assert!(
            resolve(&s, &t.digest).await.is_some(),
            "a stored token does not resolve"
        );
        assert!(s.revoke_token(&t.digest, None).await.unwrap());
        assert_eq!(
            resolve(&s, &t.digest).await,
            None,
            "a revoked token still resolves"
        );
        let mut changed = s.get_profile(p.id).await.unwrap().unwrap();
        changed.state = if round % 2 == 0 {
            ProfileState::Active
        } else {
            ProfileState::Incomplete
        };
        s.update_profile(&changed, version, Revoke::Nothing, None)
            .await
            .unwrap();
        assert_eq!(
            resolve(&s, &hot.digest).await.unwrap().state,
            changed.state,
            "a profile change is not seen"
        );
        resolve_sees_token_api_writes(&s, p.id, version + 1, round).await;
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
}

/// The token-API writes of one round of [`race_resolve_sees_every_returned_write`]: each is
/// seen by the next `resolve_token`.
async fn resolve_sees_token_api_writes(
    s: &Arc<dyn Store>,
    profile_id: Uuid,
    version: u64,
    round: i64,
) {
    use super::cases_external::external;
    use super::cases_tokens::family_token;
    let kind_of = |d| async move { resolve(s, &d).await.map(|p| p.token_kind) };
    // rotation: the old refresh token is used, the new ones resolve
    let family = Uuid::new_v4();
    let r1 = family_token(profile_id, TokenKind::Refresh, family, 5000);
    s.put_token(&r1, version).await.unwrap();
    let r2 = family_token(profile_id, TokenKind::Refresh, family, 5000);
    let a2 = family_token(profile_id, TokenKind::Authorization, family, 5000);
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(kind_of(r1.digest).await, Some(TokenKind::RefreshUsed));
    assert_eq!(kind_of(a2.digest).await, Some(TokenKind::Authorization));
    // family revocation
    assert_eq!(s.revoke_family(family).await.unwrap(), 3);
    for d in [r1.digest, r2.digest, a2.digest] {
        assert_eq!(
            kind_of(d).await,
            None,
            "a revoked family token still resolves"
        );
    }
    // replace and take of single-use tokens
    let mut c1 = token_record(profile_id, 5000);
    c1.kind = TokenKind::ResetCode;
    s.replace_tokens(&c1).await.unwrap();
    assert_eq!(kind_of(c1.digest).await, Some(TokenKind::ResetCode));
    let mut c2 = token_record(profile_id, 5000);
    c2.kind = TokenKind::ResetCode;
    assert_eq!(s.replace_tokens(&c2).await.unwrap(), 1);
    assert_eq!(
        kind_of(c1.digest).await,
        None,
        "a replaced token still resolves"
    );
    assert!(
        s.take_token(&c2.digest, TokenKind::ResetCode, Timestamp(10))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        kind_of(c2.digest).await,
        None,
        "a taken token still resolves"
    );
    // expiry change, purge, revocation of a profile's tokens
    let t = token_record(profile_id, 5000);
    s.put_token(&t, version).await.unwrap();
    s.set_token_expiry(&t.digest, Timestamp(7000), Timestamp(10), None)
        .await
        .unwrap();
    let got = resolve(s, &t.digest).await.unwrap();
    assert_eq!(
        got.expires_at,
        Timestamp(7000),
        "an expiry change is not seen"
    );
    let short = token_record(profile_id, 20);
    s.put_token(&short, version).await.unwrap();
    assert!(s.purge_expired(Timestamp(30), 1000).await.unwrap() >= 1);
    assert_eq!(
        kind_of(short.digest).await,
        None,
        "a purged token still resolves"
    );
    // external users: creation and an update of the profile
    let (u, mut xp) = external(&format!("idp|reader-{round}"), &format!("x-reader-{round}"));
    s.create_server_user(&u, &xp).await.unwrap();
    let xt = token_record(xp.id, 5000);
    s.put_token(&xt, xp.version).await.unwrap();
    assert!(resolve(s, &xt.digest).await.is_some());
    let expected = xp.version;
    xp.state = ProfileState::Incomplete;
    s.update_server_user(&u, &xp, expected, Revoke::Nothing)
        .await
        .unwrap();
    let got = resolve(s, &xt.digest).await.unwrap();
    assert_eq!(
        got.state,
        ProfileState::Incomplete,
        "an external update is not seen"
    );
    assert!(s.revoke_profile_tokens(xp.id, None).await.unwrap() >= 1);
    assert_eq!(
        kind_of(xt.digest).await,
        None,
        "a profile's revoked token still resolves"
    );
}

async fn race_16_creations_of_one_api_key_name(s: Arc<dyn Store>) {
    for round in 0..3u8 {
        let name = format!("contested-key-{round}");
        let tasks: Vec<_> = (0..16u8)
            .map(|i| {
                let s = Arc::clone(&s);
                let k = ApiKeyRecord {
                    digest: TokenDigest([round * 16 + i + 1; 32]),
                    name: name.clone(),
                    created_at: Timestamp(i64::from(i)),
                };
                tokio::spawn(async move { s.put_api_key(&k).await.map(|()| k.digest) })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(d) => winners.push(d),
                Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::Exists)),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one creation of a name wins");
        let listed: Vec<_> = s
            .list_api_keys()
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.name == name)
            .map(|k| k.digest)
            .collect();
        assert_eq!(listed, winners);
    }
}

/// A token resolved both ways a store answers: `resolve_token`, and `resolve_token_now`
/// where the backend has it (the verify path asks that first). The two must agree.
async fn resolve(s: &Arc<dyn Store>, digest: &TokenDigest) -> Option<ResolvedToken> {
    let later = s.resolve_token(digest).await.unwrap();
    if let Some(now) = s.resolve_token_now(digest) {
        assert_eq!(
            now.unwrap(),
            later,
            "resolve_token_now and resolve_token disagree"
        );
    }
    later
}
