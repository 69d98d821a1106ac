//! Verifies per second with 1 and 2 threads.
//!
//! `cargo run --release -p tessera-benches --bin verify_throughput -- [memory|redb|sled] [tokens] [seconds]`
//! Each thread loops over the sample tokens calling `Engine::verify` and counts successes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera_benches::{SAMPLE, engine, open_backend, run, runtime};

fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "memory".to_owned());
    let tokens: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let rt = runtime();
    let (store, sample) = open_backend(&rt, &backend, tokens);
    let engine = engine(store);
    let sample = Arc::new(sample);
    for threads in [1usize, 2] {
        let stop = Arc::new(AtomicBool::new(false));
        let count = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (engine, sample, stop, count) = (
                    Arc::clone(&engine),
                    Arc::clone(&sample),
                    Arc::clone(&stop),
                    Arc::clone(&count),
                );
                let rt = runtime();
                std::thread::spawn(move || {
                    let mut i = t * 977;
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..1024 {
                            i = (i + 7_919) % SAMPLE;
                            run(&rt, engine.verify(&sample[i])).expect("valid token");
                            n += 1;
                        }
                    }
                    count.fetch_add(n, Ordering::Relaxed);
                })
            })
            .collect();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join().expect("thread");
        }
        #[allow(clippy::cast_precision_loss)] // a rate for humans
        let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
        println!("{backend}: {threads} thread(s): {rate:.0} verifies/s");
    }
}
