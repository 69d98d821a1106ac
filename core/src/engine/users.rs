//! Server-registered users (seed-004 style): a backend service, holding a server API key,
//! upserts users keyed by its identity provider's id, grants them environments, and logs
//! them in or out. Such users are `active` at once (the registering server vouches for
//! them) and have no password unless created with a temporary one.
//!
//! Environment grants live on the profile ([`ProfileRecord::environments`]): `verify`
//! returns them in the [`crate::Principal`] from its one read, so a changed grant shows on
//! the next verify.

use std::collections::BTreeMap;
use std::fmt;

use uuid::Uuid;
use zeroize::Zeroizing;

use super::Engine;
use super::OPTIMISTIC_RETRIES;
use super::sessions::Issued;
use super::user_rules::{
    apply_grants, invalid, metadata_text, validate_email, validate_environments,
    validate_external_id,
};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::profile::{ProfileKind, ProfileState};
use crate::store::{Conflict, ProfileRecord, Revoke, ServerUserRecord, StoreError};
use crate::token::TokenKind;
use crate::username::Username;

/// An upsert of a server-registered user. Fields left `None` keep their stored value on an
/// update; `environments` changes only the environments it names.
#[derive(Default)]
pub struct ExternalUserUpsert {
    /// The identity provider's unique id: 1–255 printable ASCII characters (no spaces).
    pub external_id: String,
    /// Email, for the registering server's identification (replaces the stored one).
    pub email: Option<String>,
    /// Custom metadata: a JSON object of at most 16 KiB (replaces the stored one).
    pub metadata: Option<serde_json::Value>,
    /// Per-environment, all-or-nothing grants: `true` grants, `false` revokes.
    pub environments: BTreeMap<String, bool>,
    /// The login name (username rules). Required with `temporary_password` on creation;
    /// without it a user gets the name `x-<profile id hex>`. Never changes afterwards
    /// (another value on an update is refused).
    pub username: Option<String>,
    /// A temporary password (full password policy): the user's first login answers the
    /// NEW_PASSWORD_REQUIRED challenge. On an update it replaces the password and revokes
    /// every token of the user.
    pub temporary_password: Option<Zeroizing<String>>,
    /// Also issue an authorization token (the user's login), valid for the configured
    /// access TTL (24 h by default).
    pub create_token: bool,
}

impl fmt::Debug for ExternalUserUpsert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalUserUpsert")
            .field("external_id", &self.external_id)
            .field("email", &self.email)
            .field("metadata", &self.metadata.as_ref().map(|_| "<object>"))
            .field("environments", &self.environments)
            .field("username", &self.username)
            .field(
                "temporary_password",
                &self.temporary_password.as_ref().map(|_| "<redacted>"),
            )
            .field("create_token", &self.create_token)
            .finish()
    }
}

/// A server-registered user as the users API shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalUser {
    /// The identity provider's id.
    pub external_id: String,
    /// The user's profile.
    pub profile_id: Uuid,
    /// Its canonical username.
    pub username: String,
    /// Email, if given.
    pub email: Option<String>,
    /// Metadata object, if given.
    pub metadata: Option<serde_json::Value>,
    /// Granted environments, sorted.
    pub environments: Vec<String>,
    /// Whether the user must replace a temporary password at the next login.
    pub password_temporary: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// What [`Engine::upsert_external_user`] answers.
#[derive(Debug)]
pub struct ExternalUpsert {
    /// The user after the upsert.
    pub user: ExternalUser,
    /// Whether this call created it.
    pub created: bool,
    /// The new authorization token, when `create_token` was set.
    pub token: Option<Issued>,
}

impl Engine {
    /// Create or update the server-registered user `req.external_id`. Creation makes an
    /// active user profile and the id mapping in one store transaction; an update changes
    /// the mapping and the profile (grants, temporary password) in one transaction, retried
    /// on a concurrent change. Errors: `Validation` (`externalId`, `email`, `metadata`,
    /// `environments`, `username`), `InvalidUsername`, `UsernameTaken`, password policy
    /// errors, `Overloaded`.
    pub async fn upsert_external_user(&self, req: ExternalUserUpsert) -> Result<ExternalUpsert> {
        let valid = Valid {
            external_id: validate_external_id(&req.external_id)
                .map_err(|m| invalid("externalId", m))?
                .to_owned(),
            email: req.email.as_deref().map(validate_email).transpose()?,
            metadata: req.metadata.as_ref().map(metadata_text).transpose()?,
            username: req.username.as_deref().map(Username::parse).transpose()?,
        };
        validate_environments(&req.environments)?;
        // The temporary password's hash, made once for the name it is checked against.
        let mut hashed: Option<(String, String)> = None;
        for _ in 0..OPTIMISTIC_RETRIES {
            let stored = self.store.get_server_user(&valid.external_id).await?;
            let name = match (&stored, &valid.username) {
                (Some(u), _) => self.profile(u.profile_id).await?.username,
                (None, Some(n)) => n.as_str().to_owned(),
                (None, None) if req.temporary_password.is_some() => {
                    return Err(invalid(
                        "username",
                        "a username is required with a temporary password",
                    ));
                }
                (None, None) => String::new(),
            };
            let temp_hash = match &req.temporary_password {
                Some(pw) => Some(self.temp_hash(&mut hashed, pw, &name).await?),
                None => None,
            };
            let done = match stored {
                None => self.create_round(&req, &valid, name, temp_hash).await?,
                Some(stored) => self.update_round(&req, &valid, stored, temp_hash).await?,
            };
            if let Some((user, profile, created)) = done {
                return self
                    .finish_upsert(user, profile, created, req.create_token)
                    .await;
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// Try to create the user; `None` when it was created concurrently (update it then).
    async fn create_round(
        &self,
        req: &ExternalUserUpsert,
        valid: &Valid,
        name: String,
        temp_hash: Option<String>,
    ) -> Result<Option<(ServerUserRecord, ProfileRecord, bool)>> {
        let now = self.clock.now();
        let id = self.new_id();
        let profile = ProfileRecord {
            id,
            kind: ProfileKind::User,
            username: if name.is_empty() {
                format!("x-{}", id.simple())
            } else {
                name
            },
            password_temporary: temp_hash.is_some(),
            password_hash: temp_hash,
            state: ProfileState::Active,
            public_key: None,
            owner: None,
            device: None,
            environments: apply_grants(&[], &req.environments)?,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let user = ServerUserRecord {
            external_id: valid.external_id.clone(),
            profile_id: id,
            email: valid.email.clone(),
            metadata: valid.metadata.clone(),
            created_at: now,
            updated_at: now,
        };
        match self.store.create_server_user(&user, &profile).await {
            Ok(()) => Ok(Some((user, profile, true))),
            Err(StoreError::Conflict(Conflict::Exists)) => Ok(None),
            Err(StoreError::Conflict(Conflict::Username)) => Err(Error::UsernameTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// Try to update the user; `None` when it changed concurrently (read it again then).
    async fn update_round(
        &self,
        req: &ExternalUserUpsert,
        valid: &Valid,
        mut user: ServerUserRecord,
        temp_hash: Option<String>,
    ) -> Result<Option<(ServerUserRecord, ProfileRecord, bool)>> {
        let now = self.clock.now();
        let mut profile = self.profile(user.profile_id).await?;
        if valid
            .username
            .as_ref()
            .is_some_and(|n| n.as_str() != profile.username)
        {
            return Err(invalid(
                "username",
                "the username of an existing user cannot change",
            ));
        }
        let expected = profile.version;
        profile.environments = apply_grants(&profile.environments, &req.environments)?;
        let revoke = match temp_hash {
            Some(hash) => {
                profile.password_hash = Some(hash);
                profile.password_temporary = true;
                Revoke::All
            }
            None => Revoke::Nothing,
        };
        profile.version = expected + 1;
        profile.updated_at = now;
        if valid.email.is_some() {
            user.email.clone_from(&valid.email);
        }
        if valid.metadata.is_some() {
            user.metadata.clone_from(&valid.metadata);
        }
        user.updated_at = now;
        match self
            .store
            .update_server_user(&user, &profile, expected, revoke)
            .await
        {
            Ok(()) => Ok(Some((user, profile, false))),
            Err(StoreError::VersionMismatch | StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A server-registered user. Errors: `NotFound`.
    pub async fn external_user(&self, external_id: &str) -> Result<ExternalUser> {
        let (user, profile) = self.load_external(external_id).await?;
        view(user, &profile)
    }

    /// Log a server-registered user out: every token of the user is revoked. Returns how
    /// many. Errors: `NotFound`.
    pub async fn logout_external_user(&self, external_id: &str) -> Result<u64> {
        let (user, _) = self.load_external(external_id).await?;
        Ok(self
            .store
            .revoke_profile_tokens(user.profile_id, None)
            .await?)
    }

    async fn load_external(&self, external_id: &str) -> Result<(ServerUserRecord, ProfileRecord)> {
        let ext = validate_external_id(external_id).map_err(|_| Error::NotFound)?;
        let user = self
            .store
            .get_server_user(ext)
            .await?
            .ok_or(Error::NotFound)?;
        let profile = self.profile(user.profile_id).await?;
        Ok((user, profile))
    }

    /// Hash `password` for `name`, reusing the hash from an earlier round for the same name.
    async fn temp_hash(
        &self,
        cache: &mut Option<(String, String)>,
        password: &str,
        name: &str,
    ) -> Result<String> {
        if let Some((n, h)) = cache.as_ref()
            && n == name
        {
            return Ok(h.clone());
        }
        let checked = self.check_new_password(password, name).await?;
        let hash = self.hash_password(checked).await?;
        *cache = Some((name.to_owned(), hash.clone()));
        Ok(hash)
    }

    async fn finish_upsert(
        &self,
        user: ServerUserRecord,
        mut profile: ProfileRecord,
        created: bool,
        create_token: bool,
    ) -> Result<ExternalUpsert> {
        let mut token = None;
        if create_token {
            for _ in 0..OPTIMISTIC_RETRIES {
                match self
                    .issue(
                        &profile,
                        TokenKind::Authorization,
                        self.cfg.access_ttl.secs(),
                        None,
                    )
                    .await
                {
                    Ok(issued) => {
                        token = Some(issued);
                        break;
                    }
                    Err(StoreError::VersionMismatch) => profile = self.profile(profile.id).await?,
                    Err(e) => return Err(e.into()),
                }
            }
            if token.is_none() {
                return Err(Error::Storage(StoreError::VersionMismatch));
            }
        }
        Ok(ExternalUpsert {
            user: view(user, &profile)?,
            created,
            token,
        })
    }
}

/// The validated fields of an upsert.
struct Valid {
    external_id: String,
    email: Option<String>,
    metadata: Option<String>,
    username: Option<Username>,
}

fn view(user: ServerUserRecord, profile: &ProfileRecord) -> Result<ExternalUser> {
    let metadata = user
        .metadata
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
        .transpose()
        .map_err(|e| {
            Error::Storage(StoreError::Corrupt {
                what: format!("external user metadata is not JSON: {e}"),
                location: format!("external user of profile {}", user.profile_id),
            })
        })?;
    Ok(ExternalUser {
        external_id: user.external_id,
        profile_id: user.profile_id,
        username: profile.username.clone(),
        email: user.email,
        metadata,
        environments: profile.environments.clone(),
        password_temporary: profile.password_temporary,
        created_at: user.created_at,
        updated_at: user.updated_at,
    })
}
