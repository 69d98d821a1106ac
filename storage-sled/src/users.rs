//! [`ServerUserStore`]: server-registered users, each created and updated with its
//! profile in one transaction.

use async_trait::async_trait;
use sled::Transactional;
use tessera_core::StoreError;
use tessera_core::store::{
    Conflict, ProfileRecord, Revoke, ServerUserRecord, ServerUserStore, StoreResult,
};

use crate::codec::{decode_server_user, encode_profile, encode_server_user};
use crate::error::{Abort, abort, abort_corrupt, finish, from_tx};
use crate::profiles::{ProfileTx, UpdateTx, insert_profile, scan_for_revoke, update_profile_tx};
use crate::revoke::{RevokeTx, with_retry};
use crate::store::{Inner, SledStore, read};
use crate::token_index::TokenTx;

#[async_trait]
impl ServerUserStore for SledStore {
    /// One transaction claims the external id (first, as `MemoryStore` checks it), then
    /// the username, the profile id and the public key, as `create_profile` does.
    async fn create_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
    ) -> StoreResult<()> {
        let (user_value, profile_value) = (encode_server_user(user), encode_profile(profile));
        let (key, p) = (user.external_id.clone().into_bytes(), profile.clone());
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.server_users,
                &t.profiles,
                &t.usernames,
                &t.public_keys,
                &t.devices,
            );
            finish(trees.transaction(
                |(server_users, profiles, usernames, public_keys, devices)| {
                    if server_users.get(&key)?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    let tx = ProfileTx {
                        profiles,
                        usernames,
                        public_keys,
                        devices,
                    };
                    insert_profile(&tx, &p, &profile_value)?;
                    server_users.insert(key.as_slice(), user_value.as_slice())?;
                    Ok(())
                },
            ))
        })
        .await
    }

    async fn get_server_user(&self, external_id: &str) -> StoreResult<Option<ServerUserRecord>> {
        read(
            &self.inner.t.server_users,
            "external_users",
            external_id.as_bytes(),
            |b| decode_server_user(external_id, b),
        )
    }

    /// The external record is checked first (`NotFound`), then the profile is updated
    /// exactly as `update_profile` does, in the same transaction.
    async fn update_server_user(
        &self,
        user: &ServerUserRecord,
        profile: &ProfileRecord,
        expected_version: u64,
        revoke: Revoke,
    ) -> StoreResult<()> {
        let (u, new) = (user.clone(), profile.clone());
        self.write(move |db: &Inner| {
            let t = &db.t;
            let key = u.external_id.as_bytes();
            let trees = (
                &t.server_users,
                &t.profiles,
                &t.public_keys,
                &t.tokens,
                &t.profile_tokens,
                &t.family_tokens,
                &t.family_size,
                &t.qr,
                &t.owner_qr,
                &t.expiry,
                &t.attach_gen,
            );
            with_retry(|| {
                let attached = scan_for_revoke(db, new.id, revoke).map_err(Abort::Store)?;
                from_tx(trees.transaction(
                    |(
                        server_users,
                        profiles,
                        public_keys,
                        tokens,
                        profile_tokens,
                        family_tokens,
                        family_size,
                        qr,
                        owner_qr,
                        expiry,
                        attach,
                    )| {
                        let Some(raw) = server_users.get(key)? else {
                            return abort(StoreError::NotFound);
                        };
                        let stored = match decode_server_user(&u.external_id, &raw) {
                            Ok(s) => s,
                            Err(e) => return abort_corrupt("external_users", key, e),
                        };
                        if stored.profile_id != new.id {
                            return abort(StoreError::NotFound);
                        }
                        let tx = UpdateTx {
                            profiles,
                            public_keys,
                            revoke: RevokeTx {
                                tok: TokenTx {
                                    tokens,
                                    profile_tokens,
                                    family_tokens,
                                    family_size,
                                    expiry,
                                },
                                qr,
                                owner_qr,
                                attach,
                            },
                        };
                        update_profile_tx(&tx, &new, expected_version, revoke, attached.as_ref())?;
                        let record = ServerUserRecord {
                            profile_id: stored.profile_id,
                            created_at: stored.created_at,
                            ..u.clone()
                        };
                        server_users.insert(key, encode_server_user(&record))?;
                        Ok(())
                    },
                ))
            })
        })
        .await
    }
}
