//! id tokens: EdDSA JWTs signed by the server key, and the JWKS that verifies them.
//!
//! Claims: `iss`, `sub` (the profile id), `aud`, `iat`, `exp`, `username`, `profile_type`.
//! The header names the key by `kid`, its RFC 7638 thumbprint, which is also the JWK's
//! `kid`, so a relying party picks the key from `/.well-known/jwks.json` and checks the
//! token offline with any JOSE library.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::key::KeyPair;
use crate::profile::ProfileKind;

/// PKCS#8 v1 DER of an Ed25519 private key, up to the 32-byte seed (RFC 8410 §7).
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// What an id token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdClaims<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub profile_id: Uuid,
    pub username: &'a str,
    pub kind: ProfileKind,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The server key, ready to sign id tokens.
pub(crate) struct IdTokenKey {
    encoding: EncodingKey,
    kid: String,
    x: String,
}

impl std::fmt::Debug for IdTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdTokenKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl IdTokenKey {
    pub(crate) fn new(key: &KeyPair) -> Self {
        let seed = key.seed();
        let mut der = Zeroizing::new(Vec::with_capacity(48));
        der.extend_from_slice(&PKCS8_ED25519_PREFIX);
        der.extend_from_slice(seed.as_ref());
        let x = URL_SAFE_NO_PAD.encode(key.public().as_bytes());
        // RFC 7638: SHA-256 over the required members in lexicographic order, no spaces.
        let thumbprint = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
        Self {
            encoding: EncodingKey::from_ed_der(&der),
            kid,
            x,
        }
    }

    /// A signed id token.
    pub(crate) fn sign(&self, c: &IdClaims<'_>) -> Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let claims = json!({
            "iss": c.issuer,
            "sub": c.profile_id.hyphenated().to_string(),
            "aud": c.audience,
            "iat": c.issued_at.0,
            "exp": c.expires_at.0,
            "username": c.username,
            "profile_type": c.kind.as_str(),
        });
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| Error::Config(format!("id token signing failed: {e}")))
    }

    /// Sign any claims object (OpenID id tokens) with this key, `kid` in the header.
    pub(crate) fn sign_claims(&self, claims: &Value) -> Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| Error::Config(format!("id token signing failed: {e}")))
    }

    /// The key id (RFC 7638 thumbprint).
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The key that verifies what [`IdTokenKey::sign_claims`] signed.
    pub(crate) fn decoding_key(&self) -> Result<jsonwebtoken::DecodingKey> {
        jsonwebtoken::DecodingKey::from_ed_components(&self.x)
            .map_err(|e| Error::Config(format!("server key unusable: {e}")))
    }

    /// The public JWK (OKP, Ed25519).
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self.x,
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }

    /// The JWK Set with the one verification key.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk()] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation};

    fn claims(now: i64) -> IdClaims<'static> {
        IdClaims {
            issuer: "https://id.example",
            audience: "app",
            profile_id: Uuid::nil(),
            username: "alice",
            kind: ProfileKind::User,
            issued_at: Timestamp(now),
            expires_at: Timestamp(now + 3600),
        }
    }

    fn now() -> i64 {
        jsonwebtoken::get_current_timestamp() as i64
    }

    #[test]
    fn signs_and_verifies_with_the_jwks_key() {
        let key = IdTokenKey::new(&KeyPair::generate(&OsRandom));
        let t = now();
        let jwt = key.sign(&claims(t)).unwrap();
        let set: JwkSet = serde_json::from_value(key.jwks()).unwrap();
        let header = jsonwebtoken::decode_header(&jwt).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        let jwk = set.find(header.kid.as_deref().unwrap()).unwrap();
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["app"]);
        v.set_issuer(&["https://id.example"]);
        let got =
            jsonwebtoken::decode::<Value>(&jwt, &DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap();
        assert_eq!(got.claims["sub"], "00000000-0000-0000-0000-000000000000");
        assert_eq!(got.claims["username"], "alice");
        assert_eq!(got.claims["profile_type"], "user");
        assert_eq!(got.claims["iat"], t);
        // another key does not verify it
        let other = IdTokenKey::new(&KeyPair::generate(&OsRandom));
        let set: JwkSet = serde_json::from_value(other.jwks()).unwrap();
        let dk = DecodingKey::from_jwk(&set.keys[0]).unwrap();
        assert!(jsonwebtoken::decode::<Value>(&jwt, &dk, &v).is_err());
    }

    #[test]
    fn kid_is_the_rfc7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its example key.
        let seed: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let key = IdTokenKey::new(&KeyPair::from_seed(&seed));
        assert_eq!(key.x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert!(!format!("{key:?}").contains(&key.x));
    }
}
