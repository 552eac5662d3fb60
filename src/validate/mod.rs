//! `fabsync validate`: runs every workflow end to end against a target, collects the evidence,
//! decides each requirement PROVEN / FAILED / NOT COVERED, and writes the bundle (reports,
//! snapshots, API log, tasks, timings, seed). "Sync works" is claimed only when every
//! requirement is PROVEN.
//!
//! Targets: `sim` (default; in-process fakes on a paused clock, one seed, byte-identical bundles
//! for one seed except `timings.json`; `simulated.rs`), `real` (a kubeconfig and a NetBox URL: the
//! same workflows in real time with faults a real system can be given; `real/`) and `local` (the
//! fakes served on loopback ports, reached exactly like `real`, plus the fakes' own faults;
//! `local.rs`). Every target runs the same loop (`runner.rs`); the workflows themselves are in
//! `workflows/`.
//!
//! This file only wires: the entry points per target and writing the bundle. The modules use
//! each other in one direction, in this order (each uses only modules before it):
//! `error`, `requirements` → `model` → `scratch`, `record`, `snapshot`, `oracle`, `report` →
//! `browser` → `systems` → `cx` → `workflows` → `runner` → `simulated`, `real` → `local`.

pub mod browser;
pub(crate) mod cx;
pub(crate) mod error;
pub(crate) mod local;
pub mod model;
pub(crate) mod oracle;
pub(crate) mod real;
pub(crate) mod record;
pub(crate) mod report;
pub mod requirements;
pub(crate) mod runner;
pub(crate) mod scratch;
pub(crate) mod simulated;
pub(crate) mod snapshot;
pub(crate) mod stopwatch;
pub(crate) mod systems;
pub mod workflows;

use std::path::{Path, PathBuf};

use serde_json::Value;

use error::Context;
pub use error::ValidateError;
pub use model::{Options, Outcome, Scale};
pub use real::RealSystems;
use runner::{Target, run_on};
use simulated::SimTarget;

/// Runs the validation on the simulated target. Call it on a current-thread runtime with the
/// clock paused (see [`run_sim_blocking`]).
pub async fn run_sim(opts: &Options) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    run_on(
        &mut SimTarget {
            seed: opts.seed,
            scale: opts.scale,
        },
        opts,
    )
    .await
}

/// Runs on a real-time target; on Ctrl-C it stops the workflows, cleans up and fails.
async fn run_interruptible<T: Target>(
    target: &mut T,
    opts: &Options,
) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    {
        let run = run_on(target, opts);
        tokio::pin!(run);
        tokio::select! {
            r = &mut run => return r,
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    eprintln!("interrupted: removing what the validation created");
    let (_, reports) = target.finish().await;
    Err(ValidateError::Interrupted {
        cleanup_failures: reports.iter().filter_map(|r| r.failure.clone()).collect(),
    })
}

fn real_time_runtime() -> Result<tokio::runtime::Runtime, ValidateError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `--target real`: the workflows against the systems of `systems`, in real time.
pub fn run_real_blocking(
    opts: &Options,
    systems: RealSystems,
) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    real_time_runtime()?.block_on(async {
        let mut target =
            real::RealTarget::connect("real", systems, opts, None, None, Vec::new()).await?;
        run_interruptible(&mut target, opts).await
    })
}

/// `--target local`: the fakes on loopback ports (HTTPS for the cluster), reached like `real`;
/// with `browser`, a real Chromium clicks Sync Now.
pub fn run_local_blocking(
    opts: &Options,
    browser: Option<browser::BrowserPaths>,
) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    real_time_runtime()?.block_on(async {
        let local = local::LocalSystems::start(opts.seed).await?;
        let browser = match &browser {
            Some(paths) => Some(browser::Browser::start(paths).await?),
            None => None,
        };
        let mut target = real::RealTarget::connect(
            "local",
            local.systems.clone(),
            opts,
            Some(local.faults.clone()),
            browser.clone(),
            local.secrets.clone(),
        )
        .await?;
        let r = run_interruptible(&mut target, opts).await;
        if let Some(b) = browser {
            b.close().await;
        }
        drop(local);
        r
    })
}

/// Runs the simulated validation on its own paused current-thread runtime.
pub fn run_sim_blocking(opts: &Options) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    rt.block_on(run_sim(opts))
}

/// Writes the bundle (and `timings.json`) into `dir`.
pub fn write_bundle(
    dir: &Path,
    outcome: &Outcome,
    timings: &[(String, f64)],
) -> Result<(), ValidateError> {
    for (path, bytes) in &outcome.files {
        let p = dir.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    let t: serde_json::Map<String, Value> = timings
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    std::fs::write(
        dir.join("timings.json"),
        serde_json::to_vec_pretty(&Value::Object(t)).expect("timings serialize"),
    )
    .context("writing timings.json")
}

/// The default bundle folder: `./evidence/<UTC timestamp>`.
pub fn default_out(now: jiff::Timestamp) -> PathBuf {
    PathBuf::from("evidence").join(now.strftime("%Y%m%dT%H%M%SZ").to_string())
}
