//! Ed25519 public keys: the Privicore 200-hex encoding and raw 64-hex, proof of possession.
//!
//! Privicore format: 4-byte tag `31420500` ‖ 32-byte key ‖ BLAKE2b-512(tag ‖ key), as hex
//! (200 characters). Raw format: the 32-byte key as 64 hex characters. Hex is
//! case-insensitive. Weak (small-order or identity) points are refused.

use std::fmt;

use blake2::{Blake2b512, Digest as _};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::Sha256;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::random::{self, Random};

/// The Privicore key tag.
pub const PRIVICORE_TAG: [u8; 4] = [0x31, 0x42, 0x05, 0x00];

/// A validated Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Parse the Privicore 200-hex or the raw 64-hex encoding.
    pub fn parse(text: &str) -> Result<Self> {
        let raw: [u8; 32] = match text.len() {
            200 => {
                let mut b = [0u8; 100];
                hex::decode_to_slice(text, &mut b)
                    .map_err(|_| Error::InvalidPublicKey("not hexadecimal"))?;
                if b[..4] != PRIVICORE_TAG {
                    return Err(Error::InvalidPublicKey("wrong key tag (expected 31420500)"));
                }
                let check = Blake2b512::digest(&b[..36]);
                if check.as_slice() != &b[36..] {
                    return Err(Error::InvalidPublicKey("checksum mismatch"));
                }
                b[4..36].try_into().expect("32 bytes")
            }
            64 => {
                let mut b = [0u8; 32];
                hex::decode_to_slice(text, &mut b)
                    .map_err(|_| Error::InvalidPublicKey("not hexadecimal"))?;
                b
            }
            _ => {
                return Err(Error::InvalidPublicKey(
                    "expected 200 hex characters (Privicore format) or 64 (raw key)",
                ));
            }
        };
        Self::from_bytes(raw)
    }

    /// Validate raw key bytes.
    pub fn from_bytes(raw: [u8; 32]) -> Result<Self> {
        let vk = VerifyingKey::from_bytes(&raw)
            .map_err(|_| Error::InvalidPublicKey("not a valid Ed25519 point"))?;
        if vk.is_weak() {
            return Err(Error::InvalidPublicKey("weak key (small-order point)"));
        }
        Ok(Self(raw))
    }

    /// The raw 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw key as 64 lowercase hex characters.
    #[must_use]
    pub fn to_raw_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The fingerprint a person compares: SHA-256 of the raw 32 bytes, lowercase hex in
    /// 16 groups of four separated by spaces (`3f2a 9c01 …`).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let hex = hex::encode(Sha256::digest(self.0));
        let mut out = String::with_capacity(79);
        for (i, c) in hex.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The Privicore 200-hex encoding (lowercase).
    #[must_use]
    pub fn to_privicore_hex(&self) -> String {
        let mut b = Vec::with_capacity(100);
        b.extend_from_slice(&PRIVICORE_TAG);
        b.extend_from_slice(&self.0);
        let check = Blake2b512::digest(&b);
        b.extend_from_slice(&check);
        hex::encode(b)
    }

    /// Strictly verify an Ed25519 `signature` over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let sig: [u8; 64] = signature
            .try_into()
            .map_err(|_| Error::InvalidSignature("a signature is 64 bytes".into()))?;
        let vk = VerifyingKey::from_bytes(&self.0)
            .map_err(|_| Error::InvalidPublicKey("not a valid Ed25519 point"))?;
        vk.verify_strict(message, &Signature::from_bytes(&sig))
            .map_err(|_| Error::InvalidSignature("the signature does not verify".into()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_raw_hex())
    }
}

/// The message a profile signs to prove it holds the private key it registers:
/// `tessera-register-key:<profileId>:<64 lowercase hex of the raw key>`.
#[must_use]
pub fn proof_message(profile_id: Uuid, key: &PublicKey) -> String {
    format!(
        "tessera-register-key:{}:{}",
        profile_id.hyphenated(),
        key.to_raw_hex()
    )
}

/// Check a hex proof-of-possession signature for `key` registered by `profile_id`.
pub fn verify_proof(profile_id: Uuid, key: &PublicKey, signature_hex: &str) -> Result<()> {
    let what = || {
        format!(
            "sign the UTF-8 bytes of \"{}\" with the private key and send the 128-hex signature",
            proof_message(profile_id, key)
        )
    };
    if signature_hex.is_empty() {
        return Err(Error::InvalidSignature(format!(
            "missing signature: {}",
            what()
        )));
    }
    let mut sig = [0u8; 64];
    if signature_hex.len() != 128 || hex::decode_to_slice(signature_hex, &mut sig).is_err() {
        return Err(Error::InvalidSignature(format!(
            "a signature is 128 hex characters: {}",
            what()
        )));
    }
    key.verify(proof_message(profile_id, key).as_bytes(), &sig)
        .map_err(|_| Error::InvalidSignature(format!("the signature does not verify: {}", what())))
}

/// An Ed25519 key pair: the server's signing key, or one made by `/generate-keys`.
pub struct KeyPair {
    signing: SigningKey,
}

impl KeyPair {
    /// A fresh key pair from `rng`.
    pub fn generate(rng: &dyn Random) -> Self {
        let seed = Zeroizing::new(random::bytes::<32>(rng));
        Self::from_seed(&seed)
    }

    /// The key pair of a 32-byte seed.
    #[must_use]
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The secret seed (zeroized when dropped).
    #[must_use]
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key().to_bytes())
    }

    /// Sign `message`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The hex proof-of-possession signature for registering this key on `profile_id`.
    #[must_use]
    pub fn prove(&self, profile_id: Uuid) -> String {
        hex::encode(self.sign(proof_message(profile_id, &self.public()).as_bytes()))
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "KeyPair {{ public: {:?}, secret: <redacted> }}",
            self.public()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use proptest::prelude::*;

    #[test]
    fn fingerprints_are_grouped_sha256() {
        let kp = KeyPair::from_seed(&[7; 32]);
        let f = kp.public().fingerprint();
        assert_eq!(f.len(), 79);
        assert_eq!(f.split(' ').count(), 16);
        assert_eq!(
            f.replace(' ', ""),
            hex::encode(Sha256::digest(kp.public().as_bytes()))
        );
    }

    #[test]
    fn both_encodings_round_trip() {
        let kp = KeyPair::generate(&OsRandom);
        let pk = kp.public();
        let p = pk.to_privicore_hex();
        assert_eq!(p.len(), 200);
        assert!(p.starts_with("31420500"));
        assert_eq!(PublicKey::parse(&p).unwrap(), pk);
        assert_eq!(PublicKey::parse(&p.to_uppercase()).unwrap(), pk);
        assert_eq!(PublicKey::parse(&pk.to_raw_hex()).unwrap(), pk);
    }

    #[test]
    fn bad_keys_are_refused() {
        let pk = KeyPair::generate(&OsRandom).public();
        let p = pk.to_privicore_hex();
        let mut wrong_tag = p.clone();
        wrong_tag.replace_range(0..8, "31420501");
        let mut bad_check = p.clone();
        let last = if p.ends_with('0') { "1" } else { "0" };
        bad_check.replace_range(199..200, last);
        let identity = format!("01{}", "0".repeat(62));
        // a small-order point of order 8
        let small = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
        for bad in [
            String::new(),
            "0".repeat(199),
            "0".repeat(201),
            "zz".repeat(32),
            format!("0x{}", &pk.to_raw_hex()[2..]),
            wrong_tag,
            bad_check,
            "0".repeat(64),
            identity,
            small.to_owned(),
        ] {
            assert!(
                matches!(PublicKey::parse(&bad), Err(Error::InvalidPublicKey(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn proof_of_possession() {
        let kp = KeyPair::generate(&OsRandom);
        let pk = kp.public();
        let id = Uuid::new_v4();
        let sig = hex::encode(kp.sign(proof_message(id, &pk).as_bytes()));
        verify_proof(id, &pk, &sig).unwrap();
        assert!(verify_proof(Uuid::new_v4(), &pk, &sig).is_err());
        assert!(verify_proof(id, &pk, "").is_err());
        assert!(verify_proof(id, &pk, &sig[..126]).is_err());
        let other = KeyPair::generate(&OsRandom);
        let wrong = hex::encode(other.sign(proof_message(id, &pk).as_bytes()));
        assert!(matches!(
            verify_proof(id, &pk, &wrong),
            Err(Error::InvalidSignature(m)) if m.contains("tessera-register-key:")
        ));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "[0-9a-fA-F]{0,210}") {
            let _ = PublicKey::parse(&s);
        }
    }
}
