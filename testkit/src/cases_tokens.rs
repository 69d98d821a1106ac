//! Conformance cases: the token-API methods of `TokenStore` (refresh rotation, families,
//! single-use tokens, replacement).

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{profile, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::store::{Conflict, Revoke, Rotation, Store, StoreError, TokenRecord};
use tessera_core::token::TokenKind;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    refresh_rotation_marks_used_and_stores_both,
    refresh_reuse_revokes_the_family,
    refresh_rotation_refusals_change_nothing,
    family_revoke_spares_other_families,
    take_token_is_single_use,
    replace_tokens_voids_older_of_that_kind,
    new_token_kinds_round_trip_and_never_resolve_as_other_kinds,
];

/// A token of `kind` in `family` for `profile`, expiring at `expires_at`.
pub(super) fn family_token(
    profile: Uuid,
    kind: TokenKind,
    family: Uuid,
    expires_at: i64,
) -> TokenRecord {
    let mut t = token_record(profile, expires_at);
    t.kind = kind;
    t.family = Some(family);
    t
}

/// A profile with one login: (access, refresh) of a fresh family, stored.
async fn login(s: &Arc<dyn Store>, name: &str) -> (Uuid, Uuid, TokenRecord, TokenRecord) {
    let p = profile(name);
    s.create_profile(&p, None).await.unwrap();
    let family = Uuid::new_v4();
    let access = family_token(p.id, TokenKind::Authorization, family, 5000);
    let refresh = family_token(p.id, TokenKind::Refresh, family, 90_000);
    s.put_tokens(&[(access.clone(), 1), (refresh.clone(), 1)])
        .await
        .unwrap();
    (p.id, family, access, refresh)
}

async fn refresh_rotation_marks_used_and_stores_both(s: Arc<dyn Store>) {
    let (pid, family, access, r1) = login(&s, "alice").await;
    let r2 = family_token(pid, TokenKind::Refresh, family, 90_000);
    let a2 = family_token(pid, TokenKind::Authorization, family, 6000);
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(2000))
            .await
            .unwrap(),
        Rotation::Rotated
    );
    let used = s.get_token(&r1.digest).await.unwrap().unwrap();
    assert_eq!(
        used,
        TokenRecord {
            kind: TokenKind::RefreshUsed,
            ..r1.clone()
        },
        "only the kind changes"
    );
    assert_eq!(s.get_token(&r2.digest).await.unwrap().as_ref(), Some(&r2));
    assert_eq!(s.get_token(&a2.digest).await.unwrap().as_ref(), Some(&a2));
    let pr = s.resolve_token(&a2.digest).await.unwrap().unwrap();
    assert_eq!(
        (pr.profile_id, pr.token_kind),
        (pid, TokenKind::Authorization)
    );
    assert!(
        s.resolve_token(&access.digest).await.unwrap().is_some(),
        "earlier access tokens live on"
    );
    // the new refresh token rotates in turn
    let r3 = family_token(pid, TokenKind::Refresh, family, 90_000);
    let a3 = family_token(pid, TokenKind::Authorization, family, 7000);
    assert_eq!(
        s.rotate_refresh(&r2.digest, &r3, &a3, Timestamp(3000))
            .await
            .unwrap(),
        Rotation::Rotated
    );
}

async fn refresh_reuse_revokes_the_family(s: Arc<dyn Store>) {
    let (pid, family, access, r1) = login(&s, "alice").await;
    let r2 = family_token(pid, TokenKind::Refresh, family, 90_000);
    let a2 = family_token(pid, TokenKind::Authorization, family, 6000);
    s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(2000))
        .await
        .unwrap();
    // another login of the same profile (another family) and a token without family
    let other_family = Uuid::new_v4();
    let other = family_token(pid, TokenKind::Refresh, other_family, 90_000);
    s.put_token(&other, 1).await.unwrap();
    let plain = token_record(pid, 5000);
    s.put_token(&plain, 1).await.unwrap();

    let r3 = family_token(pid, TokenKind::Refresh, family, 90_000);
    let a3 = family_token(pid, TokenKind::Authorization, family, 7000);
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r3, &a3, Timestamp(2500))
            .await
            .unwrap(),
        Rotation::Reused
    );
    for t in [&access, &r1, &r2, &a2, &r3, &a3] {
        assert_eq!(
            s.get_token(&t.digest).await.unwrap(),
            None,
            "every token of the family is gone, none inserted"
        );
    }
    assert!(s.get_token(&other.digest).await.unwrap().is_some());
    assert!(s.get_token(&plain.digest).await.unwrap().is_some());
    // the revoked family's refresh token is now unknown
    assert_eq!(
        s.rotate_refresh(&r2.digest, &r3, &a3, Timestamp(2600))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    assert_eq!(s.get_token(&r3.digest).await.unwrap(), None);
}

async fn refresh_rotation_refusals_change_nothing(s: Arc<dyn Store>) {
    let (pid, family, _, r1) = login(&s, "alice").await;
    let (bob, _, bob_access, _) = login(&s, "bob").await;
    let fresh = |p: Uuid, f: Uuid| {
        (
            family_token(p, TokenKind::Refresh, f, 90_000),
            family_token(p, TokenKind::Authorization, f, 6000),
        )
    };
    let unchanged = |s: Arc<dyn Store>, r: TokenRecord, n: Vec<TokenRecord>| async move {
        assert_eq!(s.get_token(&r.digest).await.unwrap().as_ref(), Some(&r));
        for t in n {
            assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
        }
    };
    // unknown digest
    let (r2, a2) = fresh(pid, family);
    assert_eq!(
        s.rotate_refresh(&crate::random_digest(), &r2, &a2, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    unchanged(Arc::clone(&s), r1.clone(), vec![r2.clone(), a2.clone()]).await;
    // expired at `now`
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(90_000))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    unchanged(Arc::clone(&s), r1.clone(), vec![r2.clone(), a2.clone()]).await;
    // new tokens of another profile or another family
    for (p, f) in [(bob, family), (pid, Uuid::new_v4())] {
        let (r, a) = fresh(p, f);
        assert_eq!(
            s.rotate_refresh(&r1.digest, &r, &a, Timestamp(10))
                .await
                .unwrap(),
            Rotation::Unknown
        );
        unchanged(Arc::clone(&s), r1.clone(), vec![r, a]).await;
    }
    // not a refresh token (an access token of a family)
    let (br, ba) = fresh(bob, bob_access.family.unwrap());
    assert_eq!(
        s.rotate_refresh(&bob_access.digest, &br, &ba, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    unchanged(Arc::clone(&s), bob_access.clone(), vec![br, ba]).await;
    // a refresh token without family never rotates
    let mut lone = token_record(pid, 90_000);
    lone.kind = TokenKind::Refresh;
    s.put_token(&lone, 1).await.unwrap();
    let mut lr = r2.clone();
    lr.family = None;
    let mut la = a2.clone();
    la.family = None;
    assert_eq!(
        s.rotate_refresh(&lone.digest, &lr, &la, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    unchanged(Arc::clone(&s), lone, vec![lr, la]).await;
    // a new digest already taken: an error, and nothing written
    let mut clash = a2.clone();
    clash.digest = bob_access.digest;
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r2, &clash, Timestamp(10))
            .await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    unchanged(Arc::clone(&s), r1.clone(), vec![r2.clone()]).await;
    assert_eq!(
        s.get_token(&bob_access.digest)
            .await
            .unwrap()
            .unwrap()
            .profile_id,
        bob
    );
    // and after all that, the old token still rotates
    assert_eq!(
        s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(10))
            .await
            .unwrap(),
        Rotation::Rotated
    );
}

async fn family_revoke_spares_other_families(s: Arc<dyn Store>) {
    let (pid, family, access, refresh) = login(&s, "alice").await;
    let used = family_token(pid, TokenKind::RefreshUsed, family, 90_000);
    let expired = family_token(pid, TokenKind::Authorization, family, 10);
    s.put_tokens(&[(used.clone(), 1), (expired.clone(), 1)])
        .await
        .unwrap();
    let (_, bob_family, bob_access, bob_refresh) = login(&s, "bob").await;
    let plain = token_record(pid, 5000);
    s.put_token(&plain, 1).await.unwrap();
    assert_eq!(s.revoke_family(family).await.unwrap(), 4);
    for t in [&access, &refresh, &used, &expired] {
        assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    }
    for t in [&bob_access, &bob_refresh, &plain] {
        assert!(s.get_token(&t.digest).await.unwrap().is_some());
    }
    assert_eq!(s.revoke_family(family).await.unwrap(), 0);
    assert_eq!(s.revoke_family(Uuid::new_v4()).await.unwrap(), 0);
    // a profile's revocation empties its families too
    assert_eq!(s.revoke_profile_tokens(pid, None).await.unwrap(), 1);
    let bob = bob_access.profile_id;
    let mut b2 = profile("bob");
    b2.id = bob;
    b2.version = 2;
    s.update_profile(&b2, 1, Revoke::All, None).await.unwrap();
    assert_eq!(s.revoke_family(bob_family).await.unwrap(), 0);
}

async fn take_token_is_single_use(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let mut code = token_record(p.id, 5000);
    code.kind = TokenKind::ResetCode;
    s.put_token(&code, 1).await.unwrap();
    // another kind is left alone
    assert_eq!(
        s.take_token(&code.digest, TokenKind::Session, Timestamp(10))
            .await
            .unwrap(),
        None
    );
    assert!(s.get_token(&code.digest).await.unwrap().is_some());
    assert_eq!(
        s.take_token(&code.digest, TokenKind::ResetCode, Timestamp(4999))
            .await
            .unwrap()
            .as_ref(),
        Some(&code)
    );
    assert_eq!(s.get_token(&code.digest).await.unwrap(), None, "consumed");
    assert_eq!(
        s.take_token(&code.digest, TokenKind::ResetCode, Timestamp(10))
            .await
            .unwrap(),
        None,
        "single use"
    );
    // an expired one is removed and not returned
    let mut session = token_record(p.id, 5000);
    session.kind = TokenKind::Session;
    s.put_token(&session, 1).await.unwrap();
    assert_eq!(
        s.take_token(&session.digest, TokenKind::Session, Timestamp(5000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get_token(&session.digest).await.unwrap(), None);
    assert_eq!(
        s.take_token(&crate::random_digest(), TokenKind::Session, Timestamp(0))
            .await
            .unwrap(),
        None
    );
    // taken tokens no longer count as the profile's
    assert_eq!(s.revoke_profile_tokens(p.id, None).await.unwrap(), 0);
}

async fn replace_tokens_voids_older_of_that_kind(s: Arc<dyn Store>) {
    let (a, b) = (profile("alice"), profile("bob"));
    s.create_profile(&a, None).await.unwrap();
    s.create_profile(&b, None).await.unwrap();
    let code = |p: Uuid, exp: i64| {
        let mut t = token_record(p, exp);
        t.kind = TokenKind::ResetCode;
        t
    };
    let first = code(a.id, 5000);
    assert_eq!(s.replace_tokens(&first).await.unwrap(), 0);
    assert_eq!(
        s.get_token(&first.digest).await.unwrap().as_ref(),
        Some(&first)
    );
    let stale = code(a.id, 10);
    s.put_token(&stale, 1).await.unwrap();
    let access = token_record(a.id, 5000);
    s.put_token(&access, 1).await.unwrap();
    let bobs = code(b.id, 5000);
    s.put_token(&bobs, 1).await.unwrap();
    let second = code(a.id, 6000);
    assert_eq!(
        s.replace_tokens(&second).await.unwrap(),
        2,
        "both older codes, expired or not"
    );
    assert_eq!(s.get_token(&first.digest).await.unwrap(), None);
    assert_eq!(s.get_token(&stale.digest).await.unwrap(), None);
    assert!(s.get_token(&second.digest).await.unwrap().is_some());
    assert!(
        s.get_token(&access.digest).await.unwrap().is_some(),
        "other kinds kept"
    );
    assert!(
        s.get_token(&bobs.digest).await.unwrap().is_some(),
        "other profiles kept"
    );
    // refusals change nothing
    assert_eq!(
        s.replace_tokens(&code(Uuid::new_v4(), 5000)).await,
        Err(StoreError::NotFound)
    );
    let mut clash = code(a.id, 7000);
    clash.digest = bobs.digest;
    assert_eq!(
        s.replace_tokens(&clash).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert!(s.get_token(&second.digest).await.unwrap().is_some());
    assert_eq!(
        s.get_token(&bobs.digest).await.unwrap().unwrap().profile_id,
        b.id
    );
}

async fn new_token_kinds_round_trip_and_never_resolve_as_other_kinds(s: Arc<dyn Store>) {
    let p = profile("alice");
    s.create_profile(&p, None).await.unwrap();
    let family = Uuid::new_v4();
    for kind in [
        TokenKind::RefreshUsed,
        TokenKind::ResetCode,
        TokenKind::Session,
    ] {
        let t = family_token(p.id, kind, family, 5000);
        s.put_token(&t, 1).await.unwrap();
        assert_eq!(s.get_token(&t.digest).await.unwrap().as_ref(), Some(&t));
        assert_eq!(
            s.resolve_token(&t.digest)
                .await
                .unwrap()
                .unwrap()
                .token_kind,
            kind
        );
    }
    // they expire and are purged like every token
    assert_eq!(s.purge_expired(Timestamp(5000), 100).await.unwrap(), 3);
}
