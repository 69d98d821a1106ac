//! OAuth applications (Privicore "OAuth Application"): registration and management by
//! their owner, and a profile's consents.
//!
//! Only active users register applications; every other operation on an application is its
//! owner's, and an application that is not the caller's answers `NotFound` (no existence
//! leak). A confidential application's secret is shown once, by the first
//! [`Engine::application_configuration`] after registration or rotation; only its digest
//! stays. Registration, rotation, removal and consent revocation are commands (202).

use uuid::Uuid;

use super::super::{Accepted, Engine, OPTIMISTIC_RETRIES};
use super::clients::ClientSecret;
use super::{parse_scopes, redirect};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::ProfileKind;
use crate::store::{IdTokenAlg, OAuthClientRecord, StoreError};

/// Longest application name, in characters.
pub const MAX_APPLICATION_NAME: usize = 100;
/// Most redirect URIs an application registers.
pub const MAX_REDIRECT_URIS: usize = 10;

/// What registering an application asks for (the form's fields, unchecked).
#[derive(Debug, Clone, Copy)]
pub struct NewApplication<'a> {
    /// 1–100 characters, no control characters.
    pub name: &'a str,
    /// 1–10 distinct redirect URIs ([`redirect::check_registrable`]).
    pub redirect_uris: &'a [&'a str],
    /// Space-separated scopes, from the supported ones.
    pub scope: &'a str,
    /// `confidential` (default) or `public`.
    pub client_type: Option<&'a str>,
    /// `RS256` (default) or `EdDSA`.
    pub id_token_alg: Option<&'a str>,
}

/// An application as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The client id.
    pub client_id: Uuid,
    /// Display name.
    pub name: String,
    /// Confidential (has a secret) or public.
    pub confidential: bool,
    /// Registered redirect URIs, in registration order.
    pub redirect_uris: Vec<String>,
    /// Scopes it may ask for, in registration order.
    pub scopes: Vec<String>,
    /// The grant types it may use.
    pub grant_types: Vec<&'static str>,
    /// How its id tokens are signed.
    pub id_token_alg: IdTokenAlg,
    /// Registration time.
    pub created_at: Timestamp,
}

impl Application {
    fn of(c: &OAuthClientRecord) -> Self {
        let mut grant_types = vec!["authorization_code"];
        if c.scopes.iter().any(|s| s == "offline_access") {
            grant_types.push("refresh_token");
        }
        if c.confidential {
            grant_types.push("client_credentials");
        }
        Self {
            client_id: c.id,
            name: c.name.clone(),
            confidential: c.confidential,
            redirect_uris: c.redirect_uris.clone(),
            scopes: c.scopes.clone(),
            grant_types,
            id_token_alg: c.id_token_alg,
            created_at: c.created_at,
        }
    }

    /// `confidential` or `public`.
    #[must_use]
    pub const fn client_type(&self) -> &'static str {
        if self.confidential {
            "confidential"
        } else {
            "public"
        }
    }
}

/// What `retrieve-configuration` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationConfiguration {
    /// The application.
    pub application: Application,
    /// The secret, in the first answer after registration or rotation only.
    pub client_secret: Option<ClientSecret>,
}

/// How `retrieve-configuration` names an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationRef {
    /// By client id.
    ClientId(Uuid),
    /// By the command id of its registration.
    Command(Uuid),
}

/// What `scope` answers: what an application may ask for, and what the caller consented
/// to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationScope {
    /// The client id.
    pub client_id: Uuid,
    /// Display name.
    pub name: String,
    /// Its registered scopes.
    pub scopes: Vec<String>,
    /// The caller's standing consent (empty when none).
    pub granted: Vec<String>,
}

/// One consent of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The application.
    pub client_id: Uuid,
    /// Its name.
    pub name: String,
    /// The consented scopes.
    pub scopes: Vec<String>,
    /// When.
    pub granted_at: Timestamp,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::validation(field, message)
}

/// A registration's fields, checked.
struct Checked {
    name: String,
    redirect_uris: Vec<String>,
    scopes: Vec<String>,
    confidential: bool,
    id_token_alg: IdTokenAlg,
}

/// Check a registration's fields.
fn check_new(new: &NewApplication<'_>, config: &super::OAuthConfig) -> Result<Checked> {
    let name = new.name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_APPLICATION_NAME || name.chars().any(char::is_control) {
        return Err(invalid(
            "name",
            "name must be 1-100 characters without control characters",
        ));
    }
    let confidential = match new.client_type {
        None | Some("confidential") => true,
        Some("public") => false,
        Some(_) => {
            return Err(invalid(
                "clientType",
                "clientType must be confidential or public",
            ));
        }
    };
    let alg = match new.id_token_alg {
        None => IdTokenAlg::Rs256,
        Some(a) => IdTokenAlg::from_name(a)
            .ok_or_else(|| invalid("idTokenAlg", "idTokenAlg must be RS256 or EdDSA"))?,
    };
    if new.redirect_uris.is_empty() || new.redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(invalid("redirectUri", "give 1-10 redirectUri values"));
    }
    let mut uris: Vec<String> = Vec::with_capacity(new.redirect_uris.len());
    for uri in new.redirect_uris {
        redirect::check_registrable(uri, !confidential).map_err(|m| invalid("redirectUri", m))?;
        if uris.iter().any(|u| u == uri) {
            return Err(invalid("redirectUri", "a redirectUri is given twice"));
        }
        uris.push((*uri).to_owned());
    }
    let scopes =
        parse_scopes(new.scope, config, None).map_err(|e| invalid("scope", e.description))?;
    Ok(Checked {
        name: name.to_owned(),
        redirect_uris: uris,
        scopes,
        confidential,
        id_token_alg: alg,
    })
}

impl Engine {
    /// Register an OAuth application owned by the caller (an active user). A confidential
    /// one gets a secret, shown by the next [`Engine::application_configuration`]. A
    /// command ("OAuth application registered", result `clientId`).
    ///
    /// Errors: `Forbidden` (a device), the state errors, `Validation` (`name`,
    /// `redirectUri`, `scope`, `clientType`, `idTokenAlg`).
    pub async fn register_application(
        &self,
        principal: &Principal,
        new: &NewApplication<'_>,
    ) -> Result<Accepted<Uuid>> {
        principal.require_active()?;
        if principal.kind != ProfileKind::User {
            return Err(Error::Forbidden);
        }
        let Checked {
            name,
            redirect_uris,
            scopes,
            confidential,
            id_token_alg,
        } = check_new(new, &self.cfg.oauth)?;
        let secret = confidential.then(|| ClientSecret::generate(self.rng.as_ref()));
        let now = self.clock.now();
        let id = self.new_id();
        let record = OAuthClientRecord {
            id,
            owner: principal.profile_id,
            name,
            confidential,
            redirect_uris,
            scopes,
            id_token_alg,
            secret: secret.as_ref().map(ClientSecret::digest),
            pending_secret: secret.as_ref().map(|s| s.expose().to_owned()),
            first_party: self.cfg.oauth.first_party_clients.contains(&id),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let command = self.new_command(
            Some(principal.profile_id),
            "OAuth application registered",
            vec![("clientId".to_owned(), id.hyphenated().to_string())],
        );
        match self.store.create_client(&record, Some(&command)).await {
            Ok(()) => Ok(self.accepted(id, command)),
            Err(StoreError::NotFound) => Err(Error::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// The configuration of one of the caller's applications, by client id or by the
    /// command id of its registration. The secret of a confidential application is in the
    /// first answer after registration or rotation, `None` afterwards.
    pub async fn application_configuration(
        &self,
        principal: &Principal,
        which: ApplicationRef,
    ) -> Result<ApplicationConfiguration> {
        principal.require_active()?;
        let id = match which {
            ApplicationRef::ClientId(id) => id,
            ApplicationRef::Command(cmd) => self
                .command(cmd)
                .await?
                .filter(|c| c.profile_id == Some(principal.profile_id))
                .and_then(|c| {
                    c.result
                        .iter()
                        .find(|(k, _)| k == "clientId")
                        .and_then(|(_, v)| Uuid::try_parse(v).ok())
                })
                .ok_or(Error::NotFound)?,
        };
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut client = self.owned_client(principal, id).await?;
            let Some(pending) = client.pending_secret.take() else {
                return Ok(ApplicationConfiguration {
                    application: Application::of(&client),
                    client_secret: None,
                });
            };
            let expected = client.version;
            client.version += 1;
            client.updated_at = self.clock.now();
            match self.store.update_client(&client, expected, None).await {
                Ok(()) => {
                    return Ok(ApplicationConfiguration {
                        application: Application::of(&client),
                        client_secret: Some(ClientSecret::from_text(pending)),
                    });
                }
                Err(StoreError::VersionMismatch) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// Give one of the caller's confidential applications a new secret (shown by the next
    /// [`Engine::application_configuration`]); the old one stops working at once. A command
    /// ("OAuth application secret rotated"). A public application has no secret
    /// (`Validation` on `clientId`).
    pub async fn rotate_application_secret(
        &self,
        principal: &Principal,
        client_id: Uuid,
    ) -> Result<Accepted<()>> {
        principal.require_active()?;
        for _ in 0..OPTIMISTIC_RETRIES {
            let mut client = self.owned_client(principal, client_id).await?;
            if !client.confidential {
                return Err(invalid("clientId", "a public application has no secret"));
            }
            let secret = ClientSecret::generate(self.rng.as_ref());
            let expected = client.version;
            client.version += 1;
            client.updated_at = self.clock.now();
            client.secret = Some(secret.digest());
            client.pending_secret = Some(secret.expose().to_owned());
            let command = self.new_command(
                Some(principal.profile_id),
                "OAuth application secret rotated",
                vec![("clientId".to_owned(), client_id.hyphenated().to_string())],
            );
            match self
                .store
                .update_client(&client, expected, Some(&command))
                .await
            {
                Ok(()) => return Ok(self.accepted((), command)),
                Err(StoreError::VersionMismatch) => {}
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// Remove one of the caller's applications: every code, access and refresh token of it
    /// and every consent to it go in the same transaction. A command ("OAuth application
    /// removed").
    pub async fn remove_application(
        &self,
        principal: &Principal,
        client_id: Uuid,
    ) -> Result<Accepted<()>> {
        principal.require_active()?;
        self.owned_client(principal, client_id).await?;
        let command = self.new_command(
            Some(principal.profile_id),
            "OAuth application removed",
            vec![("clientId".to_owned(), client_id.hyphenated().to_string())],
        );
        if self.store.remove_client(client_id, Some(&command)).await? {
            Ok(self.accepted((), command))
        } else {
            Err(Error::NotFound)
        }
    }

    /// The caller's applications, by creation time.
    pub async fn list_applications(&self, principal: &Principal) -> Result<Vec<Application>> {
        principal.require_active()?;
        Ok(self
            .store
            .list_clients(principal.profile_id)
            .await?
            .iter()
            .map(Application::of)
            .collect())
    }

    /// What application `client_id` may ask for and what the caller consented to (any
    /// application, not only the caller's). Unknown → `NotFound`.
    pub async fn application_scope(
        &self,
        principal: &Principal,
        client_id: Uuid,
    ) -> Result<ApplicationScope> {
        principal.require_active()?;
        let client = self
            .store
            .get_client(client_id)
            .await?
            .ok_or(Error::NotFound)?;
        let granted = self
            .store
            .get_consent(principal.profile_id, client_id)
            .await?
            .map(|c| c.scopes)
            .unwrap_or_default();
        Ok(ApplicationScope {
            client_id,
            name: client.name,
            scopes: client.scopes,
            granted,
        })
    }

    /// The caller's consents, by grant time (an application removed meanwhile is left out).
    pub async fn consents(&self, principal: &Principal) -> Result<Vec<Consent>> {
        principal.require_active()?;
        let mut out = Vec::new();
        for c in self.store.list_consents(principal.profile_id).await? {
            if let Some(client) = self.store.get_client(c.client_id).await? {
                out.push(Consent {
                    client_id: c.client_id,
                    name: client.name,
                    scopes: c.scopes,
                    granted_at: c.granted_at,
                });
            }
        }
        Ok(out)
    }

    /// Withdraw the caller's consent to `client_id`: the consent and every token of that
    /// application for the caller go in the same transaction. A command ("OAuth consent
    /// revoked"). No consent and no grant → `NotFound`.
    pub async fn revoke_consent(
        &self,
        principal: &Principal,
        client_id: Uuid,
    ) -> Result<Accepted<()>> {
        principal.require_active()?;
        let command = self.new_command(
            Some(principal.profile_id),
            "OAuth consent revoked",
            vec![("clientId".to_owned(), client_id.hyphenated().to_string())],
        );
        if self
            .store
            .revoke_consent(principal.profile_id, client_id, Some(&command))
            .await?
        {
            Ok(self.accepted((), command))
        } else {
            Err(Error::NotFound)
        }
    }

    /// An application of the caller's; another's or an unknown one is `NotFound`.
    async fn owned_client(&self, principal: &Principal, id: Uuid) -> Result<OAuthClientRecord> {
        self.store
            .get_client(id)
            .await?
            .filter(|c| c.owner == principal.profile_id)
            .ok_or(Error::NotFound)
    }
}
