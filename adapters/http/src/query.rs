//! The strict query-string extractor of the Privicore GET routes that take parameters.
//!
//! The query is decoded by the rules of [`Form`] (`+` is a space, percent-decoding, strict
//! UTF-8: `%FF` is a 422; unknown parameters ignored; a known one given twice → 422), so a
//! route reads its parameters with the same typed bodies ([`super::fields::wire_body!`]) as
//! its form fields.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::form::Form;

/// A decoded query string (empty when there is none).
#[derive(Debug)]
pub(crate) struct Query(pub(crate) Form);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Form::parse(parts.uri.query().unwrap_or_default().as_bytes()).map(Self)
    }
}
