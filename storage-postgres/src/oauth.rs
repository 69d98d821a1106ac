//! [`OAuthStore`] on [`PostgresStore`]: applications, grants, consents and the RSA signing
//! key (tables of migration 3), each method one statement or one transaction.
//!
//! Locking, on top of the order of `tokens.rs` (the profile row, then token rows):
//!
//! - `put_grant` reads its profile `FOR SHARE` (the version check, as `put_token`, and the
//!   kind) and then the application `FOR SHARE`, unless the client is the device itself
//!   (`client_id == profile_id` naming a device profile: devices have no application row,
//!   and `oauth_grants.client_id` is no foreign key for that reason); `remove_client` takes
//!   the application `FOR UPDATE` first. So a grant is either committed before the removal
//!   looks for grants, or finds the application gone. The removal then deletes the grants'
//!   tokens pass after pass until a pass finds none (a refresh rotation already writing is
//!   waited for, and the next pass sees what it inserted; one starting later finds its
//!   token deleted), then the grants, then the application, whose `ON DELETE CASCADE`
//!   takes its consents.
//! - `revoke_consent` takes the application `FOR SHARE` (so it and a removal of the
//!   application, which would delete the same rows in another order, run one after the
//!   other; a device's own grants have no application to take and no removal to race),
//!   then the profile row `FOR NO KEY UPDATE`, as a password change does:
//!   every writer of the profile's tokens or grants (`put_token`, `put_grant`, a rotation)
//!   holds it `FOR SHARE` until it commits, so one statement deleting the pair's grants,
//!   their tokens and the consent sees everything committed before it, and nothing can be
//!   added meanwhile.

use async_trait::async_trait;
use tessera_core::profile::ProfileKind;
use tessera_core::store::{
    CommandRecord, ConsentRecord, OAuthClientRecord, OAuthGrantRecord, OAuthStore, ResolvedGrant,
    StoreError, StoreResult, TokenRecord,
};
use tessera_core::token::TokenDigest;
use uuid::Uuid;

use crate::codec::{
    self, CLIENT_COLUMNS, CONSENT_COLUMNS, GRANT_COLUMNS, alg_to_i16, kind_to_i16, to_i64,
};
use crate::commands;
use crate::error::{corrupt, from_sqlx, version_refusal_in};
use crate::store::PostgresStore;
use crate::tokens::{insert, lock_profile};

/// `meta` row of the RSA signing key (PKCS#8 DER).
const RSA_KEY: &str = "rsa_key";

/// The introspection and userinfo query: token, profile and grant in one statement (the
/// grant's columns as [`GRANT_COLUMNS`] names them).
const RESOLVE_OAUTH: &str = "SELECT t.kind AS token_kind, t.issued_at, t.expires_at, \
    p.id, p.kind, p.state, p.owner_id, p.environments, p.username, \
    g.id AS g_id, g.client_id AS g_client_id, g.profile_id AS g_profile_id, \
    g.scopes AS g_scopes, g.redirect_uri AS g_redirect_uri, \
    g.code_challenge AS g_code_challenge, g.nonce AS g_nonce, g.auth_time AS g_auth_time, \
    g.created_at AS g_created_at, g.expires_at AS g_expires_at \
    FROM tokens t JOIN profiles p ON p.id = t.profile_id JOIN oauth_grants g ON g.id = t.family \
    WHERE t.digest = $1";

/// Delete the tokens of every grant of application `$1` (one pass).
const DELETE_CLIENT_TOKENS: &str =
    "DELETE FROM tokens WHERE family IN (SELECT id FROM oauth_grants WHERE client_id = $1)";

/// Delete the grants of `($1, $2)`, their tokens and the consent, in one statement; how
/// many grants and consents were deleted.
const REVOKE_CONSENT: &str = "WITH g AS (DELETE FROM oauth_grants \
        WHERE profile_id = $1 AND client_id = $2 RETURNING id), \
     t AS (DELETE FROM tokens WHERE family IN (SELECT id FROM g) RETURNING 1), \
     c AS (DELETE FROM oauth_consents WHERE profile_id = $1 AND client_id = $2 RETURNING 1) \
     SELECT (SELECT count(*) FROM g) + (SELECT count(*) FROM c) AS n";

/// Bind the columns of an application after `$1` (the id) in the order of
/// [`CLIENT_COLUMNS`] from `name` on: `$2` name … `$12` version.
fn bind_client<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    c: &'q OAuthClientRecord,
) -> StoreResult<sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>> {
    Ok(q.bind(c.name.as_str())
        .bind(c.confidential)
        .bind(c.redirect_uris.as_slice())
        .bind(c.scopes.as_slice())
        .bind(alg_to_i16(c.id_token_alg))
        .bind(c.secret.as_ref().map(|d| d.0.as_slice()))
        .bind(c.pending_secret.as_deref())
        .bind(c.first_party)
        .bind(c.created_at.0)
        .bind(c.updated_at.0)
        .bind(to_i64(c.version, "client version")?))
}

#[async_trait]
impl OAuthStore for PostgresStore {
    /// One transaction: the insert (only if the owner exists; a taken id is the primary
    /// key's unique violation), then the command.
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let q = sqlx::query(
            "INSERT INTO oauth_clients (id, name, confidential, redirect_uris, scopes, \
             id_token_alg, secret, pending_secret, first_party, created_at, updated_at, \
             version, owner_id) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 \
             WHERE EXISTS (SELECT 1 FROM profiles WHERE id = $13)",
        )
        .bind(client.id);
        let done = bind_client(q, client)?
            .bind(client.owner)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::client).transpose()
    }

    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>> {
        let sql = format!("SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE owner_id = $1");
        let rows = sqlx::query(&sql)
            .bind(owner)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        let mut out = rows
            .iter()
            .map(codec::client)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }

    /// One transaction: `UPDATE … WHERE version = $expected` (owner and id kept), then the
    /// command.
    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let q = sqlx::query(
            "UPDATE oauth_clients SET name = $2, confidential = $3, redirect_uris = $4, \
             scopes = $5, id_token_alg = $6, secret = $7, pending_secret = $8, \
             first_party = $9, created_at = $10, updated_at = $11, version = $12 \
             WHERE id = $1 AND version = $13",
        )
        .bind(client.id);
        let done = bind_client(q, client)?
            .bind(to_i64(expected_version, "client version")?)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Err(version_refusal_in(&mut tx, "oauth_clients", client.id).await);
        }
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    /// One transaction: the application `FOR UPDATE`, its grants' tokens pass after pass,
    /// its grants, the application (cascading to its consents), the command.
    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let found = sqlx::query("SELECT 1 FROM oauth_clients WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if found.is_none() {
            return Ok(false);
        }
        loop {
            let done = sqlx::query(DELETE_CLIENT_TOKENS)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            if done.rows_affected() == 0 {
                break;
            }
        }
        sqlx::query("DELETE FROM oauth_grants WHERE client_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        sqlx::query("DELETE FROM oauth_clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        commands::insert_in(&mut tx, command).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    /// One transaction: the profile `FOR SHARE` with its version and kind, the application
    /// `FOR SHARE` (unless the client is the device itself), the grant, the token.
    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let profile: Option<(i64, i16)> =
            sqlx::query_as("SELECT version, kind FROM profiles WHERE id = $1 FOR SHARE")
                .bind(token.profile_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        let kind = match profile {
            None => return Err(StoreError::NotFound),
            Some((v, _)) if u64::try_from(v).ok() != Some(profile_version) => {
                return Err(StoreError::VersionMismatch);
            }
            Some((_, kind)) => kind,
        };
        let device_itself = grant.client_id == grant.profile_id
            && token.profile_id == grant.profile_id
            && kind == kind_to_i16(ProfileKind::Device);
        if !device_itself {
            let client = sqlx::query("SELECT 1 FROM oauth_clients WHERE id = $1 FOR SHARE")
                .bind(grant.client_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(from_sqlx)?;
            if client.is_none() {
                return Err(StoreError::NotFound);
            }
        }
        sqlx::query(
            "INSERT INTO oauth_grants (id, client_id, profile_id, scopes, redirect_uri, \
             code_challenge, nonce, auth_time, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(grant.id)
        .bind(grant.client_id)
        .bind(grant.profile_id)
        .bind(grant.scopes.as_slice())
        .bind(grant.redirect_uri.as_deref())
        .bind(grant.code_challenge.as_deref())
        .bind(grant.nonce.as_deref())
        .bind(grant.auth_time.0)
        .bind(grant.created_at.0)
        .bind(grant.expires_at.0)
        .execute(&mut *tx)
        .await
        .map_err(from_sqlx)?;
        insert(&mut tx, token).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>> {
        let sql = format!("SELECT {GRANT_COLUMNS} FROM oauth_grants g WHERE g.id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::grant).transpose()
    }

    /// One statement joining the token to its profile and its grant.
    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>> {
        let row = sqlx::query(RESOLVE_OAUTH)
            .bind(digest.0.as_slice())
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(ResolvedGrant {
            token: codec::resolved(&row, *digest)?,
            username: sqlx::Row::try_get(&row, "username").map_err(from_sqlx)?,
            grant: codec::grant(&row)?,
        }))
    }

    /// One statement: an upsert that inserts only while the application exists (its
    /// foreign key makes a removal committed meanwhile fail it).
    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()> {
        let done = sqlx::query(
            "INSERT INTO oauth_consents (profile_id, client_id, scopes, granted_at) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM oauth_clients WHERE id = $2) \
             ON CONFLICT (profile_id, client_id) \
             DO UPDATE SET scopes = EXCLUDED.scopes, granted_at = EXCLUDED.granted_at",
        )
        .bind(consent.profile_id)
        .bind(consent.client_id)
        .bind(consent.scopes.as_slice())
        .bind(consent.granted_at.0)
        .execute(self.pool())
        .await
        .map_err(from_sqlx)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>> {
        let sql = format!(
            "SELECT {CONSENT_COLUMNS} FROM oauth_consents WHERE profile_id = $1 AND client_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(profile)
            .bind(client)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        row.as_ref().map(codec::consent).transpose()
    }

    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>> {
        let sql = format!("SELECT {CONSENT_COLUMNS} FROM oauth_consents WHERE profile_id = $1");
        let rows = sqlx::query(&sql)
            .bind(profile)
            .fetch_all(self.pool())
            .await
            .map_err(from_sqlx)?;
        let mut out = rows
            .iter()
            .map(codec::consent)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|c| (c.granted_at, c.client_id));
        Ok(out)
    }

    /// One transaction: the application `FOR SHARE` (a removal of it runs before or after,
    /// never interleaved), the profile row `FOR NO KEY UPDATE`, one statement deleting the
    /// grants, their tokens and the consent, the command. A device withdrawing its
    /// "consent" to itself (no application row) ends its own grants the same way.
    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool().begin().await.map_err(from_sqlx)?;
        let found = sqlx::query("SELECT 1 FROM oauth_clients WHERE id = $1 FOR SHARE")
            .bind(client)
            .fetch_optional(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        if found.is_none() && client != profile {
            // its grants and consents went with it (only a device's own grants, client ==
            // profile, have no application row)
            return Ok(false);
        }
        lock_profile(&mut tx, profile, false).await?;
        let n: i64 = sqlx::query_scalar(REVOKE_CONSENT)
            .bind(profile)
            .bind(client)
            .fetch_one(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        let any = n > 0;
        if any {
            commands::insert_in(&mut tx, command).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(any)
    }

    /// Insert unless present, then read (as `server_key_or_insert`).
    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(RSA_KEY)
            .bind(candidate)
            .execute(self.pool())
            .await
            .map_err(from_sqlx)?;
        let key: Option<Vec<u8>> = sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
            .bind(RSA_KEY)
            .fetch_optional(self.pool())
            .await
            .map_err(from_sqlx)?;
        key.ok_or_else(|| corrupt("meta", RSA_KEY, "the RSA key vanished after its insert"))
    }
}
