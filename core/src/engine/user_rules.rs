//! The rules of server-registered users' fields: external ids, email, metadata,
//! environment names and grants. Pure functions; each refusal is a
//! [`Error::Validation`] naming its field.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};

/// Longest external id, in bytes (printable ASCII only).
pub const MAX_EXTERNAL_ID_LEN: usize = 255;
/// Largest metadata object, in bytes of its JSON text.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Longest environment name.
pub const MAX_ENVIRONMENT_LEN: usize = 64;
/// Most environments one user may be granted (and named in one request).
pub const MAX_ENVIRONMENTS: usize = 64;
/// Longest email address.
pub const MAX_EMAIL_LEN: usize = 254;

pub(super) fn invalid(field: &'static str, message: &str) -> Error {
    Error::validation(field, message)
}

/// 1–255 printable ASCII characters, no spaces.
pub(super) fn validate_external_id(id: &str) -> std::result::Result<&str, &'static str> {
    if id.is_empty() || id.len() > MAX_EXTERNAL_ID_LEN || !id.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err("externalId: 1-255 printable ASCII characters, no spaces");
    }
    Ok(id)
}

/// A plausible address: at most 254 characters, one `@` between non-empty parts, no
/// whitespace or control characters. (It is for identification, never sent to.)
pub(super) fn validate_email(email: &str) -> Result<String> {
    let ok = email.chars().count() <= MAX_EMAIL_LEN
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty() && !d.contains('@'));
    if ok {
        Ok(email.to_owned())
    } else {
        Err(invalid(
            "email",
            "email must be an address like name@example.com",
        ))
    }
}

/// The stored text of a metadata object.
pub(super) fn metadata_text(metadata: &serde_json::Value) -> Result<String> {
    if !metadata.is_object() {
        return Err(invalid("metadata", "metadata must be a JSON object"));
    }
    let text = serde_json::to_string(metadata)
        .map_err(|_| invalid("metadata", "metadata must be a JSON object"))?;
    if text.len() > MAX_METADATA_BYTES {
        return Err(invalid("metadata", "metadata must be at most 16 KiB"));
    }
    Ok(text)
}

/// Environment names: 1–64 characters of `A-Z a-z 0-9 . _ : -`; at most 64 per request.
pub(super) fn validate_environments(envs: &BTreeMap<String, bool>) -> Result<()> {
    if envs.len() > MAX_ENVIRONMENTS {
        return Err(invalid(
            "environments",
            "at most 64 environments per request",
        ));
    }
    let bad = |name: &str| {
        name.is_empty()
            || name.len() > MAX_ENVIRONMENT_LEN
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    };
    if envs.keys().any(|k| bad(k)) {
        return Err(invalid(
            "environments",
            "environment names: 1-64 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    Ok(())
}

/// `current` with `changes` applied, sorted.
pub(super) fn apply_grants(
    current: &[String],
    changes: &BTreeMap<String, bool>,
) -> Result<Vec<String>> {
    let mut set: BTreeSet<String> = current.iter().cloned().collect();
    for (env, granted) in changes {
        if *granted {
            set.insert(env.clone());
        } else {
            set.remove(env);
        }
    }
    if set.len() > MAX_ENVIRONMENTS {
        return Err(invalid("environments", "at most 64 environments per user"));
    }
    Ok(set.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_are_bounded_printable_ascii() {
        for ok in [
            "a",
            "auth0|5f7c8ec7c33c6c004bbafe82",
            "google-oauth2:1234",
            &"x".repeat(255),
        ] {
            assert!(validate_external_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", " a", "a b", "é", "a\u{0}", "a\n", &"x".repeat(256)] {
            assert!(validate_external_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn metadata_must_be_a_small_object() {
        assert!(metadata_text(&serde_json::json!({"a": [1, 2]})).is_ok());
        for bad in [
            serde_json::json!([1]),
            serde_json::json!("x"),
            serde_json::json!(null),
        ] {
            assert_eq!(metadata_text(&bad).unwrap_err().field(), Some("metadata"));
        }
        let big = serde_json::json!({ "k": "v".repeat(MAX_METADATA_BYTES) });
        assert!(metadata_text(&big).is_err());
    }

    #[test]
    fn emails_and_environment_names() {
        assert!(validate_email("a@example.com").is_ok());
        for bad in ["", "a", "@x", "a@", "a@b@c", "a b@c", "a@b\n"] {
            assert!(validate_email(bad).is_err(), "{bad:?}");
        }
        let envs = |names: &[&str]| names.iter().map(|n| ((*n).to_owned(), true)).collect();
        assert!(validate_environments(&envs(&["prod", "eu-west.1", "team:a_b"])).is_ok());
        for bad in ["", "a b", "é", &"e".repeat(65)] {
            assert!(validate_environments(&envs(&[bad])).is_err(), "{bad:?}");
        }
        let many: Vec<String> = (0..65).map(|i| format!("e{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(validate_environments(&envs(&many)).is_err());
    }

    #[test]
    fn grants_are_all_or_nothing_per_environment() {
        let current = vec!["prod".to_owned(), "staging".to_owned()];
        let changes = BTreeMap::from([
            ("staging".to_owned(), false),
            ("dev".to_owned(), true),
            ("absent".to_owned(), false),
        ]);
        assert_eq!(
            apply_grants(&current, &changes).unwrap(),
            vec!["dev", "prod"]
        );
        assert_eq!(apply_grants(&current, &BTreeMap::new()).unwrap(), current);
    }
}
