//! Conformance cases: `ServerUserStore` (server-registered users).

use std::sync::Arc;

use super::fixtures::{profile, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::ProfileState;
use tessera_core::store::{Conflict, ProfileRecord, Revoke, ServerUserRecord, Store, StoreError};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    external_user_create_and_read,
    external_user_create_is_all_or_nothing,
    external_user_update_with_profile,
    external_user_update_refusals_change_nothing,
];

/// A server-registered user `external_id` with a fresh active profile named `name`.
pub(super) fn external(external_id: &str, name: &str) -> (ServerUserRecord, ProfileRecord) {
    let mut p = profile(name);
    p.password_hash = None;
    p.state = ProfileState::Active;
    p.environments = vec!["prod".into()];
    let u = ServerUserRecord {
        external_id: external_id.to_owned(),
        profile_id: p.id,
        email: Some("a@example.com".into()),
        metadata: Some("{\"plan\":\"pro\"}".into()),
        created_at: Timestamp(1000),
        updated_at: Timestamp(1000),
    };
    (u, p)
}

async fn external_user_create_and_read(s: Arc<dyn Store>) {
    let (u, p) = external("auth0|abc123", "x-abc");
    s.create_server_user(&u, &p).await.unwrap();
    assert_eq!(
        s.get_server_user("auth0|abc123").await.unwrap().as_ref(),
        Some(&u)
    );
    assert_eq!(s.get_profile(p.id).await.unwrap().as_ref(), Some(&p));
    assert_eq!(
        s.get_profile_by_username("x-abc").await.unwrap().as_ref(),
        Some(&p)
    );
    assert_eq!(s.get_server_user("auth0|ABC123").await.unwrap(), None);
    assert_eq!(s.get_server_user("").await.unwrap(), None);
    // no email or metadata
    let (mut u2, p2) = external("google:42", "x-42");
    u2.email = None;
    u2.metadata = None;
    s.create_server_user(&u2, &p2).await.unwrap();
    assert_eq!(
        s.get_server_user("google:42").await.unwrap().as_ref(),
        Some(&u2)
    );
    // tokens of such a profile resolve with its environments
    let t = token_record(p.id, 5000);
    s.put_token(&t, 1).await.unwrap();
    assert_eq!(
        s.resolve_token(&t.digest)
            .await
            .unwrap()
            .unwrap()
            .environments,
        vec!["prod".to_owned()]
    );
}

async fn external_user_create_is_all_or_nothing(s: Arc<dyn Store>) {
    let (u, p) = external("idp-1", "taken-name");
    s.create_server_user(&u, &p).await.unwrap();
    // the same external id again, with a fresh profile: refused, no profile left behind
    let (u2, p2) = external("idp-1", "fresh-name");
    assert_eq!(
        s.create_server_user(&u2, &p2).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.get_profile(p2.id).await.unwrap(), None);
    assert_eq!(s.get_profile_by_username("fresh-name").await.unwrap(), None);
    // a taken username: refused, no mapping left behind
    let (u3, p3) = external("idp-2", "taken-name");
    assert_eq!(
        s.create_server_user(&u3, &p3).await,
        Err(StoreError::Conflict(Conflict::Username))
    );
    assert_eq!(s.get_server_user("idp-2").await.unwrap(), None);
    assert_eq!(s.get_profile(p3.id).await.unwrap(), None);
    // the first user is untouched
    assert_eq!(s.get_server_user("idp-1").await.unwrap().as_ref(), Some(&u));
    assert_eq!(
        s.get_profile_by_username("taken-name")
            .await
            .unwrap()
            .unwrap()
            .id,
        p.id
    );
}

async fn external_user_update_with_profile(s: Arc<dyn Store>) {
    let (u, p) = external("idp-1", "x-one");
    s.create_server_user(&u, &p).await.unwrap();
    let t = token_record(p.id, 5000);
    s.put_token(&t, 1).await.unwrap();
    let mut u2 = u.clone();
    u2.email = None;
    u2.metadata = Some("{}".into());
    u2.updated_at = Timestamp(2000);
    u2.created_at = Timestamp(1); // ignored: created_at is kept
    let mut p2 = p.clone();
    p2.environments = vec!["prod".into(), "staging".into()];
    p2.version = 2;
    s.update_server_user(&u2, &p2, 1, Revoke::Nothing)
        .await
        .unwrap();
    let got = s.get_server_user("idp-1").await.unwrap().unwrap();
    assert_eq!(
        got,
        ServerUserRecord {
            created_at: Timestamp(1000),
            ..u2.clone()
        }
    );
    let gp = s.get_profile(p.id).await.unwrap().unwrap();
    assert_eq!((gp.version, gp.environments.len()), (2, 2));
    // verify's read sees the new grants at once
    assert_eq!(
        s.resolve_token(&t.digest)
            .await
            .unwrap()
            .unwrap()
            .environments,
        vec!["prod".to_owned(), "staging".to_owned()]
    );
    // revoking a grant, and every token, in the same transaction
    let mut p3 = p2.clone();
    p3.environments = vec!["staging".into()];
    p3.version = 3;
    s.update_server_user(&u2, &p3, 2, Revoke::All)
        .await
        .unwrap();
    assert_eq!(s.resolve_token(&t.digest).await.unwrap(), None);
    assert_eq!(
        s.get_profile(p.id).await.unwrap().unwrap().environments,
        vec!["staging".to_owned()]
    );
}

async fn external_user_update_refusals_change_nothing(s: Arc<dyn Store>) {
    let (u, p) = external("idp-1", "x-one");
    s.create_server_user(&u, &p).await.unwrap();
    let (other_u, other_p) = external("idp-2", "x-two");
    s.create_server_user(&other_u, &other_p).await.unwrap();
    let t = token_record(p.id, 5000);
    s.put_token(&t, 1).await.unwrap();
    let mut u2 = u.clone();
    u2.email = Some("changed@example.com".into());
    let mut p2 = p.clone();
    p2.environments.clear();
    p2.version = 2;
    // stale version
    assert_eq!(
        s.update_server_user(&u2, &p2, 7, Revoke::All).await,
        Err(StoreError::VersionMismatch)
    );
    // unknown external id
    let mut ghost = u2.clone();
    ghost.external_id = "idp-9".into();
    assert_eq!(
        s.update_server_user(&ghost, &p2, 1, Revoke::All).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_server_user("idp-9").await.unwrap(), None);
    // an external id mapped to another profile
    let mut wrong = other_u.clone();
    wrong.email = Some("changed@example.com".into());
    assert_eq!(
        s.update_server_user(&wrong, &p2, 1, Revoke::All).await,
        Err(StoreError::NotFound)
    );
    // a public key bound to another profile
    let mut keyed = other_p.clone();
    keyed.public_key = Some([7; 32]);
    keyed.version = 2;
    s.update_profile(&keyed, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    let mut p_key = p2.clone();
    p_key.public_key = Some([7; 32]);
    assert_eq!(
        s.update_server_user(&u2, &p_key, 1, Revoke::All).await,
        Err(StoreError::Conflict(Conflict::PublicKey))
    );
    // nothing of the above was written
    assert_eq!(s.get_server_user("idp-1").await.unwrap().as_ref(), Some(&u));
    assert_eq!(
        s.get_server_user("idp-2").await.unwrap().as_ref(),
        Some(&other_u)
    );
    assert_eq!(s.get_profile(p.id).await.unwrap().as_ref(), Some(&p));
    assert!(s.resolve_token(&t.digest).await.unwrap().is_some());
}
