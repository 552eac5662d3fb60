//! Criterion benches of the randomized simulation: one seed (world, operations, invariants,
//! liveness phase) of 1 and of 24 virtual hours with up to 2 fabrics and 2 replicas, so seeds
//! per second and virtual hours per wall second follow from the time per seed. Run with
//! `cargo bench --bench simulate`.

use criterion::{Criterion, criterion_group, criterion_main};
use fabsync::simulate::{Limits, Options, run_seed};

/// The binary's allocator (`src/main.rs`), so the benches measure what `fabsync` runs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn seeds(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    for hours in [1u64, 24] {
        let opts = Options {
            limits: Limits {
                hours,
                fabrics: 2,
                replicas: 2,
            },
            ..Options::default()
        };
        // Seeds 0–9 in turn: one seed per iteration, a mix of worlds.
        let mut seed = 0u64;
        g.bench_function(format!("seed_{hours}h"), |b| {
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
