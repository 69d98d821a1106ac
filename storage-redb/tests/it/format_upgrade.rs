//! Format version 2: a new file is stamped 2 with every table; a version-1 file (no
//! `tokens_by_family`, no `external_users`) is upgraded at open in one transaction, its
//! family index filled from the stored tokens; any other version is refused.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};
use tessera_core::StoreError;
use tessera_core::store::{ProfileStore, ServerUserRecord, ServerUserStore, TokenStore};
use tessera_core::token::TokenKind;
use tessera_core::{ProfileState, Timestamp};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{profile, token_record};
use uuid::Uuid;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tokens");
const BY_FAMILY: TableDefinition<&[u8; 48], ()> = TableDefinition::new("tokens_by_family");
const EXTERNAL: TableDefinition<&str, &[u8]> = TableDefinition::new("external_users");

fn db(dir: &Path) -> Database {
    Database::open(dir.join(FILE_NAME)).expect("redb open")
}

fn version(dir: &Path) -> u32 {
    let db = db(dir);
    let rx = db.begin_read().unwrap();
    let v = rx
        .open_table(META)
        .unwrap()
        .get("format_version")
        .unwrap()
        .unwrap()
        .value()
        .to_vec();
    u32::from_le_bytes(v.try_into().unwrap())
}

fn tables(dir: &Path) -> Vec<String> {
    let db = db(dir);
    let rx = db.begin_read().unwrap();
    rx.list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect()
}

/// Turn a closed store into what a version-1 build left: no new tables, stamped 1.
fn make_v1(dir: &Path) {
    let db = db(dir);
    let tx = db.begin_write().unwrap();
    assert!(tx.delete_table(BY_FAMILY).unwrap());
    assert!(tx.delete_table(EXTERNAL).unwrap());
    tx.open_table(META)
        .unwrap()
        .insert("format_version", 1u32.to_le_bytes().as_slice())
        .unwrap();
    tx.commit().unwrap();
}

#[test]
fn a_new_store_is_version_2_with_every_table() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    assert_eq!(version(dir.path()), 2);
    let names = tables(dir.path());
    assert!(names.iter().any(|n| n == "tokens_by_family"), "{names:?}");
    assert!(names.iter().any(|n| n == "external_users"), "{names:?}");
    // reopening changes nothing
    drop(RedbStore::open(dir.path()).unwrap());
    assert_eq!(version(dir.path()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_store_is_upgraded_with_its_family_index() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile("alice");
    let family = Uuid::new_v4();
    let mut access = token_record(p.id, 5000);
    access.family = Some(family);
    let mut refresh = token_record(p.id, 90_000);
    refresh.kind = TokenKind::Refresh;
    refresh.family = Some(family);
    let plain = token_record(p.id, 5000);
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_profile(&p, None).await.unwrap();
        for t in [&access, &refresh, &plain] {
            s.put_token(t, 1).await.unwrap();
        }
    }
    make_v1(dir.path());
    assert_eq!(version(dir.path()), 1);
    assert!(!tables(dir.path()).iter().any(|n| n == "tokens_by_family"));

    let s = RedbStore::open(dir.path()).unwrap();
    // the data is all there, and the family index found the two family tokens
    assert_eq!(s.get_profile(p.id).await.unwrap().as_ref(), Some(&p));
    assert!(s.resolve_token(&plain.digest).await.unwrap().is_some());
    assert_eq!(s.get_server_user("idp-1").await.unwrap(), None);
    let mut r2 = token_record(p.id, 90_000);
    r2.kind = TokenKind::Refresh;
    r2.family = Some(family);
    let mut a2 = token_record(p.id, 6000);
    a2.family = Some(family);
    s.rotate_refresh(&refresh.digest, &r2, &a2, Timestamp(10))
        .await
        .unwrap();
    assert_eq!(s.revoke_family(family).await.unwrap(), 4);
    assert!(s.get_token(&plain.digest).await.unwrap().is_some());
    // and the new table takes server-registered users
    let mut q = profile("x-one");
    q.state = ProfileState::Active;
    let u = ServerUserRecord {
        external_id: "idp-1".into(),
        profile_id: q.id,
        email: None,
        metadata: None,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    s.create_server_user(&u, &q).await.unwrap();
    drop(s);
    assert_eq!(version(dir.path()), 2);
    let s = RedbStore::open(dir.path()).unwrap();
    assert_eq!(s.get_server_user("idp-1").await.unwrap(), Some(u));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_store_with_a_bad_token_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile("alice");
    let t = token_record(p.id, 5000);
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_profile(&p, None).await.unwrap();
        s.put_token(&t, 1).await.unwrap();
    }
    make_v1(dir.path());
    {
        let db = db(dir.path());
        let tx = db.begin_write().unwrap();
        tx.open_table(TOKENS)
            .unwrap()
            .insert(&t.digest.0, [0u8; 10].as_slice())
            .unwrap();
        tx.commit().unwrap();
    }
    match RedbStore::open(dir.path()) {
        Err(StoreError::Corrupt { what, location }) => {
            assert!(what.contains("tokens record"), "{what}");
            assert!(location.contains("table `tokens`"), "{location}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(version(dir.path()), 1, "the failed upgrade wrote nothing");
    assert!(!tables(dir.path()).iter().any(|n| n == "tokens_by_family"));
}

#[test]
fn other_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    for v in [0u32, 3, u32::MAX] {
        {
            let db = db(dir.path());
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert("format_version", v.to_le_bytes().as_slice())
                .unwrap();
            tx.commit().unwrap();
        }
        match RedbStore::open(dir.path()) {
            Err(StoreError::Corrupt { what, location }) => {
                assert!(
                    what.contains(&format!("unknown format version {v}")),
                    "{what}"
                );
                assert!(location.contains("format_version"), "{location}");
            }
            other => panic!("version {v}: expected Corrupt, got {other:?}"),
        }
        assert_eq!(version(dir.path()), v, "a refused store is not touched");
    }
}
