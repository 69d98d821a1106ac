//! [`OAuthStore`] on [`RedbStore`]: applications, grants, consents and the RSA signing key
//! (in `meta`). Each method is one redb transaction. Grants are stored and deleted through
//! [`GrantTables`], which keeps `oauth_grants_by_client`, `oauth_grants_by_profile` and the
//! grant's `expiry` entry in step with the record; deleting grants deletes their tokens
//! (one `tokens_by_family` range each) in the same transaction, so a refresh rotation
//! racing with a removal either commits before it (and its new tokens go too) or finds
//! its token gone.

use async_trait::async_trait;
use redb::{ReadTransaction, ReadableTable, Table, WriteTransaction};
use tessera_core::profile::ProfileKind;
use tessera_core::store::{
    CommandRecord, Conflict, ConsentRecord, OAuthClientRecord, OAuthGrantRecord, OAuthStore,
    ResolvedGrant, ResolvedToken, StoreError, StoreResult, TokenRecord,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec;
use crate::commands;
use crate::error::{Failure, Fallible};
use crate::profiles::versioned_profile;
use crate::store::{RedbStore, Snapshot};
use crate::tables::{self as t, Expiring};
use crate::token_index::TokenTables;
use crate::tokens::token_in;

#[async_trait]
impl OAuthStore for RedbStore {
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (c, cmd) = (client.clone(), command.cloned());
        self.write(move |tx| {
            create_client(tx, &c)?;
            commands::record(tx, cmd.as_ref())
        })
        .await
    }

    /// On the shared verify snapshot, on the calling thread: every token request and
    /// introspection authenticates its client first, so this is on their hot path.
    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>> {
        self.read_snapshot(|s| client_in(&s.clients, id))
    }

    /// One range read of `oauth_clients_by_owner`, already in the listed order.
    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>> {
        self.read(move |rx| list_clients(rx, owner)).await
    }

    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let (c, cmd) = (client.clone(), command.cloned());
        self.write(move |tx| {
            update_client(tx, &c, expected_version)?;
            commands::record(tx, cmd.as_ref())
        })
        .await
    }

    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool> {
        let cmd = command.cloned();
        self.write(move |tx| {
            let existed = remove_client(tx, id)?;
            if existed {
                commands::record(tx, cmd.as_ref())?;
            }
            Ok(existed)
        })
        .await
    }

    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()> {
        let (g, tok) = (grant.clone(), token.clone());
        self.write(move |tx| put_grant(tx, &g, &tok, profile_version))
            .await
    }

    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>> {
        self.read(move |rx| grant_in(&rx.open_table(t::OAUTH_GRANTS)?, id))
            .await
    }

    /// On the calling task, on the shared verify snapshot (see [`RedbStore`]): three
    /// lookups in one read transaction.
    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>> {
        self.read_snapshot(|s| resolve_oauth(s, digest))
    }

    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        let c = consent.clone();
        self.write(move |tx| put_consent(tx, &c)).await
    }

    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>> {
        self.read(move |rx| consent_in(&rx.open_table(t::OAUTH_CONSENTS)?, profile, client))
            .await
    }

    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        self.read(move |rx| list_consents(rx, profile)).await
    }

    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let cmd = command.cloned();
        self.write(move |tx| {
            let any = revoke_consent(tx, profile, client)?;
            if any {
                commands::record(tx, cmd.as_ref())?;
            }
            Ok(any)
        })
        .await
    }

    /// A read first: once the key is stored, no write transaction. The write re-checks, so
    /// of concurrent first calls one stores its candidate and all return it.
    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        if let Some(key) = self.read(|rx| rsa_key(&rx.open_table(t::META)?)).await? {
            return Ok(key);
        }
        let candidate = candidate.to_vec();
        self.write(move |tx| {
            let mut meta = tx.open_table(t::META)?;
            if let Some(key) = rsa_key(&meta)? {
                return Ok(key);
            }
            meta.insert(t::META_RSA_KEY, candidate.as_slice())?;
            Ok(candidate)
        })
        .await
    }
}

/// The grant tables of one write transaction.
pub(crate) struct GrantTables<'tx> {
    pub grants: Table<'tx, &'static [u8; 16], &'static [u8]>,
    pub by_client: Table<'tx, &'static [u8; 32], ()>,
    pub by_profile: Table<'tx, &'static [u8; 48], ()>,
}

impl<'tx> GrantTables<'tx> {
    pub(crate) fn open(tx: &'tx WriteTransaction) -> Fallible<Self> {
        Ok(Self {
            grants: tx.open_table(t::OAUTH_GRANTS)?,
            by_client: tx.open_table(t::OAUTH_GRANTS_BY_CLIENT)?,
            by_profile: tx.open_table(t::OAUTH_GRANTS_BY_PROFILE)?,
        })
    }

    pub(crate) fn grant(&self, id: Uuid) -> Fallible<Option<OAuthGrantRecord>> {
        grant_in(&self.grants, id)
    }

    /// Store a grant, its index entries, and its entry in `expiry` (the caller checked
    /// the id is free).
    fn insert_grant(
        &mut self,
        g: &OAuthGrantRecord,
        expiry: &mut Table<'_, &'static [u8; 41], ()>,
    ) -> Fallible<()> {
        self.grants
            .insert(g.id.as_bytes(), codec::encode_grant(g).as_slice())?;
        self.by_client
            .insert(&t::key(&[g.client_id.as_bytes(), g.id.as_bytes()]), ())?;
        self.by_profile.insert(&by_profile_key(g), ())?;
        expiry.insert(&grant_expiry_key(g), ())?;
        Ok(())
    }

    /// Delete a grant and its two index entries, not its `expiry` entry (the purge
    /// deletes that itself, [`remove_grants`] beside this); the record, if it existed.
    pub(crate) fn take_grant(&mut self, id: Uuid) -> Fallible<Option<OAuthGrantRecord>> {
        let Some(g) = self.grant(id)? else {
            return Ok(None);
        };
        self.grants.remove(id.as_bytes())?;
        self.by_client
            .remove(&t::key(&[g.client_id.as_bytes(), id.as_bytes()]))?;
        self.by_profile.remove(&by_profile_key(&g))?;
        Ok(Some(g))
    }
}

/// `oauth_grants_by_profile` key of a grant.
fn by_profile_key(g: &OAuthGrantRecord) -> [u8; 48] {
    t::key(&[
        g.profile_id.as_bytes(),
        g.client_id.as_bytes(),
        g.id.as_bytes(),
    ])
}

/// `expiry` key of a grant.
fn grant_expiry_key(g: &OAuthGrantRecord) -> [u8; 41] {
    t::expiry_key(g.expires_at, Expiring::Grant, g.id.as_bytes())
}

/// `oauth_consents` key.
fn consent_key(profile: Uuid, client: Uuid) -> [u8; 32] {
    t::key(&[profile.as_bytes(), client.as_bytes()])
}

/// `oauth_consents_by_client` key.
fn consent_client_key(profile: Uuid, client: Uuid) -> [u8; 32] {
    t::key(&[client.as_bytes(), profile.as_bytes()])
}

/// Delete the grants `ids`, their `expiry` entries and every token of them; how many
/// grants there were.
fn remove_grants(
    grants: &mut GrantTables<'_>,
    tokens: &mut TokenTables<'_>,
    ids: Vec<Uuid>,
) -> Fallible<usize> {
    let mut n = 0;
    for id in ids {
        if let Some(g) = grants.take_grant(id)? {
            tokens.expiry.remove(&grant_expiry_key(&g))?;
            n += 1;
        }
        tokens.revoke_family(id)?;
    }
    Ok(n)
}

/// The ids that end the keys of `index` starting with `prefix` (its last 16 bytes).
fn ids_under<const N: usize>(
    index: &impl ReadableTable<&'static [u8; N], ()>,
    prefix: &[u8],
) -> Fallible<Vec<Uuid>> {
    let (lo, hi) = t::prefix_range::<N>(prefix);
    let mut out = Vec::new();
    for entry in index.range::<&[u8; N]>(&lo..=&hi)? {
        let (k, _) = entry?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&k.value()[N - 16..]);
        out.push(Uuid::from_bytes(id));
    }
    Ok(out)
}

/// Application `id` in `clients`.
fn client_in(
    clients: &impl ReadableTable<&'static [u8; 16], &'static [u8]>,
    id: Uuid,
) -> Fallible<Option<OAuthClientRecord>> {
    let Some(v) = clients.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_client(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("oauth_clients", id.as_bytes(), e))
}

/// Grant `id` in `grants`.
fn grant_in(
    grants: &impl ReadableTable<&'static [u8; 16], &'static [u8]>,
    id: Uuid,
) -> Fallible<Option<OAuthGrantRecord>> {
    let Some(v) = grants.get(id.as_bytes())? else {
        return Ok(None);
    };
    codec::decode_grant(id, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("oauth_grants", id.as_bytes(), e))
}

/// The consent of `profile` to `client` in `consents`.
fn consent_in(
    consents: &impl ReadableTable<&'static [u8; 32], &'static [u8]>,
    profile: Uuid,
    client: Uuid,
) -> Fallible<Option<ConsentRecord>> {
    let key = consent_key(profile, client);
    let Some(v) = consents.get(&key)? else {
        return Ok(None);
    };
    codec::decode_consent(profile, client, v.value())
        .map(Some)
        .map_err(|e| Failure::decode("oauth_consents", &key, e))
}

/// The stored RSA key, if any.
fn rsa_key(meta: &impl ReadableTable<&'static str, &'static [u8]>) -> Fallible<Option<Vec<u8>>> {
    Ok(meta.get(t::META_RSA_KEY)?.map(|v| v.value().to_vec()))
}

/// Store a new application of an existing owner.
fn create_client(tx: &WriteTransaction, c: &OAuthClientRecord) -> Fallible<()> {
    if tx
        .open_table(t::PROFILES)?
        .get(c.owner.as_bytes())?
        .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    let mut clients = tx.open_table(t::OAUTH_CLIENTS)?;
    if clients.get(c.id.as_bytes())?.is_some() {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    clients.insert(c.id.as_bytes(), codec::encode_client(c).as_slice())?;
    tx.open_table(t::OAUTH_CLIENTS_BY_OWNER)?
        .insert(&t::owner_client_key(c.owner, c.created_at, c.id), ())?;
    Ok(())
}

/// The applications of `owner`, by creation time then id (the index order).
fn list_clients(rx: &ReadTransaction, owner: Uuid) -> Fallible<Vec<OAuthClientRecord>> {
    let clients = rx.open_table(t::OAUTH_CLIENTS)?;
    let index = rx.open_table(t::OAUTH_CLIENTS_BY_OWNER)?;
    let mut out = Vec::new();
    for id in ids_under(&index, owner.as_bytes())? {
        if let Some(c) = client_in(&clients, id)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Replace application `c.id` at version `expected`, keeping its owner (and moving its
/// owner index entry if the creation time changed).
fn update_client(tx: &WriteTransaction, c: &OAuthClientRecord, expected: u64) -> Fallible<()> {
    let mut clients = tx.open_table(t::OAUTH_CLIENTS)?;
    let stored = client_in(&clients, c.id)?.ok_or(StoreError::NotFound)?;
    if stored.version != expected {
        return Err(StoreError::VersionMismatch.into());
    }
    let mut new = c.clone();
    new.owner = stored.owner;
    if new.created_at != stored.created_at {
        let mut by_owner = tx.open_table(t::OAUTH_CLIENTS_BY_OWNER)?;
        by_owner.remove(&t::owner_client_key(stored.owner, stored.created_at, c.id))?;
        by_owner.insert(&t::owner_client_key(new.owner, new.created_at, c.id), ())?;
    }
    clients.insert(c.id.as_bytes(), codec::encode_client(&new).as_slice())?;
    Ok(())
}

/// Delete application `id`, its grants with their tokens, and the consents to it;
/// whether it existed.
fn remove_client(tx: &WriteTransaction, id: Uuid) -> Fallible<bool> {
    let client = {
        let mut clients = tx.open_table(t::OAUTH_CLIENTS)?;
        let Some(c) = client_in(&clients, id)? else {
            return Ok(false);
        };
        clients.remove(id.as_bytes())?;
        c
    };
    tx.open_table(t::OAUTH_CLIENTS_BY_OWNER)?
        .remove(&t::owner_client_key(client.owner, client.created_at, id))?;
    let mut grants = GrantTables::open(tx)?;
    let ids = ids_under(&grants.by_client, id.as_bytes())?;
    remove_grants(&mut grants, &mut TokenTables::open(tx)?, ids)?;
    let mut consents = tx.open_table(t::OAUTH_CONSENTS)?;
    let mut by_client = tx.open_table(t::OAUTH_CONSENTS_BY_CLIENT)?;
    for profile in ids_under(&by_client, id.as_bytes())? {
        consents.remove(&consent_key(profile, id))?;
        by_client.remove(&consent_client_key(profile, id))?;
    }
    Ok(true)
}

/// Store grant `g` and its first token, if the token's profile has `version` and the
/// client exists: an application, or the device itself (`client_id == profile_id` and the
/// profile, read in this transaction, is a device; devices have no client record).
fn put_grant(
    tx: &WriteTransaction,
    g: &OAuthGrantRecord,
    tok: &TokenRecord,
    version: u64,
) -> Fallible<()> {
    let profile = versioned_profile(tx, tok.profile_id, version)?;
    let device_itself = g.client_id == g.profile_id
        && profile.id == g.profile_id
        && profile.kind == ProfileKind::Device;
    if !device_itself
        && tx
            .open_table(t::OAUTH_CLIENTS)?
            .get(g.client_id.as_bytes())?
            .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    let mut grants = GrantTables::open(tx)?;
    let mut tokens = TokenTables::open(tx)?;
    if grants.grants.get(g.id.as_bytes())?.is_some() || tokens.has_token(&tok.digest)? {
        return Err(StoreError::Conflict(Conflict::Exists).into());
    }
    grants.insert_grant(g, &mut tokens.expiry)?;
    tokens.insert_token(tok)
}

/// The token under `digest`, its profile and its grant, on one snapshot.
fn resolve_oauth(s: &Snapshot, digest: &TokenDigest) -> Fallible<Option<ResolvedGrant>> {
    let Some(tok) = token_in(&s.tokens, digest)? else {
        return Ok(None);
    };
    let Some(family) = tok.family else {
        return Ok(None);
    };
    let Some(grant) = grant_in(&s.grants, family)? else {
        return Ok(None);
    };
    let Some(v) = s.profiles.get(tok.profile_id.as_bytes())? else {
        return Ok(None);
    };
    let p = codec::decode_profile(tok.profile_id, v.value())
        .map_err(|e| Failure::decode("profiles", tok.profile_id.as_bytes(), e))?;
    Ok(Some(ResolvedGrant {
        token: ResolvedToken {
            profile_id: p.id,
            kind: p.kind,
            state: p.state,
            owner: p.owner,
            environments: p.environments,
            token_kind: tok.kind,
            issued_at: tok.issued_at,
            expires_at: tok.expires_at,
            token: tok.digest,
        },
        username: p.username,
        grant,
    }))
}

/// Store or replace a consent to an existing application.
fn put_consent(tx: &WriteTransaction, c: &ConsentRecord) -> Fallible<()> {
    if tx
        .open_table(t::OAUTH_CLIENTS)?
        .get(c.client_id.as_bytes())?
        .is_none()
    {
        return Err(StoreError::NotFound.into());
    }
    tx.open_table(t::OAUTH_CONSENTS)?.insert(
        &consent_key(c.profile_id, c.client_id),
        codec::encode_consent(c).as_slice(),
    )?;
    tx.open_table(t::OAUTH_CONSENTS_BY_CLIENT)?
        .insert(&consent_client_key(c.profile_id, c.client_id), ())?;
    Ok(())
}

/// The consents of `profile`, by grant time then client id.
fn list_consents(rx: &ReadTransaction, profile: Uuid) -> Fallible<Vec<ConsentRecord>> {
    let consents = rx.open_table(t::OAUTH_CONSENTS)?;
    let (lo, hi) = t::prefix_range::<32>(profile.as_bytes());
    let mut out = Vec::new();
    for entry in consents.range::<&[u8; 32]>(&lo..=&hi)? {
        let (k, v) = entry?;
        let key = k.value();
        let mut client = [0u8; 16];
        client.copy_from_slice(&key[16..]);
        let c = codec::decode_consent(profile, Uuid::from_bytes(client), v.value())
            .map_err(|e| Failure::decode("oauth_consents", key, e))?;
        out.push(c);
    }
    out.sort_by_key(|c| (c.granted_at, c.client_id));
    Ok(out)
}

/// Delete the consent of `profile` to `client` and their grants with every token of them;
/// whether there was anything.
fn revoke_consent(tx: &WriteTransaction, profile: Uuid, client: Uuid) -> Fallible<bool> {
    let had_consent = tx
        .open_table(t::OAUTH_CONSENTS)?
        .remove(&consent_key(profile, client))?
        .is_some();
    tx.open_table(t::OAUTH_CONSENTS_BY_CLIENT)?
        .remove(&consent_client_key(profile, client))?;
    let mut grants = GrantTables::open(tx)?;
    let ids = ids_under(
        &grants.by_profile,
        &consent_key(profile, client), // profile ‖ client: the prefix of the grants' keys
    )?;
    let n = remove_grants(&mut grants, &mut TokenTables::open(tx)?, ids)?;
    Ok(had_consent || n > 0)
}
