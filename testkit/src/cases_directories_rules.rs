//! Conformance cases: the directory role table through the engine (every role and
//! operation pair, and the 404 of non-members), cursors, bounds and bad input.

use std::sync::Arc;

use uuid::Uuid;

use super::cases_directories_engine::{TEMP, active, invite_and_accept};
use tessera_core::clock::ManualClock;
use tessera_core::engine::directories::permissions;
use tessera_core::engine::{
    DirectoryLimits, DirectoryOperation as Op, Engine, EngineConfig, MemberUpdate, NewDirectoryUser,
};
use tessera_core::error::{Error, Result};
use tessera_core::hasher::HashParams;
use tessera_core::principal::Principal;
use tessera_core::store::{DirectoryRole, Store};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_directory_role_table_for_every_pair,
    engine_directory_cursors,
    engine_directory_bounds,
    engine_directory_bad_input,
];

/// An engine with cheap hashing and the given directory bounds.
fn engine(store: Arc<dyn Store>, limits: DirectoryLimits) -> Arc<Engine> {
    let config = EngineConfig {
        hash_params: HashParams::INSECURE_FOR_TESTS,
        allow_weak_hash_params: true,
        hash_workers: 2,
        directories: limits,
        ..EngineConfig::default()
    };
    Arc::new(
        Engine::builder()
            .store(store)
            .clock(Arc::new(ManualClock::default()))
            .config(config)
            .build()
            .unwrap(),
    )
}

/// The people of one directory: its owner, an admin, a member, another member to act on,
/// and a user the directory created.
struct Cast {
    owner: Principal,
    admin: Principal,
    member: Principal,
    target: Principal,
    outsider: Principal,
}

/// Do `op` on `dir` as `actor`, on `cast.target` where it takes a member (`n` keeps names
/// unique). `Ok` or the engine's refusal.
async fn perform(
    e: &Engine,
    actor: &Principal,
    dir: Uuid,
    op: Op,
    cast: &Cast,
    n: usize,
) -> Result<()> {
    let target = cast.target.profile_id;
    let created = |username| NewDirectoryUser {
        username,
        given_name: "Made",
        family_name: "Here",
        temporary_password: TEMP,
    };
    let info = MemberUpdate {
        given_name: Some("Renamed"),
        ..MemberUpdate::default()
    };
    match op {
        Op::RetrieveDirectory => e.directory(actor, dir).await.map(drop),
        Op::StoreMeta => e.store_directory_meta(actor, dir, "{}").await.map(drop),
        Op::RemoveDirectory => e.remove_directory(actor, dir).await.map(drop),
        Op::CreateUser => {
            let name = format!("made{n}");
            e.create_directory_user(actor, dir, created(&name))
                .await
                .map(drop)
        }
        Op::UpdateOwnInformation => e
            .update_member_information(actor, dir, actor.profile_id, info)
            .await
            .map(drop),
        Op::UpdateMemberInformation => e
            .update_member_information(actor, dir, target, info)
            .await
            .map(drop),
        Op::SetProfilePassword => {
            // the one member the directory created, made by its owner for this call
            let name = format!("pw{n}");
            let made = e
                .create_directory_user(&cast.owner, dir, created(&name))
                .await
                .map_or_else(|_| Uuid::new_v4(), |a| a.value);
            e.set_member_password(actor, dir, made, TEMP)
                .await
                .map(drop)
        }
        Op::RetrieveProfile => e.directory_profile(actor, dir, target).await.map(drop),
        Op::ListUsers => e
            .list_directory_members(actor, dir, None, None)
            .await
            .map(drop),
        Op::ProfilesInfo => e.directory_profiles(actor, dir, &[target]).await.map(drop),
        Op::Invite => e
            .invite_profile(actor, dir, "someone-else", None)
            .await
            .map(drop),
        Op::ListInvitations => e.directory_invitations(actor, dir).await.map(drop),
        Op::ChangeRole => e
            .change_member_role(actor, dir, target, DirectoryRole::Member)
            .await
            .map(drop),
        Op::RemoveMember => e.remove_member(actor, dir, target).await.map(drop),
        Op::Leave => e
            .remove_member(actor, dir, actor.profile_id)
            .await
            .map(drop),
        Op::CreateProfileDevice => e
            .create_member_device(actor, dir, target, None, None)
            .await
            .map(drop),
        Op::ListDevices => e.directory_devices(actor, dir, None, None).await.map(drop),
    }
}

async fn engine_directory_role_table_for_every_pair(s: Arc<dyn Store>) {
    let e = engine(s, DirectoryLimits::default());
    let cast = Cast {
        owner: active(&e, "owner").await,
        admin: active(&e, "admin").await,
        member: active(&e, "member").await,
        target: active(&e, "target").await,
        outsider: active(&e, "outsider").await,
    };
    let mut n = 0;
    for op in Op::ALL {
        for (role, actor) in [
            (Some(DirectoryRole::Owner), &cast.owner),
            (Some(DirectoryRole::Admin), &cast.admin),
            (Some(DirectoryRole::Member), &cast.member),
            (None, &cast.outsider),
        ] {
            n += 1;
            // a fresh directory per pair: some operations remove what they act on
            let dir = e
                .register_directory(&cast.owner, "Table", &format!("t-{n}"))
                .await
                .unwrap()
                .value;
            for (who, name, r) in [
                (&cast.admin, "admin", DirectoryRole::Admin),
                (&cast.member, "member", DirectoryRole::Member),
                (&cast.target, "target", DirectoryRole::Member),
            ] {
                invite_and_accept(&e, &cast.owner, dir, who, name, r).await;
            }
            let got = perform(&e, actor, dir, op, &cast, n).await;
            match role {
                None => assert_eq!(got, Err(Error::NotFound), "non-member {op:?}"),
                Some(role) if !permissions::allowed(role, op) => {
                    assert_eq!(got, Err(Error::Forbidden), "{role:?} {op:?}");
                }
                // the owner may leave by the table, but its membership is never removed
                Some(DirectoryRole::Owner) if op == Op::Leave => {
                    assert_eq!(got.unwrap_err().field(), Some("profileId"));
                }
                Some(role) => assert_eq!(got, Ok(()), "{role:?} {op:?}"),
            }
            // the same for a directory that does not exist
            if role == Some(DirectoryRole::Owner) {
                let none = perform(&e, actor, Uuid::new_v4(), op, &cast, n + 10_000).await;
                assert_eq!(none, Err(Error::NotFound), "unknown directory {op:?}");
            }
            let _ = e.remove_directory(&cast.owner, dir).await;
        }
    }
    assert_eq!(n, 4 * Op::ALL.len());
}

async fn engine_directory_cursors(s: Arc<dyn Store>) {
    let e = engine(s, DirectoryLimits::default());
    let olga = active(&e, "olga").await;
    let dir = e
        .register_directory(&olga, "One", "one")
        .await
        .unwrap()
        .value;
    let other = e
        .register_directory(&olga, "Two", "two")
        .await
        .unwrap()
        .value;
    for i in 0..5 {
        let p = active(&e, &format!("mem{i}")).await;
        invite_and_accept(
            &e,
            &olga,
            dir,
            &p,
            &format!("mem{i}"),
            DirectoryRole::Member,
        )
        .await;
        invite_and_accept(
            &e,
            &olga,
            other,
            &p,
            &format!("mem{i}"),
            DirectoryRole::Member,
        )
        .await;
    }
    let first = e
        .list_directory_members(&olga, dir, Some(2), None)
        .await
        .unwrap();
    assert_eq!(first.members.len(), 2);
    assert_eq!(first.members[0].role, DirectoryRole::Owner);
    let cursor = first.next_cursor.unwrap();
    let second = e
        .list_directory_members(&olga, dir, Some(2), Some(&cursor))
        .await
        .unwrap();
    assert_ne!(second.members[0].profile_id, first.members[1].profile_id);
    let third = e
        .list_directory_members(&olga, dir, Some(2), second.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(third.members.len(), 2);
    assert_eq!(third.next_cursor, None, "six members in pages of two");
    // a cursor of another directory, edited, or made up: 422 on `cursor`
    let mut edited = cursor.clone().into_bytes();
    edited[5] = if edited[5] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).unwrap();
    for bad in [cursor.as_str(), &edited, "", "AAAA", &"A".repeat(44), "%%%"] {
        let on = if bad == cursor { other } else { dir };
        let err = e
            .list_directory_members(&olga, on, Some(2), Some(bad))
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("cursor"), "{bad:?}");
        let err = e
            .directory_devices(&olga, on, Some(2), Some(bad))
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("cursor"), "{bad:?}");
    }
    for limit in [0, 501] {
        let err = e
            .list_directory_members(&olga, dir, Some(limit), None)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("limit"));
    }
    assert_eq!(
        e.list_directory_members(&olga, dir, Some(500), None)
            .await
            .unwrap()
            .members
            .len(),
        6
    );
}

async fn engine_directory_bounds(s: Arc<dyn Store>) {
    let limits = DirectoryLimits {
        owned_per_profile: 2,
        memberships_per_profile: 3,
        pending_invitations: 2,
    };
    let e = engine(s, limits);
    let olga = active(&e, "olga").await;
    let otto = active(&e, "otto").await;
    let one = e
        .register_directory(&olga, "One", "one")
        .await
        .unwrap()
        .value;
    e.register_directory(&olga, "Two", "two").await.unwrap();
    let err = e
        .register_directory(&olga, "Three", "three")
        .await
        .unwrap_err();
    assert_eq!(
        err.field(),
        Some("directoryName"),
        "owned directories are bounded"
    );
    // memberships per profile: two owned + one more, then an accept is refused
    let a = e.register_directory(&otto, "A", "aa").await.unwrap().value;
    let b = e.register_directory(&otto, "B", "bb").await.unwrap().value;
    invite_and_accept(&e, &otto, a, &olga, "olga", DirectoryRole::Member).await;
    let inv = e
        .invite_profile(&otto, b, "olga", None)
        .await
        .unwrap()
        .value;
    let err = e
        .process_invitation(&olga, inv, tessera_core::engine::InvitationDecision::Accept)
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("invitationId"));
    // pending invitations per directory
    e.invite_profile(&olga, one, "pp1", None).await.unwrap();
    e.invite_profile(&olga, one, "pp2", None).await.unwrap();
    let err = e.invite_profile(&olga, one, "pp3", None).await.unwrap_err();
    assert_eq!(err.field(), Some("directoryId"));
    // profile ids per info call
    let ids: Vec<Uuid> = (0..101).map(|_| Uuid::new_v4()).collect();
    let err = e.directory_profiles(&olga, one, &ids).await.unwrap_err();
    assert_eq!(err.field(), Some("profileId"));
    let err = e.directory_profiles(&olga, one, &[]).await.unwrap_err();
    assert_eq!(err.field(), Some("profileId"));
    assert_eq!(
        e.directory_profiles(&olga, one, &ids[..100])
            .await
            .unwrap()
            .len(),
        0
    );
    assert!(
        EngineConfig {
            directories: DirectoryLimits {
                owned_per_profile: 0,
                ..DirectoryLimits::default()
            },
            ..EngineConfig::default()
        }
        .validate()
        .is_err()
    );
}

async fn engine_directory_bad_input(s: Arc<dyn Store>) {
    let e = engine(s, DirectoryLimits::default());
    let olga = active(&e, "olga").await;
    let field = |r: Result<tessera_core::Accepted<Uuid>>| r.unwrap_err().field();
    // names at and over their limits
    let name100 = "n".repeat(100);
    e.register_directory(&olga, &name100, "n100").await.unwrap();
    for bad in [
        String::new(),
        "n".repeat(101),
        "a\u{7}b".into(),
        "  ".into(),
    ] {
        assert_eq!(
            field(e.register_directory(&olga, &bad, "fine").await),
            Some("directoryName"),
            "{bad:?}"
        );
    }
    // short names at and over their limits, and confusables (NFKC, then the charset)
    let short32 = "s".repeat(32);
    e.register_directory(&olga, "x", &short32).await.unwrap();
    e.register_directory(&olga, "x", "ab").await.unwrap();
    for bad in [
        "a".to_owned(),
        "s".repeat(33),
        "\u{430}cme".into(),
        "acme\u{200b}".into(),
        "ac me".into(),
        "-acme".into(),
        "ac_me".into(),
        String::new(),
    ] {
        assert_eq!(
            field(e.register_directory(&olga, "x", &bad).await),
            Some("directoryShortName"),
            "{bad:?}"
        );
    }
    let dir = e
        .register_directory(&olga, "x", "acme")
        .await
        .unwrap()
        .value;
    // member names and meta
    let user = |given: &'static str| NewDirectoryUser {
        username: "made",
        given_name: given,
        family_name: "F",
        temporary_password: TEMP,
    };
    for (given, field_name) in [("", "givenName"), ("a\nb", "givenName")] {
        assert_eq!(
            field(e.create_directory_user(&olga, dir, user(given)).await),
            Some(field_name)
        );
    }
    let too_long = "g".repeat(101);
    let over = NewDirectoryUser {
        given_name: &too_long,
        ..user("g")
    };
    assert_eq!(
        field(e.create_directory_user(&olga, dir, over).await),
        Some("givenName")
    );
    for meta in [
        "[]",
        "1",
        "{",
        &format!("{{\"k\":\"{}\"}}", "x".repeat(4090)),
    ] {
        let upd = MemberUpdate {
            meta: Some(meta),
            ..MemberUpdate::default()
        };
        let err = e
            .update_member_information(&olga, dir, olga.profile_id, upd)
            .await
            .unwrap_err();
        assert_eq!(err.field(), Some("meta"), "{meta}");
    }
    // devices and incomplete profiles are refused before anything about the directory
    assert_eq!(
        e.register_directory(
            &Principal {
                state: tessera_core::profile::ProfileState::Incomplete,
                ..olga.clone()
            },
            "x",
            "incomplete"
        )
        .await
        .err(),
        Some(Error::ProfileIncomplete)
    );
}
