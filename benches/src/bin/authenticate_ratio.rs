//! `authenticate/tessera_redb` against `authenticate/argon2_raw`, interleaved (target: the
//! engine call ≤ 1.05 × the bare argon2id verify).
//!
//! `cargo run --release -p tessera-benches --bin authenticate_ratio -- [rounds]` (default
//! 100). Criterion runs its benchmarks one after another, so on a machine whose speed drifts
//! (a shared VM) two medians taken a minute apart can differ by more than the 5 % being
//! measured. Here each round times one full `Engine::authenticate` on redb (correct
//! password, token written durably), one bare argon2id verify as the `argon2` crate does it
//! (fresh memory per call, as `argon2_raw`), and one with its memory reused (as the
//! engine's hash pool does), back to back; the medians and ratios are printed.

use std::time::Instant;

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, PasswordHasher as _, PasswordVerifier as _};
use tessera_benches::{engine, open_durable, runtime, temp_dir};

const PASSWORD: &str = "velvet thunder orchard kites";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn millis(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100)
        .max(1);
    let rt = runtime();
    let dir = temp_dir("redb-authenticate");
    let e = engine(open_durable("redb", dir.path()));
    rt.block_on(e.register_profile("bench-login", PASSWORD))
        .expect("register");
    // The engine's default parameters (OWASP: 19 MiB, t = 2, p = 1).
    let params = Params::new(19_456, 2, 1, None).expect("params");
    let argon = Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, params.clone());
    let salt = [5u8; 16];
    let phc = argon
        .hash_password_with_salt(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string();
    let parsed = PasswordHash::new(&phc).expect("phc");
    let mut memory = vec![Block::new(); params.block_count()];
    let mut out = [0u8; 32];
    let (mut engine_ms, mut raw_ms, mut reused_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        rt.block_on(e.authenticate("bench-login", PASSWORD, None))
            .expect("login");
        engine_ms.push(millis(t));
        let t = Instant::now();
        argon
            .verify_password(PASSWORD.as_bytes(), &parsed)
            .expect("valid");
        raw_ms.push(millis(t));
        let t = Instant::now();
        argon
            .hash_password_into_with_memory(PASSWORD.as_bytes(), &salt, &mut out, &mut memory)
            .expect("hash");
        reused_ms.push(millis(t));
    }
    let (a, r, m) = (median(engine_ms), median(raw_ms), median(reused_ms));
    println!("{rounds} interleaved rounds, medians:");
    println!("  authenticate/tessera_redb           {a:8.2} ms");
    println!(
        "  argon2_raw (fresh memory per call)  {r:8.2} ms   ratio {:.3} (target <= 1.05)",
        a / r
    );
    println!(
        "  argon2 with its memory reused       {m:8.2} ms   ratio {:.3}",
        a / m
    );
    drop(e);
    drop(dir);
}
