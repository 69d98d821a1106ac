//! [`OAuthFailure`]: what a back-channel call (token, introspection, revocation, userinfo)
//! answers instead of a value: a protocol refusal, rendered by the adapter as an OAuth error
//! object, or an engine failure (storage, configuration), rendered as any other 5xx.

use std::fmt;

use super::{OAuthError, OAuthErrorCode};
use crate::error::Error;
use crate::store::StoreError;

/// Why a back-channel OAuth call gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthFailure {
    /// The protocol refuses the request (`invalid_client`, `invalid_grant` …).
    Refused(OAuthError),
    /// The engine could not answer (a storage failure: nothing was changed).
    Engine(Error),
}

impl OAuthFailure {
    /// A refusal with `code` and a description safe to show.
    pub(crate) fn refuse(code: OAuthErrorCode, description: &'static str) -> Self {
        Self::Refused(OAuthError::new(code, description))
    }

    /// The refusal's code, if it is one.
    #[must_use]
    pub fn code(&self) -> Option<OAuthErrorCode> {
        match self {
            Self::Refused(e) => Some(e.code),
            Self::Engine(_) => None,
        }
    }
}

impl fmt::Display for OAuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => e.fmt(f),
            Self::Engine(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for OAuthFailure {}

impl From<OAuthError> for OAuthFailure {
    fn from(e: OAuthError) -> Self {
        Self::Refused(e)
    }
}

impl From<Error> for OAuthFailure {
    fn from(e: Error) -> Self {
        Self::Engine(e)
    }
}

impl From<StoreError> for OAuthFailure {
    fn from(e: StoreError) -> Self {
        Self::Engine(Error::Storage(e))
    }
}

/// `invalid_client` with the one description every client-authentication failure gets.
pub(crate) fn invalid_client() -> OAuthFailure {
    OAuthFailure::refuse(
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    )
}

/// `invalid_grant` with `description`.
pub(crate) fn invalid_grant(description: &'static str) -> OAuthFailure {
    OAuthFailure::refuse(OAuthErrorCode::InvalidGrant, description)
}
