//! [`ApiError`]: the one error type of every handler and extractor, and its one mapping to
//! a response (API.md "Errors").

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tessera_core::Error;

/// The JSON body of every error: `{"status","error","message","errors"?,"requestId"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub status: u16,
    /// Stable machine code (API.md error table).
    pub error: String,
    /// Human-readable text, safe to show.
    pub message: String,
    /// Field → messages; only on 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, Vec<String>>>,
    /// Id of the request, on 5xx: the server log line with this id has the detail.
    #[serde(rename = "requestId", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error answer. Build it from a [`tessera_core::Error`] (`?` does that) or with the
/// constructors here; `into_response` renders [`ErrorBody`] with the right status and, for
/// 429 and 503, a `Retry-After` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    errors: BTreeMap<String, Vec<String>>,
    retry_after: Option<u64>,
    /// What the log gets and the client never does (a storage failure's detail).
    detail: Option<String>,
}

/// The detail of an error response (never sent), in its extensions: the outer layer logs it
/// with the request id.
#[derive(Debug, Clone)]
pub(crate) struct ErrorDetail(pub(crate) String);

impl ApiError {
    /// An error with `status`, machine `code` and `message`.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            errors: BTreeMap::new(),
            retry_after: None,
            detail: None,
        }
    }

    /// 401 `unauthorized`: one body for every token problem.
    #[must_use]
    pub fn unauthorized() -> Self {
        Error::Unauthorized.into()
    }

    /// 401 `unauthorized` whose message says what the request lacks (`hint`): a missing
    /// header, a header given twice, the token sent as `Authorization: Bearer`. Only for
    /// what the request's shape shows; a wrong, revoked or expired token always gets the
    /// one body of [`ApiError::unauthorized`], so nothing tells them apart.
    #[must_use]
    pub fn unauthorized_hint(hint: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", hint)
    }

    /// 503 `storage_unavailable` with `Retry-After: 1`, answered by the storage breaker
    /// while the store is known down (no detail: nothing failed in this request).
    #[must_use]
    pub fn storage_unavailable() -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            Error::Storage(tessera_core::StoreError::Backend(String::new())).to_string(),
        );
        e.retry_after = Some(1);
        e
    }

    /// 404 `not_found`.
    #[must_use]
    pub fn not_found() -> Self {
        Error::NotFound.into()
    }

    /// 422 `validation_failed` about `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message.clone(),
        )
        .with_field(field, vec![message])
    }

    /// 422 `validation_failed` with several field errors.
    #[must_use]
    pub fn fields(errors: BTreeMap<String, Vec<String>>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the request has invalid fields",
        );
        e.errors = errors;
        e
    }

    /// The generic body for a bare `status` (a framework-made 404, 405, 408, 413…).
    #[must_use]
    pub fn from_status(status: StatusCode) -> Self {
        let (code, message) = match status.as_u16() {
            400 => ("bad_request", "the request is malformed"),
            401 => ("unauthorized", "unauthorized"),
            404 => ("not_found", "not found"),
            405 => ("method_not_allowed", "this method is not allowed here"),
            408 => ("request_timeout", "the request took too long"),
            413 => (
                "payload_too_large",
                "the request body is larger than this route accepts",
            ),
            415 => (
                "unsupported_media_type",
                "send application/x-www-form-urlencoded",
            ),
            422 => ("validation_failed", "the request has invalid fields"),
            503 => ("overloaded", "the server is busy; retry later"),
            s if s >= 500 => ("internal_error", "internal error"),
            _ => ("bad_request", "the request was refused"),
        };
        Self::new(status, code, message)
    }

    /// Add messages for `field` (shown under `errors` on a 422).
    #[must_use]
    pub fn with_field(mut self, field: &str, messages: Vec<String>) -> Self {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .extend(messages);
        self
    }

    /// Rename the field `from` to `to` in `errors` (e.g. `password` → `newPassword`).
    #[must_use]
    pub fn rename_field(mut self, from: &str, to: &str) -> Self {
        if let Some(m) = self.errors.remove(from) {
            self.errors.insert(to.to_owned(), m);
        }
        self
    }

    /// The HTTP status.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.status
    }

    /// The machine code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        self.code
    }

    /// The body this error renders to (without a request id).
    #[must_use]
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status.as_u16(),
            error: self.code.to_owned(),
            message: self.message.clone(),
            errors: (self.status == StatusCode::UNPROCESSABLE_ENTITY && !self.errors.is_empty())
                .then(|| self.errors.clone()),
            request_id: None,
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::ProfileIncomplete
            | Error::DevicePending
            | Error::DeviceRejected
            | Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound => StatusCode::NOT_FOUND,
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::Overloaded { .. } | Error::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Config(detail) => {
                tracing::error!(detail = %detail, "engine configuration failure");
                let mut out = Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "internal error",
                );
                out.detail = Some(detail.clone());
                return out;
            }
            // every other refusal is about the input
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let detail = if let Error::Storage(detail) = &e {
            // The detail goes to the log, never to the client: here (for embedders), and
            // with the request id from the outer layer of tessera's router.
            tracing::error!(detail = %detail, "storage failure");
            Some(detail.to_string())
        } else {
            None
        };
        let mut out = Self::new(status, e.code(), e.to_string());
        out.detail = detail;
        out.retry_after = match e {
            Error::TooManyAttempts { retry_after } | Error::Overloaded { retry_after } => {
                Some(retry_after.max(1))
            }
            Error::Storage(_) => Some(1),
            _ => None,
        };
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            out = out.with_field(e.field().unwrap_or("request"), e.messages());
        }
        out
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut res = (self.status, super::json_bytes(&body)).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(super::JSON_CONTENT_TYPE),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // The outer middleware adds the request id to 5xx bodies, and logs the detail.
        res.extensions_mut().insert(body);
        if let Some(d) = self.detail {
            res.extensions_mut().insert(ErrorDetail(d));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_the_table() {
        let cases: Vec<(Error, u16, &str)> = vec![
            (Error::Unauthorized, 401, "unauthorized"),
            (Error::ProfileIncomplete, 403, "profile_incomplete"),
            (Error::DevicePending, 403, "device_pending"),
            (Error::DeviceRejected, 403, "device_rejected"),
            (Error::Forbidden, 403, "forbidden"),
            (Error::NotFound, 404, "not_found"),
            (Error::InvalidTtl, 422, "invalid_ttl"),
            (Error::WrongPassword, 422, "wrong_password"),
            (Error::UsernameTaken, 422, "username_taken"),
            (
                Error::TooManyAttempts { retry_after: 3 },
                429,
                "too_many_attempts",
            ),
            (Error::Overloaded { retry_after: 1 }, 503, "overloaded"),
            (
                Error::Storage(tessera_core::StoreError::Backend("x".into())),
                503,
                "storage_unavailable",
            ),
        ];
        for (e, status, code) in cases {
            let a = ApiError::from(e);
            assert_eq!(a.status().as_u16(), status, "{code}");
            assert_eq!(a.code(), code);
        }
    }

    #[test]
    fn field_errors_only_on_422() {
        let b = ApiError::from(Error::InvalidTtl).body();
        assert!(b.errors.unwrap().contains_key("ttl"));
        assert!(ApiError::unauthorized().body().errors.is_none());
    }
}
