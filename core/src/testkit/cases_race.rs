//! Conformance cases: concurrency. Uniqueness and single use are enforced by the store's
//! transactions, so they hold however the tasks interleave.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{profile, random_digest, token_record};
use crate::clock::Timestamp;
use crate::profile::ProfileKind;
use crate::store::{Conflict, DeviceInfo, DeviceRoles, QrRecord, Store, StoreError};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    race_32_registrations_of_one_username,
    race_20_redemptions_of_one_qr_token,
    race_revoke_against_reauthorize,
    race_server_key_created_once,
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
