//! The refresh-family index stays exact through every path that stores or deletes a
//! token, and a family revocation racing rotations never leaves a token behind.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{check_family_index, family_token, open, stored_profile, token};
use tessera_core::store::{
    MaintenanceStore, ProfileStore, Revoke, Rotation, TokenRecord, TokenStore,
};
use tessera_core::{Timestamp, TokenKind};
use uuid::Uuid;

/// A fresh family's access and refresh tokens, stored.
async fn login(s: &impl TokenStore, profile: Uuid, expires: i64) -> (Uuid, TokenRecord) {
    let family = Uuid::new_v4();
    let a = family_token(profile, TokenKind::Authorization, family, expires);
    let r = family_token(profile, TokenKind::Refresh, family, expires + 1000);
    s.put_tokens(&[(a, 1), (r.clone(), 1)]).await.unwrap();
    (family, r)
}

#[tokio::test]
async fn every_deletion_path_keeps_the_index_exact() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        let alice = stored_profile(&s, "alice").await;
        let bob = stored_profile(&s, "bob").await;
        let carol = stored_profile(&s, "carol").await;
        // rotation, then reuse
        let (fam, r1) = login(&s, alice.id, 5000).await;
        let r2 = family_token(alice.id, TokenKind::Refresh, fam, 9000);
        let a2 = family_token(alice.id, TokenKind::Authorization, fam, 5000);
        let rot = s.rotate_refresh(&r1.digest, &r2, &a2, Timestamp(10));
        assert_eq!(rot.await.unwrap(), Rotation::Rotated);
        let (fam2, r3) = login(&s, alice.id, 5000).await;
        let r4 = family_token(alice.id, TokenKind::Refresh, fam2, 9000);
        let a4 = family_token(alice.id, TokenKind::Authorization, fam2, 5000);
        s.rotate_refresh(&r3.digest, &r4, &a4, Timestamp(10))
            .await
            .unwrap();
        let reuse = s.rotate_refresh(&r3.digest, &r4, &a4, Timestamp(10));
        assert_eq!(reuse.await.unwrap(), Rotation::Reused);
        // revoke one
        assert!(s.revoke_token(&r2.digest, None).await.unwrap());
        // take and replace single-use family tokens
        let code = family_token(alice.id, TokenKind::ResetCode, fam, 5000);
        s.put_token(&code, 1).await.unwrap();
        let newer = family_token(alice.id, TokenKind::ResetCode, fam, 5000);
        assert_eq!(s.replace_tokens(&newer).await.unwrap(), 1);
        let session = family_token(alice.id, TokenKind::Session, fam, 5000);
        s.put_token(&session, 1).await.unwrap();
        let taken = s.take_token(&session.digest, TokenKind::Session, Timestamp(10));
        assert!(taken.await.unwrap().is_some());
        // purge: expired family tokens of every kind
        let fam3 = Uuid::new_v4();
        for kind in [
            TokenKind::Authorization,
            TokenKind::RefreshUsed,
            TokenKind::ResetCode,
            TokenKind::Session,
        ] {
            s.put_token(&family_token(bob.id, kind, fam3, 100), 1)
                .await
                .unwrap();
        }
        let live = family_token(bob.id, TokenKind::Refresh, fam3, 9000);
        s.put_token(&live, 1).await.unwrap();
        assert_eq!(s.purge_expired(Timestamp(100), 100).await.unwrap(), 4);
        assert_eq!(s.get_token(&live.digest).await.unwrap(), Some(live));
        // a profile's revocation, alone and with a password change (version bump)
        login(&s, bob.id, 5000).await;
        assert_eq!(s.revoke_profile_tokens(bob.id, None).await.unwrap(), 3);
        login(&s, carol.id, 5000).await;
        let (_, keep) = login(&s, carol.id, 5000).await;
        let mut c2 = carol.clone();
        c2.version = 2;
        s.update_profile(&c2, 1, Revoke::AllExcept(keep.digest), None)
            .await
            .unwrap();
        assert!(s.get_token(&keep.digest).await.unwrap().is_some());
        // and a plain token never enters the index
        s.put_token(&token(carol.id, 0, 5000), 2).await.unwrap();
    }
    // alice: the first access token, the used r1, a2 and the newer code of `fam`;
    // carol: `keep`
    assert_eq!(check_family_index(dir.path()), 5);
}

#[tokio::test]
async fn revoking_a_device_profile_empties_its_families() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        let p = stored_profile(&s, "dev").await;
        let (fam, _) = login(&s, p.id, 5000).await;
        let mut removed = p.clone();
        removed.state = tessera_core::ProfileState::Removed;
        removed.version = 2;
        s.update_profile(&removed, 1, Revoke::All, None)
            .await
            .unwrap();
        assert_eq!(s.revoke_family(fam).await.unwrap(), 0);
    }
    assert_eq!(check_family_index(dir.path()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn family_revocation_racing_a_rotation_chain_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Arc::new(open(dir.path()));
        let p = stored_profile(&s, "alice").await;
        for round in 0..12u64 {
            let (family, first) = login(s.as_ref(), p.id, 90_000).await;
            let chain = {
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let mut issued = Vec::new();
                    let mut current = first;
                    loop {
                        let r = family_token(p.id, TokenKind::Refresh, family, 90_000);
                        let a = family_token(p.id, TokenKind::Authorization, family, 90_000);
                        let got = s.rotate_refresh(&current.digest, &r, &a, Timestamp(10));
                        issued.extend([r.digest, a.digest]);
                        match got.await.unwrap() {
                            Rotation::Rotated => current = r,
                            Rotation::Reused | Rotation::Unknown => return issued,
                        }
                    }
                })
            };
            tokio::time::sleep(Duration::from_millis(round * 7)).await;
            let revoked = s.revoke_family(family).await.unwrap();
            let issued = chain.await.unwrap();
            assert!(revoked >= 2, "round {round}: revoked {revoked}");
            for d in &issued {
                assert_eq!(s.get_token(d).await.unwrap(), None, "round {round}");
            }
            assert_eq!(s.revoke_family(family).await.unwrap(), 0);
        }
    }
    assert_eq!(check_family_index(dir.path()), 0);
}
