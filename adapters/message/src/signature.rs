//! The signing rule of messages: an Ed25519 signature, 128 lowercase hex characters, over
//! the RFC 8785 (JSON Canonicalization Scheme) bytes of the message object without its
//! `signature` field. Canonicalization is done by the `serde_json_canonicalizer` crate.

use serde::Serialize;
use serde_json::Value;

use super::error::MessageError;

/// The order ℓ of the Ed25519 base point, little-endian: a canonical S is below it.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The RFC 8785 canonical bytes of `value` (for a message: the object without
/// `signature`). These are the bytes a signer signs and a verifier checks.
pub fn canonical_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, MessageError> {
    serde_json_canonicalizer::to_vec(value)
        .map_err(|e| MessageError::malformed(format!("cannot canonicalize: {e}")))
}

/// Decode a signature field: a JSON string of exactly 128 lowercase hex characters whose
/// scalar half S is reduced (below ℓ). Upper-case hex is refused so that one signature has
/// one spelling.
pub(crate) fn decode(field: &Value) -> Result<[u8; 64], MessageError> {
    let text = field.as_str().ok_or(MessageError::MalformedSignature)?;
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if text.len() != 128 || !text.bytes().all(lower_hex) {
        return Err(MessageError::MalformedSignature);
    }
    let mut sig = [0u8; 64];
    hex::decode_to_slice(text, &mut sig).map_err(|_| MessageError::MalformedSignature)?;
    if !scalar_is_canonical(&sig[32..]) {
        return Err(MessageError::NonCanonicalSignature);
    }
    Ok(sig)
}

/// Whether the little-endian 32-byte scalar `s` is below the group order ℓ.
fn scalar_is_canonical(s: &[u8]) -> bool {
    for (a, b) in s.iter().rev().zip(GROUP_ORDER.iter().rev()) {
        if a != b {
            return a < b;
        }
    }
    false // equal to ℓ
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_bound_is_the_group_order() {
        let mut s = GROUP_ORDER;
        assert!(!scalar_is_canonical(&s));
        s[0] -= 1;
        assert!(scalar_is_canonical(&s));
        assert!(scalar_is_canonical(&[0u8; 32]));
        assert!(!scalar_is_canonical(&[0xff; 32]));
    }

    #[test]
    fn encodings_are_strict() {
        let ok = "ab".repeat(64);
        // S = 0xabab… is above ℓ (its top byte 0xab > 0x10)
        assert_eq!(
            decode(&Value::String(ok.clone())),
            Err(MessageError::NonCanonicalSignature)
        );
        let ok = format!("{}{}", "ab".repeat(32), "01".repeat(32));
        assert!(decode(&Value::String(ok.clone())).is_ok());
        assert_eq!(
            decode(&Value::String(ok.to_uppercase())),
            Err(MessageError::MalformedSignature)
        );
        assert_eq!(
            decode(&Value::String(ok[2..].to_owned())),
            Err(MessageError::MalformedSignature)
        );
        assert_eq!(
            decode(&Value::String(format!("{ok}00"))),
            Err(MessageError::MalformedSignature)
        );
        assert_eq!(
            decode(&Value::from(1)),
            Err(MessageError::MalformedSignature)
        );
    }

    #[test]
    fn canonical_form_sorts_keys_and_drops_whitespace() {
        let v: Value = serde_json::from_str(r#"{ "b": 1.0, "a": [ "é", 1e2 ] }"#).unwrap();
        assert_eq!(
            canonical_bytes(&v).unwrap(),
            r#"{"a":["é",100],"b":1}"#.as_bytes()
        );
    }
}
