//! Client authentication at the token, introspection and revocation endpoints.
//!
//! Two kinds of client:
//! - an application ([`crate::store::OAuthClientRecord`]): confidential ones present their
//!   secret (`tsx_` + 32 random bytes, base64url; only its SHA-256 is stored, compared in
//!   constant time), public ones present none (`none`, PKCE does the rest);
//! - a device profile, a confidential client of its own: client id = its profile id, secret
//!   derived from the server key (see `device_client.rs`), nothing stored.
//!
//! Every failure is the one `invalid_client`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::super::Engine;
use super::ClientAuth;
use super::failure::{OAuthFailure, invalid_client};
use crate::profile::{ProfileKind, ProfileState};
use crate::random::{self, Random};
use crate::store::{OAuthClientRecord, ProfileRecord};
use crate::token::{TOKEN_BYTES, TokenDigest};

/// Prefix of application client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "tsx_";

/// Longest client id or secret looked at (bytes); longer ones are `invalid_client`.
pub const MAX_CLIENT_CREDENTIAL_LEN: usize = 512;

/// A client secret's text, shown once. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// A fresh application secret from `rng`.
    pub(crate) fn generate(rng: &dyn Random) -> Self {
        let mut raw = random::bytes::<TOKEN_BYTES>(rng);
        let mut s = String::with_capacity(CLIENT_SECRET_PREFIX.len() + 43);
        s.push_str(CLIENT_SECRET_PREFIX);
        URL_SAFE_NO_PAD.encode_string(raw, &mut s);
        raw.zeroize();
        Self(Zeroizing::new(s))
    }

    pub(crate) fn from_text(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret text.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its digest (what the store keeps).
    #[must_use]
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl PartialEq for ClientSecret {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }
}

impl Eq for ClientSecret {}

/// An authenticated client.
#[derive(Debug, Clone)]
pub(crate) enum AuthedClient {
    /// A registered application.
    App(OAuthClientRecord),
    /// A device profile acting as its own client (not removed; its state is checked by
    /// each grant).
    Device(ProfileRecord),
}

impl AuthedClient {
    /// The client id.
    pub(crate) fn id(&self) -> Uuid {
        match self {
            Self::App(c) => c.id,
            Self::Device(d) => d.id,
        }
    }
}

impl Engine {
    /// Authenticate `auth`: an application by its secret (confidential) or by its id alone
    /// (public), or a device by its derived secret.
    pub(crate) async fn authenticate_client(
        &self,
        auth: &ClientAuth,
    ) -> Result<AuthedClient, OAuthFailure> {
        if auth.client_id.len() > MAX_CLIENT_CREDENTIAL_LEN
            || auth
                .secret
                .as_ref()
                .is_some_and(|s| s.len() > MAX_CLIENT_CREDENTIAL_LEN)
        {
            return Err(invalid_client());
        }
        let id = Uuid::try_parse(&auth.client_id).map_err(|_| invalid_client())?;
        if let Some(app) = self.store.get_client(id).await? {
            let ok = match (&auth.secret, app.confidential, &app.secret) {
                (Some(given), true, Some(stored)) => TokenDigest::of(given).ct_eq(stored),
                (None, false, _) => true,
                _ => false,
            };
            return if ok {
                Ok(AuthedClient::App(app))
            } else {
                Err(invalid_client())
            };
        }
        let device = self
            .store
            .get_profile(id)
            .await?
            .filter(|p| p.kind == ProfileKind::Device && p.state != ProfileState::Removed)
            .ok_or_else(invalid_client)?;
        let given = auth.secret.as_deref().ok_or_else(invalid_client)?;
        let expected = self.device_client_secret(device.id).await?;
        if expected == ClientSecret::from_text(given.to_owned()) {
            Ok(AuthedClient::Device(device))
        } else {
            Err(invalid_client())
        }
    }
}
