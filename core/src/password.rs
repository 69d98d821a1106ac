//! Passwords: the secret newtype and the policy every new password passes.
//!
//! One normalisation (NFKC) applied everywhere; length counted in code points; no control
//! characters, NUL or U+FFFD; zxcvbn score with the username and service name as context.
//! No composition rules.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A password, NFKC-normalised. Zeroized on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Normalise `raw` (NFKC) without any policy check: for logins, where the stored hash
    /// decides. Returns `None` for input longer than `max_len` code points (checked on the
    /// byte length first, so a 1 MiB password costs nothing).
    #[must_use]
    pub fn for_login(raw: &str, max_len: usize) -> Option<Self> {
        if raw.len() > max_len.saturating_mul(4) {
            return None;
        }
        let p = Self(Zeroizing::new(raw.nfkc().collect()));
        (p.0.chars().count() <= max_len).then_some(p)
    }

    /// The normalised bytes, to hash.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The normalised text.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Rules for new passwords (register, change, reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in code points (default 15).
    pub min_len: usize,
    /// Maximum length in code points (default 128).
    pub max_len: usize,
    /// Minimum zxcvbn score, 0–4 (default 3).
    pub min_score: u8,
    /// Service name, given to zxcvbn as context.
    pub service_name: String,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_len: 15,
            max_len: 128,
            min_score: 3,
            service_name: "tessera".to_owned(),
        }
    }
}

impl PasswordPolicy {
    /// Check the policy's own consistency.
    pub fn validate(&self) -> Result<()> {
        if self.min_len < 8 || self.min_len > self.max_len || self.max_len > 1024 {
            return Err(Error::Config(
                "password lengths must satisfy 8 <= min_len <= max_len <= 1024".into(),
            ));
        }
        if self.min_score > 4 {
            return Err(Error::Config("password min_score is 0-4".into()));
        }
        Ok(())
    }

    /// Normalise and check a new password for `username`.
    pub fn check(&self, raw: &str, username: &str) -> Result<Password> {
        if raw.len() > self.max_len.saturating_mul(4) {
            return Err(Error::PasswordTooLong { max: self.max_len });
        }
        if raw.chars().any(|c| c.is_control() || c == '\u{fffd}') {
            return Err(Error::validation(
                "password",
                "the password must not contain control characters, NUL or U+FFFD",
            ));
        }
        let p = Password(Zeroizing::new(raw.nfkc().collect()));
        if p.0.chars().any(|c| c.is_control() || c == '\u{fffd}') {
            return Err(Error::validation(
                "password",
                "the password must not contain control characters, NUL or U+FFFD",
            ));
        }
        let n = p.0.chars().count();
        if n < self.min_len {
            return Err(Error::PasswordTooShort { min: self.min_len });
        }
        if n > self.max_len {
            return Err(Error::PasswordTooLong { max: self.max_len });
        }
        let entropy = zxcvbn::zxcvbn(&p.0, &[username, &self.service_name]);
        if u8::from(entropy.score()) < self.min_score {
            let mut feedback = Vec::new();
            if let Some(f) = entropy.feedback() {
                if let Some(w) = f.warning() {
                    feedback.push(w.to_string());
                }
                feedback.extend(f.suggestions().iter().map(ToString::to_string));
            }
            if feedback.is_empty() {
                feedback.push("Add another word or two. Uncommon words are better.".to_owned());
            }
            return Err(Error::WeakPassword { feedback });
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "correct horse battery staple";

    fn check(pw: &str) -> Result<Password> {
        PasswordPolicy::default().check(pw, "alice")
    }

    #[test]
    fn length_is_counted_in_code_points() {
        assert!(matches!(
            check("Xq7!vT2#mL9@pR4"[..14].as_ref()),
            Err(Error::PasswordTooShort { min: 15 })
        ));
        check("Xq7!vT2#mL9@pR4").unwrap();
        // 15 emoji are 15 code points (60 bytes)
        check("🐎🦊🐙🦉🐝🐢🦀🐬🦄🐧🐸🦒🐼🦔🐌").unwrap();
        let long: String = "gY8$kP2@wQ5!zN7&".repeat(8);
        assert_eq!(long.chars().count(), 128);
        check(&long).unwrap();
        let mut too_long = long.clone();
        too_long.push('x');
        assert!(matches!(
            check(&too_long),
            Err(Error::PasswordTooLong { max: 128 })
        ));
        assert!(matches!(
            check(&"a".repeat(1 << 20)),
            Err(Error::PasswordTooLong { .. })
        ));
    }

    #[test]
    fn control_characters_and_replacement_are_refused() {
        for bad in [
            "correct horse\0battery staple",
            "correct horse\u{1}battery staple",
            "correct horse\u{fffd}battery staple",
            "correct horse\nbattery staple",
        ] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.code(), "validation_failed");
            assert_eq!(e.field(), Some("password"));
        }
    }

    #[test]
    fn weak_passwords_carry_feedback_and_context() {
        let e = check("password12345678").unwrap_err();
        assert!(
            matches!(&e, Error::WeakPassword { feedback } if !feedback.is_empty()),
            "{e:?}"
        );
        // username-derived
        let e = PasswordPolicy::default()
            .check("alicealicealice1", "alicealicealice")
            .unwrap_err();
        assert_eq!(e.code(), "weak_password");
        // no composition rules: a lowercase passphrase is fine
        check(STRONG).unwrap();
        check("correct horse 🐎 staple").unwrap();
    }

    #[test]
    fn nfkc_applies_to_login_and_registration_alike() {
        let a = check("Ångström-vibrations-9173").unwrap();
        let b = Password::for_login("\u{212b}ngström-vibrations-9173", 128).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        assert!(Password::for_login(&"a".repeat(1 << 20), 128).is_none());
    }

    #[test]
    fn debug_redacts() {
        let p = check(STRONG).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn policy_validates() {
        assert!(PasswordPolicy::default().validate().is_ok());
        let bad = PasswordPolicy {
            min_len: 20,
            max_len: 10,
            ..PasswordPolicy::default()
        };
        assert!(bad.validate().is_err());
    }
}
