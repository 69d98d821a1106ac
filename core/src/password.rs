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
        let context = [username, self.service_name.as_str()];
        if self.prefix_certifies_strength(&p.0, &context) {
            return Ok(p);
        }
        let entropy = zxcvbn::zxcvbn(&p.0, &context);
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

    /// The fast path for long passwords: `true` only if the full zxcvbn call would reach
    /// `min_score` too (weak passwords always take the full call, so their feedback is
    /// unchanged). zxcvbn's dictionary matcher hashes every substring against seven
    /// dictionaries, once plain, once reversed and once per l33t substitution set: its cost
    /// grows with the cube of the length, so a prefix of about half the length costs about
    /// an eighth.
    ///
    /// Why a strong prefix certifies the whole password (`min_score` at most 3):
    ///
    /// 1. zxcvbn's estimate for a sequence of `l` matches is `l! * prod(guesses) + A(l)`
    ///    with `A(3) = 10^8`, so any password zxcvbn scores below 3 is covered by at most
    ///    two matches `m1 = [0, a]`, `m2 = [a + 1, n - 1]` (`n` capped at 100 code points,
    ///    all zxcvbn reads).
    /// 2. Matches that do not survive truncation (dictionary words incl. reversed, l33t and
    ///    the user inputs, dates, years) are at most `longest` code points long. With the cut
    ///    `c` in `longest..=n - longest`, neither of the two can straddle `c`: only
    ///    bruteforce, sequence, spatial and repeat matches can.
    /// 3. A truncated bruteforce, sequence or spatial match is still one of the same kind,
    ///    with no more guesses (at worst a 2-character bruteforce token, 100 guesses against
    ///    a floor of 50). A truncated repeat is one too when the cut leaves at least two whole
    ///    copies of the base: `cut_is_clean` checks that for every periodic stretch around
    ///    the cut, else the fast path is not taken (`("12345" + word) * 4` cut mid-word would
    ///    otherwise look strong).
    /// 4. So the prefix has a cover costing at most about 2x the whole password's estimate;
    ///    the prefix must reach `PREFIX_MARGIN` (10^3) times the score threshold to certify.
    fn prefix_certifies_strength(&self, password: &str, context: &[&str]) -> bool {
        let Some(threshold) = score_threshold(self.min_score) else {
            return false;
        };
        let chars: Vec<char> = password.chars().take(ZXCVBN_MAX_CHARS).collect();
        let n = chars.len();
        if n < PREFIX_CUTS.start() + LONGEST_DICTIONARY_WORD {
            return false;
        }
        // zxcvbn indexes its lowercased copy with the original's character positions.
        if chars.iter().any(|&c| c.to_lowercase().nth(1).is_some()) {
            return false;
        }
        let longest = context
            .iter()
            .map(|s| s.chars().flat_map(char::to_lowercase).count())
            .fold(LONGEST_DICTIONARY_WORD, usize::max);
        let regions = periodic_regions(&chars);
        let Some(cut) = PREFIX_CUTS
            .filter(|&c| c >= longest && c + longest <= n)
            .find(|&c| cut_is_clean(&regions, c))
        else {
            return false;
        };
        let prefix: String = chars[..cut].iter().collect();
        zxcvbn::zxcvbn(&prefix, context).guesses() >= threshold.saturating_mul(PREFIX_MARGIN)
    }
}

/// zxcvbn reads only the first 100 code points.
const ZXCVBN_MAX_CHARS: usize = 100;
/// The longest word in zxcvbn 3's dictionaries ("verwaltungsgemeinschaft"); longer than any
/// date (10) or year (4) token.
const LONGEST_DICTIONARY_WORD: usize = 23;
/// Prefix lengths tried, shortest (cheapest) first.
const PREFIX_CUTS: std::ops::RangeInclusive<usize> = 32..=64;
/// How far above the threshold a prefix must score to certify the whole password.
const PREFIX_MARGIN: u64 = 1_000;

/// The fewest guesses zxcvbn gives `min_score` (its `calculate_score`); `None` for 4, where
/// three matches can still score below the threshold and the argument above fails.
fn score_threshold(min_score: u8) -> Option<u64> {
    const DELTA: u64 = 5;
    match min_score {
        0 => Some(0),
        1 => Some(1_000 + DELTA),
        2 => Some(1_000_000 + DELTA),
        3 => Some(100_000_000 + DELTA),
        _ => None,
    }
}

/// A maximal stretch `start..=end` of `chars` with period `period`, at least two periods long
/// (where zxcvbn may find a repeat match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Region {
    period: usize,
    start: usize,
    end: usize,
}

/// Every periodic stretch, without the ones that only restate a shorter period over the same
/// span (`abab..` has period 2 and 4 over the same stretch).
fn periodic_regions(chars: &[char]) -> Vec<Region> {
    let n = chars.len();
    let mut all = Vec::new();
    for period in 1..=n / 2 {
        let mut k = 0;
        while k + period < n {
            if chars[k] != chars[k + period] {
                k += 1;
                continue;
            }
            let start = k;
            while k + period < n && chars[k] == chars[k + period] {
                k += 1;
            }
            let end = k - 1 + period;
            if end + 1 - start >= 2 * period {
                all.push(Region { period, start, end });
            }
        }
    }
    all.iter()
        .copied()
        .filter(|r| {
            !all.iter().any(|q| {
                q.period < r.period
                    && r.period.is_multiple_of(q.period)
                    && q.start == r.start
                    && q.end == r.end
            })
        })
        .collect()
}

/// No repeat zxcvbn could find is cut mid-copy: every periodic stretch around `cut` starts a
/// whole number (at least two) of periods before it, and no other stretch overlaps its start
/// (so zxcvbn's left-to-right repeat scan starts its match there).
fn cut_is_clean(regions: &[Region], cut: usize) -> bool {
    regions
        .iter()
        .filter(|r| r.start < cut && cut <= r.end)
        .all(|r| {
            let whole = cut - r.start;
            whole.is_multiple_of(r.period)
                && whole >= 2 * r.period
                && !regions
                    .iter()
                    .any(|q| q.start < r.start && r.start <= q.end)
        })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

    /// Whether the prefix certifies `pw` and whether the full zxcvbn call passes it.
    fn verdicts(policy: &PasswordPolicy, pw: &str, username: &str) -> (bool, bool) {
        let pw: String = pw.nfkc().collect();
        let context = [username, policy.service_name.as_str()];
        let fast = policy.prefix_certifies_strength(&pw, &context);
        let full = u8::from(zxcvbn::zxcvbn(&pw, &context).score()) >= policy.min_score;
        (fast, full)
    }

    fn long(unit: &str) -> String {
        unit.chars().cycle().take(128).collect()
    }

    /// Weak bases and long cheap patterns, repeated or joined so that their edges fall all
    /// over the prefix cuts.
    const WEAK_UNITS: &[&str] = &[
        "a",
        "password",
        "password1",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "abcdefghijklmnopqrstuvwxyz",
        "zyxwvutsrqponmlkjihgfedcba",
        "0123456789",
        "19851231",
        "12/31/1985",
        "alice",
        "alicetessera",
        "tessera2024",
        "verwaltungsgemeinschaft",
        "pricewaterhousecoopers",
        "nemvxyheqdd5oqxyxyzi",
        "12345nemvxyheqdd5oqxyxyzi",
        "abcdenemvxyheqdd5oqxyxyzi",
        "monkeydragon",
        "Tr0ub4dor",
        "p@ssw0rd",
    ];

    /// Each weak unit over 128 code points, joined to others at edges around the cuts, and
    /// placed across the cuts inside a repeat; `thorough` tries every pair and edge.
    fn adversarial_cases(thorough: bool) -> Vec<(String, &'static str)> {
        let mut cases: Vec<(String, &'static str)> = vec![
            (long("gY8$kP2@wQ5!zN7&"), "alice"),
            ("a".repeat(128), "alice"),
            // strong-looking prefix, weak rest; weak prefix, strong rest
            (
                format!("{}{}", "Xq7!vT2#mL9@pR4$Hb6^", "a".repeat(108)),
                "alice",
            ),
            (
                format!("{}{}", "a".repeat(60), long("Xq7!vT2#mL9@pR4$")),
                "alice",
            ),
            (
                format!(
                    "{}{}",
                    long("password").get(..60).unwrap(),
                    long("Hb6^cW1*eJ8-nZ3+")
                ),
                "alice",
            ),
            // the username, long or repeated
            (long("xk7qpzvw3mr9tb2n"), "xk7qpzvw3mr9tb2n"),
            (
                long("xk7qpzvw3mr9tb2nhy4ls8dc6gf0"),
                "xk7qpzvw3mr9tb2nhy4ls8dc6gf0",
            ),
            (long("alicealicealice1"), "alicealicealice"),
            (
                format!(
                    "{}{}",
                    "ab".repeat(10),
                    long("xk7qpzvw3mr9tb2nhy4ls8dc6gf0jw5")
                ),
                "xk7qpzvw3mr9tb2nhy4ls8dc6gf0jw5",
            ),
            // keyboard walks and dates
            (long("qwertyuiopoiuytrewq"), "alice"),
            (long("1qaz2wsx3edc4rfv5tgb"), "alice"),
            (long("2024-01-31"), "alice"),
            (long("19700101"), "alice"),
            (
                "correct horse battery staple purple monkey dishwasher".repeat(2),
                "alice",
            ),
        ];
        let edges = [23, 31, 32, 33, 40, 47, 48, 49, 56, 63, 64, 65, 77];
        for (i, unit) in WEAK_UNITS.iter().enumerate() {
            cases.push((long(unit), "alice"));
            for (j, other) in WEAK_UNITS.iter().enumerate() {
                for (k, &edge) in edges.iter().enumerate() {
                    if !thorough && (j + k) % 7 != i % 7 {
                        continue;
                    }
                    let head: String = unit.chars().cycle().take(edge).collect();
                    let tail: String = other.chars().cycle().take(128 - edge).collect();
                    cases.push((head + &tail, "alice"));
                }
            }
            // a dictionary word straddling each cut inside a repeat
            for at in (20..70).step_by(if thorough { 1 } else { 7 }) {
                let mut pw: String = "Zq".repeat(at / 2 + 1).chars().take(at).collect();
                pw.push_str(unit);
                pw.push_str(&"Zq".repeat(64));
                cases.push((pw.chars().take(128).collect(), "alice"));
            }
        }
        cases
    }

    fn assert_fast_path_sound(thorough: bool) {
        let policy = PasswordPolicy::default();
        let cases = adversarial_cases(thorough);
        let mut fast = 0;
        for (pw, user) in &cases {
            let (f, full) = verdicts(&policy, pw, user);
            assert!(
                !f || full,
                "the prefix certified a password zxcvbn refuses: {pw:?}"
            );
            fast += usize::from(f);
        }
        // not vacuous: the fast path does fire
        assert!(fast >= 3, "fast path taken {fast} times");
        assert!(verdicts(&policy, &long("gY8$kP2@wQ5!zN7&"), "alice").0);
    }

    #[test]
    fn prefix_fast_path_never_accepts_what_zxcvbn_refuses() {
        assert_fast_path_sound(false);
    }

    /// Every pair and edge (~6,000 zxcvbn calls): `cargo test -p tessera-core --release --lib
    /// -- --ignored prefix_fast_path`.
    #[test]
    #[ignore = "slow; run in release"]
    fn prefix_fast_path_never_accepts_what_zxcvbn_refuses_thorough() {
        assert_fast_path_sound(true);
    }

    /// Why a plain prefix is not enough: cut mid-copy, a repeated weak unit looks strong.
    #[test]
    fn a_prefix_cut_mid_copy_is_refused() {
        let policy = PasswordPolicy::default();
        let pw = long("12345nemvxyheqdd5oqxyxyzi");
        let context = ["alice", "tessera"];
        assert!(zxcvbn::zxcvbn(&pw, &context).score() < zxcvbn::Score::Three);
        let naive: String = pw.chars().take(48).collect();
        assert!(
            zxcvbn::zxcvbn(&naive, &context).guesses()
                >= score_threshold(3).unwrap() * PREFIX_MARGIN
        );
        let regions = periodic_regions(&pw.chars().take(100).collect::<Vec<_>>());
        assert!(!cut_is_clean(&regions, 48));
        assert!(cut_is_clean(&regions, 50));
        assert!(!policy.prefix_certifies_strength(&pw, &context));
        assert!(matches!(
            policy.check(&pw, "alice"),
            Err(Error::WeakPassword { .. })
        ));
    }

    #[test]
    fn periodic_regions_keep_primitive_periods() {
        let chars: Vec<char> = "xabababy".chars().collect();
        assert_eq!(
            periodic_regions(&chars),
            vec![Region {
                period: 2,
                start: 1,
                end: 6
            }]
        );
        let chars: Vec<char> = "gY8$kP2@wQ5!zN7&".repeat(4).chars().collect();
        assert_eq!(
            periodic_regions(&chars),
            vec![Region {
                period: 16,
                start: 0,
                end: 63
            }]
        );
    }

    #[test]
    fn weak_long_passwords_keep_their_feedback() {
        let policy = PasswordPolicy::default();
        for pw in [long("password"), long("qwertyuiop"), "a".repeat(128)] {
            let e = policy.check(&pw, "alice").unwrap_err();
            let full = zxcvbn::zxcvbn(&pw, &["alice", "tessera"]);
            let f = full.feedback().expect("feedback");
            let mut want: Vec<String> = f.warning().map(|w| w.to_string()).into_iter().collect();
            want.extend(f.suggestions().iter().map(ToString::to_string));
            assert!(matches!(e, Error::WeakPassword { feedback } if feedback == want));
        }
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(WEAK_UNITS).prop_map(str::to_owned),
            "[a-zA-Z0-9#^~]{1,12}",
            prop::sample::select(&["alice", "tessera", "2019", " ", "-", "!"][..])
                .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn prefix_fast_path_agrees_with_zxcvbn(
            pieces in prop::collection::vec(piece(), 1..8),
            repeats in 1usize..6,
        ) {
            let unit: String = pieces.concat();
            let pw: String = unit.repeat(repeats).chars().take(128).collect();
            prop_assume!(pw.chars().count() >= 15);
            let (fast, full) = verdicts(&PasswordPolicy::default(), &pw, "alice");
            prop_assert!(!fast || full, "{:?}", pw);
        }
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
