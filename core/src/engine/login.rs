//! The token API (seed-003 style): login returning access, refresh and id tokens; refresh
//! rotation with reuse detection; revoking a refresh family; the JWKS of id tokens.
//!
//! A login starts a *family*: its access token (an ordinary `tsa_` authorization token) and
//! its refresh token (`tsr_`) share a family id, and so does every pair a rotation issues
//! from it. Refresh tokens are single use: rotation marks the presented one used, in the
//! same store transaction that stores the new pair; presenting a used one again revokes the
//! whole family ([`crate::store::TokenStore::rotate_refresh`]).

use std::fmt;

use uuid::Uuid;

use super::Engine;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id_token::{IdClaims, IdTokenKey};
use crate::profile::ProfileState;
use crate::store::{ProfileRecord, Rotation, StoreError, TokenRecord};
use crate::token::{Token, TokenDigest, TokenKind};
use crate::username::Username;

/// The tokens of a login or a refresh. The token texts exist only here.
pub struct TokenSet {
    /// `tsa_` access token: an authorization token, valid for [`crate::Engine::verify`].
    pub access_token: Token,
    /// `tsr_` refresh token (single use).
    pub refresh_token: Token,
    /// EdDSA JWT about the profile, signed by the server key ([`Engine::jwks`]).
    pub id_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// When the access token (and the id token) expires.
    pub expires_at: Timestamp,
    /// When the refresh token expires (the family's end: rotation keeps it).
    pub refresh_expires_at: Timestamp,
    /// The profile logged in.
    pub profile_id: Uuid,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("id_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("profile_id", &self.profile_id)
            .finish()
    }
}

/// What [`Engine::login`] answers.
#[derive(Debug)]
pub enum Login {
    /// Logged in.
    Tokens(TokenSet),
    /// The profile has a temporary password: no tokens, but a single-use `tss_` session
    /// for [`Engine::complete_new_password`] (5 minutes by default).
    NewPasswordRequired {
        /// The challenge session.
        session: Token,
    },
}

impl Engine {
    /// Log in with username and password (the token API). The credential check is the one
    /// [`Engine::authenticate`] uses: same throttle, dummy hash and hash pool, same single
    /// [`Error::Unauthorized`] for every bad credential. A profile with a temporary password
    /// gets [`Login::NewPasswordRequired`] instead of tokens.
    pub async fn login(&self, username: &str, password: &str) -> Result<Login> {
        let check = self.check_login(username, password).await?;
        let profile = check.profile.clone();
        let login = if profile.password_temporary {
            self.open_challenge(&profile)
                .await
                .map(|session| Login::NewPasswordRequired { session })
        } else {
            self.issue_token_set(profile).await.map(Login::Tokens)
        };
        check.settle(self, login).await
    }

    /// Rotate a refresh token: returns a new access token, a new refresh token (with the
    /// family's original expiry) and an id token. `username` must own the token. A refresh
    /// token presented a second time revokes its whole family (every refresh and access
    /// token descended from the same login). Every refusal is [`Error::Unauthorized`]; on a
    /// storage error nothing changed, so the presented token still works.
    pub async fn refresh(&self, username: &str, refresh_token: &str) -> Result<TokenSet> {
        let Ok(name) = Username::parse(username) else {
            return Err(Error::Unauthorized);
        };
        let digest = TokenDigest::of_token(TokenKind::Refresh, refresh_token)?;
        let old = self
            .store
            .get_token(&digest)
            .await?
            .filter(|t| matches!(t.kind, TokenKind::Refresh | TokenKind::RefreshUsed))
            .ok_or(Error::Unauthorized)?;
        let family = old.family.ok_or(Error::Unauthorized)?;
        let profile = self
            .store
            .get_profile(old.profile_id)
            .await?
            .filter(|p| p.username == name.as_str() && p.state != ProfileState::Removed)
            .ok_or(Error::Unauthorized)?;
        let now = self.clock.now();
        let (access, a) = self.family_token(&profile, TokenKind::Authorization, family, now, {
            now.plus_secs(self.cfg.access_ttl.secs())
        });
        let (refresh, r) =
            self.family_token(&profile, TokenKind::Refresh, family, now, old.expires_at);
        match self.store.rotate_refresh(&digest, &r, &a, now).await? {
            Rotation::Rotated => self.token_set(&profile, access, refresh, &a, &r).await,
            Rotation::Reused | Rotation::Unknown => Err(Error::Unauthorized),
        }
    }

    /// Revoke a refresh token's family: the refresh token and every access token issued
    /// from the same login stop working at once. An unknown or malformed token is
    /// [`Error::Unauthorized`].
    pub async fn revoke_refresh(&self, refresh_token: &str) -> Result<()> {
        let digest = TokenDigest::of_token(TokenKind::Refresh, refresh_token)?;
        let family = self
            .store
            .get_token(&digest)
            .await?
            .filter(|t| matches!(t.kind, TokenKind::Refresh | TokenKind::RefreshUsed))
            .and_then(|t| t.family)
            .ok_or(Error::Unauthorized)?;
        self.store.revoke_family(family).await?;
        Ok(())
    }

    /// The JWK Set (RFC 7517) with the server's Ed25519 key as an OKP JWK (`kid`,
    /// `alg: EdDSA`, `use: sig`): what `/.well-known/jwks.json` serves so that other
    /// services check id tokens offline.
    pub async fn jwks(&self) -> Result<serde_json::Value> {
        Ok(self.id_key().await?.jwks())
    }

    /// A new family for `profile` (checked at its current version): access, refresh and
    /// id token. Retries when the profile changed meanwhile, as long as the checked
    /// password still stands.
    pub(super) async fn issue_token_set(&self, mut profile: ProfileRecord) -> Result<TokenSet> {
        for _ in 0..8 {
            let family = self.new_id();
            let now = self.clock.now();
            let (access, a) = self.family_token(&profile, TokenKind::Authorization, family, now, {
                now.plus_secs(self.cfg.access_ttl.secs())
            });
            let (refresh, r) = self.family_token(&profile, TokenKind::Refresh, family, now, {
                now.plus_secs(self.cfg.refresh_ttl.secs())
            });
            let batch = [(a.clone(), profile.version), (r.clone(), profile.version)];
            match self.store.put_tokens(&batch).await {
                Ok(()) => return self.token_set(&profile, access, refresh, &a, &r).await,
                Err(StoreError::VersionMismatch) => profile = self.recheck(&profile).await?,
                Err(StoreError::NotFound) => return Err(Error::Unauthorized),
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch))
    }

    /// A fresh token of `kind` in `family` and its record.
    fn family_token(
        &self,
        profile: &ProfileRecord,
        kind: TokenKind,
        family: Uuid,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> (Token, TokenRecord) {
        let token = Token::generate(kind, self.rng.as_ref());
        let rec = TokenRecord {
            digest: token.digest(),
            profile_id: profile.id,
            kind,
            issued_at: now,
            expires_at,
            family: Some(family),
        };
        (token, rec)
    }

    async fn token_set(
        &self,
        profile: &ProfileRecord,
        access_token: Token,
        refresh_token: Token,
        access: &TokenRecord,
        refresh: &TokenRecord,
    ) -> Result<TokenSet> {
        let id_token = self.id_key().await?.sign(&IdClaims {
            issuer: self.cfg.id_token_issuer(),
            audience: &self.cfg.id_token_audience,
            profile_id: profile.id,
            username: &profile.username,
            kind: profile.kind,
            issued_at: access.issued_at,
            expires_at: access.expires_at,
        })?;
        Ok(TokenSet {
            access_token,
            refresh_token,
            id_token,
            expires_in: access.issued_at.secs_until(access.expires_at),
            expires_at: access.expires_at,
            refresh_expires_at: refresh.expires_at,
            profile_id: profile.id,
        })
    }

    pub(super) async fn id_key(&self) -> Result<&IdTokenKey> {
        self.id_key
            .get_or_try_init(|| async { Ok(IdTokenKey::new(self.server_key().await?)) })
            .await
    }
}
