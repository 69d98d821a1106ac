//! What each scope lets an application do, in plain words, for the consent page.

/// One scope as the consent page shows it.
#[derive(Debug, serde::Serialize)]
pub(crate) struct ScopeLine {
    /// The scope's name.
    pub(crate) name: String,
    /// What it allows.
    pub(crate) sentence: String,
}

/// The sentences of the standard scopes.
const SENTENCES: [(&str, &str); 5] = [
    ("openid", "Know who you are: your tessera profile id"),
    (
        "profile",
        "See your username and profile type, and your name where it is known",
    ),
    ("email", "See your email address, where it is known"),
    (
        "offline_access",
        "Stay connected when you are not using it, until you withdraw this permission",
    ),
    (
        "directories",
        "See which directories you belong to, and your role in each",
    ),
];

/// The consent page's lines for `scopes`.
pub(crate) fn lines(scopes: &[String]) -> Vec<ScopeLine> {
    scopes
        .iter()
        .map(|s| ScopeLine {
            name: s.clone(),
            sentence: SENTENCES.iter().find(|(n, _)| n == s).map_or_else(
                || format!("Use the “{s}” permission of this server"),
                |(_, t)| (*t).to_owned(),
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_standard_scope_has_a_sentence() {
        for s in tessera_core::engine::oauth::SUPPORTED_SCOPES {
            assert!(SENTENCES.iter().any(|(n, _)| *n == s), "{s}");
        }
        let l = lines(&["orders:read".to_owned()]);
        assert!(l[0].sentence.contains("orders:read"));
    }
}
