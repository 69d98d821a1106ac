//! The field rules and bounds of directories: names, short names, meta, page sizes.
//!
//! Short names are canonicalised like usernames, before any lookup: NFKC, then lowercase;
//! the result must be 2–32 of `a-z 0-9 -`, starting and ending with a letter or digit. So
//! `ACME` and full-width `ａｃｍｅ` are the short name `acme`, and a look-alike such as
//! Cyrillic `аcme` is refused rather than registered beside it.

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Longest directory name, and longest given or family name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Shortest canonical short name.
pub const MIN_SHORT_NAME: usize = 2;
/// Longest canonical short name.
pub const MAX_SHORT_NAME: usize = 32;
/// Largest directory or member meta (a JSON object's text), in bytes.
pub const MAX_META_BYTES: usize = 4096;
/// Most members one page of a listing may ask for.
pub const MAX_PAGE: usize = 500;
/// Members per page when none is asked for.
pub const DEFAULT_PAGE: usize = 100;
/// Most profile ids one `directory-profiles-info` call may ask for.
pub const MAX_PROFILES_PER_CALL: usize = 100;
/// Lifetime of an invitation, in seconds (7 days).
pub const INVITATION_TTL_SECS: u64 = 7 * 86_400;
/// Short-name input longer than this (in bytes) is refused before any normalisation work.
const MAX_SHORT_NAME_INPUT: usize = 128;

/// Bounds of directories, configurable in [`crate::EngineConfig::directories`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryLimits {
    /// Most directories one user may own (default 20).
    pub owned_per_profile: usize,
    /// Most directories one profile may be a member of, owned ones included (default 200).
    pub memberships_per_profile: usize,
    /// Most live invitations one directory may have pending (default 1000).
    pub pending_invitations: usize,
}

impl Default for DirectoryLimits {
    fn default() -> Self {
        Self {
            owned_per_profile: 20,
            memberships_per_profile: 200,
            pending_invitations: 1000,
        }
    }
}

impl DirectoryLimits {
    /// Every bound must be 1–100 000 (the builder checks).
    pub fn validate(&self) -> Result<()> {
        let ok = |n: usize| (1..=100_000).contains(&n);
        if ok(self.owned_per_profile)
            && ok(self.memberships_per_profile)
            && ok(self.pending_invitations)
            && self.owned_per_profile <= self.memberships_per_profile
        {
            Ok(())
        } else {
            Err(Error::Config(
                "directory limits must be 1-100000, owned_per_profile <= memberships_per_profile"
                    .into(),
            ))
        }
    }
}

/// The canonical form of a directory short name, or why it is refused
/// (`validation_failed` on `directoryShortName`).
pub fn canonical_short_name(raw: &str) -> Result<String> {
    let refuse = |why: &str| {
        Err(Error::validation(
            "directoryShortName",
            format!("directoryShortName {why}"),
        ))
    };
    if raw.len() > MAX_SHORT_NAME_INPUT {
        return refuse("must be at most 32 characters");
    }
    let canonical: String = raw.nfkc().flat_map(char::to_lowercase).collect();
    let len = canonical.chars().count();
    if len < MIN_SHORT_NAME {
        return refuse("must be at least 2 characters");
    }
    if len > MAX_SHORT_NAME {
        return refuse("must be at most 32 characters");
    }
    if !canonical
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return refuse("may contain only a-z, 0-9 and -");
    }
    if canonical.starts_with('-') || canonical.ends_with('-') {
        return refuse("must start and end with a letter or digit");
    }
    Ok(canonical)
}

/// A display name: 1–100 characters (`min_chars` 0 lets it be empty, → `None`), no control
/// characters, not only white space.
pub fn name(field: &'static str, raw: &str, min_chars: usize) -> Result<Option<String>> {
    let refuse = || {
        Err(Error::validation(
            field,
            format!(
                "{field} must be {min_chars}-{MAX_NAME_CHARS} characters, without control \
                 characters"
            ),
        ))
    };
    if raw.len() > MAX_NAME_CHARS * 4 {
        return refuse();
    }
    let chars = raw.chars().count();
    if chars < min_chars || chars > MAX_NAME_CHARS || raw.chars().any(char::is_control) {
        return refuse();
    }
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.trim().is_empty() {
        return refuse();
    }
    Ok(Some(raw.to_owned()))
}

/// Meta: a JSON object of at most 4 KiB; returns its compact text.
pub fn meta(field: &'static str, raw: &str) -> Result<String> {
    let too_large = || Error::validation(field, format!("{field} must be at most 4096 bytes"));
    if raw.len() > MAX_META_BYTES {
        return Err(too_large());
    }
    let parsed: serde_json::Value = serde_json::from_str(raw)
        .map_err(|_| Error::validation(field, format!("{field} must be a JSON object")))?;
    if !parsed.is_object() {
        return Err(Error::validation(
            field,
            format!("{field} must be a JSON object"),
        ));
    }
    let text = parsed.to_string();
    if text.len() > MAX_META_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// A page size: 1–500, 100 when not given.
pub fn page_size(limit: Option<usize>) -> Result<usize> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(Error::validation("limit", "limit must be 1-500")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn short_names_fold_case_and_width_and_refuse_look_alikes() {
        for v in ["acme", "ACME", "ａｃｍｅ", "Acme"] {
            assert_eq!(canonical_short_name(v).unwrap(), "acme", "{v}");
        }
        assert_eq!(canonical_short_name("a1-b2").unwrap(), "a1-b2");
        assert_eq!(canonical_short_name("ab").unwrap(), "ab");
        assert_eq!(canonical_short_name(&"a".repeat(32)).unwrap().len(), 32);
        for v in [
            "",
            "a",
            "\u{430}cme",
            "acm\u{435}",
            "ac me",
            "ac_me",
            "ac.me",
            "-acme",
            "acme-",
            "acme\u{200b}",
            "\u{feff}acme",
            "ac\u{202e}me",
            "acme\0",
        ] {
            assert!(canonical_short_name(v).is_err(), "{v:?} accepted");
        }
        assert!(canonical_short_name(&"a".repeat(33)).is_err());
        assert!(canonical_short_name(&"a".repeat(1 << 16)).is_err());
        let e = canonical_short_name("x").unwrap_err();
        assert_eq!(e.field(), Some("directoryShortName"));
    }

    #[test]
    fn names_and_meta_at_and_over_their_limits() {
        assert!(
            name("directoryName", &"é".repeat(100), 1)
                .unwrap()
                .is_some()
        );
        assert!(name("directoryName", &"é".repeat(101), 1).is_err());
        assert!(name("directoryName", "", 1).is_err());
        assert_eq!(name("givenName", "", 0).unwrap(), None);
        assert!(name("givenName", "   ", 0).is_err());
        assert!(name("givenName", "a\nb", 0).is_err());
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(MAX_META_BYTES - 8));
        assert_eq!(big.len(), MAX_META_BYTES);
        assert_eq!(meta("meta", &big).unwrap(), big);
        let over = format!("{{\"k\":\"{}\"}}", "x".repeat(MAX_META_BYTES - 7));
        assert!(meta("meta", &over).is_err());
        for v in ["[]", "1", "\"x\"", "null", "{", "", "{\"a\":1}x"] {
            assert!(meta("meta", v).is_err(), "{v}");
        }
        assert_eq!(meta("meta", "{ \"a\" : 1 }").unwrap(), "{\"a\":1}");
        let deep = format!("{}{}", "{\"a\":".repeat(600), "}".repeat(600));
        assert!(meta("meta", &deep).is_err());
        assert_eq!(page_size(None).unwrap(), 100);
        assert_eq!(page_size(Some(500)).unwrap(), 500);
        assert!(page_size(Some(501)).is_err() && page_size(Some(0)).is_err());
    }

    proptest! {
        #[test]
        fn short_name_canonicalisation_is_idempotent(s in "\\PC{0,40}") {
            if let Ok(c) = canonical_short_name(&s) {
                prop_assert_eq!(canonical_short_name(&c).unwrap(), c);
            }
        }
    }
}
