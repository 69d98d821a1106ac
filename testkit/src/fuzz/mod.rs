//! Fuzz-target bodies, shared by `fuzz/` (cargo-fuzz) and the regression test that replays
//! every saved input in `fuzz/regressions/<target>/` under `cargo test`.
//!
//! Each function takes arbitrary bytes, must never panic on its own, and asserts the
//! properties its parser promises.

#[cfg(feature = "http")]
mod directory_form;
#[cfg(feature = "http")]
mod form_body;
#[cfg(feature = "http")]
mod message;
#[cfg(feature = "http")]
mod oauth_params;

#[cfg(feature = "http")]
pub use directory_form::directory_form;
#[cfg(feature = "http")]
pub use form_body::form_body;
#[cfg(feature = "http")]
pub use message::message;
#[cfg(feature = "http")]
pub use oauth_params::oauth_params;

use crate::model::{self, Step};
use tessera_core::key::PublicKey;
use tessera_core::token::{Token, TokenDigest, TokenKind, Ttl};
use tessera_core::username;

/// Token parsing: never panics; whatever parses re-formats to the same text, and the
/// digest of a parsed token equals the digest of its text.
pub fn token_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [
        TokenKind::Authorization,
        TokenKind::Refresh,
        TokenKind::Qr,
        TokenKind::ApiKey,
        TokenKind::Session,
    ] {
        if let Ok(t) = Token::parse(kind, text) {
            assert_eq!(t.expose(), text);
            assert!(text.starts_with(kind.prefix()));
            assert_eq!(TokenDigest::of_token(kind, text).ok(), Some(t.digest()));
        }
    }
    if let Ok(ttl) = Ttl::parse(text) {
        assert_eq!(ttl.secs().to_string(), text);
    }
}

/// Public-key parsing: never panics; an accepted key round-trips through both encodings.
pub fn public_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = PublicKey::parse(text) {
        assert_eq!(PublicKey::parse(&k.to_privicore_hex()).ok(), Some(k));
        assert_eq!(PublicKey::parse(&k.to_raw_hex()).ok(), Some(k));
    }
}

/// Username canonicalisation: never panics, idempotent, output within the rules.
pub fn username(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = username::canonicalize(text) {
        assert_eq!(username::canonicalize(&c).as_deref(), Ok(c.as_str()));
        assert!((username::MIN_LEN..=username::MAX_LEN).contains(&c.len()));
        assert!(c.is_ascii());
    }
}

/// The engine against the reference model, with one injected storage failure per step at
/// most: the bytes are an `Arbitrary` sequence of [`Step`]s run by [`model::run`].
pub fn engine_model(data: &[u8]) {
    let u = arbitrary::Unstructured::new(data);
    let Ok(steps) = <Vec<Step> as arbitrary::Arbitrary>::arbitrary_take_rest(u) else {
        return;
    };
    model::run(&steps);
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by name, for the regression runner (the HTTP form decoder's and the
/// message adapter's with feature `http`).
pub const TARGETS: &[(&str, Target)] = &[
    ("token_parse", token_parse),
    ("public_key", public_key),
    ("username", username),
    ("engine_model", engine_model),
    #[cfg(feature = "http")]
    ("form_body", form_body),
    #[cfg(feature = "http")]
    ("message", message),
    #[cfg(feature = "http")]
    ("oauth_params", oauth_params),
    #[cfg(feature = "http")]
    ("directory_form", directory_form),
];

/// Replay every input saved under `regressions/<name>/` through its target, for each of
/// `targets`; panics if a target has no directory or no saved input (or if a target
/// panics). Run by the testkit's own `fuzz_regressions` test.
pub fn replay_regressions(regressions: &std::path::Path, targets: &[(&str, Target)]) {
    for (name, target) in targets {
        let dir = regressions.join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("missing regression directory {}: {e}", dir.display()));
        let mut replayed = 0;
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_file() {
                let data = std::fs::read(&path).expect("read input");
                eprintln!("{name}: {}", path.display());
                target(&data);
                replayed += 1;
            }
        }
        assert!(replayed > 0, "{name} has no saved input");
    }
}
