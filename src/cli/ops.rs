//! The operator commands over a `fabsync.toml`: `sync` (one run, progress on a terminal, a
//! summary table, an exit code), `diff` (what a sync would change, field by field, like
//! `kubectl diff`), `status` and `runs`.
//!
//! Glue only: the engine runs, the store remembers, this prints.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::{EXIT_CHANGES, EXIT_ERROR, EXIT_HELD, EXIT_INVALID, EXIT_OK};
use crate::clock::{SharedClock, SystemClock, format_ts};
use crate::config::Config;
use crate::engine::{Engine, EngineError, RealConnector, RunParams};
use crate::store::{Phase, Store};
use crate::text::table;

/// Where the configuration is.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Configuration file
    #[arg(
        long,
        short = 'c',
        env = "FABSYNC_CONFIG",
        default_value = "fabsync.toml"
    )]
    pub config: PathBuf,
}

/// `fabsync sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Fabric name (as in the configuration)
    pub fabric: String,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Approve up to N deletions the deletion guard would hold (see `fabsync diff` for them)
    #[arg(long, value_name = "N", conflicts_with = "prune")]
    pub allow_deletes: Option<u64>,
    /// Approve every deletion this run makes
    #[arg(long)]
    pub prune: bool,
}

/// `fabsync diff`.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// Fabric name (as in the configuration)
    pub fabric: String,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Print only the field summary, not the unified diffs
    #[arg(long)]
    pub summary: bool,
}

/// `fabsync status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `fabsync runs`.
#[derive(Debug, Clone, Args)]
pub struct RunsArgs {
    /// Fabric name
    pub fabric: String,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// How many runs to list
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Show one run in full (every object's result and the error)
    #[arg(long, value_name = "RUN_ID")]
    pub id: Option<i64>,
}

fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    EXIT_ERROR
}

/// Reads the configuration, opens its store and brings the fabrics of the file into it.
pub fn open(path: &Path) -> Result<(Config, Store), u8> {
    let config = Config::load(path).map_err(fail)?;
    let keep = (config.store.keep_runs > 0).then_some(config.store.keep_runs);
    let store = Store::open(&config.store.path)
        .map_err(fail)?
        .with_retention(keep);
    for f in &config.fabrics {
        // The file's section for this fabric, hashed: UI edits survive until it changes.
        let section = toml::to_string(f).unwrap_or_default();
        let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(section.as_bytes()));
        store.import_fabric(f, &hash).map_err(fail)?;
    }
    // Runs a killed process left open are closed now, not at the next sync.
    let now = crate::clock::Clock::now(&SystemClock);
    crate::identity::release_dead_locks(&store).map_err(fail)?;
    let closed = store
        .close_interrupted(&crate::store::Sweep {
            now,
            me: None,
            fabric: None,
            alive_since: now - crate::scheduler::REPLICA_TTL,
            tasks: true,
        })
        .map_err(fail)?;
    for run in closed {
        eprintln!(
            "note: closed run {} of fabric {:?}: the process running it had stopped",
            run.id, run.fabric
        );
    }
    Ok((config, store))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
}

/// `fabsync sync FABRIC`.
pub fn sync(args: SyncArgs) -> u8 {
    let (config, store) = match open(&args.config.config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = config.check_secrets() {
        return fail(e);
    }
    if config.fabric(&args.fabric).is_none() {
        return fail(format!(
            "fabric {:?} is not in {} (fabrics: {})",
            args.fabric,
            args.config.config.display(),
            config
                .fabrics
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let mut engine = Engine::new(store.clone(), clock, Arc::new(RealConnector))
        .with_owner(crate::identity::this_process("sync"));
    if std::io::stderr().is_terminal() {
        engine = engine.with_progress(Arc::new(|run, step| {
            eprintln!("run {run}: {step}");
        }));
    }
    let approval = if args.prune {
        Some(u64::MAX)
    } else {
        args.allow_deletes
    };
    let params = RunParams::manual(&args.fabric).approving(approval);
    let report = match runtime().block_on(engine.run(params)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    println!("{}", summary_table(&report.by_kind));
    let end = &report.end;
    println!(
        "run {}: {} in {} ms — {} ({} cluster requests, {} cluster writes, {} NetBox requests)",
        report.run_id,
        report.phase,
        end.duration_ms.unwrap_or_default(),
        end.message.clone().unwrap_or_default(),
        end.cluster_calls,
        end.writes,
        end.netbox_calls
    );
    for f in &report.findings {
        // A finding says its own severity ("fatal: NetBox …").
        eprintln!("{f}");
    }
    for o in report
        .objects
        .iter()
        .filter(|o| o.message.is_some() && o.result != crate::store::ObjectResult::Ok)
    {
        eprintln!(
            "{} {}/{}: {} ({})",
            o.action,
            o.kind,
            o.name,
            o.result,
            o.message.clone().unwrap_or_default()
        );
    }
    match &report.error {
        None => EXIT_OK,
        Some(e) => {
            eprintln!("error: {e}");
            match e {
                EngineError::InvalidData(_) => EXIT_INVALID,
                EngineError::Held(h) => {
                    eprintln!(
                        "to approve: fabsync sync {} --allow-deletes {} (or Sync Now → approve deletions in the UI)",
                        args.fabric, h.total
                    );
                    EXIT_HELD
                }
                _ => EXIT_ERROR,
            }
        }
    }
}

/// A table of per-kind counts.
pub fn summary_table(by_kind: &std::collections::BTreeMap<String, crate::store::Counts>) -> String {
    let mut rows = vec![[
        "KIND".to_string(),
        "CREATED".into(),
        "UPDATED".into(),
        "DELETED".into(),
        "UNCHANGED".into(),
        "FAILED".into(),
        "SKIPPED".into(),
    ]];
    for (kind, c) in by_kind {
        rows.push([
            kind.clone(),
            c.created.to_string(),
            c.updated.to_string(),
            c.deleted.to_string(),
            c.unchanged.to_string(),
            c.failed.to_string(),
            c.skipped.to_string(),
        ]);
    }
    table(&rows)
}

/// `fabsync diff FABRIC`: exit 0 when in sync, 1 when a sync would change something.
pub fn diff(args: DiffArgs) -> u8 {
    let (config, store) = match open(&args.config.config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Err(e) = config.check_secrets() {
        return fail(e);
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let engine = Engine::new(store, clock, Arc::new(RealConnector));
    let preview = match runtime().block_on(engine.preview(&args.fabric)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    print!("{}", render_preview(&preview, args.summary));
    if preview.findings.iter().any(|f| f.severity == "fatal") {
        return EXIT_INVALID;
    }
    if preview.changes.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    }
}

/// The text of a preview: findings, then per object the field changes and the unified diff.
pub fn render_preview(p: &crate::engine::Preview, summary_only: bool) -> String {
    let mut out = String::new();
    for f in &p.findings {
        out.push_str(&format!("{}\n", f.message));
    }
    if let Some(h) = &p.held {
        out.push_str(&format!(
            "held: a sync would hold {} deletion(s) for approval: {}\n",
            h.total,
            h.cause_text()
        ));
    }
    for c in &p.changes {
        out.push_str(&format!(
            "{} {}/{} ({}){}\n",
            c.action,
            c.kind,
            c.name,
            c.reason,
            c.refused
                .as_ref()
                .map(|r| format!(" — the cluster would refuse it: {r}"))
                .unwrap_or_default()
        ));
        for f in &c.fields {
            let show = |v: &Option<serde_json::Value>| match v {
                None => "(absent)".to_string(),
                Some(v) => v.to_string(),
            };
            out.push_str(&format!(
                "  {}: {} -> {}\n",
                f.path,
                show(&f.before),
                show(&f.after)
            ));
        }
        if !summary_only {
            out.push_str(&c.unified);
        }
    }
    out.push_str(&format!(
        "{} change(s), {} object(s) unchanged\n",
        p.changes.len(),
        p.unchanged
    ));
    out
}

/// `fabsync status`.
pub fn status(args: StatusArgs) -> u8 {
    let (_config, store) = match open(&args.config.config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let fabrics = match store.fabrics() {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut rows = vec![[
        "FABRIC".to_string(),
        "STATUS".into(),
        "NETBOX".into(),
        "CLUSTER".into(),
        "LAST SYNC".into(),
        "NEXT RUN".into(),
        "OBJECTS".into(),
        "LAST ERROR".into(),
    ]];
    for f in &fabrics {
        rows.push([
            f.name.clone(),
            f.status.to_string(),
            f.netbox_state.to_string(),
            f.cluster_state.to_string(),
            f.last_success_at
                .map(format_ts)
                .unwrap_or_else(|| "never".into()),
            if f.config.enabled && f.config.interval_secs > 0 {
                f.next_run_at
                    .map(format_ts)
                    .unwrap_or_else(|| "when serve runs".into())
            } else {
                "periodic sync off".into()
            },
            f.object_count.map(|n| n.to_string()).unwrap_or_default(),
            f.last_error.as_deref().map(short).unwrap_or_default(),
        ]);
    }
    println!("{}", table(&rows));
    EXIT_OK
}

/// The first line of an error, at most 80 characters.
pub fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line.to_string()
    }
}

/// `fabsync runs FABRIC`.
pub fn runs(args: RunsArgs) -> u8 {
    let (_config, store) = match open(&args.config.config) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Some(id) = args.id {
        let run = match store.run(id) {
            Ok(r) if r.fabric == args.fabric => r,
            Ok(_) => return fail(format!("run {id} is not a run of fabric {:?}", args.fabric)),
            Err(e) => return fail(e),
        };
        println!(
            "run {} of {}: {} ({}), trigger {}, attempt {}, started {}, {} ms",
            run.id,
            run.fabric,
            run.end.phase,
            run.end.message.clone().unwrap_or_default(),
            run.trigger,
            run.attempt,
            format_ts(run.started_at),
            run.end.duration_ms.unwrap_or(0)
        );
        if let Some(e) = &run.end.error {
            println!("error: {e}");
        }
        let objects = match store.run_objects(id) {
            Ok(o) => o,
            Err(e) => return fail(e),
        };
        let mut rows = vec![[
            "KIND".to_string(),
            "NAME".into(),
            "ACTION".into(),
            "RESULT".into(),
            "MESSAGE".into(),
        ]];
        for o in objects {
            rows.push([
                o.kind,
                o.name,
                o.action.to_string(),
                o.result.to_string(),
                o.message.unwrap_or_default(),
            ]);
        }
        println!("{}", table(&rows));
        return if run.end.phase == Phase::Failure {
            EXIT_ERROR
        } else {
            EXIT_OK
        };
    }
    let runs = match store.runs(&args.fabric, args.limit) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut rows = vec![[
        "RUN".to_string(),
        "TRIGGER".into(),
        "STARTED".into(),
        "DURATION".into(),
        "RESULT".into(),
        "CREATED".into(),
        "UPDATED".into(),
        "DELETED".into(),
        "UNCHANGED".into(),
        "API CALLS".into(),
        "MESSAGE".into(),
    ]];
    for r in runs {
        rows.push([
            r.id.to_string(),
            r.trigger.to_string(),
            format_ts(r.started_at),
            r.end
                .duration_ms
                .map(|d| format!("{d} ms"))
                .unwrap_or_else(|| "running".into()),
            r.end.phase.to_string(),
            r.end.counts.created.to_string(),
            r.end.counts.updated.to_string(),
            r.end.counts.deleted.to_string(),
            r.end.counts.unchanged.to_string(),
            (r.end.cluster_calls + r.end.netbox_calls).to_string(),
            short(
                r.end
                    .error
                    .as_deref()
                    .or(r.end.message.as_deref())
                    .unwrap_or_default(),
            ),
        ]);
    }
    println!("{}", table(&rows));
    EXIT_OK
}
