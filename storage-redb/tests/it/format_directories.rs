//! The directory tables of format version 3: created with a new file, by the upgrade of a
//! version-2 file, and at open in a version-3 file an unreleased build wrote without them;
//! they work afterwards, and an invitation's `expiry` entry (kind 5) is purged.

use redb::TableDefinition;
use tessera_core::Timestamp;
use tessera_core::store::{
    DirectoryRole, DirectoryStore, MaintenanceStore, MembershipLimits, ProfileStore,
};
use tessera_storage_redb::RedbStore;
use tessera_testkit::profile;
use uuid::Uuid;

use super::format_upgrade::{DIRECTORY_TABLES, db, make_v2, tables, version};

fn has_directory_tables(dir: &std::path::Path) -> bool {
    let names = tables(dir);
    DIRECTORY_TABLES
        .iter()
        .all(|t| names.iter().any(|n| n == t))
}

/// A directory, an invitation accepted, one expiring and purged: the tables work.
async fn directories_work(s: &RedbStore, owner: Uuid, member: Uuid) {
    let d = tessera_core::store::DirectoryRecord {
        id: Uuid::new_v4(),
        name: "Acme".into(),
        short_name: "acme".into(),
        owner,
        meta: None,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        version: 1,
        last_member_seq: 0,
    };
    let m = |profile, role| tessera_core::store::MembershipRecord {
        directory_id: d.id,
        profile_id: profile,
        role,
        given_name: None,
        family_name: None,
        meta: None,
        created_by_directory: false,
        joined_at: Timestamp(1),
        seq: 0,
        version: 1,
    };
    let limits = MembershipLimits {
        owned_per_profile: 5,
        memberships_per_profile: 5,
    };
    s.create_directory(&d, &m(owner, DirectoryRole::Owner), limits, None)
        .await
        .unwrap();
    let inv = |invitee, expires_at| tessera_core::store::InvitationRecord {
        id: Uuid::new_v4(),
        directory_id: d.id,
        username: "bob".into(),
        invitee,
        role: DirectoryRole::Member,
        invited_by: owner,
        created_at: Timestamp(1),
        expires_at: Timestamp(expires_at),
    };
    let (accepted, expiring) = (inv(Some(member), 100), inv(None, 50));
    for i in [&accepted, &expiring] {
        s.create_invitation(i, 10, Timestamp(1), None)
            .await
            .unwrap();
    }
    s.accept_invitation(
        accepted.id,
        &m(member, DirectoryRole::Member),
        limits,
        Timestamp(2),
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.list_members(d.id, 0, 10).await.unwrap().len(), 2);
    assert_eq!(s.purge_expired(Timestamp(50), 100).await.unwrap(), 1);
    assert_eq!(s.get_invitation(expiring.id).await.unwrap(), None);
    assert!(s.remove_directory(d.id, None).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_tables_come_with_every_way_to_version_3() {
    // a new file
    let dir = tempfile::tempdir().unwrap();
    let (owner, member) = (profile("olga"), profile("bob"));
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_profile(&owner, None).await.unwrap();
        s.create_profile(&member, None).await.unwrap();
    }
    assert!(has_directory_tables(dir.path()));
    // the upgrade of a version-2 file
    make_v2(dir.path());
    assert!(!has_directory_tables(dir.path()));
    {
        let s = RedbStore::open(dir.path()).unwrap();
        directories_work(&s, owner.id, member.id).await;
    }
    assert_eq!(version(dir.path()), 3);
    assert!(has_directory_tables(dir.path()));
    // a version-3 file without them (an unreleased build's)
    {
        let db = db(dir.path());
        let tx = db.begin_write().unwrap();
        for name in DIRECTORY_TABLES {
            let table: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
            assert!(tx.delete_table(table).unwrap(), "{name}");
        }
        tx.commit().unwrap();
    }
    assert!(!has_directory_tables(dir.path()));
    {
        let s = RedbStore::open(dir.path()).unwrap();
        directories_work(&s, owner.id, member.id).await;
        assert_eq!(
            s.get_profile(owner.id).await.unwrap().as_ref(),
            Some(&owner)
        );
    }
    assert_eq!(version(dir.path()), 3);
    assert!(has_directory_tables(dir.path()));
}
