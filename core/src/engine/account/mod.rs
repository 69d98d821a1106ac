//! The account console (API.md "Account console"): a person's own pages in a browser, on
//! the browser session of the OAuth pages (a [`crate::TokenKind::Browser`] row of the
//! token table, in the same cookie).
//!
//! Every page and action goes through an engine call; those that have an API route are that
//! route's call with its rules and errors (the devices', the consents', change-password,
//! generate-qr-token, revoke with scope `all`). The ones here are what only the pages need:
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`Engine::account_sign_in`] → [`AccountSignIn`] (the OAuth login's password check and throttle), [`Engine::account_session`] (the cookie's [`Principal`]), [`Engine::account_profile`] → [`AccountProfile`] |
//! | `csrf.rs` | [`Engine::account_csrf`], [`Engine::check_account_csrf`]: the forms' CSRF tokens, MACs of the browser binding (signed out) or of the session (signed in) |
//! | `sessions.rs` | [`Engine::account_sessions`] → [`SessionEntry`] (every live token of the profile, each named by an opaque handle), [`Engine::account_revoke_session`] |
//!
//! Who may use the console: any profile that can sign in with a password, in any state but
//! removed. What it may do there follows the state rules of the API: an incomplete user
//! sees its profile and how to register its key; a device sees its own state only (the
//! other calls answer `ProfileIncomplete`, `Forbidden` … as their routes do). A revoked
//! browser session, a password change elsewhere, or the removal of the device ends the
//! session row in the same store transaction, so the next request is signed out.

mod csrf;
mod sessions;

pub use csrf::CsrfBinding;
pub use sessions::SessionEntry;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::devices::Device;
use super::oauth::PageSignIn;
use super::sessions::{ProfileInfo, principal};
use super::{Engine, Issued};
use crate::error::{Error, Result};
use crate::key::PublicKey;
use crate::principal::Principal;
use crate::profile::{Operation, ProfileState};
use crate::store::ProfileRecord;

/// The domain of every MAC of the console (the key is the server key's seed).
const DOMAIN: &[u8] = b"tessera account console";

/// What the console's sign-in form gets.
#[derive(Debug)]
pub enum AccountSignIn {
    /// Signed in: set the session cookie.
    SignedIn(Issued),
    /// The password was right but is temporary: it must be replaced first (on the OAuth
    /// pages' "choose a new password", or `POST /v1/new-password-required`). No session.
    TemporaryPassword,
}

/// The profile page of the signed-in profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProfile {
    /// Id, kind, state, username, owner.
    pub info: ProfileInfo,
    /// The registered key, if any.
    pub public_key: Option<PublicKey>,
    /// A device's own details (name, roles), for a device profile.
    pub device: Option<Device>,
}

/// Who may use the console: any profile whose password works, but a removed one (which
/// cannot sign in at all).
fn may_use_account(p: &ProfileRecord) -> Result<()> {
    if p.state == ProfileState::Removed {
        Err(Error::Unauthorized)
    } else {
        Ok(())
    }
}

impl Engine {
    /// The console's sign-in form: the password check of [`Engine::browser_login`] (the
    /// username's lock and throttle, one hash job, one refusal for every bad credential),
    /// then a browser session. Errors: `Unauthorized`, `TooManyAttempts`, `Overloaded`,
    /// `Storage`. The caller checks the form's CSRF token first
    /// ([`Engine::check_account_csrf`]).
    pub async fn account_sign_in(&self, username: &str, password: &str) -> Result<AccountSignIn> {
        match self
            .page_sign_in(username, password, may_use_account)
            .await?
        {
            PageSignIn::Session { session, .. } => Ok(AccountSignIn::SignedIn(session)),
            PageSignIn::Temporary(check) => {
                check.succeeded(self).await;
                Ok(AccountSignIn::TemporaryPassword)
            }
        }
    }

    /// The principal of a session cookie (`tsb_…`): a live browser session of a profile
    /// that is not removed, in any other state (the operations apply their own state
    /// rules). Anything else is [`Error::Unauthorized`]; [`Error::Storage`] when the
    /// store fails. One store read, as [`Engine::verify`].
    pub async fn account_session(&self, token: &str) -> Result<Principal> {
        let r = self.resolve_browser(token).await?;
        if r.state == ProfileState::Removed {
            return Err(Error::Unauthorized);
        }
        Ok(principal(r))
    }

    /// The signed-in profile as its own page shows it (any state): what
    /// `retrieve-profile-id` answers, its public key, and a device's name and roles.
    pub async fn account_profile(&self, session: &Principal) -> Result<AccountProfile> {
        session.require(Operation::RetrieveProfileId)?;
        let p = self.profile(session.profile_id).await?;
        if p.state == ProfileState::Removed {
            return Err(Error::Unauthorized);
        }
        let public_key = p.public_key.map(PublicKey::from_bytes).transpose()?;
        Ok(AccountProfile {
            device: super::devices::device_view(&p),
            public_key,
            info: ProfileInfo {
                profile_id: p.id,
                kind: p.kind,
                state: p.state,
                username: p.username,
                owner: p.owner,
            },
        })
    }

    /// HMAC-SHA256 under the server key's seed of [`DOMAIN`], `purpose` and `parts` (each
    /// length-prefixed, so no two inputs collide).
    async fn account_mac(&self, purpose: &[u8], parts: &[&[u8]]) -> Result<[u8; 32]> {
        let seed = self.server_key().await?.seed();
        let mut mac = Hmac::<Sha256>::new_from_slice(seed.as_ref())
            .map_err(|_| Error::Config("HMAC key".into()))?;
        mac.update(DOMAIN);
        for part in std::iter::once(purpose).chain(parts.iter().copied()) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        Ok(mac.finalize().into_bytes().into())
    }
}
