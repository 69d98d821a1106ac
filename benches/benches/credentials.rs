//! Credential costs: the password policy (zxcvbn) and raw argon2id.
//!
//! Groups: `password_policy` and `authenticate`.
//!
//! - `password_policy/zxcvbn_16`, `zxcvbn_128`: what tessera runs on every new password,
//!   `PasswordPolicy::default().check(pw, "alice")` (NFKC, length, zxcvbn score >= 3 with the
//!   username and service name as context; for long passwords a zxcvbn call on a prefix that
//!   can certify the whole, else the full call).
//! - `password_policy/zxcvbn_raw_16`, `zxcvbn_raw_128`: the bare `zxcvbn::zxcvbn` call on the
//!   same passwords and context, for comparison.
//! - `authenticate/argon2_raw`: argon2id verify with the engine's default OWASP parameters.
//!
//! The passwords are `"gY8$kP2@wQ5!zN7&"` and that repeated 8 times (128 code points).

use std::hint::black_box;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use criterion::{Criterion, criterion_group, criterion_main};
use tessera_core::PasswordPolicy;

const PASSWORD: &str = "velvet thunder orchard kites";

fn password_policy(c: &mut Criterion) {
    let mut g = c.benchmark_group("password_policy");
    let policy = PasswordPolicy::default();
    let p16 = "gY8$kP2@wQ5!zN7&";
    let p128 = "gY8$kP2@wQ5!zN7&".repeat(8);
    g.bench_function("zxcvbn_16", |b| {
        b.iter(|| policy.check(black_box(p16), "alice").expect("strong"));
    });
    g.bench_function("zxcvbn_128", |b| {
        b.iter(|| policy.check(black_box(&p128), "alice").expect("strong"));
    });
    g.bench_function("zxcvbn_raw_16", |b| {
        b.iter(|| zxcvbn::zxcvbn(black_box(p16), &["alice", "tessera"]));
    });
    g.bench_function("zxcvbn_raw_128", |b| {
        b.iter(|| zxcvbn::zxcvbn(black_box(&p128), &["alice", "tessera"]));
    });
    g.finish();
}

fn argon2_raw(c: &mut Criterion) {
    let params = Params::new(19_456, 2, 1, None).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let phc = argon
        .hash_password_with_salt(PASSWORD.as_bytes(), &[5u8; 16])
        .expect("hash")
        .to_string();
    let parsed = PasswordHash::new(&phc).expect("phc");
    let mut g = c.benchmark_group("authenticate");
    g.sample_size(20);
    g.bench_function("argon2_raw", |b| {
        b.iter(|| {
            argon
                .verify_password(black_box(PASSWORD.as_bytes()), &parsed)
                .expect("valid");
        });
    });
    g.finish();
}

criterion_group!(benches, password_policy, argon2_raw);
criterion_main!(benches);
