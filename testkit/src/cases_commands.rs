//! Conformance cases: a command record handed to a write is stored in that write's
//! transaction — present when the change is, absent when the write was refused.

use std::sync::Arc;

use uuid::Uuid;

use super::fixtures::{device, profile, qr, token_record};
use tessera_core::clock::Timestamp;
use tessera_core::profile::ProfileState;
use tessera_core::store::{CommandRecord, CommandStatus, Conflict, Revoke, Store, StoreError};

pub(super) const CASES: &[(&str, super::Case)] = case_list![
    command_with_profile_writes,
    command_with_token_writes,
    command_with_device_redemption,
];

/// A fresh command record of `profile`.
pub(super) fn command(profile: Uuid, body: &str) -> CommandRecord {
    CommandRecord {
        id: Uuid::new_v4(),
        profile_id: Some(profile),
        status: CommandStatus::Succeeded,
        body: body.into(),
        result: vec![("state".into(), "active".into())],
        created_at: Timestamp(1000),
        expires_at: Timestamp(1_000_000),
    }
}

/// Whether `c` is stored, and stored as given.
pub(super) async fn stored(s: &Arc<dyn Store>, c: &CommandRecord) -> bool {
    match s.get_command(c.id).await.unwrap() {
        Some(got) => {
            assert_eq!(&got, c, "the command is stored as given");
            true
        }
        None => false,
    }
}

async fn command_with_profile_writes(s: Arc<dyn Store>) {
    let p = profile("alice");
    let created = command(p.id, "Profile registered");
    s.create_profile(&p, Some(&created)).await.unwrap();
    assert!(
        stored(&s, &created).await,
        "create_profile wrote its command"
    );
    // refused: the name is taken → neither the profile nor the command
    let again = profile("alice");
    let refused = command(again.id, "Profile registered");
    assert_eq!(
        s.create_profile(&again, Some(&refused)).await,
        Err(StoreError::Conflict(Conflict::Username))
    );
    assert!(
        !stored(&s, &refused).await,
        "a refused create wrote a command"
    );
    // an update writes its command; a stale version writes none
    let mut next = p.clone();
    next.state = ProfileState::Active;
    next.version = 2;
    let updated = command(p.id, "Public key registered");
    s.update_profile(&next, 1, Revoke::Nothing, Some(&updated))
        .await
        .unwrap();
    assert!(
        stored(&s, &updated).await,
        "update_profile wrote its command"
    );
    let stale = command(p.id, "Password changed");
    assert_eq!(
        s.update_profile(&next, 1, Revoke::All, Some(&stale)).await,
        Err(StoreError::VersionMismatch)
    );
    assert!(
        !stored(&s, &stale).await,
        "a refused update wrote a command"
    );
    let mut missing = profile("nobody");
    missing.version = 2;
    let orphan = command(missing.id, "Password changed");
    assert_eq!(
        s.update_profile(&missing, 1, Revoke::Nothing, Some(&orphan))
            .await,
        Err(StoreError::NotFound)
    );
    assert!(!stored(&s, &orphan).await);
}

async fn command_with_token_writes(s: Arc<dyn Store>) {
    let p = profile("carol");
    s.create_profile(&p, None).await.unwrap();
    let (a, b) = (token_record(p.id, 5000), token_record(p.id, 5000));
    s.put_tokens(&[(a.clone(), 1), (b.clone(), 1)])
        .await
        .unwrap();
    // reauthorize: with the new expiry, or not at all
    let extended = command(p.id, "Authorization token reauthorized");
    s.set_token_expiry(&a.digest, Timestamp(9000), Timestamp(100), Some(&extended))
        .await
        .unwrap();
    assert!(stored(&s, &extended).await);
    let late = command(p.id, "Authorization token reauthorized");
    assert_eq!(
        s.set_token_expiry(&b.digest, Timestamp(9000), Timestamp(6000), Some(&late))
            .await,
        Err(StoreError::NotFound)
    );
    assert!(
        !stored(&s, &late).await,
        "a refused reauthorize wrote a command"
    );
    // revoke one: the command only when the token existed
    let revoked = command(p.id, "Authorization token revoked");
    assert!(s.revoke_token(&a.digest, Some(&revoked)).await.unwrap());
    assert!(stored(&s, &revoked).await);
    let twice = command(p.id, "Authorization token revoked");
    assert!(!s.revoke_token(&a.digest, Some(&twice)).await.unwrap());
    assert!(
        !stored(&s, &twice).await,
        "revoking nothing wrote a command"
    );
    // revoke all
    let all = command(p.id, "Authorization token revoked");
    assert_eq!(s.revoke_profile_tokens(p.id, Some(&all)).await.unwrap(), 1);
    assert!(stored(&s, &all).await);
    assert_eq!(s.resolve_token(&b.digest).await.unwrap(), None);
}

async fn command_with_device_redemption(s: Arc<dyn Store>) {
    let owner = profile("dave");
    s.create_profile(&owner, None).await.unwrap();
    let q = qr(owner.id, 5000);
    s.put_qr(&q, 1).await.unwrap();
    let d = device(owner.id, "dave-phone");
    let registered = command(owner.id, "Device registered");
    s.create_device(&d, &q.digest, Timestamp(100), Some(&registered))
        .await
        .unwrap();
    assert!(stored(&s, &registered).await);
    // the QR token is spent: a second redemption writes neither device nor command
    let d2 = device(owner.id, "dave-tablet");
    let second = command(owner.id, "Device registered");
    assert_eq!(
        s.create_device(&d2, &q.digest, Timestamp(100), Some(&second))
            .await,
        Err(StoreError::NotFound)
    );
    assert!(!stored(&s, &second).await);
    assert_eq!(s.get_profile(d2.id).await.unwrap(), None);
}
