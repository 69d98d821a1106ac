//! Public keys: registration with proof of possession, lookup, and the server's own key.

use uuid::Uuid;

use super::{Accepted, Engine};
use crate::error::{Error, Result};
use crate::key::{self, KeyPair, PublicKey};
use crate::principal::Principal;
use crate::profile::{self, Event, Operation, ProfileState};
use crate::store::{Conflict, Revoke, StoreError};

impl Engine {
    /// Register (or rotate) the public key of the token's profile. `key_text` is the
    /// Privicore 200-hex or raw 64-hex encoding; `signature_hex` signs
    /// [`key::proof_message`] (unless proof is disabled in the config). Activates a user;
    /// moves a device to `pending`. Returns the new state. A command ("Public key
    /// registered", result `state`).
    pub async fn register_public_key(
        &self,
        principal: &Principal,
        key_text: &str,
        signature_hex: &str,
    ) -> Result<Accepted<ProfileState>> {
        principal.require(Operation::RegisterPublicKey)?;
        let key = PublicKey::parse(key_text)?;
        if self.cfg.require_key_proof {
            key::verify_proof(principal.profile_id, &key, signature_hex)?;
        }
        let result = self
            .update_profile_command(
                principal.profile_id,
                Revoke::Nothing,
                |p| {
                    p.state = profile::apply(p.kind, p.state, Event::KeyRegistered)?;
                    p.public_key = Some(*key.as_bytes());
                    Ok(())
                },
                |p| {
                    let state = vec![("state".to_owned(), p.state.as_str().to_owned())];
                    self.new_command(Some(p.id), "Public key registered", state)
                },
            )
            .await;
        match result {
            Ok((p, command)) => Ok(self.accepted(p.state, command)),
            Err(Error::Storage(StoreError::Conflict(Conflict::PublicKey))) => Err(
                Error::InvalidPublicKey("this key is already registered to another profile"),
            ),
            Err(e) => Err(e),
        }
    }

    /// The public key of `profile_id` (default: the token's own profile).
    /// Errors: `NotFound` when the profile has none.
    pub async fn public_key(
        &self,
        principal: &Principal,
        profile_id: Option<Uuid>,
    ) -> Result<PublicKey> {
        principal.require(Operation::Other)?;
        let p = self
            .profile(profile_id.unwrap_or(principal.profile_id))
            .await?;
        if p.state == ProfileState::Removed {
            return Err(Error::NotFound);
        }
        p.public_key
            .map(PublicKey::from_bytes)
            .transpose()?
            .ok_or(Error::NotFound)
    }

    /// The server's public key (it signs QR payloads and channel messages).
    pub async fn server_public_key(&self) -> Result<PublicKey> {
        Ok(self.server_key().await?.public())
    }

    /// Sign `message` with the server's key.
    pub async fn server_sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        Ok(self.server_key().await?.sign(message))
    }

    /// A fresh key pair for `/generate-keys`: (64-hex private seed, 200-hex public key).
    /// A development convenience: the private key leaves the server.
    #[must_use]
    pub fn generate_key_pair(&self) -> (String, String) {
        let kp = KeyPair::generate(self.rng.as_ref());
        (hex::encode(*kp.seed()), kp.public().to_privicore_hex())
    }
}

/// A stored server API key as [`Engine::list_api_keys`] shows it: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The name given at creation (unique).
    pub name: String,
    /// When it was created.
    pub created_at: crate::clock::Timestamp,
}

impl Engine {
    /// Create a server API key named `name` (1–64 printable characters, not yet used by
    /// another key). Only its digest is stored; the returned token (`tsk_…`) is shown once.
    /// Errors: `Validation` (field `name`) for a malformed name or one that is taken (the
    /// store claims the name atomically: of concurrent creations of one name, one wins).
    pub async fn create_api_key(&self, name: &str) -> Result<crate::token::Token> {
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(Error::validation(
                "name",
                "name: 1-64 characters, no control characters",
            ));
        }
        let token =
            crate::token::Token::generate(crate::token::TokenKind::ApiKey, self.rng.as_ref());
        let rec = crate::store::ApiKeyRecord {
            digest: token.digest(),
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        match self.store.put_api_key(&rec).await {
            Ok(()) => Ok(token),
            Err(StoreError::Conflict(Conflict::Exists)) => Err(Error::validation(
                "name",
                format!("an API key named {name:?} already exists (revoke it first to replace it)"),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Every server API key: names and creation times, oldest first.
    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyInfo>> {
        Ok(self
            .store
            .list_api_keys()
            .await?
            .into_iter()
            .map(|k| ApiKeyInfo {
                name: k.name,
                created_at: k.created_at,
            })
            .collect())
    }

    /// Revoke the server API key named `name`: it is deleted, so it answers
    /// [`Error::Unauthorized`] from the next [`Engine::verify_api_key`] on. Errors:
    /// `NotFound` when no key has this name.
    pub async fn revoke_api_key(&self, name: &str) -> Result<()> {
        self.store
            .revoke_api_key(name)
            .await
            .map(drop)
            .map_err(|e| match e {
                StoreError::NotFound => Error::NotFound,
                e => e.into(),
            })
    }

    /// Check a server API key; returns its name. Any problem is [`Error::Unauthorized`].
    pub async fn verify_api_key(&self, key: &str) -> Result<String> {
        let digest = crate::token::TokenDigest::of_token(crate::token::TokenKind::ApiKey, key)?;
        self.store
            .get_api_key(&digest)
            .await?
            .filter(|k| k.digest.ct_eq(&digest))
            .map(|k| k.name)
            .ok_or(Error::Unauthorized)
    }
}
