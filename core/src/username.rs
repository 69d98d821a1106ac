//! Usernames: one canonical form, computed before any lookup.
//!
//! NFKC, then lowercase; the result must be 3–64 characters of `a-z 0-9 . _ - @ +`, starting
//! with a letter or digit. Because the accepted alphabet is ASCII, canonicalisation is
//! idempotent: `canonicalize(canonicalize(x)) == canonicalize(x)`.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Shortest canonical username.
pub const MIN_LEN: usize = 3;
/// Longest canonical username.
pub const MAX_LEN: usize = 64;
/// Input longer than this (in bytes) is refused before any normalisation work.
const MAX_INPUT_BYTES: usize = 256;

/// A canonical username (NFKC, lowercase, validated).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    /// Canonicalise and validate `raw`.
    pub fn parse(raw: &str) -> Result<Self> {
        canonicalize(raw).map(Self)
    }

    /// Wrap a string already known to be canonical (read back from a store).
    /// It is re-validated; a non-canonical value is an error.
    pub fn from_canonical(s: String) -> Result<Self> {
        let c = canonicalize(&s)?;
        if c == s {
            Ok(Self(s))
        } else {
            Err(Error::InvalidUsername("not in canonical form"))
        }
    }

    /// The canonical text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn allowed(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@' | '+')
}

/// The canonical form of `raw`, or why it is not a valid username.
pub fn canonicalize(raw: &str) -> Result<String> {
    if raw.is_empty() {
        return Err(Error::InvalidUsername("must not be empty"));
    }
    if raw.len() > MAX_INPUT_BYTES {
        return Err(Error::InvalidUsername("must be at most 64 characters"));
    }
    let canonical: String = raw.nfkc().flat_map(char::to_lowercase).collect();
    let len = canonical.chars().count();
    if len < MIN_LEN {
        return Err(Error::InvalidUsername("must be at least 3 characters"));
    }
    if len > MAX_LEN {
        return Err(Error::InvalidUsername("must be at most 64 characters"));
    }
    if !canonical.chars().all(allowed) {
        return Err(Error::InvalidUsername(
            "may contain only a-z, 0-9 and . _ - @ +",
        ));
    }
    if !canonical
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        return Err(Error::InvalidUsername("must start with a letter or digit"));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_and_width_fold_to_one_account() {
        for v in ["Alice", "alice", "ALICE", "ａｌｉｃｅ"] {
            assert_eq!(canonicalize(v).unwrap(), "alice", "{v}");
        }
        assert_eq!(canonicalize("ᴮᴵᴳᴮᴵᴿᴰ").unwrap(), "bigbird");
    }

    #[test]
    fn lookalikes_and_invisible_characters_are_refused() {
        for v in [
            "",
            "   ",
            "ab",
            "alice\u{200b}",
            "\u{feff}alice",
            "p\u{430}ypal",
            "ali ce",
            " alice",
            "alice\0",
            "al\u{202e}ice",
            "a\nFAKE",
            ".alice",
            "_alice",
        ] {
            assert!(canonicalize(v).is_err(), "{v:?} accepted");
        }
        assert!(canonicalize(&"a".repeat(65)).is_err());
        assert!(canonicalize(&"a".repeat(1 << 20)).is_err());
        assert_eq!(canonicalize(&"a".repeat(64)).unwrap().len(), 64);
        assert_eq!(
            canonicalize("bob+x@example.com").unwrap(),
            "bob+x@example.com"
        );
    }

    #[test]
    fn from_canonical_refuses_non_canonical() {
        assert!(Username::from_canonical("alice".into()).is_ok());
        assert!(Username::from_canonical("Alice".into()).is_err());
    }

    proptest! {
        #[test]
        fn canonicalisation_is_idempotent(s in "\\PC{0,80}") {
            if let Ok(c) = canonicalize(&s) {
                prop_assert_eq!(canonicalize(&c).unwrap(), c);
            }
        }

        #[test]
        fn canonicalisation_never_panics(s in any::<String>()) {
            let _ = canonicalize(&s);
        }
    }
}
