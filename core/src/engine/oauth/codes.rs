//! STAND-IN until branch `oauth-back` lands its `codes.rs` (issuing codes) and its
//! `verify_id_token_hint`: the same signatures, so the front channel compiles and its tests
//! run. Replaced by theirs on merge.

use uuid::Uuid;

use super::{CodeRequest, OAuthError, OAuthErrorCode};
use crate::Engine;
use crate::engine::Issued;
use crate::error::{Error, Result};
use crate::store::{OAuthGrantRecord, StoreError, TokenRecord};
use crate::token::{Token, TokenKind};

impl Engine {
    /// Issue an authorization code to `profile_id` for `request` (stand-in).
    pub async fn issue_code(&self, profile_id: Uuid, request: &CodeRequest) -> Result<Issued> {
        let profile = self.profile(profile_id).await?;
        let now = self.clock.now();
        let grant = OAuthGrantRecord {
            id: self.new_id(),
            client_id: request.client_id,
            profile_id,
            scopes: request.scopes.clone(),
            redirect_uri: Some(request.redirect_uri.clone()),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone(),
            auth_time: request.auth_time,
            created_at: now,
            expires_at: now.plus_secs(self.cfg.oauth.refresh_token_ttl_secs),
        };
        let token = Token::generate(TokenKind::OAuthCode, self.rng.as_ref());
        let rec = TokenRecord {
            digest: token.digest(),
            profile_id,
            kind: TokenKind::OAuthCode,
            issued_at: now,
            expires_at: now.plus_secs(self.cfg.oauth.code_ttl_secs),
            family: Some(grant.id),
        };
        match self.store.put_grant(&grant, &rec, profile.version).await {
            Ok(()) => Ok(Issued {
                token,
                expires_at: rec.expires_at,
                profile_id,
            }),
            Err(StoreError::NotFound) => Err(Error::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// The `sub` of an id token this server issued (stand-in: refuses every hint).
    #[allow(clippy::unused_async)] // the real one reads the signing keys
    pub async fn verify_id_token_hint(&self, _hint: &str) -> Result<Uuid, OAuthError> {
        Err(OAuthError::new(
            OAuthErrorCode::InvalidRequest,
            "id_token_hint is not an id token of this server",
        ))
    }
}
