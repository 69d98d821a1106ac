//! The pages' sign-in: a username and password on the login page become a browser session
//! (a `tsb_` token in the `tessera_session` cookie).
//!
//! The password check is the one of [`Engine::authenticate`] and [`Engine::login`]: the
//! username's lock, the throttle, one job on the hash pool (the dummy hash for unknown
//! users), the same single refusal for every bad credential, `TooManyAttempts` /
//! `Overloaded` with their retry-after. Only active user profiles get a session; a
//! temporary password leads to the "choose a new password" page (the NEW_PASSWORD_REQUIRED
//! challenge, answered with the same change as [`Engine::complete_new_password`]).
//!
//! A browser session is a [`TokenKind::Browser`] row of the token table, issued at the
//! sign-in (`issued_at` is the OpenID `auth_time`), for `browser_session_ttl_secs`. A
//! password change or "sign out everywhere" revokes it with the profile's other tokens.

use uuid::Uuid;

use super::answers::PageProblem;
use super::consent::AuthorizeStep;
use super::interactions::{self, FormProof, InteractionView, Stage};
use crate::Engine;
use crate::clock::Timestamp;
use crate::engine::Issued;
use crate::engine::credentials::LoginCheck;
use crate::error::{Error, Result};
use crate::profile::{ProfileKind, ProfileState};
use crate::store::{ProfileRecord, ResolvedToken};
use crate::token::{TokenDigest, TokenKind};

/// A live browser session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrowserSession {
    /// Who is signed in (an active user).
    pub profile_id: Uuid,
    /// When the password was entered (OpenID `auth_time`).
    pub auth_time: Timestamp,
    /// When the session ends.
    pub expires_at: Timestamp,
}

/// What a sign-in form gets.
#[derive(Debug)]
pub enum BrowserLogin {
    /// Signed in: set the session cookie, then go on with `next`.
    SignedIn {
        /// The new browser session (its token is the cookie).
        session: Issued,
        /// What comes next: the consent page or the redirect to the client.
        next: AuthorizeStep,
    },
    /// The password is temporary: show the "choose a new password" page.
    NewPasswordRequired(InteractionView),
}

/// Why a form of the pages is refused.
#[derive(Debug)]
pub enum FrontError {
    /// The form cannot be used (unknown or expired interaction, forged form, session
    /// ended): an error page.
    Page(PageProblem),
    /// Show the same form again with this error (wrong credentials, throttled, overloaded,
    /// a weak password, a profile that may not sign in). The interaction stays usable.
    Form(Error, Box<InteractionView>),
    /// The engine failed (storage): an error page saying to try again.
    Failed(Error),
}

impl From<Error> for FrontError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

/// What [`Engine::page_sign_in`] gives.
pub(in crate::engine) enum PageSignIn {
    /// A new browser session of `profile`.
    Session {
        /// Who signed in.
        profile: ProfileRecord,
        /// The session (its token is the cookie).
        session: Issued,
    },
    /// The password was right but is temporary: it must be replaced first.
    Temporary(LoginCheck),
}

impl Engine {
    /// A new browser binding (the value of the pages' binding cookie): 32 random bytes,
    /// base64url.
    #[must_use]
    pub fn new_browser_binding(&self) -> String {
        interactions::random_text(self.rng.as_ref())
    }

    /// The session of a `tsb_` cookie: a live browser token of an active user. Anything
    /// else is [`Error::Unauthorized`].
    pub async fn browser_session(&self, token: &str) -> Result<BrowserSession> {
        let r = self.resolve_browser(token).await?;
        if r.kind != ProfileKind::User || r.state != ProfileState::Active {
            return Err(Error::Unauthorized);
        }
        Ok(BrowserSession {
            profile_id: r.profile_id,
            auth_time: r.issued_at,
            expires_at: r.expires_at,
        })
    }

    /// The live browser token `token` (a `tsb_` cookie) with its profile, in any state;
    /// anything else is [`Error::Unauthorized`]. One store read.
    pub(in crate::engine) async fn resolve_browser(&self, token: &str) -> Result<ResolvedToken> {
        let digest = TokenDigest::of_token(TokenKind::Browser, token)?;
        let r = self.resolve(&digest).await?.ok_or(Error::Unauthorized)?;
        if r.token_kind != TokenKind::Browser || self.clock.now() >= r.expires_at {
            return Err(Error::Unauthorized);
        }
        Ok(r)
    }

    /// A new browser session of `profile`, whose password was just checked
    /// ([`Engine::issue_checked`]), for `browser_session_ttl_secs`.
    async fn open_browser_session(&self, profile: &ProfileRecord) -> Result<Issued> {
        self.issue_checked(
            profile,
            TokenKind::Browser,
            self.cfg.oauth.browser_session_ttl_secs,
        )
        .await
    }

    /// End a browser session (a malformed or unknown token is ignored).
    pub async fn browser_sign_out(&self, token: &str) -> Result<()> {
        if let Ok(digest) = TokenDigest::of_token(TokenKind::Browser, token) {
            self.store.revoke_token(&digest, None).await?;
        }
        Ok(())
    }

    /// The password check of every sign-in page (the OAuth login and the account
    /// console): [`Engine::check_login`]'s throttle, lock and hash job, then a browser
    /// session for a profile `admit` lets in. A temporary password opens no session: the
    /// caller opens what replaces it, then calls [`LoginCheck::succeeded`]. A profile
    /// `admit` refuses gets its refusal (the password was right: the throttle is reset).
    pub(in crate::engine) async fn page_sign_in(
        &self,
        username: &str,
        password: &str,
        admit: fn(&ProfileRecord) -> Result<()>,
    ) -> Result<PageSignIn> {
        let check = self.check_login(username, password).await?;
        if check.profile.password_temporary {
            return Ok(PageSignIn::Temporary(check));
        }
        let profile = check.profile.clone();
        if let Err(e) = admit(&profile) {
            check.succeeded(self).await;
            return Err(e);
        }
        let session = self.open_browser_session(&profile).await;
        let session = check.settle(self, session).await?;
        Ok(PageSignIn::Session { profile, session })
    }

    /// The login form of interaction `proof`: check the password (throttled like every
    /// login), then sign in an active user and go on with the request.
    /// Refusals to show on the form ([`FrontError::Form`]): `Unauthorized` (any bad
    /// credential), `TooManyAttempts`, `Overloaded`, `ProfileIncomplete` (no key yet),
    /// `Forbidden` (a device profile).
    pub async fn browser_login(
        &self,
        proof: FormProof<'_>,
        username: &str,
        password: &str,
    ) -> Result<BrowserLogin, FrontError> {
        let (_, view) = self
            .interactions
            .check(proof, self.clock.now())
            .map_err(FrontError::Page)?;
        let signed = match self.page_sign_in(username, password, may_sign_in).await {
            Ok(s) => s,
            Err(e @ Error::Storage(_)) => return Err(FrontError::Failed(e)),
            Err(e) => return Err(FrontError::Form(e, Box::new(view))),
        };
        let (profile, session) = match signed {
            PageSignIn::Session { profile, session } => (profile, session),
            PageSignIn::Temporary(check) => {
                let session = self.open_challenge(&check.profile).await;
                let username = check.profile.username.clone();
                let session = check.settle(self, session).await?;
                let stage = Stage::NewPassword { username, session };
                let view = self
                    .interactions
                    .set_stage(proof.interaction, stage)
                    .ok_or(FrontError::Page(PageProblem::InteractionExpired))?;
                return Ok(BrowserLogin::NewPasswordRequired(view));
            }
        };
        self.signed_in(proof.interaction, &profile, session).await
    }

    /// The "choose a new password" form of interaction `proof` (after a sign-in with a
    /// temporary password): the same change as [`Engine::complete_new_password`] (the
    /// policy's errors, zxcvbn's feedback included, come back as [`FrontError::Form`]),
    /// then the sign-in. An expired challenge sends the interaction back to the login
    /// page (`Unauthorized`). `repeated` must equal `new_password` (else a `Validation`
    /// error about `new_password_repeat`, before any other check).
    pub async fn browser_new_password(
        &self,
        proof: FormProof<'_>,
        new_password: &str,
        repeated: &str,
    ) -> Result<BrowserLogin, FrontError> {
        let (interaction, view) = self
            .interactions
            .check(proof, self.clock.now())
            .map_err(FrontError::Page)?;
        let Stage::NewPassword { username, session } = interaction.stage else {
            return Err(FrontError::Page(PageProblem::InteractionExpired));
        };
        if new_password != repeated {
            let e = Error::validation("new_password_repeat", "the two passwords are not the same");
            return Err(FrontError::Form(e, Box::new(view)));
        }
        let profile = match self
            .replace_temporary_password(&username, session.expose(), new_password)
            .await
        {
            Ok(p) => p,
            Err(e @ Error::Storage(_)) => return Err(FrontError::Failed(e)),
            Err(Error::Unauthorized) => {
                let view = self
                    .interactions
                    .set_stage(proof.interaction, Stage::Login)
                    .unwrap_or(view);
                return Err(FrontError::Form(Error::Unauthorized, Box::new(view)));
            }
            Err(e) => return Err(FrontError::Form(e, Box::new(view))),
        };
        if let Err(e) = may_sign_in(&profile) {
            let view = self
                .interactions
                .set_stage(proof.interaction, Stage::Login)
                .unwrap_or(view);
            return Err(FrontError::Form(e, Box::new(view)));
        }
        let session = self.open_browser_session(&profile).await?;
        self.signed_in(proof.interaction, &profile, session).await
    }

    /// After a sign-in on interaction `id`: the consent page or the redirect.
    async fn signed_in(
        &self,
        id: &str,
        profile: &ProfileRecord,
        session: Issued,
    ) -> Result<BrowserLogin, FrontError> {
        let (interaction, _) = self
            .interactions
            .peek(id)
            .ok_or(FrontError::Page(PageProblem::InteractionExpired))?;
        // The session's issued_at (its expiry less its lifetime): the OpenID auth_time.
        let ttl = self.cfg.oauth.browser_session_ttl_secs;
        let auth_time = Timestamp(
            session
                .expires_at
                .0
                .saturating_sub(i64::try_from(ttl).unwrap_or(i64::MAX)),
        );
        let next = self
            .after_sign_in_at(id, interaction.request, profile.id, auth_time)
            .await?;
        Ok(BrowserLogin::SignedIn { session, next })
    }
}

/// Only active user profiles sign in on the pages.
fn may_sign_in(p: &ProfileRecord) -> Result<()> {
    match (p.kind, p.state) {
        (ProfileKind::User, ProfileState::Active) => Ok(()),
        (ProfileKind::User, ProfileState::Incomplete) => Err(Error::ProfileIncomplete),
        (ProfileKind::User, _) => Err(Error::Unauthorized),
        (ProfileKind::Device, _) => Err(Error::Forbidden),
    }
}
