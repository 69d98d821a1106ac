//! Conformance cases: directories end to end through the engine on the store under test.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::test_engine;
use tessera_core::clock::Clock as _;
use tessera_core::engine::{
    Engine, InvitationDecision, Login, MemberUpdate, NewDirectoryUser, directories,
};
use tessera_core::error::Error;
use tessera_core::key::KeyPair;
use tessera_core::principal::Principal;
use tessera_core::profile::ProfileState;
use tessera_core::random::OsRandom;
use tessera_core::store::{CommandStatus, DirectoryRole, Store};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_directory_lifecycle,
    engine_directory_users_and_their_passwords,
    engine_directory_invitations,
    engine_directory_member_devices,
];

pub(super) const PW: &str = "velvet thunder orchard kites";
pub(super) const TEMP: &str = "granite pelican umbrella sonnet";
const PW2: &str = "marble lantern bicycle reef";

/// Register `name`, register a key: an active user. Returns its id and token.
pub(super) async fn active_user(e: &Engine, name: &str) -> (Uuid, String) {
    let id = e.register_profile(name, PW).await.unwrap().value;
    let t = e.authenticate(name, PW, None).await.unwrap();
    let p = e.verify(t.token.expose()).await.unwrap();
    let kp = KeyPair::generate(&OsRandom);
    e.register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(id))
        .await
        .unwrap();
    (id, t.token.expose().to_owned())
}

/// An active user's principal.
pub(super) async fn active(e: &Engine, name: &str) -> Principal {
    let (_, token) = active_user(e, name).await;
    e.verify(&token).await.unwrap()
}

/// Invite `who` into `dir` with `role` and accept as `who`.
pub(super) async fn invite_and_accept(
    e: &Engine,
    by: &Principal,
    dir: Uuid,
    who: &Principal,
    username: &str,
    role: DirectoryRole,
) {
    let inv = e
        .invite_profile(by, dir, username, Some(role))
        .await
        .unwrap()
        .value;
    e.process_invitation(who, inv, InvitationDecision::Accept)
        .await
        .unwrap();
}

async fn engine_directory_lifecycle(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(Arc::clone(&s));
    let olga = active(&e, "olga").await;
    let ann = active(&e, "ann").await;
    let mut events = e.subscribe().await.unwrap();
    let done = e
        .register_directory(&olga, "Acme Inc.", "ACME")
        .await
        .unwrap();
    let dir = done.value;
    // a command of the owner, recorded with its change and pushed
    assert_eq!(done.command.profile_id, Some(olga.profile_id));
    assert_eq!(
        done.command.result,
        vec![("directoryId".to_owned(), dir.hyphenated().to_string())]
    );
    let rec = e.command(done.command.id).await.unwrap().unwrap();
    assert_eq!(rec.status, CommandStatus::Succeeded);
    assert_eq!(events.recv().await.unwrap().command.id, done.command.id);
    let d = e.directory(&olga, dir).await.unwrap();
    assert_eq!(
        (d.name.as_str(), d.short_name.as_str(), d.owner, d.role),
        ("Acme Inc.", "acme", olga.profile_id, DirectoryRole::Owner)
    );
    assert_eq!(d.created_at, clock.now());
    assert_eq!(e.owned_directories(&olga).await.unwrap(), vec![d.clone()]);
    assert!(e.assigned_directories(&olga).await.unwrap().is_empty());
    // the short name is taken, in any spelling that folds to it
    for taken in ["acme", "ＡＣＭＥ"] {
        let err = e
            .register_directory(&ann, "Other", taken)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("directoryShortName"), "{taken}");
    }
    // not a member: NotFound, as for an unknown directory
    assert_eq!(e.directory(&ann, dir).await, Err(Error::NotFound));
    assert_eq!(
        e.directory(&olga, Uuid::new_v4()).await,
        Err(Error::NotFound)
    );
    invite_and_accept(&e, &olga, dir, &ann, "ann", DirectoryRole::Admin).await;
    let seen = e.directory(&ann, dir).await.unwrap();
    assert_eq!(seen.role, DirectoryRole::Admin);
    assert_eq!(e.assigned_directories(&ann).await.unwrap(), vec![seen]);
    // meta: a JSON object, stored compact
    e.store_directory_meta(&ann, dir, "{ \"plan\": \"pro\" }")
        .await
        .unwrap();
    let d = e.directory(&olga, dir).await.unwrap();
    assert_eq!(d.meta.as_deref(), Some("{\"plan\":\"pro\"}"));
    for bad in [
        "[1]",
        "nope",
        &format!("{{\"k\":\"{}\"}}", "x".repeat(4096)),
    ] {
        let err = e.store_directory_meta(&olga, dir, bad).await.unwrap_err();
        assert_eq!(err.field(), Some("meta"));
    }
    // the claim hook of the OpenID `directories` scope
    let claims = e.directory_claims(ann.profile_id).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(
        (claims[0].id, claims[0].short_name.as_str(), claims[0].role),
        (dir, "acme", DirectoryRole::Admin)
    );
    assert!(e.directory_claims(Uuid::new_v4()).await.unwrap().is_empty());
    // roles: the owner is never demoted or removed, not even by itself
    for who in [&olga, &ann] {
        let err = e
            .change_member_role(who, dir, olga.profile_id, DirectoryRole::Member)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("profileId"));
        let err = e
            .remove_member(who, dir, olga.profile_id)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("profileId"));
    }
    let err = e
        .change_member_role(&olga, dir, ann.profile_id, DirectoryRole::Owner)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("role"));
    e.change_member_role(&olga, dir, ann.profile_id, DirectoryRole::Member)
        .await
        .unwrap();
    assert_eq!(
        e.store_directory_meta(&ann, dir, "{}").await,
        Err(Error::Forbidden)
    );
    // removal of a member changes nothing of its profile
    let before = s.get_profile(ann.profile_id).await.unwrap();
    e.remove_member(&olga, dir, ann.profile_id).await.unwrap();
    assert_eq!(s.get_profile(ann.profile_id).await.unwrap(), before);
    assert_eq!(
        e.verify_digest(&ann.token).await.map(|p| p.profile_id),
        Ok(ann.profile_id)
    );
    assert_eq!(e.directory(&ann, dir).await, Err(Error::NotFound));
    assert!(e.directory_claims(ann.profile_id).await.unwrap().is_empty());
    // only the owner removes the directory; the short name is free again
    invite_and_accept(&e, &olga, dir, &ann, "ann", DirectoryRole::Admin).await;
    assert_eq!(e.remove_directory(&ann, dir).await, Err(Error::Forbidden));
    e.remove_directory(&olga, dir).await.unwrap();
    assert_eq!(e.directory(&olga, dir).await, Err(Error::NotFound));
    assert_eq!(e.remove_directory(&olga, dir).await, Err(Error::NotFound));
    assert!(e.owned_directories(&olga).await.unwrap().is_empty());
    assert!(e.assigned_directories(&ann).await.unwrap().is_empty());
    e.register_directory(&ann, "Acme again", "acme")
        .await
        .unwrap();
}

async fn engine_directory_users_and_their_passwords(s: Arc<dyn Store>) {
    let (e, _) = test_engine(Arc::clone(&s));
    let olga = active(&e, "olga").await;
    let ann = active(&e, "ann").await;
    let bob = active(&e, "bob").await;
    let dir = e
        .register_directory(&olga, "Acme", "acme")
        .await
        .unwrap()
        .value;
    invite_and_accept(&e, &olga, dir, &ann, "ann", DirectoryRole::Admin).await;
    invite_and_accept(&e, &olga, dir, &bob, "bob", DirectoryRole::Member).await;
    let user = |username| NewDirectoryUser {
        username,
        given_name: "Carol",
        family_name: "Jones",
        temporary_password: TEMP,
    };
    assert_eq!(
        e.create_directory_user(&bob, dir, user("carol")).await,
        Err(Error::Forbidden)
    );
    let done = e
        .create_directory_user(&ann, dir, user("Carol"))
        .await
        .unwrap();
    let carol = done.value;
    assert_eq!(
        done.command.result,
        vec![("profileId".to_owned(), carol.hyphenated().to_string())]
    );
    assert_eq!(
        e.create_directory_user(&ann, dir, user("carol")).await,
        Err(Error::UsernameTaken)
    );
    let p = e.directory_profile(&bob, dir, carol).await.unwrap();
    assert_eq!(
        (
            p.username.as_str(),
            p.given_name.as_deref(),
            p.family_name.as_deref()
        ),
        ("carol", Some("Carol"), Some("Jones"))
    );
    assert_eq!(
        (p.role, p.state),
        (DirectoryRole::Member, ProfileState::Incomplete)
    );
    assert!(p.created_by_directory);
    // NEW_PASSWORD_REQUIRED at first login, as for `tessera admin create-user`
    assert_eq!(
        e.authenticate("carol", TEMP, None).await.err(),
        Some(Error::Unauthorized)
    );
    let Login::NewPasswordRequired { session } = e.login("carol", TEMP).await.unwrap() else {
        panic!("expected the challenge");
    };
    let set = e
        .complete_new_password("carol", session.expose(), PW2)
        .await
        .unwrap();
    assert!(e.verify(set.access_token.expose()).await.is_ok());
    // set-profile-password: only for users the directory created; tokens revoked with it
    assert_eq!(
        e.set_member_password(&ann, dir, bob.profile_id, TEMP).await,
        Err(Error::Forbidden)
    );
    assert_eq!(
        e.set_member_password(&bob, dir, carol, TEMP).await,
        Err(Error::Forbidden)
    );
    assert_eq!(
        e.set_member_password(&ann, dir, Uuid::new_v4(), TEMP).await,
        Err(Error::NotFound)
    );
    assert!(matches!(
        e.set_member_password(&ann, dir, carol, "password12345678")
            .await,
        Err(Error::WeakPassword { .. })
    ));
    e.set_member_password(&ann, dir, carol, PW).await.unwrap();
    assert_eq!(
        e.verify(set.access_token.expose()).await,
        Err(Error::Unauthorized)
    );
    assert!(matches!(
        e.login("carol", PW).await.unwrap(),
        Login::NewPasswordRequired { .. }
    ));
    // member information: one's own, or (owner, admin) a member's
    let mine = MemberUpdate {
        given_name: Some("Robert"),
        meta: Some("{\"desk\":7}"),
        ..MemberUpdate::default()
    };
    e.update_member_information(&bob, dir, bob.profile_id, mine)
        .await
        .unwrap();
    assert_eq!(
        e.update_member_information(&bob, dir, carol, mine).await,
        Err(Error::Forbidden)
    );
    // an admin does not manage the owner or other admins
    assert_eq!(
        e.update_member_information(&ann, dir, olga.profile_id, mine)
            .await,
        Err(Error::Forbidden)
    );
    let clear = MemberUpdate {
        family_name: Some(""),
        ..MemberUpdate::default()
    };
    e.update_member_information(&ann, dir, carol, clear)
        .await
        .unwrap();
    let infos = e
        .directory_profiles(&bob, dir, &[carol, bob.profile_id, carol, Uuid::new_v4()])
        .await
        .unwrap();
    assert_eq!(infos.len(), 2, "duplicates once, non-members left out");
    assert_eq!(
        (infos[0].profile_id, infos[0].family_name.as_deref()),
        (carol, None)
    );
    assert_eq!(infos[1].given_name.as_deref(), Some("Robert"));
    assert_eq!(infos[1].meta.as_deref(), Some("{\"desk\":7}"));
    // removing the directory leaves the users it created, without the membership
    e.remove_directory(&olga, dir).await.unwrap();
    let carol_now = s.get_profile(carol).await.unwrap().unwrap();
    assert_eq!(carol_now.username, "carol");
    assert!(e.directory_claims(carol).await.unwrap().is_empty());
}

async fn engine_directory_invitations(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(Arc::clone(&s));
    let olga = active(&e, "olga").await;
    let ann = active(&e, "ann").await;
    let bob = active(&e, "bob").await;
    let dir = e
        .register_directory(&olga, "Acme", "acme")
        .await
        .unwrap()
        .value;
    // the same answer whether the username exists: a command with an invitationId
    let real = e.invite_profile(&olga, dir, "ANN", None).await.unwrap();
    let ghost = e.invite_profile(&olga, dir, "nobody", None).await.unwrap();
    for a in [&real, &ghost] {
        assert_eq!(a.command.body, "Profile invited");
        assert_eq!(a.command.result[0].0, "invitationId");
    }
    let pending = e.directory_invitations(&olga, dir).await.unwrap();
    let mut names: Vec<&str> = pending.iter().map(|i| i.username.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["ann", "nobody"], "both pending alike");
    assert!(pending.iter().all(|i| i.role == DirectoryRole::Member));
    assert!(matches!(
        e.invite_profile(&olga, dir, "x", None).await,
        Err(Error::InvalidUsername(_))
    ));
    let err = e
        .invite_profile(&olga, dir, "olga", None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("username"), "already a member");
    // the invitee sees its own invitations; nobody else can use them
    let mine = e.my_invitations(&ann).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].id, mine[0].directory_short_name.as_str()),
        (real.value, "acme")
    );
    assert!(e.my_invitations(&bob).await.unwrap().is_empty());
    for inv in [real.value, ghost.value, Uuid::new_v4()] {
        assert_eq!(
            e.process_invitation(&bob, inv, InvitationDecision::Accept)
                .await,
            Err(Error::NotFound)
        );
    }
    // a name registered after the invitation does not inherit it
    let nobody = active(&e, "nobody").await;
    assert!(e.my_invitations(&nobody).await.unwrap().is_empty());
    assert_eq!(
        e.process_invitation(&nobody, ghost.value, InvitationDecision::Accept)
            .await,
        Err(Error::NotFound)
    );
    // members cannot invite; admins cannot invite above themselves; nobody invites owners
    e.process_invitation(&ann, real.value, InvitationDecision::Accept)
        .await
        .unwrap();
    assert_eq!(
        e.process_invitation(&ann, real.value, InvitationDecision::Accept)
            .await,
        Err(Error::NotFound),
        "used once"
    );
    assert_eq!(
        e.invite_profile(&ann, dir, "bob", None).await,
        Err(Error::Forbidden)
    );
    assert_eq!(
        e.directory_invitations(&ann, dir).await,
        Err(Error::Forbidden)
    );
    let err = e
        .invite_profile(&olga, dir, "bob", Some(DirectoryRole::Owner))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("role"));
    // decline, then expiry after 7 days
    let to_bob = e
        .invite_profile(&olga, dir, "bob", None)
        .await
        .unwrap()
        .value;
    e.process_invitation(&bob, to_bob, InvitationDecision::Decline)
        .await
        .unwrap();
    assert_eq!(
        e.process_invitation(&bob, to_bob, InvitationDecision::Accept)
            .await,
        Err(Error::NotFound)
    );
    let to_bob = e
        .invite_profile(&olga, dir, "bob", None)
        .await
        .unwrap()
        .value;
    clock.advance(7 * 86_400);
    assert!(e.my_invitations(&bob).await.unwrap().is_empty());
    assert!(
        e.directory_invitations(&olga, dir)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        e.process_invitation(&bob, to_bob, InvitationDecision::Accept)
            .await,
        Err(Error::NotFound)
    );
    assert!(e.purge_expired(100).await.unwrap() >= 2);
    assert_eq!(s.get_invitation(to_bob).await.unwrap(), None);
    assert_eq!(
        directories::parse_granted_role("owner")
            .unwrap_err()
            .field(),
        Some("role")
    );
    assert_eq!(
        InvitationDecision::parse("maybe").unwrap_err().field(),
        Some("decision")
    );
}

async fn engine_directory_member_devices(s: Arc<dyn Store>) {
    let (e, _) = test_engine(s);
    let olga = active(&e, "olga").await;
    let ann = active(&e, "ann").await;
    let bob = active(&e, "bob").await;
    let dir = e
        .register_directory(&olga, "Acme", "acme")
        .await
        .unwrap()
        .value;
    invite_and_accept(&e, &olga, dir, &ann, "ann", DirectoryRole::Admin).await;
    invite_and_accept(&e, &olga, dir, &bob, "bob", DirectoryRole::Member).await;
    // a QR token owned by the member: the device is the member's
    let qr = e
        .create_member_device(
            &ann,
            dir,
            bob.profile_id,
            Some("Bob's phone"),
            Some("authenticator"),
        )
        .await
        .unwrap();
    assert!(qr.uri.ends_with("&role=authenticator"), "{}", qr.uri);
    let enrolled = e
        .redeem_qr_token(
            qr.token.expose(),
            "bob-phone",
            PW2,
            None,
            Some("authenticator"),
        )
        .await
        .unwrap()
        .value;
    let owned = e.list_devices(&bob).await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].device_id, enrolled.device_id);
    assert_eq!(owned[0].name.as_deref(), Some("Bob's phone"));
    assert!(e.list_devices(&ann).await.unwrap().is_empty());
    let page = e.directory_devices(&olga, dir, None, None).await.unwrap();
    assert_eq!(page.devices.len(), 1);
    assert_eq!(page.devices[0].member, bob.profile_id);
    assert_eq!(page.next_cursor, None);
    assert_eq!(
        e.directory_devices(&bob, dir, None, None).await,
        Err(Error::Forbidden)
    );
    // members do not provision; admins not for the owner; the member must be active
    assert_eq!(
        e.create_member_device(&bob, dir, bob.profile_id, None, None)
            .await
            .err(),
        Some(Error::Forbidden)
    );
    assert_eq!(
        e.create_member_device(&ann, dir, olga.profile_id, None, None)
            .await
            .err(),
        Some(Error::Forbidden)
    );
    let carol = e
        .create_directory_user(
            &olga,
            dir,
            NewDirectoryUser {
                username: "carol",
                given_name: "Carol",
                family_name: "Jones",
                temporary_password: TEMP,
            },
        )
        .await
        .unwrap()
        .value;
    let err = e
        .create_member_device(&olga, dir, carol, None, None)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("profileId"));
    let err = e
        .create_member_device(&olga, dir, bob.profile_id, None, Some("printer"))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("role"));
    assert_eq!(
        e.create_member_device(&olga, dir, Uuid::new_v4(), None, None)
            .await
            .err(),
        Some(Error::NotFound)
    );
}
