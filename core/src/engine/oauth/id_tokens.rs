//! OpenID id tokens of the OAuth provider: RS256 (the default) or EdDSA per application,
//! the JWK Set that verifies them, and the check of an `id_token_hint`.
//!
//! Claims: `iss` (`[oauth] issuer`), `sub` (the profile id), `aud` and `azp` (the client
//! id), `exp`, `iat`, `auth_time` (the grant's), `nonce` (exactly when the authorization
//! request sent one) and `at_hash`: the left half of the hash of the access token's text,
//! base64url, the hash being the one of the signing algorithm: SHA-256 for RS256 and, for
//! EdDSA over Ed25519, SHA-512 (what the `openidconnect` crate checks). The header's `kid`
//! names a key of [`Engine::oauth_jwks`].

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256, Sha512};
use uuid::Uuid;

use super::super::Engine;
use super::{OAuthError, OAuthErrorCode};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::{IdTokenAlg, OAuthGrantRecord};

/// Longest `id_token_hint` looked at (bytes).
pub const MAX_ID_TOKEN_HINT_LEN: usize = 8192;

/// `at_hash` of `access_token` for `alg`.
/// The `directories` claim (scope `directories`): `[{"id","shortName","role"}]`.
pub(crate) fn directories_claim(dirs: &[crate::engine::DirectoryClaim]) -> Value {
    Value::Array(
        dirs.iter()
            .map(|d| json!({"id": d.id.hyphenated().to_string(), "shortName": d.short_name, "role": d.role.as_str()}))
            .collect(),
    )
}

pub(crate) fn at_hash(alg: IdTokenAlg, access_token: &str) -> String {
    match alg {
        IdTokenAlg::Rs256 => URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16]),
        IdTokenAlg::EdDsa => URL_SAFE_NO_PAD.encode(&Sha512::digest(access_token.as_bytes())[..32]),
    }
}

impl Engine {
    /// A signed id token about `grant` for its client, issued at `now` alongside
    /// `access_token`.
    pub(crate) async fn oauth_id_token(
        &self,
        grant: &OAuthGrantRecord,
        alg: IdTokenAlg,
        access_token: &str,
        now: Timestamp,
    ) -> Result<String> {
        let client = grant.client_id.hyphenated().to_string();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.cfg.oauth.issuer));
        claims.insert(
            "sub".into(),
            json!(grant.profile_id.hyphenated().to_string()),
        );
        claims.insert("aud".into(), json!(client));
        claims.insert("azp".into(), json!(client));
        claims.insert(
            "exp".into(),
            json!(now.plus_secs(self.cfg.oauth.id_token_ttl_secs).0),
        );
        claims.insert("iat".into(), json!(now.0));
        claims.insert("auth_time".into(), json!(grant.auth_time.0));
        if let Some(nonce) = &grant.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.insert("at_hash".into(), json!(at_hash(alg, access_token)));
        if grant.scopes.iter().any(|s| s == "directories") {
            let dirs = self.directory_claims(grant.profile_id).await?;
            claims.insert("directories".into(), directories_claim(&dirs));
        }
        let claims = Value::Object(claims);
        match alg {
            IdTokenAlg::Rs256 => {
                let key = self.rsa_key().await?;
                let mut header = Header::new(Algorithm::RS256);
                header.kid = Some(key.kid().to_owned());
                jsonwebtoken::encode(&header, &claims, key.encoding())
                    .map_err(|e| Error::Config(format!("id token signing failed: {e}")))
            }
            IdTokenAlg::EdDsa => self.id_key().await?.sign_claims(&claims),
        }
    }

    /// The JWK Set of the OAuth provider (`/oauth2/jwks`, RFC 7517): the RSA key
    /// (`kty: RSA`, `n`, `e`, `alg: RS256`) and the server's Ed25519 key (`kty: OKP`,
    /// `crv: Ed25519`, `x`, `alg: EdDSA`), each with `use: sig` and its `kid`. Public parts
    /// only. The first call may generate the RSA key.
    pub async fn oauth_jwks(&self) -> Result<Value> {
        let rsa = self.rsa_key().await?.jwk();
        let ed = self.id_key().await?.jwk();
        Ok(json!({ "keys": [rsa, ed] }))
    }

    /// Check an `id_token_hint` (OpenID Core §3.1.2.1): an id token this provider signed
    /// (RS256 or EdDSA, with a key of [`Engine::oauth_jwks`]; `none`, another algorithm, a
    /// `kid` that is not ours or a bad signature are refused) and issued by this issuer.
    /// Its expiry is not checked, as OpenID allows an expired hint. Returns its `sub`.
    /// Every refusal is `invalid_request`.
    pub async fn verify_id_token_hint(&self, hint: &str) -> Result<Uuid, OAuthError> {
        let bad = || {
            OAuthError::new(
                OAuthErrorCode::InvalidRequest,
                "id_token_hint is not an id token of this server",
            )
        };
        if hint.len() > MAX_ID_TOKEN_HINT_LEN {
            return Err(bad());
        }
        let header = jsonwebtoken::decode_header(hint).map_err(|_| bad())?;
        let unavailable = |_: Error| {
            OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the signing keys cannot be read now",
            )
        };
        let (key, kid) = match header.alg {
            Algorithm::RS256 => {
                let k = self.rsa_key().await.map_err(unavailable)?;
                (k.decoding().clone(), k.kid().to_owned())
            }
            Algorithm::EdDSA => {
                let k = self.id_key().await.map_err(unavailable)?;
                (k.decoding_key().map_err(unavailable)?, k.kid().to_owned())
            }
            _ => return Err(bad()),
        };
        if header.kid.as_deref().is_some_and(|k| k != kid) {
            return Err(bad());
        }
        let mut v = Validation::new(header.alg);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims = HashSet::new();
        v.iss = Some(HashSet::from([self.cfg.oauth.issuer.clone()]));
        let data = jsonwebtoken::decode::<Value>(hint, &key, &v).map_err(|_| bad())?;
        data.claims["sub"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_the_algorithms_hash() {
        // OpenID Core's example (RS256, §A.3): access token → at_hash.
        assert_eq!(
            at_hash(
                IdTokenAlg::Rs256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        let ed = at_hash(IdTokenAlg::EdDsa, "x");
        assert_eq!(URL_SAFE_NO_PAD.decode(ed).unwrap().len(), 32);
    }
}
