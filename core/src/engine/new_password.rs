//! NEW_PASSWORD_REQUIRED: profiles created with a temporary password must replace it at
//! their first [`Engine::login`], which answers with a single-use session instead of tokens.
//!
//! The temporary password passes the full password policy (zxcvbn included): until it is
//! replaced it is the account's only credential, and whoever knows it can complete the
//! challenge with a password of their own. It cannot be used for anything else:
//! [`Engine::authenticate`] refuses it and [`Engine::login`] answers only the challenge.

use uuid::Uuid;

use super::Engine;
use super::login::TokenSet;
use crate::error::{Error, Result};
use crate::profile::ProfileState;
use crate::store::{ProfileRecord, Revoke, StoreError, TokenRecord};
use crate::token::{Token, TokenDigest, TokenKind};
use crate::username::Username;

impl Engine {
    /// Create a user whose password is `temporary_password` and must be replaced at the first
    /// login (an administrator's `create-user --temporary-password`). The profile is
    /// `incomplete`, as one from [`Engine::register_profile`] (it activates with a public
    /// key). Errors: `InvalidUsername`, password policy errors, `UsernameTaken`, `Overloaded`.
    pub async fn create_user_with_temporary_password(
        &self,
        username: &str,
        temporary_password: &str,
    ) -> Result<Uuid> {
        let id = self.new_id();
        self.create_user(id, username, temporary_password, true, None)
            .await?;
        Ok(id)
    }

    /// Answer a NEW_PASSWORD_REQUIRED challenge: `session` (from [`Engine::login`]) is single
    /// use and expires after 5 minutes (configurable); `new_password` passes the policy. Sets
    /// the password, clears the temporary flag, revokes every other token of the profile in
    /// the same store transaction, and logs in.
    /// Errors: `Unauthorized` (unknown, used or expired session, or another user's),
    /// password policy errors, `Overloaded`.
    pub async fn complete_new_password(
        &self,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> Result<TokenSet> {
        let profile = self
            .replace_temporary_password(username, session, new_password)
            .await?;
        self.issue_token_set(profile).await
    }

    /// The change of [`Engine::complete_new_password`] without the login: check the
    /// session, set the password (every token of the profile revoked in the same store
    /// transaction), and return the updated profile. The pages' sign-in uses it too.
    pub(super) async fn replace_temporary_password(
        &self,
        username: &str,
        session: &str,
        new_password: &str,
    ) -> Result<ProfileRecord> {
        let Ok(name) = Username::parse(username) else {
            return Err(Error::Unauthorized);
        };
        let digest = TokenDigest::of_token(TokenKind::Session, session)?;
        // Look before hashing (a bad session costs no argon2 run); consume after.
        let owner = self.session_owner(&digest, &name).await?;
        let password = self.check_new_password(new_password, name.as_str()).await?;
        let hash = self.hash_password(password).await?;
        let taken = self
            .store
            .take_token(&digest, TokenKind::Session, self.clock.now())
            .await?
            .filter(|t| t.profile_id == owner)
            .ok_or(Error::Unauthorized)?;
        self.update_profile(taken.profile_id, Revoke::All, |p| {
            if !p.password_temporary || p.state == ProfileState::Removed {
                return Err(Error::Unauthorized);
            }
            p.password_hash = Some(hash.clone());
            p.password_temporary = false;
            Ok(())
        })
        .await
    }

    /// Open a NEW_PASSWORD_REQUIRED session for `profile`; a newer one voids the older.
    pub(super) async fn open_challenge(&self, profile: &ProfileRecord) -> Result<Token> {
        let token = Token::generate(TokenKind::Session, self.rng.as_ref());
        let now = self.clock.now();
        let rec = TokenRecord {
            digest: token.digest(),
            profile_id: profile.id,
            kind: TokenKind::Session,
            issued_at: now,
            expires_at: now.plus_secs(self.cfg.challenge_ttl_secs),
            family: None,
        };
        match self.store.replace_tokens(&rec).await {
            Ok(_) => Ok(token),
            Err(StoreError::NotFound) => Err(Error::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// The profile a live session belongs to, if it is `name`'s.
    async fn session_owner(&self, digest: &TokenDigest, name: &Username) -> Result<Uuid> {
        let now = self.clock.now();
        let rec = self
            .store
            .get_token(digest)
            .await?
            .filter(|t| t.kind == TokenKind::Session && t.expires_at > now)
            .ok_or(Error::Unauthorized)?;
        self.store
            .get_profile(rec.profile_id)
            .await?
            .filter(|p| p.username == name.as_str() && p.password_temporary)
            .map(|p| p.id)
            .ok_or(Error::Unauthorized)
    }
}
