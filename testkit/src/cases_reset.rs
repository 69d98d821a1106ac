//! Conformance cases: password reset (forgot-password) end to end on the store under test.

use std::sync::Arc;
use std::time::Duration;

use super::cases_token_api::{PW, PW2, login};
use super::fixtures::test_engine_notified;
use tessera_core::clock::Clock as _;
use tessera_core::error::Error;
use tessera_core::notify::Notification;
use tessera_core::store::Store;

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    engine_reset_code_flow,
    engine_reset_code_rules,
    engine_reset_guesses_are_throttled_per_account,
];

const PW3: &str = "saffron glacier tugboat mosaic";

async fn engine_reset_code_flow(s: Arc<dyn Store>) {
    let (e, clock, notes) = test_engine_notified(s);
    let alice = e.register_profile("alice", PW).await.unwrap().value;
    let set = login(&e, "alice", PW).await;
    let plain = e.authenticate("alice", PW, None).await.unwrap();
    e.forgot_password("Alice").await;
    let Some(Notification::ResetCode {
        profile_id,
        username,
        code,
        expires_at,
    }) = notes.recv(Duration::from_secs(5)).await
    else {
        panic!("no reset code sent");
    };
    assert_eq!((profile_id, username.as_str()), (alice, "alice"));
    assert_eq!(expires_at, clock.now().plus_secs(600));
    let code = code.expose().to_owned();
    assert_eq!(code.len(), 8);
    let shown = format!("{set:?}");
    assert!(!shown.contains(set.access_token.expose()) && !shown.contains(&set.id_token));
    // sending a code changes nothing yet
    assert!(e.verify(set.access_token.expose()).await.is_ok());
    tokens_still_log_in(&e).await;
    // a weak new password is refused and does not use the code up
    assert!(matches!(
        e.confirm_forgot_password("alice", &code, "password12345678")
            .await,
        Err(Error::WeakPassword { .. })
    ));
    let wrong = if code.starts_with('2') { "3" } else { "2" }.to_owned() + &code[1..];
    assert_eq!(
        e.confirm_forgot_password("alice", &wrong, PW2).await,
        Err(Error::InvalidCode)
    );
    // typed in lowercase still matches
    e.confirm_forgot_password("ALICE", &code.to_ascii_lowercase(), PW2)
        .await
        .unwrap();
    // every token of the profile is gone; the new password works, the old does not
    assert_eq!(
        e.verify(set.access_token.expose()).await,
        Err(Error::Unauthorized)
    );
    assert_eq!(
        e.verify(plain.token.expose()).await,
        Err(Error::Unauthorized)
    );
    assert_eq!(
        e.refresh("alice", set.refresh_token.expose()).await.err(),
        Some(Error::Unauthorized)
    );
    assert_eq!(e.login("alice", PW).await.err(), Some(Error::Unauthorized));
    login(&e, "alice", PW2).await;
    // single use
    assert_eq!(
        e.confirm_forgot_password("alice", &code, PW3).await,
        Err(Error::InvalidCode)
    );
    login(&e, "alice", PW2).await;
}

async fn tokens_still_log_in(e: &tessera_core::Engine) {
    login(e, "alice", PW).await;
}

async fn engine_reset_code_rules(s: Arc<dyn Store>) {
    let (e, clock, notes) = test_engine_notified(s);
    e.register_profile("alice", PW).await.unwrap();
    e.register_profile("bob", PW).await.unwrap();
    // unknown users get the same answer and no code; so do invalid names
    e.forgot_password("nobody").await;
    e.forgot_password("").await;
    e.forgot_password(&"x".repeat(10_000)).await;
    assert!(
        notes.recv(Duration::from_millis(300)).await.is_none(),
        "no code for unknown users"
    );
    assert_eq!(
        e.confirm_forgot_password("nobody", "ABCDEFGH", PW2).await,
        Err(Error::InvalidCode)
    );
    assert_eq!(
        e.confirm_forgot_password("", "ABCDEFGH", PW2).await,
        Err(Error::InvalidCode)
    );
    // expiry after 10 minutes
    e.forgot_password("alice").await;
    let expired = notes.reset_code("alice").await;
    clock.advance(600);
    assert_eq!(
        e.confirm_forgot_password("alice", &expired, PW2).await,
        Err(Error::InvalidCode)
    );
    // a newer request voids the older code
    e.forgot_password("alice").await;
    let older = notes.reset_code("alice").await;
    e.forgot_password("alice").await;
    let newer = notes.reset_code("alice").await;
    assert_eq!(
        e.confirm_forgot_password("alice", &older, PW2).await,
        Err(Error::InvalidCode)
    );
    // another user's code does not work (and is not used up)
    assert_eq!(
        e.confirm_forgot_password("bob", &newer, PW2).await,
        Err(Error::InvalidCode)
    );
    assert_eq!(e.login("bob", PW2).await.err(), Some(Error::Unauthorized));
    e.confirm_forgot_password("alice", &newer, PW2)
        .await
        .unwrap();
    login(&e, "alice", PW2).await;
    login(&e, "bob", PW).await;
    // a password change voids an open code
    e.forgot_password("bob").await;
    let bobs = notes.reset_code("bob").await;
    let t = e.authenticate("bob", PW, None).await.unwrap();
    let p = e.verify(t.token.expose()).await.unwrap();
    let kp = tessera_core::key::KeyPair::generate(&tessera_core::random::OsRandom);
    e.register_public_key(&p, &kp.public().to_privicore_hex(), &kp.prove(p.profile_id))
        .await
        .unwrap();
    let p = e.verify(t.token.expose()).await.unwrap();
    e.change_password(&p, PW, PW3).await.unwrap();
    assert_eq!(
        e.confirm_forgot_password("bob", &bobs, PW2).await,
        Err(Error::InvalidCode)
    );
    login(&e, "bob", PW3).await;
}

async fn engine_reset_guesses_are_throttled_per_account(s: Arc<dyn Store>) {
    let (e, clock, notes) = test_engine_notified(s);
    e.register_profile("alice", PW).await.unwrap();
    e.register_profile("bob", PW).await.unwrap();
    e.forgot_password("alice").await;
    let first = notes.reset_code("alice").await;
    e.forgot_password("alice").await;
    let code = notes.reset_code("alice").await;
    let wrong = if code.starts_with('2') { "3" } else { "2" }.to_owned() + &code[1..];
    // five free failures, across requests (the voided code counts as a guess too)
    assert_eq!(
        e.confirm_forgot_password("alice", &first, PW2).await,
        Err(Error::InvalidCode)
    );
    for bad in [wrong.as_str(), "short", "ZZZZZZZZ", "        "] {
        assert_eq!(
            e.confirm_forgot_password("alice", bad, PW2).await,
            Err(Error::InvalidCode)
        );
    }
    // then even the right code waits
    assert!(matches!(
        e.confirm_forgot_password("alice", &code, PW2).await,
        Err(Error::TooManyAttempts { retry_after: 1 })
    ));
    // other accounts and alice's logins are not affected
    assert_eq!(
        e.confirm_forgot_password("bob", "ABCDEFGH", PW2).await,
        Err(Error::InvalidCode)
    );
    login(&e, "alice", PW).await;
    // after the backoff the right code works, and resets the counter
    clock.advance(1);
    assert_eq!(
        e.confirm_forgot_password("alice", &wrong, PW2).await,
        Err(Error::InvalidCode)
    );
    assert!(matches!(
        e.confirm_forgot_password("alice", &code, PW2).await,
        Err(Error::TooManyAttempts { retry_after: 2 })
    ));
    clock.advance(2);
    e.confirm_forgot_password("alice", &code, PW2)
        .await
        .unwrap();
    e.forgot_password("alice").await;
    let again = notes.reset_code("alice").await;
    e.confirm_forgot_password("alice", &wrong, PW3)
        .await
        .unwrap_err();
    e.confirm_forgot_password("alice", &again, PW3)
        .await
        .unwrap();
}
