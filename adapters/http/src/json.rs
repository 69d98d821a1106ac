//! The strict JSON extractor of the `/v1/...` routes (the token API and the users API).
//!
//! - Only `application/json` (parameters such as `charset` allowed); any other content type,
//!   or none → 415 `unsupported_media_type`.
//! - The body is read up to the configured limit (16 KiB by default) → 413 past it.
//! - The body must be one JSON object: malformed JSON → 400 `bad_request`; valid JSON that
//!   is not an object → 422 `validation_failed` (`errors.request`).
//! - Unknown members are ignored; a member given twice → 422 with its name; a member of the
//!   wrong type → 422 with its name; a missing required member → 422 with its name (all
//!   missing or mistyped members are reported in one 422). `null` counts as absent.
//!
//! Values are zeroized on drop (they include passwords, codes and tokens).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use zeroize::{Zeroize as _, Zeroizing};

use super::error::ApiError;
use super::form::{body_limit, read_limited};

/// A decoded JSON object body (see the module docs).
#[derive(Default)]
pub struct JsonBody {
    members: Vec<(String, Value)>,
}

impl fmt::Debug for JsonBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never show values: they may be passwords or tokens.
        f.debug_list()
            .entries(self.members.iter().map(|(k, _)| k))
            .finish()
    }
}

impl Drop for JsonBody {
    fn drop(&mut self) {
        for (_, v) in &mut self.members {
            wipe(v);
        }
    }
}

/// Zeroize every string inside `v`.
fn wipe(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe),
        Value::Object(map) => map.values_mut().for_each(wipe),
        _ => {}
    }
}

/// The JSON types the accessors check for, named in error messages.
const STRING: &str = "a string";
const BOOLEAN: &str = "a boolean";
const OBJECT: &str = "an object";

fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::invalid(name, format!("{name} must be {expected}"))
}

impl JsonBody {
    /// Decode a body strictly (see the module docs).
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let parsed = de.deserialize_any(ObjectVisitor).and_then(|o| {
            de.end()?;
            Ok(o)
        });
        match parsed {
            Ok(Ok(members)) => Ok(Self { members }),
            Ok(Err(refusal)) => Err(refusal.into_error()),
            Err(e) if e.is_data() => Err(ApiError::invalid(
                "request",
                "the body must be a JSON object",
            )),
            Err(_) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "the body is not valid JSON",
            )),
        }
    }

    /// The member `name`, if present and not `null`.
    fn get(&self, name: &str) -> Option<&Value> {
        self.members
            .iter()
            .find(|(k, v)| k == name && !v.is_null())
            .map(|(_, v)| v)
    }

    /// The string member `name`, if present. Another type → 422 about `name`.
    pub fn string(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, STRING)),
        }
    }

    /// The boolean member `name`, if present. Another type → 422 about `name`.
    pub fn boolean(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong_type(name, BOOLEAN)),
        }
    }

    /// The object member `name`, if present. Another type → 422 about `name`.
    pub fn object(&self, name: &str) -> Result<Option<&serde_json::Map<String, Value>>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(_) => Err(wrong_type(name, OBJECT)),
        }
    }

    /// The member `name` as an object of booleans (`{"prod": true}`). Another shape → 422.
    pub fn bool_map(&self, name: &str) -> Result<BTreeMap<String, bool>, ApiError> {
        let Some(map) = self.object(name)? else {
            return Ok(BTreeMap::new());
        };
        map.iter()
            .map(|(k, v)| match v {
                Value::Bool(b) => Ok((k.clone(), *b)),
                _ => Err(ApiError::invalid(
                    name,
                    format!("{name}: every value must be true or false"),
                )),
            })
            .collect()
    }

    /// The string members `names`, each required. Every missing or mistyped member is
    /// reported in one 422.
    pub fn required<const N: usize>(
        &self,
        names: [&'static str; N],
    ) -> Result<[&str; N], ApiError> {
        let mut out = [""; N];
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (slot, name) in out.iter_mut().zip(names) {
            match self.get(name) {
                Some(Value::String(s)) => *slot = s,
                None => {
                    errors.insert(name.to_owned(), vec![format!("{name} is required")]);
                }
                Some(_) => {
                    errors.insert(name.to_owned(), vec![format!("{name} must be {STRING}")]);
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

/// Why a syntactically valid body was refused (reported as a 422).
enum Refusal {
    Duplicate(String),
}

impl Refusal {
    fn into_error(self) -> ApiError {
        match self {
            Self::Duplicate(name) => {
                let msg = format!("{name} is given more than once");
                ApiError::invalid(&name, msg)
            }
        }
    }
}

/// Reads the top-level object member by member, so a duplicated member is seen (a map
/// would keep only the last one).
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Result<Vec<(String, Value)>, Refusal>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let mut value: Value = map.next_value()?;
            if members.iter().any(|(k, _)| *k == key) {
                wipe(&mut value);
                for (_, v) in &mut members {
                    wipe(v);
                }
                // Drain the rest so the syntax of the whole body is still checked.
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                return Ok(Err(Refusal::Duplicate(key)));
            }
            members.push((key, value));
        }
        Ok(Ok(members))
    }
}

fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

impl<S: Send + Sync + 'static> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    /// As [`crate::Form`]'s: the head is checked before the future is made.
    fn from_request(
        req: Request,
        state: &S,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send {
        let limit = body_limit(req.extensions(), state);
        let mut types = req.headers().get_all(header::CONTENT_TYPE).iter();
        let json = matches!(
            (types.next(), types.next()),
            (Some(v), None) if v.to_str().is_ok_and(is_json)
        );
        let read = json.then(|| read_limited(req, limit));
        async move {
            let Some(read) = read else {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send application/json",
                ));
            };
            let bytes = Zeroizing::new(read.await?);
            Self::parse(&bytes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_ignores_unknown_ones() {
        let b = JsonBody::parse(br#"{"a":"x","b":true,"c":{"p":true},"n":null,"z":[1]}"#).unwrap();
        assert_eq!(b.string("a").unwrap(), Some("x"));
        assert_eq!(b.boolean("b").unwrap(), Some(true));
        assert_eq!(b.bool_map("c").unwrap().get("p"), Some(&true));
        assert_eq!(b.string("n").unwrap(), None);
        assert_eq!(b.string("missing").unwrap(), None);
        assert_eq!(b.required(["a"]).unwrap(), ["x"]);
    }

    #[test]
    fn wrong_types_and_missing_members_name_the_field() {
        let b = JsonBody::parse(br#"{"a":1,"b":"x","c":{"p":1}}"#).unwrap();
        let e = b.required(["a", "m"]).unwrap_err().body();
        let errors = e.errors.unwrap();
        assert!(errors["a"][0].contains("string") && errors["m"][0].contains("required"));
        assert!(b.boolean("b").unwrap_err().body().errors.unwrap()["b"][0].contains("boolean"));
        assert!(b.bool_map("c").is_err());
        assert!(b.object("a").is_err());
    }

    #[test]
    fn syntax_shape_and_duplicates() {
        for bad in [&b"{"[..], b"", b"{\"a\":}", b"{} x", b"\xff"] {
            assert_eq!(JsonBody::parse(bad).unwrap_err().code(), "bad_request");
        }
        for not_object in [&b"[]"[..], b"1", b"\"s\"", b"null"] {
            let e = JsonBody::parse(not_object).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(e.body().errors.unwrap().contains_key("request"));
        }
        let e = JsonBody::parse(br#"{"username":"a","username":"b"}"#).unwrap_err();
        assert!(e.body().errors.unwrap().contains_key("username"));
        // a duplicate followed by broken syntax is a syntax error
        assert_eq!(
            JsonBody::parse(br#"{"a":"1","a":"2","b":}"#)
                .unwrap_err()
                .code(),
            "bad_request"
        );
    }
}
