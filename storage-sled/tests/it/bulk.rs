//! `put_tokens` is one transaction: a refused token anywhere stores nothing.

use crate::common;

use common::{open, stored_profile, token};
use tessera_core::StoreError;
use tessera_core::store::{Conflict, TokenStore};

#[tokio::test]
async fn a_bulk_load_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let p = stored_profile(&s, "alice").await;
    let mut batch: Vec<_> = (0..5000).map(|_| (token(p.id, 0, 9000), 1)).collect();
    // the last one names a stale profile version
    batch.push((token(p.id, 0, 9000), 2));
    assert_eq!(s.put_tokens(&batch).await, Err(StoreError::VersionMismatch));
    for (t, _) in &batch {
        assert_eq!(s.get_token(&t.digest).await.unwrap(), None);
    }
    // a digest repeated within the batch is a conflict
    let dup = token(p.id, 0, 9000);
    let twice = vec![(dup.clone(), 1), (dup.clone(), 1)];
    assert_eq!(
        s.put_tokens(&twice).await,
        Err(StoreError::Conflict(Conflict::Exists))
    );
    assert_eq!(s.get_token(&dup.digest).await.unwrap(), None);
    batch.pop();
    s.put_tokens(&batch).await.unwrap();
    assert_eq!(s.revoke_profile_tokens(p.id, None).await.unwrap(), 5000);
}
