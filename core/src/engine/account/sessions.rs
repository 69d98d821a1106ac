//! The sessions page: every live token of the profile, and revoking one of them.
//!
//! A token is named on the page by an opaque handle, never by its digest: the first 16
//! bytes of the MAC ([`Engine::account_mac`]) of the browser session's digest and the
//! token's, base64url. A handle means something only to the session it was shown to.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::super::{Accepted, Engine};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::principal::Principal;
use crate::profile::ProfileKind;
use crate::store::TokenRecord;
use crate::token::TokenKind;

/// Bytes of the MAC a handle keeps.
const HANDLE_BYTES: usize = 16;

/// The kinds the page lists: what a person or an application signs in with. Single-use
/// steps (codes, challenges, reset codes) and spent tokens are not sessions.
const SESSION_KINDS: [TokenKind; 5] = [
    TokenKind::Browser,
    TokenKind::Authorization,
    TokenKind::Refresh,
    TokenKind::OAuthAccess,
    TokenKind::OAuthRefresh,
];

/// One live token of the profile, as the sessions page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    /// The opaque handle that names it in this browser session's forms.
    pub handle: String,
    /// What kind of token.
    pub kind: TokenKind,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// For OAuth tokens: the name of the application it was issued to.
    pub application: Option<String>,
    /// It is the browser session looking at the page.
    pub current: bool,
}

impl Engine {
    /// Every live session of the signed-in user, by issue time (active users only, as the
    /// device routes: `Forbidden` for a device, the state errors otherwise).
    pub async fn account_sessions(&self, session: &Principal) -> Result<Vec<SessionEntry>> {
        require_user(session)?;
        let mut names: HashMap<Uuid, Option<String>> = HashMap::new();
        let mut out = Vec::new();
        for t in self.live_sessions(session.profile_id).await? {
            let application = match (t.kind, t.family) {
                (TokenKind::OAuthAccess | TokenKind::OAuthRefresh, Some(grant)) => {
                    if let Some(name) = names.get(&grant) {
                        name.clone()
                    } else {
                        let name = self.application_of_grant(grant).await?;
                        names.insert(grant, name.clone());
                        name
                    }
                }
                _ => None,
            };
            out.push(SessionEntry {
                handle: self.session_handle(session, &t).await?,
                kind: t.kind,
                issued_at: t.issued_at,
                expires_at: t.expires_at,
                application,
                current: t.digest.ct_eq(&session.token),
            });
        }
        Ok(out)
    }

    /// Revoke the session `handle` names (one of [`Engine::account_sessions`]): that token
    /// only, effective before return (the browser's own session too, which signs it out).
    /// A command ("Session revoked"). An unknown or stale handle is `NotFound`.
    pub async fn account_revoke_session(
        &self,
        session: &Principal,
        handle: &str,
    ) -> Result<Accepted<()>> {
        require_user(session)?;
        let mut found = None;
        for t in self.live_sessions(session.profile_id).await? {
            let h = self.session_handle(session, &t).await?;
            if h.len() == handle.len() && bool::from(h.as_bytes().ct_eq(handle.as_bytes())) {
                found = Some(t);
            }
        }
        let token = found.ok_or(Error::NotFound)?;
        let command = self.new_command(Some(session.profile_id), "Session revoked", Vec::new());
        if self
            .store
            .revoke_token(&token.digest, Some(&command))
            .await?
        {
            Ok(self.accepted((), command))
        } else {
            Err(Error::NotFound)
        }
    }

    /// The live tokens of `profile` of the kinds the page lists.
    async fn live_sessions(&self, profile: Uuid) -> Result<Vec<TokenRecord>> {
        let now = self.clock.now();
        Ok(self
            .store
            .list_profile_tokens(profile)
            .await?
            .into_iter()
            .filter(|t| SESSION_KINDS.contains(&t.kind) && t.expires_at > now)
            .collect())
    }

    /// The name of the application grant `grant` was given to, if it still exists.
    async fn application_of_grant(&self, grant: Uuid) -> Result<Option<String>> {
        let Some(g) = self.store.get_grant(grant).await? else {
            return Ok(None);
        };
        Ok(self.store.get_client(g.client_id).await?.map(|c| c.name))
    }

    async fn session_handle(&self, session: &Principal, t: &TokenRecord) -> Result<String> {
        let tag = self
            .account_mac(b"session handle", &[&session.token.0, &t.digest.0])
            .await?;
        Ok(URL_SAFE_NO_PAD.encode(&tag[..HANDLE_BYTES]))
    }
}

/// Sessions are a user's: an active user (a device → `Forbidden`).
fn require_user(p: &Principal) -> Result<()> {
    p.require_active()?;
    if p.kind == ProfileKind::User {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}
