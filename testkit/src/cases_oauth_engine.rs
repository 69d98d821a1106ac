//! Conformance cases: the OAuth back channel end to end on the store under test
//! (applications, codes, the token endpoint, id tokens, userinfo, introspection,
//! revocation, device clients).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use uuid::Uuid;

use super::fixtures::test_engine;
use tessera_core::clock::{Clock as _, ManualClock};
use tessera_core::engine::oauth::{
    ApplicationRef, ClientAuth, CodeExchange, CodeRequest, Introspector, NewApplication,
    OAuthErrorCode, OAuthFailure, OAuthTokens,
};
use tessera_core::engine::{Engine, RevokeScope};
use tessera_core::error::Error;
use tessera_core::key::KeyPair;
use tessera_core::principal::Principal;
use tessera_core::profile::{ProfileKind, ProfileState};
use tessera_core::random::OsRandom;
use tessera_core::store::{ConsentRecord, Store};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    oauth_applications_are_their_owners,
    oauth_code_exchange_issues_tokens_and_a_verifiable_id_token,
    oauth_code_bindings_are_checked_before_spending,
    oauth_code_reuse_revokes_what_it_issued,
    oauth_refresh_rotates_and_reuse_ends_the_family,
    oauth_introspection_and_revocation,
    oauth_consent_revocation_and_removal_end_tokens,
    oauth_id_token_hint_and_eddsa_clients,
    // the two that need a backend to take a device as its own client (last, so that a
    // backend without it still runs the others; memory, redb, sled and PostgreSQL take it)
    oauth_client_credentials_for_apps_and_devices,
    oauth_store_put_grant_takes_a_device_as_its_own_client,
];

const PW: &str = "velvet thunder orchard kites";
const PW2: &str = "marble lantern bicycle reef";
const DEV_PW: &str = "quiet copper harbor ninety";
const REDIRECT: &str = "https://app.example/cb";

async fn active_user(e: &Engine, name: &str) -> Principal {
    let id = e.register_profile(name, PW).await.unwrap().value;
    let t = e.authenticate(name, PW, None).await.unwrap();
    let p = e.verify(t.token.expose()).await.unwrap();
    let kp = KeyPair::generate(&OsRandom);
    e.register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(id))
        .await
        .unwrap();
    e.verify(t.token.expose()).await.unwrap()
}

/// A registered application: (client id, secret for confidential ones).
async fn app(
    e: &Engine,
    owner: &Principal,
    confidential: bool,
    scope: &str,
    alg: Option<&str>,
) -> (Uuid, Option<String>) {
    let uris: &[&str] = if confidential {
        &[REDIRECT]
    } else {
        &[REDIRECT, "http://127.0.0.1/cb"]
    };
    let id = e
        .register_application(
            owner,
            &NewApplication {
                name: "Example app",
                redirect_uris: uris,
                scope,
                client_type: Some(if confidential {
                    "confidential"
                } else {
                    "public"
                }),
                id_token_alg: alg,
            },
        )
        .await
        .unwrap()
        .value;
    let cfg = e
        .application_configuration(owner, ApplicationRef::ClientId(id))
        .await
        .unwrap();
    (id, cfg.client_secret.map(|s| s.expose().to_owned()))
}

fn auth(id: Uuid, secret: Option<&str>) -> ClientAuth {
    ClientAuth {
        client_id: id.to_string(),
        secret: secret.map(str::to_owned),
    }
}

/// (verifier, S256 challenge)
fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(tessera_core::random::bytes::<32>(&OsRandom));
    let challenge =
        URL_SAFE_NO_PAD.encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn code(
    e: &Engine,
    clock: &ManualClock,
    user: Uuid,
    client: Uuid,
    scopes: &[&str],
    challenge: Option<&str>,
    nonce: Option<&str>,
) -> String {
    e.issue_code(
        user,
        &CodeRequest {
            client_id: client,
            redirect_uri: REDIRECT.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            code_challenge: challenge.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            auth_time: clock.now(),
        },
    )
    .await
    .unwrap()
    .code
    .expose()
    .to_owned()
}

fn exchange<'a>(code: &'a str, verifier: Option<&'a str>) -> CodeExchange<'a> {
    CodeExchange {
        code,
        redirect_uri: Some(REDIRECT),
        code_verifier: verifier,
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, OAuthFailure>, code: OAuthErrorCode) {
    assert_eq!(r.unwrap_err().code(), Some(code));
}

/// The claims of `jwt` after verifying it with the OAuth JWKS, for `client`.
async fn verified_claims(e: &Engine, jwt: &str, client: Uuid) -> Value {
    let set: JwkSet = serde_json::from_value(e.oauth_jwks().await.unwrap()).unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid in the JWKS");
    let mut v = Validation::new(header.alg);
    v.set_audience(&[client.to_string()]);
    v.set_issuer(&[e.config().oauth.issuer.as_str()]);
    v.validate_exp = false; // the manual clock is far from the wall clock
    jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

fn new<'a>(
    name: &'a str,
    redirect_uris: &'a [&'a str],
    scope: &'a str,
    client_type: Option<&'a str>,
) -> NewApplication<'a> {
    NewApplication {
        name,
        redirect_uris,
        scope,
        client_type,
        id_token_alg: None,
    }
}

async fn oauth_applications_are_their_owners(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let bob = active_user(&e, "bob").await;
    let long = "n".repeat(101);
    let bad: [(NewApplication<'_>, &str); 9] = [
        (new("", &[REDIRECT], "openid", None), "name"),
        (new(&long, &[REDIRECT], "openid", None), "name"),
        (new("a", &[], "openid", None), "redirectUri"),
        (new("a", &[REDIRECT; 11], "openid", None), "redirectUri"),
        (
            new("a", &[REDIRECT, REDIRECT], "openid", None),
            "redirectUri",
        ),
        (
            new("a", &["http://127.0.0.1/cb"], "openid", None),
            "redirectUri",
        ),
        (new("a", &[REDIRECT], "openid admin", None), "scope"),
        (new("a", &[REDIRECT], "", None), "scope"),
        (
            new("a", &[REDIRECT], "openid", Some("secretive")),
            "clientType",
        ),
    ];
    for (n, field) in &bad {
        match e.register_application(&alice, n).await {
            Err(Error::Validation { field: f, .. }) => assert_eq!(f, *field, "{n:?}"),
            other => panic!("{n:?}: {other:?}"),
        }
    }
    let alg = NewApplication {
        id_token_alg: Some("HS256"),
        ..new("a", &[REDIRECT], "openid", None)
    };
    assert!(matches!(
        e.register_application(&alice, &alg).await,
        Err(Error::Validation {
            field: "idTokenAlg",
            ..
        })
    ));
    // registration is a command whose result names the client; the secret is shown once
    let done = e
        .register_application(
            &alice,
            &new(
                "Example",
                &[REDIRECT],
                "openid profile offline_access",
                None,
            ),
        )
        .await
        .unwrap();
    let id = done.value;
    let cmd = e.command(done.command.id).await.unwrap().unwrap();
    assert_eq!(cmd.result, vec![("clientId".into(), id.to_string())]);
    assert_eq!(
        e.application_configuration(&bob, ApplicationRef::Command(done.command.id))
            .await,
        Err(Error::NotFound)
    );
    let first = e
        .application_configuration(&alice, ApplicationRef::Command(done.command.id))
        .await
        .unwrap();
    let secret = first.client_secret.expect("the secret, once");
    assert!(secret.expose().starts_with("tsx_"));
    assert!(!format!("{secret:?}").contains(&secret.expose()[4..]));
    let application = first.application;
    assert_eq!(
        (
            application.client_id,
            application.name.as_str(),
            application.client_type()
        ),
        (id, "Example", "confidential")
    );
    assert_eq!(
        application.grant_types,
        ["authorization_code", "refresh_token", "client_credentials"]
    );
    let again = e
        .application_configuration(&alice, ApplicationRef::ClientId(id))
        .await
        .unwrap();
    assert!(again.client_secret.is_none());
    // others see nothing of it
    for r in [
        e.application_configuration(&bob, ApplicationRef::ClientId(id))
            .await
            .map(drop),
        e.rotate_application_secret(&bob, id).await.map(drop),
        e.remove_application(&bob, id).await.map(drop),
    ] {
        assert_eq!(r, Err(Error::NotFound));
    }
    assert!(e.list_applications(&bob).await.unwrap().is_empty());
    assert_eq!(
        e.list_applications(&alice).await.unwrap(),
        vec![application.clone()]
    );
    // but anyone may read what it asks for
    let scope = e.application_scope(&bob, id).await.unwrap();
    assert_eq!(scope.scopes, ["openid", "profile", "offline_access"]);
    assert!(scope.granted.is_empty());
    assert_eq!(
        e.application_scope(&bob, Uuid::new_v4()).await,
        Err(Error::NotFound)
    );
    // the secret authenticates; a rotation ends it at once
    let ok = e
        .client_credentials(&auth(id, Some(secret.expose())), None)
        .await
        .unwrap();
    assert_eq!(ok.scopes, ["profile"]);
    let rotated = e.rotate_application_secret(&alice, id).await.unwrap();
    assert!(e.command(rotated.command.id).await.unwrap().is_some());
    refused(
        e.client_credentials(&auth(id, Some(secret.expose())), None)
            .await,
        OAuthErrorCode::InvalidClient,
    );
    let new_secret = e
        .application_configuration(&alice, ApplicationRef::ClientId(id))
        .await
        .unwrap()
        .client_secret
        .unwrap();
    assert_ne!(new_secret, secret);
    e.client_credentials(&auth(id, Some(new_secret.expose())), None)
        .await
        .unwrap();
    // public clients have no secret; devices and inactive users register nothing
    let (public, none) = app(&e, &alice, false, "openid", None).await;
    assert!(none.is_none());
    assert!(matches!(
        e.rotate_application_secret(&alice, public).await,
        Err(Error::Validation { .. })
    ));
    let id2 = e.register_profile("carol", PW).await.unwrap().value;
    let t = e.authenticate("carol", PW, None).await.unwrap();
    let carol = e.verify(t.token.expose()).await.unwrap();
    assert_eq!(carol.profile_id, id2);
    assert_eq!(
        e.register_application(&carol, &new("x", &[REDIRECT], "openid", None))
            .await
            .map(|a| a.value),
        Err(Error::ProfileIncomplete)
    );
    // removal is a command; the application is gone with its tokens
    let removed = e.remove_application(&alice, id).await.unwrap();
    assert!(e.command(removed.command.id).await.unwrap().is_some());
    assert_eq!(
        e.remove_application(&alice, id).await.map(drop),
        Err(Error::NotFound)
    );
    let key = e.create_api_key("resource server").await.unwrap();
    let r = e
        .introspect(Introspector::ApiKey(key.expose()), ok.access_token.expose())
        .await
        .unwrap();
    assert!(r.is_none(), "the removed application's token is dead");
}

async fn oauth_code_exchange_issues_tokens_and_a_verifiable_id_token(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(
        &e,
        &alice,
        true,
        "openid profile email offline_access",
        None,
    )
    .await;
    let secret = secret.unwrap();
    let (verifier, challenge) = pkce();
    let auth_time = clock.now();
    clock.advance(5);
    let issued = e
        .issue_code(
            alice.profile_id,
            &CodeRequest {
                client_id: client,
                redirect_uri: REDIRECT.into(),
                scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
                code_challenge: Some(challenge.clone()),
                nonce: Some("n-0S6_WzA2Mj".into()),
                auth_time,
            },
        )
        .await
        .unwrap();
    assert!(issued.code.expose().starts_with("tsc_"));
    assert_eq!(issued.expires_at, clock.now().plus_secs(60));
    let t: OAuthTokens = e
        .exchange_code(
            &auth(client, Some(&secret)),
            &exchange(issued.code.expose(), Some(&verifier)),
        )
        .await
        .unwrap();
    assert!(t.access_token.expose().starts_with("tso_"));
    assert_eq!(t.access_token.expose().len(), 47);
    assert_eq!(t.expires_in, 3600);
    assert_eq!(t.scope(), "openid profile offline_access");
    assert_eq!(t.client_id, client);
    let refresh = t.refresh_token.as_ref().expect("offline_access → refresh");
    assert!(refresh.expose().starts_with("tsf_"));
    assert_eq!(
        t.refresh_expires_at,
        Some(clock.now().plus_secs(30 * 86_400))
    );
    // the id token verifies with the JWKS (RS256 by default) and says what it should
    let jwt = t.id_token.as_deref().expect("openid → id token");
    assert_eq!(
        jsonwebtoken::decode_header(jwt).unwrap().alg,
        Algorithm::RS256
    );
    let c = verified_claims(&e, jwt, client).await;
    assert_eq!(c["sub"], alice.profile_id.to_string());
    assert_eq!(c["aud"], client.to_string());
    assert_eq!(c["azp"], client.to_string());
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(c["auth_time"], auth_time.0);
    assert_eq!(c["iat"], clock.now().0);
    assert_eq!(c["exp"], clock.now().plus_secs(3600).0);
    let hash = <sha2::Sha256 as sha2::Digest>::digest(t.access_token.expose().as_bytes());
    assert_eq!(c["at_hash"], URL_SAFE_NO_PAD.encode(&hash[..16]));
    // the JWKS has both keys, public parts only
    let jwks = e.oauth_jwks().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        (keys[0]["kty"].as_str(), keys[0]["alg"].as_str()),
        (Some("RSA"), Some("RS256"))
    );
    assert_eq!(
        (keys[1]["kty"].as_str(), keys[1]["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(
        keys.iter()
            .all(|k| k.get("d").is_none() && k["use"] == "sig")
    );
    assert_ne!(keys[0]["kid"], keys[1]["kid"]);
    // userinfo and introspection
    let info = e.userinfo(t.access_token.expose()).await.unwrap();
    assert_eq!(info.sub, alice.profile_id);
    assert_eq!(info.preferred_username.as_deref(), Some("alice"));
    assert_eq!(info.profile_type, Some(ProfileKind::User));
    let a = e
        .introspect(
            Introspector::Client(&auth(client, Some(&secret))),
            t.access_token.expose(),
        )
        .await
        .unwrap()
        .expect("active");
    assert_eq!(
        (a.sub, a.client_id, a.token_type, a.username.as_deref()),
        (alice.profile_id, client, "Bearer", Some("alice"))
    );
    assert_eq!(a.scope, "openid profile offline_access");
    // OAuth access tokens are not Privicore tokens, nor the reverse
    assert_eq!(
        e.verify(t.access_token.expose()).await.map(drop),
        Err(Error::Unauthorized)
    );
    // without openid: no id token; without offline_access: no refresh token
    let c2 = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["profile"],
        Some(&challenge),
        None,
    )
    .await;
    let t2 = e
        .exchange_code(
            &auth(client, Some(&secret)),
            &exchange(&c2, Some(&verifier)),
        )
        .await
        .unwrap();
    assert!(t2.id_token.is_none() && t2.refresh_token.is_none());
    refused(
        e.userinfo(t2.access_token.expose()).await,
        OAuthErrorCode::InvalidToken,
    );
    // a public client: no secret, PKCE
    let (public, _) = app(&e, &alice, false, "openid", None).await;
    let c3 = code(
        &e,
        &clock,
        alice.profile_id,
        public,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    let t3 = e
        .exchange_code(&auth(public, None), &exchange(&c3, Some(&verifier)))
        .await
        .unwrap();
    assert!(t3.id_token.is_some());
    let c = verified_claims(&e, t3.id_token.as_deref().unwrap(), public).await;
    assert!(
        c.get("nonce").is_none(),
        "no nonce sent, none in the id token"
    );
    // a confidential client with a nonce may skip PKCE
    let c4 = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        None,
        Some("n"),
    )
    .await;
    e.exchange_code(&auth(client, Some(&secret)), &exchange(&c4, None))
        .await
        .unwrap();
    // a public client must send a challenge to get a code at all
    assert!(matches!(
        e.issue_code(
            alice.profile_id,
            &CodeRequest {
                client_id: public,
                redirect_uri: REDIRECT.into(),
                scopes: vec!["openid".into()],
                code_challenge: None,
                nonce: None,
                auth_time: clock.now(),
            }
        )
        .await,
        Err(Error::Validation { .. })
    ));
}

async fn oauth_code_bindings_are_checked_before_spending(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid profile", None).await;
    let secret = secret.unwrap();
    let (other, other_secret) = app(&e, &alice, true, "openid", None).await;
    let other_secret = other_secret.unwrap();
    let (public, _) = app(&e, &alice, false, "openid", None).await;
    let (verifier, challenge) = pkce();
    let good = auth(client, Some(&secret));
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    // client authentication comes first
    for bad in [
        auth(client, Some("tsx_wrong")),
        auth(client, None),
        auth(Uuid::new_v4(), Some(&secret)),
        ClientAuth {
            client_id: "not-a-uuid".into(),
            secret: Some(secret.clone()),
        },
        auth(public, Some("a secret for a public client")),
        ClientAuth {
            client_id: client.to_string(),
            secret: Some("x".repeat(600)),
        },
    ] {
        refused(
            e.exchange_code(&bad, &exchange(&c, Some(&verifier))).await,
            OAuthErrorCode::InvalidClient,
        );
    }
    // each broken binding is invalid_grant and leaves the code usable
    let (other_verifier, _) = pkce();
    let wrong_redirect = CodeExchange {
        redirect_uri: Some("https://app.example/cb/"),
        ..exchange(&c, Some(&verifier))
    };
    let cases: [(&ClientAuth, CodeExchange<'_>); 7] = [
        (
            &auth(other, Some(&other_secret)),
            exchange(&c, Some(&verifier)),
        ),
        (&good, exchange(&c, None)),
        (&good, exchange(&c, Some(&other_verifier))),
        (&good, exchange(&c, Some(&challenge))),
        (&good, exchange(&c, Some("short"))),
        (&good, wrong_redirect),
        (&good, exchange("tsc_malformed", Some(&verifier))),
    ];
    for (who, req) in &cases {
        refused(
            e.exchange_code(who, req).await,
            OAuthErrorCode::InvalidGrant,
        );
    }
    // without a redirect_uri: fine when PKCE binds the request
    e.exchange_code(
        &good,
        &CodeExchange {
            redirect_uri: None,
            ..exchange(&c, Some(&verifier))
        },
    )
    .await
    .unwrap();
    // a code without a challenge: no verifier, and the redirect URI is required
    let plain = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        None,
        Some("n"),
    )
    .await;
    refused(
        e.exchange_code(&good, &exchange(&plain, Some(&verifier)))
            .await,
        OAuthErrorCode::InvalidGrant,
    );
    refused(
        e.exchange_code(
            &good,
            &CodeExchange {
                redirect_uri: None,
                ..exchange(&plain, None)
            },
        )
        .await,
        OAuthErrorCode::InvalidGrant,
    );
    e.exchange_code(&good, &exchange(&plain, None))
        .await
        .unwrap();
    // a code lives 60 s
    let late = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    clock.advance(61);
    refused(
        e.exchange_code(&good, &exchange(&late, Some(&verifier)))
            .await,
        OAuthErrorCode::InvalidGrant,
    );
    // a profile that changed since the code (password changed: its tokens went)
    let c5 = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    e.change_password(&alice, PW, PW2).await.unwrap();
    refused(
        e.exchange_code(&good, &exchange(&c5, Some(&verifier)))
            .await,
        OAuthErrorCode::InvalidGrant,
    );
    // only active users get codes
    let id = e.register_profile("bob", PW).await.unwrap().value;
    assert_eq!(
        e.issue_code(
            id,
            &CodeRequest {
                client_id: client,
                redirect_uri: REDIRECT.into(),
                scopes: vec!["openid".into()],
                code_challenge: Some(challenge.clone()),
                nonce: None,
                auth_time: clock.now(),
            }
        )
        .await
        .map(drop),
        Err(Error::ProfileIncomplete)
    );
    // and only for what the application registered
    for (uri, scope) in [("https://evil.example/cb", "openid"), (REDIRECT, "email")] {
        assert!(matches!(
            e.issue_code(
                alice.profile_id,
                &CodeRequest {
                    client_id: client,
                    redirect_uri: uri.into(),
                    scopes: vec![scope.into()],
                    code_challenge: Some(challenge.clone()),
                    nonce: None,
                    auth_time: clock.now(),
                }
            )
            .await,
            Err(Error::Validation { .. })
        ));
    }
}

async fn oauth_code_reuse_revokes_what_it_issued(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid offline_access", None).await;
    let good = auth(client, secret.as_deref());
    let (verifier, challenge) = pkce();
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid", "offline_access"],
        Some(&challenge),
        None,
    )
    .await;
    let first = e
        .exchange_code(&good, &exchange(&c, Some(&verifier)))
        .await
        .unwrap();
    e.userinfo(first.access_token.expose()).await.unwrap();
    clock.advance(30);
    refused(
        e.exchange_code(&good, &exchange(&c, Some(&verifier))).await,
        OAuthErrorCode::InvalidGrant,
    );
    // everything the first exchange issued is gone
    refused(
        e.userinfo(first.access_token.expose()).await,
        OAuthErrorCode::InvalidToken,
    );
    refused(
        e.refresh_oauth(&good, first.refresh_token.as_ref().unwrap().expose(), None)
            .await,
        OAuthErrorCode::InvalidGrant,
    );
}

async fn oauth_refresh_rotates_and_reuse_ends_the_family(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid offline_access", None).await;
    let (other, other_secret) = app(&e, &alice, true, "openid offline_access", None).await;
    let good = auth(client, secret.as_deref());
    let (verifier, challenge) = pkce();
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid", "offline_access"],
        Some(&challenge),
        Some("nonce-1"),
    )
    .await;
    let t0 = e
        .exchange_code(&good, &exchange(&c, Some(&verifier)))
        .await
        .unwrap();
    let r0 = t0.refresh_token.as_ref().unwrap().expose().to_owned();
    let first = verified_claims(&e, t0.id_token.as_deref().unwrap(), client).await;
    // another client's refresh token: invalid_grant, and nothing changes
    refused(
        e.refresh_oauth(&auth(other, other_secret.as_deref()), &r0, None)
            .await,
        OAuthErrorCode::InvalidGrant,
    );
    refused(
        e.refresh_oauth(&good, &r0, Some("openid")).await,
        OAuthErrorCode::InvalidScope,
    );
    refused(
        e.refresh_oauth(&good, &r0, Some("openid profile")).await,
        OAuthErrorCode::InvalidScope,
    );
    clock.advance(100);
    let t1 = e
        .refresh_oauth(&good, &r0, Some("offline_access openid"))
        .await
        .unwrap();
    let r1 = t1.refresh_token.as_ref().unwrap().expose().to_owned();
    assert_ne!(r0, r1);
    assert_eq!(
        t1.refresh_expires_at, t0.refresh_expires_at,
        "rotation keeps the end"
    );
    let again = verified_claims(&e, t1.id_token.as_deref().unwrap(), client).await;
    for claim in ["iss", "sub", "aud", "azp", "auth_time"] {
        assert_eq!(first[claim], again[claim], "{claim}");
    }
    assert_eq!(
        again["iat"].as_i64(),
        Some(first["iat"].as_i64().unwrap() + 100)
    );
    // the old access token still works until its expiry; the new ones too
    e.userinfo(t0.access_token.expose()).await.unwrap();
    e.userinfo(t1.access_token.expose()).await.unwrap();
    // reuse of r0 ends the whole family
    refused(
        e.refresh_oauth(&good, &r0, None).await,
        OAuthErrorCode::InvalidGrant,
    );
    refused(
        e.refresh_oauth(&good, &r1, None).await,
        OAuthErrorCode::InvalidGrant,
    );
    for t in [&t0, &t1] {
        refused(
            e.userinfo(t.access_token.expose()).await,
            OAuthErrorCode::InvalidToken,
        );
    }
    refused(
        e.refresh_oauth(&good, "tsf_malformed", None).await,
        OAuthErrorCode::InvalidGrant,
    );
}

async fn oauth_client_credentials_for_apps_and_devices(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid profile directories", None).await;
    let good = auth(client, secret.as_deref());
    let t = e.client_credentials(&good, None).await.unwrap();
    assert_eq!(t.scopes, ["profile", "directories"]);
    assert!(t.refresh_token.is_none() && t.id_token.is_none());
    let t = e
        .client_credentials(&good, Some("directories"))
        .await
        .unwrap();
    assert_eq!(t.scope(), "directories");
    // introspection: the application speaks for itself
    let a = e
        .introspect(Introspector::Client(&good), t.access_token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.sub, a.client_id, a.username), (client, client, None));
    for scope in ["openid", "offline_access", "email", "nonsense"] {
        refused(
            e.client_credentials(&good, Some(scope)).await,
            OAuthErrorCode::InvalidScope,
        );
    }
    let (public, _) = app(&e, &alice, false, "openid", None).await;
    refused(
        e.client_credentials(&auth(public, None), None).await,
        OAuthErrorCode::UnauthorizedClient,
    );
    // a device is a client of its own, with a derived secret it reads in its configuration
    let qr = e.generate_qr_token(&alice, None, None).await.unwrap();
    let enr = e
        .redeem_qr_token(qr.token.expose(), "alice-phone", DEV_PW, None, None)
        .await
        .unwrap()
        .value;
    let dt = e.authenticate("alice-phone", DEV_PW, None).await.unwrap();
    let pd = e.verify(dt.token.expose()).await.unwrap();
    let kp = KeyPair::generate(&OsRandom);
    e.register_public_key(&pd, &kp.public().to_raw_hex(), &kp.prove(enr.profile_id))
        .await
        .unwrap();
    let cfg = e.device_configuration(&alice, enr.device_id).await.unwrap();
    assert_eq!(cfg.client_id, enr.profile_id);
    assert!(cfg.client_secret.expose().starts_with("tsd_"));
    let pd = e.verify(dt.token.expose()).await.unwrap();
    let own = e.device_configuration(&pd, enr.device_id).await.unwrap();
    assert_eq!(own.client_secret, cfg.client_secret);
    let dev = auth(cfg.client_id, Some(cfg.client_secret.expose()));
    // pending: not yet
    refused(
        e.client_credentials(&dev, None).await,
        OAuthErrorCode::UnauthorizedClient,
    );
    e.approve_device(&alice, enr.device_id).await.unwrap();
    let t = e
        .client_credentials(&dev, Some("directories"))
        .await
        .unwrap();
    let a = e
        .introspect(Introspector::Client(&dev), t.access_token.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.sub, a.client_id, a.username.as_deref()),
        (enr.profile_id, enr.profile_id, Some("alice-phone"))
    );
    refused(
        e.client_credentials(&auth(cfg.client_id, Some("tsd_wrong")), None)
            .await,
        OAuthErrorCode::InvalidClient,
    );
    refused(
        e.client_credentials(&auth(cfg.client_id, None), None).await,
        OAuthErrorCode::InvalidClient,
    );
    refused(
        e.client_credentials(&dev, Some("openid")).await,
        OAuthErrorCode::InvalidScope,
    );
    // a user profile is no client
    refused(
        e.client_credentials(&auth(alice.profile_id, Some("tsd_x")), None)
            .await,
        OAuthErrorCode::InvalidClient,
    );
    // removing the device ends its client and its tokens
    e.remove_device(&alice, enr.device_id).await.unwrap();
    refused(
        e.client_credentials(&dev, None).await,
        OAuthErrorCode::InvalidClient,
    );
    let key = e.create_api_key("rs").await.unwrap();
    assert!(
        e.introspect(Introspector::ApiKey(key.expose()), t.access_token.expose())
            .await
            .unwrap()
            .is_none()
    );
}

async fn oauth_introspection_and_revocation(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid offline_access", None).await;
    let (other, other_secret) = app(&e, &alice, true, "openid", None).await;
    let good = auth(client, secret.as_deref());
    let stranger = auth(other, other_secret.as_deref());
    let (verifier, challenge) = pkce();
    let issue = |nonce: &'static str| {
        let e = Arc::clone(&e);
        let clock = Arc::clone(&clock);
        let challenge = challenge.clone();
        let verifier = verifier.clone();
        let good = good.clone();
        async move {
            let c = code(
                &e,
                &clock,
                alice.profile_id,
                client,
                &["openid", "offline_access"],
                Some(&challenge),
                Some(nonce),
            )
            .await;
            e.exchange_code(&good, &exchange(&c, Some(&verifier)))
                .await
                .unwrap()
        }
    };
    let t = issue("a").await;
    let access = t.access_token.expose().to_owned();
    let refresh = t.refresh_token.as_ref().unwrap().expose().to_owned();
    let key = e.create_api_key("resource server").await.unwrap();
    let by_key = Introspector::ApiKey(key.expose());
    let r = e.introspect(by_key, &refresh).await.unwrap().unwrap();
    assert_eq!(r.token_type, "refresh_token");
    let a = e.introspect(by_key, &access).await.unwrap().unwrap();
    assert_eq!((a.token_type, a.iat), ("Bearer", clock.now()));
    // in process: the same answer, without a caller check; a refresh token is no access token
    assert_eq!(e.verify_oauth_access(&access).await.unwrap(), a);
    refused(
        e.verify_oauth_access(&refresh).await,
        OAuthErrorCode::InvalidToken,
    );
    assert_eq!(a.exp, clock.now().plus_secs(3600));
    assert_eq!(a.iss, e.config().oauth.issuer);
    // inactive: another client's, unknown, malformed, other kinds
    let login = e.authenticate("alice", PW, None).await.unwrap();
    for token in [
        access.as_str(),
        "tso_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "nonsense",
        login.token.expose(),
    ] {
        let who = if token == access { &stranger } else { &good };
        assert!(
            e.introspect(Introspector::Client(who), token)
                .await
                .unwrap()
                .is_none(),
            "{token}"
        );
    }
    refused(
        e.introspect(Introspector::ApiKey("tsk_wrong"), &access)
            .await,
        OAuthErrorCode::InvalidClient,
    );
    refused(
        e.introspect(Introspector::Client(&auth(client, Some("bad"))), &access)
            .await,
        OAuthErrorCode::InvalidClient,
    );
    // an expired access token is inactive
    clock.advance(3600);
    assert!(e.introspect(by_key, &access).await.unwrap().is_none());
    refused(
        e.verify_oauth_access(&access).await,
        OAuthErrorCode::InvalidToken,
    );
    // revocation: unknown and other clients' tokens are fine and untouched
    let t = issue("b").await;
    let access = t.access_token.expose().to_owned();
    let refresh = t.refresh_token.as_ref().unwrap().expose().to_owned();
    e.revoke_oauth_token(&stranger, &access).await.unwrap();
    e.revoke_oauth_token(&good, "tso_unknown").await.unwrap();
    e.revoke_oauth_token(&good, "").await.unwrap();
    assert!(e.introspect(by_key, &access).await.unwrap().is_some());
    refused(
        e.revoke_oauth_token(&auth(client, None), &access).await,
        OAuthErrorCode::InvalidClient,
    );
    // an access token revokes itself
    e.revoke_oauth_token(&good, &access).await.unwrap();
    assert!(e.introspect(by_key, &access).await.unwrap().is_none());
    assert!(e.introspect(by_key, &refresh).await.unwrap().is_some());
    // a refresh token revokes its grant
    let t2 = e.refresh_oauth(&good, &refresh, None).await.unwrap();
    e.revoke_oauth_token(&good, &refresh).await.unwrap();
    for token in [
        t2.access_token.expose(),
        t2.refresh_token.as_ref().unwrap().expose(),
    ] {
        assert!(e.introspect(by_key, token).await.unwrap().is_none());
    }
    // an inactive profile's tokens are inactive: sign out everywhere ends them
    let t = issue("c").await;
    let login = e.authenticate("alice", PW, None).await.unwrap();
    e.revoke(
        &e.verify(login.token.expose()).await.unwrap(),
        RevokeScope::All,
    )
    .await
    .unwrap();
    assert!(
        e.introspect(by_key, t.access_token.expose())
            .await
            .unwrap()
            .is_none()
    );
}

async fn oauth_consent_revocation_and_removal_end_tokens(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s.clone());
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid profile", None).await;
    let good = auth(client, secret.as_deref());
    let (verifier, challenge) = pkce();
    s.put_consent(&ConsentRecord {
        profile_id: alice.profile_id,
        client_id: client,
        scopes: vec!["openid".into(), "profile".into()],
        granted_at: clock.now(),
    })
    .await
    .unwrap();
    let consents = e.consents(&alice).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(
        (consents[0].client_id, consents[0].name.as_str()),
        (client, "Example app")
    );
    assert_eq!(
        e.application_scope(&alice, client).await.unwrap().granted,
        ["openid", "profile"]
    );
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    let t = e
        .exchange_code(&good, &exchange(&c, Some(&verifier)))
        .await
        .unwrap();
    let done = e.revoke_consent(&alice, client).await.unwrap();
    assert!(e.command(done.command.id).await.unwrap().is_some());
    refused(
        e.userinfo(t.access_token.expose()).await,
        OAuthErrorCode::InvalidToken,
    );
    assert!(e.consents(&alice).await.unwrap().is_empty());
    assert_eq!(
        e.revoke_consent(&alice, client).await.map(drop),
        Err(Error::NotFound)
    );
    // removing the application ends its codes too
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    e.remove_application(&alice, client).await.unwrap();
    refused(
        e.exchange_code(&good, &exchange(&c, Some(&verifier))).await,
        OAuthErrorCode::InvalidClient,
    );
    assert_eq!(alice.state, ProfileState::Active);
}

async fn oauth_id_token_hint_and_eddsa_clients(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let alice = active_user(&e, "alice").await;
    let (client, secret) = app(&e, &alice, true, "openid", Some("EdDSA")).await;
    let good = auth(client, secret.as_deref());
    let (verifier, challenge) = pkce();
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        client,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    let t = e
        .exchange_code(&good, &exchange(&c, Some(&verifier)))
        .await
        .unwrap();
    let jwt = t.id_token.unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(&jwt).unwrap().alg,
        Algorithm::EdDSA
    );
    let claims = verified_claims(&e, &jwt, client).await;
    let hash = <sha2::Sha512 as sha2::Digest>::digest(t.access_token.expose().as_bytes());
    assert_eq!(claims["at_hash"], URL_SAFE_NO_PAD.encode(&hash[..32]));
    // a hint: ours (expired or not) names its subject
    clock.advance(10 * 86_400);
    assert_eq!(e.verify_id_token_hint(&jwt).await, Ok(alice.profile_id));
    let (rs, rs_secret) = app(&e, &alice, true, "openid", None).await;
    let c = code(
        &e,
        &clock,
        alice.profile_id,
        rs,
        &["openid"],
        Some(&challenge),
        None,
    )
    .await;
    let t = e
        .exchange_code(
            &auth(rs, rs_secret.as_deref()),
            &exchange(&c, Some(&verifier)),
        )
        .await
        .unwrap();
    let rs_jwt = t.id_token.unwrap();
    assert_eq!(e.verify_id_token_hint(&rs_jwt).await, Ok(alice.profile_id));
    // anything else is refused: none, another key, a changed payload, garbage
    let parts: Vec<&str> = rs_jwt.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = Value::String(Uuid::new_v4().to_string());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &payload,
        &jsonwebtoken::EncodingKey::from_secret(b"k"),
    )
    .unwrap();
    for bad in [unsigned.as_str(), forged.as_str(), hs.as_str(), "x.y.z", ""] {
        assert_eq!(
            e.verify_id_token_hint(bad).await.unwrap_err().code,
            OAuthErrorCode::InvalidRequest,
            "{bad}"
        );
    }
}

/// `OAuthStore::put_grant`: a device is its own client (`client_id == profile_id`, a
/// device profile, no client record); a user profile is not. A device's grant: no
/// application removal reaches it, no consent can be given to it, its tokens go with the
/// device's (by profile), the purge takes it once expired, and withdrawing the device's
/// "consent" to itself ends it with its tokens.
async fn oauth_store_put_grant_takes_a_device_as_its_own_client(s: Arc<dyn Store>) {
    use tessera_core::clock::Timestamp;
    use tessera_core::store::{OAuthGrantRecord, StoreError, TokenRecord};
    use tessera_core::token::TokenKind;
    let owner = super::fixtures::profile("owner");
    s.create_profile(&owner, None).await.unwrap();
    let dev = super::fixtures::device(owner.id, "owner-phone");
    s.create_profile(&dev, None).await.unwrap();
    let grant = |profile: Uuid| OAuthGrantRecord {
        id: Uuid::new_v4(),
        client_id: profile,
        profile_id: profile,
        scopes: vec!["directories".into()],
        redirect_uri: None,
        code_challenge: None,
        nonce: None,
        auth_time: Timestamp(1000),
        created_at: Timestamp(1000),
        expires_at: Timestamp(5000),
    };
    let token = |g: &OAuthGrantRecord| TokenRecord {
        digest: super::fixtures::random_digest(),
        profile_id: g.profile_id,
        kind: TokenKind::OAuthAccess,
        issued_at: Timestamp(1000),
        expires_at: Timestamp(4600),
        family: Some(g.id),
    };
    let g = grant(dev.id);
    let t = token(&g);
    s.put_grant(&g, &t, dev.version).await.unwrap();
    let r = s.resolve_oauth(&t.digest).await.unwrap().expect("resolved");
    assert_eq!((&r.grant, r.token.profile_id), (&g, dev.id));
    // a user is no client of its own
    let refused = grant(owner.id);
    let refused_token = token(&refused);
    assert_eq!(
        s.put_grant(&refused, &refused_token, owner.version).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_grant(refused.id).await.unwrap(), None);
    assert_eq!(s.get_token(&refused_token.digest).await.unwrap(), None);
    // a version check as for any grant
    let stale = grant(dev.id);
    assert_eq!(
        s.put_grant(&stale, &token(&stale), dev.version + 1).await,
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(s.get_grant(stale.id).await.unwrap(), None);
    // the device is no application: removing one by its id is nothing, consents are refused
    assert!(!s.remove_client(dev.id, None).await.unwrap());
    assert_eq!(s.get_grant(g.id).await.unwrap(), Some(g.clone()));
    let consent = ConsentRecord {
        profile_id: dev.id,
        client_id: dev.id,
        scopes: vec!["directories".into()],
        granted_at: Timestamp(1000),
    };
    assert_eq!(s.put_consent(&consent).await, Err(StoreError::NotFound));
    assert_eq!(s.list_consents(dev.id).await.unwrap(), vec![]);
    // its tokens go with the device's; the grant stays until the purge
    assert_eq!(s.revoke_profile_tokens(dev.id, None).await.unwrap(), 1);
    assert_eq!(s.resolve_oauth(&t.digest).await.unwrap(), None);
    assert_eq!(s.get_grant(g.id).await.unwrap(), Some(g.clone()));
    assert_eq!(s.purge_expired(Timestamp(4999), 100).await.unwrap(), 0);
    assert_eq!(s.purge_expired(Timestamp(5000), 100).await.unwrap(), 1);
    assert_eq!(s.get_grant(g.id).await.unwrap(), None);
    // withdrawing the device's "consent" to itself ends its grants and their tokens
    let g = grant(dev.id);
    let t = token(&g);
    s.put_grant(&g, &t, dev.version).await.unwrap();
    assert!(s.revoke_consent(dev.id, dev.id, None).await.unwrap());
    assert_eq!(s.get_grant(g.id).await.unwrap(), None);
    assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    assert!(!s.revoke_consent(dev.id, dev.id, None).await.unwrap());
}
