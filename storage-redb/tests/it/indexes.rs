//! The token indexes (`tokens_by_profile`, `tokens_by_family`, `expiry`) hold exactly what
//! the `tokens` records say, after every path that stores, changes or deletes a token:
//! checked on the file itself, between steps, with redb directly.

#![allow(clippy::too_many_lines)] // one scenario, read top to bottom

use std::collections::BTreeSet;
use std::path::Path;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tessera_core::store::{
    MaintenanceStore, ProfileRecord, ProfileStore, Revoke, Rotation, TokenRecord, TokenStore,
};
use tessera_core::token::TokenKind;
use tessera_core::{ProfileKind, Timestamp};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{profile, token_record};
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
