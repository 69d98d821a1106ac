//! Conformance cases: OAuth concurrency. Single-use codes, refresh rotation, consent
//! withdrawal and the RSA key are each one transaction, so these hold however the tasks
//! interleave.

use std::sync::Arc;

use uuid::Uuid;

use super::cases_oauth::{app, exchange, granted, oauth_pair, user};
use tessera_core::clock::Timestamp;
use tessera_core::store::{ConsentRecord, Rotation, Store, TokenRecord};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    race_rsa_key_created_once,
    race_20_exchanges_of_one_code,
    race_20_rotations_of_one_oauth_refresh_token,
    race_consent_withdrawal_against_refresh_rotations,
];

async fn race_rsa_key_created_once(s: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8u8)
        .map(|i| {
            let s = Arc::clone(&s);
            // about the size of a PKCS#8 DER RSA-2048 key, a different length each
            let candidate = vec![i; 1190 + usize::from(i)];
            tokio::spawn(async move {
                let got = s.rsa_key_or_insert(&candidate).await.unwrap();
                (got, candidate)
            })
        })
        .collect();
    let (mut keys, mut candidates) = (Vec::new(), Vec::new());
    for t in tasks {
        let (got, candidate) = t.await.unwrap();
        keys.push(got);
        candidates.push(candidate);
    }
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "every caller sees one key"
    );
    let key = keys.swap_remove(0);
    assert!(
        candidates.contains(&key),
        "the key is one caller's candidate"
    );
    // later calls return the stored key, and it is not the server key seed
    assert_eq!(s.rsa_key_or_insert(&[0xab; 1300]).await.unwrap(), key);
    assert_eq!(s.server_key_or_insert([5; 32]).await.unwrap(), [5; 32]);
    assert_eq!(s.rsa_key_or_insert(&[1]).await.unwrap(), key);
}

/// Spend `old` from 20 tasks at once, each for a fresh pair of its family; how many were
/// rotated and reused, and every digest the tasks asked to issue.
async fn spend_20(s: &Arc<dyn Store>, old: &TokenRecord, now: i64) -> (u32, u32, Vec<TokenRecord>) {
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = Arc::clone(s);
            let (a, r) = oauth_pair(old.profile_id, old.family.unwrap());
            let d = old.digest;
            tokio::spawn(async move {
                let got = s
                    .spend_token(&d, &[a.clone(), r.clone()], Timestamp(now))
                    .await;
                (got, a, r)
            })
        })
        .collect();
    let (mut rotated, mut reused, mut issued) = (0, 0, Vec::new());
    for t in tasks {
        let (got, a, r) = t.await.unwrap();
        match got.unwrap() {
            Rotation::Rotated => rotated += 1,
            Rotation::Reused => reused += 1,
            Rotation::Unknown => {}
        }
        issued.push(a);
        issued.push(r);
    }
    (rotated, reused, issued)
}

/// The tokens of `profile` in family `grant` still stored.
async fn family_left(s: &Arc<dyn Store>, profile: Uuid, grant: Uuid) -> Vec<TokenRecord> {
    s.list_profile_tokens(profile)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.family == Some(grant))
        .collect()
}

async fn race_20_exchanges_of_one_code(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    for _ in 0..3 {
        let (g, code) = granted(&s, x, alice).await;
        let (rotated, reused, issued) = spend_20(&s, &code, 1010).await;
        assert_eq!(rotated, 1, "exactly one exchange wins");
        assert!(reused >= 1, "the first late exchange is reuse");
        // the reuse revoked the family: the code and what the winner was issued
        assert_eq!(s.get_token(&code.digest).await.unwrap(), None);
        for t in &issued {
            assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
        }
        assert!(family_left(&s, alice, g.id).await.is_empty());
    }
}

async fn race_20_rotations_of_one_oauth_refresh_token(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    let (g_other, code_other) = granted(&s, x, alice).await;
    for _ in 0..3 {
        let (g, code) = granted(&s, x, alice).await;
        let (_, r1) = exchange(&s, &code).await;
        let (rotated, reused, issued) = spend_20(&s, &r1, 2000).await;
        assert_eq!(rotated, 1, "exactly one rotation wins");
        assert!(reused >= 1, "the first late rotation is reuse");
        for t in &issued {
            assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
        }
        let left = family_left(&s, alice, g.id).await;
        assert!(left.is_empty(), "after reuse the family has {left:?}");
    }
    assert_eq!(
        family_left(&s, alice, g_other.id).await,
        vec![code_other],
        "another sign-in untouched"
    );
}

async fn race_consent_withdrawal_against_refresh_rotations(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let x = app(&s, owner).await;
    let (gb, code_b) = granted(&s, x, bob).await;
    let (ab, rb) = exchange(&s, &code_b).await;
    for round in 0..6 {
        s.put_consent(&ConsentRecord {
            profile_id: alice,
            client_id: x,
            scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
            granted_at: Timestamp(1000),
        })
        .await
        .unwrap();
        // four sign-ins of alice, each rotated up to 20 times in a row while the consent
        // is withdrawn
        let mut chains = Vec::new();
        for _ in 0..4 {
            let (g, code) = granted(&s, x, alice).await;
            let (_, r) = exchange(&s, &code).await;
            chains.push((g.id, r));
        }
        let rotators: Vec<_> = chains
            .iter()
            .map(|(g, r)| {
                let (s, g, mut r) = (Arc::clone(&s), *g, r.clone());
                tokio::spawn(async move {
                    for _ in 0..20 {
                        let (a2, r2) = oauth_pair(alice, g);
                        match s
                            .spend_token(&r.digest, &[a2, r2.clone()], Timestamp(2000))
                            .await
                            .unwrap()
                        {
                            Rotation::Rotated => r = r2,
                            other => {
                                assert_eq!(other, Rotation::Unknown, "a chain is never reuse");
                                break;
                            }
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let revoker = {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                for _ in 0..round * 3 {
                    tokio::task::yield_now().await;
                }
                s.revoke_consent(alice, x, None).await.unwrap()
            })
        };
        assert!(revoker.await.unwrap(), "there was a consent to withdraw");
        for t in rotators {
            t.await.unwrap();
        }
        for (g, _) in &chains {
            assert_eq!(s.get_grant(*g).await.unwrap(), None, "round {round}");
            let left = family_left(&s, alice, *g).await;
            assert!(
                left.is_empty(),
                "round {round}: {left:?} outlived the withdrawal"
            );
        }
    }
    assert!(s.get_grant(gb.id).await.unwrap().is_some(), "bob's grant");
    for t in [&ab, &rb] {
        assert!(
            s.get_token(&t.digest).await.unwrap().is_some(),
            "bob's tokens"
        );
    }
}
