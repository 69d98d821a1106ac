//! Conformance cases of the guards every process on one store shares: nonce claims (the
//! message adapter's replay guard) and the throttle's reservation of a credential attempt.

use std::sync::Arc;

use super::faulty::FaultyStore;
use super::fixtures::test_engine;
use tessera_core::clock::Timestamp;
use tessera_core::error::Error;
use tessera_core::store::{Reservation, Store, ThrottlePolicy, ThrottleRecord};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    nonce_claimed_once_until_it_expires,
    nonce_purge_removes_only_expired_claims,
    race_nonce_claims,
    throttle_reservation_counts_at_the_edge_and_releases,
    race_throttle_reservations_at_a_backoff_edge,
    engines_share_the_throttle_and_the_nonces,
    throttle_reservation_released_when_the_login_fails,
];

const PW: &str = "velvet thunder orchard kites";

fn rec(failures: u32, t: i64) -> ThrottleRecord {
    ThrottleRecord {
        failures,
        last_failure: Timestamp(t),
    }
}

async fn nonce_claimed_once_until_it_expires(s: Arc<dyn Store>) {
    let (a, b) = ([1u8; 32], [2u8; 32]);
    assert!(
        s.claim_nonce(&a, Timestamp(100), Timestamp(10))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_nonce(&a, Timestamp(100), Timestamp(10))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_nonce(&a, Timestamp(500), Timestamp(99))
            .await
            .unwrap(),
        "live until 100"
    );
    assert!(
        s.claim_nonce(&b, Timestamp(100), Timestamp(10))
            .await
            .unwrap(),
        "keys are apart"
    );
    // expired at 100: claimed again, with the new expiry
    assert!(
        s.claim_nonce(&a, Timestamp(200), Timestamp(100))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_nonce(&a, Timestamp(300), Timestamp(199))
            .await
            .unwrap()
    );
    assert!(
        s.claim_nonce(&a, Timestamp(300), Timestamp(200))
            .await
            .unwrap()
    );
}

async fn nonce_purge_removes_only_expired_claims(s: Arc<dyn Store>) {
    for (i, exp) in [50, 100, 60, 200].into_iter().enumerate() {
        assert!(
            s.claim_nonce(&[i as u8; 32], Timestamp(exp), Timestamp(0))
                .await
                .unwrap()
        );
    }
    // the bound holds, earliest first; the claim expiring after `now` stays
    assert_eq!(s.purge_expired(Timestamp(100), 2).await.unwrap(), 2);
    assert_eq!(s.purge_expired(Timestamp(100), 10).await.unwrap(), 1);
    assert_eq!(s.purge_expired(Timestamp(100), 10).await.unwrap(), 0);
    // a purged claim is gone (claiming at an earlier `now` would otherwise find it live)…
    for i in 0..3u8 {
        assert!(
            s.claim_nonce(&[i; 32], Timestamp(1000), Timestamp(0))
                .await
                .unwrap(),
            "claim {i} purged"
        );
    }
    // …and the live one is still there
    assert!(
        !s.claim_nonce(&[3; 32], Timestamp(1000), Timestamp(0))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_nonce(&[3; 32], Timestamp(1000), Timestamp(199))
            .await
            .unwrap()
    );
}

async fn race_nonce_claims(s: Arc<dyn Store>) {
    let key = [7u8; 32];
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.claim_nonce(&key, Timestamp(100), Timestamp(1)).await })
        })
        .collect();
    let mut first = 0;
    for t in tasks {
        first += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(first, 1, "16 concurrent claims of one nonce");
}

async fn throttle_reservation_counts_at_the_edge_and_releases(s: Arc<dyn Store>) {
    let p = ThrottlePolicy::default();
    let allowed = |before, counted| Reservation::Allowed { before, counted };
    // free failures: allowed, nothing written
    assert_eq!(
        s.reserve_attempt("erin", Timestamp(10), p).await.unwrap(),
        allowed(None, None)
    );
    assert_eq!(s.get_throttle("erin").await.unwrap(), None);
    for _ in 0..4 {
        s.record_failure("erin", Timestamp(10)).await.unwrap();
    }
    // the fifth failure would start the backoff: counted before the attempt runs
    assert_eq!(
        s.reserve_attempt("erin", Timestamp(11), p).await.unwrap(),
        allowed(Some(rec(4, 10)), Some(rec(5, 11)))
    );
    assert_eq!(s.get_throttle("erin").await.unwrap(), Some(rec(5, 11)));
    assert_eq!(
        s.reserve_attempt("erin", Timestamp(11), p).await.unwrap(),
        Reservation::Refused { retry_after: 1 }
    );
    // released: the counter is as before the attempt; a second release finds nothing
    assert!(
        s.release_attempt("erin", rec(5, 11), Some(rec(4, 10)))
            .await
            .unwrap()
    );
    assert_eq!(s.get_throttle("erin").await.unwrap(), Some(rec(4, 10)));
    assert!(
        !s.release_attempt("erin", rec(5, 11), Some(rec(4, 10)))
            .await
            .unwrap()
    );
    assert_eq!(s.get_throttle("erin").await.unwrap(), Some(rec(4, 10)));
    // a release after an unlock changes nothing; one with no counter before removes it
    s.clear_throttle("erin").await.unwrap();
    assert!(
        !s.release_attempt("erin", rec(5, 11), Some(rec(4, 10)))
            .await
            .unwrap()
    );
    assert_eq!(s.get_throttle("erin").await.unwrap(), None);
    let strict = ThrottlePolicy {
        free_failures: 0,
        max_backoff_secs: 900,
    };
    assert_eq!(
        s.reserve_attempt("fred", Timestamp(20), strict)
            .await
            .unwrap(),
        allowed(None, Some(rec(1, 20)))
    );
    assert!(s.release_attempt("fred", rec(1, 20), None).await.unwrap());
    assert_eq!(s.get_throttle("fred").await.unwrap(), None);
}

async fn race_throttle_reservations_at_a_backoff_edge(s: Arc<dyn Store>) {
    for _ in 0..6 {
        s.record_failure("gina", Timestamp(100)).await.unwrap();
    }
    // 6 failures: 2 s after the last one, at 102, exactly one attempt may run
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let s = Arc::clone(&s);
            tokio::spawn(async move {
                s.reserve_attempt("gina", Timestamp(102), ThrottlePolicy::default())
                    .await
            })
        })
        .collect();
    let (mut allowed, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap() {
            Reservation::Allowed { before, counted } => {
                assert_eq!((before, counted), (Some(rec(6, 100)), Some(rec(7, 102))));
                allowed += 1;
            }
            Reservation::Refused { retry_after } => {
                assert_eq!(retry_after, 4, "the next wait, from the reserved attempt");
                refused += 1;
            }
        }
    }
    assert_eq!((allowed, refused), (1, 15));
    assert_eq!(s.get_throttle("gina").await.unwrap(), Some(rec(7, 102)));
}

/// Two engines (two nodes) on one store: 16 concurrent wrong-password logins of one name at
/// a backoff edge make exactly one password check; 16 concurrent claims of one nonce, half
/// on each, exactly one first claim.
async fn engines_share_the_throttle_and_the_nonces(s: Arc<dyn Store>) {
    let (a, clock_a) = test_engine(Arc::clone(&s));
    let (b, clock_b) = test_engine(Arc::clone(&s));
    a.register_profile("hugo", PW).await.unwrap();
    for _ in 0..5 {
        let e = a.authenticate("hugo", "wrong password here", None).await;
        assert_eq!(e.err(), Some(Error::Unauthorized));
    }
    clock_a.advance(1);
    clock_b.advance(1);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let e = Arc::clone(if i % 2 == 0 { &a } else { &b });
            tokio::spawn(async move { e.authenticate("hugo", "wrong password here", None).await })
        })
        .collect();
    let (mut unauthorized, mut throttled) = (0, 0);
    for t in tasks {
        match t.await.unwrap().unwrap_err() {
            Error::Unauthorized => unauthorized += 1,
            Error::TooManyAttempts { retry_after } => {
                assert_eq!(retry_after, 2);
                throttled += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((unauthorized, throttled), (1, 15), "one password check");
    let th = s.get_throttle("hugo").await.unwrap().unwrap();
    assert_eq!((th.failures, th.last_failure), (6, a.now()));

    let sender = uuid::Uuid::new_v4();
    let expires = Timestamp(a.now().0 + 301);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let e = Arc::clone(if i % 2 == 0 { &a } else { &b });
            tokio::spawn(async move { e.claim_nonce(sender, "n-1", expires).await })
        })
        .collect();
    let mut first = 0;
    for t in tasks {
        first += usize::from(t.await.unwrap().unwrap());
    }
    assert_eq!(first, 1, "16 claims of one nonce on two engines");
    assert!(a.claim_nonce(sender, "n-2", expires).await.unwrap());
    assert!(!b.claim_nonce(sender, "n-2", expires).await.unwrap());
    assert!(
        b.claim_nonce(uuid::Uuid::new_v4(), "n-2", expires)
            .await
            .unwrap()
    );
    clock_b.set(expires);
    assert!(
        b.claim_nonce(sender, "n-2", Timestamp(expires.0 + 301))
            .await
            .unwrap()
    );
}

/// A right password at the edge, then the login's own write fails: the attempt counted in
/// advance is released, so the counter is as it was, and the next login succeeds.
async fn throttle_reservation_released_when_the_login_fails(s: Arc<dyn Store>) {
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&s)));
    let (e, clock) = test_engine(faulty.clone());
    e.register_profile("iris", PW).await.unwrap();
    for _ in 0..5 {
        let r = e.authenticate("iris", "wrong password here", None).await;
        assert_eq!(r.err(), Some(Error::Unauthorized));
    }
    let before = s.get_throttle("iris").await.unwrap();
    assert_eq!(before.map(|r| r.failures), Some(5));
    clock.advance(1);
    // the calls of a login: the profile, the counter's read and (at this edge) the
    // reservation, then the token's write
    faulty.fail_at(faulty.calls() + 3);
    let r = e.authenticate("iris", PW, None).await;
    assert!(matches!(r, Err(Error::Storage(_))), "{r:?}");
    let tripped = faulty.take_tripped();
    assert!(
        !matches!(
            tripped,
            None | Some("get_profile_by_username" | "get_throttle" | "reserve_attempt")
        ),
        "{tripped:?}"
    );
    assert_eq!(s.get_throttle("iris").await.unwrap(), before, "released");
    e.authenticate("iris", PW, None).await.unwrap();
    assert_eq!(s.get_throttle("iris").await.unwrap(), None);
}
