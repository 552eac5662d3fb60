//! The loop every target runs ([`run_on`] over a [`Target`]): for each selected workflow, the
//! target builds its systems, the workflow runs on them (a panic is a failure, not a crash),
//! snapshots of NetBox and the cluster are taken before and after, and the API log and tasks are
//! collected; then the evidence-bundle checks, the requirement verdicts and every report file.
//!
//! It knows no target: how systems are built and tidied up is the target's job (`simulated.rs`,
//! `real/`), and what a workflow does is `workflows/`.

use super::stopwatch::Stopwatch;
use std::collections::BTreeMap;

use futures::FutureExt;
use serde_json::Value;

use super::cx::{Cx, Step};
use super::error::ValidateError;
use super::model::{
    Files, Options, Outcome, StepReport, UserType, ValidationReport, WorkflowReport,
};
use super::report;
use super::snapshot;
use super::systems::Env;
use super::workflows::{self, Def, WORKFLOWS};

async fn snapshots(env: &Env) -> Result<(String, String), ValidateError> {
    let site = env
        .store
        .fabric(&env.fabric)
        .map(|f| f.config.site_slug().to_string())?;
    let nb = snapshot::netbox(&env.netbox, &site).await?;
    let cl = snapshot::cluster(&env.kube, "default").await?;
    Ok((nb, cl))
}

/// Runs one workflow on an environment; returns its report and the requirements it found not
/// provable on this target (with the reason).
async fn run_workflow(
    def: &Def,
    env: &mut Env,
    files: &mut Files,
    timings: &mut Vec<(String, f64)>,
) -> (WorkflowReport, Vec<(String, String)>) {
    let dir = format!("snapshots/{}", def.id);
    let mut evidence = Vec::new();
    let before = snapshots(env).await;
    let (steps, failure, uncovered) = {
        let mut cx = Cx::new(env, def.id, files, timings);
        let r = std::panic::AssertUnwindSafe(workflows::run(def.id, &mut cx))
            .catch_unwind()
            .await;
        let failure = match r {
            Ok(r) => r.err().map(|s| s.0),
            Err(panic) => Some(format!(
                "the workflow panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        (cx.steps, failure, cx.uncovered)
    };
    let _ = env.faults.clear().await;
    // Let anything the workflow started settle before the after-snapshot.
    env.scheduler.idle().await;
    let after = snapshots(env).await;
    match (before, after) {
        (Ok((nb0, cl0)), Ok((nb1, cl1))) => {
            for (name, content) in [
                ("netbox-before.txt", nb0.clone()),
                ("netbox-after.txt", nb1.clone()),
                ("cluster-before.txt", cl0.clone()),
                ("cluster-after.txt", cl1.clone()),
                (
                    "diff.txt",
                    format!(
                        "{}{}",
                        snapshot::diff("netbox", &nb0, &nb1),
                        snapshot::diff("cluster", &cl0, &cl1)
                    ),
                ),
            ] {
                let path = format!("{dir}/{name}");
                files.insert(path.clone(), content.into_bytes());
                evidence.push(path);
            }
        }
        (b, a) => {
            let path = format!("{dir}/error.txt");
            files.insert(
                path.clone(),
                format!(
                    "snapshots failed: before {:?}; after {:?}\n",
                    b.err().map(|e| e.to_string()),
                    a.err().map(|e| e.to_string())
                )
                .into_bytes(),
            );
            evidence.push(path);
        }
    }
    let report = WorkflowReport {
        id: def.id.to_string(),
        goal: def.goal.to_string(),
        user: def.user,
        passed: failure.is_none() && steps.iter().all(|s| s.passed),
        steps,
        failure,
        evidence,
    };
    (report, uncovered)
}

pub(crate) fn jsonl<T: serde::Serialize>(workflow: &str, items: &[T]) -> String {
    let mut s = String::new();
    for it in items {
        let mut v = serde_json::to_value(it).expect("records serialize");
        if let Value::Object(m) = &mut v {
            m.insert("workflow".into(), Value::String(workflow.to_string()));
        }
        s.push_str(&serde_json::to_string(&v).expect("JSON serializes"));
        s.push('\n');
    }
    s
}

/// Proves the evidence requirements over the bundle so far.
fn evidence_workflow(
    workflows: &[WorkflowReport],
    api_log: &str,
    secrets: &[String],
) -> WorkflowReport {
    let mut steps = Vec::new();
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| !s.is_empty() && api_log.contains(s.as_str()))
        .collect();
    let lines = api_log.lines().count();
    let servers: std::collections::BTreeSet<String> = api_log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["server"].as_str().map(str::to_string))
        .collect();
    let step = |s: Step, passed: bool, observed: String, evidence: Vec<String>| StepReport {
        name: s.name.into(),
        action: s.action.into(),
        expected: s.expected.into(),
        observed,
        passed,
        requirements: s.proves.iter().map(|r| r.to_string()).collect(),
        evidence,
        clock_ms: 0,
    };
    steps.push(step(
        Step {
            name: "every request recorded, tokens redacted",
            action: "read api-log.jsonl and search it for every token the run used",
            expected: "requests to both systems are recorded and no token appears",
            proves: &["EV-1"],
        },
        leaked.is_empty()
            && lines > 0
            && servers.contains("apiserver")
            && servers.contains("netbox"),
        format!(
            "{lines} requests from {}; {} token(s) found in the log",
            servers.iter().cloned().collect::<Vec<_>>().join(" and "),
            leaked.len()
        ),
        vec!["api-log.jsonl".into()],
    ));
    let missing: Vec<&str> = workflows
        .iter()
        .filter(|w| {
            ![
                "netbox-before.txt",
                "netbox-after.txt",
                "cluster-before.txt",
                "cluster-after.txt",
                "diff.txt",
            ]
            .iter()
            .all(|f| w.evidence.iter().any(|e| e.ends_with(f)))
        })
        .map(|w| w.id.as_str())
        .collect();
    steps.push(step(
        Step {
            name: "snapshots of every workflow",
            action: "look for before/after snapshots of NetBox and the cluster and their diff for every workflow",
            expected: "all present",
            proves: &["EV-2"],
        },
        missing.is_empty(),
        if missing.is_empty() {
            format!("{} workflows × 5 snapshot files", workflows.len())
        } else {
            format!("missing for {}", missing.join(", "))
        },
        vec!["snapshots/".into()],
    ));
    WorkflowReport::from_steps(
        "evidence-bundle",
        "The run leaves evidence a reviewer can check",
        UserType::Operator,
        steps,
    )
}

/// Where the workflows run: builds each workflow's systems, takes its API log afterwards and
/// tidies up. `sim`, `real` and `local` all run [`run_on`].
pub(crate) trait Target {
    /// `sim`, `real` or `local`.
    fn name(&self) -> &'static str;
    /// The systems of workflow `def` (number `index` in [`WORKFLOWS`]).
    async fn env(&mut self, def: &Def, index: usize) -> Result<Env, ValidateError>;
    /// After the workflow (its scheduler stopped): its API-log lines; the target tidies up.
    async fn done(&mut self, def: &Def, env: Env) -> String;
    /// After a failed [`Target::env`]: API-log lines; the target removes what it set up.
    async fn setup_failed(&mut self, def: &Def, index: usize) -> String;
    /// After every workflow: the last API-log lines and the target's own workflow reports.
    async fn finish(&mut self) -> (String, Vec<WorkflowReport>);
    /// Secrets the bundle must not contain.
    fn secrets(&self) -> Vec<String>;
    /// What the target found out about the systems (written as `target.json`; `None`: no file).
    fn facts(&self) -> Option<Value>;
}

/// `requirements.json`, with a `reason` for every requirement that is NOT COVERED.
fn requirements_with_reasons(
    report: &ValidationReport,
    uncovered: &BTreeMap<String, (String, String)>,
) -> Vec<u8> {
    let mut items: Vec<Value> =
        serde_json::from_slice(&report::requirements_json(report)).expect("requirements parse");
    for item in &mut items {
        if item["status"] != "NOT_COVERED" {
            continue;
        }
        let id = item["id"].as_str().unwrap_or_default().to_string();
        let reason = match uncovered.get(&id) {
            Some((workflow, why)) => {
                format!(
                    "not provable on target {}: {workflow}: {why}",
                    report.target
                )
            }
            None => format!(
                "no step of the workflows run on target {} proved it",
                report.target
            ),
        };
        item["reason"] = Value::String(reason);
    }
    let mut v = serde_json::to_vec_pretty(&items).expect("requirements serialize");
    v.push(b'\n');
    v
}

/// Runs the selected workflows on a target and builds the bundle.
pub(crate) async fn run_on<T: Target>(
    target: &mut T,
    opts: &Options,
) -> Result<(Outcome, Vec<(String, f64)>), ValidateError> {
    let mut files = Files::new();
    let mut timings = Vec::new();
    let mut reports = Vec::new();
    let mut api_log = String::new();
    let mut tasks = String::new();
    let mut secrets: Vec<String> = target.secrets();
    let mut uncovered: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (index, def) in WORKFLOWS
        .iter()
        .enumerate()
        .filter(|(_, d)| opts.only.is_empty() || opts.only.iter().any(|o| o == d.id))
    {
        let wall = Stopwatch::start();
        let report = match target.env(def, index).await {
            Ok(mut env) => {
                let (report, unc) = run_workflow(def, &mut env, &mut files, &mut timings).await;
                env.stop().await;
                tasks.push_str(&jsonl(def.id, &env.store.all_tasks().unwrap_or_default()));
                for s in &env.secrets {
                    if !secrets.contains(s) {
                        secrets.push(s.clone());
                    }
                }
                api_log.push_str(&target.done(def, env).await);
                for (req, why) in unc {
                    uncovered
                        .entry(req)
                        .or_insert_with(|| (def.id.to_string(), why));
                }
                report
            }
            Err(e) => {
                api_log.push_str(&target.setup_failed(def, index).await);
                WorkflowReport {
                    id: def.id.to_string(),
                    goal: def.goal.to_string(),
                    user: def.user,
                    passed: false,
                    steps: Vec::new(),
                    failure: Some(format!("setting up the workflow's systems failed: {e}")),
                    evidence: Vec::new(),
                }
            }
        };
        timings.push((def.id.to_string(), wall.elapsed_ms()));
        if opts.progress {
            eprintln!(
                "{} {} ({} steps)",
                if report.passed { "passed" } else { "FAILED" },
                def.id,
                report.steps.len()
            );
            if let Some(f) = &report.failure {
                eprintln!("  {f}");
            }
        }
        reports.push(report);
    }
    let (log, extra) = target.finish().await;
    api_log.push_str(&log);
    // The bundle's own checks hold for whatever ran (a partial run's bundle is evidence too).
    reports.push(evidence_workflow(&reports, &api_log, &secrets));
    for r in &extra {
        if opts.progress {
            eprintln!(
                "{} {} ({} steps)",
                if r.passed { "passed" } else { "FAILED" },
                r.id,
                r.steps.len()
            );
            if let Some(f) = &r.failure {
                eprintln!("  {f}");
            }
        }
    }
    reports.extend(extra);
    let report = ValidationReport::new(target.name(), opts.seed, opts.scale.as_str(), reports);
    let screenshots: Vec<String> = files
        .keys()
        .filter(|k| k.starts_with("screenshots/"))
        .cloned()
        .collect();
    if let Some(facts) = target.facts() {
        let mut v = serde_json::to_vec_pretty(&facts).expect("facts serialize");
        v.push(b'\n');
        files.insert("target.json".into(), v);
    }
    files.insert("api-log.jsonl".into(), api_log.into_bytes());
    files.insert("tasks.jsonl".into(), tasks.into_bytes());
    files.insert("seed".into(), format!("{}\n", opts.seed).into_bytes());
    files.insert("report.json".into(), report::json(&report));
    files.insert(
        "requirements.json".into(),
        requirements_with_reasons(&report, &uncovered),
    );
    files.insert("report.md".into(), report::markdown(&report).into_bytes());
    files.insert(
        "report.html".into(),
        report::html(&report, &screenshots).into_bytes(),
    );
    files.insert("junit.xml".into(), report::junit(&report));
    Ok((Outcome { report, files }, timings))
}
