//! [`OAuthStore`] on [`SledStore`]: applications, grants, consents and the RSA signing key.
//!
//! Every record is written with its index entries in one transaction (trees and keys in
//! `trees.rs`). Removing an application or withdrawing a consent deletes grants, their
//! tokens and consents, which a transaction cannot list (it can only do point reads). So,
//! as in `revoke.rs`, they are listed by prefix scans before the transaction, and the
//! transaction proves the list current: every transaction that stores a grant or a consent
//! bumps the `oauth_gen` counter of its client and of its (profile, client) pair, and the
//! removing transaction aborts with [`Abort::Stale`] (the caller scans again) when the
//! counter it reads is not the one it scanned; a grant's tokens are deleted as
//! `TokenStore::revoke_family` deletes a family, which proves the family empty by its
//! `family_size` (a refresh rotation racing with the removal either is seen by the scan or
//! makes the transaction rescan).
//!
//! `put_grant` also takes a device as its own client (`client_id == profile_id`, the
//! profile read in its transaction is a device; devices have no application record). Such
//! grants bump only their pair counter: no application removal can reach them.

use async_trait::async_trait;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use tessera_core::store::{
    CommandRecord, Conflict, ConsentRecord, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ResolvedGrant, ResolvedToken, StoreResult, TokenRecord,
};
use tessera_core::{ProfileKind, StoreError, TokenDigest};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::codec::{
    decode_client, decode_consent, decode_fixed, decode_grant, decode_profile, encode_client,
    encode_consent, encode_grant,
};
use crate::commands;
use crate::error::{
    Abort, TxResult, abort, abort_corrupt, corrupt, corrupt_entry, finish, from_sled, from_tx,
};
use crate::profiles::versioned_kind;
use crate::revoke::{scan_digests, with_retry};
use crate::store::{Inner, SledStore, read};
use crate::token_index::{NewToken, TokenTx};
use crate::tokens::{consistent_reads, revoke_family_tx};
use crate::trees::{EXP_GRANT, RSA_KEY, expiry_key, id_pair, id_triple};

const EMPTY: &[u8] = &[];

/// The grant trees of a transaction (`expiry` is shared with the token trees).
pub(crate) struct GrantTx<'a> {
    pub grants: &'a TransactionalTree,
    pub client_grants: &'a TransactionalTree,
    pub profile_grants: &'a TransactionalTree,
    pub expiry: &'a TransactionalTree,
}

impl GrantTx<'_> {
    /// The stored grant `id`, decoded (a damaged record aborts with `Corrupt`).
    pub(crate) fn get(&self, id: Uuid) -> TxResult<Option<OAuthGrantRecord>> {
        let key = id.as_bytes();
        let Some(raw) = self.grants.get(key)? else {
            return Ok(None);
        };
        match decode_grant(id, &raw) {
            Ok(g) => Ok(Some(g)),
            Err(e) => abort_corrupt("oauth_grants", key, e),
        }
    }

    /// Store `g` (encoded as `value`) with its index entries.
    fn insert(&self, g: &OAuthGrantRecord, value: &[u8]) -> TxResult<()> {
        self.grants.insert(&g.id.as_bytes()[..], value)?;
        self.client_grants
            .insert(&id_pair(g.client_id, g.id)[..], EMPTY)?;
        self.profile_grants
            .insert(&id_triple(g.profile_id, g.client_id, g.id)[..], EMPTY)?;
        self.expiry
            .insert(expiry_key(g.expires_at, EXP_GRANT, g.id.as_bytes()), EMPTY)?;
        Ok(())
    }

    /// Delete the grant `g` (as stored) and its index entries (not its tokens).
    pub(crate) fn remove(&self, g: &OAuthGrantRecord) -> TxResult<()> {
        self.grants.remove(&g.id.as_bytes()[..])?;
        self.client_grants.remove(&id_pair(g.client_id, g.id)[..])?;
        self.profile_grants
            .remove(&id_triple(g.profile_id, g.client_id, g.id)[..])?;
        self.expiry
            .remove(expiry_key(g.expires_at, EXP_GRANT, g.id.as_bytes()))?;
        Ok(())
    }
}

/// The `oauth_gen` counter under `key` (0 when absent).
fn generation(gen_tree: &TransactionalTree, key: &[u8]) -> TxResult<u64> {
    match gen_tree.get(key)? {
        None => Ok(0),
        Some(raw) => match decode_fixed::<8>(&raw) {
            Ok(b) => Ok(u64::from_le_bytes(b)),
            Err(e) => abort_corrupt("oauth_gen", key, e),
        },
    }
}

/// Bump the counters of `client` and of `(profile, client)` (key `client ‖ profile`, so
/// that a client's counters are one prefix): a grant or consent of them is being stored.
fn bump(gen_tree: &TransactionalTree, profile: Uuid, client: Uuid) -> TxResult<()> {
    bump_key(gen_tree, client.as_bytes())?;
    bump_pair(gen_tree, profile, client)
}

/// Bump the counter of `(profile, client)` only: a grant of a device acting as its own
/// client is being stored (there is no application whose removal checks the client's).
fn bump_pair(gen_tree: &TransactionalTree, profile: Uuid, client: Uuid) -> TxResult<()> {
    bump_key(gen_tree, &id_pair(client, profile))
}

/// Bump the counter under `key`.
fn bump_key(gen_tree: &TransactionalTree, key: &[u8]) -> TxResult<()> {
    let g = generation(gen_tree, key)?;
    gen_tree.insert(key, &(g + 1).to_le_bytes()[..])?;
    Ok(())
}

/// Abort with `Stale` unless the counter under `key` is still `scanned`.
fn check(gen_tree: &TransactionalTree, key: &[u8], scanned: u64) -> TxResult<()> {
    if generation(gen_tree, key)? == scanned {
        Ok(())
    } else {
        Err(ConflictableTransactionError::Abort(Abort::Stale))
    }
}

/// The ids after `prefix` in the keys of `tree` (each key is `prefix ‖ id`).
fn scan_ids(tree: &sled::Tree, name: &str, prefix: &[u8]) -> StoreResult<Vec<Uuid>> {
    let mut out = Vec::new();
    for k in tree.scan_prefix(prefix).keys() {
        let k = k.map_err(from_sled)?;
        let id = k
            .get(prefix.len()..)
            .and_then(|b| <[u8; 16]>::try_from(b).ok());
        out.push(Uuid::from_bytes(
            id.ok_or_else(|| corrupt_entry(name, &k, "key is not ids ‖ id"))?,
        ));
    }
    Ok(out)
}

/// The `oauth_gen` counter under `key`, outside a transaction.
fn read_generation(db: &Inner, key: &[u8]) -> StoreResult<u64> {
    read(&db.t.oauth_gen, "oauth_gen", key, |b| {
        decode_fixed::<8>(b).map(u64::from_le_bytes)
    })
    .map(Option::unwrap_or_default)
}

/// What a removal scanned before its transaction: the counter, the grants with the
/// digests of their tokens, and (for `remove_client`) the profiles that consented and the
/// keys of the client's counters.
struct Scanned {
    generation: u64,
    grants: Vec<(Uuid, Vec<[u8; 32]>)>,
    consents: Vec<Uuid>,
    counters: Vec<sled::IVec>,
}

/// Scan the grants `grant_ids` lists, with their tokens.
fn with_tokens(db: &Inner, grant_ids: Vec<Uuid>) -> StoreResult<Vec<(Uuid, Vec<[u8; 32]>)>> {
    grant_ids
        .into_iter()
        .map(|g| {
            let tokens = scan_digests(&db.t.family_tokens, "family_tokens", g.as_bytes())?;
            Ok((g, tokens))
        })
        .collect()
}

/// Delete the scanned grants that are still stored and every token of them; `Stale` if a
/// grant's family still has tokens afterwards. Returns how many grants were deleted.
fn remove_grants(gtx: &GrantTx<'_>, tok: &TokenTx<'_>, scanned: &Scanned) -> TxResult<usize> {
    let mut n = 0;
    for (id, tokens) in &scanned.grants {
        if let Some(g) = gtx.get(*id)? {
            gtx.remove(&g)?;
            n += 1;
        }
        revoke_family_tx(tok, *id, tokens)?;
    }
    Ok(n)
}

fn remove_client(db: &Inner, id: Uuid, command: Option<&commands::Encoded>) -> StoreResult<bool> {
    let t = &db.t;
    let trees = (
        &t.clients,
        &t.owner_clients,
        &t.grants,
        &t.client_grants,
        &t.profile_grants,
        &t.consents,
        &t.client_consents,
        &t.oauth_gen,
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.commands,
    );
    with_retry(|| {
        let scan = || -> StoreResult<Scanned> {
            let generation = read_generation(db, id.as_bytes())?;
            let grants = scan_ids(&t.client_grants, "client_grants", id.as_bytes())?;
            let mut counters = Vec::new();
            for k in t.oauth_gen.scan_prefix(id.as_bytes()).keys() {
                counters.push(k.map_err(from_sled)?);
            }
            Ok(Scanned {
                generation,
                grants: with_tokens(db, grants)?,
                consents: scan_ids(&t.client_consents, "client_consents", id.as_bytes())?,
                counters,
            })
        };
        let scanned = scan().map_err(Abort::Store)?;
        from_tx(trees.transaction(
            |(
                clients,
                owner_clients,
                grants,
                client_grants,
                profile_grants,
                consents,
                client_consents,
                oauth_gen,
                tokens,
                profile_tokens,
                family_tokens,
                family_size,
                expiry,
                commands_tree,
            )| {
                let key = id.as_bytes();
                let Some(raw) = clients.get(key)? else {
                    return Ok(false);
                };
                let client = match decode_client(id, &raw) {
                    Ok(c) => c,
                    Err(e) => return abort_corrupt("oauth_clients", key, e),
                };
                check(oauth_gen, key, scanned.generation)?;
                let gtx = GrantTx {
                    grants,
                    client_grants,
                    profile_grants,
                    expiry,
                };
                let tok = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                remove_grants(&gtx, &tok, &scanned)?;
                for p in &scanned.consents {
                    consents.remove(&id_pair(*p, id)[..])?;
                    client_consents.remove(&id_pair(id, *p)[..])?;
                }
                // Nothing can be stored for the client any more: its counters go too (a
                // counter made since the scan bumped the client's, checked above).
                for k in &scanned.counters {
                    oauth_gen.remove(k)?;
                }
                clients.remove(&key[..])?;
                owner_clients.remove(&id_pair(client.owner, id)[..])?;
                commands::record_tx(commands_tree, expiry, command)?;
                Ok(true)
            },
        ))
    })
}

fn revoke_consent(
    db: &Inner,
    profile: Uuid,
    client: Uuid,
    command: Option<&commands::Encoded>,
) -> StoreResult<bool> {
    let t = &db.t;
    let (pair, counter) = (id_pair(profile, client), id_pair(client, profile));
    let trees = (
        &t.grants,
        &t.client_grants,
        &t.profile_grants,
        &t.consents,
        &t.client_consents,
        &t.oauth_gen,
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.commands,
    );
    with_retry(|| {
        let scan = || -> StoreResult<Scanned> {
            let generation = read_generation(db, &counter)?;
            let grants = scan_ids(&t.profile_grants, "profile_grants", &pair)?;
            Ok(Scanned {
                generation,
                grants: with_tokens(db, grants)?,
                consents: Vec::new(),
                counters: Vec::new(),
            })
        };
        let scanned = scan().map_err(Abort::Store)?;
        from_tx(trees.transaction(
            |(
                grants,
                client_grants,
                profile_grants,
                consents,
                client_consents,
                oauth_gen,
                tokens,
                profile_tokens,
                family_tokens,
                family_size,
                expiry,
                commands_tree,
            )| {
                check(oauth_gen, &counter, scanned.generation)?;
                let had_consent = consents.remove(&pair[..])?.is_some();
                client_consents.remove(&id_pair(client, profile)[..])?;
                let gtx = GrantTx {
                    grants,
                    client_grants,
                    profile_grants,
                    expiry,
                };
                let tok = TokenTx {
                    tokens,
                    profile_tokens,
                    family_tokens,
                    family_size,
                    expiry,
                };
                let any = remove_grants(&gtx, &tok, &scanned)? > 0 || had_consent;
                if any {
                    commands::record_tx(commands_tree, expiry, command)?;
                }
                Ok(any)
            },
        ))
    })
}

fn put_grant(
    db: &Inner,
    grant: &OAuthGrantRecord,
    token: &NewToken,
    profile_version: u64,
) -> StoreResult<()> {
    let value = encode_grant(grant);
    let t = &db.t;
    let trees = (
        &t.profiles,
        &t.clients,
        &t.grants,
        &t.client_grants,
        &t.profile_grants,
        &t.oauth_gen,
        &t.tokens,
        &t.profile_tokens,
        &t.family_tokens,
        &t.family_size,
        &t.expiry,
        &t.attach_gen,
    );
    finish(trees.transaction(
        |(
            profiles,
            clients,
            grants,
            client_grants,
            profile_grants,
            oauth_gen,
            tokens,
            profile_tokens,
            family_tokens,
            family_size,
            expiry,
            attach,
        )| {
            let kind = versioned_kind(profiles, token.profile, profile_version)?;
            // the client: an application, or the device itself (no client record)
            let device_itself = grant.client_id == grant.profile_id
                && token.profile == grant.profile_id
                && kind == ProfileKind::Device;
            if !device_itself && clients.get(grant.client_id.as_bytes())?.is_none() {
                return abort(StoreError::NotFound);
            }
            let tok = TokenTx {
                tokens,
                profile_tokens,
                family_tokens,
                family_size,
                expiry,
            };
            if grants.get(grant.id.as_bytes())?.is_some() || tok.exists(&token.digest)? {
                return abort(StoreError::Conflict(Conflict::Exists));
            }
            let gtx = GrantTx {
                grants,
                client_grants,
                profile_grants,
                expiry,
            };
            gtx.insert(grant, &value)?;
            if device_itself {
                // Only `revoke_consent` can remove it: its (profile, client) counter, kept
                // as long as the device (no removal of an application reaches it).
                bump_pair(oauth_gen, grant.profile_id, grant.client_id)?;
            } else {
                bump(oauth_gen, grant.profile_id, grant.client_id)?;
            }
            tok.insert(attach, token)
        },
    ))
}

#[async_trait]
impl OAuthStore for SledStore {
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let value = Zeroizing::new(encode_client(client));
        let (id, owner) = (client.id, client.owner);
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (
                &t.profiles,
                &t.clients,
                &t.owner_clients,
                &t.commands,
                &t.expiry,
            );
            finish(trees.transaction(
                |(profiles, clients, owner_clients, commands_tree, expiry)| {
                    if profiles.get(owner.as_bytes())?.is_none() {
                        return abort(StoreError::NotFound);
                    }
                    if clients.get(id.as_bytes())?.is_some() {
                        return abort(StoreError::Conflict(Conflict::Exists));
                    }
                    clients.insert(&id.as_bytes()[..], value.as_slice())?;
                    owner_clients.insert(&id_pair(owner, id)[..], EMPTY)?;
                    commands::record_tx(commands_tree, expiry, command.as_ref())
                },
            ))
        })
        .await
    }

    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>> {
        read(&self.inner.t.clients, "oauth_clients", id.as_bytes(), |b| {
            decode_client(id, b)
        })
    }

    /// A prefix scan of `owner_clients`, then a point read of each application (one
    /// removed between the two is left out).
    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>> {
        let t = &self.inner.t;
        let mut out = Vec::new();
        for id in scan_ids(&t.owner_clients, "owner_clients", owner.as_bytes())? {
            if let Some(c) = read(&t.clients, "oauth_clients", id.as_bytes(), |b| {
                decode_client(id, b)
            })? {
                out.push(c);
            }
        }
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }

    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let new = client.clone();
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let key = new.id.as_bytes();
            finish((&t.clients, &t.commands, &t.expiry).transaction(
                |(clients, commands_tree, expiry)| {
                    let Some(raw) = clients.get(key)? else {
                        return abort(StoreError::NotFound);
                    };
                    let stored = match decode_client(new.id, &raw) {
                        Ok(c) => c,
                        Err(e) => return abort_corrupt("oauth_clients", key, e),
                    };
                    if stored.version != expected_version {
                        return abort(StoreError::VersionMismatch);
                    }
                    let mut record = new.clone();
                    record.owner = stored.owner;
                    let value = Zeroizing::new(encode_client(&record));
                    clients.insert(&key[..], value.as_slice())?;
                    commands::record_tx(commands_tree, expiry, command.as_ref())
                },
            ))
        })
        .await
    }

    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool> {
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| remove_client(db, id, command.as_ref()))
            .await
    }

    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()> {
        let (grant, token) = (grant.clone(), NewToken::new(token));
        self.write(move |db: &Inner| put_grant(db, &grant, &token, profile_version))
            .await
    }

    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>> {
        read(&self.inner.t.grants, "oauth_grants", id.as_bytes(), |b| {
            decode_grant(id, b)
        })
    }

    /// Three point reads (token, profile, grant), made one consistent view as
    /// `resolve_token`'s two are.
    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>> {
        let t = &self.inner.t;
        let reads = |v: &crate::codec::TokenView| {
            let Some(family) = v.family else {
                return Ok(None);
            };
            let Some(profile) = t.profiles.get(v.profile_id.as_bytes()).map_err(from_sled)? else {
                return Ok(None);
            };
            let grant = t.grants.get(family.as_bytes()).map_err(from_sled)?;
            Ok(grant.map(|g| (family, profile, g)))
        };
        let Some((v, (family, profile, grant))) = consistent_reads(&self.inner, digest, reads)?
        else {
            return Ok(None);
        };
        let pid = v.profile_id.as_bytes();
        let p = decode_profile(&profile).map_err(|e| corrupt("profiles", pid, e))?;
        let grant = decode_grant(family, &grant)
            .map_err(|e| corrupt("oauth_grants", family.as_bytes(), e))?;
        Ok(Some(ResolvedGrant {
            token: ResolvedToken {
                profile_id: p.id,
                kind: p.kind,
                state: p.state,
                owner: p.owner,
                environments: p.environments,
                token_kind: v.kind,
                issued_at: v.issued_at,
                expires_at: v.expires_at,
                token: *digest,
            },
            username: p.username,
            grant,
        }))
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        let value = encode_consent(consent);
        let (profile, client) = (consent.profile_id, consent.client_id);
        self.write(move |db: &Inner| {
            let t = &db.t;
            let trees = (&t.clients, &t.consents, &t.client_consents, &t.oauth_gen);
            finish(
                trees.transaction(|(clients, consents, client_consents, oauth_gen)| {
                    if clients.get(client.as_bytes())?.is_none() {
                        return abort(StoreError::NotFound);
                    }
                    consents.insert(&id_pair(profile, client)[..], value.as_slice())?;
                    client_consents.insert(&id_pair(client, profile)[..], EMPTY)?;
                    bump(oauth_gen, profile, client)
                }),
            )
        })
        .await
    }

    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>> {
        read(
            &self.inner.t.consents,
            "consents",
            &id_pair(profile, client),
            |b| decode_consent(profile, client, b),
        )
    }

    /// One prefix scan of `consents`.
    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        let mut out = Vec::new();
        for entry in self.inner.t.consents.scan_prefix(profile.as_bytes()) {
            let (k, v) = entry.map_err(from_sled)?;
            let client = k
                .get(16..)
                .and_then(|b| <[u8; 16]>::try_from(b).ok())
                .map(Uuid::from_bytes)
                .ok_or_else(|| corrupt_entry("consents", &k, "key is not profile ‖ client"))?;
            out.push(decode_consent(profile, client, &v).map_err(|e| corrupt("consents", &k, e))?);
        }
        out.sort_by_key(|c| (c.granted_at, c.client_id));
        Ok(out)
    }

    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let command = commands::Encoded::of(command);
        self.write(move |db: &Inner| revoke_consent(db, profile, client, command.as_ref()))
            .await
    }

    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        let candidate = Zeroizing::new(candidate.to_vec());
        self.write(move |db: &Inner| {
            finish(db.t.meta.transaction(|meta| {
                if let Some(raw) = meta.get(RSA_KEY)? {
                    return Ok(raw.to_vec());
                }
                meta.insert(RSA_KEY, candidate.as_slice())?;
                Ok(candidate.to_vec())
            }))
        })
        .await
    }
}
