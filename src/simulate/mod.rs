//! `fabsync simulate`: randomized deterministic simulation. Each seed draws a scenario (fabrics,
//! replicas, a timed stream of edits, faults and crashes), builds one world on a paused clock,
//! carries the stream out and checks the invariants after every step and at the end; a broken
//! invariant stops the seed and says how to replay it. `--shrink` reduces the stream of a
//! failing seed to a minimal one that still fails the same way.
//!
//! It holds no sync logic: fabsync runs as it does in production (engine, scheduler with
//! Leases, HTTP layer), against the in-process fakes. Same seed ⇒ same output, byte for byte.

mod checks;
mod observer;
mod ops;
mod scenario;
mod wire;
mod world;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use observer::{Stats, Violation};
pub use scenario::{FabricPlan, Fault, Limits, Op, Scenario, Shape, Timed};

use crate::planted::Bug;
use world::SimWorld;

/// How to run seeds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// Scenario limits.
    pub limits: Limits,
    /// A planted bug (builds with the `planted-bugs` feature only).
    pub plant: Option<Bug>,
    /// Run only these operations of the scenario (by index), as a shrunk replay does.
    pub only: Option<Vec<usize>>,
    /// Record one line per operation.
    pub trace: bool,
}

/// What one seed did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// The seed.
    pub seed: u64,
    /// Fabrics, as `name:shape:interval`.
    pub fabrics: Vec<String>,
    /// Replicas.
    pub replicas: usize,
    /// Operations carried out.
    pub ops: usize,
    /// Virtual seconds simulated (operations and the liveness phase).
    pub virtual_secs: u64,
    /// Counts.
    pub stats: Stats,
    /// The first broken invariant.
    pub violation: Option<Violation>,
    /// One line per operation (with `trace`).
    pub trace: Vec<String>,
    /// The scenario's operations, by index, as carried out (for shrinking and replay).
    pub kept: Vec<usize>,
    /// Where the violation happened: the operation it followed (its index), or `None` for
    /// before the first one or in the liveness phase.
    pub after_op: Option<usize>,
    /// Whether the violation happened in the liveness phase.
    pub in_liveness: bool,
}

/// The command line that replays a seed exactly.
pub fn replay_command(seed: u64, opts: &Options) -> String {
    let l = opts.limits;
    let span = if l.minutes.is_multiple_of(60) {
        format!("--hours {}", l.minutes / 60)
    } else {
        format!("--minutes {}", l.minutes)
    };
    let mut s = format!(
        "fabsync simulate --seed {seed} {span} --fabrics {} --replicas {}",
        l.fabrics, l.replicas
    );
    if let Some(b) = opts.plant {
        let _ = write!(s, " --plant {}", b.name());
    }
    if let Some(only) = &opts.only {
        let list: Vec<String> = only.iter().map(|i| i.to_string()).collect();
        let _ = write!(s, " --ops {}", list.join(","));
    }
    s
}

/// Runs one seed on this thread (its own paused runtime). Planting a bug in a build without
/// the `planted-bugs` feature is an error.
pub fn run_seed(seed: u64, opts: &Options) -> Result<SeedReport, String> {
    crate::planted::plant(opts.plant)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| format!("starting a runtime: {e}"))?;
    let scenario = Scenario::draw(seed, opts.limits);
    let log = checks::LogCapture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let report = {
        let _guard = tracing::subscriber::set_default(subscriber);
        rt.block_on(drive(&scenario, opts, &log))
    };
    crate::planted::plant(None)?;
    report
}

/// Runs seeds `seeds` on `threads` threads; reports sorted by seed.
pub fn run_seeds(seeds: &[u64], opts: &Options, threads: usize) -> Result<Vec<SeedReport>, String> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let out: Arc<Mutex<Vec<Result<SeedReport, String>>>> = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            let next = next.clone();
            let out = out.clone();
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(seed) = seeds.get(i) else { break };
                    let r = run_seed(*seed, opts);
                    out.lock().unwrap_or_else(|p| p.into_inner()).push(r);
                }
            });
        }
    });
    let mut reports = Arc::try_unwrap(out)
        .map_err(|_| "a simulation thread is still running".to_string())?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    reports.sort_by_key(|r| r.seed);
    Ok(reports)
}

/// Shrinks a failing seed: the smallest subset of its operations (found greedily, at most
/// `budget` replays) that still breaks the same invariant. `None` when the seed does not fail.
pub fn shrink(seed: u64, opts: &Options, budget: usize) -> Result<Option<SeedReport>, String> {
    let first = run_seed(seed, opts)?;
    let Some(v) = first.violation.clone() else {
        return Ok(None);
    };
    let fails = |only: &[usize]| -> Result<Option<SeedReport>, String> {
        let o = Options {
            only: Some(only.to_vec()),
            trace: false,
            ..opts.clone()
        };
        let r = run_seed(seed, &o)?;
        Ok(r.violation
            .as_ref()
            .is_some_and(|w| w.invariant == v.invariant)
            .then_some(r))
    };
    // Nothing after the failing step matters.
    let mut keep: Vec<usize> = first.kept.iter().copied().take(v.step + 1).collect();
    let mut best = first;
    let mut tries = 0;
    if let Some(r) = fails(&keep)? {
        best = r;
    } else {
        keep = best.kept.clone();
    }
    let mut chunk = keep.len().div_ceil(2).max(1);
    while chunk >= 1 && tries < budget {
        let mut i = 0;
        let mut removed = false;
        while i < keep.len() && tries < budget {
            let mut trial = keep.clone();
            trial.drain(i..(i + chunk).min(trial.len()));
            tries += 1;
            if let Some(r) = fails(&trial)? {
                keep = trial;
                best = r;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed {
            break;
        }
        if !removed {
            chunk = chunk.div_ceil(2).min(chunk - 1).max(1);
        }
    }
    let o = Options {
        only: Some(keep),
        trace: true,
        ..opts.clone()
    };
    let mut r = run_seed(seed, &o)?;
    if r.violation.is_none() {
        // Shrinking never changes the outcome of a kept subset; keep the smallest that failed.
        r = best;
    }
    Ok(Some(r))
}

/// Sleeps until virtual second `at`, with the world running.
async fn until(world: &SimWorld, at: u64) {
    let now = world.now_secs();
    if at > now {
        tokio::time::sleep(Duration::from_secs(at - now)).await;
    }
}

async fn drive(
    scenario: &Scenario,
    opts: &Options,
    log: &checks::LogCapture,
) -> Result<SeedReport, String> {
    let mut world = SimWorld::build(scenario).await?;
    let indices: Vec<usize> = match &opts.only {
        Some(only) => only
            .iter()
            .copied()
            .filter(|i| *i < scenario.ops.len())
            .collect(),
        None => (0..scenario.ops.len()).collect(),
    };
    let mut trace = Vec::new();
    let mut kept = Vec::new();
    let mut violation = None;
    for (step, &i) in indices.iter().enumerate() {
        let t = &scenario.ops[i];
        world.observer.set_step(step);
        until(&world, t.at).await;
        world.reap();
        if let Some(v) = checks::step(&world) {
            violation = Some(v);
            break;
        }
        kept.push(i);
        let did = world.apply(&t.op).await;
        if opts.trace {
            trace.push(format!("{:>6} s  #{i:<3} {} → {did}", t.at, t.op));
        }
        tokio::task::yield_now().await;
        world.reap();
        if let Some(v) = world.observer.first_violation() {
            violation = Some(v);
            break;
        }
    }
    if violation.is_none() {
        world.observer.set_step(indices.len());
        until(&world, scenario.horizon()).await;
        world.reap();
        violation = checks::step(&world);
    }
    if violation.is_none() {
        violation = checks::liveness(&mut world, &mut trace, opts.trace).await;
    }
    if violation.is_none() {
        violation = checks::audit_complete(&world);
    }
    if violation.is_none() {
        violation = checks::no_secrets(&world, log);
    }
    if opts.trace {
        for (r, rep) in world.replicas.iter().enumerate() {
            let mut runs = rep.store.all_runs().unwrap_or_default();
            runs.sort_by_key(|x| x.id);
            for run in runs {
                let objects = if run.end.phase == crate::store::Phase::Failure {
                    rep.store.run_objects(run.id).unwrap_or_default()
                } else {
                    Vec::new()
                };
                for o in objects
                    .iter()
                    .filter(|o| o.action != crate::store::Action::Unchanged)
                {
                    trace.push(format!(
                        "    run {} {} {} {} {}: {}",
                        run.id,
                        o.action.as_str(),
                        o.kind,
                        o.name,
                        o.result.as_str(),
                        o.message.as_deref().unwrap_or_default()
                    ));
                }
                trace.push(format!(
                    "replica {r} run {:>3} {} {:<8} {:<8} {} {}",
                    run.id,
                    run.fabric,
                    run.trigger.as_str(),
                    run.end.phase.as_str(),
                    crate::clock::format_ts(run.started_at),
                    run.end
                        .error
                        .or(run.end.message)
                        .unwrap_or_default()
                        .lines()
                        .next()
                        .unwrap_or_default()
                ));
            }
        }
    }
    let (after_op, in_liveness) = match &violation {
        Some(v) if v.step < indices.len() => (v.step.checked_sub(1).map(|s| indices[s]), false),
        Some(_) => (indices.last().copied(), true),
        None => (None, false),
    };
    let report = SeedReport {
        after_op,
        in_liveness,
        seed: scenario.seed,
        fabrics: scenario
            .fabrics
            .iter()
            .map(|f| format!("{}:{}:{}s", f.name, f.shape, f.interval_secs))
            .collect(),
        replicas: scenario.replicas,
        ops: kept.len(),
        virtual_secs: world.now_secs(),
        stats: world.observer.stats(),
        violation,
        trace,
        kept,
    };
    for r in 0..world.replicas.len() {
        world.kill(r);
    }
    Ok(report)
}

/// Keeps memory the C allocator frees for the rest of the process. Every seed opens in-memory
/// SQLite stores and drops them; SQLite allocates with the C allocator, which handed those pages
/// back to the kernel at each drop and faulted them in again at the next open: 1000 seeds took
/// 31.2 s on two threads with 12 s of it in the kernel, and 24.3 s with the memory kept. For
/// batch commands only (`simulate`, `validate`); a server keeps the allocator's defaults.
#[allow(unsafe_code)]
pub fn keep_freed_c_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt changes only the C allocator's tuning parameters and takes plain integers;
    // glibc serialises it with its own allocation locks.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}
