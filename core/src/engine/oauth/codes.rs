//! Issuing authorization codes: what the front channel calls once a signed-in profile has
//! approved a checked authorization request.
//!
//! A code is a `tsc_` token (32 random bytes, SHA-256 stored) of kind
//! [`TokenKind::OAuthCode`] in the grant's family, expiring `code_ttl_secs` after issue; its
//! grant ([`OAuthGrantRecord`]) holds what it was issued for. Both are written by one
//! [`crate::store::OAuthStore::put_grant`] checked against the profile's version, so a
//! password change racing the sign-in voids the code.

use uuid::Uuid;

use super::super::{Engine, OPTIMISTIC_RETRIES};
use super::{CodeRequest, redirect};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::profile::{self, Operation, ProfileKind};
use crate::store::{OAuthGrantRecord, ProfileRecord, StoreError, TokenRecord};
use crate::token::{Token, TokenKind};

/// Length of a PKCE S256 challenge: base64url of 32 bytes.
pub const CODE_CHALLENGE_LEN: usize = 43;

/// A freshly issued authorization code: the only time its text exists.
#[derive(Debug)]
pub struct IssuedCode {
    /// `tsc_…`, single use.
    pub code: Token,
    /// Valid while `now < expires_at`.
    pub expires_at: Timestamp,
}

/// Whether `c` looks like an S256 challenge (43 base64url characters).
pub(crate) fn is_s256_challenge(c: &str) -> bool {
    c.len() == CODE_CHALLENGE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `profile` may sign in to an application: an active user without a temporary
/// password.
pub(crate) fn may_sign_in(profile: &ProfileRecord) -> Result<()> {
    if profile.kind != ProfileKind::User {
        return Err(Error::Forbidden);
    }
    profile::guard(profile.kind, profile.state, Operation::Other)?;
    if profile.password_temporary {
        return Err(Error::Forbidden);
    }
    Ok(())
}

impl Engine {
    /// Issue an authorization code for `profile_id` (who signed in and approved `req`).
    ///
    /// The request is checked again here: the application exists, `redirect_uri` matches
    /// one of its registered URIs, the scopes are its own, a public client sent a PKCE
    /// challenge, the challenge has the S256 form. The profile must be an active user
    /// without a temporary password. The grant lasts as long as its refresh tokens can
    /// (`refresh_token_ttl_secs`) when `offline_access` was granted, else as long as the
    /// code and its access token.
    ///
    /// Errors: `NotFound` (no such profile or application), `Forbidden` (not a user, or a
    /// temporary password), the state errors of an inactive profile, `Validation` (redirect
    /// URI, scopes, challenge), `Unauthorized` (the password changed meanwhile), `Storage`.
    pub async fn issue_code(&self, profile_id: Uuid, req: &CodeRequest) -> Result<IssuedCode> {
        let client = self
            .store
            .get_client(req.client_id)
            .await?
            .ok_or(Error::NotFound)?;
        if !client
            .redirect_uris
            .iter()
            .any(|r| redirect::matches(r, &req.redirect_uri))
        {
            return Err(Error::validation(
                "redirect_uri",
                "redirect_uri is not registered for this application",
            ));
        }
        if req.scopes.is_empty()
            || req
                .scopes
                .iter()
                .any(|s| !client.scopes.contains(s) || !self.cfg.oauth.supports(s))
        {
            return Err(Error::validation(
                "scope",
                "a scope is not registered for this application",
            ));
        }
        match &req.code_challenge {
            Some(c) if !is_s256_challenge(c) => {
                return Err(Error::validation(
                    "code_challenge",
                    "code_challenge must be an S256 challenge (43 base64url characters)",
                ));
            }
            None if !client.confidential => {
                return Err(Error::validation(
                    "code_challenge",
                    "a public client must send a PKCE challenge",
                ));
            }
            _ => {}
        }
        let cfg = &self.cfg.oauth;
        let short = cfg.code_ttl_secs.saturating_add(cfg.access_token_ttl_secs);
        let life = if req.scopes.iter().any(|s| s == "offline_access") {
            cfg.refresh_token_ttl_secs.max(short)
        } else {
            short
        };
        let mut profile = self.profile(profile_id).await?;
        for _ in 0..OPTIMISTIC_RETRIES {
            may_sign_in(&profile)?;
            let now = self.clock.now();
            let grant = OAuthGrantRecord {
                id: self.new_id(),
                client_id: client.id,
                profile_id,
                scopes: req.scopes.clone(),
                redirect_uri: Some(req.redirect_uri.clone()),
                code_challenge: req.code_challenge.clone(),
                nonce: req.nonce.clone(),
                auth_time: req.auth_time,
                created_at: now,
                expires_at: now.plus_secs(life),
            };
            let code = Token::generate(TokenKind::OAuthCode, self.rng.as_ref());
            let record = TokenRecord {
                digest: code.digest(),
                profile_id,
                kind: TokenKind::OAuthCode,
                issued_at: now,
                expires_at: now.plus_secs(cfg.code_ttl_secs),
                family: Some(grant.id),
            };
            match self.store.put_grant(&grant, &record, profile.version).await {
                Ok(()) => {
                    return Ok(IssuedCode {
                        code,
                        expires_at: record.expires_at,
                    });
                }
                // changed meanwhile: fine unless its password changed (or it was removed)
                Err(StoreError::VersionMismatch) => profile = self.recheck(&profile).await?,
                Err(StoreError::NotFound) => return Err(Error::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }
}
