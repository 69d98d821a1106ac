//! Opaque tokens: a kind prefix, 32 random bytes, base64url without padding.
//!
//! Only the SHA-256 digest of a token's text is ever stored; the token itself lives in a
//! [`Token`], which zeroizes on drop and redacts itself in `Debug`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};
use crate::random::{self, Random};

/// Number of random bytes in every token.
pub const TOKEN_BYTES: usize = 32;
/// Length of the base64url text of [`TOKEN_BYTES`] bytes.
const BODY_LEN: usize = 43;
/// Length of a whole token: 4-character prefix plus body.
pub const TOKEN_LEN: usize = 4 + BODY_LEN;

/// What a token is for; each kind has its own prefix so they cannot be mixed up.
///
/// Only [`TokenKind::Authorization`] tokens pass [`crate::Engine::verify`]; every other kind
/// is stored in the same table (by digest, with an owner and an expiry) but is accepted only
/// by the one operation it exists for. New kinds are appended: [`TokenKind::tag`] values are
/// part of the stored layouts and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `tsa_`: authorization token (`X-DPT-AUTHORIZATION`), also the token API's access token.
    Authorization,
    /// `tsr_`: refresh token (token API), single use: rotation turns it into
    /// [`TokenKind::RefreshUsed`].
    Refresh,
    /// `tsq_`: device onboarding QR token.
    Qr,
    /// `tsk_`: server API key.
    ApiKey,
    /// A refresh token already rotated. Kept until its original expiry only so that
    /// presenting it again is recognised as reuse (which revokes its family). Never issued:
    /// its text was a `tsr_` token.
    RefreshUsed,
    /// A password-reset confirmation code (8 characters, no prefix; see
    /// [`TokenDigest::of_reset_code`]). Single use, 10 minutes.
    ResetCode,
    /// `tss_`: the session of a NEW_PASSWORD_REQUIRED challenge. Single use, 5 minutes.
    Session,
    /// `tso_`: an OAuth access token (Bearer at `/oauth2/userinfo`, introspection). Its
    /// family is the [`crate::store::OAuthGrantRecord`] it was issued under.
    OAuthAccess,
    /// `tsf_`: an OAuth refresh token, single use: rotation turns it into
    /// [`TokenKind::OAuthRefreshUsed`]. Family: its grant.
    OAuthRefresh,
    /// An OAuth refresh token already rotated, kept until its expiry to detect reuse.
    OAuthRefreshUsed,
    /// `tsc_`: an OAuth authorization code, single use, 60 s. Family: its grant. Exchanging
    /// it turns it into [`TokenKind::OAuthCodeUsed`].
    OAuthCode,
    /// An authorization code already exchanged, kept until its expiry so that a second
    /// exchange is recognised (and revokes what the first one issued).
    OAuthCodeUsed,
    /// `tsb_`: a browser session of the login, consent and account pages (cookie).
    Browser,
}

impl TokenKind {
    /// Every kind, in tag order.
    pub const ALL: [Self; 13] = [
        Self::Authorization,
        Self::Refresh,
        Self::Qr,
        Self::ApiKey,
        Self::RefreshUsed,
        Self::ResetCode,
        Self::Session,
        Self::OAuthAccess,
        Self::OAuthRefresh,
        Self::OAuthRefreshUsed,
        Self::OAuthCode,
        Self::OAuthCodeUsed,
        Self::Browser,
    ];

    /// The 4-character prefix of this kind (empty for [`TokenKind::ResetCode`]).
    #[must_use]
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::Authorization => "tsa_",
            Self::Refresh => "tsr_",
            Self::Qr => "tsq_",
            Self::ApiKey => "tsk_",
            Self::RefreshUsed => "tsr_",
            Self::ResetCode => "",
            Self::Session => "tss_",
            Self::OAuthAccess => "tso_",
            Self::OAuthRefresh | Self::OAuthRefreshUsed => "tsf_",
            Self::OAuthCode | Self::OAuthCodeUsed => "tsc_",
            Self::Browser => "tsb_",
        }
    }

    /// Stable one-byte tag used by the storage layouts.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::Authorization => 1,
            Self::Refresh => 2,
            Self::Qr => 3,
            Self::ApiKey => 4,
            Self::RefreshUsed => 5,
            Self::ResetCode => 6,
            Self::Session => 7,
            Self::OAuthAccess => 8,
            Self::OAuthRefresh => 9,
            Self::OAuthRefreshUsed => 10,
            Self::OAuthCode => 11,
            Self::OAuthCodeUsed => 12,
            Self::Browser => 13,
        }
    }

    /// The kind a single-use token becomes when it is spent
    /// ([`crate::store::TokenStore::spend_token`]): refresh tokens and authorization codes.
    #[must_use]
    pub const fn spent(self) -> Option<Self> {
        match self {
            Self::Refresh => Some(Self::RefreshUsed),
            Self::OAuthRefresh => Some(Self::OAuthRefreshUsed),
            Self::OAuthCode => Some(Self::OAuthCodeUsed),
            _ => None,
        }
    }

    /// Whether this kind is what a spendable kind becomes once spent.
    #[must_use]
    pub const fn is_spent(self) -> bool {
        matches!(
            self,
            Self::RefreshUsed | Self::OAuthRefreshUsed | Self::OAuthCodeUsed
        )
    }

    /// Inverse of [`TokenKind::tag`].
    #[must_use]
    pub const fn from_tag(tag: u8) -> Option<Self> {
        match tag {
            1 => Some(Self::Authorization),
            2 => Some(Self::Refresh),
            3 => Some(Self::Qr),
            4 => Some(Self::ApiKey),
            5 => Some(Self::RefreshUsed),
            6 => Some(Self::ResetCode),
            7 => Some(Self::Session),
            8 => Some(Self::OAuthAccess),
            9 => Some(Self::OAuthRefresh),
            10 => Some(Self::OAuthRefreshUsed),
            11 => Some(Self::OAuthCode),
            12 => Some(Self::OAuthCodeUsed),
            13 => Some(Self::Browser),
            _ => None,
        }
    }
}

/// A token's secret text. Zeroized on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Token(String);

impl Token {
    /// A fresh token of `kind` from `rng`.
    pub fn generate(kind: TokenKind, rng: &dyn Random) -> Self {
        let mut raw = random::bytes::<TOKEN_BYTES>(rng);
        let mut s = String::with_capacity(TOKEN_LEN);
        s.push_str(kind.prefix());
        URL_SAFE_NO_PAD.encode_string(raw, &mut s);
        raw.zeroize();
        Self(s)
    }

    /// Check that `text` is a well-formed token of `kind` (prefix, length, canonical base64url).
    /// Any problem is [`Error::Unauthorized`]: callers must not learn which check failed.
    pub fn parse(kind: TokenKind, text: &str) -> Result<Self> {
        validate(kind, text)?;
        Ok(Self(text.to_owned()))
    }

    /// The secret text, to hand to the client once.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest under which the token is stored.
    #[must_use]
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Check `text` is a well-formed token of `kind` without copying or decoding it: the
/// prefix, exactly 43 base64url characters, and a canonical last character (the 4 bits past
/// the 32nd byte are zero). Runs in the verify hot path.
pub fn validate(kind: TokenKind, text: &str) -> Result<()> {
    let body = text
        .strip_prefix(kind.prefix())
        .ok_or(Error::Unauthorized)?;
    let Ok(bytes) = <&[u8; BODY_LEN]>::try_from(body.as_bytes()) else {
        return Err(Error::Unauthorized);
    };
    // Branch-free over a fixed length, so the compiler checks 16 or 32 bytes at a time.
    let mut ok = true;
    for &b in &bytes[..BODY_LEN - 1] {
        ok &= is_b64(b);
    }
    // 43 characters carry 258 bits; the last one's low 2 bits must be zero.
    let bad = !ok || b64_value(bytes[BODY_LEN - 1]).is_none_or(|v| v & 0b11 != 0);
    if bad {
        Err(Error::Unauthorized)
    } else {
        Ok(())
    }
}

/// Whether `b` is a base64url character ([`b64_value`] is `Some`), without branches.
#[allow(clippy::needless_bitwise_bool)] // branch-free on purpose: it vectorizes
const fn is_b64(b: u8) -> bool {
    (b.wrapping_sub(b'A') < 26)
        | (b.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'_')
}

const fn b64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// SHA-256 of a token's text: what stores keep instead of the token.
#[derive(Clone, Copy, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct TokenDigest(pub [u8; 32]);

impl TokenDigest {
    /// The digest of a token text (or any secret code).
    #[must_use]
    pub fn of(text: &str) -> Self {
        Self(Sha256::digest(text.as_bytes()).into())
    }

    /// The digest under which a password-reset code of `profile` is stored: SHA-256 over a
    /// domain tag, the profile id and the code, so a code is bound to its account (another
    /// account's code never matches) and two accounts' codes never collide.
    #[must_use]
    pub fn of_reset_code(profile: uuid::Uuid, code: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"tessera-reset-code:");
        h.update(profile.as_bytes());
        h.update(b":");
        h.update(code.as_bytes());
        Self(h.finalize().into())
    }

    /// Parse `text` as a token of `kind` and digest it, without allocating.
    pub fn of_token(kind: TokenKind, text: &str) -> Result<Self> {
        validate(kind, text)?;
        Ok(Self::of(text))
    }

    /// Constant-time equality, for comparisons where a digest meets input.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not secret, but printing a prefix is enough to tell two apart.
        write!(
            f,
            "TokenDigest({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

/// The lifetime of an authorization token: exactly one of the eight table values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ttl(u32);

impl Ttl {
    /// The TTL table, in seconds: 1 h, 1 d, 1 w, 30 d, 90 d, 180 d, 270 d, 360 d.
    pub const TABLE: [u32; 8] = [
        3600, 86_400, 604_800, 2_592_000, 7_776_000, 15_552_000, 23_328_000, 31_104_000,
    ];
    /// One hour, the default.
    pub const HOUR: Self = Self(3600);
    /// One day.
    pub const DAY: Self = Self(86_400);
    /// Ninety days.
    pub const DAYS_90: Self = Self(7_776_000);

    /// The TTL of `secs` seconds, if it is a table value.
    pub fn from_secs(secs: u64) -> Result<Self> {
        Self::TABLE
            .iter()
            .find(|&&t| u64::from(t) == secs)
            .map(|&t| Self(t))
            .ok_or(Error::InvalidTtl)
    }

    /// Parse a form value: ASCII digits only, exactly a table value.
    pub fn parse(text: &str) -> Result<Self> {
        if text.is_empty()
            || text.len() > 10
            || text.starts_with('0')
            || !text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Error::InvalidTtl);
        }
        text.parse::<u64>()
            .map_err(|_| Error::InvalidTtl)
            .and_then(Self::from_secs)
    }

    /// Seconds.
    #[must_use]
    pub const fn secs(self) -> u64 {
        self.0 as u64
    }
}

impl Default for Ttl {
    fn default() -> Self {
        Self::HOUR
    }
}

/// Token digests are SHA-256 outputs of server-generated random tokens: their first 8
/// bytes are already a uniform hash. (Looked-up digests may come from attackers, but only
/// server-made keys are inserted, so no one can crowd a bucket.)
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 ^= u64::from(*b) << (8 * i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use proptest::prelude::*;

    #[test]
    fn branch_free_check_agrees_with_the_value_table() {
        for b in 0..=u8::MAX {
            assert_eq!(is_b64(b), b64_value(b).is_some(), "byte {b}");
        }
    }

    #[test]
    fn tokens_are_prefixed_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let t = Token::generate(TokenKind::Authorization, &OsRandom);
            assert!(t.expose().starts_with("tsa_"));
            assert_eq!(t.expose().len(), TOKEN_LEN);
            assert!(seen.insert(t.expose().to_owned()));
            assert_eq!(
                Token::parse(TokenKind::Authorization, t.expose())
                    .unwrap()
                    .digest(),
                t.digest()
            );
        }
    }

    #[test]
    fn malformed_tokens_are_unauthorized() {
        let t = Token::generate(TokenKind::Authorization, &OsRandom);
        let good = t.expose().to_owned();
        let cases = [
            String::new(),
            " ".to_owned() + &good,
            good.clone() + " ",
            good[..good.len() - 1].to_owned(),
            good.clone() + "A",
            good.replacen("tsa_", "tsr_", 1),
            good.replacen("tsa_", "TSA_", 1),
            format!("tsa_{}", "+".repeat(43)),
            format!("tsa_{}", "é".repeat(21)),
        ];
        for c in &cases {
            assert_eq!(
                TokenDigest::of_token(TokenKind::Authorization, c),
                Err(Error::Unauthorized),
                "{c:?}"
            );
        }
        // a non-canonical last character (low bits set) is refused too
        let mut nc = good[..good.len() - 1].to_owned();
        let last = good.as_bytes()[good.len() - 1];
        let alt = if last == b'B' { 'C' } else { 'B' };
        nc.push(alt);
        let canonical_alt = URL_SAFE_NO_PAD.decode(&nc[4..]).is_ok();
        assert_eq!(
            validate(TokenKind::Authorization, &nc).is_ok(),
            canonical_alt
        );
    }

    #[test]
    fn kind_tags_are_stable_and_round_trip() {
        for (i, k) in TokenKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(k.tag()), i + 1, "{k:?}");
            assert_eq!(TokenKind::from_tag(k.tag()), Some(*k));
        }
        assert_eq!(TokenKind::from_tag(0), None);
        assert_eq!(TokenKind::from_tag(14), None);
    }

    #[test]
    fn reset_code_digests_are_bound_to_the_profile() {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        assert_eq!(
            TokenDigest::of_reset_code(a, "ABCD2345"),
            TokenDigest::of_reset_code(a, "ABCD2345")
        );
        assert_ne!(
            TokenDigest::of_reset_code(a, "ABCD2345"),
            TokenDigest::of_reset_code(b, "ABCD2345")
        );
        assert_ne!(
            TokenDigest::of_reset_code(a, "ABCD2345"),
            TokenDigest::of("ABCD2345")
        );
    }

    #[test]
    fn debug_redacts() {
        let t = Token::generate(TokenKind::Refresh, &OsRandom);
        let d = format!("{t:?}");
        assert!(!d.contains(&t.expose()[4..]));
    }

    #[test]
    fn ttl_accepts_exactly_the_table() {
        for t in Ttl::TABLE {
            assert_eq!(Ttl::parse(&t.to_string()).unwrap().secs(), u64::from(t));
        }
        for bad in [
            "-1",
            "0",
            "3601",
            "1e9",
            "3600.0",
            "0x10",
            " 3600",
            "3600 ",
            "",
            "18446744073709551616",
            "03600",
        ] {
            assert_eq!(Ttl::parse(bad), Err(Error::InvalidTtl), "{bad}");
        }
        assert!(Error::InvalidTtl.to_string().contains("31104000"));
    }

    proptest! {
        #[test]
        fn validate_agrees_with_the_base64_decoder(body in "[A-Za-z0-9_+/=-]{41,45}") {
            let text = format!("tsa_{body}");
            let decoded = URL_SAFE_NO_PAD.decode(&body).is_ok_and(|v| v.len() == TOKEN_BYTES);
            prop_assert_eq!(validate(TokenKind::Authorization, &text).is_ok(), decoded);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = TokenDigest::of_token(TokenKind::Authorization, &s);
            let _ = Ttl::parse(&s);
        }
    }
}
