//! Criterion benches of the randomized simulation: one seed (world, operations, invariants,
//! liveness phase) of 30 minutes, 1 and 24 virtual hours of operations with up
//! to 2 fabrics and 2 replicas, so seeds
//! per second and virtual hours per wall second follow from the time per seed. Run with
//! `cargo bench --bench simulate`.

use criterion::{Criterion, criterion_group, criterion_main};
use fabsync::simulate::{Limits, Options, run_seed};

/// The binary's allocator (`src/main.rs`), so the benches measure what `fabsync` runs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn seeds(c: &mut Criterion) {
    // What `fabsync simulate` does before its seeds.
    fabsync::simulate::keep_freed_c_memory();
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    for (name, minutes) in [("30min", 30u64), ("1h", 60), ("24h", 24 * 60)] {
        let opts = Options {
            limits: Limits {
                minutes,
                fabrics: 2,
                replicas: 2,
            },
            ..Options::default()
        };
        // Seeds 0–9 in turn: one seed per iteration, a mix of worlds.
        let mut seed = 0u64;
        g.bench_function(format!("seed_{name}"), |b| {
            b.iter(|| {
                let r = run_seed(seed % 10, &opts).expect("the seed runs");
                seed += 1;
                r.virtual_secs
            })
        });
    }
    g.finish();
}

criterion_group!(benches, seeds);
criterion_main!(benches);
