//! Conformance cases: server-registered users end to end on the store under test.

use std::collections::BTreeMap;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::cases_token_api::{PW, PW2, login};
use super::fixtures::test_engine;
use tessera_core::clock::Clock as _;
use tessera_core::engine::{ExternalUserUpsert, Login};
use tessera_core::error::Error;
use tessera_core::profile::ProfileState;
use tessera_core::store::Store;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_external_user_upsert_get_and_grants,
    engine_external_user_validation,
    engine_external_user_with_temporary_password,
    engine_concurrent_upserts_of_one_external_user,
];

const TEMP: &str = "granite pelican umbrella sonnet";

fn envs(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn upsert(id: &str) -> ExternalUserUpsert {
    ExternalUserUpsert {
        external_id: id.to_owned(),
        ..ExternalUserUpsert::default()
    }
}

async fn engine_external_user_upsert_get_and_grants(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(s);
    let created_at = clock.now();
    let out = e
        .upsert_external_user(ExternalUserUpsert {
            email: Some("ann@example.com".into()),
            metadata: Some(serde_json::json!({"plan": "pro", "seats": 3})),
            environments: envs(&[("prod", true), ("staging", false)]),
            create_token: true,
            ..upsert("auth0|ann")
        })
        .await
        .unwrap();
    assert!(out.created);
    let u = &out.user;
    assert_eq!(u.external_id, "auth0|ann");
    assert_eq!(u.username, format!("x-{}", u.profile_id.simple()));
    assert_eq!(u.email.as_deref(), Some("ann@example.com"));
    assert_eq!(u.metadata.as_ref().unwrap()["seats"], 3);
    assert_eq!(u.environments, vec!["prod".to_owned()]);
    assert_eq!((u.created_at, u.updated_at), (created_at, created_at));
    assert!(!u.password_temporary);
    let issued = out.token.expect("createToken");
    assert_eq!(issued.expires_at, clock.now().plus_secs(86_400));
    // the token is the login: an active profile carrying its grants
    let p = e.verify(issued.token.expose()).await.unwrap();
    assert_eq!(
        (p.profile_id, p.state),
        (u.profile_id, ProfileState::Active)
    );
    assert!(p.require_active().is_ok());
    assert!(p.can_access("prod") && !p.can_access("staging"));
    assert_eq!(&e.external_user("auth0|ann").await.unwrap(), u);
    // an update: grants change at the next verify; absent fields keep their values
    clock.advance(10);
    let out2 = e
        .upsert_external_user(ExternalUserUpsert {
            metadata: Some(serde_json::json!({})),
            environments: envs(&[("prod", false), ("staging", true), ("dev", true)]),
            ..upsert("auth0|ann")
        })
        .await
        .unwrap();
    assert!(!out2.created && out2.token.is_none());
    assert_eq!(out2.user.profile_id, u.profile_id);
    assert_eq!(out2.user.email.as_deref(), Some("ann@example.com"));
    assert_eq!(out2.user.metadata, Some(serde_json::json!({})));
    assert_eq!(out2.user.environments, vec!["dev", "staging"]);
    assert_eq!(out2.user.created_at, created_at);
    assert_eq!(out2.user.updated_at, clock.now());
    let p = e.verify(issued.token.expose()).await.unwrap();
    assert!(!p.can_access("prod") && p.can_access("staging") && p.can_access("dev"));
    assert_eq!(e.external_user("auth0|ann").await.unwrap(), out2.user);
    // such users have no password: no password login of any kind
    let name = out2.user.username.clone();
    assert_eq!(
        e.authenticate(&name, PW, None).await.err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(e.login(&name, PW).await.err(), Some(Error::Unauthorized));
    // another token, then logout ends both
    let again = e
        .upsert_external_user(ExternalUserUpsert {
            create_token: true,
            ..upsert("auth0|ann")
        })
        .await
        .unwrap()
        .token
        .unwrap();
    assert_eq!(e.logout_external_user("auth0|ann").await.unwrap(), 2);
    for t in [&issued.token, &again.token] {
        assert_eq!(e.verify(t.expose()).await, Err(Error::Unauthorized));
    }
    assert_eq!(e.external_user("auth0|bob").await, Err(Error::NotFound));
    assert_eq!(e.external_user("").await, Err(Error::NotFound));
    assert_eq!(
        e.logout_external_user("auth0|bob").await,
        Err(Error::NotFound)
    );
}

async fn engine_external_user_validation(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    e.register_profile("taken", PW).await.unwrap();
    let field = |r: Result<_, Error>| match r {
        Err(Error::Validation { field, .. }) => field,
        Err(other) => panic!("expected a validation error, got {other:?}"),
        Ok(_) => panic!("expected a validation error"),
    };
    for bad in ["", "has space", "é", &"x".repeat(256)] {
        assert_eq!(
            field(e.upsert_external_user(upsert(bad)).await),
            "externalId"
        );
    }
    let cases = [
        (
            ExternalUserUpsert {
                metadata: Some(serde_json::json!(["not", "an", "object"])),
                ..upsert("idp-1")
            },
            "metadata",
        ),
        (
            ExternalUserUpsert {
                metadata: Some(serde_json::json!({"big": "x".repeat(16 * 1024)})),
                ..upsert("idp-1")
            },
            "metadata",
        ),
        (
            ExternalUserUpsert {
                email: Some("not an email".into()),
                ..upsert("idp-1")
            },
            "email",
        ),
        (
            ExternalUserUpsert {
                environments: envs(&[("no spaces", true)]),
                ..upsert("idp-1")
            },
            "environments",
        ),
        (
            ExternalUserUpsert {
                temporary_password: Some(Zeroizing::new(TEMP.into())),
                ..upsert("idp-1")
            },
            "username",
        ),
    ];
    for (req, want) in cases {
        assert_eq!(field(e.upsert_external_user(req).await), want);
    }
    assert_eq!(
        e.upsert_external_user(ExternalUserUpsert {
            username: Some("Taken".into()),
            ..upsert("idp-1")
        })
        .await
        .err(),
        Some(Error::UsernameTaken)
    );
    assert!(matches!(
        e.upsert_external_user(ExternalUserUpsert {
            username: Some("b@d name".into()),
            ..upsert("idp-1")
        })
        .await,
        Err(Error::InvalidUsername(_))
    ));
    assert!(matches!(
        e.upsert_external_user(ExternalUserUpsert {
            username: Some("frank".into()),
            temporary_password: Some(Zeroizing::new("password12345678".into())),
            ..upsert("idp-1")
        })
        .await,
        Err(Error::WeakPassword { .. })
    ));
    // nothing of the above was created
    assert_eq!(e.external_user("idp-1").await, Err(Error::NotFound));
    // a username, once set, never changes
    e.upsert_external_user(ExternalUserUpsert {
        username: Some("frank".into()),
        ..upsert("idp-1")
    })
    .await
    .unwrap();
    assert_eq!(
        field(
            e.upsert_external_user(ExternalUserUpsert {
                username: Some("franklin".into()),
                ..upsert("idp-1")
            })
            .await
        ),
        "username"
    );
    e.upsert_external_user(ExternalUserUpsert {
        username: Some("FRANK".into()),
        ..upsert("idp-1")
    })
    .await
    .unwrap();
}

async fn engine_external_user_with_temporary_password(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let out = e
        .upsert_external_user(ExternalUserUpsert {
            username: Some("Gina".into()),
            temporary_password: Some(Zeroizing::new(TEMP.into())),
            environments: envs(&[("prod", true)]),
            ..upsert("okta:gina")
        })
        .await
        .unwrap();
    assert!(out.created && out.user.password_temporary);
    assert_eq!(out.user.username, "gina");
    assert_eq!(
        e.authenticate("gina", TEMP, None).await.err(),
        Some(Error::Unauthorized)
    );
    let Login::NewPasswordRequired { session } = e.login("gina", TEMP).await.unwrap() else {
        panic!("expected the challenge");
    };
    let set = e
        .complete_new_password("gina", session.expose(), PW)
        .await
        .unwrap();
    let p = e.verify(set.access_token.expose()).await.unwrap();
    assert!(p.can_access("prod"));
    assert!(
        !e.external_user("okta:gina")
            .await
            .unwrap()
            .password_temporary
    );
    // a new temporary password from the server ends every session
    e.upsert_external_user(ExternalUserUpsert {
        temporary_password: Some(Zeroizing::new(PW2.into())),
        ..upsert("okta:gina")
    })
    .await
    .unwrap();
    assert_eq!(
        e.verify(set.access_token.expose()).await,
        Err(Error::Unauthorized)
    );
    assert_eq!(e.login("gina", PW).await.err(), Some(Error::Unauthorized));
    assert!(matches!(
        e.login("gina", PW2).await.unwrap(),
        Login::NewPasswordRequired { .. }
    ));
    assert!(
        e.external_user("okta:gina")
            .await
            .unwrap()
            .password_temporary
    );
    // and logout works on password users too
    let Login::NewPasswordRequired { session } = e.login("gina", PW2).await.unwrap() else {
        panic!("expected the challenge");
    };
    e.complete_new_password("gina", session.expose(), PW)
        .await
        .unwrap();
    let set = login(&e, "gina", PW).await;
    e.logout_external_user("okta:gina").await.unwrap();
    assert_eq!(
        e.verify(set.access_token.expose()).await,
        Err(Error::Unauthorized)
    );
}

async fn engine_concurrent_upserts_of_one_external_user(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let e = Arc::clone(&e);
            tokio::spawn(async move {
                e.upsert_external_user(ExternalUserUpsert {
                    environments: envs(&[(&format!("env{i}"), true)]),
                    ..upsert("idp|race")
                })
                .await
            })
        })
        .collect();
    let mut created = 0;
    let mut profiles = std::collections::HashSet::new();
    for t in tasks {
        let out = t.await.unwrap().unwrap();
        created += usize::from(out.created);
        profiles.insert(out.user.profile_id);
    }
    assert_eq!(created, 1, "exactly one upsert creates");
    assert_eq!(profiles.len(), 1, "one profile");
    let u = e.external_user("idp|race").await.unwrap();
    assert_eq!(u.environments.len(), 12, "no grant lost");
}
