//! The operations of the engine model ([`Op`], [`Step`]), the values they pick from, and
//! [`encode`], the inverse of their `Arbitrary` decoding.

/// Usernames, shared by users and devices (so names collide across kinds).
pub const NAMES: [&str; 4] = ["ann", "ben", "cat", "dan"];
/// Passwords (each passes the default policy for every name).
pub const PASSWORDS: [&str; 3] = [
    "velvet thunder orchard kites",
    "marble lantern bicycle reef",
    "quiet copper harbor ninety",
];
/// Authorization token TTLs, in seconds.
pub const TTLS: [u64; 3] = [3600, 86_400, 604_800];
/// QR token TTLs, in seconds (the last one is out of the default bounds).
pub const QR_TTLS: [u64; 4] = [60, 300, 900, 901];
/// Clock steps, in seconds.
pub const ADVANCES: [u64; 6] = [1, 59, 300, 900, 3600, 86_400];
/// Distinct Ed25519 keys (seeded), so that profiles can collide on a key.
pub const KEYS: usize = 3;
/// Store calls into a step at which a fault may be armed (`fault % FAULT_SPAN`).
pub const FAULT_SPAN: u8 = 8;

/// One engine operation. `u8` fields are indexes, taken modulo what they index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, arbitrary::Arbitrary)]
#[allow(missing_docs)] // the variants name engine calls; the fields are indexes
pub enum Op {
    Register { name: u8, pw: u8 },
    Authenticate { name: u8, pw: u8, ttl: u8 },
    RegisterKey { token: u8, key: u8 },
    Reauthorize { token: u8, ttl: u8 },
    Revoke { token: u8 },
    RevokeAll { token: u8 },
    ChangePassword { token: u8, current: u8, new: u8 },
    GenerateQr { token: u8, ttl: u8 },
    RedeemQr { qr: u8, name: u8, pw: u8 },
    ApproveDevice { token: u8, device: u8 },
    RejectDevice { token: u8, device: u8 },
    RemoveDevice { token: u8, device: u8 },
    Advance { secs: u8 },
    Purge,
    Unlock { name: u8 },
}

/// An operation, and optionally the store call (counted from the step's first) to fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, arbitrary::Arbitrary)]
pub struct Step {
    /// What to do.
    pub op: Op,
    /// Fail the `fault % FAULT_SPAN`-th store call of this step, if any.
    pub fault: Option<u8>,
}

/// The bytes the `engine_model` fuzz target decodes into `steps`: the inverse of their
/// `Arbitrary` decoding (arbitrary 1.x: a continue byte per element, a little-endian `u32`
/// scaled onto the variant count, the `u8` fields, an option flag byte). Use it to save a
/// case proptest found as `fuzz/regressions/engine_model/<name>`.
#[must_use]
pub fn encode(steps: &[Step]) -> Vec<u8> {
    const VARIANTS: u64 = 15;
    let mut out = Vec::new();
    for step in steps {
        let (variant, fields): (u64, &[u8]) = match step.op {
            Op::Register { name, pw } => (0, &[name, pw]),
            Op::Authenticate { name, pw, ttl } => (1, &[name, pw, ttl]),
            Op::RegisterKey { token, key } => (2, &[token, key]),
            Op::Reauthorize { token, ttl } => (3, &[token, ttl]),
            Op::Revoke { token } => (4, &[token]),
            Op::RevokeAll { token } => (5, &[token]),
            Op::ChangePassword {
                token,
                current,
                new,
            } => (6, &[token, current, new]),
            Op::GenerateQr { token, ttl } => (7, &[token, ttl]),
            Op::RedeemQr { qr, name, pw } => (8, &[qr, name, pw]),
            Op::ApproveDevice { token, device } => (9, &[token, device]),
            Op::RejectDevice { token, device } => (10, &[token, device]),
            Op::RemoveDevice { token, device } => (11, &[token, device]),
            Op::Advance { secs } => (12, &[secs]),
            Op::Purge => (13, &[]),
            Op::Unlock { name } => (14, &[name]),
        };
        out.push(1);
        let scaled = (variant << 32).div_ceil(VARIANTS);
        out.extend_from_slice(&(scaled as u32).to_le_bytes());
        out.extend_from_slice(fields);
        match step.fault {
            Some(k) => out.extend_from_slice(&[1, k]),
            None => out.push(0),
        }
    }
    out.push(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_is_the_inverse_of_the_arbitrary_decoding() {
        let ops = [
            Op::Register { name: 1, pw: 2 },
            Op::Authenticate {
                name: 3,
                pw: 4,
                ttl: 5,
            },
            Op::RegisterKey { token: 6, key: 7 },
            Op::Reauthorize { token: 8, ttl: 9 },
            Op::Revoke { token: 10 },
            Op::RevokeAll { token: 11 },
            Op::ChangePassword {
                token: 1,
                current: 2,
                new: 3,
            },
            Op::GenerateQr { token: 4, ttl: 5 },
            Op::RedeemQr {
                qr: 6,
                name: 7,
                pw: 8,
            },
            Op::ApproveDevice {
                token: 9,
                device: 0,
            },
            Op::RejectDevice {
                token: 1,
                device: 2,
            },
            Op::RemoveDevice {
                token: 3,
                device: 4,
            },
            Op::Advance { secs: 5 },
            Op::Purge,
            Op::Unlock { name: 255 },
        ];
        let steps: Vec<Step> = ops
            .iter()
            .enumerate()
            .map(|(i, &op)| Step {
                op,
                fault: (i % 2 == 0).then_some(i as u8),
            })
            .collect();
        let bytes = encode(&steps);
        let u = arbitrary::Unstructured::new(&bytes);
        let decoded = <Vec<Step> as arbitrary::Arbitrary>::arbitrary_take_rest(u).unwrap();
        assert_eq!(decoded, steps);
    }
}
