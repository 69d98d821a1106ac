//! Conformance cases: the OAuth side of `TokenStore`: code exchange and refresh rotation
//! through `spend_token`, `list_profile_tokens`, and the revocations and the purge reaching
//! OAuth tokens, browser sessions and grants.

use std::sync::Arc;

use uuid::Uuid;

use super::cases_oauth::{
    app, browser, exchange, gone, grant, granted, kept, oauth_pair, spend, user,
};
use super::cases_tokens::family_token;
use super::fixtures::{qr, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::store::{Conflict, Revoke, Rotation, Store, StoreError, TokenRecord};
use tessera_core::token::TokenKind;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    oauth_code_exchange_spends_the_code_once,
    oauth_code_spend_refusals_change_nothing,
    oauth_refresh_rotation_and_reuse,
    oauth_list_profile_tokens_lists_every_kind_in_order,
    oauth_profile_revocation_reaches_oauth_and_browser_tokens,
    oauth_purge_removes_expired_grants_only,
];

async fn oauth_code_exchange_spends_the_code_once(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    let (g, code) = granted(&s, x, alice).await;
    let (g_other, code_other) = granted(&s, x, alice).await;
    let plain = token_record(alice, 5000);
    s.put_token(&plain, 1).await.unwrap();
    // one second before the code expires
    let (access, refresh) = spend(&s, &code, 1059).await;
    assert_eq!(
        s.get_token(&code.digest).await.unwrap(),
        Some(TokenRecord {
            kind: TokenKind::OAuthCodeUsed,
            ..code.clone()
        }),
        "only the kind changes"
    );
    assert_eq!(
        s.get_token(&access.digest).await.unwrap().as_ref(),
        Some(&access)
    );
    assert_eq!(
        s.get_token(&refresh.digest).await.unwrap().as_ref(),
        Some(&refresh)
    );
    assert_eq!(
        s.resolve_token(&access.digest)
            .await
            .unwrap()
            .unwrap()
            .token_kind,
        TokenKind::OAuthAccess
    );
    // a second exchange is reuse: every token of the grant goes, what the first issued too
    let (access2, refresh2) = oauth_pair(alice, g.id);
    assert_eq!(
        s.spend_token(
            &code.digest,
            &[access2.clone(), refresh2.clone()],
            Timestamp(1020)
        )
        .await
        .unwrap(),
        Rotation::Reused
    );
    gone(
        &s,
        &[&code, &access, &refresh, &access2, &refresh2],
        "reuse revokes the family and issues nothing",
    )
    .await;
    kept(&s, &[&code_other, &plain], "other families stay").await;
    // the family is empty: the code and the refresh token are unknown now
    for old in [&code, &refresh] {
        let (a, r) = oauth_pair(alice, g.id);
        assert_eq!(
            s.spend_token(&old.digest, &[a.clone(), r.clone()], Timestamp(1030))
                .await
                .unwrap(),
            Rotation::Unknown
        );
        gone(&s, &[&a, &r], "nothing issued").await;
    }
    // the other sign-in's code exchanges, here for an access token alone
    let lone = family_token(alice, TokenKind::OAuthAccess, g_other.id, 4600);
    assert_eq!(
        s.spend_token(
            &code_other.digest,
            std::slice::from_ref(&lone),
            Timestamp(1030)
        )
        .await
        .unwrap(),
        Rotation::Rotated
    );
    assert_eq!(
        s.get_token(&code_other.digest).await.unwrap().unwrap().kind,
        TokenKind::OAuthCodeUsed
    );
    // a spent code past its expiry is no longer reuse: unknown, the family stays
    let (a, r) = oauth_pair(alice, g_other.id);
    for now in [1060, 5000] {
        assert_eq!(
            s.spend_token(&code_other.digest, &[a.clone(), r.clone()], Timestamp(now))
                .await
                .unwrap(),
            Rotation::Unknown
        );
    }
    gone(&s, &[&a, &r], "nothing issued").await;
    assert_eq!(s.get_token(&lone.digest).await.unwrap(), Some(lone));
}

async fn oauth_code_spend_refusals_change_nothing(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let x = app(&s, owner).await;
    let (g, code) = granted(&s, x, alice).await;
    let (gb, code_b) = granted(&s, x, bob).await;
    let unchanged = |s: Arc<dyn Store>, old: TokenRecord, issued: Vec<TokenRecord>| async move {
        assert_eq!(
            s.get_token(&old.digest).await.unwrap().as_ref(),
            Some(&old),
            "the old token is unchanged"
        );
        for t in issued {
            assert_eq!(
                s.get_token(&t.digest).await.unwrap(),
                None,
                "nothing issued"
            );
        }
    };
    let (a, r) = oauth_pair(alice, g.id);
    let spend_code = |issue: Vec<TokenRecord>, now: i64| {
        let (s, d) = (Arc::clone(&s), code.digest);
        async move { s.spend_token(&d, &issue, Timestamp(now)).await }
    };
    // no such token
    assert_eq!(
        s.spend_token(
            &crate::random_digest(),
            &[a.clone(), r.clone()],
            Timestamp(1010)
        )
        .await
        .unwrap(),
        Rotation::Unknown
    );
    unchanged(Arc::clone(&s), code.clone(), vec![a.clone(), r.clone()]).await;
    // expired at `now`, and later
    for now in [1060, 5000] {
        assert_eq!(
            spend_code(vec![a.clone(), r.clone()], now).await.unwrap(),
            Rotation::Unknown
        );
        unchanged(Arc::clone(&s), code.clone(), vec![a.clone(), r.clone()]).await;
    }
    // one issued token of another profile, of another family, or without family
    let mut orphan = r.clone();
    orphan.family = None;
    for wrong in [
        family_token(bob, TokenKind::OAuthRefresh, g.id, 90_000),
        family_token(alice, TokenKind::OAuthRefresh, gb.id, 90_000),
        family_token(alice, TokenKind::OAuthRefresh, Uuid::new_v4(), 90_000),
        orphan,
    ] {
        assert_eq!(
            spend_code(vec![a.clone(), wrong.clone()], 1010)
                .await
                .unwrap(),
            Rotation::Unknown
        );
        unchanged(Arc::clone(&s), code.clone(), vec![a.clone(), wrong]).await;
    }
    // not spendable: an access token of a grant, a browser session
    let ga = grant(x, alice, 4600);
    let first = family_token(alice, TokenKind::OAuthAccess, ga.id, 4600);
    s.put_grant(&ga, &first, 1).await.unwrap();
    let session = browser(alice);
    s.put_token(&session, 1).await.unwrap();
    for (old, family) in [(&first, ga.id), (&session, g.id)] {
        let (a2, r2) = oauth_pair(alice, family);
        let mut issue = vec![a2, r2];
        if old.family.is_none() {
            for t in &mut issue {
                t.family = None;
            }
        }
        assert_eq!(
            s.spend_token(&old.digest, &issue, Timestamp(1010))
                .await
                .unwrap(),
            Rotation::Unknown
        );
        unchanged(Arc::clone(&s), old.clone(), issue).await;
    }
    // a digest already stored (another profile's code, the code itself) or given twice:
    // an error, and nothing written
    for taken in [code_b.digest, code.digest, a.digest] {
        let mut clash = r.clone();
        clash.digest = taken;
        assert_eq!(
            spend_code(vec![a.clone(), clash], 1010).await,
            Err(StoreError::Conflict(Conflict::Exists))
        );
        unchanged(Arc::clone(&s), code.clone(), vec![a.clone()]).await;
    }
    unchanged(Arc::clone(&s), code_b.clone(), vec![]).await;
    // and after all that, the code still exchanges
    assert_eq!(
        spend_code(vec![a.clone(), r.clone()], 1010).await.unwrap(),
        Rotation::Rotated
    );
    assert_eq!(s.get_token(&r.digest).await.unwrap(), Some(r));
}

async fn oauth_refresh_rotation_and_reuse(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    let (g, code) = granted(&s, x, alice).await;
    let (a1, r1) = exchange(&s, &code).await;
    let (g_other, code_other) = granted(&s, x, alice).await;
    let (a_other, r_other) = exchange(&s, &code_other).await;
    let (a2, r2) = spend(&s, &r1, 2000).await;
    assert_eq!(
        s.get_token(&r1.digest).await.unwrap(),
        Some(TokenRecord {
            kind: TokenKind::OAuthRefreshUsed,
            ..r1.clone()
        }),
        "only the kind changes, the expiry is kept"
    );
    kept(&s, &[&a1, &a2, &r2], "rotation keeps the family").await;
    let (a3, r3) = spend(&s, &r2, 3000).await;
    // a rotated token presented again: the family goes, the spent code included
    let (a4, r4) = oauth_pair(alice, g.id);
    assert_eq!(
        s.spend_token(&r1.digest, &[a4.clone(), r4.clone()], Timestamp(3500))
            .await
            .unwrap(),
        Rotation::Reused
    );
    gone(
        &s,
        &[&code, &a1, &r1, &a2, &r2, &a3, &r3, &a4, &r4],
        "reuse revokes the family",
    )
    .await;
    kept(
        &s,
        &[&code_other, &a_other, &r_other],
        "another sign-in stays",
    )
    .await;
    assert_eq!(
        s.get_grant(g_other.id).await.unwrap().as_ref(),
        Some(&g_other)
    );
    // the newest refresh token of the revoked family is unknown
    let (a5, r5) = oauth_pair(alice, g.id);
    assert_eq!(
        s.spend_token(&r3.digest, &[a5.clone(), r5.clone()], Timestamp(3600))
            .await
            .unwrap(),
        Rotation::Unknown
    );
    gone(&s, &[&a5, &r5], "nothing issued").await;
    // an expired refresh token does not rotate
    let (a6, r6) = oauth_pair(alice, g_other.id);
    assert_eq!(
        s.spend_token(
            &r_other.digest,
            &[a6.clone(), r6.clone()],
            Timestamp(90_000)
        )
        .await
        .unwrap(),
        Rotation::Unknown
    );
    gone(&s, &[&a6, &r6], "nothing issued").await;
    assert_eq!(
        s.get_token(&r_other.digest).await.unwrap(),
        Some(r_other),
        "still a live refresh token"
    );
}

async fn oauth_list_profile_tokens_lists_every_kind_in_order(s: Arc<dyn Store>) {
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let family = Uuid::new_v4();
    let mut expected = Vec::new();
    for (i, kind) in (0i64..).zip(TokenKind::ALL) {
        // issue times fall as the kinds go (ties broken by digest); half are expired
        let mut t = family_token(alice, kind, family, if i % 2 == 0 { 10 } else { 90_000 });
        t.issued_at = Timestamp(2000 - (i / 2) * 100);
        if i % 3 == 0 {
            t.family = None;
        }
        expected.push(t);
    }
    let batch: Vec<(TokenRecord, u64)> = expected.iter().map(|t| (t.clone(), 1)).collect();
    s.put_tokens(&batch).await.unwrap();
    let bobs = browser(bob);
    s.put_token(&bobs, 1).await.unwrap();
    s.put_qr(&qr(alice, 5000), 1).await.unwrap();
    expected.sort_by_key(|a| (a.issued_at, a.digest.0));
    assert_eq!(
        s.list_profile_tokens(alice).await.unwrap(),
        expected,
        "every kind, expired too, by issue time then digest; no QR token"
    );
    assert_eq!(s.list_profile_tokens(bob).await.unwrap(), vec![bobs]);
    assert!(
        s.list_profile_tokens(Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
    // a revocation is seen
    assert!(s.revoke_token(&expected[0].digest, None).await.unwrap());
    assert_eq!(
        s.list_profile_tokens(alice).await.unwrap(),
        expected[1..].to_vec()
    );
}

async fn oauth_profile_revocation_reaches_oauth_and_browser_tokens(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let x = app(&s, owner).await;
    let (_, code) = granted(&s, x, alice).await;
    let (access, refresh) = exchange(&s, &code).await;
    let (_, live_code) = granted(&s, x, alice).await;
    let (plain, session) = (token_record(alice, 5000), browser(alice));
    s.put_tokens(&[(plain.clone(), 1), (session.clone(), 1)])
        .await
        .unwrap();
    let (_, code_b) = granted(&s, x, bob).await;
    let (ab, rb) = exchange(&s, &code_b).await;
    let bob_session = browser(bob);
    s.put_token(&bob_session, 1).await.unwrap();
    // sign out everywhere
    assert_eq!(s.revoke_profile_tokens(alice, None).await.unwrap(), 6);
    assert!(s.list_profile_tokens(alice).await.unwrap().is_empty());
    gone(
        &s,
        &[&code, &access, &refresh, &live_code, &plain, &session],
        "every kind of token goes",
    )
    .await;
    assert_eq!(s.resolve_oauth(&access.digest).await.unwrap(), None);
    kept(&s, &[&code_b, &ab, &rb, &bob_session], "another profile's").await;
    let (a2, r2) = oauth_pair(alice, refresh.family.unwrap());
    assert_eq!(
        s.spend_token(&refresh.digest, &[a2, r2], Timestamp(2000))
            .await
            .unwrap(),
        Rotation::Unknown,
        "a revoked refresh token does not rotate"
    );
    // a password change keeping the current browser session, then one keeping nothing
    let (_, code3) = granted(&s, x, alice).await;
    let (a3, r3) = exchange(&s, &code3).await;
    let session2 = browser(alice);
    s.put_token(&session2, 1).await.unwrap();
    let mut p = s.get_profile(alice).await.unwrap().unwrap();
    p.version = 2;
    s.update_profile(&p, 1, Revoke::AllExcept(session2.digest), None)
        .await
        .unwrap();
    gone(
        &s,
        &[&code3, &a3, &r3],
        "a password change revokes OAuth tokens",
    )
    .await;
    kept(&s, &[&session2], "the session kept").await;
    p.version = 3;
    s.update_profile(&p, 2, Revoke::All, None).await.unwrap();
    gone(&s, &[&session2], "revoking all ends browser sessions").await;
    kept(&s, &[&ab, &rb, &bob_session], "another profile's").await;
}

async fn oauth_purge_removes_expired_grants_only(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    let g1 = grant(x, alice, 2000);
    let code1 = family_token(alice, TokenKind::OAuthCode, g1.id, 1060);
    let g2 = grant(x, alice, 3000);
    let code2 = family_token(alice, TokenKind::OAuthCode, g2.id, 2500);
    s.put_grant(&g1, &code1, 1).await.unwrap();
    s.put_grant(&g2, &code2, 1).await.unwrap();
    let grant_of = |id: Uuid| {
        let s = Arc::clone(&s);
        async move { s.get_grant(id).await.unwrap().map(|g| g.id) }
    };
    assert_eq!(
        s.purge_expired(Timestamp(1999), 100).await.unwrap(),
        1,
        "the first code"
    );
    assert_eq!(grant_of(g1.id).await, Some(g1.id), "a grant expiring later");
    gone(&s, &[&code1], "purged").await;
    assert_eq!(
        s.purge_expired(Timestamp(2000), 100).await.unwrap(),
        1,
        "the first grant, at its expiry"
    );
    assert_eq!(grant_of(g1.id).await, None);
    assert_eq!(grant_of(g2.id).await, Some(g2.id));
    kept(&s, &[&code2], "unexpired").await;
    assert_eq!(s.purge_expired(Timestamp(2999), 100).await.unwrap(), 1);
    assert_eq!(grant_of(g2.id).await, Some(g2.id));
    assert_eq!(s.purge_expired(Timestamp(3000), 100).await.unwrap(), 1);
    assert_eq!(grant_of(g2.id).await, None);
    assert_eq!(s.purge_expired(Timestamp(10_000), 100).await.unwrap(), 0);
    // bounded: three expired grants with a token each, at most `limit` records a call
    let mut expired = Vec::new();
    for _ in 0..3 {
        let g = grant(x, alice, 100);
        let t = family_token(alice, TokenKind::OAuthAccess, g.id, 100);
        s.put_grant(&g, &t, 1).await.unwrap();
        expired.push(g.id);
    }
    let (live, live_code) = granted(&s, x, alice).await;
    assert_eq!(s.purge_expired(Timestamp(100), 4).await.unwrap(), 4);
    assert_eq!(s.purge_expired(Timestamp(100), 4).await.unwrap(), 2);
    assert_eq!(s.purge_expired(Timestamp(100), 4).await.unwrap(), 0);
    for id in expired {
        assert_eq!(grant_of(id).await, None);
    }
    assert_eq!(
        grant_of(live.id).await,
        Some(live.id),
        "never an unexpired grant"
    );
    kept(&s, &[&live_code], "unexpired").await;
}
