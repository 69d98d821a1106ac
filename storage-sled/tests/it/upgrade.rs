//! A format-1 or format-2 store is upgraded to format 3 on open: the family index is built
//! from a format-1 store's tokens, the version record and the marker are rewritten, and an
//! interrupted upgrade completes on the next open.

use crate::common;

use std::fs;
use std::path::Path;

use common::{check_family_index, family_token, open, open_err, raw, stored_profile, token};
use tessera_core::StoreError;
use tessera_core::TokenKind;
use tessera_core::store::{ProfileStore, TokenStore};
use tessera_storage_sled::FORMAT_VERSION;
use uuid::Uuid;

const MARKER: &str = "tessera-sled.format";

fn marker(dir: &Path) -> String {
    fs::read_to_string(dir.join(MARKER)).unwrap()
}

fn stored_version(dir: &Path) -> u32 {
    let db = raw(dir);
    let v = db.open_tree("meta").unwrap().get("format_version").unwrap();
    u32::from_le_bytes(v.unwrap()[..].try_into().unwrap())
}

/// Make the closed store in `dir` look like format 2: version 2, marker 2.
fn downgrade_to_v2(dir: &Path) {
    let db = raw(dir);
    db.open_tree("meta")
        .unwrap()
        .insert("format_version", &2u32.to_le_bytes())
        .unwrap();
    db.flush().unwrap();
    fs::write(dir.join(MARKER), "tessera-storage-sled format 2\n").unwrap();
}

/// Make the closed store in `dir` look like format 1: no family index, version 1,
/// marker 1 (`marker` false: no marker at all).
fn downgrade_to_v1(dir: &Path, marker: bool) {
    let db = raw(dir);
    db.open_tree("family_tokens").unwrap().clear().unwrap();
    db.open_tree("family_size").unwrap().clear().unwrap();
    db.open_tree("meta")
        .unwrap()
        .insert("format_version", &1u32.to_le_bytes())
        .unwrap();
    db.flush().unwrap();
    if marker {
        fs::write(dir.join(MARKER), "tessera-storage-sled format 1\n").unwrap();
    } else {
        fs::remove_file(dir.join(MARKER)).unwrap();
    }
}

#[tokio::test]
async fn a_format_1_store_is_upgraded_on_open() {
    assert_eq!(FORMAT_VERSION, 3);
    for with_marker in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let family = Uuid::new_v4();
        let (p, plain, members) = {
            let s = open(dir.path());
            let p = stored_profile(&s, "alice").await;
            let plain = token(p.id, 0, 5000);
            let members = [
                family_token(p.id, TokenKind::Authorization, family, 5000),
                family_token(p.id, TokenKind::Refresh, family, 9000),
            ];
            s.put_token(&plain, 1).await.unwrap();
            for m in &members {
                s.put_token(m, 1).await.unwrap();
            }
            (p, plain, members)
        };
        downgrade_to_v1(dir.path(), with_marker);
        let db = raw(dir.path());
        assert!(db.open_tree("family_tokens").unwrap().is_empty());
        drop(db);
        {
            let s = open(dir.path());
            assert_eq!(s.get_profile(p.id).await.unwrap(), Some(p.clone()));
            assert!(s.resolve_token(&plain.digest).await.unwrap().is_some());
        }
        assert_eq!(stored_version(dir.path()), FORMAT_VERSION);
        assert_eq!(marker(dir.path()), "tessera-storage-sled format 3\n");
        assert_eq!(check_family_index(dir.path()), 2);
        let s = open(dir.path());
        assert_eq!(s.revoke_family(family).await.unwrap(), 2);
        for m in &members {
            assert_eq!(s.get_token(&m.digest).await.unwrap(), None);
        }
        assert!(s.get_token(&plain.digest).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn a_format_2_store_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let family = Uuid::new_v4();
    let (p, member) = {
        let s = open(dir.path());
        let p = stored_profile(&s, "alice").await;
        let member = family_token(p.id, TokenKind::Refresh, family, 9000);
        s.put_token(&member, 1).await.unwrap();
        (p, member)
    };
    downgrade_to_v2(dir.path());
    {
        let s = open(dir.path());
        assert_eq!(s.get_profile(p.id).await.unwrap(), Some(p));
        assert_eq!(s.get_token(&member.digest).await.unwrap(), Some(member));
    }
    assert_eq!(stored_version(dir.path()), FORMAT_VERSION);
    assert_eq!(marker(dir.path()), "tessera-storage-sled format 3\n");
    assert_eq!(check_family_index(dir.path()), 1);
    let s = open(dir.path());
    assert_eq!(s.revoke_family(family).await.unwrap(), 1);
}

#[tokio::test]
async fn an_upgrade_interrupted_before_the_marker_completes() {
    for older in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));
        // The version record says 3, the marker still names the version the upgrade
        // started from: the last step did not happen.
        fs::write(
            dir.path().join(MARKER),
            format!("tessera-storage-sled format {older}\n"),
        )
        .unwrap();
        drop(open(dir.path()));
        assert_eq!(marker(dir.path()), "tessera-storage-sled format 3\n");
    }
    // An older build's upgrade 1 → 2 interrupted before its marker: upgraded on to 3.
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    downgrade_to_v2(dir.path());
    fs::write(dir.path().join(MARKER), "tessera-storage-sled format 1\n").unwrap();
    drop(open(dir.path()));
    assert_eq!(stored_version(dir.path()), FORMAT_VERSION);
    assert_eq!(marker(dir.path()), "tessera-storage-sled format 3\n");
}

#[test]
fn a_marker_newer_than_the_store_is_refused() {
    for (marker_says, store_says) in [(2, 1), (3, 1), (3, 2)] {
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()));
        if store_says == 1 {
            downgrade_to_v1(dir.path(), true);
        } else {
            downgrade_to_v2(dir.path());
        }
        fs::write(
            dir.path().join(MARKER),
            format!("tessera-storage-sled format {marker_says}\n"),
        )
        .unwrap();
        match open_err(dir.path()) {
            StoreError::Corrupt { what, .. } => {
                let want =
                    format!("marker says format {marker_says} but the store says {store_says}");
                assert!(what.contains(&want), "{what}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
