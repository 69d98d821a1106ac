//! The OAuth trees and their indexes stay exact through every path that writes them, a
//! removed application leaves nothing behind (not even its counters), and removing an
//! application racing sign-ins and refresh rotations leaves no grant and no token of it.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use common::{check_family_index, digest, open, raw, stored_profile};
use tessera_core::store::{
    ConsentRecord, IdTokenAlg, MaintenanceStore, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ProfileStore, Rotation, StoreError, TokenRecord, TokenStore,
};
use tessera_core::{Timestamp, TokenKind};
use uuid::Uuid;

fn client(owner: Uuid) -> OAuthClientRecord {
    OAuthClientRecord {
        id: Uuid::new_v4(),
        owner,
        name: "Photos".into(),
        confidential: true,
        redirect_uris: vec!["https://a.example/cb".into()],
        scopes: vec!["openid".into(), "offline_access".into()],
        id_token_alg: IdTokenAlg::Rs256,
        secret: None,
        pending_secret: Some("tsx_secret".into()),
        first_party: false,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        version: 1,
    }
}

fn oauth_token(profile: Uuid, kind: TokenKind, grant: Uuid, expires: i64) -> TokenRecord {
    TokenRecord {
        digest: digest(),
        profile_id: profile,
        kind,
        issued_at: Timestamp(1000),
        expires_at: Timestamp(expires),
        family: Some(grant),
    }
}

/// A grant of `profile` to `client` expiring at `expires` and its code, stored.
async fn sign_in(
    s: &impl OAuthStore,
    client: Uuid,
    profile: Uuid,
    expires: i64,
) -> Result<(OAuthGrantRecord, TokenRecord), StoreError> {
    let g = OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: client,
        profile_id: profile,
        scopes: vec!["openid".into()],
        redirect_uri: Some("https://a.example/cb".into()),
        code_challenge: None,
        nonce: None,
        auth_time: Timestamp(990),
        created_at: Timestamp(1000),
        expires_at: Timestamp(expires),
    };
    let code = oauth_token(profile, TokenKind::OAuthCode, g.id, 1060.min(expires));
    s.put_grant(&g, &code, 1).await?;
    Ok((g, code))
}

/// Spend `old` for a fresh access + refresh pair; the outcome and the pair's refresh token.
async fn spend(s: &impl TokenStore, old: &TokenRecord, expires: i64) -> (Rotation, TokenRecord) {
    let family = old.family.unwrap();
    let access = oauth_token(old.profile_id, TokenKind::OAuthAccess, family, 4600);
    let refresh = oauth_token(old.profile_id, TokenKind::OAuthRefresh, family, expires);
    let got = s
        .spend_token(&old.digest, &[access, refresh.clone()], Timestamp(1010))
        .await
        .unwrap();
    (got, refresh)
}

fn consent(profile: Uuid, client: Uuid) -> ConsentRecord {
    ConsentRecord {
        profile_id: profile,
        client_id: client,
        scopes: vec!["openid".into()],
        granted_at: Timestamp(5),
    }
}

fn keys(db: &sled::Db, tree: &str) -> BTreeSet<Vec<u8>> {
    db.open_tree(tree)
        .unwrap()
        .iter()
        .keys()
        .map(|k| k.unwrap().to_vec())
        .collect()
}

fn time_key(t: i64) -> [u8; 8] {
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Check the OAuth trees of a closed store: every index entry has its record and every
/// record its index entries, every counter belongs to a stored application (or is a
/// device's own pair counter). Returns the numbers of applications, grants and consents.
fn check_oauth_index(dir: &Path) -> (usize, usize, usize) {
    let db = raw(dir);
    let cat = |parts: &[&[u8]]| parts.concat();
    // applications: value starts with the owner id
    let mut owners = BTreeSet::new();
    let mut clients = BTreeSet::new();
    for kv in &db.open_tree("oauth_clients").unwrap() {
        let (k, v) = kv.unwrap();
        owners.insert(cat(&[&v[..16], &k]));
        clients.insert(k.to_vec());
    }
    assert_eq!(keys(&db, "owner_clients"), owners, "owner_clients");
    // grants: client id, profile id first, expires_at last
    let (mut by_client, mut by_profile, mut expiry) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut grants = 0;
    for kv in &db.open_tree("oauth_grants").unwrap() {
        let (k, v) = kv.unwrap();
        by_client.insert(cat(&[&v[..16], &k]));
        by_profile.insert(cat(&[&v[16..32], &v[..16], &k]));
        let expires = i64::from_le_bytes(v[v.len() - 8..].try_into().unwrap());
        expiry.insert(cat(&[&time_key(expires), &[4], &k]));
        grants += 1;
    }
    assert_eq!(keys(&db, "client_grants"), by_client, "client_grants");
    assert_eq!(keys(&db, "profile_grants"), by_profile, "profile_grants");
    let grant_expiry: BTreeSet<Vec<u8>> = keys(&db, "expiry")
        .into_iter()
        .filter(|k| k[8] == 4)
        .collect();
    assert_eq!(grant_expiry, expiry, "expiry entries of grants");
    // consents: key profile ‖ client
    let consents = keys(&db, "consents");
    let mirrored: BTreeSet<Vec<u8>> = consents
        .iter()
        .map(|k| cat(&[&k[16..], &k[..16]]))
        .collect();
    assert_eq!(keys(&db, "client_consents"), mirrored, "client_consents");
    for k in keys(&db, "oauth_gen") {
        // a device's own grants count under `device ‖ device` (it has no application)
        let device_itself = k.len() == 32 && k[..16] == k[16..];
        assert!(
            device_itself || clients.contains(&k[..16]),
            "a counter outlived its client"
        );
    }
    (clients.len(), grants, consents.len())
}

#[tokio::test]
async fn every_oauth_path_keeps_the_indexes_exact() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        let owner = stored_profile(&s, "owner").await.id;
        let alice = stored_profile(&s, "alice").await.id;
        let bob = stored_profile(&s, "bob").await.id;
        let dev = tessera_testkit::device(owner, "owner-phone");
        s.create_profile(&dev, None).await.unwrap();
        let (x, y) = (client(owner), client(owner));
        s.create_client(&x, None).await.unwrap();
        s.create_client(&y, None).await.unwrap();
        let mut x2 = x.clone();
        (x2.version, x2.pending_secret) = (2, None);
        s.update_client(&x2, 1, None).await.unwrap();
        for (p, c) in [(alice, x.id), (bob, x.id), (alice, y.id)] {
            s.put_consent(&consent(p, c)).await.unwrap();
        }
        // sign-ins: exchanged, rotated, reused
        let (ga, code) = sign_in(&s, x.id, alice, 90_000).await.unwrap();
        let (_, r1) = spend(&s, &code, 90_000).await;
        let (rot, _) = spend(&s, &r1, 90_000).await;
        assert_eq!(rot, Rotation::Rotated);
        let (gb, code_b) = sign_in(&s, x.id, bob, 90_000).await.unwrap();
        spend(&s, &code_b, 90_000).await;
        assert_eq!(spend(&s, &code_b, 90_000).await.0, Rotation::Reused);
        sign_in(&s, y.id, alice, 90_000).await.unwrap();
        sign_in(&s, y.id, bob, 90_000).await.unwrap();
        // the device as its own client (no application record)
        let (gd, _) = sign_in(&s, dev.id, dev.id, 90_000).await.unwrap();
        // grants that expire, purged with their expired codes
        let (old, _) = sign_in(&s, x.id, bob, 500).await.unwrap();
        let (old_d, _) = sign_in(&s, dev.id, dev.id, 500).await.unwrap();
        assert_eq!(s.purge_expired(Timestamp(500), 100).await.unwrap(), 4);
        assert_eq!(s.get_grant(old.id).await.unwrap(), None);
        assert_eq!(s.get_grant(old_d.id).await.unwrap(), None);
        // withdrawal of alice's consent to x: her grant and its tokens go
        assert!(s.revoke_consent(alice, x.id, None).await.unwrap());
        assert_eq!(s.get_grant(ga.id).await.unwrap(), None);
        assert!(s.get_grant(gb.id).await.unwrap().is_some());
        assert!(!s.revoke_consent(alice, x.id, None).await.unwrap());
        // y goes with everything of it
        assert!(s.remove_client(y.id, None).await.unwrap());
        assert!(!s.remove_client(y.id, None).await.unwrap());
        assert_eq!(s.list_consents(alice).await.unwrap(), vec![]);
        assert_eq!(s.list_clients(owner).await.unwrap(), vec![x2]);
        // no application removal reaches the device's grant
        assert!(!s.remove_client(dev.id, None).await.unwrap());
        assert_eq!(s.get_grant(gd.id).await.unwrap(), Some(gd));
    }
    assert_eq!(check_oauth_index(dir.path()), (1, 2, 1));
    check_family_index(dir.path());
    {
        let s = open(dir.path());
        let owner = s.get_profile_by_username("owner").await.unwrap().unwrap();
        let x = s.list_clients(owner.id).await.unwrap().remove(0);
        assert!(s.remove_client(x.id, None).await.unwrap());
    }
    assert_eq!(check_oauth_index(dir.path()), (0, 1, 0));
    assert_eq!(
        check_family_index(dir.path()),
        1,
        "the device's code is left"
    );
    let dev = {
        let s = open(dir.path());
        let dev = s
            .get_profile_by_username("owner-phone")
            .await
            .unwrap()
            .unwrap();
        // withdrawing the device's "consent" to itself ends its grants
        assert!(s.revoke_consent(dev.id, dev.id, None).await.unwrap());
        assert!(!s.revoke_consent(dev.id, dev.id, None).await.unwrap());
        dev.id
    };
    assert_eq!(check_oauth_index(dir.path()), (0, 0, 0));
    assert_eq!(check_family_index(dir.path()), 0, "no OAuth token is left");
    let db = raw(dir.path());
    let device_pair = [dev.as_bytes().as_slice(), dev.as_bytes()].concat();
    assert_eq!(
        keys(&db, "oauth_gen"),
        BTreeSet::from([device_pair]),
        "the applications' counters went too (the device's own is kept with it)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_an_application_racing_sign_ins_and_rotations_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(dir.path()));
    let owner = stored_profile(&s, "owner").await.id;
    let alice = stored_profile(&s, "alice").await.id;
    for round in 0..6 {
        let x = client(owner);
        s.create_client(&x, None).await.unwrap();
        s.put_consent(&consent(alice, x.id)).await.unwrap();
        let mut chains = Vec::new();
        for _ in 0..8 {
            let (_, code) = sign_in(&*s, x.id, alice, 90_000).await.unwrap();
            chains.push(spend(&*s, &code, 90_000).await.1);
        }
        let rotators: Vec<_> = chains
            .into_iter()
            .map(|mut r| {
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    for _ in 0..20 {
                        match spend(&*s, &r, 90_000).await {
                            (Rotation::Rotated, next) => r = next,
                            (other, _) => {
                                assert_eq!(other, Rotation::Unknown);
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        let signer = {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                let mut made = Vec::new();
                for _ in 0..20 {
                    match sign_in(&*s, x.id, alice, 90_000).await {
                        Ok((g, code)) => made.push((g, code)),
                        Err(StoreError::NotFound) => break,
                        Err(e) => panic!("{e}"),
                    }
                }
                made
            })
        };
        for _ in 0..round * 5 {
            tokio::task::yield_now().await;
        }
        assert!(s.remove_client(x.id, None).await.unwrap());
        for t in rotators {
            t.await.unwrap();
        }
        for (g, code) in signer.await.unwrap() {
            assert_eq!(s.get_grant(g.id).await.unwrap(), None, "round {round}");
            assert_eq!(s.get_token(&code.digest).await.unwrap(), None);
        }
        assert_eq!(s.list_consents(alice).await.unwrap(), vec![]);
        let left: Vec<TokenRecord> = s.list_profile_tokens(alice).await.unwrap();
        assert!(
            left.is_empty(),
            "round {round}: {left:?} outlived the removal"
        );
    }
    drop(s);
    assert_eq!(check_oauth_index(dir.path()), (0, 0, 0));
    assert_eq!(check_family_index(dir.path()), 0);
}
