//! The keys that sign OpenID id tokens: the RSA key (RS256, OpenID's mandatory algorithm)
//! and the server's Ed25519 key (EdDSA, [`crate::id_token::IdTokenKey`]).
//!
//! The RSA key is 2048-bit, generated with the `rsa` crate at first use, kept in the store
//! as PKCS#8 DER ([`crate::store::OAuthStore::rsa_key_or_insert`]: concurrent first uses,
//! in this process or another, all get the same key) and cached in the engine. Its `kid` is
//! base64url(SHA-256 of the SubjectPublicKeyInfo DER), first 16 characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _};
use rsa::traits::PublicKeyParts as _;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use super::super::Engine;
use crate::error::{Error, Result};
use crate::random::Random;

/// Size of a new RSA key, in bits.
const RSA_BITS: usize = 2048;

/// The RSA signing key, ready to sign and to publish.
pub(crate) struct RsaKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    n: String,
    e: String,
}

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl RsaKey {
    /// The key of a PKCS#8 DER private key.
    pub(crate) fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let private = RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|e| Error::Config(format!("stored RSA key unreadable: {e}")))?;
        let public = RsaPublicKey::from(&private);
        let spki = public
            .to_public_key_der()
            .map_err(|e| Error::Config(format!("RSA public key encoding failed: {e}")))?;
        let mut kid = URL_SAFE_NO_PAD.encode(Sha256::digest(spki.as_bytes()));
        kid.truncate(16);
        // jsonwebtoken signs with the PKCS#1 form.
        let pkcs1 = private
            .to_pkcs1_der()
            .map_err(|e| Error::Config(format!("RSA key encoding failed: {e}")))?;
        let n = URL_SAFE_NO_PAD.encode(public.n().to_bytes_be());
        let e = URL_SAFE_NO_PAD.encode(public.e().to_bytes_be());
        let decoding = DecodingKey::from_rsa_components(&n, &e)
            .map_err(|e| Error::Config(format!("RSA public key unusable: {e}")))?;
        Ok(Self {
            encoding: EncodingKey::from_rsa_der(pkcs1.as_bytes()),
            decoding,
            kid,
            n,
            e,
        })
    }

    /// A fresh key from `rng`, as PKCS#8 DER.
    pub(crate) fn generate(rng: &dyn Random) -> Result<Zeroizing<Vec<u8>>> {
        let key = RsaPrivateKey::new(&mut RngAdapter(rng), RSA_BITS)
            .map_err(|e| Error::Config(format!("RSA key generation failed: {e}")))?;
        let der = key
            .to_pkcs8_der()
            .map_err(|e| Error::Config(format!("RSA key encoding failed: {e}")))?;
        Ok(Zeroizing::new(der.as_bytes().to_vec()))
    }

    pub(crate) const fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub(crate) const fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (RFC 7517 / 7518 §6.3): no private member.
    pub(crate) fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "n": self.n,
            "e": self.e,
            "alg": "RS256",
            "use": "sig",
            "kid": self.kid,
        })
    }
}

/// The engine's [`Random`] as the `rand_core` 0.6 generator the `rsa` crate asks for.
struct RngAdapter<'a>(&'a dyn Random);

impl rsa::rand_core::RngCore for RngAdapter<'_> {
    fn next_u32(&mut self) -> u32 {
        u32::from_le_bytes(crate::random::bytes::<4>(self.0))
    }

    fn next_u64(&mut self) -> u64 {
        u64::from_le_bytes(crate::random::bytes::<8>(self.0))
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for RngAdapter<'_> {}

impl Engine {
    /// The RSA signing key: read from the store (or generated and stored) on first use,
    /// then cached.
    pub(crate) async fn rsa_key(&self) -> Result<&RsaKey> {
        self.oauth_rsa
            .get_or_try_init(|| async {
                let candidate = RsaKey::generate(self.rng.as_ref())?;
                let der = Zeroizing::new(self.store.rsa_key_or_insert(&candidate).await?);
                RsaKey::from_pkcs8(&der)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn a_generated_key_round_trips_and_publishes_no_private_part() {
        let der = RsaKey::generate(&OsRandom).unwrap();
        let key = RsaKey::from_pkcs8(&der).unwrap();
        let again = RsaKey::from_pkcs8(&der).unwrap();
        assert_eq!(key.kid, again.kid);
        assert_eq!(key.kid.len(), 16);
        let jwk = key.jwk();
        assert_eq!(jwk["e"], "AQAB");
        // 2048 bits: 256 bytes, 342 base64url characters
        assert_eq!(jwk["n"].as_str().unwrap().len(), 342);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(jwk.get(private).is_none(), "{private}");
        }
        assert!(!format!("{key:?}").contains(jwk["n"].as_str().unwrap()));
    }
}
