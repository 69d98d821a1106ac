//! A damaged or foreign file is refused with `StoreError::Corrupt { what, location }`,
//! never a panic.

use std::path::Path;

use redb::{Database, TableDefinition};
use tessera_core::store::{ProfileStore, ServerUserRecord, ServerUserStore, TokenStore};
use tessera_core::{StoreError, Timestamp};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{profile, token_record};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const PROFILES: TableDefinition<&[u8; 16], &[u8]> = TableDefinition::new("profiles");
const TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tokens");
const EXTERNAL_USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("external_users");

/// Open `dir` with redb itself and run `f` in a committed write transaction.
fn tamper(dir: &Path, f: impl FnOnce(&redb::WriteTransaction)) {
    let db = Database::open(dir.join(FILE_NAME)).expect("redb open");
    let tx = db.begin_write().expect("begin");
    f(&tx);
    tx.commit().expect("commit");
}

fn expect_corrupt<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str, location: &str) {
    match r {
        Err(StoreError::Corrupt {
            what: w,
            location: l,
        }) => {
            assert!(w.contains(what), "what = {w:?}, wanted {what:?}");
            assert!(
                l.contains(location),
                "location = {l:?}, wanted {location:?}"
            );
        }
        other => panic!("expected Corrupt({what}), got {other:?}"),
    }
}

#[test]
fn unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    tamper(dir.path(), |tx| {
        let mut meta = tx.open_table(META).unwrap();
        meta.insert("format_version", 99u32.to_le_bytes().as_slice())
            .unwrap();
    });
    expect_corrupt(
        RedbStore::open(dir.path()),
        "unknown format version 99",
        "format_version",
    );
    tamper(dir.path(), |tx| {
        let mut meta = tx.open_table(META).unwrap();
        meta.insert("format_version", [1u8, 0].as_slice()).unwrap();
    });
    expect_corrupt(
        RedbStore::open(dir.path()),
        "truncated",
        "table `meta`, key",
    );
    tamper(dir.path(), |tx| {
        tx.open_table(META)
            .unwrap()
            .remove("format_version")
            .unwrap();
    });
    expect_corrupt(RedbStore::open(dir.path()), "missing", "format_version");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(FILE_NAME), vec![0x5a; 64 * 1024]).unwrap();
    expect_corrupt(RedbStore::open(dir.path()), "", FILE_NAME);
}

/// A store with some data, closed; returns the file's bytes.
fn populated(dir: &Path) -> Vec<u8> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = RedbStore::open(dir).unwrap();
        for i in 0..200 {
            let p = profile(&format!("user{i}"));
            s.create_profile(&p, None).await.unwrap();
            s.put_token(&token_record(p.id, 5000), p.version)
                .await
                .unwrap();
        }
    });
    std::fs::read(dir.join(FILE_NAME)).unwrap()
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = populated(dir.path());
    assert!(bytes.len() > 8192, "file of {} bytes", bytes.len());
    for keep in [1, 16, 511, 4096, bytes.len() / 2, bytes.len() - 4096] {
        std::fs::write(dir.path().join(FILE_NAME), &bytes[..keep]).unwrap();
        match RedbStore::open(dir.path()) {
            Err(StoreError::Corrupt { what, location }) => {
                assert!(location.contains(FILE_NAME), "{keep}: {location}");
                assert!(!what.is_empty());
                eprintln!("truncated to {keep}: {what} at {location}");
            }
            other => panic!("truncated to {keep} bytes: expected Corrupt, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_does_not_decode_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = {
        let s = RedbStore::open(dir.path()).unwrap();
        let p = profile("mallory");
        s.create_profile(&p, None).await.unwrap();
        let t = token_record(p.id, 5000);
        s.put_token(&t, p.version).await.unwrap();
        (p, t)
    };
    tamper(dir.path(), |tx| {
        let mut profiles = tx.open_table(PROFILES).unwrap();
        profiles
            .insert(p.id.as_bytes(), [7u8, 1, 0].as_slice())
            .unwrap();
    });
    let s = RedbStore::open(dir.path()).unwrap();
    let hex = p.id.simple().to_string(); // the key's bytes in lowercase hex
    expect_corrupt(
        s.get_profile(p.id).await,
        "unknown profile kind",
        &format!("table `profiles`, key {hex}, byte 0"),
    );
    expect_corrupt(
        s.get_profile_by_username("mallory").await,
        "profiles record",
        "profiles",
    );
    expect_corrupt(s.resolve_token(&t.digest).await, "profile kind", "profiles");
    drop(s);

    tamper(dir.path(), |tx| {
        let mut tokens = tx.open_table(TOKENS).unwrap();
        let mut bad = [0u8; 49];
        bad[16] = 1;
        tokens.insert(&t.digest.0, bad.as_slice()).unwrap();
    });
    let s = RedbStore::open(dir.path()).unwrap();
    expect_corrupt(s.get_token(&t.digest).await, "truncated", "table `tokens`");
    expect_corrupt(s.resolve_token(&t.digest).await, "tokens record", "byte 34");

    let q = profile("x-one");
    let u = ServerUserRecord {
        external_id: "idp-1".into(),
        profile_id: q.id,
        email: Some("a@example.com".into()),
        metadata: None,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    s.create_server_user(&u, &q).await.unwrap();
    drop(s);
    tamper(dir.path(), |tx| {
        let mut users = tx.open_table(EXTERNAL_USERS).unwrap();
        let mut bad = [0u8; 33];
        bad[32] = 0x80;
        users.insert("idp-1", bad.as_slice()).unwrap();
    });
    let s = RedbStore::open(dir.path()).unwrap();
    expect_corrupt(
        s.get_server_user("idp-1").await,
        "unknown external user flags",
        "table `external_users`, key 6964702d31, byte 32",
    );
    expect_corrupt(
        s.update_server_user(&u, &q, 1, tessera_core::store::Revoke::Nothing)
            .await,
        "external_users record",
        "external_users",
    );
}
