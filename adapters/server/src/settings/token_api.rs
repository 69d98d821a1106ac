//! `[token_api]`: lifetimes and id-token claims of the JSON token API.
//!
//! ```toml
//! [token_api]
//! access_ttl = 86400                      # /v1 access tokens and users-API userTokens (TTL table)
//! refresh_ttl = 7776000                   # refresh-token family, from the login (TTL table)
//! id_token_issuer = "https://id.example.com"   # `iss` (default: public_url)
//! id_token_audience = "tessera"           # `aud`
//! reset_code_ttl_secs = 600               # forgot-password codes, 60-3600
//! challenge_ttl_secs = 300                # NEW_PASSWORD_REQUIRED sessions, 60-3600
//! ```

use serde::Deserialize;
use tessera_core::EngineConfig;

use super::SettingsError;
use super::engine::ttl;

/// `[token_api]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenApiSection {
    /// Lifetime of access tokens, in seconds (a TTL table value; default 86400).
    pub access_ttl: u64,
    /// Lifetime of a refresh-token family, in seconds (a TTL table value; default 7776000).
    pub refresh_ttl: u64,
    /// `iss` of id tokens (default: `public_url`).
    pub id_token_issuer: Option<String>,
    /// `aud` of id tokens (default `tessera`).
    pub id_token_audience: String,
    /// Lifetime of password-reset codes, in seconds (default 600).
    pub reset_code_ttl_secs: u64,
    /// Lifetime of NEW_PASSWORD_REQUIRED sessions, in seconds (default 300).
    pub challenge_ttl_secs: u64,
}

impl Default for TokenApiSection {
    fn default() -> Self {
        let c = EngineConfig::default();
        Self {
            access_ttl: c.access_ttl.secs(),
            refresh_ttl: c.refresh_ttl.secs(),
            id_token_issuer: c.id_token_issuer,
            id_token_audience: c.id_token_audience,
            reset_code_ttl_secs: c.reset_code_ttl_secs,
            challenge_ttl_secs: c.challenge_ttl_secs,
        }
    }
}

impl TokenApiSection {
    /// Apply the section to `c` (the engine validates the ranges).
    pub fn apply(&self, c: &mut EngineConfig) -> Result<(), SettingsError> {
        c.access_ttl = ttl("token_api.access_ttl", self.access_ttl)?;
        c.refresh_ttl = ttl("token_api.refresh_ttl", self.refresh_ttl)?;
        c.id_token_issuer.clone_from(&self.id_token_issuer);
        c.id_token_audience.clone_from(&self.id_token_audience);
        c.reset_code_ttl_secs = self.reset_code_ttl_secs;
        c.challenge_ttl_secs = self.challenge_ttl_secs;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::Ttl;

    use super::*;

    #[test]
    fn values_are_applied_and_ttls_checked() {
        let s: TokenApiSection = toml::from_str(
            "access_ttl = 3600\nrefresh_ttl = 2592000\nid_token_issuer = \"https://id.test\"\nid_token_audience = \"app\"\nreset_code_ttl_secs = 120\nchallenge_ttl_secs = 60\n",
        )
        .unwrap();
        let mut c = EngineConfig::default();
        s.apply(&mut c).unwrap();
        assert_eq!(c.access_ttl, Ttl::HOUR);
        assert_eq!(c.refresh_ttl.secs(), 2_592_000);
        assert_eq!(c.id_token_issuer(), "https://id.test");
        assert_eq!(c.id_token_audience, "app");
        assert_eq!((c.reset_code_ttl_secs, c.challenge_ttl_secs), (120, 60));
        let bad: TokenApiSection = toml::from_str("access_ttl = 5").unwrap();
        assert!(
            bad.apply(&mut EngineConfig::default())
                .unwrap_err()
                .to_string()
                .contains("access_ttl")
        );
        assert!(toml::from_str::<TokenApiSection>("typo = 1").is_err());
    }
}
