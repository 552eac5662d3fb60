//! What every workflow uses: clicking Sync Now and following the task, the API sync, reading and
//! editing NetBox as a person, listing the cluster, the oracle step, the API calls since a mark,
//! and the bounded waits for runs (virtual seconds in the simulation, real ones on a real target).
//!
//! It holds no workflow; it judges nothing except what a helper's own step says.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

use crate::hedgehog::Kind;
use crate::store::{FabricStatus, Phase, RunRecord};
use crate::validate::cx::{Cx, Step, Stop};
use crate::validate::error::ValidateError;
use crate::validate::model::ApiCall;
use crate::validate::oracle;
use crate::validate::systems::Mark;

/// A workflow's (or a step's) outcome.
pub(super) type R = Result<(), Stop>;

pub(super) const CLICK: Step = Step {
    name: "click Sync Now",
    action: "open the fabric page, find #sync-now-button and submit its form with the CSRF token",
    expected: "the server accepts the POST and redirects to the new task",
    proves: &["MS-1"],
};

/// Clicks Sync Now and follows the task; records the click step. Returns the task JSON.
pub(super) async fn click_and_follow(cx: &mut Cx<'_>, proves_click: bool) -> Result<Value, Stop> {
    let step = if proves_click {
        CLICK
    } else {
        Step {
            proves: &[],
            ..CLICK
        }
    };
    let (task_id, ev) = match cx.click_sync_now().await {
        Ok(x) => x,
        Err(e) => return Err(cx.check(step, false, e.to_string(), vec![]).unwrap_err()),
    };
    cx.check(step, true, format!("redirected to task {task_id}"), ev)?;
    match cx.follow_task(&task_id, Duration::from_secs(600)).await {
        Ok(v) => Ok(v),
        Err(e) => Err(cx
            .check(
                Step {
                    name: "follow the task",
                    action: "poll GET /api/tasks/{id} like the page does",
                    expected: "the task ends SUCCESS or FAILURE",
                    proves: &[],
                },
                false,
                e.to_string(),
                vec![],
            )
            .unwrap_err()),
    }
}

pub(super) fn run_of(cx: &Cx<'_>, task: &Value) -> Option<RunRecord> {
    task["run_id"]
        .as_i64()
        .and_then(|id| cx.env.store.run(id).ok())
}

pub(super) fn calls(cx: &Cx<'_>) -> Vec<ApiCall> {
    (cx.env.calls)()
}

pub(super) fn mark(cx: &Cx<'_>) -> Mark {
    Mark::of(&calls(cx))
}

pub(super) fn since(cx: &Cx<'_>, m: &Mark) -> Vec<ApiCall> {
    m.since(&calls(cx))
}

pub(super) fn cluster_writes(calls: &[ApiCall]) -> Vec<&ApiCall> {
    calls
        .iter()
        .filter(|c| c.server == "apiserver" && c.write && c.status < 400)
        .collect()
}

pub(super) async fn oracle_step(cx: &mut Cx<'_>, step: Step) -> R {
    let fabric = cx.env.fabric.clone();
    let site = cx
        .env
        .store
        .fabric(&fabric)
        .map(|f| f.config.site_slug().to_string())
        .unwrap_or(fabric.clone());
    let ns = cx
        .env
        .store
        .fabric(&fabric)
        .map(|f| f.config.namespace)
        .unwrap_or_else(|_| "default".into());
    match oracle::check(&cx.env.netbox, &cx.env.kube, &site, &fabric, &ns).await {
        Ok(v) => {
            let report = format!("{}\n{}\n", v.summary(), v.problems.join("\n"));
            let ev = cx.evidence(
                &format!("oracle-{}.txt", step.name.replace(' ', "-")),
                report,
            );
            cx.check(step, v.problems.is_empty(), v.summary(), vec![ev])
        }
        Err(e) => cx.check(step, false, e.to_string(), vec![]),
    }
}

pub(super) async fn api_sync(cx: &mut Cx<'_>) -> Result<Value, ValidateError> {
    let fabric = cx.env.fabric.clone();
    let (status, v) = cx
        .api(Method::POST, &format!("/api/fabrics/{fabric}/sync"), None)
        .await?;
    if status != StatusCode::ACCEPTED {
        return Err(ValidateError::Unexpected {
            request: format!("POST /api/fabrics/{fabric}/sync"),
            answer: format!("{status}: {v}"),
        });
    }
    let id = v["id"]
        .as_str()
        .or_else(|| v["task_id"].as_str())
        .ok_or_else(|| ValidateError::Missing(format!("no task id in {v}")))?
        .to_string();
    cx.follow_task(&id, Duration::from_secs(900)).await
}

pub(super) async fn netbox_device(cx: &Cx<'_>, name: &str) -> Result<Value, ValidateError> {
    let d = cx
        .env
        .netbox
        .list_values("dcim/devices", &[("name", name.to_string())])
        .await?;
    d.into_iter()
        .next()
        .ok_or_else(|| ValidateError::Missing(format!("NetBox has no device {name}")))
}

pub(super) async fn patch_device(
    cx: &Cx<'_>,
    name: &str,
    body: Value,
) -> Result<(), ValidateError> {
    let d = netbox_device(cx, name).await?;
    cx.env
        .netbox
        .patch("dcim/devices", d["id"].as_u64().unwrap_or(0), &body)
        .await?;
    Ok(())
}

pub(super) async fn cluster_objects(cx: &Cx<'_>, kind: Kind) -> BTreeMap<String, Value> {
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(cx.env.kube.clone(), "default", &kind.api_resource());
    api.list(&Default::default())
        .await
        .map(|l| {
            l.items
                .into_iter()
                .map(|o| {
                    (
                        o.metadata.name.clone().unwrap_or_default(),
                        serde_json::to_value(o).expect("objects serialize"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn cluster_content(cx: &Cx<'_>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for (n, o) in cluster_objects(cx, kind).await {
            out.insert(
                format!("{}/{n}", kind.kind()),
                crate::engine::content::comparable(&o),
            );
        }
    }
    out
}

pub(super) fn status(cx: &Cx<'_>) -> Option<FabricStatus> {
    cx.env.store.fabric(&cx.env.fabric).ok().map(|f| f.status)
}

/// The fabric's periodic interval in seconds (the target chose it).
pub(super) fn interval(cx: &Cx<'_>) -> u64 {
    cx.env
        .store
        .fabric(&cx.env.fabric)
        .map(|f| f.config.interval_secs)
        .unwrap_or(60)
}

/// How often a wait looks again.
pub(super) const POLL: Duration = Duration::from_millis(500);

/// Polls the stored runs until `cond` holds or `limit` passes; returns the runs last seen and
/// whether `cond` held.
pub(super) async fn wait_runs(
    cx: &Cx<'_>,
    limit: Duration,
    cond: impl Fn(&[RunRecord]) -> bool,
) -> (Vec<RunRecord>, bool) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let runs = cx.env.store.all_runs().unwrap_or_default();
        if cond(&runs) {
            return (runs, true);
        }
        if tokio::time::Instant::now() >= deadline {
            return (runs, false);
        }
        cx.wait(POLL).await;
    }
}

/// Has the worker that ran `run` let go of it? A run's end is recorded before it writes its
/// trace to NetBox (journal entry, site status); its task leaves STARTED only after that, so
/// the API log then holds every request of the run (a real NetBox takes a second for those).
pub(super) fn run_done(cx: &Cx<'_>, run: &RunRecord) -> bool {
    run.end.finished_at.is_some()
        && run.task_id.as_deref().is_none_or(|t| {
            cx.env
                .store
                .task(t)
                .is_ok_and(|t| !matches!(t.state, Phase::Started | Phase::Pending))
        })
}

/// The requests since `mark` that `run` could have sent: waits (up to 60 s) until its worker
/// let go of it, so its trace in NetBox is in the log, then keeps what was sent from its start
/// on. A time that does not parse is kept: the checks built on this may only get stricter.
/// Without a run, everything since `mark`.
pub(super) async fn calls_of_run(
    cx: &Cx<'_>,
    mark: &Mark,
    run: Option<&RunRecord>,
) -> Vec<ApiCall> {
    if let Some(r) = run {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !run_done(cx, r) && tokio::time::Instant::now() < deadline {
            cx.wait(POLL).await;
        }
    }
    let started = run.map(|r| r.started_at);
    since(cx, mark)
        .into_iter()
        .filter(|c| {
            started.is_none_or(|s| c.time.parse::<jiff::Timestamp>().map_or(true, |t| t >= s))
        })
        .collect()
}

/// Waits for the catch-up run a never-synced periodic fabric gets at start (and its trace in
/// NetBox, so that none of its requests falls into a later step's window).
pub(super) async fn catch_up(cx: &Cx<'_>) -> R {
    let (runs, done) = wait_runs(cx, Duration::from_secs(300), |runs| {
        runs.iter().any(|r| run_done(cx, r))
    })
    .await;
    if done {
        Ok(())
    } else {
        Err(Stop(format!(
            "no catch-up run finished within 300 s (runs: {})",
            say_list(runs.iter().map(|r| format!(
                "{} {} {}",
                r.id,
                r.trigger.as_str(),
                r.end.phase.as_str()
            )))
        )))
    }
}

/// Waits until some run after the first `before` has finished and satisfies `cond`.
pub(super) async fn wait_new_run(
    cx: &Cx<'_>,
    before: usize,
    limit: Duration,
    cond: impl Fn(&RunRecord) -> bool,
) -> Vec<RunRecord> {
    wait_runs(cx, limit, |runs| {
        runs.iter()
            .skip(before)
            .any(|r| r.end.finished_at.is_some() && cond(r))
    })
    .await
    .0
}

/// An initial sync through the API, as a baseline for workflows about something else.
pub(super) async fn baseline(cx: &mut Cx<'_>) -> R {
    let r = api_sync(cx).await;
    let ok = matches!(&r, Ok(v) if v["state"] == "SUCCESS");
    cx.check(
        Step {
            name: "initial sync",
            action: "POST /api/fabrics/{fabric}/sync and follow the task",
            expected: "SUCCESS",
            proves: &[],
        },
        ok,
        match &r {
            Ok(v) => format!("task {}", v["state"]),
            Err(e) => e.to_string(),
        },
        vec![],
    )
}

/// Observed texts in the domain's words (never Rust's `Debug`): a fabric status.
pub(super) fn say_status(st: Option<FabricStatus>) -> String {
    st.map_or("no status".to_string(), |s| s.as_str().to_string())
}

/// A run's counts as a sentence.
pub(super) fn say_counts(c: &crate::store::Counts) -> String {
    format!(
        "{} created, {} updated, {} deleted, {} unchanged, {} failed, {} skipped",
        c.created, c.updated, c.deleted, c.unchanged, c.failed, c.skipped
    )
}

/// A run: its id, trigger, phase and message (or error), and its writes.
pub(super) fn say_run(run: Option<&RunRecord>) -> String {
    let Some(r) = run else {
        return "no run".to_string();
    };
    let mut s = format!(
        "run {} ({}, attempt {}) {}",
        r.id,
        r.trigger.as_str(),
        r.attempt,
        r.end.phase.as_str()
    );
    if let Some(m) = &r.end.message {
        s.push_str(&format!(": {m}"));
    }
    s.push_str(&format!("; {} cluster writes", r.end.writes));
    if let Some(e) = &r.end.error {
        s.push_str(&format!("; error: {e}"));
    }
    s
}

/// A list joined by commas, or "none".
pub(super) fn say_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
