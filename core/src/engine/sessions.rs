//! Sessions: issuing, verifying, extending and revoking authorization tokens.

use uuid::Uuid;

use super::{Accepted, Engine};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::{Operation, ProfileKind, ProfileState};
use crate::store::{ProfileRecord, ResolvedToken, StoreError, TokenRecord};
use crate::token::{Token, TokenDigest, TokenKind, Ttl};

/// A freshly issued token: the only time its text is available.
#[derive(Debug)]
pub struct Issued {
    /// The secret token text.
    pub token: Token,
    /// Valid while `now < expires_at`.
    pub expires_at: Timestamp,
    /// The profile it belongs to.
    pub profile_id: Uuid,
}

/// What `retrieve-token-expiry` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenExpiry {
    /// When the token expires.
    pub expires_at: Timestamp,
    /// Seconds from now until then.
    pub expires_in: u64,
}

/// Which tokens a revoke ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevokeScope {
    /// Only the presented token.
    #[default]
    Token,
    /// Every token of the profile.
    All,
}

impl RevokeScope {
    /// Parse `token` or `all`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "token" => Ok(Self::Token),
            "all" => Ok(Self::All),
            _ => Err(Error::validation(
                "scope",
                "scope must be \"token\" or \"all\"",
            )),
        }
    }
}

/// What `retrieve-profile-id` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    /// Profile id.
    pub profile_id: Uuid,
    /// User or device.
    pub kind: ProfileKind,
    /// State.
    pub state: ProfileState,
    /// Canonical username.
    pub username: String,
    /// Owner, for devices.
    pub owner: Option<Uuid>,
}

impl Engine {
    /// Check an authorization token and return who holds it. The hot path: one store read,
    /// no writes, no password work. Any problem (malformed, unknown, expired, revoked) is
    /// [`Error::Unauthorized`]; a storage failure is [`Error::Storage`] (never a success).
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        let digest = TokenDigest::of_token(TokenKind::Authorization, token)?;
        self.verify_digest(&digest).await
    }

    /// [`Engine::verify`] for a token already digested.
    pub async fn verify_digest(&self, digest: &TokenDigest) -> Result<Principal> {
        let r = self.resolve(digest).await?.ok_or(Error::Unauthorized)?;
        if r.token_kind != TokenKind::Authorization
            || self.clock.now() >= r.expires_at
            || r.state == ProfileState::Removed
        {
            return Err(Error::Unauthorized);
        }
        Ok(principal(r))
    }

    /// The store's [`crate::store::TokenStore::resolve_token`], answered on the calling
    /// thread when the backend can ([`crate::store::TokenStore::resolve_token_now`]).
    pub(super) async fn resolve(
        &self,
        digest: &TokenDigest,
    ) -> Result<Option<ResolvedToken>, StoreError> {
        match self.store.resolve_token_now(digest) {
            Some(now) => now,
            None => self.store.resolve_token(digest).await,
        }
    }

    /// Store a new token of `kind` for `profile` (at its current version).
    pub(super) async fn issue(
        &self,
        profile: &ProfileRecord,
        kind: TokenKind,
        ttl_secs: u64,
        family: Option<Uuid>,
    ) -> Result<Issued, StoreError> {
        let token = Token::generate(kind, self.rng.as_ref());
        let now = self.clock.now();
        let rec = TokenRecord {
            digest: token.digest(),
            profile_id: profile.id,
            kind,
            issued_at: now,
            expires_at: now.plus_secs(ttl_secs),
            family,
        };
        self.store.put_token(&rec, profile.version).await?;
        Ok(Issued {
            token,
            expires_at: rec.expires_at,
            profile_id: profile.id,
        })
    }

    /// Give the presented token a new expiry, `now + ttl` (default: the configured TTL).
    /// A revoked or expired token is never brought back ([`Error::Unauthorized`]). A command
    /// ("Authorization token reauthorized", result `expiresAt`).
    pub async fn reauthorize(
        &self,
        principal: &Principal,
        ttl: Option<Ttl>,
    ) -> Result<Accepted<TokenExpiry>> {
        principal.require(Operation::Reauthorize)?;
        let now = self.clock.now();
        let ttl = ttl.unwrap_or(self.cfg.default_ttl);
        let expires_at = now.plus_secs(ttl.secs());
        let command = self.new_command(
            Some(principal.profile_id),
            "Authorization token reauthorized",
            vec![("expiresAt".to_owned(), expires_at.to_rfc3339())],
        );
        match self
            .store
            .set_token_expiry(&principal.token, expires_at, now, Some(&command))
            .await
        {
            Ok(()) => Ok(self.accepted(
                TokenExpiry {
                    expires_at,
                    expires_in: ttl.secs(),
                },
                command,
            )),
            Err(StoreError::NotFound) => Err(Error::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// Revoke the presented token, or every token of its profile. Effective before return.
    /// A command ("Authorization token revoked").
    pub async fn revoke(&self, principal: &Principal, scope: RevokeScope) -> Result<Accepted<()>> {
        principal.require(Operation::Revoke)?;
        let command = self.new_command(
            Some(principal.profile_id),
            "Authorization token revoked",
            Vec::new(),
        );
        match scope {
            RevokeScope::Token => {
                if !self
                    .store
                    .revoke_token(&principal.token, Some(&command))
                    .await?
                {
                    return Err(Error::Unauthorized);
                }
            }
            RevokeScope::All => {
                self.store
                    .revoke_profile_tokens(principal.profile_id, Some(&command))
                    .await?;
            }
        }
        Ok(self.accepted((), command))
    }

    /// When the presented token expires.
    pub fn token_expiry(&self, principal: &Principal) -> Result<TokenExpiry> {
        principal.require(Operation::TokenExpiry)?;
        Ok(TokenExpiry {
            expires_at: principal.expires_at,
            expires_in: self.clock.now().secs_until(principal.expires_at),
        })
    }

    /// The profile behind the presented token.
    pub async fn profile_info(&self, principal: &Principal) -> Result<ProfileInfo> {
        principal.require(Operation::RetrieveProfileId)?;
        let p = self.profile(principal.profile_id).await?;
        Ok(ProfileInfo {
            profile_id: p.id,
            kind: p.kind,
            state: p.state,
            username: p.username,
            owner: p.owner,
        })
    }
}

/// The principal of a resolved token: its fields moved over, nothing allocated.
pub(super) fn principal(r: ResolvedToken) -> Principal {
    let ResolvedToken {
        profile_id,
        kind,
        state,
        owner,
        environments,
        token_kind,
        issued_at,
        expires_at,
        token,
    } = r;
    Principal {
        profile_id,
        kind,
        state,
        owner,
        environments,
        token_kind,
        issued_at,
        expires_at,
        token,
    }
}
