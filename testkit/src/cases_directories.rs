//! Conformance cases: [`DirectoryStore`], every method, on the store under test.
//!
//! [`DirectoryStore`]: tessera_core::store::DirectoryStore

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{profile, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::ProfileState;
use tessera_core::store::{
    CommandRecord, CommandStatus, Conflict, DirectoryRecord, DirectoryRole, InvitationRecord,
    MembershipLimits, MembershipRecord, Revoke, Store, StoreError,
};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    directory_create_read_update,
    directory_short_names_ids_and_owners,
    directory_limits_bound_owners_and_members,
    directory_memberships_read_and_update,
    directory_owner_cannot_be_removed_or_demoted,
    directory_member_listing_in_join_order,
    directory_created_users_and_their_passwords,
    directory_invitations_accept_decline_expire,
    directory_removal_takes_memberships_and_invitations,
];

/// Generous bounds (the limits case sets its own).
pub(super) const LIMITS: MembershipLimits = MembershipLimits {
    owned_per_profile: 50,
    memberships_per_profile: 500,
};

/// A directory of `owner` with short name `short`, created at t = 1000.
pub(super) fn directory(owner: Uuid, short: &str) -> DirectoryRecord {
    DirectoryRecord {
        id: Uuid::new_v4(),
        name: format!("The {short} directory"),
        short_name: short.to_owned(),
        owner,
        meta: None,
        created_at: Timestamp(1000),
        updated_at: Timestamp(1000),
        version: 1,
        last_member_seq: 0,
    }
}

/// A membership of `profile` in `dir` with `role`, joined at `joined_at`.
pub(super) fn membership(
    dir: Uuid,
    profile: Uuid,
    role: DirectoryRole,
    joined_at: i64,
) -> MembershipRecord {
    MembershipRecord {
        directory_id: dir,
        profile_id: profile,
        role,
        given_name: Some("Given".into()),
        family_name: None,
        meta: Some("{\"desk\":7}".into()),
        created_by_directory: false,
        joined_at: Timestamp(joined_at),
        seq: 0,
        version: 1,
    }
}

/// An invitation of `dir` to `username` (`invitee` its profile), expiring at `expires_at`.
pub(super) fn invitation(
    dir: Uuid,
    username: &str,
    invitee: Option<Uuid>,
    expires_at: i64,
) -> InvitationRecord {
    InvitationRecord {
        id: Uuid::new_v4(),
        directory_id: dir,
        username: username.to_owned(),
        invitee,
        role: DirectoryRole::Member,
        invited_by: Uuid::new_v4(),
        created_at: Timestamp(1000),
        expires_at: Timestamp(expires_at),
    }
}

/// A fresh command record of `profile`.
fn command(profile: Uuid) -> CommandRecord {
    CommandRecord {
        id: Uuid::new_v4(),
        profile_id: Some(profile),
        status: CommandStatus::Succeeded,
        body: "Directory command".into(),
        result: vec![("directoryId".into(), "x".into())],
        created_at: Timestamp(1000),
        expires_at: Timestamp(1_000_000),
    }
}

/// A stored user profile named `name`.
pub(super) async fn user(s: &Arc<dyn Store>, name: &str) -> Uuid {
    let p = profile(name);
    s.create_profile(&p, None).await.unwrap();
    p.id
}

/// A stored directory of a new user `owner_name`; returns (directory, owner).
pub(super) async fn owned_directory(
    s: &Arc<dyn Store>,
    owner_name: &str,
    short: &str,
) -> (DirectoryRecord, Uuid) {
    let owner = user(s, owner_name).await;
    let d = directory(owner, short);
    let m = membership(d.id, owner, DirectoryRole::Owner, 1000);
    s.create_directory(&d, &m, LIMITS, None).await.unwrap();
    (d, owner)
}

/// Add `profile` to `dir` through an invitation accepted at `joined_at`.
pub(super) async fn join(
    s: &Arc<dyn Store>,
    dir: Uuid,
    profile: Uuid,
    role: DirectoryRole,
    joined_at: i64,
) {
    let mut inv = invitation(dir, "someone", Some(profile), i64::MAX);
    inv.role = role;
    s.create_invitation(&inv, 1_000_000, Timestamp(joined_at), None)
        .await
        .unwrap();
    let m = membership(dir, profile, role, joined_at);
    s.accept_invitation(inv.id, &m, LIMITS, Timestamp(joined_at), None)
        .await
        .unwrap();
}

async fn directory_create_read_update(s: Arc<dyn Store>) {
    let owner = user(&s, "olga").await;
    let mut d = directory(owner, "acme");
    let mut m = membership(d.id, owner, DirectoryRole::Owner, 1000);
    let c = command(owner);
    // the store numbers the members: the given numbers are ignored
    d.last_member_seq = 40;
    m.seq = 41;
    s.create_directory(&d, &m, LIMITS, Some(&c)).await.unwrap();
    d.last_member_seq = 1;
    m.seq = 1;
    assert_eq!(s.get_command(c.id).await.unwrap().as_ref(), Some(&c));
    assert_eq!(s.get_directory(d.id).await.unwrap().as_ref(), Some(&d));
    assert_eq!(s.get_directory(Uuid::new_v4()).await.unwrap(), None);
    let listed = s.list_profile_directories(owner).await.unwrap();
    assert_eq!(listed, vec![(d.clone(), m.clone())]);
    let me = s.get_member(d.id, owner).await.unwrap().unwrap();
    assert_eq!((me.membership, me.username.as_str()), (m, "olga"));
    assert_eq!(me.state, ProfileState::Incomplete);
    // an update keeps the short name, owner and creation time; checks the version
    let mut changed = d.clone();
    changed.name = "Acme Inc.".into();
    changed.meta = Some("{\"plan\":\"pro\"}".into());
    changed.short_name = "other".into();
    changed.owner = Uuid::new_v4();
    changed.created_at = Timestamp(5);
    changed.updated_at = Timestamp(2000);
    changed.version = 2;
    changed.last_member_seq = 99;
    let c = command(owner);
    assert_eq!(
        s.update_directory(&changed, 7, Some(&c)).await,
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    s.update_directory(&changed, 1, Some(&c)).await.unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    d.name = changed.name.clone();
    d.meta = changed.meta.clone();
    d.updated_at = Timestamp(2000);
    d.version = 2;
    assert_eq!(s.get_directory(d.id).await.unwrap().as_ref(), Some(&d));
    let mut ghost = directory(owner, "ghost");
    ghost.version = 2;
    assert_eq!(
        s.update_directory(&ghost, 1, None).await,
        Err(StoreError::NotFound)
    );
    // the short name was not moved by the update
    let again = directory(owner, "other");
    let m = membership(again.id, owner, DirectoryRole::Owner, 1000);
    s.create_directory(&again, &m, LIMITS, None).await.unwrap();
}

async fn directory_short_names_ids_and_owners(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let other = user(&s, "oscar").await;
    let same_short = directory(other, "acme");
    let c = command(other);
    let m = membership(same_short.id, other, DirectoryRole::Owner, 1000);
    assert_eq!(
        s.create_directory(&same_short, &m, LIMITS, Some(&c)).await,
        Err(StoreError::Conflict(Conflict::ShortName))
    );
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    assert_eq!(s.get_directory(same_short.id).await.unwrap(), None);
    assert!(s.list_profile_directories(other).await.unwrap().is_empty());
    let mut same_id = directory(other, "beta");
    same_id.id = d.id;
    let m = membership(d.id, other, DirectoryRole::Owner, 1000);
    assert_eq!(
        s.create_directory(&same_id, &m, LIMITS, None).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    // the refused registration did not claim its short name
    let beta = directory(other, "beta");
    let m = membership(beta.id, other, DirectoryRole::Owner, 1000);
    s.create_directory(&beta, &m, LIMITS, None).await.unwrap();
    // no owner profile
    let nobody = Uuid::new_v4();
    let orphan = directory(nobody, "orphan");
    let m = membership(orphan.id, nobody, DirectoryRole::Owner, 1000);
    assert_eq!(
        s.create_directory(&orphan, &m, LIMITS, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_directory(orphan.id).await.unwrap(), None);
    assert_eq!(s.list_profile_directories(owner).await.unwrap().len(), 1);
}

async fn directory_limits_bound_owners_and_members(s: Arc<dyn Store>) {
    let owner = user(&s, "olga").await;
    let limits = MembershipLimits {
        owned_per_profile: 2,
        memberships_per_profile: 3,
    };
    let mut dirs = Vec::new();
    for short in ["one", "two"] {
        let d = directory(owner, short);
        let m = membership(d.id, owner, DirectoryRole::Owner, 1000);
        s.create_directory(&d, &m, limits, None).await.unwrap();
        dirs.push(d);
    }
    let third = directory(owner, "three");
    let m = membership(third.id, owner, DirectoryRole::Owner, 1000);
    assert_eq!(
        s.create_directory(&third, &m, limits, None).await,
        Err(StoreError::Conflict(Conflict::Limit))
    );
    assert_eq!(s.get_directory(third.id).await.unwrap(), None);
    // the owned directories count toward the memberships: one more as a member, then full
    let (other, _) = owned_directory(&s, "oscar", "other").await;
    let (another, _) = owned_directory(&s, "otto", "another").await;
    for (d, expect) in [(other.id, Ok(())), (another.id, Err(Conflict::Limit))] {
        let inv = invitation(d, "olga", Some(owner), 10_000);
        s.create_invitation(&inv, 10, Timestamp(1000), None)
            .await
            .unwrap();
        let m = membership(d, owner, DirectoryRole::Member, 1000);
        let got = s
            .accept_invitation(inv.id, &m, limits, Timestamp(1000), None)
            .await;
        assert_eq!(got, expect.map_err(StoreError::Conflict));
        let still_there = s.get_invitation(inv.id).await.unwrap().is_some();
        assert_eq!(still_there, got.is_err(), "a refused accept keeps it");
    }
    assert_eq!(s.list_profile_directories(owner).await.unwrap().len(), 3);
    // removing a directory frees its place
    s.remove_directory(dirs[0].id, None).await.unwrap();
    let m = membership(third.id, owner, DirectoryRole::Owner, 1000);
    s.create_directory(&third, &m, limits, None).await.unwrap();
    // pending invitations of a directory are bounded; only live ones count
    let d = dirs[1].id;
    for exp in [1500, 10_000] {
        s.create_invitation(&invitation(d, "x", None, exp), 2, Timestamp(1000), None)
            .await
            .unwrap();
    }
    let one_more = invitation(d, "y", None, 10_000);
    assert_eq!(
        s.create_invitation(&one_more, 2, Timestamp(1000), None)
            .await,
        Err(StoreError::Conflict(Conflict::Limit))
    );
    s.create_invitation(&one_more, 2, Timestamp(1500), None)
        .await
        .unwrap();
    assert_eq!(
        s.create_invitation(&one_more, 9, Timestamp(1500), None)
            .await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    let nowhere = invitation(Uuid::new_v4(), "y", None, 10_000);
    assert_eq!(
        s.create_invitation(&nowhere, 9, Timestamp(1000), None)
            .await,
        Err(StoreError::NotFound)
    );
}

async fn directory_memberships_read_and_update(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let ann = user(&s, "ann").await;
    let bob = user(&s, "bob").await;
    let stranger = user(&s, "carl").await;
    join(&s, d.id, ann, DirectoryRole::Admin, 2000).await;
    join(&s, d.id, bob, DirectoryRole::Member, 3000).await;
    let got = s
        .get_members(d.id, &[bob, stranger, Uuid::new_v4(), owner, ann])
        .await
        .unwrap();
    let ids: Vec<Uuid> = got.iter().map(|m| m.membership.profile_id).collect();
    assert_eq!(
        ids,
        vec![bob, owner, ann],
        "in the order asked, non-members left out"
    );
    assert_eq!(got[0].username, "bob");
    assert_eq!(got[2].membership.role, DirectoryRole::Admin);
    assert!(s.get_members(d.id, &[]).await.unwrap().is_empty());
    assert_eq!(s.get_member(d.id, stranger).await.unwrap(), None);
    assert_eq!(s.get_member(Uuid::new_v4(), ann).await.unwrap(), None);
    // an update keeps joined_at and created_by_directory; checks the version
    let mut m = s.get_member(d.id, bob).await.unwrap().unwrap().membership;
    m.role = DirectoryRole::Admin;
    m.given_name = Some("Bob".into());
    m.family_name = Some("Builder".into());
    m.meta = None;
    m.joined_at = Timestamp(1);
    m.created_by_directory = true;
    let seq = m.seq;
    m.seq = 77;
    m.version = 2;
    let c = command(owner);
    assert_eq!(
        s.update_membership(&m, 5, Some(&c)).await,
        Err(StoreError::VersionMismatch)
    );
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    s.update_membership(&m, 1, Some(&c)).await.unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    let stored = s.get_member(d.id, bob).await.unwrap().unwrap().membership;
    m.joined_at = Timestamp(3000);
    m.created_by_directory = false;
    m.seq = seq;
    assert_eq!(stored, m);
    let mut ghost = membership(d.id, stranger, DirectoryRole::Member, 1000);
    ghost.version = 2;
    assert_eq!(
        s.update_membership(&ghost, 1, None).await,
        Err(StoreError::NotFound)
    );
    // the profile listing of a member: by joining time
    let (other, _) = owned_directory(&s, "oscar", "other").await;
    join(&s, other.id, bob, DirectoryRole::Member, 2500).await;
    let mine: Vec<(Uuid, DirectoryRole)> = s
        .list_profile_directories(bob)
        .await
        .unwrap()
        .iter()
        .map(|(dir, m)| (dir.id, m.role))
        .collect();
    assert_eq!(
        mine,
        vec![
            (other.id, DirectoryRole::Member),
            (d.id, DirectoryRole::Admin)
        ]
    );
    // a removal is of the membership only
    let before = s.get_profile(bob).await.unwrap();
    let c = command(owner);
    assert!(s.remove_membership(d.id, bob, Some(&c)).await.unwrap());
    assert!(s.get_command(c.id).await.unwrap().is_some());
    let c = command(owner);
    assert!(!s.remove_membership(d.id, bob, Some(&c)).await.unwrap());
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    assert_eq!(s.get_profile(bob).await.unwrap(), before);
    assert_eq!(s.get_member(d.id, bob).await.unwrap(), None);
    assert_eq!(s.list_profile_directories(bob).await.unwrap().len(), 1);
}

async fn directory_owner_cannot_be_removed_or_demoted(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let ann = user(&s, "ann").await;
    join(&s, d.id, ann, DirectoryRole::Admin, 2000).await;
    assert_eq!(
        s.remove_membership(d.id, owner, None).await,
        Err(StoreError::Conflict(Conflict::Owner))
    );
    let mut m = s.get_member(d.id, owner).await.unwrap().unwrap().membership;
    for role in [DirectoryRole::Admin, DirectoryRole::Member] {
        m.role = role;
        m.version = 2;
        assert_eq!(
            s.update_membership(&m, 1, None).await,
            Err(StoreError::Conflict(Conflict::Owner))
        );
    }
    // the owner's names and meta may change, its role not
    m.role = DirectoryRole::Owner;
    m.given_name = Some("Olga".into());
    s.update_membership(&m, 1, None).await.unwrap();
    // nobody else becomes owner
    let mut a = s.get_member(d.id, ann).await.unwrap().unwrap().membership;
    a.role = DirectoryRole::Owner;
    a.version = 2;
    assert_eq!(
        s.update_membership(&a, 1, None).await,
        Err(StoreError::Conflict(Conflict::Owner))
    );
    let stored = s.get_member(d.id, owner).await.unwrap().unwrap().membership;
    assert_eq!(stored.role, DirectoryRole::Owner);
    assert_eq!(stored.given_name.as_deref(), Some("Olga"));
}

async fn directory_member_listing_in_join_order(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let (other, _) = owned_directory(&s, "oscar", "other").await;
    let mut expected = vec![owner];
    // joining times out of order: the listing follows the order of joining, not the clock
    for i in 0..12 {
        let p = user(&s, &format!("member{i}")).await;
        let joined = 5000 - i64::from(i);
        join(&s, d.id, p, DirectoryRole::Member, joined).await;
        if i % 4 == 0 {
            join(&s, other.id, p, DirectoryRole::Member, joined).await;
        }
        expected.push(p);
    }
    let all = s.list_members(d.id, 0, 100).await.unwrap();
    let ids: Vec<Uuid> = all.iter().map(|m| m.membership.profile_id).collect();
    assert_eq!(ids, expected);
    let seqs: Vec<u64> = all.iter().map(|m| m.membership.seq).collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<u64>>());
    assert_eq!(all[0].username, "olga");
    assert_eq!(
        s.get_directory(d.id)
            .await
            .unwrap()
            .unwrap()
            .last_member_seq,
        13
    );
    // pages of 5 after the last number reproduce it
    let mut walked = Vec::new();
    let mut after = 0;
    loop {
        let page = s.list_members(d.id, after, 5).await.unwrap();
        assert!(page.len() <= 5);
        walked.extend(page.iter().map(|m| m.membership.profile_id));
        match page.last() {
            Some(m) if page.len() == 5 => after = m.membership.seq,
            _ => break,
        }
    }
    assert_eq!(walked, expected);
    // a member who leaves and joins again gets a new, later number; numbers are not reused
    let again = expected[3];
    s.remove_membership(d.id, again, None).await.unwrap();
    join(&s, d.id, again, DirectoryRole::Member, 1).await;
    let last = s.list_members(d.id, 13, 100).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0].membership.profile_id, last[0].membership.seq),
        (again, 14)
    );
    assert_eq!(s.list_members(d.id, 0, 100).await.unwrap().len(), 13);
    assert!(s.list_members(d.id, 14, 100).await.unwrap().is_empty());
    assert!(
        s.list_members(d.id, u64::MAX, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.list_members(d.id, 0, 0).await.unwrap().is_empty());
    assert!(
        s.list_members(Uuid::new_v4(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_members(other.id, 0, 100).await.unwrap().len(), 4);
}

async fn directory_created_users_and_their_passwords(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let mut made = profile("made");
    made.password_temporary = true;
    let mut m = membership(d.id, made.id, DirectoryRole::Member, 2000);
    m.created_by_directory = true;
    let c = command(owner);
    s.create_directory_user(&made, &m, Some(&c)).await.unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    assert_eq!(s.get_profile(made.id).await.unwrap().as_ref(), Some(&made));
    let got = s.get_member(d.id, made.id).await.unwrap().unwrap();
    m.seq = 2;
    assert_eq!(got.membership, m);
    // a taken username writes neither
    let clash = profile("made");
    let cm = membership(d.id, clash.id, DirectoryRole::Member, 2000);
    assert_eq!(
        s.create_directory_user(&clash, &cm, None).await,
        Err(StoreError::Conflict(Conflict::Username))
    );
    assert_eq!(s.get_member(d.id, clash.id).await.unwrap(), None);
    // no such directory writes neither
    let lost = profile("lost");
    let lm = membership(Uuid::new_v4(), lost.id, DirectoryRole::Member, 2000);
    assert_eq!(
        s.create_directory_user(&lost, &lm, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(s.get_profile(lost.id).await.unwrap(), None);
    assert_eq!(s.get_profile_by_username("lost").await.unwrap(), None);
    // a created profile's update revokes its tokens with it
    let t = token_record(made.id, 10_000);
    s.put_token(&t, 1).await.unwrap();
    let mut p = made.clone();
    p.password_hash = Some("$argon2id$v=19$m=64,t=1,p=1$bmV3c2FsdA$bmV3aGFzaA".into());
    p.version = 2;
    let c = command(owner);
    assert_eq!(
        s.update_created_profile(d.id, &p, 9, Revoke::All, Some(&c))
            .await,
        Err(StoreError::VersionMismatch)
    );
    assert!(s.get_token(&t.digest).await.unwrap().is_some());
    s.update_created_profile(d.id, &p, 1, Revoke::All, Some(&c))
        .await
        .unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    assert_eq!(s.get_profile(made.id).await.unwrap().as_ref(), Some(&p));
    // not for an invited member, nor in another directory
    let ann = user(&s, "ann").await;
    join(&s, d.id, ann, DirectoryRole::Member, 3000).await;
    let mut a = s.get_profile(ann).await.unwrap().unwrap();
    let ta = token_record(ann, 10_000);
    s.put_token(&ta, 1).await.unwrap();
    a.version = 2;
    let (other, _) = owned_directory(&s, "oscar", "other").await;
    let mut p3 = p.clone();
    p3.version = 3;
    for (dir, rec, expected) in [(d.id, &a, 1), (other.id, &p3, 2)] {
        assert_eq!(
            s.update_created_profile(dir, rec, expected, Revoke::All, None)
                .await,
            Err(StoreError::NotFound)
        );
    }
    assert!(s.get_token(&ta.digest).await.unwrap().is_some());
    assert_eq!(s.get_profile(ann).await.unwrap().unwrap().version, 1);
}

async fn directory_invitations_accept_decline_expire(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let ann = user(&s, "ann").await;
    let bob = user(&s, "bob").await;
    let mut to_ann = invitation(d.id, "ann", Some(ann), 5000);
    to_ann.role = DirectoryRole::Admin;
    let mut to_ann2 = invitation(d.id, "ann", Some(ann), 6000);
    to_ann2.created_at = Timestamp(1100);
    let to_nobody = invitation(d.id, "nobody", None, 5000);
    let c = command(owner);
    s.create_invitation(&to_ann, 10, Timestamp(1000), Some(&c))
        .await
        .unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    for i in [&to_ann2, &to_nobody] {
        s.create_invitation(i, 10, Timestamp(1000), None)
            .await
            .unwrap();
    }
    assert_eq!(
        s.get_invitation(to_ann.id).await.unwrap().as_ref(),
        Some(&to_ann)
    );
    let mut of_dir = vec![to_ann.clone(), to_ann2.clone(), to_nobody.clone()];
    of_dir.sort_by_key(|i| (i.created_at, i.id));
    assert_eq!(s.list_directory_invitations(d.id).await.unwrap(), of_dir);
    let of_ann = s.list_profile_invitations(ann).await.unwrap();
    assert_eq!(of_ann, {
        let mut v = vec![to_ann.clone(), to_ann2.clone()];
        v.sort_by_key(|i| (i.created_at, i.id));
        v
    });
    assert!(s.list_profile_invitations(bob).await.unwrap().is_empty());
    // only the invitee, of that directory, before expiry
    let m = membership(d.id, ann, DirectoryRole::Admin, 2000);
    let for_bob = membership(d.id, bob, DirectoryRole::Admin, 2000);
    let elsewhere = membership(Uuid::new_v4(), ann, DirectoryRole::Admin, 2000);
    for (rec, now) in [(&for_bob, 2000), (&elsewhere, 2000), (&m, 5000)] {
        let c = command(ann);
        assert_eq!(
            s.accept_invitation(to_ann.id, rec, LIMITS, Timestamp(now), Some(&c))
                .await,
            Err(StoreError::NotFound)
        );
        assert_eq!(s.get_command(c.id).await.unwrap(), None);
    }
    assert!(
        !s.decline_invitation(to_ann.id, bob, Timestamp(2000), None)
            .await
            .unwrap()
    );
    assert!(
        !s.decline_invitation(to_ann.id, ann, Timestamp(5000), None)
            .await
            .unwrap()
    );
    let nobody_m = membership(d.id, Uuid::new_v4(), DirectoryRole::Member, 2000);
    assert_eq!(
        s.accept_invitation(to_nobody.id, &nobody_m, LIMITS, Timestamp(2000), None)
            .await,
        Err(StoreError::NotFound),
        "an invitation to a name without a user is never accepted"
    );
    let c = command(ann);
    s.accept_invitation(to_ann.id, &m, LIMITS, Timestamp(2000), Some(&c))
        .await
        .unwrap();
    assert!(s.get_command(c.id).await.unwrap().is_some());
    assert_eq!(
        s.get_invitation(to_ann.id).await.unwrap(),
        None,
        "used once"
    );
    let mut stored = m.clone();
    stored.seq = 2;
    assert_eq!(
        s.get_member(d.id, ann).await.unwrap().unwrap().membership,
        stored
    );
    assert_eq!(
        s.accept_invitation(to_ann.id, &m, LIMITS, Timestamp(2000), None)
            .await,
        Err(StoreError::NotFound)
    );
    // a second invitation of a member: refused, and kept
    assert_eq!(
        s.accept_invitation(to_ann2.id, &m, LIMITS, Timestamp(2000), None)
            .await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert!(s.get_invitation(to_ann2.id).await.unwrap().is_some());
    let c = command(ann);
    assert!(
        s.decline_invitation(to_ann2.id, ann, Timestamp(2000), Some(&c))
            .await
            .unwrap()
    );
    assert!(s.get_command(c.id).await.unwrap().is_some());
    assert_eq!(s.get_invitation(to_ann2.id).await.unwrap(), None);
    // purge takes expired invitations only, at most `limit`
    for exp in [3000, 3000, 3001, 9000] {
        s.create_invitation(
            &invitation(d.id, "z", None, exp),
            100,
            Timestamp(1000),
            None,
        )
        .await
        .unwrap();
    }
    // to_nobody (5000) is not expired at 3000 either
    assert_eq!(s.purge_expired(Timestamp(3000), 1).await.unwrap(), 1);
    assert_eq!(s.purge_expired(Timestamp(3000), 10).await.unwrap(), 1);
    assert_eq!(s.purge_expired(Timestamp(3000), 10).await.unwrap(), 0);
    assert_eq!(s.list_directory_invitations(d.id).await.unwrap().len(), 3);
    assert_eq!(s.purge_expired(Timestamp(9000), 10).await.unwrap(), 3);
    assert!(s.list_directory_invitations(d.id).await.unwrap().is_empty());
}

async fn directory_removal_takes_memberships_and_invitations(s: Arc<dyn Store>) {
    let (d, owner) = owned_directory(&s, "olga", "acme").await;
    let (keep, _) = owned_directory(&s, "oscar", "keep").await;
    let ann = user(&s, "ann").await;
    join(&s, d.id, ann, DirectoryRole::Admin, 2000).await;
    join(&s, keep.id, ann, DirectoryRole::Member, 2000).await;
    let mut made = profile("made");
    made.password_temporary = true;
    let mut mm = membership(d.id, made.id, DirectoryRole::Member, 2000);
    mm.created_by_directory = true;
    s.create_directory_user(&made, &mm, None).await.unwrap();
    let inv = invitation(d.id, "bob", None, 10_000);
    let kept_inv = invitation(keep.id, "bob", None, 10_000);
    for i in [&inv, &kept_inv] {
        s.create_invitation(i, 10, Timestamp(1000), None)
            .await
            .unwrap();
    }
    let profiles_before = (
        s.get_profile(ann).await.unwrap(),
        s.get_profile(made.id).await.unwrap(),
        s.get_profile(owner).await.unwrap(),
    );
    let c = command(owner);
    assert!(s.remove_directory(d.id, Some(&c)).await.unwrap());
    assert!(s.get_command(c.id).await.unwrap().is_some());
    assert_eq!(s.get_directory(d.id).await.unwrap(), None);
    for p in [owner, ann, made.id] {
        assert_eq!(s.get_member(d.id, p).await.unwrap(), None);
    }
    assert!(s.list_members(d.id, 0, 10).await.unwrap().is_empty());
    assert!(s.list_directory_invitations(d.id).await.unwrap().is_empty());
    assert_eq!(s.get_invitation(inv.id).await.unwrap(), None);
    assert!(s.list_profile_directories(owner).await.unwrap().is_empty());
    let anns: Vec<Uuid> = s
        .list_profile_directories(ann)
        .await
        .unwrap()
        .iter()
        .map(|(dir, _)| dir.id)
        .collect();
    assert_eq!(anns, vec![keep.id]);
    assert!(s.get_invitation(kept_inv.id).await.unwrap().is_some());
    // no profile changed
    let profiles_after = (
        s.get_profile(ann).await.unwrap(),
        s.get_profile(made.id).await.unwrap(),
        s.get_profile(owner).await.unwrap(),
    );
    assert_eq!(profiles_after, profiles_before);
    // a second removal: nothing, no command; the short name is free again
    let c = command(owner);
    assert!(!s.remove_directory(d.id, Some(&c)).await.unwrap());
    assert_eq!(s.get_command(c.id).await.unwrap(), None);
    let again = directory(ann, "acme");
    let m = membership(again.id, ann, DirectoryRole::Owner, 3000);
    s.create_directory(&again, &m, LIMITS, None).await.unwrap();
}
