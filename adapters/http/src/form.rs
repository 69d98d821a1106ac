//! The strict form extractor of every Privicore POST route.
//!
//! - Only `application/x-www-form-urlencoded` (parameters such as `charset` allowed); any
//!   other content type → 415. No content type is accepted only with an empty body.
//! - The body is read up to the configured limit (16 KiB by default) → 413 past it.
//! - Each key and value is percent-decoded to bytes (`+` is a space) and must be valid UTF-8:
//!   `%FF` is a 422, never a lossy U+FFFD.
//! - Unknown fields are ignored; a known field given twice is a 422 (`invalid_ttl` for `ttl`);
//!   a missing required field is a 422 `validation_failed` with `errors.<field>`.

use std::collections::BTreeMap;
use std::future::Future;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use percent_encoding::percent_decode;
use tessera_core::Error;
use zeroize::Zeroizing;

use super::error::ApiError;

/// Default body limit: 16 KiB.
pub const BODY_LIMIT: usize = 16 * 1024;

/// A route's own body limit, in request extensions (a route layer puts it there); without
/// one the router's [`crate::HttpConfig::body_limit`] holds, and [`BODY_LIMIT`] outside it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The body limit in force for a request with `extensions` on a router with `state`.
pub(crate) fn body_limit<S: 'static>(extensions: &axum::http::Extensions, state: &S) -> usize {
    extensions.get::<BodyLimit>().map_or_else(
        || crate::AppState::of(state).map_or(BODY_LIMIT, |s| s.cfg.body_limit),
        |l| l.0,
    )
}

/// A decoded form body. Values are zeroized on drop (they include passwords).
#[derive(Default)]
pub struct Form {
    fields: Vec<(String, Zeroizing<String>)>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never show values: they may be passwords or tokens.
        f.debug_list()
            .entries(self.fields.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Form {
    /// Decode a form body strictly (see the module docs).
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut fields = Vec::new();
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let key = decode(k)
                .map_err(|()| ApiError::invalid("form", "a field name is not valid UTF-8"))?;
            let value = decode(v).map_err(|()| {
                ApiError::invalid(key.as_str(), format!("{} is not valid UTF-8", key.as_str()))
            })?;
            fields.push((key.to_string(), value));
        }
        Ok(Self { fields })
    }

    /// Every decoded field, in body order.
    pub fn fields(&self) -> &[(String, Zeroizing<String>)] {
        &self.fields
    }

    /// The value of `name`, if given once. Given twice → 422 (`invalid_ttl` for `ttl`).
    pub fn optional(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        let mut found = self.fields.iter().filter(|(k, _)| k == name);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, v)), None) => Ok(Some(v.as_str())),
            (Some(_), Some(_)) if name == "ttl" => Err(Error::InvalidTtl.into()),
            (Some(_), Some(_)) => Err(ApiError::invalid(
                name,
                format!("{name} is given more than once"),
            )),
        }
    }

    /// Every value of the repeatable field `name`, in body order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The values of `names`, each required exactly once. Every missing or duplicated field
    /// is reported in one 422.
    pub fn required<const N: usize>(
        &self,
        names: [&'static str; N],
    ) -> Result<[&str; N], ApiError> {
        let mut out = [""; N];
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (slot, name) in out.iter_mut().zip(names) {
            match self.optional(name) {
                Ok(Some(v)) => *slot = v,
                Ok(None) => {
                    errors.insert(name.to_owned(), vec![format!("{name} is required")]);
                }
                Err(e) if e.code() != "validation_failed" => return Err(e),
                Err(_) => {
                    errors.insert(
                        name.to_owned(),
                        vec![format!("{name} is given more than once")],
                    );
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(ApiError::fields(errors))
        }
    }
}

/// `+` → space, then percent-decode to bytes, then strict UTF-8.
pub(crate) fn decode(raw: &[u8]) -> Result<Zeroizing<String>, ()> {
    let plus: Zeroizing<Vec<u8>> = Zeroizing::new(
        raw.iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect(),
    );
    let bytes: Vec<u8> = percent_decode(&plus).collect();
    String::from_utf8(bytes).map(Zeroizing::new).map_err(|e| {
        // zeroize what was decoded before refusing it
        let _ = Zeroizing::new(e.into_bytes());
    })
}

fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| {
        t.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

impl<S: Send + Sync + 'static> FromRequest<S> for Form {
    type Rejection = ApiError;

    /// The head is checked before the future is made, and the future holds the body only:
    /// it is part of the future of every handler that takes a form.
    fn from_request(
        req: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send {
        let limit = body_limit(req.extensions(), state);
        let mut types = req.headers().get_all(header::CONTENT_TYPE).iter();
        let form_type = match (types.next(), types.next()) {
            (None, _) => None,
            (Some(v), None) if v.to_str().is_ok_and(is_form) => Some(true),
            _ => Some(false),
        };
        let read = (form_type != Some(false)).then(|| read_limited(req, limit));
        async move {
            let Some(read) = read else {
                return Err(ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            };
            let bytes = Zeroizing::new(read.await?);
            if form_type.is_none() && !bytes.is_empty() {
                return Err(ApiError::from_status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
            }
            Self::parse(&bytes)
        }
    }
}

/// Read the whole body of `req`, at most `limit` bytes (413 past it, also when
/// `Content-Length` announces more; 400 when the body cannot be read). The head of `req`
/// is read and dropped before the future is made: the future holds the body only, and
/// boxes the collecting of a body that is not empty (that future is large, and this one is
/// part of every handler's).
pub(super) fn read_limited(
    req: Request,
    limit: usize,
) -> impl Future<Output = Result<Vec<u8>, ApiError>> + Send {
    let too_large = || ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE);
    let announced_too_large = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let body: Body = req.into_body();
    async move {
        if announced_too_large {
            return Err(too_large());
        }
        if axum::body::HttpBody::is_end_stream(&body) {
            // no body (`Content-Length: 0`, or none): nothing to collect
            return Ok(Vec::new());
        }
        let bytes = Box::pin(axum::body::to_bytes(body, limit))
            .await
            .map_err(|e| {
                if is_length_limit(&e) {
                    too_large()
                } else {
                    ApiError::from_status(StatusCode::BAD_REQUEST)
                }
            })?;
        Ok(bytes.to_vec())
    }
}

fn is_length_limit(e: &axum::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let f = Form::parse(b"a=x+y%20z&b=%C3%A5&c&&d=").unwrap();
        assert_eq!(f.optional("a").unwrap(), Some("x y z"));
        assert_eq!(f.optional("b").unwrap(), Some("å"));
        assert_eq!(f.optional("c").unwrap(), Some(""));
        assert_eq!(f.optional("d").unwrap(), Some(""));
        assert_eq!(f.optional("e").unwrap(), None);
    }

    #[test]
    fn refuses_invalid_utf8_and_duplicates() {
        let e = Form::parse(b"password=%FF%FF").unwrap_err();
        assert_eq!(e.code(), "validation_failed");
        assert!(e.body().errors.unwrap().contains_key("password"));
        assert!(Form::parse(b"password=%ED%A0%80").is_err());
        let f = Form::parse(b"username=a&username=b&ttl=1&ttl=2").unwrap();
        assert_eq!(
            f.optional("username").unwrap_err().code(),
            "validation_failed"
        );
        assert_eq!(f.optional("ttl").unwrap_err().code(), "invalid_ttl");
    }

    #[test]
    fn required_reports_every_missing_field() {
        let f = Form::parse(b"other=1").unwrap();
        let e = f.required(["username", "password"]).unwrap_err();
        let errors = e.body().errors.unwrap();
        assert!(errors.contains_key("username") && errors.contains_key("password"));
    }
}
