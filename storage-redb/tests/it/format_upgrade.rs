//! Format version 3: a new file is stamped 3 with every table; a version-2 file (no
//! `oauth_` tables) and a version-1 file (neither those nor `tokens_by_family` and
//! `external_users`) are upgraded at open in one transaction, a version-1 file's family
//! index filled from the stored tokens; any other version is refused.

use std::path::Path;

use redb::{Database, ReadableDatabase, TableDefinition, TableHandle};
use tessera_core::StoreError;
use tessera_core::store::{
    IdTokenAlg, KeyStore, MaintenanceStore, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ProfileStore, Rotation, ServerUserRecord, ServerUserStore, TokenStore,
};
use tessera_core::token::TokenKind;
use tessera_core::{ProfileState, Timestamp};
use tessera_storage_redb::{FILE_NAME, RedbStore};
use tessera_testkit::{profile, token_record};
use uuid::Uuid;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const TOKENS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("tokens");
const BY_FAMILY: TableDefinition<&[u8; 48], ()> = TableDefinition::new("tokens_by_family");
const EXTERNAL: TableDefinition<&str, &[u8]> = TableDefinition::new("external_users");

/// The tables new in version 3 (redb deletes a table by name whatever its types).
const OAUTH_TABLES: [&str; 7] = [
    "oauth_clients",
    "oauth_clients_by_owner",
    "oauth_grants",
    "oauth_grants_by_client",
    "oauth_grants_by_profile",
    "oauth_consents",
    "oauth_consents_by_client",
];

/// The directory tables, also new in version 3.
pub(crate) const DIRECTORY_TABLES: [&str; 8] = [
    "directories",
    "directory_short_names",
    "memberships",
    "members_by_seq",
    "memberships_by_profile",
    "invitations",
    "invitations_by_directory",
    "invitations_by_profile",
];

pub(crate) fn db(dir: &Path) -> Database {
    Database::open(dir.join(FILE_NAME)).expect("redb open")
}

pub(crate) fn version(dir: &Path) -> u32 {
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

pub(crate) fn tables(dir: &Path) -> Vec<String> {
    let db = db(dir);
    let rx = db.begin_read().unwrap();
    rx.list_tables()
        .unwrap()
        .map(|t| t.name().to_owned())
        .collect()
}

/// Turn a closed store into what a version-2 build left: no `oauth_` tables, stamped 2.
pub(crate) fn make_v2(dir: &Path) {
    let db = db(dir);
    let tx = db.begin_write().unwrap();
    for name in OAUTH_TABLES.into_iter().chain(DIRECTORY_TABLES) {
        let table: TableDefinition<&[u8], &[u8]> = TableDefinition::new(name);
        assert!(tx.delete_table(table).unwrap(), "{name}");
    }
    tx.open_table(META)
        .unwrap()
        .insert("format_version", 2u32.to_le_bytes().as_slice())
        .unwrap();
    tx.commit().unwrap();
}

/// Turn a closed store into what a version-1 build left: none of the newer tables,
/// stamped 1.
fn make_v1(dir: &Path) {
    make_v2(dir);
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

/// Whether every table of version 3 is in the file.
fn has_every_table(dir: &Path) -> bool {
    let names = tables(dir);
    ["tokens_by_family", "external_users"]
        .into_iter()
        .chain(OAUTH_TABLES)
        .chain(DIRECTORY_TABLES)
        .all(|t| names.iter().any(|n| n == t))
}

/// An application, a grant with its code, an exchange, and the purge of the grant: the
/// OAuth tables of an upgraded store work.
async fn oauth_works(s: &RedbStore, owner: Uuid, profile: Uuid, version: u64) {
    let client = OAuthClientRecord {
        id: Uuid::new_v4(),
        owner,
        name: "App".into(),
        confidential: false,
        redirect_uris: vec!["https://app.example/cb".into()],
        scopes: vec!["openid".into()],
        id_token_alg: IdTokenAlg::Rs256,
        secret: None,
        pending_secret: None,
        first_party: false,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
        version: 1,
    };
    s.create_client(&client, None).await.unwrap();
    assert_eq!(s.list_clients(owner).await.unwrap(), vec![client.clone()]);
    let grant = OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: client.id,
        profile_id: profile,
        scopes: vec!["openid".into()],
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        auth_time: Timestamp(1),
        created_at: Timestamp(1),
        expires_at: Timestamp(500),
    };
    let mut code = token_record(profile, 60);
    code.kind = TokenKind::OAuthCode;
    code.family = Some(grant.id);
    s.put_grant(&grant, &code, version).await.unwrap();
    let mut access = token_record(profile, 400);
    access.kind = TokenKind::OAuthAccess;
    access.family = Some(grant.id);
    assert_eq!(
        s.spend_token(&code.digest, std::slice::from_ref(&access), Timestamp(10))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let got = s.resolve_oauth(&access.digest).await.unwrap().unwrap();
    assert_eq!(got.grant, grant);
    assert_eq!(s.rsa_key_or_insert(&[3; 40]).await.unwrap(), vec![3; 40]);
    // the code (60), the access token (400) and the grant (500)
    assert_eq!(s.purge_expired(Timestamp(500), 100).await.unwrap(), 3);
    assert_eq!(s.get_grant(grant.id).await.unwrap(), None);
    assert!(s.remove_client(client.id, None).await.unwrap());
}

#[test]
fn a_new_store_is_version_3_with_every_table() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    assert_eq!(version(dir.path()), 3);
    assert!(has_every_table(dir.path()), "{:?}", tables(dir.path()));
    // reopening changes nothing
    drop(RedbStore::open(dir.path()).unwrap());
    assert_eq!(version(dir.path()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_store_is_upgraded_with_the_oauth_tables() {
    let dir = tempfile::tempdir().unwrap();
    let p = profile("alice");
    let family = Uuid::new_v4();
    let mut refresh = token_record(p.id, 90_000);
    refresh.kind = TokenKind::Refresh;
    refresh.family = Some(family);
    let plain = token_record(p.id, 5000);
    let u = ServerUserRecord {
        external_id: "idp-2".into(),
        profile_id: Uuid::new_v4(),
        email: Some("x@example.com".into()),
        metadata: None,
        created_at: Timestamp(1),
        updated_at: Timestamp(1),
    };
    let mut x = profile("x-two");
    x.id = u.profile_id;
    {
        let s = RedbStore::open(dir.path()).unwrap();
        s.create_profile(&p, None).await.unwrap();
        s.put_tokens(&[(refresh.clone(), 1), (plain.clone(), 1)])
            .await
            .unwrap();
        s.create_server_user(&u, &x).await.unwrap();
        s.server_key_or_insert([9; 32]).await.unwrap();
    }
    make_v2(dir.path());
    assert_eq!(version(dir.path()), 2);
    assert!(!has_every_table(dir.path()));

    let s = RedbStore::open(dir.path()).unwrap();
    // everything of version 2 is there and works as before
    assert_eq!(s.get_profile(p.id).await.unwrap().as_ref(), Some(&p));
    assert!(s.resolve_token(&plain.digest).await.unwrap().is_some());
    assert_eq!(s.get_server_user("idp-2").await.unwrap().as_ref(), Some(&u));
    assert_eq!(s.server_key_or_insert([1; 32]).await.unwrap(), [9; 32]);
    let mut r2 = token_record(p.id, 90_000);
    r2.kind = TokenKind::Refresh;
    r2.family = Some(family);
    let mut a2 = token_record(p.id, 6000);
    a2.family = Some(family);
    assert_eq!(
        s.rotate_refresh(&refresh.digest, &r2, &a2, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(s.revoke_family(family).await.unwrap(), 3);
    // and the new tables take OAuth data, which survives a reopen
    oauth_works(&s, p.id, p.id, 1).await;
    drop(s);
    assert_eq!(version(dir.path()), 3);
    assert!(has_every_table(dir.path()));
    let s = RedbStore::open(dir.path()).unwrap();
    assert_eq!(s.rsa_key_or_insert(&[5; 40]).await.unwrap(), vec![3; 40]);
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
    // and so do the OAuth tables
    oauth_works(&s, p.id, q.id, 1).await;
    drop(s);
    assert_eq!(version(dir.path()), 3);
    assert!(has_every_table(dir.path()));
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
    let names = tables(dir.path());
    assert!(!names.iter().any(|n| n == "tokens_by_family"), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("oauth_")), "{names:?}");
}

#[test]
fn other_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(RedbStore::open(dir.path()).unwrap());
    for v in [0u32, 4, u32::MAX] {
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
