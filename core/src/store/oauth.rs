//! OAuth 2.1 / OpenID Connect storage: applications (clients), grants, consents and the
//! RSA signing key.
//!
//! OAuth codes, access tokens, refresh tokens and browser sessions are ordinary
//! [`TokenRecord`]s in the token table (kinds [`TokenKind::OAuthCode`],
//! [`TokenKind::OAuthAccess`], [`TokenKind::OAuthRefresh`], [`TokenKind::Browser`]), so
//! every revocation that already exists reaches them in its own transaction: a password
//! change or "sign out everywhere" ([`super::TokenStore::revoke_profile_tokens`], or
//! [`super::ProfileStore::update_profile`] with [`super::Revoke::All`]), the removal or
//! rejection of a device, the purge of expired tokens. Every OAuth token carries
//! `family = Some(grant.id)`: the [`OAuthGrantRecord`] it was issued under, which holds
//! what the token was issued for (client, scopes, nonce …). Spending a code and rotating a
//! refresh token go through [`super::TokenStore::spend_token`] (compare-and-mark in one
//! transaction, reuse revokes the family); this trait adds what the token table cannot
//! hold.
//!
//! [`TokenKind::OAuthCode`]: crate::token::TokenKind::OAuthCode
//! [`TokenKind::OAuthAccess`]: crate::token::TokenKind::OAuthAccess
//! [`TokenKind::OAuthRefresh`]: crate::token::TokenKind::OAuthRefresh
//! [`TokenKind::Browser`]: crate::token::TokenKind::Browser

use async_trait::async_trait;
use uuid::Uuid;

use super::{CommandRecord, ResolvedToken, StoreResult, TokenRecord};
use crate::clock::Timestamp;
use crate::token::TokenDigest;

/// The algorithm an application's id tokens are signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IdTokenAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (OpenID's mandatory algorithm; the default).
    #[default]
    Rs256,
    /// Ed25519.
    EdDsa,
}

impl IdTokenAlg {
    /// The JOSE name: `RS256` or `EdDSA`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Inverse of [`IdTokenAlg::name`] (exact, case-sensitive).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "RS256" => Some(Self::Rs256),
            "EdDSA" => Some(Self::EdDsa),
            _ => None,
        }
    }

    /// Stable one-byte tag for the storage layouts.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::Rs256 => 1,
            Self::EdDsa => 2,
        }
    }

    /// Inverse of [`IdTokenAlg::tag`].
    #[must_use]
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Rs256),
            2 => Some(Self::EdDsa),
            _ => None,
        }
    }
}

/// A registered OAuth application (an OAuth client).
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthClientRecord {
    /// The client id (`client_id`).
    pub id: Uuid,
    /// The profile that registered it and manages it.
    pub owner: Uuid,
    /// Display name shown on the consent page (1–100 characters).
    pub name: String,
    /// Confidential clients authenticate with a secret; public clients use PKCE only.
    pub confidential: bool,
    /// Registered redirect URIs, exact strings, in registration order (1–10).
    pub redirect_uris: Vec<String>,
    /// Scopes the application may ask for, in registration order.
    pub scopes: Vec<String>,
    /// How its id tokens are signed.
    pub id_token_alg: IdTokenAlg,
    /// SHA-256 of the client secret (confidential clients).
    pub secret: Option<TokenDigest>,
    /// The secret's text until the owner has read it once (the first
    /// `retrieve-configuration` after registration or rotation clears it). Never logged.
    pub pending_secret: Option<String>,
    /// Marked by the operator as first-party: consent is not asked.
    pub first_party: bool,
    /// Registration time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Optimistic-concurrency version, +1 per update.
    pub version: u64,
}

impl std::fmt::Debug for OAuthClientRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientRecord")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("name", &self.name)
            .field("confidential", &self.confidential)
            .field("redirect_uris", &self.redirect_uris)
            .field("scopes", &self.scopes)
            .field("id_token_alg", &self.id_token_alg)
            .field("secret", &self.secret.map(|_| "<digest>"))
            .field(
                "pending_secret",
                &self.pending_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("first_party", &self.first_party)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("version", &self.version)
            .finish()
    }
}

/// One authorization: what a profile granted a client at one sign-in (or one
/// `client_credentials` request). Every code, access and refresh token issued under it has
/// `family = Some(id)`; refresh rotation keeps the family, so the grant lives as long as its
/// refresh chain, and revoking the family ends all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrantRecord {
    /// Grant id (= the tokens' family).
    pub id: Uuid,
    /// The client.
    pub client_id: Uuid,
    /// The profile that signed in (the device itself for a device's `client_credentials`,
    /// the owner for an application's `client_credentials`).
    pub profile_id: Uuid,
    /// Granted scopes, in request order.
    pub scopes: Vec<String>,
    /// The `redirect_uri` of the authorization request, if any (codes are bound to it).
    pub redirect_uri: Option<String>,
    /// PKCE S256 challenge of the authorization request, if any.
    pub code_challenge: Option<String>,
    /// The OpenID `nonce`, if one was sent.
    pub nonce: Option<String>,
    /// When the profile last authenticated with its password (OpenID `auth_time`).
    pub auth_time: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// The grant may be purged once `expires_at <= now` (its last token has expired by then).
    pub expires_at: Timestamp,
}

/// A profile's standing consent to an application's scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// Who consented.
    pub profile_id: Uuid,
    /// To which application.
    pub client_id: Uuid,
    /// The scopes consented to (a later consent to more scopes replaces the record).
    pub scopes: Vec<String>,
    /// When.
    pub granted_at: Timestamp,
}

/// What [`OAuthStore::resolve_oauth`] reads in one consistent view: the token with its
/// profile, and the grant it was issued under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedGrant {
    /// The token and its profile, as [`super::TokenStore::resolve_token`] returns them.
    pub token: ResolvedToken,
    /// The profile's canonical username.
    pub username: String,
    /// The grant (the token's family).
    pub grant: OAuthGrantRecord,
}

/// Applications, grants, consents and the RSA signing key.
///
/// Every method is atomic; the ones that remove several things do it in one transaction.
#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Store a new application, with `command` in the same transaction.
    /// Errors: `NotFound` (no owner profile), `Conflict(Exists)` (the id is taken).
    async fn create_client(
        &self,
        client: &OAuthClientRecord,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Read an application.
    async fn get_client(&self, id: Uuid) -> StoreResult<Option<OAuthClientRecord>>;

    /// The applications of an owner, by creation time then id.
    async fn list_clients(&self, owner: Uuid) -> StoreResult<Vec<OAuthClientRecord>>;

    /// Replace an application if its stored version is `expected_version` (the new record's
    /// `version` is written as given; owner and id are kept). `command` in the same
    /// transaction. A changed `secret` ends the old secret at once: nothing else holds it.
    /// Errors: `NotFound`, `VersionMismatch` (nothing written).
    async fn update_client(
        &self,
        client: &OAuthClientRecord,
        expected_version: u64,
        command: Option<&CommandRecord>,
    ) -> StoreResult<()>;

    /// Remove an application, and in the same transaction every grant of it, every token
    /// of those grants (codes, access and refresh tokens), every consent to it, and write
    /// `command`. Returns whether it existed (`command` is written only then).
    async fn remove_client(&self, id: Uuid, command: Option<&CommandRecord>) -> StoreResult<bool>;

    /// Store a grant and the first token issued under it (an authorization code, or the
    /// access token of `client_credentials`) in one transaction, if the token's profile
    /// still has `profile_version` and the client still exists. The client is an
    /// application, or a device acting as its own client: `grant.client_id ==
    /// grant.profile_id` naming a device profile (devices have no client record; see the
    /// engine's `device_client.rs`). The caller guarantees
    /// `token.family == Some(grant.id)` and `token.profile_id == grant.profile_id`.
    /// Errors: `NotFound` (no profile or no client), `VersionMismatch`, `Conflict(Exists)`
    /// (grant id or digest taken). Nothing is written on an error.
    async fn put_grant(
        &self,
        grant: &OAuthGrantRecord,
        token: &TokenRecord,
        profile_version: u64,
    ) -> StoreResult<()>;

    /// Read a grant.
    async fn get_grant(&self, id: Uuid) -> StoreResult<Option<OAuthGrantRecord>>;

    /// In one consistent read: the token under `digest`, its profile and its grant (the
    /// token's family). `None` if any of them is missing. Expiry and kinds are not checked.
    /// This is the hot path of introspection and userinfo.
    async fn resolve_oauth(&self, digest: &TokenDigest) -> StoreResult<Option<ResolvedGrant>>;

    /// Store or replace the consent of `(consent.profile_id, consent.client_id)`.
    /// Errors: `NotFound` (no such client).
    async fn put_consent(&self, consent: &ConsentRecord) -> StoreResult<()>;

    /// Read the consent of a profile to an application.
    async fn get_consent(&self, profile: Uuid, client: Uuid) -> StoreResult<Option<ConsentRecord>>;

    /// A profile's consents, by grant time then client id.
    async fn list_consents(&self, profile: Uuid) -> StoreResult<Vec<ConsentRecord>>;

    /// Withdraw a consent: in one transaction delete it, every grant of
    /// `(profile, client)` and every token of those grants, and write `command`. Returns
    /// whether there was a consent or a grant (`command` is written only then). A refresh
    /// rotation racing with it either happens before (and its new tokens are deleted here)
    /// or finds its token gone.
    async fn revoke_consent(
        &self,
        profile: Uuid,
        client: Uuid,
        command: Option<&CommandRecord>,
    ) -> StoreResult<bool>;

    /// The stored RSA signing key (PKCS#8 DER), or `candidate` after storing it when there
    /// is none yet. Atomic: concurrent first calls all get the same key.
    async fn rsa_key_or_insert(&self, candidate: &[u8]) -> StoreResult<Vec<u8>>;
}
