//! The token indexes (`tokens_by_profile`, `tokens_by_family`, `expiry`) hold exactly what
//! the `tokens` records say, after every path that stores, changes or deletes a token, and
//! the OAuth indexes (`oauth_clients_by_owner`, `oauth_grants_by_client`,
//! `oauth_grants_by_profile`, `oauth_consents_by_client`, the grants' `expiry` entries)
//! what the application, grant and consent records say: checked on the file itself,
//! between steps, with redb directly.

#![allow(clippy::too_many_lines)] // one scenario, read top to bottom

use std::collections::BTreeSet;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tessera_core::store::{
    ConsentRecord, IdTokenAlg, MaintenanceStore, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ProfileRecord, ProfileStore, Revoke, Rotation, TokenRecord, TokenStore,
};
use tessera_core::token::TokenKind;
use tessera_core::{ProfileKind, Timestamp};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{device, profile, token_record};
use uuid::Uuid;

const TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tokens");
const BY_PROFILE: TableDefinition<&[u8; 48], ()> = TableDefinition::new("tokens_by_profile");
const BY_FAMILY: TableDefinition<&[u8; 48], ()> = TableDefinition::new("tokens_by_family");
const EXPIRY: TableDefinition<&[u8; 41], ()> = TableDefinition::new("expiry");

fn keys<const N: usize>(db: &Database, table: TableDefinition<&[u8; N], ()>) -> BTreeSet<Vec<u8>> {
    let rx = db.begin_read().unwrap();
    let t = rx.open_table(table).unwrap();
    t.iter()
        .unwrap()
        .map(|e| e.unwrap().0.value().to_vec())
        .collect()
}

/// Every index entry derived from the token records (codec.rs layout: profile 0..16,
/// expires_at 25..33, family flag 33, family 34..50), and how many tokens have a family.
fn check(dir: &Path) -> usize {
    let db = Database::open(dir.join(FILE_NAME)).unwrap();
    let (mut by_profile, mut by_family, mut expiry) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    {
        let rx = db.begin_read().unwrap();
        for e in rx.open_table(TOKENS).unwrap().iter().unwrap() {
            let (k, v) = e.unwrap();
            let (d, v) = (k.value(), v.value());
            by_profile.insert([&v[..16], d].concat());
            if v[33] == 1 {
                by_family.insert([&v[34..50], d].concat());
            }
            let exp = i64::from_le_bytes(v[25..33].try_into().unwrap());
            let time = ((exp as u64) ^ (1 << 63)).to_be_bytes();
            expiry.insert([&time[..], &[1], d].concat());
        }
    }
    let token_expiry: BTreeSet<Vec<u8>> = keys(&db, EXPIRY)
        .into_iter()
        .filter(|k| k[8] == 1)
        .collect();
    assert_eq!(keys(&db, BY_PROFILE), by_profile, "tokens_by_profile");
    assert_eq!(keys(&db, BY_FAMILY), by_family, "tokens_by_family");
    assert_eq!(token_expiry, expiry, "expiry (tokens)");
    by_family.len()
}

fn fam(p: Uuid, kind: TokenKind, family: Uuid, exp: i64) -> TokenRecord {
    let mut t = token_record(p, exp);
    t.kind = kind;
    t.family = Some(family);
    t
}

/// Run `step` on a freshly opened store, close it, check the indexes; family entries left.
async fn step<F, Fut>(dir: &Path, what: &str, f: F) -> usize
where
    F: FnOnce(RedbStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f(RedbStore::open(dir).unwrap()).await;
    let n = check(dir);
    eprintln!("{what}: {n} family entries");
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_token_path_keeps_the_indexes_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let alice = profile("alice");
    let bob = profile("bob");
    let mut phone: ProfileRecord = profile("alice-phone");
    phone.kind = ProfileKind::Device;
    phone.owner = Some(alice.id);
    let (f1, f2, f3, fb, fd) = (
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
        Uuid::new_v4(),
    );
    let (a, b, ph) = (alice.id, bob.id, phone.id);
    let r1 = fam(a, TokenKind::Refresh, f1, 90_000);
    let f2_access = fam(a, TokenKind::Authorization, f2, 5000);
    let f2_refresh = fam(a, TokenKind::Refresh, f2, 90_000);
    let session = fam(a, TokenKind::Session, f3, 5000);
    let old_code = fam(a, TokenKind::ResetCode, f3, 5000);
    let expired = fam(a, TokenKind::RefreshUsed, f3, 100);
    let keep = token_record(a, 5000);
    let setup = [
        (alice.clone(), vec![]),
        (bob.clone(), vec![fam(b, TokenKind::Refresh, fb, 90_000)]),
        (
            phone.clone(),
            vec![fam(ph, TokenKind::Authorization, fd, 5000)],
        ),
    ];
    let toks = vec![
        fam(a, TokenKind::Authorization, f1, 5000),
        r1.clone(),
        f2_access.clone(),
        f2_refresh.clone(),
        session.clone(),
        old_code.clone(),
        expired.clone(),
        keep.clone(),
    ];
    assert_eq!(
        step(d, "setup", |s| async move {
            for (p, ts) in setup {
                s.create_profile(&p, None).await.unwrap();
                for t in ts {
                    s.put_token(&t, 1).await.unwrap();
                }
            }
            let batch: Vec<_> = toks.into_iter().map(|t| (t, 1)).collect();
            s.put_tokens(&batch).await.unwrap();
        })
        .await,
        9
    );
    let (r2, a2) = (
        fam(a, TokenKind::Refresh, f1, 90_000),
        fam(a, TokenKind::Authorization, f1, 6000),
    );
    let (r1d, r2c, a2c) = (r1.digest, r2.clone(), a2.clone());
    assert_eq!(
        step(d, "rotate", |s| async move {
            let got = s.rotate_refresh(&r1d, &r2c, &a2c, Timestamp(10)).await;
            assert_eq!(got.unwrap(), Rotation::Rotated);
        })
        .await,
        11
    );
    let dg = f2_access.digest;
    assert_eq!(
        step(d, "revoke one", |s| async move {
            assert!(s.revoke_token(&dg, None).await.unwrap());
        })
        .await,
        10
    );
    let sd = session.digest;
    assert_eq!(
        step(d, "take", |s| async move {
            let t = s.take_token(&sd, TokenKind::Session, Timestamp(10)).await;
            assert!(t.unwrap().is_some());
        })
        .await,
        9
    );
    let new_code = fam(a, TokenKind::ResetCode, f3, 6000);
    assert_eq!(
        step(d, "replace", |s| async move {
            assert_eq!(s.replace_tokens(&new_code).await.unwrap(), 1);
        })
        .await,
        9
    );
    let rd = f2_refresh.digest;
    assert_eq!(
        step(d, "set expiry", |s| async move {
            s.set_token_expiry(&rd, Timestamp(200), Timestamp(10), None)
                .await
                .unwrap();
        })
        .await,
        9
    );
    assert_eq!(
        step(d, "purge", |s| async move {
            // the used refresh token (100) and the moved one (200)
            assert_eq!(s.purge_expired(Timestamp(200), 10).await.unwrap(), 2);
        })
        .await,
        7
    );
    let (r3, a3) = (
        fam(a, TokenKind::Refresh, f1, 90_000),
        fam(a, TokenKind::Authorization, f1, 7000),
    );
    assert_eq!(
        step(d, "reuse", |s| async move {
            let got = s.rotate_refresh(&r1d, &r3, &a3, Timestamp(20)).await;
            assert_eq!(got.unwrap(), Rotation::Reused);
        })
        .await,
        3,
        "family 1 (its first access, the used, the new refresh and access) is gone"
    );
    let mut removed = phone.clone();
    removed.version = 2;
    assert_eq!(
        step(d, "device removal", |s| async move {
            s.update_profile(&removed, 1, Revoke::All, None)
                .await
                .unwrap();
        })
        .await,
        2
    );
    let mut changed = alice.clone();
    changed.version = 2;
    let kd = keep.digest;
    assert_eq!(
        step(d, "password change", |s| async move {
            s.update_profile(&changed, 1, Revoke::AllExcept(kd), None)
                .await
                .unwrap();
            assert!(s.get_token(&kd).await.unwrap().is_some());
        })
        .await,
        1
    );
    assert_eq!(
        step(d, "revoke profile", |s| async move {
            assert_eq!(s.revoke_profile_tokens(b, None).await.unwrap(), 1);
        })
        .await,
        0
    );
    assert_eq!(
        step(d, "revoke family", |s| async move {
            let f = fam(a, TokenKind::Authorization, f2, 9000);
            s.put_token(&f, 2).await.unwrap();
            assert_eq!(s.revoke_family(f2).await.unwrap(), 1);
        })
        .await,
        0
    );
}

const CLIENTS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("oauth_clients");
const CLIENTS_BY_OWNER: TableDefinition<&[u8; 40], ()> =
    TableDefinition::new("oauth_clients_by_owner");
const GRANTS: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("oauth_grants");
const GRANTS_BY_CLIENT: TableDefinition<&[u8; 32], ()> =
    TableDefinition::new("oauth_grants_by_client");
const GRANTS_BY_PROFILE: TableDefinition<&[u8; 48], ()> =
    TableDefinition::new("oauth_grants_by_profile");
const CONSENTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("oauth_consents");
const CONSENTS_BY_CLIENT: TableDefinition<&[u8; 32], ()> =
    TableDefinition::new("oauth_consents_by_client");

/// A timestamp's key bytes (tables.rs `time_key`).
fn time(le: &[u8]) -> [u8; 8] {
    let t = i64::from_le_bytes(le.try_into().unwrap());
    ((t as u64) ^ (1 << 63)).to_be_bytes()
}

/// Every OAuth index entry derived from the records (codec.rs layouts: client owner 0..16,
/// created_at 18..26; grant client 0..16, profile 16..32, expires_at 48..56); the token
/// indexes too. How many grants there are.
fn check_oauth(dir: &Path) -> usize {
    check(dir);
    let db = Database::open(dir.join(FILE_NAME)).unwrap();
    let (mut by_owner, mut by_client, mut by_profile, mut expiry, mut consents_by_client) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    {
        let rx = db.begin_read().unwrap();
        for e in rx.open_table(CLIENTS).unwrap().iter().unwrap() {
            let (k, v) = e.unwrap();
            let (id, v) = (k.value(), v.value());
            by_owner.insert([&v[..16], &time(&v[18..26]), id].concat());
        }
        for e in rx.open_table(GRANTS).unwrap().iter().unwrap() {
            let (k, v) = e.unwrap();
            let (id, v) = (k.value(), v.value());
            by_client.insert([&v[..16], id].concat());
            by_profile.insert([&v[16..32], &v[..16], id].concat());
            expiry.insert([&time(&v[48..56])[..], &[4], id, &[0; 16]].concat());
        }
        for e in rx.open_table(CONSENTS).unwrap().iter().unwrap() {
            let (k, _) = e.unwrap();
            let k = k.value();
            consents_by_client.insert([&k[16..], &k[..16]].concat());
        }
    }
    let grant_expiry: BTreeSet<Vec<u8>> = keys(&db, EXPIRY)
        .into_iter()
        .filter(|k| k[8] == 4)
        .collect();
    assert_eq!(
        keys(&db, CLIENTS_BY_OWNER),
        by_owner,
        "oauth_clients_by_owner"
    );
    assert_eq!(
        keys(&db, GRANTS_BY_CLIENT),
        by_client,
        "oauth_grants_by_client"
    );
    assert_eq!(
        keys(&db, GRANTS_BY_PROFILE),
        by_profile,
        "oauth_grants_by_profile"
    );
    assert_eq!(grant_expiry, expiry, "expiry (grants)");
    assert_eq!(
        keys(&db, CONSENTS_BY_CLIENT),
        consents_by_client,
        "oauth_consents_by_client"
    );
    by_client.len()
}

/// Run `f` on a freshly opened store, close it, check every index; how many grants.
async fn oauth_step<F, Fut>(dir: &Path, what: &str, f: F) -> usize
where
    F: FnOnce(RedbStore) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f(RedbStore::open(dir).unwrap()).await;
    let n = check_oauth(dir);
    eprintln!("{what}: {n} grants");
    n
}

fn app(owner: Uuid, created_at: i64) -> OAuthClientRecord {
    OAuthClientRecord {
        id: Uuid::new_v4(),
        owner,
        name: "App".into(),
        confidential: true,
        redirect_uris: vec!["https://app.example/cb".into()],
        scopes: vec!["openid".into()],
        id_token_alg: IdTokenAlg::Rs256,
        secret: None,
        pending_secret: None,
        first_party: false,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(created_at),
        version: 1,
    }
}

fn grant(client: Uuid, profile: Uuid, expires_at: i64) -> OAuthGrantRecord {
    OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: client,
        profile_id: profile,
        scopes: vec!["openid".into()],
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        auth_time: Timestamp(1),
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    }
}

fn consent(profile: Uuid, client: Uuid) -> ConsentRecord {
    ConsentRecord {
        profile_id: profile,
        client_id: client,
        scopes: vec!["openid".into()],
        granted_at: Timestamp(1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_oauth_path_keeps_the_oauth_indexes_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (alice, bob) = (profile("alice"), profile("bob"));
    let (a, b) = (alice.id, bob.id);
    let (x, y) = (app(a, 10), app(a, 20));
    let (xi, yi) = (x.id, y.id);
    let grants = [
        grant(xi, a, 90_000),
        grant(xi, a, 100),
        grant(xi, b, 90_000),
        grant(yi, a, 90_000),
        grant(yi, b, 200),
    ];
    let codes: Vec<TokenRecord> = grants
        .iter()
        .map(|g| fam(g.profile_id, TokenKind::OAuthCode, g.id, 60))
        .collect();
    let (g0, c0) = (grants[0].clone(), codes[0].clone());
    let setup = (alice.clone(), bob.clone(), x.clone(), y.clone());
    let (gs, cs) = (grants.to_vec(), codes.clone());
    assert_eq!(
        oauth_step(d, "setup", |s| async move {
            let (alice, bob, x, y) = setup;
            s.create_profile(&alice, None).await.unwrap();
            s.create_profile(&bob, None).await.unwrap();
            s.create_client(&x, None).await.unwrap();
            s.create_client(&y, None).await.unwrap();
            for (g, c) in gs.iter().zip(&cs) {
                s.put_grant(g, c, 1).await.unwrap();
            }
            for (p, c) in [(a, xi), (b, xi), (a, yi), (b, yi)] {
                s.put_consent(&consent(p, c)).await.unwrap();
            }
        })
        .await,
        5
    );
    let mut moved = y.clone();
    moved.created_at = Timestamp(5);
    moved.version = 2;
    let (dup, dup_code) = (g0.clone(), fam(a, TokenKind::OAuthCode, g0.id, 60));
    assert_eq!(
        oauth_step(d, "update, refused puts, exchange", |s| async move {
            s.update_client(&moved, 1, None).await.unwrap();
            assert!(s.put_grant(&dup, &dup_code, 1).await.is_err());
            s.put_consent(&consent(a, xi)).await.unwrap();
            let access = fam(a, TokenKind::OAuthAccess, g0.id, 5000);
            let refresh = fam(a, TokenKind::OAuthRefresh, g0.id, 90_000);
            let got = s
                .spend_token(&c0.digest, &[access, refresh], Timestamp(10))
                .await;
            assert_eq!(got.unwrap(), Rotation::Rotated);
        })
        .await,
        5
    );
    assert_eq!(
        oauth_step(d, "withdraw a consent", |s| async move {
            assert!(s.revoke_consent(a, xi, None).await.unwrap());
        })
        .await,
        3
    );
    assert_eq!(
        oauth_step(d, "purge", |s| async move {
            // the codes (60) and the grant expiring at 200
            assert_eq!(s.purge_expired(Timestamp(200), 100).await.unwrap(), 4);
        })
        .await,
        2
    );
    assert_eq!(
        oauth_step(d, "remove an application", |s| async move {
            assert!(s.remove_client(yi, None).await.unwrap());
        })
        .await,
        1
    );
    assert_eq!(
        oauth_step(d, "remove the other", |s| async move {
            assert!(s.remove_client(xi, None).await.unwrap());
            assert!(s.list_consents(b).await.unwrap().is_empty());
        })
        .await,
        0
    );
    // a device acting as its own client (no application record): indexed as any grant
    let dev = device(a, "alice-phone");
    let di = dev.id;
    let (gd, gd_old) = (grant(di, di, 90_000), grant(di, di, 300));
    assert_eq!(
        oauth_step(d, "a device's own grants", |s| async move {
            s.create_profile(&dev, None).await.unwrap();
            for g in [&gd, &gd_old] {
                let code = fam(di, TokenKind::OAuthCode, g.id, 60);
                s.put_grant(g, &code, 1).await.unwrap();
            }
            assert!(!s.remove_client(di, None).await.unwrap());
        })
        .await,
        2
    );
    assert_eq!(
        oauth_step(d, "purge a device's grant", |s| async move {
            // the two codes (60) and the grant expiring at 300
            assert_eq!(s.purge_expired(Timestamp(300), 100).await.unwrap(), 3);
        })
        .await,
        1
    );
    assert_eq!(
        oauth_step(
            d,
            "a device withdraws its consent to itself",
            |s| async move {
                assert!(s.revoke_consent(di, di, None).await.unwrap());
            }
        )
        .await,
        0
    );
}
