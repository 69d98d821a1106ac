//! `[oauth]`: the OAuth 2.1 / OpenID Connect provider.
//!
//! ```toml
//! [oauth]
//! extra_scopes = ["orders:read", "orders:write"]  # beside openid profile email offline_access directories
//! access_token_ttl_secs = 3600            # OAuth access tokens, 60-86400
//! refresh_token_ttl_secs = 2592000        # a refresh-token family, from the sign-in, 3600-31104000
//! code_ttl_secs = 60                      # authorization codes, 10-600
//! id_token_ttl_secs = 3600                # 60-86400
//! browser_session_ttl_secs = 28800        # the login pages' session cookie, 300-2592000
//! interaction_ttl_secs = 600              # a pending login or consent page, 60-3600
//! first_party_clients = ["0b6f…"]         # client ids whose users are not asked for consent
//! ```
//!
//! The issuer is `public_url` (whose default is the address the server bound).

use serde::Deserialize;
use tessera_core::EngineConfig;
use tessera_core::engine::oauth::OAuthConfig;
use uuid::Uuid;

use super::SettingsError;

/// `[oauth]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthSection {
    /// Scopes allowed beside the standard ones.
    pub extra_scopes: Vec<String>,
    /// Lifetime of OAuth access tokens, in seconds (default 3600).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh-token family, in seconds (default 30 days).
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of authorization codes, in seconds (default 60).
    pub code_ttl_secs: u64,
    /// Lifetime of id tokens, in seconds (default 3600).
    pub id_token_ttl_secs: u64,
    /// Lifetime of the pages' browser session, in seconds (default 8 h).
    pub browser_session_ttl_secs: u64,
    /// How long a pending login or consent page stays usable, in seconds (default 600).
    pub interaction_ttl_secs: u64,
    /// Applications whose users are not asked for consent (client ids).
    pub first_party_clients: Vec<String>,
}

impl Default for OAuthSection {
    fn default() -> Self {
        let c = OAuthConfig::default();
        Self {
            extra_scopes: c.extra_scopes,
            access_token_ttl_secs: c.access_token_ttl_secs,
            refresh_token_ttl_secs: c.refresh_token_ttl_secs,
            code_ttl_secs: c.code_ttl_secs,
            id_token_ttl_secs: c.id_token_ttl_secs,
            browser_session_ttl_secs: c.browser_session_ttl_secs,
            interaction_ttl_secs: c.interaction_ttl_secs,
            first_party_clients: Vec::new(),
        }
    }
}

fn range(key: &'static str, value: u64, lo: u64, hi: u64) -> Result<u64, SettingsError> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(SettingsError::invalid(
            key,
            format!("must be {lo}-{hi}, got {value}"),
        ))
    }
}

impl OAuthSection {
    /// Apply the section to `c.oauth`; the issuer is set from `public_url` by the caller.
    pub fn apply(&self, c: &mut EngineConfig) -> Result<(), SettingsError> {
        for s in &self.extra_scopes {
            let ok = !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.:/".contains(&b));
            if !ok || c.oauth.supports(s) {
                return Err(SettingsError::invalid(
                    "oauth.extra_scopes",
                    format!(
                        "{s:?}: a scope is 1-64 of A-Z a-z 0-9 _ - . : / and not a standard scope"
                    ),
                ));
            }
        }
        let mut first_party = Vec::with_capacity(self.first_party_clients.len());
        for id in &self.first_party_clients {
            first_party.push(Uuid::parse_str(id).map_err(|_| {
                SettingsError::invalid(
                    "oauth.first_party_clients",
                    format!("{id:?} is not a client id (a UUID)"),
                )
            })?);
        }
        let o = &mut c.oauth;
        o.extra_scopes.clone_from(&self.extra_scopes);
        o.access_token_ttl_secs = range(
            "oauth.access_token_ttl_secs",
            self.access_token_ttl_secs,
            60,
            86_400,
        )?;
        o.refresh_token_ttl_secs = range(
            "oauth.refresh_token_ttl_secs",
            self.refresh_token_ttl_secs,
            3600,
            31_104_000,
        )?;
        o.code_ttl_secs = range("oauth.code_ttl_secs", self.code_ttl_secs, 10, 600)?;
        o.id_token_ttl_secs = range(
            "oauth.id_token_ttl_secs",
            self.id_token_ttl_secs,
            60,
            86_400,
        )?;
        o.browser_session_ttl_secs = range(
            "oauth.browser_session_ttl_secs",
            self.browser_session_ttl_secs,
            300,
            2_592_000,
        )?;
        o.interaction_ttl_secs = range(
            "oauth.interaction_ttl_secs",
            self.interaction_ttl_secs,
            60,
            3600,
        )?;
        o.first_party_clients = first_party;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_applied_and_checked() {
        let s: OAuthSection = toml::from_str(
            "extra_scopes = [\"orders:read\"]\ncode_ttl_secs = 30\nfirst_party_clients = [\"0b6f3a52-8c1e-4d7a-9f00-2b1c3d4e5f60\"]\n",
        )
        .unwrap();
        let mut c = EngineConfig::default();
        s.apply(&mut c).unwrap();
        assert_eq!(c.oauth.extra_scopes, ["orders:read"]);
        assert!(c.oauth.supports("orders:read"));
        assert_eq!(c.oauth.code_ttl_secs, 30);
        assert_eq!(c.oauth.first_party_clients.len(), 1);
        for (bad, key) in [
            ("code_ttl_secs = 5000", "code_ttl_secs"),
            ("extra_scopes = [\"openid\"]", "extra_scopes"),
            ("extra_scopes = [\"a b\"]", "extra_scopes"),
            ("first_party_clients = [\"app\"]", "first_party_clients"),
            ("access_token_ttl_secs = 0", "access_token_ttl_secs"),
        ] {
            let s: OAuthSection = toml::from_str(bad).unwrap();
            let e = s
                .apply(&mut EngineConfig::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{bad}: {e}");
        }
        assert!(toml::from_str::<OAuthSection>("typo = 1").is_err());
    }
}
