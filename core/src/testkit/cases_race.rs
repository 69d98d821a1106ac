//! Conformance cases: concurrency. Uniqueness and single use are enforced by the store's
//! transactions, so they hold however the tasks interleave.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{profile, random_digest, token_record};
use crate::clock::Timestamp;
use crate::profile::ProfileKind;
use crate::store::{Conflict, DeviceInfo, DeviceRoles, QrRecord, Rotation, Store, StoreError};
use crate::token::TokenKind;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    race_32_registrations_of_one_username,
    race_20_redemptions_of_one_qr_token,
    race_revoke_against_reauthorize,
    race_server_key_created_once,
    race_20_rotations_of_one_refresh_token,
    race_20_takes_of_one_single_use_token,
    race_16_creations_of_one_external_user,
];

async fn race_32_registrations_of_one_username(s: Arc<dyn Store>) {
    for round in 0..5 {
        let name = format!("contested{round}");
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let s = Arc::clone(&s);
                let p = profile(&name);
                tokio::spawn(async move { s.create_profile(&p).await.map(|()| p.id) })
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
    s.create_profile(&owner).await.unwrap();
    for round in 0..3 {
        let q = QrRecord {
            digest: random_digest(),
            owner: owner.id,
            issued_at: Timestamp(0),
            expires_at: Timestamp(10_000),
            device_name: None,
        };
        s.put_qr(&q, 1).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let s = Arc::clone(&s);
                let mut d = profile(&format!("dev-{round}-{i}"));
                d.kind = ProfileKind::Device;
                d.owner = Some(owner.id);
                d.device = Some(DeviceInfo {
                    device_id: Uuid::new_v4(),
                    name: None,
                    roles: DeviceRoles::STORAGE,
                    meta: None,
                });
                let digest = q.digest;
                tokio::spawn(async move { s.create_device(&d, &digest, Timestamp(5)).await })
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
    s.create_profile(&p).await.unwrap();
    for _ in 0..50 {
        let t = token_record(p.id, 5000);
        s.put_token(&t, 1).await.unwrap();
        let (s1, s2) = (Arc::clone(&s), Arc::clone(&s));
        let d = t.digest;
        let revoke = tokio::spawn(async move { s1.revoke_token(&d).await });
        let extend = tokio::spawn(async move {
            s2.set_token_expiry(&d, Timestamp(90_000), Timestamp(10))
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
    s.create_profile(&p).await.unwrap();
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
    s.create_profile(&p).await.unwrap();
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
            tokio::spawn(async move { s.create_external_user(&u, &p).await.map(|()| p.id) })
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
    let u = s.get_external_user("idp|contested").await.unwrap().unwrap();
    assert_eq!(u.profile_id, winners[0]);
    for i in 0..16 {
        let found = s
            .get_profile_by_username(&format!("x-contested-{i}"))
            .await
            .unwrap();
        assert_eq!(found.is_some(), found.is_some_and(|p| p.id == winners[0]));
    }
}
