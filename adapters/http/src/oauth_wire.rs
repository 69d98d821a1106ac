//! What the OAuth protocol endpoints (`/oauth2/*`) share: OAuth error objects
//! (`{"error","error_description"}`, RFC 6749 §5.2) with the RFCs' statuses, client
//! authentication from the request (`client_secret_basic`, `client_secret_post`, `none`),
//! the parameters of a form body, and `Cache-Control: no-store` on token replies.
//!
//! Form bodies are read by the crate's strict [`Form`] extractor; its refusals become
//! OAuth error objects here (a parameter given twice or not UTF-8 → 400
//! `invalid_request`; 413 and 415 keep their status). An engine failure (storage) is
//! answered like everywhere else: our error body, 503, with a request id.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use serde::Serialize;
use tessera_core::engine::oauth::{ClientAuth, OAuthError, OAuthErrorCode, OAuthFailure};
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::form::{Form, decode};
use super::{ApiError, JSON_CONTENT_TYPE, json_bytes};

/// An OAuth error object (RFC 6749 §5.2, RFC 6750 §3, RFC 7009, RFC 7662).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope`, `invalid_token` …
    error: &'static str,
    /// Human-readable ASCII text, safe to show.
    error_description: String,
}

/// An OAuth refusal as a response: its status (400; 401 for `invalid_client` and
/// `invalid_token`), the error object, and a `WWW-Authenticate` challenge where one is due.
#[derive(Debug)]
pub(crate) struct OAuthErrorReply {
    status: StatusCode,
    body: OAuthErrorBody,
    challenge: Option<HeaderValue>,
}

impl OAuthErrorReply {
    /// The reply of `e` (its status from its code).
    pub(crate) fn of(e: OAuthError) -> Self {
        Self {
            status: refusal_status(e.code),
            body: OAuthErrorBody {
                error: e.code.as_str(),
                error_description: e.description,
            },
            challenge: None,
        }
    }

    /// `code` with `description`.
    pub(crate) fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        Self::of(OAuthError::new(code, description))
    }

    /// With status `status` instead.
    #[must_use]
    pub(crate) const fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// With a `WWW-Authenticate` challenge.
    #[must_use]
    pub(crate) fn with_challenge(mut self, value: HeaderValue) -> Self {
        self.challenge = Some(value);
        self
    }
}

impl IntoResponse for OAuthErrorReply {
    fn into_response(self) -> Response {
        let mut res = (self.status, json_bytes(&self.body)).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        if let Some(c) = self.challenge {
            h.insert(header::WWW_AUTHENTICATE, c);
        }
        res
    }
}

/// The status of an OAuth refusal: 401 for a failed client authentication or a bad bearer
/// token, 503 for `temporarily_unavailable`, 500 for `server_error`, else 400.
pub(crate) const fn refusal_status(code: OAuthErrorCode) -> StatusCode {
    match code {
        OAuthErrorCode::InvalidClient | OAuthErrorCode::InvalidToken => StatusCode::UNAUTHORIZED,
        OAuthErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        OAuthErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The response of a failed back-channel call. `basic`: the client sent an `Authorization`
/// header, so an `invalid_client` carries `WWW-Authenticate: Basic` (RFC 6749 §5.2).
pub(crate) fn failure_response(f: OAuthFailure, basic: bool) -> Response {
    match f {
        OAuthFailure::Refused(e) => {
            let invalid_client = e.code == OAuthErrorCode::InvalidClient;
            let mut reply = OAuthErrorReply::of(e);
            if invalid_client && basic {
                reply = reply.with_challenge(HeaderValue::from_static(r#"Basic realm="tessera""#));
            }
            reply.into_response()
        }
        OAuthFailure::Engine(e) => ApiError::from(e).into_response(),
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), on every reply that
/// carries or refuses tokens.
pub(crate) fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// The form body of an OAuth endpoint, or the OAuth error object for why it was refused.
pub(crate) fn oauth_form(read: Result<Form, ApiError>) -> Result<Form, OAuthErrorReply> {
    read.map_err(|e| {
        let status = e.status();
        let reply = OAuthErrorReply::new(OAuthErrorCode::InvalidRequest, e.body().message);
        match status {
            StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                reply.with_status(status)
            }
            _ => reply,
        }
    })
}

/// Parameter `name` of an OAuth form: absent, or given once (twice → `invalid_request`).
/// An empty value counts as absent (RFC 6749 §3.1).
pub(crate) fn param<'a>(form: &'a Form, name: &'static str) -> Result<Option<&'a str>, OAuthError> {
    match form.optional(name) {
        Ok(v) => Ok(v.filter(|v| !v.is_empty())),
        Err(_) => Err(OAuthError::new(
            OAuthErrorCode::InvalidRequest,
            format!("{name} is given more than once"),
        )),
    }
}

/// A required parameter (`invalid_request` when absent).
pub(crate) fn required<'a>(form: &'a Form, name: &'static str) -> Result<&'a str, OAuthError> {
    param(form, name)?.ok_or_else(|| {
        OAuthError::new(
            OAuthErrorCode::InvalidRequest,
            format!("{name} is required"),
        )
    })
}

/// How the client authenticated, and whether it used the `Authorization` header.
#[derive(Debug)]
pub(crate) struct ClientCredentials {
    /// The client id and secret, if any was sent.
    pub(crate) auth: Option<ClientAuth>,
    /// The request had an `Authorization` header.
    pub(crate) basic: bool,
}

/// The client's credentials: `Authorization: Basic` (RFC 6749 §2.3.1: base64 of the
/// form-urlencoded id, `:`, the form-urlencoded secret), or `client_id` (+
/// `client_secret`) in the form. Two methods at once, a header given twice, another
/// scheme or a malformed header is refused (`invalid_request` / `invalid_client`).
pub(crate) fn client_credentials(
    headers: &HeaderMap,
    form: &Form,
) -> Result<ClientCredentials, OAuthErrorReply> {
    let body_id = param(form, "client_id").map_err(OAuthErrorReply::of)?;
    let body_secret = param(form, "client_secret").map_err(OAuthErrorReply::of)?;
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let header = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(v), None) => Some(v),
        (Some(_), Some(_)) => {
            return Err(OAuthErrorReply::new(
                OAuthErrorCode::InvalidRequest,
                "send the Authorization header once",
            ));
        }
    };
    let bad_client = || {
        OAuthErrorReply::new(
            OAuthErrorCode::InvalidClient,
            "client authentication failed",
        )
        .with_challenge(HeaderValue::from_static(r#"Basic realm="tessera""#))
    };
    let Some(header) = header else {
        if body_secret.is_some() && body_id.is_none() {
            return Err(OAuthErrorReply::new(
                OAuthErrorCode::InvalidRequest,
                "client_secret needs client_id",
            ));
        }
        return Ok(ClientCredentials {
            auth: body_id.map(|id| ClientAuth {
                client_id: id.to_owned(),
                secret: body_secret.map(str::to_owned),
            }),
            basic: false,
        });
    };
    if body_secret.is_some() {
        return Err(OAuthErrorReply::new(
            OAuthErrorCode::InvalidRequest,
            "use one client authentication method: Authorization: Basic or client_secret",
        ));
    }
    let (id, secret) = basic(header).ok_or_else(bad_client)?;
    if body_id.is_some_and(|b| b != id.as_str()) {
        return Err(OAuthErrorReply::new(
            OAuthErrorCode::InvalidRequest,
            "client_id differs from the Authorization header's",
        ));
    }
    Ok(ClientCredentials {
        auth: Some(ClientAuth {
            client_id: id.to_string(),
            secret: Some(secret.to_string()),
        }),
        basic: true,
    })
}

/// Decode `Basic <base64(urlencoded id ":" urlencoded secret)>`.
fn basic(value: &HeaderValue) -> Option<(Zeroizing<String>, Zeroizing<String>)> {
    let text = value.to_str().ok()?;
    let (scheme, rest) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let rest = rest.trim();
    let raw = Zeroizing::new(
        STANDARD
            .decode(rest)
            .or_else(|_| STANDARD_NO_PAD.decode(rest))
            .ok()?,
    );
    let colon = raw.iter().position(|&b| b == b':')?;
    let id = decode(&raw[..colon]).ok()?;
    let secret = decode(&raw[colon + 1..]).ok()?;
    (!id.is_empty()).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_split_on_the_first_colon() {
        // id "a b", secret "x:y%" (urlencoded: a+b : x%3Ay%25)
        let v = format!("Basic {}", STANDARD.encode("a+b:x%3Ay%25"));
        let c = client_credentials(&headers(&v), &Form::default()).unwrap();
        let auth = c.auth.unwrap();
        assert_eq!(
            (auth.client_id.as_str(), auth.secret.as_deref()),
            ("a b", Some("x:y%"))
        );
        assert!(c.basic);
        let v = format!("basic {}", STANDARD_NO_PAD.encode("id:s:t"));
        let auth = client_credentials(&headers(&v), &Form::default())
            .unwrap()
            .auth
            .unwrap();
        assert_eq!(auth.secret.as_deref(), Some("s:t"));
        for bad in [
            "Bearer abc".to_owned(),
            "Basic".to_owned(),
            "Basic !!!".to_owned(),
            format!("Basic {}", STANDARD.encode("no-colon")),
            format!("Basic {}", STANDARD.encode(":secret")),
            format!("Basic {}", STANDARD.encode("id:%FF")),
        ] {
            let e = client_credentials(&headers(&bad), &Form::default()).unwrap_err();
            assert_eq!(e.status, StatusCode::UNAUTHORIZED, "{bad}");
            assert!(e.challenge.is_some());
        }
    }

    #[test]
    fn one_method_at_a_time() {
        let v = format!("Basic {}", STANDARD.encode("id:s"));
        let both = Form::parse(b"client_secret=s").unwrap();
        assert_eq!(
            client_credentials(&headers(&v), &both).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let other_id = Form::parse(b"client_id=other").unwrap();
        assert!(client_credentials(&headers(&v), &other_id).is_err());
        let same_id = Form::parse(b"client_id=id").unwrap();
        assert!(client_credentials(&headers(&v), &same_id).is_ok());
        let post = Form::parse(b"client_id=id&client_secret=s").unwrap();
        let c = client_credentials(&HeaderMap::new(), &post).unwrap();
        assert!(!c.basic && c.auth.unwrap().secret.as_deref() == Some("s"));
        let public = Form::parse(b"client_id=id").unwrap();
        assert!(
            client_credentials(&HeaderMap::new(), &public)
                .unwrap()
                .auth
                .unwrap()
                .secret
                .is_none()
        );
        let twice = Form::parse(b"client_id=a&client_id=b").unwrap();
        assert!(client_credentials(&HeaderMap::new(), &twice).is_err());
    }
}
