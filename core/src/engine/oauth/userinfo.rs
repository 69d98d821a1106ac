//! The OpenID userinfo endpoint: claims about the profile behind an access token.
//!
//! `sub` always (the id token's); with `profile`: `preferred_username` and `profile_type`
//! (`given_name` / `family_name` are not stored, so never sent); with `email`: nothing yet,
//! as no email is kept on the profile (a server-registered user's email sits in its
//! external record, which is keyed by the external id, not by profile); with `directories`:
//! `directories`, `[{"id","shortName","role"}]` of every directory the profile is in.

use uuid::Uuid;

use super::super::Engine;
use super::failure::OAuthFailure;
use super::{OAuthErrorCode, SUPPORTED_SCOPES};
use crate::profile::{self, Operation, ProfileKind};
use crate::token::{TokenDigest, TokenKind};

/// What userinfo answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The profile id (the id token's `sub`).
    pub sub: Uuid,
    /// The username (scope `profile`).
    pub preferred_username: Option<String>,
    /// `user` or `device` (scope `profile`).
    pub profile_type: Option<ProfileKind>,
    /// The email, where known (scope `email`): never yet.
    pub email: Option<String>,
    /// The `directories` claim, `[{"id","shortName","role"}]` (scope `directories`).
    pub directories: Option<serde_json::Value>,
}

impl Engine {
    /// The claims of the profile behind `access_token` (a live `tso_` token granted with
    /// `openid`, of an active profile). Anything else is `invalid_token`.
    pub async fn userinfo(&self, access_token: &str) -> Result<UserInfo, OAuthFailure> {
        let bad = || {
            OAuthFailure::refuse(
                OAuthErrorCode::InvalidToken,
                "the access token is invalid, expired or revoked",
            )
        };
        let digest =
            TokenDigest::of_token(TokenKind::OAuthAccess, access_token).map_err(|_| bad())?;
        let r = self.store.resolve_oauth(&digest).await?.ok_or_else(bad)?;
        let t = &r.token;
        if t.token_kind != TokenKind::OAuthAccess
            || self.clock.now() >= t.expires_at
            || profile::guard(t.kind, t.state, Operation::Other).is_err()
        {
            return Err(bad());
        }
        let has = |scope: &str| r.grant.scopes.iter().any(|s| s == scope);
        if !has(SUPPORTED_SCOPES[0]) {
            return Err(OAuthFailure::refuse(
                OAuthErrorCode::InvalidToken,
                "the access token was not granted the openid scope",
            ));
        }
        let profile = has("profile");
        let directories = if has("directories") {
            let dirs = self.directory_claims(t.profile_id).await?;
            Some(super::id_tokens::directories_claim(&dirs))
        } else {
            None
        };
        Ok(UserInfo {
            sub: t.profile_id,
            preferred_username: profile.then(|| r.username.clone()),
            profile_type: profile.then_some(t.kind),
            email: None,
            directories,
        })
    }
}
