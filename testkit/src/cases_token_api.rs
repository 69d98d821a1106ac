//! Conformance cases: the token API end to end on the store under test (login, refresh
//! rotation and reuse detection, family revocation, id tokens, NEW_PASSWORD_REQUIRED).

use std::sync::Arc;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::fixtures::test_engine;
use tessera_core::clock::Clock as _;
use tessera_core::engine::{Engine, Login, TokenSet};
use tessera_core::error::Error;
use tessera_core::store::Store;
use tessera_core::token::TokenKind;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_login_issues_a_family_and_an_id_token,
    engine_refresh_rotates_and_detects_reuse,
    engine_revoke_refresh_ends_the_family,
    engine_20_concurrent_refreshes_one_wins,
    engine_new_password_required_flow,
];

pub(super) const PW: &str = "velvet thunder orchard kites";
pub(super) const PW2: &str = "marble lantern bicycle reef";
const TEMP: &str = "granite pelican umbrella sonnet";

/// The tokens of a login that is expected to succeed without a challenge.
pub(super) fn tokens(login: Login) -> TokenSet {
    match login {
        Login::Tokens(t) => t,
        Login::NewPasswordRequired { .. } => panic!("unexpected NEW_PASSWORD_REQUIRED"),
    }
}

async fn engine_login_issues_a_family_and_an_id_token(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let id = e.register_profile("Alice", PW).await.unwrap().value;
    let now = clock.now();
    let set = tokens(e.login("ALICE", PW).await.unwrap());
    assert_eq!(set.profile_id, id);
    assert_eq!(set.expires_in, 86_400, "access tokens last 24 h");
    assert_eq!(set.expires_at, now.plus_secs(86_400));
    assert_eq!(set.refresh_expires_at, now.plus_secs(7_776_000), "90 d");
    assert!(set.access_token.expose().starts_with("tsa_"));
    assert!(set.refresh_token.expose().starts_with("tsr_"));
    // the access token is an ordinary authorization token
    let p = e.verify(set.access_token.expose()).await.unwrap();
    assert_eq!(
        (p.profile_id, p.token_kind, p.expires_at),
        (id, TokenKind::Authorization, set.expires_at)
    );
    assert_eq!(e.token_expiry(&p).unwrap().expires_in, 86_400);
    // the refresh token is not
    assert_eq!(
        e.verify(set.refresh_token.expose()).await,
        Err(Error::Unauthorized)
    );
    // one answer for every bad credential
    assert_eq!(e.login("alice", PW2).await.err(), Some(Error::Unauthorized));
    assert_eq!(e.login("nobody", PW).await.err(), Some(Error::Unauthorized));
    assert_eq!(e.login("", PW).await.err(), Some(Error::Unauthorized));
    assert_eq!(
        e.login("alice", &"x".repeat(1 << 20)).await.err(),
        Some(Error::Unauthorized)
    );
    // the id token verifies offline with the JWKS
    let jwks: JwkSet = serde_json::from_value(e.jwks().await.unwrap()).unwrap();
    assert_eq!(jwks.keys.len(), 1);
    let jwk_json = &e.jwks().await.unwrap()["keys"][0];
    assert_eq!(
        (
            jwk_json["kty"].as_str(),
            jwk_json["crv"].as_str(),
            jwk_json["alg"].as_str(),
            jwk_json["use"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    let server_key = e.server_public_key().await.unwrap();
    assert_eq!(
        jwk_json["x"].as_str().unwrap(),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            server_key.as_bytes()
        ),
        "the JWKS serves the server key"
    );
    let header = jsonwebtoken::decode_header(&set.id_token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[e.config().id_token_audience.as_str()]);
    v.set_issuer(&[e.config().id_token_issuer()]);
    v.validate_exp = false; // the manual clock is not the system clock jsonwebtoken reads
    v.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        &set.id_token,
        &DecodingKey::from_jwk(jwk).unwrap(),
        &v,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], id.hyphenated().to_string());
    assert_eq!(claims["username"], "alice");
    assert_eq!(claims["profile_type"], "user");
    assert_eq!(claims["iat"], now.0);
    assert_eq!(claims["exp"], set.expires_at.0);
    // a tampered id token does not verify
    let mut forged = set.id_token.clone();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert!(
        jsonwebtoken::decode::<serde_json::Value>(
            &forged,
            &DecodingKey::from_jwk(jwk).unwrap(),
            &v
        )
        .is_err()
    );
}

async fn engine_refresh_rotates_and_detects_reuse(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = e.register_profile("alice", PW).await.unwrap().value;
    e.register_profile("bob", PW).await.unwrap();
    let first = tokens(e.login("alice", PW).await.unwrap());
    let other = tokens(e.login("alice", PW).await.unwrap());
    clock.advance(60);
    let second = e
        .refresh("Alice", first.refresh_token.expose())
        .await
        .unwrap();
    assert_eq!(second.profile_id, alice);
    assert_ne!(second.refresh_token.expose(), first.refresh_token.expose());
    assert_eq!(
        second.refresh_expires_at, first.refresh_expires_at,
        "rotation keeps the family's end"
    );
    assert_eq!(second.expires_at, clock.now().plus_secs(86_400));
    assert!(!second.id_token.is_empty());
    for t in [&first.access_token, &second.access_token] {
        assert!(e.verify(t.expose()).await.is_ok());
    }
    // a username that does not own the token: refused, and nothing revoked
    assert_eq!(
        e.refresh("bob", second.refresh_token.expose()).await.err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(
        e.refresh("nobody", second.refresh_token.expose())
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    // malformed or the wrong kind of token
    for bad in ["", "tsr_x", first.access_token.expose()] {
        assert_eq!(
            e.refresh("alice", bad).await.err(),
            Some(Error::Unauthorized)
        );
    }
    // reuse of the rotated token: refused, and the whole family revoked
    assert_eq!(
        e.refresh("alice", first.refresh_token.expose()).await.err(),
        Some(Error::Unauthorized)
    );
    for t in [&first.access_token, &second.access_token] {
        assert_eq!(e.verify(t.expose()).await, Err(Error::Unauthorized));
    }
    assert_eq!(
        e.refresh("alice", second.refresh_token.expose())
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    // another login's family is untouched
    assert!(e.verify(other.access_token.expose()).await.is_ok());
    let third = e
        .refresh("alice", other.refresh_token.expose())
        .await
        .unwrap();
    // an expired refresh token is refused
    clock.set(third.refresh_expires_at);
    assert_eq!(
        e.refresh("alice", third.refresh_token.expose()).await.err(),
        Some(Error::Unauthorized)
    );
}

async fn engine_revoke_refresh_ends_the_family(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    e.register_profile("alice", PW).await.unwrap();
    let first = tokens(e.login("alice", PW).await.unwrap());
    let second = e
        .refresh("alice", first.refresh_token.expose())
        .await
        .unwrap();
    let other = tokens(e.login("alice", PW).await.unwrap());
    let plain = e.authenticate("alice", PW, None).await.unwrap();
    e.revoke_refresh(second.refresh_token.expose())
        .await
        .unwrap();
    for t in [&first.access_token, &second.access_token] {
        assert_eq!(e.verify(t.expose()).await, Err(Error::Unauthorized));
    }
    assert_eq!(
        e.refresh("alice", second.refresh_token.expose())
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(
        e.revoke_refresh(second.refresh_token.expose()).await,
        Err(Error::Unauthorized),
        "a second revoke finds nothing"
    );
    assert_eq!(e.revoke_refresh("tsr_nope").await, Err(Error::Unauthorized));
    assert_eq!(
        e.revoke_refresh(other.access_token.expose()).await,
        Err(Error::Unauthorized),
        "an access token is not a refresh token"
    );
    assert!(e.verify(other.access_token.expose()).await.is_ok());
    assert!(e.verify(plain.token.expose()).await.is_ok());
    // change-password with an access token: the caller's token stays, every other token
    // and every refresh token (its own family's too) goes
    let p = e.verify(other.access_token.expose()).await.unwrap();
    let kp = tessera_core::key::KeyPair::generate(&tessera_core::random::OsRandom);
    e.register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(p.profile_id))
        .await
        .unwrap();
    let p = e.verify(other.access_token.expose()).await.unwrap();
    let fourth = tokens(e.login("alice", PW).await.unwrap());
    e.change_password(&p, PW, PW2).await.unwrap();
    assert!(e.verify(other.access_token.expose()).await.is_ok());
    assert_eq!(
        e.verify(plain.token.expose()).await,
        Err(Error::Unauthorized)
    );
    for r in [&other.refresh_token, &fourth.refresh_token] {
        assert_eq!(
            e.refresh("alice", r.expose()).await.err(),
            Some(Error::Unauthorized)
        );
    }
    assert_eq!(e.login("alice", PW).await.err(), Some(Error::Unauthorized));
    tokens(e.login("alice", PW2).await.unwrap());
}

async fn engine_20_concurrent_refreshes_one_wins(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    e.register_profile("alice", PW).await.unwrap();
    for _ in 0..3 {
        let set = tokens(e.login("alice", PW).await.unwrap());
        let text = set.refresh_token.expose().to_owned();
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (e, text) = (Arc::clone(&e), text.clone());
                tokio::spawn(async move { e.refresh("alice", &text).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => ok += 1,
                Err(err) => assert_eq!(err, Error::Unauthorized),
            }
        }
        assert_eq!(ok, 1, "exactly one refresh succeeds");
        // the concurrent reuse revoked the family, the winner's tokens included
        assert_eq!(
            e.verify(set.access_token.expose()).await,
            Err(Error::Unauthorized)
        );
    }
}

async fn engine_new_password_required_flow(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    assert!(matches!(
        e.create_user_with_temporary_password("carol", "password12345678")
            .await,
        Err(Error::WeakPassword { .. })
    ));
    let carol = e
        .create_user_with_temporary_password("Carol", TEMP)
        .await
        .unwrap();
    assert_eq!(
        e.create_user_with_temporary_password("carol", TEMP).await,
        Err(Error::UsernameTaken)
    );
    e.register_profile("dave", PW).await.unwrap();
    // the temporary password gives no token anywhere
    assert_eq!(
        e.authenticate("carol", TEMP, None).await.err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(e.login("carol", PW).await.err(), Some(Error::Unauthorized));
    let Login::NewPasswordRequired { session } = e.login("carol", TEMP).await.unwrap() else {
        panic!("expected the challenge");
    };
    assert!(session.expose().starts_with("tss_"));
    assert_eq!(
        e.verify(session.expose()).await,
        Err(Error::Unauthorized),
        "a session is not an authorization token"
    );
    // a weak password is refused and the session stays usable
    assert!(matches!(
        e.complete_new_password("carol", session.expose(), "password12345678")
            .await,
        Err(Error::WeakPassword { .. })
    ));
    // another user's name, or a malformed session
    assert_eq!(
        e.complete_new_password("dave", session.expose(), PW2)
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(
        e.complete_new_password("carol", "tss_bogus", PW2)
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    let set = e
        .complete_new_password("carol", session.expose(), PW2)
        .await
        .unwrap();
    assert_eq!(set.profile_id, carol);
    assert!(e.verify(set.access_token.expose()).await.is_ok());
    assert_eq!(
        e.complete_new_password("carol", session.expose(), PW)
            .await
            .err(),
        Some(Error::Unauthorized),
        "single use"
    );
    assert_eq!(
        e.login("carol", TEMP).await.err(),
        Some(Error::Unauthorized)
    );
    tokens(e.login("carol", PW2).await.unwrap());
    e.authenticate("carol", PW2, None).await.unwrap();
    // sessions expire after 5 minutes, and a newer login voids the older session
    e.create_user_with_temporary_password("erin", TEMP)
        .await
        .unwrap();
    let session_of = |l: Login| match l {
        Login::NewPasswordRequired { session } => session,
        Login::Tokens(_) => panic!("expected the challenge"),
    };
    let old = session_of(e.login("erin", TEMP).await.unwrap());
    let newer = session_of(e.login("erin", TEMP).await.unwrap());
    assert_eq!(
        e.complete_new_password("erin", old.expose(), PW2)
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    clock.advance(300);
    assert_eq!(
        e.complete_new_password("erin", newer.expose(), PW2)
            .await
            .err(),
        Some(Error::Unauthorized)
    );
    let fresh = session_of(e.login("erin", TEMP).await.unwrap());
    clock.advance(299);
    e.complete_new_password("erin", fresh.expose(), PW2)
        .await
        .unwrap();
}

/// Log in, expecting tokens.
pub(super) async fn login(e: &Engine, name: &str, pw: &str) -> TokenSet {
    tokens(e.login(name, pw).await.unwrap())
}
