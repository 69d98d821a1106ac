//! Damaged stores give `StoreError::Corrupt` (or a clear `Unavailable`), never a panic.

use crate::common;

use std::fs;

use common::{digest, family_token, open, open_err, raw, stored_profile, token};
use tessera_core::store::{ProfileStore, Revoke, ServerUserRecord, ServerUserStore, TokenStore};
use tessera_core::{StoreError, Timestamp, TokenKind};
use tessera_storage_sled::{FORMAT_VERSION, SledStore};
use uuid::Uuid;

fn corrupt_parts(e: StoreError) -> (String, String) {
    match e {
        StoreError::Corrupt { what, location } => (what, location),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn unknown_format_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    {
        let db = raw(dir.path());
        let meta = db.open_tree("meta").unwrap();
        let stored = meta
            .get("format_version")
            .unwrap()
            .expect("version stamped on create");
        assert_eq!(&stored[..], &FORMAT_VERSION.to_le_bytes());
        meta.insert("format_version", &(FORMAT_VERSION + 1).to_le_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let (what, location) = corrupt_parts(open_err(dir.path()));
    let unknown = format!("unknown format version {}", FORMAT_VERSION + 1);
    assert!(what.contains(&unknown), "{what}");
    assert!(location.contains("format_version"), "{location}");
    // Nor is a version older than the one this build upgrades.
    {
        let db = raw(dir.path());
        db.open_tree("meta")
            .unwrap()
            .insert("format_version", &0u32.to_le_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let (what, _) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("unknown format version 0"), "{what}");
}

#[test]
fn malformed_format_record_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    {
        let db = raw(dir.path());
        db.open_tree("meta")
            .unwrap()
            .insert("format_version", &[1u8, 0][..])
            .unwrap();
        db.flush().unwrap();
    }
    let (what, location) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("truncated"), "{what}");
    assert!(location.contains("meta"), "{location}");
}

#[test]
fn a_sled_directory_that_is_not_a_tessera_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = raw(dir.path());
        db.open_tree("profiles").unwrap().insert("x", "y").unwrap();
        db.flush().unwrap();
    }
    let (what, _) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("without a format-version record"), "{what}");
}

#[tokio::test]
async fn corrupted_records_are_reported_with_tree_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = {
        let s = open(dir.path());
        let p = stored_profile(&s, "alice").await;
        let t = token(p.id, 10, 5000);
        s.put_token(&t, 1).await.unwrap();
        (p, t)
    };
    {
        let db = raw(dir.path());
        let profiles = db.open_tree("profiles").unwrap();
        let mut v = profiles.get(p.id.as_bytes()).unwrap().unwrap().to_vec();
        v[1] = 99; // an unknown state
        profiles.insert(p.id.as_bytes(), v).unwrap();
        let tokens = db.open_tree("tokens").unwrap();
        tokens.insert(t.digest.0, &[1u8, 2, 3][..]).unwrap(); // truncated
        db.flush().unwrap();
    }
    let s = open(dir.path());
    let (what, location) = corrupt_parts(s.get_profile(p.id).await.unwrap_err());
    assert!(
        what.contains("profiles record: unknown profile state at byte 1"),
        "{what}"
    );
    assert!(
        location.contains("profiles") && location.contains(&hex(p.id.as_bytes())),
        "{location}"
    );
    corrupt_parts(s.get_profile_by_username("alice").await.unwrap_err());
    // inside a write transaction too: nothing is written
    let mut q = p.clone();
    q.version = 2;
    corrupt_parts(
        s.update_profile(&q, 1, Revoke::All, None)
            .await
            .unwrap_err(),
    );

    let (what, location) = corrupt_parts(s.get_token(&t.digest).await.unwrap_err());
    assert!(what.contains("tokens record: truncated"), "{what}");
    assert!(location.contains(&hex(&t.digest.0)), "{location}");
    corrupt_parts(s.resolve_token(&t.digest).await.unwrap_err());
    corrupt_parts(s.revoke_token(&t.digest, None).await.unwrap_err());
    // an untouched token of nobody still reads as absent
    assert_eq!(s.get_token(&digest()).await.unwrap(), None);
}

#[tokio::test]
async fn corrupted_family_and_external_records_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let family = Uuid::new_v4();
    let (r, a) = {
        let s = open(dir.path());
        let p = stored_profile(&s, "alice").await;
        let a = family_token(p.id, TokenKind::Authorization, family, 5000);
        s.put_token(&a, 1).await.unwrap();
        let mut q = common::profile("x-ext");
        q.password_hash = None;
        let u = ServerUserRecord {
            external_id: "idp|1".into(),
            profile_id: q.id,
            email: None,
            metadata: Some("{}".into()),
            created_at: Timestamp(1),
            updated_at: Timestamp(1),
        };
        s.create_server_user(&u, &q).await.unwrap();
        let r = family_token(p.id, TokenKind::Refresh, family, 9000);
        (r, a)
    };
    {
        let db = raw(dir.path());
        db.open_tree("family_size")
            .unwrap()
            .insert(family.as_bytes(), &[1u8, 0, 0][..])
            .unwrap();
        let ext = db.open_tree("external_users").unwrap();
        let mut v = ext.get("idp|1").unwrap().unwrap().to_vec();
        v.push(7);
        ext.insert("idp|1", v).unwrap();
        db.flush().unwrap();
    }
    let s = open(dir.path());
    let (what, location) = corrupt_parts(s.revoke_family(family).await.unwrap_err());
    assert!(what.contains("family_size record: truncated"), "{what}");
    assert!(location.contains(&hex(family.as_bytes())), "{location}");
    corrupt_parts(s.put_token(&r, 1).await.unwrap_err());
    assert!(
        s.get_token(&a.digest).await.unwrap().is_some(),
        "nothing was deleted"
    );
    assert_eq!(s.get_token(&r.digest).await.unwrap(), None, "nor stored");
    let (what, location) = corrupt_parts(s.get_server_user("idp|1").await.unwrap_err());
    assert!(
        what.contains("external_users record: trailing bytes"),
        "{what}"
    );
    assert!(location.contains(&hex(b"idp|1")), "{location}");
}

fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// A store with some data, closed, and the path of sled's data file.
async fn populated() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for i in 0..50 {
            let p = stored_profile(&s, &format!("user{i}")).await;
            s.put_token(&token(p.id, 10, 5000), 1).await.unwrap();
        }
    }
    let db = dir.path().join("sled").join("db");
    assert!(db.metadata().unwrap().len() > 0);
    (dir, db)
}

#[tokio::test]
async fn an_emptied_data_file_is_detected() {
    let (dir, db) = populated().await;
    fs::write(&db, b"").unwrap();
    let (what, _) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("format-version record is missing"), "{what}");
}

#[tokio::test]
async fn a_deleted_data_directory_is_detected() {
    let (dir, _) = populated().await;
    fs::remove_dir_all(dir.path().join("sled")).unwrap();
    let (what, _) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("format-version record is missing"), "{what}");
}

#[tokio::test]
async fn a_garbage_data_file_gives_an_error_not_a_panic() {
    let (dir, db) = populated().await;
    let len = db.metadata().unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(7919) >> 3) as u8)
        .collect();
    fs::write(&db, garbage).unwrap();
    match SledStore::open(dir.path()) {
        Err(StoreError::Corrupt { what, location }) => {
            assert!(!what.is_empty() && !location.is_empty());
        }
        Err(e) => panic!("expected Corrupt, got {e:?}"),
        Ok(s) => panic!("garbage opened as a store: {s:?}"),
    }
}

#[tokio::test]
async fn a_truncated_data_file_gives_an_error_or_a_consistent_prefix() {
    // sled recovers a log cut short by a crash by dropping its torn tail, so a truncation
    // that keeps the format record is indistinguishable from a crash: the store opens on
    // an earlier, consistent state. It must never panic or return garbage.
    for keep in [7, 2, 1] {
        let (dir, db) = populated().await;
        let len = db.metadata().unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&db)
            .unwrap()
            .set_len(len * keep / 8)
            .unwrap();
        match SledStore::open(dir.path()) {
            Err(StoreError::Corrupt { .. } | StoreError::Unavailable { .. }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(s) => {
                for i in 0..50 {
                    if let Some(p) = s
                        .get_profile_by_username(&format!("user{i}"))
                        .await
                        .unwrap()
                    {
                        assert_eq!(s.get_profile(p.id).await.unwrap(), Some(p));
                    }
                }
            }
        }
    }
}

#[test]
fn a_garbage_config_or_marker_gives_an_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    fs::write(
        dir.path().join("tessera-sled.format"),
        b"\xff\xfe not a marker",
    )
    .unwrap();
    let (what, location) = corrupt_parts(open_err(dir.path()));
    assert!(what.contains("marker"), "{what}");
    assert!(location.ends_with("tessera-sled.format"), "{location}");

    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    fs::write(
        dir.path().join("sled").join("conf"),
        b"segment_size: banana\n\x00\x00\x00\x00\x00",
    )
    .unwrap();
    match SledStore::open(dir.path()) {
        Err(StoreError::Corrupt { .. } | StoreError::Unavailable { .. }) => {}
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_file_in_place_of_the_directory_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, b"x").unwrap();
    match open_err(&file) {
        StoreError::Unavailable {
            retryable: false,
            message,
        } => {
            assert!(message.contains("not-a-dir"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
