//! Bounded JSON parsing of a message and extraction of its fields.
//!
//! The parser refuses what would make the signed bytes ambiguous or the work unbounded:
//! nesting deeper than the policy's limit, a key given twice in one object (serde_json
//! would silently keep the last), and integers outside ±(2^53−1), which RFC 8785 (I-JSON
//! numbers are IEEE doubles) cannot represent exactly. serde_json itself refuses lone
//! surrogates, non-finite numbers and trailing garbage.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use tessera_core::Timestamp;

use super::error::MessageError;

/// The largest integer RFC 8785 (an IEEE double) represents exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// Shortest and longest accepted nonce, in characters.
pub(crate) const NONCE_LEN: std::ops::RangeInclusive<usize> = 16..=64;
/// Longest `type`.
const MAX_TYPE_LEN: usize = 64;
/// Longest `correlationId`.
const MAX_CORRELATION_LEN: usize = 128;
/// The fields a message may have.
const FIELDS: [&str; 7] = [
    "token",
    "type",
    "correlationId",
    "timestamp",
    "nonce",
    "payload",
    "signature",
];

/// Parse `bytes` as one JSON value, at most `max_depth` arrays/objects deep.
pub(crate) fn parse_bounded(bytes: &[u8], max_depth: usize) -> Result<Value, MessageError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Bounded { depth: max_depth }
        .deserialize(&mut de)
        .map_err(|e| MessageError::malformed(e.to_string()))?;
    de.end()
        .map_err(|e| MessageError::malformed(e.to_string()))?;
    Ok(value)
}

/// A seed building a [`Value`] with `depth` levels of nesting left.
#[derive(Clone, Copy)]
struct Bounded {
    depth: usize,
}

impl Bounded {
    fn nested<E: de::Error>(self) -> Result<Self, E> {
        match self.depth.checked_sub(1) {
            Some(depth) => Ok(Self { depth }),
            None => Err(E::custom("nested too deep")),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Bounded {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom("integer outside ±(2^53-1)"));
        }
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom("integer outside ±(2^53-1)"));
        }
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.nested()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicated key {key:?}")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A message's fields, checked for shape (not yet for meaning).
#[derive(Debug)]
pub(crate) struct Fields {
    /// The message object without `signature`: what is signed.
    pub object: Map<String, Value>,
    /// `signature`, when present (still unchecked text).
    pub signature: Option<Value>,
    /// `timestamp`, parsed.
    pub timestamp: Timestamp,
}

/// Check the message object's shape: only known fields; `type`, `correlationId`,
/// `timestamp`, `nonce` and `payload` present and well formed. The token is left to the
/// engine (a missing or non-string token is simply an invalid one).
pub(crate) fn fields(value: Value) -> Result<Fields, MessageError> {
    let Value::Object(mut object) = value else {
        return Err(MessageError::malformed("a message is a JSON object"));
    };
    if let Some(k) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(MessageError::malformed(format!("unknown field {k:?}")));
    }
    let text = |name: &str| object.get(name).and_then(Value::as_str);
    match text("type") {
        Some(t) if !t.is_empty() && t.chars().count() <= MAX_TYPE_LEN => {}
        _ => return Err(MessageError::malformed("type: a string of 1-64 characters")),
    }
    match text("correlationId") {
        Some(c) if !c.is_empty() && c.chars().count() <= MAX_CORRELATION_LEN => {}
        _ => {
            return Err(MessageError::malformed(
                "correlationId: a string of 1-128 characters",
            ));
        }
    }
    match text("nonce") {
        Some(n) if NONCE_LEN.contains(&n.len()) && n.bytes().all(|b| b.is_ascii_graphic()) => {}
        _ => {
            return Err(MessageError::malformed(
                "nonce: 16-64 printable ASCII characters",
            ));
        }
    }
    let timestamp = text("timestamp")
        .and_then(parse_timestamp)
        .ok_or_else(|| MessageError::malformed("timestamp: RFC 3339, e.g. 2026-02-21T15:33:44Z"))?;
    if !object.contains_key("payload") {
        return Err(MessageError::malformed(
            "payload: missing (null is allowed)",
        ));
    }
    let signature = object.remove("signature");
    Ok(Fields {
        object,
        signature,
        timestamp,
    })
}

/// RFC 3339 text (any offset, optional fraction) → whole seconds since the epoch.
fn parse_timestamp(text: &str) -> Option<Timestamp> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| Timestamp(t.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_bounded() {
        assert!(parse_bounded(b"[[[1]]]", 3).is_ok());
        assert!(parse_bounded(b"[[[1]]]", 2).is_err());
        assert!(parse_bounded(b"{\"a\":{\"b\":{}}}", 3).is_ok());
        assert!(parse_bounded(b"{\"a\":{\"b\":{}}}", 2).is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_bounded(deep.as_bytes(), 32).is_err());
    }

    #[test]
    fn duplicate_keys_and_unsafe_integers_are_refused() {
        assert!(parse_bounded(br#"{"a":1,"a":1}"#, 4).is_err());
        assert!(parse_bounded(br#"{"a":{"b":1,"b":2}}"#, 4).is_err());
        assert!(parse_bounded(b"9007199254740991", 4).is_ok());
        assert!(parse_bounded(b"9007199254740992", 4).is_err());
        assert!(parse_bounded(b"-9007199254740992", 4).is_err());
        assert!(parse_bounded(b"1.5e300", 4).is_ok());
        assert!(parse_bounded(b"1e400", 4).is_err());
        assert!(parse_bounded(br#""\ud800""#, 4).is_err());
        assert!(parse_bounded(b"{} x", 4).is_err());
    }

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(
            parse_timestamp("2026-02-21T15:33:44+00:00"),
            Some(Timestamp(1_771_688_024))
        );
        assert_eq!(
            parse_timestamp("2026-02-21T16:33:44.5+01:00"),
            Some(Timestamp(1_771_688_024))
        );
        assert_eq!(parse_timestamp("1771688024"), None);
        assert_eq!(parse_timestamp("2026-02-21 15:33:44"), None);
    }
}
