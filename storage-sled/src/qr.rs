//! [`QrStore`] on [`SledStore`]: device-onboarding QR tokens (redeemed by
//! `ProfileStore::create_device`, in `profiles.rs`).

use async_trait::async_trait;
use sled::Transactional;
use tessera_core::store::{Conflict, QrRecord, QrStore, StoreResult};
use tessera_core::{StoreError, TokenDigest};

use crate::codec::{decode_qr, encode_qr};
use crate::error::{abort, finish};
use crate::profiles::expect_version;
use crate::revoke::bump_generation;
use crate::store::{Inner, SledStore, read};
use crate::trees::{EXP_QR, expiry_key, pair_key};

const EMPTY: &[u8] = &[];

#[async_trait]
#[async_trait]
impl QrStore for SledStore {
    async fn put_qr(&self, qr: &QrRecord, owner_version: u64) -> StoreResult<()> {
        let value = encode_qr(qr);
        let (d, owner, exp) = (qr.digest.0, qr.owner, qr.expires_at);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (&t.profiles, &t.qr, &t.owner_qr, &t.expiry, &t.attach_gen);
            finish(
                trees.transaction(|(profiles, qr, owner_qr, expiry, attach)| {
                    expect_version(profiles, owner, owner_version)?;
                    if qr.get(d)?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    qr.insert(&d[..], value.as_slice())?;
                    owner_qr.insert(&pair_key(owner, &d)[..], EMPTY)?;
                    expiry.insert(expiry_key(exp, EXP_QR, &d), EMPTY)?;
                    bump_generation(attach, owner)
                }),
            )
        })
        .await
    }

    async fn get_qr(&self, digest: &TokenDigest) -> StoreResult<Option<QrRecord>> {
        let d = *digest;
        read(&self.inner.t.qr, "qr", &digest.0, |b| decode_qr(d, b))
    }
}
