//! Randomness, injected: every secret comes from a [`Random`] source (the OS CSPRNG by default).

use std::fmt;

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync + fmt::Debug {
    /// Fill `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// The operating system's CSPRNG (`rand::rngs::OsRng`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        use rand::TryRngCore as _;
        // The OS CSPRNG failing is unrecoverable: issuing a predictable secret would be worse.
        rand::rngs::OsRng
            .try_fill_bytes(buf)
            .expect("the operating system's random number generator failed");
    }
}

/// Fill a fixed-size array from `rng`.
pub fn bytes<const N: usize>(rng: &dyn Random) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}
