//! Criterion benches of the sync, in-process against the fakes: the plan, a full sync, a sync
//! after one NetBox edit, and a periodic run with nothing changed, for the VLAB, `large` and
//! `xlarge` fixtures.
//!
//! Runs on a paused tokio clock, so waits (the client-side QPS budget, Retry-After) cost no wall
//! time: the numbers are the work fabsync and the fakes do. Run with
//! `cargo bench --bench sync` (or `-- full_sync/xlarge` for one).

use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use fabsync::engine::RunParams;
use fabsync::plan::{PlanConfig, plan};
use fabsync::sim::{World, WorldConfig};
use fabsync::store::{Phase, Trigger};
use fake_netbox::Fixture;

/// The binary's allocator (`src/main.rs`), so the benches measure what `fabsync` runs.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn fixtures() -> Vec<(&'static str, Fixture, &'static str)> {
    let mut v = vec![
        ("vlab", Fixture::Vlab, "vlab"),
        ("large", Fixture::Large, "fabric-large"),
    ];
    if std::env::var_os("FABSYNC_BENCH_SKIP_XLARGE").is_none() {
        v.push(("xlarge", Fixture::Xlarge, "fabric-xlarge"));
    }
    v
}

/// The QPS budget is lifted (and the deadline widened): on the paused clock its waits cost no
/// wall time anyway, but at 50 qps the xlarge first sync (~25 000 requests) would pass the
/// default 300 s deadline in virtual time. These benches measure the work, not the budget.
async fn world(fixture: &Fixture, fabric: &str) -> World {
    let w = World::new(WorldConfig {
        fixture: fixture.clone(),
        fabric: fabric.into(),
        limits: fabsync::config::Limits {
            qps: 10_000.0,
            burst: 10_000,
            concurrency: 8,
            deadline_secs: 3_600,
        },
        ..WorldConfig::default()
    });
    w.install_hedgehog().await.expect("profiles");
    w
}

async fn synced(fixture: &Fixture, fabric: &str) -> World {
    let w = world(fixture, fabric).await;
    let r = w.engine.run(RunParams::manual(fabric)).await.expect("run");
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    w
}

fn bench_plan(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    for (name, fixture, fabric) in fixtures() {
        let snapshot = rt.block_on(async {
            let w = world(&fixture, fabric).await;
            w.netbox_client()
                .read_fabric(fabric, None)
                .await
                .expect("read")
        });
        let cfg = PlanConfig::new(fabric);
        g.bench_function(name, |b| b.iter(|| plan(&snapshot, &cfg)));
    }
    g.finish();
}

fn bench_full(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("full_sync");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    for (name, fixture, fabric) in fixtures() {
        g.bench_function(name, |b| {
            b.iter_batched(
                || rt.block_on(world(&fixture, fabric)),
                |w| {
                    rt.block_on(async {
                        let r = w.engine.run(RunParams::manual(fabric)).await.expect("run");
                        assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
                        w
                    })
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn bench_one_change(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("one_change_sync");
    g.sample_size(10);
    for (name, fixture, fabric) in fixtures() {
        let w = rt.block_on(synced(&fixture, fabric));
        let device = rt.block_on(async {
            w.netbox_client()
                .list_values(
                    "dcim/devices",
                    &[("site", fabric.to_string()), ("role", "spine".to_string())],
                )
                .await
                .expect("devices")[0]["id"]
                .as_u64()
                .expect("id")
        });
        let mut n = 0u64;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    rt.block_on(async {
                        w.netbox_client()
                            .patch(
                                "dcim/devices",
                                device,
                                &serde_json::json!({"description": format!("edit {n}")}),
                            )
                            .await
                            .expect("edit");
                    });
                    let start = Instant::now();
                    let r = rt.block_on(async {
                        let mut p = RunParams::manual(fabric);
                        p.trigger = Trigger::Periodic;
                        w.engine.run(p).await.expect("run")
                    });
                    total += start.elapsed();
                    assert_eq!(r.end.writes, 1, "{:?}", r.error);
                }
                total
            })
        });
    }
    g.finish();
}

fn bench_no_change(c: &mut Criterion) {
    let rt = runtime();
    let mut g = c.benchmark_group("no_change_sync");
    g.sample_size(10);
    for (name, fixture, fabric) in fixtures() {
        let w = rt.block_on(synced(&fixture, fabric));
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut p = RunParams::manual(fabric);
                    p.trigger = Trigger::Periodic;
                    let r = w.engine.run(p).await.expect("run");
                    assert_eq!(r.end.message.as_deref(), Some("no changes"));
                })
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_plan,
    bench_full,
    bench_one_change,
    bench_no_change
);
criterion_main!(benches);
