//! Full engine calls on redb with production argon2 parameters.
//!
//! Groups: `authenticate` (`tessera_redb`: a correct password, the whole engine call
//! including the token write), `register` (`tessera_redb`: policy, hash, create).

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_benches::{engine, open_durable, runtime, temp_dir};

const PASSWORD: &str = "velvet thunder orchard kites";

fn engine_calls(c: &mut Criterion) {
    let rt = runtime();
    let dir = temp_dir("redb-engine");
    let e = engine(open_durable("redb", dir.path()));
    rt.block_on(e.register_profile("bench-login", PASSWORD))
        .expect("register");

    let mut g = c.benchmark_group("authenticate");
    g.sample_size(20);
    g.bench_function("tessera_redb", |b| {
        b.iter(|| {
            rt.block_on(e.authenticate(black_box("bench-login"), PASSWORD, None))
                .expect("login")
        });
    });
    g.finish();

    let n = AtomicUsize::new(0);
    let mut g = c.benchmark_group("register");
    g.sample_size(20);
    g.bench_function("tessera_redb", |b| {
        b.iter(|| {
            let i = n.fetch_add(1, Ordering::Relaxed);
            rt.block_on(e.register_profile(&format!("bench-user-{i}"), PASSWORD))
                .expect("register")
        });
    });
    g.finish();
    drop(e);
    drop(dir);
}

criterion_group!(benches, engine_calls);
criterion_main!(benches);
