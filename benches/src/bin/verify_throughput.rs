//! Verifies per second with 1 and 2 threads (target on redb: ≥ 500,000/s with 2 threads).
//!
//! `cargo run --release -p tessera-benches --bin verify_throughput -- [memory|redb|sled] [tokens] [seconds]`
//! (defaults: `redb 1000000 5`). The store is built once in a temp dir (its build time
//! printed); then each thread loops over the 10,000 sample tokens in a scattered order
//! calling `Engine::verify`, and the successes per second are printed, with the CPU time
//! the threads spent per verify (Linux), which a loaded machine does not inflate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera_benches::{Fixtures, SAMPLE, engine, run, runtime};

/// Verifies per second the two-thread figure must reach on redb.
const TARGET_2_THREADS: f64 = 500_000.0;

/// This thread's time on a CPU so far, in ns (0 where the kernel does not say). On a
/// machine shared with other work, wall-clock rates drop with the load while this does not.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "redb".to_owned());
    let tokens: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let rt = runtime();
    let fixtures = Fixtures::default();
    let (store, sample) = fixtures.get(&rt, &backend, tokens);
    let engine = engine(store);
    for threads in [1usize, 2] {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let cpu = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (engine, sample, stop, count, cpu) = (
                    Arc::clone(&engine),
                    Arc::clone(&sample),
                    Arc::clone(&stop),
                    Arc::clone(&count),
                    Arc::clone(&cpu),
                );
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("runtime");
                    let cpu_start = thread_cpu_ns();
                    let mut i = t * 977;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1024 {
                            i = (i + 7_919) % SAMPLE;
                            run(&rt, engine.verify(sample.get(i))).expect("valid token");
                            n += 1;
                        }
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                    cpu.fetch_add(thread_cpu_ns() - cpu_start, Ordering::Relaxed);
                })
            })
            .collect();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().expect("thread");
        }
        let n = count.load(Ordering::Relaxed);
        #[allow(clippy::cast_precision_loss)] // rates for humans
        let (rate, cpu_per_verify) = (
            n as f64 / started.elapsed().as_secs_f64(),
            cpu.load(Ordering::Relaxed) as f64 / 1_000.0 / n.max(1) as f64,
        );
        let verdict = match (backend.as_str(), threads) {
            ("redb", 2) if rate >= TARGET_2_THREADS => " (target ≥ 500000/s: PASS)",
            ("redb", 2) => " (target ≥ 500000/s: MISS)",
            _ => "",
        };
        println!(
            "{backend}: {threads} thread(s): {rate:.0} verifies/s{verdict}; \
             {cpu_per_verify:.2} µs of CPU per verify"
        );
    }
    drop(engine);
    drop(sample);
    drop(fixtures);
}
