//! Conformance cases: directories under concurrency. Short names, single-use invitations and
//! the member listing hold however the tasks interleave.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::cases_directories::{LIMITS, directory, invitation, join, membership, user};
use super::cases_directories_engine::active_user;
use super::fixtures::test_engine;
use tessera_core::clock::{Clock as _, Timestamp};
use tessera_core::store::{Conflict, DirectoryRole, Store, StoreError};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    race_32_registrations_of_one_short_name,
    race_20_accepts_of_one_invitation,
    race_member_walk_while_members_join_and_leave,
];

async fn race_32_registrations_of_one_short_name(s: Arc<dyn Store>) {
    let mut owners = Vec::new();
    for i in 0..32 {
        owners.push(user(&s, &format!("owner{i}")).await);
    }
    for round in 0..3 {
        let short = format!("contested-{round}");
        let tasks: Vec<_> = owners
            .iter()
            .map(|owner| {
                let s = Arc::clone(&s);
                let d = directory(*owner, &short);
                let m = membership(d.id, *owner, DirectoryRole::Owner, 1000);
                tokio::spawn(async move {
                    s.create_directory(&d, &m, LIMITS, None)
                        .await
                        .map(|()| d.id)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(id) => winners.push(id),
                Err(e) => assert_eq!(e, StoreError::Conflict(Conflict::ShortName)),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one registration of {short} wins");
        let stored = s.get_directory(winners[0]).await.unwrap().unwrap();
        assert_eq!(stored.short_name, short);
        let owning: usize = {
            let mut n = 0;
            for o in &owners {
                n += s
                    .list_profile_directories(*o)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|(d, _)| d.short_name == short)
                    .count();
            }
            n
        };
        assert_eq!(owning, 1, "the losers wrote no membership");
    }
}

async fn race_20_accepts_of_one_invitation(s: Arc<dyn Store>) {
    let owner = user(&s, "olga").await;
    let d = directory(owner, "acme");
    let m = membership(d.id, owner, DirectoryRole::Owner, 1000);
    s.create_directory(&d, &m, LIMITS, None).await.unwrap();
    for round in 0..3 {
        let ann = user(&s, &format!("ann{round}")).await;
        let inv = invitation(d.id, &format!("ann{round}"), Some(ann), 10_000);
        s.create_invitation(&inv, 100, Timestamp(1000), None)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let s = Arc::clone(&s);
                let m = membership(d.id, ann, DirectoryRole::Member, 2000 + i);
                tokio::spawn(async move {
                    s.accept_invitation(inv.id, &m, LIMITS, Timestamp(2000), None)
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => ok += 1,
                Err(e) => assert!(
                    matches!(
                        e,
                        StoreError::NotFound | StoreError::Conflict(Conflict::Exists)
                    ),
                    "{e:?}"
                ),
            }
        }
        assert_eq!(ok, 1, "exactly one accept wins");
        assert_eq!(s.get_invitation(inv.id).await.unwrap(), None);
        let mine = s.list_profile_directories(ann).await.unwrap();
        assert_eq!(mine.len(), 1, "one membership");
        let members = s.list_members(d.id, 0, 100).await.unwrap();
        assert_eq!(
            members
                .iter()
                .filter(|m| m.membership.profile_id == ann)
                .count(),
            1
        );
    }
}

/// A walk of the member listing with cursors, while other tasks add members, remove some
/// and add some back: no member is listed twice, and every member present throughout is
/// listed.
async fn race_member_walk_while_members_join_and_leave(s: Arc<dyn Store>) {
    let (e, clock) = test_engine(Arc::clone(&s));
    let (_, token) = active_user(&e, "olga").await;
    let olga = e.verify(&token).await.unwrap();
    let dir = e
        .register_directory(&olga, "Acme", "acme")
        .await
        .unwrap()
        .value;
    let mut stayers = vec![olga.profile_id];
    let mut leavers = Vec::new();
    for i in 0..90 {
        let p = user(&s, &format!("member{i}")).await;
        // several per second, so the profile id orders within a second
        let joined = clock.now().0 + i64::from(i / 4);
        join(&s, dir, p, DirectoryRole::Member, joined).await;
        if i % 3 == 0 {
            leavers.push(p);
        } else {
            stayers.push(p);
        }
    }
    clock.advance(60);
    let mut newcomers = Vec::new();
    for i in 0..40 {
        newcomers.push(user(&s, &format!("late{i}")).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let s = Arc::clone(&s);
        let stop = Arc::clone(&stop);
        let clock = Arc::clone(&clock);
        let leavers = leavers.clone();
        tokio::spawn(async move {
            let mut round = 0usize;
            while !stop.load(Ordering::SeqCst) && round < leavers.len() {
                let now = clock.now().0;
                // one leaves, one newcomer joins, and a leaver comes back (a later key)
                s.remove_membership(dir, leavers[round], None)
                    .await
                    .unwrap();
                if let Some(p) = newcomers.get(round) {
                    join(&s, dir, *p, DirectoryRole::Member, now).await;
                }
                if round % 2 == 1 {
                    join(&s, dir, leavers[round - 1], DirectoryRole::Member, now).await;
                }
                round += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = e
            .list_directory_members(&olga, dir, Some(7), cursor.as_deref())
            .await
            .unwrap();
        for m in &page.members {
            assert!(seen.insert(m.profile_id), "{} listed twice", m.profile_id);
        }
        pages += 1;
        clock.advance(1);
        tokio::task::yield_now().await;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    stop.store(true, Ordering::SeqCst);
    churn.await.unwrap();
    assert!(pages >= 9, "{pages} pages");
    for p in &stayers {
        assert!(
            seen.contains(p),
            "{p} was a member throughout but not listed"
        );
    }
}
