//! Conformance cases: `OAuthStore` (applications, grants, `resolve_oauth`, consents), and
//! the OAuth fixtures. The OAuth side of `TokenStore` is in `cases_oauth_tokens.rs`, the
//! concurrency cases in `cases_oauth_race.rs`.

use std::sync::Arc;

use uuid::Uuid;

use super::cases_commands::{command, stored};
use super::cases_tokens::family_token;
use super::fixtures::{profile, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::ProfileState;
use tessera_core::store::{
    Conflict, ConsentRecord, IdTokenAlg, OAuthClientRecord, OAuthGrantRecord, Revoke, Rotation,
    Store, StoreError, TokenRecord,
};
use tessera_core::token::{TokenDigest, TokenKind};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    oauth_clients_create_get_list,
    oauth_client_update_checks_the_version_and_keeps_the_owner,
    oauth_remove_client_cascades,
    oauth_put_grant_refusals_write_nothing,
    oauth_resolve_reads_token_profile_and_grant,
    oauth_consents_put_get_list_replace,
    oauth_revoke_consent_removes_grants_and_their_tokens,
];

/// A confidential application of `owner` registered at `created_at`, with every optional
/// field set.
pub(super) fn client(owner: Uuid, id: Uuid, created_at: i64) -> OAuthClientRecord {
    OAuthClientRecord {
        id,
        owner,
        name: "Photo album".to_owned(),
        confidential: true,
        redirect_uris: vec![
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/cb".to_owned(),
        ],
        scopes: vec![
            "openid".to_owned(),
            "profile".to_owned(),
            "offline_access".to_owned(),
        ],
        id_token_alg: IdTokenAlg::Rs256,
        secret: Some(TokenDigest([7; 32])),
        pending_secret: Some("tsx_the-secret-text".to_owned()),
        first_party: false,
        created_at: Timestamp(created_at),
        updated_at: Timestamp(created_at),
        version: 1,
    }
}

/// A public, first-party application (no secret, EdDSA, no scopes, a non-ASCII name).
fn public_client(owner: Uuid, id: Uuid, created_at: i64) -> OAuthClientRecord {
    OAuthClientRecord {
        name: "Fotoalbum – Ünïcødé".to_owned(),
        confidential: false,
        redirect_uris: vec!["com.example.app:/cb".to_owned()],
        scopes: Vec::new(),
        id_token_alg: IdTokenAlg::EdDsa,
        secret: None,
        pending_secret: None,
        first_party: true,
        ..client(owner, id, created_at)
    }
}

/// A grant of `profile` to `client` made at t = 1000, expiring at `expires_at`, with every
/// optional field set.
pub(super) fn grant(client: Uuid, profile: Uuid, expires_at: i64) -> OAuthGrantRecord {
    OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: client,
        profile_id: profile,
        scopes: vec!["openid".to_owned(), "offline_access".to_owned()],
        redirect_uri: Some("https://app.example/cb".to_owned()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned()),
        nonce: Some("n-0S6_WzA2Mj".to_owned()),
        auth_time: Timestamp(990),
        created_at: Timestamp(1000),
        expires_at: Timestamp(expires_at),
    }
}

/// A consent of `profile` to `client` at `at`.
pub(super) fn consent(profile: Uuid, client: Uuid, at: i64) -> ConsentRecord {
    ConsentRecord {
        profile_id: profile,
        client_id: client,
        scopes: vec!["openid".to_owned(), "profile".to_owned()],
        granted_at: Timestamp(at),
    }
}

/// A user profile named `name`, stored (version 1); its id.
pub(super) async fn user(s: &Arc<dyn Store>, name: &str) -> Uuid {
    let p = profile(name);
    s.create_profile(&p, None).await.unwrap();
    p.id
}

/// An application of `owner`, stored; its id.
pub(super) async fn app(s: &Arc<dyn Store>, owner: Uuid) -> Uuid {
    let c = client(owner, Uuid::new_v4(), 1000);
    s.create_client(&c, None).await.unwrap();
    c.id
}

/// A sign-in of `profile` to `client`: a grant (expiring at t = 90 000) and its code
/// (expiring at t = 1060), stored.
pub(super) async fn granted(
    s: &Arc<dyn Store>,
    client: Uuid,
    profile: Uuid,
) -> (OAuthGrantRecord, TokenRecord) {
    let g = grant(client, profile, 90_000);
    let code = family_token(profile, TokenKind::OAuthCode, g.id, 1060);
    let version = s.get_profile(profile).await.unwrap().unwrap().version;
    s.put_grant(&g, &code, version).await.unwrap();
    (g, code)
}

/// A fresh OAuth access token (expiring at t = 4600) and refresh token (t = 90 000) of
/// `profile` in the family `grant`, not stored.
pub(super) fn oauth_pair(profile: Uuid, grant: Uuid) -> (TokenRecord, TokenRecord) {
    (
        family_token(profile, TokenKind::OAuthAccess, grant, 4600),
        family_token(profile, TokenKind::OAuthRefresh, grant, 90_000),
    )
}

/// Exchange `code` at t = 1010; the access and refresh token it issued.
pub(super) async fn exchange(s: &Arc<dyn Store>, code: &TokenRecord) -> (TokenRecord, TokenRecord) {
    spend(s, code, 1010).await
}

/// Spend `old` at `now` for a fresh pair of its family, which must rotate; the pair.
pub(super) async fn spend(
    s: &Arc<dyn Store>,
    old: &TokenRecord,
    now: i64,
) -> (TokenRecord, TokenRecord) {
    let (access, refresh) = oauth_pair(old.profile_id, old.family.unwrap());
    assert_eq!(
        s.spend_token(
            &old.digest,
            &[access.clone(), refresh.clone()],
            Timestamp(now)
        )
        .await
        .unwrap(),
        Rotation::Rotated
    );
    (access, refresh)
}

/// A browser session of `profile` (no family), not stored.
pub(super) fn browser(profile: Uuid) -> TokenRecord {
    let mut t = token_record(profile, 5000);
    t.kind = TokenKind::Browser;
    t
}

/// Every one of `tokens` is gone: neither read nor resolved.
pub(super) async fn gone(s: &Arc<dyn Store>, tokens: &[&TokenRecord], why: &str) {
    for t in tokens {
        assert_eq!(s.get_token(&t.digest).await.unwrap(), None, "{why}: {t:?}");
        assert_eq!(s.resolve_token(&t.digest).await.unwrap(), None, "{why}");
    }
}

/// Every one of `tokens` is still stored (its kind may have been spent since).
pub(super) async fn kept(s: &Arc<dyn Store>, tokens: &[&TokenRecord], why: &str) {
    for t in tokens {
        let got = s.get_token(&t.digest).await.unwrap();
        assert!(
            got.is_some_and(|g| g.profile_id == t.profile_id && g.family == t.family),
            "{why}: {t:?}"
        );
    }
}

async fn oauth_clients_create_get_list(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let other = user(&s, "other").await;
    // no such owner: nothing written, not even the command
    let orphan = client(Uuid::new_v4(), Uuid::new_v4(), 1000);
    let refused = command(orphan.owner, "Application registered");
    assert_eq!(
        s.create_client(&orphan, Some(&refused)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_client(orphan.id).await.unwrap(), None);
    assert!(
        !stored(&s, &refused).await,
        "a refused create wrote a command"
    );
    assert!(s.list_clients(orphan.owner).await.unwrap().is_empty());
    // ids chosen so that id order and creation order differ
    let late = client(owner, Uuid::from_u128(1), 2000);
    let first = client(owner, Uuid::from_u128(2), 1000);
    let second = public_client(owner, Uuid::from_u128(3), 1000);
    let others = client(other, Uuid::from_u128(4), 500);
    let registered = command(owner, "Application registered");
    s.create_client(&late, Some(&registered)).await.unwrap();
    assert!(
        stored(&s, &registered).await,
        "create_client wrote its command"
    );
    for c in [&second, &first, &others] {
        s.create_client(c, None).await.unwrap();
    }
    assert_eq!(s.get_client(late.id).await.unwrap().as_ref(), Some(&late));
    assert_eq!(
        s.get_client(second.id).await.unwrap().as_ref(),
        Some(&second),
        "a public client round trips"
    );
    assert_eq!(s.get_client(Uuid::new_v4()).await.unwrap(), None);
    assert_eq!(
        s.list_clients(owner).await.unwrap(),
        vec![first.clone(), second.clone(), late.clone()],
        "by creation time, then id"
    );
    assert_eq!(s.list_clients(other).await.unwrap(), vec![others.clone()]);
    // the id is taken (by an application of this owner): refused whoever asks
    for asker in [owner, other] {
        let mut clash = public_client(asker, late.id, 3000);
        "Impostor".clone_into(&mut clash.name);
        let c = command(asker, "Application registered");
        assert_eq!(
            s.create_client(&clash, Some(&c)).await,
            Err(StoreError::Conflict(Conflict::Exists))
        );
        assert!(!stored(&s, &c).await, "a refused create wrote a command");
    }
    assert_eq!(s.get_client(late.id).await.unwrap().as_ref(), Some(&late));
    assert_eq!(s.list_clients(owner).await.unwrap().len(), 3);
    assert_eq!(
        s.list_clients(other).await.unwrap(),
        vec![others],
        "a refused create is not listed"
    );
}

async fn oauth_client_update_checks_the_version_and_keeps_the_owner(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let other = user(&s, "other").await;
    let c = client(owner, Uuid::new_v4(), 1000);
    s.create_client(&c, None).await.unwrap();
    // every field changes; the record even names another owner
    let next = OAuthClientRecord {
        id: c.id,
        owner: other,
        name: "Renamed".to_owned(),
        confidential: true,
        redirect_uris: vec!["https://new.example/cb".to_owned()],
        scopes: vec!["openid".to_owned()],
        id_token_alg: IdTokenAlg::EdDsa,
        secret: Some(TokenDigest([8; 32])),
        pending_secret: None,
        first_party: true,
        created_at: c.created_at,
        updated_at: Timestamp(1500),
        version: 2,
    };
    let updated = command(owner, "Application updated");
    s.update_client(&next, 1, Some(&updated)).await.unwrap();
    assert!(
        stored(&s, &updated).await,
        "update_client wrote its command"
    );
    let expected = OAuthClientRecord {
        owner,
        ..next.clone()
    };
    assert_eq!(
        s.get_client(c.id).await.unwrap().as_ref(),
        Some(&expected),
        "written as given, the owner kept"
    );
    assert_eq!(
        s.list_clients(owner).await.unwrap(),
        vec![expected.clone()],
        "still listed under its owner"
    );
    assert!(s.list_clients(other).await.unwrap().is_empty());
    // a stale (or future) version: nothing written, no command
    let mut stale = expected.clone();
    "Stale".clone_into(&mut stale.name);
    stale.version = 3;
    for v in [1, 3] {
        let refused = command(owner, "Application updated");
        assert_eq!(
            s.update_client(&stale, v, Some(&refused)).await,
            Err(StoreError::VersionMismatch)
        );
        assert!(
            !stored(&s, &refused).await,
            "a refused update wrote a command"
        );
    }
    assert_eq!(s.get_client(c.id).await.unwrap().as_ref(), Some(&expected));
    // no such application
    let ghost = client(owner, Uuid::new_v4(), 1000);
    let refused = command(owner, "Application updated");
    assert_eq!(
        s.update_client(&ghost, 1, Some(&refused)).await,
        Err(StoreError::NotFound)
    );
    assert!(!stored(&s, &refused).await);
    assert_eq!(s.get_client(ghost.id).await.unwrap(), None);
    assert_eq!(s.list_clients(owner).await.unwrap(), vec![expected.clone()]);
    // the check is against the stored version: the next update expects 2
    let third = OAuthClientRecord {
        pending_secret: Some("tsx_rotated".to_owned()),
        version: 3,
        ..expected
    };
    s.update_client(&third, 2, None).await.unwrap();
    assert_eq!(s.get_client(c.id).await.unwrap(), Some(third));
}

async fn oauth_remove_client_cascades(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let x = client(owner, Uuid::new_v4(), 1000);
    let y = client(owner, Uuid::new_v4(), 1001);
    s.create_client(&x, None).await.unwrap();
    s.create_client(&y, None).await.unwrap();
    // alice → x: a code exchanged, its refresh token rotated once; and a live code
    let (ga, code_a) = granted(&s, x.id, alice).await;
    let (a1, r1) = exchange(&s, &code_a).await;
    let (a2, r2) = spend(&s, &r1, 2000).await;
    let (ga2, code_a2) = granted(&s, x.id, alice).await;
    // bob → x: a grant whose first token is an access token (client_credentials)
    let gb = grant(x.id, bob, 5000);
    let bob_access = family_token(bob, TokenKind::OAuthAccess, gb.id, 5000);
    s.put_grant(&gb, &bob_access, 1).await.unwrap();
    // alice → y, and alice's tokens that are not OAuth tokens
    let (gy, code_y) = granted(&s, y.id, alice).await;
    let (ay, ry) = exchange(&s, &code_y).await;
    let plain = token_record(alice, 5000);
    let session = browser(alice);
    let api_refresh = family_token(alice, TokenKind::Refresh, Uuid::new_v4(), 90_000);
    s.put_tokens(&[
        (plain.clone(), 1),
        (session.clone(), 1),
        (api_refresh.clone(), 1),
    ])
    .await
    .unwrap();
    for (p, c) in [(alice, x.id), (bob, x.id), (alice, y.id)] {
        s.put_consent(&consent(p, c, 1000)).await.unwrap();
    }

    let removed = command(owner, "Application removed");
    assert!(s.remove_client(x.id, Some(&removed)).await.unwrap());
    assert!(
        stored(&s, &removed).await,
        "remove_client wrote its command"
    );
    assert_eq!(s.get_client(x.id).await.unwrap(), None);
    for g in [&ga, &ga2, &gb] {
        assert_eq!(
            s.get_grant(g.id).await.unwrap(),
            None,
            "its grants are gone"
        );
    }
    gone(
        &s,
        &[&code_a, &a1, &r1, &a2, &r2, &code_a2, &bob_access],
        "every token of its grants is gone",
    )
    .await;
    assert_eq!(s.resolve_oauth(&a2.digest).await.unwrap(), None);
    for p in [alice, bob] {
        assert_eq!(s.get_consent(p, x.id).await.unwrap(), None, "consents go");
    }
    // the other application, its grant, tokens and consent, and the other tokens stay
    assert_eq!(s.get_client(y.id).await.unwrap().as_ref(), Some(&y));
    assert_eq!(s.list_clients(owner).await.unwrap(), vec![y.clone()]);
    assert_eq!(s.get_grant(gy.id).await.unwrap().as_ref(), Some(&gy));
    let rest = [&code_y, &ay, &ry, &plain, &session, &api_refresh];
    kept(&s, &rest, "another application's and other tokens stay").await;
    assert_eq!(
        s.list_consents(alice).await.unwrap(),
        vec![consent(alice, y.id, 1000)]
    );
    assert!(s.list_consents(bob).await.unwrap().is_empty());
    let mut listed: Vec<TokenDigest> = s
        .list_profile_tokens(alice)
        .await
        .unwrap()
        .iter()
        .map(|t| t.digest)
        .collect();
    let mut expected: Vec<TokenDigest> = rest.iter().map(|t| t.digest).collect();
    listed.sort_by_key(|d| d.0);
    expected.sort_by_key(|d| d.0);
    assert_eq!(listed, expected);
    assert!(s.list_profile_tokens(bob).await.unwrap().is_empty());
    // a removed application takes no grant and no consent
    let g = grant(x.id, alice, 90_000);
    let code = family_token(alice, TokenKind::OAuthCode, g.id, 1060);
    assert_eq!(s.put_grant(&g, &code, 1).await, Err(StoreError::NotFound));
    assert_eq!(s.get_token(&code.digest).await.unwrap(), None);
    assert_eq!(
        s.put_consent(&consent(alice, x.id, 2000)).await,
        Err(StoreError::NotFound)
    );
    // removing it again: false, and no command
    let again = command(owner, "Application removed");
    assert!(!s.remove_client(x.id, Some(&again)).await.unwrap());
    assert!(
        !stored(&s, &again).await,
        "removing nothing wrote a command"
    );
    assert!(!s.remove_client(Uuid::new_v4(), None).await.unwrap());
}

async fn oauth_put_grant_refusals_write_nothing(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let x = app(&s, owner).await;
    let bobs = token_record(bob, 5000);
    s.put_token(&bobs, 1).await.unwrap();
    let nothing = |s: Arc<dyn Store>, g: OAuthGrantRecord, t: TokenRecord| async move {
        assert_eq!(s.get_grant(g.id).await.unwrap(), None, "a refused grant");
        assert_eq!(
            s.get_token(&t.digest).await.unwrap(),
            None,
            "a refused token"
        );
    };
    // no such profile
    let ghost = Uuid::new_v4();
    let g = grant(x, ghost, 90_000);
    let code = family_token(ghost, TokenKind::OAuthCode, g.id, 1060);
    assert_eq!(s.put_grant(&g, &code, 1).await, Err(StoreError::NotFound));
    nothing(Arc::clone(&s), g, code).await;
    // no such client
    let g = grant(Uuid::new_v4(), alice, 90_000);
    let code = family_token(alice, TokenKind::OAuthCode, g.id, 1060);
    assert_eq!(s.put_grant(&g, &code, 1).await, Err(StoreError::NotFound));
    nothing(Arc::clone(&s), g, code).await;
    // the profile changed since (its version is 1)
    let g = grant(x, alice, 90_000);
    let code = family_token(alice, TokenKind::OAuthCode, g.id, 1060);
    for v in [0, 2] {
        assert_eq!(
            s.put_grant(&g, &code, v).await,
            Err(StoreError::VersionMismatch)
        );
        nothing(Arc::clone(&s), g.clone(), code.clone()).await;
    }
    // stored, both
    s.put_grant(&g, &code, 1).await.unwrap();
    assert_eq!(s.get_grant(g.id).await.unwrap().as_ref(), Some(&g));
    assert_eq!(
        s.get_token(&code.digest).await.unwrap().as_ref(),
        Some(&code)
    );
    assert_eq!(s.get_grant(Uuid::new_v4()).await.unwrap(), None);
    // the grant id is taken: the new code is not stored, the grant unchanged
    let mut again = grant(x, alice, 50_000);
    again.id = g.id;
    again.nonce = None;
    let code2 = family_token(alice, TokenKind::OAuthCode, g.id, 1060);
    assert_eq!(
        s.put_grant(&again, &code2, 1).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.get_token(&code2.digest).await.unwrap(), None);
    assert_eq!(s.get_grant(g.id).await.unwrap().as_ref(), Some(&g));
    // the digest is taken (by another profile's token, or by the first code)
    for taken in [&bobs, &code] {
        let g3 = grant(x, alice, 90_000);
        let mut code3 = family_token(alice, TokenKind::OAuthCode, g3.id, 1060);
        code3.digest = taken.digest;
        assert_eq!(
            s.put_grant(&g3, &code3, 1).await,
            Err(StoreError::Conflict(Conflict::Exists))
        );
        assert_eq!(s.get_grant(g3.id).await.unwrap(), None);
        assert_eq!(
            s.get_token(&taken.digest).await.unwrap().as_ref(),
            Some(taken)
        );
    }
    assert_eq!(
        s.list_profile_tokens(alice).await.unwrap(),
        vec![code.clone()],
        "of all those puts, one token"
    );
    // a grant without the optional fields (client_credentials), its token an access token
    let cc = OAuthGrantRecord {
        scopes: Vec::new(),
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        ..grant(x, owner, 4600)
    };
    let access = family_token(owner, TokenKind::OAuthAccess, cc.id, 4600);
    s.put_grant(&cc, &access, 1).await.unwrap();
    assert_eq!(s.get_grant(cc.id).await.unwrap().as_ref(), Some(&cc));
    assert_eq!(s.get_token(&access.digest).await.unwrap(), Some(access));
}

async fn oauth_resolve_reads_token_profile_and_grant(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let x = app(&s, owner).await;
    let (g, code) = granted(&s, x, alice).await;
    let got = s.resolve_oauth(&code.digest).await.unwrap().unwrap();
    assert_eq!(
        got.token,
        s.resolve_token(&code.digest).await.unwrap().unwrap(),
        "the token part is what resolve_token reads"
    );
    assert_eq!(
        (got.token.profile_id, got.token.token_kind, got.token.token),
        (alice, TokenKind::OAuthCode, code.digest)
    );
    assert_eq!(got.token.expires_at, Timestamp(1060));
    assert_eq!(got.username, "alice");
    assert_eq!(got.grant, g);
    // what the code issued resolves to the same grant, the spent code too
    let (access, refresh) = exchange(&s, &code).await;
    for (t, kind) in [
        (&code, TokenKind::OAuthCodeUsed),
        (&access, TokenKind::OAuthAccess),
        (&refresh, TokenKind::OAuthRefresh),
    ] {
        let got = s.resolve_oauth(&t.digest).await.unwrap().unwrap();
        assert_eq!((got.token.token_kind, &got.grant), (kind, &g));
    }
    // a profile change is seen
    let mut p = s.get_profile(alice).await.unwrap().unwrap();
    p.state = ProfileState::Active;
    p.environments = vec!["prod".to_owned()];
    p.version = 2;
    s.update_profile(&p, 1, Revoke::Nothing, None)
        .await
        .unwrap();
    let got = s.resolve_oauth(&access.digest).await.unwrap().unwrap();
    assert_eq!(got.token.state, ProfileState::Active);
    assert_eq!(got.token.environments, vec!["prod".to_owned()]);
    // None: no token, a token without family, a family that is no grant
    assert_eq!(
        s.resolve_oauth(&crate::random_digest()).await.unwrap(),
        None
    );
    let plain = token_record(alice, 5000);
    let api = family_token(alice, TokenKind::Refresh, Uuid::new_v4(), 90_000);
    s.put_tokens(&[(plain.clone(), 2), (api.clone(), 2)])
        .await
        .unwrap();
    for t in [&plain, &api] {
        assert!(s.resolve_token(&t.digest).await.unwrap().is_some());
        assert_eq!(s.resolve_oauth(&t.digest).await.unwrap(), None);
    }
    // None once the grant is gone (purged) while the token is still there
    let short = grant(x, alice, 3000);
    let first = family_token(alice, TokenKind::OAuthAccess, short.id, 2000);
    s.put_grant(&short, &first, 2).await.unwrap();
    let outliving = family_token(alice, TokenKind::OAuthAccess, short.id, 90_000);
    s.put_token(&outliving, 2).await.unwrap();
    assert!(s.resolve_oauth(&outliving.digest).await.unwrap().is_some());
    s.purge_expired(Timestamp(3000), 100).await.unwrap();
    assert_eq!(s.get_grant(short.id).await.unwrap(), None);
    assert!(s.resolve_token(&outliving.digest).await.unwrap().is_some());
    assert_eq!(s.resolve_oauth(&outliving.digest).await.unwrap(), None);
    assert!(s.resolve_oauth(&access.digest).await.unwrap().is_some());
}

async fn oauth_consents_put_get_list_replace(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    // ids chosen so that client order and grant-time order differ
    let (x, y, z) = (Uuid::from_u128(2), Uuid::from_u128(1), Uuid::from_u128(3));
    for id in [x, y, z] {
        s.create_client(&client(owner, id, 1000), None)
            .await
            .unwrap();
    }
    let unknown = consent(alice, Uuid::new_v4(), 1000);
    assert_eq!(s.put_consent(&unknown).await, Err(StoreError::NotFound));
    assert_eq!(s.get_consent(alice, unknown.client_id).await.unwrap(), None);
    assert!(s.list_consents(alice).await.unwrap().is_empty());
    let (cx, cy, cz) = (
        consent(alice, x, 2000),
        consent(alice, y, 1000),
        consent(alice, z, 1000),
    );
    let bx = consent(bob, x, 500);
    for c in [&cx, &cy, &cz, &bx] {
        s.put_consent(c).await.unwrap();
    }
    assert_eq!(s.get_consent(alice, x).await.unwrap().as_ref(), Some(&cx));
    assert_eq!(s.get_consent(bob, x).await.unwrap().as_ref(), Some(&bx));
    assert_eq!(s.get_consent(bob, y).await.unwrap(), None);
    assert_eq!(s.get_consent(x, alice).await.unwrap(), None);
    assert_eq!(
        s.list_consents(alice).await.unwrap(),
        vec![cy.clone(), cz.clone(), cx.clone()],
        "by grant time, then client id"
    );
    assert_eq!(s.list_consents(bob).await.unwrap(), vec![bx.clone()]);
    assert!(s.list_consents(owner).await.unwrap().is_empty());
    // a later consent to more scopes replaces the record (here with an earlier time)
    let mut cx2 = cx.clone();
    cx2.scopes.push("email".to_owned());
    cx2.granted_at = Timestamp(500);
    s.put_consent(&cx2).await.unwrap();
    assert_eq!(s.get_consent(alice, x).await.unwrap().as_ref(), Some(&cx2));
    assert_eq!(
        s.list_consents(alice).await.unwrap(),
        vec![cx2, cy, cz],
        "replaced, not added"
    );
    assert_eq!(s.list_consents(bob).await.unwrap(), vec![bx]);
}

async fn oauth_revoke_consent_removes_grants_and_their_tokens(s: Arc<dyn Store>) {
    let owner = user(&s, "owner").await;
    let alice = user(&s, "alice").await;
    let bob = user(&s, "bob").await;
    let carol = user(&s, "carol").await;
    let (x, y) = (app(&s, owner).await, app(&s, owner).await);
    // alice → x: two sign-ins, one exchanged and rotated, one a live code
    let (g1, code1) = granted(&s, x, alice).await;
    let (a1, r1) = exchange(&s, &code1).await;
    let (a2, r2) = spend(&s, &r1, 2000).await;
    let (g2, code2) = granted(&s, x, alice).await;
    // alice → y, bob → x, and alice's other tokens
    let (gy, code_y) = granted(&s, y, alice).await;
    let (ay, ry) = exchange(&s, &code_y).await;
    let (gb, code_b) = granted(&s, x, bob).await;
    let (ab, rb) = exchange(&s, &code_b).await;
    let (plain, session) = (token_record(alice, 5000), browser(alice));
    s.put_tokens(&[(plain.clone(), 1), (session.clone(), 1)])
        .await
        .unwrap();
    for (p, c) in [(alice, x), (alice, y), (bob, x)] {
        s.put_consent(&consent(p, c, 1000)).await.unwrap();
    }

    let withdrawn = command(alice, "Consent withdrawn");
    assert!(s.revoke_consent(alice, x, Some(&withdrawn)).await.unwrap());
    assert!(
        stored(&s, &withdrawn).await,
        "revoke_consent wrote its command"
    );
    assert_eq!(s.get_consent(alice, x).await.unwrap(), None);
    for g in [&g1, &g2] {
        assert_eq!(s.get_grant(g.id).await.unwrap(), None, "the grants go");
    }
    gone(
        &s,
        &[&code1, &a1, &r1, &a2, &r2, &code2],
        "every token of the grants goes",
    )
    .await;
    // the same profile's grants to another client, and other profiles' grants to it, stay
    assert_eq!(s.get_grant(gy.id).await.unwrap().as_ref(), Some(&gy));
    assert_eq!(s.get_grant(gb.id).await.unwrap().as_ref(), Some(&gb));
    kept(
        &s,
        &[&code_y, &ay, &ry, &code_b, &ab, &rb, &plain, &session],
        "other grants' and other tokens stay",
    )
    .await;
    assert!(s.resolve_oauth(&ab.digest).await.unwrap().is_some());
    assert!(s.get_consent(alice, y).await.unwrap().is_some());
    assert!(s.get_consent(bob, x).await.unwrap().is_some());
    assert!(s.get_client(x).await.unwrap().is_some(), "the client stays");
    // nothing left to withdraw: false, and no command
    let again = command(alice, "Consent withdrawn");
    assert!(!s.revoke_consent(alice, x, Some(&again)).await.unwrap());
    assert!(
        !stored(&s, &again).await,
        "withdrawing nothing wrote a command"
    );
    assert!(!s.revoke_consent(carol, x, None).await.unwrap());
    assert!(!s.revoke_consent(alice, Uuid::new_v4(), None).await.unwrap());
    // a grant without a consent counts (client_credentials)
    let gc = grant(y, bob, 5000);
    let access = family_token(bob, TokenKind::OAuthAccess, gc.id, 5000);
    s.put_grant(&gc, &access, 1).await.unwrap();
    let c2 = command(bob, "Consent withdrawn");
    assert!(s.revoke_consent(bob, y, Some(&c2)).await.unwrap());
    assert!(stored(&s, &c2).await);
    assert_eq!(s.get_grant(gc.id).await.unwrap(), None);
    gone(&s, &[&access], "the grant's token goes").await;
    // and so does a consent without a grant
    s.put_consent(&consent(carol, y, 1000)).await.unwrap();
    let c3 = command(carol, "Consent withdrawn");
    assert!(s.revoke_consent(carol, y, Some(&c3)).await.unwrap());
    assert!(stored(&s, &c3).await);
    assert_eq!(s.get_consent(carol, y).await.unwrap(), None);
    // bob's grant to x outlived all of it
    assert_eq!(s.get_grant(gb.id).await.unwrap(), Some(gb));
    kept(&s, &[&ab, &rb], "bob's tokens").await;
}
