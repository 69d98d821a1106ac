//! The token endpoint, one engine call per grant type: [`Engine::exchange_code`]
//! (`authorization_code`), [`Engine::refresh_oauth`] (`refresh_token`) and
//! [`Engine::client_credentials`].
//!
//! Every OAuth token is a row of the token table in its grant's family. Exchanging a code
//! and rotating a refresh token are one [`crate::store::TokenStore::spend_token`] each: the
//! presented token is marked spent and the new tokens stored in one transaction, and
//! presenting a spent one again revokes the whole family (every token issued from that
//! code). What binds the presented token (its client, redirect URI, PKCE challenge, age,
//! the profile's state) is checked from the stored records before anything is spent, so a
//! request that fails those checks changes nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::super::{Engine, OPTIMISTIC_RETRIES};
use super::clients::AuthedClient;
use super::codes::may_sign_in;
use super::failure::{OAuthFailure, invalid_grant};
use super::{ClientAuth, OAuthErrorCode, SUPPORTED_SCOPES, parse_scopes};
use crate::clock::Timestamp;
use crate::error::Error;
use crate::profile::{self, Operation, ProfileKind};
use crate::store::{
    IdTokenAlg, OAuthGrantRecord, ProfileRecord, Rotation, StoreError, TokenRecord,
};
use crate::token::{Token, TokenDigest, TokenKind};

/// Shortest and longest PKCE `code_verifier` (RFC 7636 §4.1).
pub const CODE_VERIFIER_LEN: std::ops::RangeInclusive<usize> = 43..=128;

/// The scopes that never go with `client_credentials`: no id token, no refresh token.
const USER_ONLY_SCOPES: [&str; 2] = ["openid", "offline_access"];

/// What the token endpoint issued. The token texts exist only here; `Debug` shows none of
/// them (nor the id token).
pub struct OAuthTokens {
    /// The client the tokens were issued to.
    pub client_id: Uuid,
    /// `tso_…`: the access token (Bearer).
    pub access_token: Token,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// When the access token expires.
    pub expires_at: Timestamp,
    /// The granted scopes, in request order.
    pub scopes: Vec<String>,
    /// `tsf_…`: the refresh token, only when `offline_access` was granted (single use).
    pub refresh_token: Option<Token>,
    /// When the refresh token expires (the grant's end: rotation keeps it).
    pub refresh_expires_at: Option<Timestamp>,
    /// The OpenID id token, when `openid` was granted (never for `client_credentials`).
    pub id_token: Option<String>,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("client_id", &self.client_id)
            .field("access_token", &self.access_token)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .field("refresh_token", &self.refresh_token)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl OAuthTokens {
    /// The `scope` value of the reply: the scopes, space-separated.
    #[must_use]
    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }
}

/// An `authorization_code` token request (the client authenticates separately).
#[derive(Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The code (`tsc_…`).
    pub code: &'a str,
    /// `redirect_uri`, exactly as sent in the authorization request. Required unless the
    /// code was issued with a PKCE challenge (then the verifier binds the request).
    pub redirect_uri: Option<&'a str>,
    /// The PKCE `code_verifier`: required exactly when the code has a challenge.
    pub code_verifier: Option<&'a str>,
}

impl std::fmt::Debug for CodeExchange<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchange")
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Check a PKCE verifier against the code's challenge (S256 only): a verifier without a
/// challenge, a challenge without a verifier, a malformed verifier and a mismatch are all
/// `invalid_grant`.
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthFailure> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(invalid_grant("code_verifier is required for this code")),
        (None, Some(_)) => Err(invalid_grant(
            "this code was issued without a PKCE challenge: send no code_verifier",
        )),
        (Some(challenge), Some(verifier)) => {
            let well_formed = CODE_VERIFIER_LEN.contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            if !well_formed {
                return Err(invalid_grant(
                    "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed.len() == challenge.len()
                && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
            {
                Ok(())
            } else {
                Err(invalid_grant("code_verifier does not match the challenge"))
            }
        }
    }
}

/// The identity a grant speaks for: the profile, except for an application's own
/// `client_credentials` grant (no redirect URI, client ≠ profile), which is the
/// application itself.
pub(crate) fn subject(grant: &OAuthGrantRecord) -> Uuid {
    if grant.redirect_uri.is_none() && grant.client_id != grant.profile_id {
        grant.client_id
    } else {
        grant.profile_id
    }
}

impl Engine {
    /// `grant_type=authorization_code`: exchange a code for an access token, a refresh token
    /// (with `offline_access`) and an id token (with `openid`).
    ///
    /// The client authenticates first (`invalid_client`). The code must be this client's,
    /// live (at most `code_ttl_secs` old), and the request must repeat its redirect URI
    /// byte for byte and prove its PKCE challenge; its profile must still be an active user.
    /// Any of that failing is `invalid_grant` and spends nothing. A code exchanged before
    /// is `invalid_grant` too, and every token issued from it is revoked in the same store
    /// transaction that sees the reuse.
    pub async fn exchange_code(
        &self,
        client: &ClientAuth,
        req: &CodeExchange<'_>,
    ) -> Result<OAuthTokens, OAuthFailure> {
        let client = self.authenticate_client(client).await?;
        let AuthedClient::App(app) = &client else {
            return Err(invalid_grant("devices get tokens with client_credentials"));
        };
        let unknown = || invalid_grant("the code is invalid, expired or used");
        let digest =
            TokenDigest::of_token(TokenKind::OAuthCode, req.code).map_err(|_| unknown())?;
        let code = self.store.get_token(&digest).await?.ok_or_else(unknown)?;
        let family = code.family.ok_or_else(unknown)?;
        let now = self.clock.now();
        let grant = self.store.get_grant(family).await?.ok_or_else(unknown)?;
        let (access, access_rec) = self.oauth_token(&grant, TokenKind::OAuthAccess, now, None);
        let refresh = self.refresh_for(&grant, now, grant.expires_at);
        let issue = issue_list(&access_rec, refresh.as_ref());
        match code.kind {
            TokenKind::OAuthCode => {}
            TokenKind::OAuthCodeUsed => {
                // reuse: the store revokes the family in the same transaction
                self.store.spend_token(&digest, &issue, now).await?;
                return Err(invalid_grant("the code was already used"));
            }
            _ => return Err(unknown()),
        }
        if code.expires_at <= now {
            return Err(unknown());
        }
        if grant.client_id != app.id {
            return Err(invalid_grant("the code was issued to another client"));
        }
        match (req.redirect_uri, &grant.redirect_uri) {
            (Some(given), Some(bound)) if given == bound => {}
            (None, Some(_)) if grant.code_challenge.is_some() => {}
            (None, _) => return Err(invalid_grant("redirect_uri is required for this code")),
            _ => {
                return Err(invalid_grant(
                    "redirect_uri differs from the authorization request's",
                ));
            }
        }
        check_pkce(grant.code_challenge.as_deref(), req.code_verifier)?;
        self.signer_of(grant.profile_id).await?;
        match self.store.spend_token(&digest, &issue, now).await? {
            Rotation::Rotated => {}
            Rotation::Reused => return Err(invalid_grant("the code was already used")),
            Rotation::Unknown => return Err(unknown()),
        }
        self.answer(&grant, app.id_token_alg, access, &access_rec, refresh, now)
            .await
    }

    /// `grant_type=refresh_token`: rotate a refresh token (single use): a new access token,
    /// a new refresh token with the grant's original expiry and, with `openid`, a new id
    /// token (same `iss`, `sub`, `aud`, `azp`, `auth_time`; new `iat`).
    ///
    /// The token must be the authenticated client's (another client's → `invalid_grant`,
    /// and nothing changes) and its profile still an active user. A refresh token presented
    /// a second time is `invalid_grant` and revokes its whole family. `scope`, when given,
    /// must name the granted scopes (a refresh keeps them; narrowing is not supported →
    /// `invalid_scope`).
    pub async fn refresh_oauth(
        &self,
        client: &ClientAuth,
        refresh_token: &str,
        scope: Option<&str>,
    ) -> Result<OAuthTokens, OAuthFailure> {
        let client = self.authenticate_client(client).await?;
        let AuthedClient::App(app) = &client else {
            return Err(invalid_grant("devices get no refresh tokens"));
        };
        let unknown = || invalid_grant("the refresh token is invalid, expired or revoked");
        let digest =
            TokenDigest::of_token(TokenKind::OAuthRefresh, refresh_token).map_err(|_| unknown())?;
        let old = self.store.get_token(&digest).await?.ok_or_else(unknown)?;
        let family = old.family.ok_or_else(unknown)?;
        let grant = self.store.get_grant(family).await?.ok_or_else(unknown)?;
        if grant.client_id != app.id {
            return Err(unknown());
        }
        let now = self.clock.now();
        let (access, access_rec) = self.oauth_token(&grant, TokenKind::OAuthAccess, now, None);
        let refresh = self.refresh_for(&grant, now, old.expires_at);
        let issue = issue_list(&access_rec, refresh.as_ref());
        match old.kind {
            TokenKind::OAuthRefresh => {}
            TokenKind::OAuthRefreshUsed => {
                self.store.spend_token(&digest, &issue, now).await?;
                return Err(invalid_grant("the refresh token was already used"));
            }
            _ => return Err(unknown()),
        }
        if old.expires_at <= now || refresh.is_none() {
            return Err(unknown());
        }
        if let Some(text) = scope {
            let asked = parse_scopes(text, &self.cfg.oauth, Some(&grant.scopes))?;
            if asked.len() != grant.scopes.len() {
                return Err(OAuthFailure::refuse(
                    OAuthErrorCode::InvalidScope,
                    "a refresh keeps the granted scopes: omit scope",
                ));
            }
        }
        self.signer_of(grant.profile_id).await?;
        match self.store.spend_token(&digest, &issue, now).await? {
            Rotation::Rotated => {}
            Rotation::Reused => return Err(invalid_grant("the refresh token was already used")),
            Rotation::Unknown => return Err(unknown()),
        }
        self.answer(&grant, app.id_token_alg, access, &access_rec, refresh, now)
            .await
    }

    /// `grant_type=client_credentials`: an access token for the client itself (no refresh
    /// token, no id token).
    ///
    /// For a confidential application, on behalf of its owner (the grant's profile; the
    /// token's `sub` is the client id), with scopes from its registered ones; for a device
    /// (client id = its profile id, derived secret), on its own behalf, with any supported
    /// scope. `openid` and `offline_access` are `invalid_scope` here; no `scope` means every
    /// scope the client may have (without those two). A public application is
    /// `unauthorized_client`; so is a device or an owner that is not active.
    pub async fn client_credentials(
        &self,
        client: &ClientAuth,
        scope: Option<&str>,
    ) -> Result<OAuthTokens, OAuthFailure> {
        let client = self.authenticate_client(client).await?;
        let unauthorized =
            |d: &'static str| OAuthFailure::refuse(OAuthErrorCode::UnauthorizedClient, d);
        let (client_id, profile_id, allowed): (Uuid, Uuid, Vec<String>) = match &client {
            AuthedClient::App(app) if !app.confidential => {
                return Err(unauthorized("public clients cannot use client_credentials"));
            }
            AuthedClient::App(app) => (app.id, app.owner, app.scopes.clone()),
            AuthedClient::Device(d) => (d.id, d.id, self.cfg.oauth.scopes_supported()),
        };
        let allowed: Vec<String> = allowed
            .into_iter()
            .filter(|s| !USER_ONLY_SCOPES.contains(&s.as_str()))
            .collect();
        let scopes = match scope {
            Some(text) => parse_scopes(text, &self.cfg.oauth, Some(&allowed))?,
            None => allowed,
        };
        let mut profile = self
            .store
            .get_profile(profile_id)
            .await?
            .ok_or_else(|| unauthorized("the client's profile is gone"))?;
        for _ in 0..OPTIMISTIC_RETRIES {
            let active = profile::guard(profile.kind, profile.state, Operation::Other).is_ok();
            if !active {
                return Err(unauthorized("the client's profile is not active"));
            }
            let now = self.clock.now();
            let grant = OAuthGrantRecord {
                id: self.new_id(),
                client_id,
                profile_id,
                scopes: scopes.clone(),
                redirect_uri: None,
                code_challenge: None,
                nonce: None,
                auth_time: now,
                created_at: now,
                expires_at: now.plus_secs(self.cfg.oauth.access_token_ttl_secs),
            };
            let (access, rec) = self.oauth_token(&grant, TokenKind::OAuthAccess, now, None);
            match self.store.put_grant(&grant, &rec, profile.version).await {
                Ok(()) => {
                    return Ok(OAuthTokens {
                        client_id,
                        access_token: access,
                        expires_in: now.secs_until(rec.expires_at),
                        expires_at: rec.expires_at,
                        scopes,
                        refresh_token: None,
                        refresh_expires_at: None,
                        id_token: None,
                    });
                }
                Err(StoreError::VersionMismatch) => {
                    profile = self
                        .store
                        .get_profile(profile_id)
                        .await?
                        .ok_or_else(|| unauthorized("the client's profile is gone"))?;
                }
                Err(StoreError::NotFound) => {
                    return Err(unauthorized("the client is gone"));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Storage(StoreError::VersionMismatch).into())
    }

    /// The profile a code or refresh token speaks for, if it may still get tokens (an
    /// active user without a temporary password); else `invalid_grant`.
    async fn signer_of(&self, profile_id: Uuid) -> Result<ProfileRecord, OAuthFailure> {
        let profile = self
            .store
            .get_profile(profile_id)
            .await?
            .filter(|p| p.kind == ProfileKind::User)
            .ok_or_else(|| invalid_grant("the account can no longer sign in"))?;
        may_sign_in(&profile).map_err(|_| invalid_grant("the account can no longer sign in"))?;
        Ok(profile)
    }

    /// A fresh OAuth token of `kind` in `grant`'s family, issued at `now`; it expires after
    /// its TTL (access tokens) or at `expires_at`, never after the grant.
    fn oauth_token(
        &self,
        grant: &OAuthGrantRecord,
        kind: TokenKind,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> (Token, TokenRecord) {
        let expires_at = expires_at
            .unwrap_or_else(|| now.plus_secs(self.cfg.oauth.access_token_ttl_secs))
            .min(grant.expires_at);
        let token = Token::generate(kind, self.rng.as_ref());
        let rec = TokenRecord {
            digest: token.digest(),
            profile_id: grant.profile_id,
            kind,
            issued_at: now,
            expires_at,
            family: Some(grant.id),
        };
        (token, rec)
    }

    /// The refresh token of a grant with `offline_access`, expiring at `expires_at`.
    fn refresh_for(
        &self,
        grant: &OAuthGrantRecord,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Option<(Token, TokenRecord)> {
        grant
            .scopes
            .iter()
            .any(|s| s == "offline_access")
            .then(|| self.oauth_token(grant, TokenKind::OAuthRefresh, now, Some(expires_at)))
    }

    /// The reply of a code exchange or a refresh, once its tokens are stored.
    async fn answer(
        &self,
        grant: &OAuthGrantRecord,
        alg: IdTokenAlg,
        access: Token,
        access_rec: &TokenRecord,
        refresh: Option<(Token, TokenRecord)>,
        now: Timestamp,
    ) -> Result<OAuthTokens, OAuthFailure> {
        let id_token = if grant.scopes.iter().any(|s| s == SUPPORTED_SCOPES[0]) {
            Some(
                self.oauth_id_token(grant, alg, access.expose(), now)
                    .await?,
            )
        } else {
            None
        };
        let (refresh_token, refresh_expires_at) = match refresh {
            Some((t, r)) => (Some(t), Some(r.expires_at)),
            None => (None, None),
        };
        Ok(OAuthTokens {
            client_id: grant.client_id,
            access_token: access,
            expires_in: now.secs_until(access_rec.expires_at),
            expires_at: access_rec.expires_at,
            scopes: grant.scopes.clone(),
            refresh_token,
            refresh_expires_at,
            id_token,
        })
    }
}

/// The records a spend issues: the access token, then the refresh token if any.
fn issue_list(access: &TokenRecord, refresh: Option<&(Token, TokenRecord)>) -> Vec<TokenRecord> {
    let mut v = Vec::with_capacity(2);
    v.push(access.clone());
    if let Some((_, r)) = refresh {
        v.push(r.clone());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_needs_a_verifier_exactly_when_there_is_a_challenge() {
        // RFC 7636 appendix B
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(challenge), Some(verifier)).is_ok());
        assert!(check_pkce(None, None).is_ok());
        for (c, v) in [
            (Some(challenge), None),
            (None, Some(verifier)),
            (
                Some(challenge),
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj"),
            ),
            // plain: the challenge is the verifier itself
            (Some(verifier), Some(verifier)),
            (Some(challenge), Some("short")),
            (Some(challenge), Some(&"a".repeat(129))),
            (
                Some(challenge),
                Some("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+"),
            ),
        ] {
            assert_eq!(
                check_pkce(c, v).unwrap_err().code(),
                Some(OAuthErrorCode::InvalidGrant),
                "{c:?} {v:?}"
            );
        }
    }
}
