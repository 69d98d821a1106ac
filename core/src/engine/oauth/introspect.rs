//! Token introspection (RFC 7662) and revocation (RFC 7009).
//!
//! Introspection answers for a client's own tokens (the client authenticates) or, for a
//! resource server holding a server API key, for any OAuth token. Anything that is not a
//! live access or refresh token — malformed, unknown, expired, revoked, spent, of a profile
//! that is no longer active, another client's — is simply inactive. The access-token path
//! is one [`crate::store::OAuthStore::resolve_oauth`] read after the caller's check.

use uuid::Uuid;

use super::super::Engine;
use super::failure::{OAuthFailure, invalid_client};
use super::tokens::subject;
use super::{ClientAuth, OAuthErrorCode};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::profile::{self, Operation};
use crate::token::{TokenDigest, TokenKind};

/// Who asks an introspection.
#[derive(Debug, Clone, Copy)]
pub enum Introspector<'a> {
    /// A client, about its own tokens.
    Client(&'a ClientAuth),
    /// A resource server with a server API key (`tsk_…`), about any token.
    ApiKey(&'a str),
}

/// A live token, as introspection describes it (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveToken {
    /// The granted scopes, space-separated.
    pub scope: String,
    /// The client it was issued to.
    pub client_id: Uuid,
    /// Whom it speaks for: the profile, or the application itself for an application's
    /// `client_credentials` token.
    pub sub: Uuid,
    /// The profile's username (not for an application's `client_credentials` token).
    pub username: Option<String>,
    /// `Bearer` (access token) or `refresh_token`.
    pub token_type: &'static str,
    /// Expiry.
    pub exp: Timestamp,
    /// Issue time.
    pub iat: Timestamp,
    /// The issuer.
    pub iss: String,
}

/// The kind an OAuth token text announces by its prefix, if it is an access or refresh
/// token.
fn kind_of(token: &str) -> Option<TokenKind> {
    if token.starts_with(TokenKind::OAuthAccess.prefix()) {
        Some(TokenKind::OAuthAccess)
    } else if token.starts_with(TokenKind::OAuthRefresh.prefix()) {
        Some(TokenKind::OAuthRefresh)
    } else {
        None
    }
}

impl Engine {
    /// Introspect `token` for `caller`: `Ok(None)` when it is not live (or not the
    /// client's), `Ok(Some(..))` otherwise. A caller that fails to authenticate is
    /// `invalid_client`.
    pub async fn introspect(
        &self,
        caller: Introspector<'_>,
        token: &str,
    ) -> Result<Option<ActiveToken>, OAuthFailure> {
        let client = match caller {
            Introspector::Client(auth) => Some(self.authenticate_client(auth).await?.id()),
            Introspector::ApiKey(key) => match self.verify_api_key(key).await {
                Ok(_) => None,
                Err(Error::Unauthorized) => return Err(invalid_client()),
                Err(e) => return Err(e.into()),
            },
        };
        let Some(kind) = kind_of(token) else {
            return Ok(None);
        };
        Ok(self.live_oauth_token(kind, token, client).await?)
    }

    /// Check an OAuth access token in process (a resource server embedding the engine):
    /// what [`Engine::introspect`] answers with a server API key, without the caller check.
    /// One [`crate::store::OAuthStore::resolve_oauth`] read. Anything not live is
    /// `invalid_token`.
    pub async fn verify_oauth_access(
        &self,
        access_token: &str,
    ) -> Result<ActiveToken, OAuthFailure> {
        self.live_oauth_token(TokenKind::OAuthAccess, access_token, None)
            .await?
            .ok_or_else(|| {
                OAuthFailure::refuse(
                    OAuthErrorCode::InvalidToken,
                    "the access token is invalid, expired or revoked",
                )
            })
    }

    /// The live token `token` of `kind` (of `client`, when given), described.
    async fn live_oauth_token(
        &self,
        kind: TokenKind,
        token: &str,
        client: Option<Uuid>,
    ) -> Result<Option<ActiveToken>, Error> {
        let Ok(digest) = TokenDigest::of_token(kind, token) else {
            return Ok(None);
        };
        let Some(r) = self.store.resolve_oauth(&digest).await? else {
            return Ok(None);
        };
        let t = &r.token;
        let live = t.token_kind == kind
            && self.clock.now() < t.expires_at
            && profile::guard(t.kind, t.state, Operation::Other).is_ok()
            && client.is_none_or(|c| c == r.grant.client_id);
        if !live {
            return Ok(None);
        }
        let sub = subject(&r.grant);
        Ok(Some(ActiveToken {
            scope: r.grant.scopes.join(" "),
            client_id: r.grant.client_id,
            sub,
            username: (sub == t.profile_id).then_some(r.username),
            token_type: if kind == TokenKind::OAuthAccess {
                "Bearer"
            } else {
                "refresh_token"
            },
            exp: t.expires_at,
            iat: t.issued_at,
            iss: self.cfg.oauth.issuer.clone(),
        }))
    }

    /// Revoke an OAuth token of the authenticated client (RFC 7009): a refresh token
    /// (live or spent) revokes its whole grant (every access and refresh token issued
    /// from it); an access token revokes itself. Another client's token, an unknown or
    /// malformed one, or any other kind is left alone, and the answer is `Ok` all the same.
    /// Only a client that fails to authenticate is refused (`invalid_client`).
    pub async fn revoke_oauth_token(
        &self,
        client: &ClientAuth,
        token: &str,
    ) -> Result<(), OAuthFailure> {
        let client = self.authenticate_client(client).await?;
        let Some(kind) = kind_of(token) else {
            return Ok(());
        };
        let Ok(digest) = TokenDigest::of_token(kind, token) else {
            return Ok(());
        };
        let Some(rec) = self.store.get_token(&digest).await? else {
            return Ok(());
        };
        let Some(family) = rec.family else {
            return Ok(());
        };
        let Some(grant) = self.store.get_grant(family).await? else {
            return Ok(());
        };
        if grant.client_id != client.id() {
            return Ok(());
        }
        match rec.kind {
            TokenKind::OAuthRefresh | TokenKind::OAuthRefreshUsed => {
                self.store.revoke_family(family).await?;
            }
            TokenKind::OAuthAccess => {
                self.store.revoke_token(&digest, None).await?;
            }
            _ => {}
        }
        Ok(())
    }
}
