//! The workflows: each a business goal for one kind of user, as ordered steps with an action, an
//! expected result, a check, and the requirements it proves. They drive fabsync only through
//! the entry points people use (the fabric page's Sync Now form, the JSON API, the scheduler)
//! and judge the result through NetBox's and the cluster's APIs and fabsync's records.
//!
//! Every workflow runs on any target: it uses `Env`'s interface, and a fault the target cannot
//! be given makes the step that needs it "not provable" (its requirement stays NOT COVERED, with
//! the reason). Waits are polls with a deadline — virtual seconds in the simulation, real ones on
//! a real target — and periodic timings follow the fabric's configured interval (60 s simulated,
//! the 5 s minimum on a real target).

use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::cx::{Cx, Step, Stop, text_of};
use super::model::UserType;
use super::oracle;
use super::systems::{ApiCall, Mark};
use crate::config::ConflictPolicy;
use crate::hedgehog::Kind;
use crate::store::{FabricStatus, Phase, RunRecord, Trigger};

/// How a workflow's world is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fabric {
    /// The VLAB fixture.
    Vlab,
    /// The scale chosen on the command line (`large` or `xlarge`).
    Scale,
}

/// A workflow's definition.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Stable id.
    pub id: &'static str,
    /// The business goal.
    pub goal: &'static str,
    /// Who it serves.
    pub user: UserType,
    /// Periodic interval (None: periodic sync off).
    pub periodic: Option<u64>,
    /// Which fabric.
    pub fabric: Fabric,
    /// Conflict policy.
    pub policy: ConflictPolicy,
}

const fn def(id: &'static str, user: UserType, goal: &'static str) -> Def {
    Def {
        id,
        goal,
        user,
        periodic: None,
        fabric: Fabric::Vlab,
        policy: ConflictPolicy::Fail,
    }
}

const fn periodic(mut d: Def, secs: u64) -> Def {
    d.periodic = Some(secs);
    d
}

use UserType::*;

/// Every workflow, in run order.
pub const WORKFLOWS: &[Def] = &[
    def(
        "manual-sync",
        NetworkEngineer,
        "Click Sync Now and see the fabric in the cluster, verified",
    ),
    def(
        "manual-sync-after-netbox-edits",
        NetworkEngineer,
        "Rename, add and remove devices in NetBox, click Sync Now, and see the cluster follow",
    ),
    def(
        "cluster-unreachable-then-recovery",
        Operator,
        "The cluster goes away during a sync; the user is told what failed and what to do; the next sync recovers",
    ),
    periodic(
        def(
            "periodic-sync-on-interval",
            Automation,
            "Syncs happen on the fabric's interval with nobody clicking",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-change-detection",
            Automation,
            "A description edited in NetBox reaches the cluster on the next periodic run",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-no-changes",
            Automation,
            "A periodic run with nothing changed costs no writes and no full NetBox read",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-retry",
            Automation,
            "A transient failure is retried with backoff and recovers by itself",
        ),
        600,
    ),
    periodic(
        def(
            "manual-and-periodic-concurrently",
            NetworkEngineer,
            "A click during a periodic run neither overlaps it nor corrupts anything",
        ),
        60,
    ),
    def(
        "incremental-update",
        NetworkEngineer,
        "One NetBox edit makes exactly one cluster write",
    ),
    def(
        "relationship-preservation",
        NetworkEngineer,
        "Connections, attachments and groups reference objects that exist",
    ),
    def(
        "complete-data-flow",
        NetworkEngineer,
        "Every Hedgehog kind fabsync plans reaches the cluster",
    ),
    def(
        "authentication-failure",
        Operator,
        "Refused credentials are reported per system without leaking them",
    ),
    def(
        "field-manager-conflict",
        Operator,
        "A field owned by another manager is reported, nothing is written",
    ),
    def(
        "partial-failure-rollback",
        Operator,
        "A write failing midway leaves the cluster exactly as before",
    ),
    def(
        "rate-limiting",
        Operator,
        "The cluster's 429 + Retry-After is honoured and the QPS budget holds",
    ),
    def(
        "netbox-unavailable",
        Operator,
        "NetBox down leaves the cluster untouched",
    ),
    def(
        "invalid-netbox-data",
        NetworkEngineer,
        "Invalid NetBox data writes nothing and says which object and field",
    ),
    periodic(
        def(
            "drift-repaired",
            Automation,
            "A hand edit in the cluster is found and put back, and reported as drift",
        ),
        60,
    ),
    def(
        "process-restart-mid-run",
        Operator,
        "fabsync dying mid-run leaves no fabric stuck in syncing and recovers",
    ),
    Def {
        fabric: Fabric::Scale,
        ..def(
            "large-fabric",
            Operator,
            "A large fabric syncs within the 5-minute bound with bounded memory",
        )
    },
];

type R = Result<(), Stop>;

const CLICK: Step = Step {
    name: "click Sync Now",
    action: "open the fabric page, find #sync-now-button and submit its form with the CSRF token",
    expected: "the server accepts the POST and redirects to the new task",
    proves: &["MS-1"],
};

/// Clicks Sync Now and follows the task; records the click step. Returns the task JSON.
async fn click_and_follow(cx: &mut Cx<'_>, proves_click: bool) -> Result<Value, Stop> {
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
        Err(e) => return Err(cx.check(step, false, e, vec![]).unwrap_err()),
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
                e,
                vec![],
            )
            .unwrap_err()),
    }
}

fn run_of(cx: &Cx<'_>, task: &Value) -> Option<RunRecord> {
    task["run_id"]
        .as_i64()
        .and_then(|id| cx.env.store.run(id).ok())
}

fn calls(cx: &Cx<'_>) -> Vec<ApiCall> {
    (cx.env.calls)()
}

fn mark(cx: &Cx<'_>) -> Mark {
    Mark::of(&calls(cx))
}

fn since(cx: &Cx<'_>, m: &Mark) -> Vec<ApiCall> {
    m.since(&calls(cx))
}

fn cluster_writes(calls: &[ApiCall]) -> Vec<&ApiCall> {
    calls
        .iter()
        .filter(|c| c.server == "apiserver" && c.write && c.status < 400)
        .collect()
}

async fn oracle_step(cx: &mut Cx<'_>, step: Step) -> R {
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
        Err(e) => cx.check(step, false, e, vec![]),
    }
}

async fn api_sync(cx: &mut Cx<'_>) -> Result<Value, String> {
    let fabric = cx.env.fabric.clone();
    let (status, v) = cx
        .api(Method::POST, &format!("/api/fabrics/{fabric}/sync"), None)
        .await?;
    if status != StatusCode::ACCEPTED {
        return Err(format!(
            "POST /api/fabrics/{fabric}/sync answered {status}: {v}"
        ));
    }
    let id = v["id"]
        .as_str()
        .or_else(|| v["task_id"].as_str())
        .ok_or_else(|| format!("no task id in {v}"))?
        .to_string();
    cx.follow_task(&id, Duration::from_secs(900)).await
}

async fn netbox_device(cx: &Cx<'_>, name: &str) -> Result<Value, String> {
    let d = cx
        .env
        .netbox
        .list_values("dcim/devices", &[("name", name.to_string())])
        .await
        .map_err(|e| e.to_string())?;
    d.into_iter()
        .next()
        .ok_or_else(|| format!("NetBox has no device {name}"))
}

async fn patch_device(cx: &Cx<'_>, name: &str, body: Value) -> Result<(), String> {
    let d = netbox_device(cx, name).await?;
    cx.env
        .netbox
        .patch("dcim/devices", d["id"].as_u64().unwrap_or(0), &body)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn cluster_objects(cx: &Cx<'_>, kind: Kind) -> BTreeMap<String, Value> {
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cx.env.kube.clone(),
        "default",
        &crate::engine::api_resource(kind),
    );
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

async fn cluster_content(cx: &Cx<'_>) -> BTreeMap<String, Value> {
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

fn status(cx: &Cx<'_>) -> Option<FabricStatus> {
    cx.env.store.fabric(&cx.env.fabric).ok().map(|f| f.status)
}

/// The fabric's periodic interval in seconds (the target chose it).
fn interval(cx: &Cx<'_>) -> u64 {
    cx.env
        .store
        .fabric(&cx.env.fabric)
        .map(|f| f.config.interval_secs)
        .unwrap_or(60)
}

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(500);

/// Polls the stored runs until `cond` holds or `limit` passes; returns the runs last seen and
/// whether `cond` held.
async fn wait_runs(
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

/// Waits for the catch-up run a never-synced periodic fabric gets at start.
async fn catch_up(cx: &Cx<'_>) -> R {
    let (runs, done) = wait_runs(cx, Duration::from_secs(300), |runs| {
        runs.iter().any(|r| r.finished_at.is_some())
    })
    .await;
    if done {
        Ok(())
    } else {
        Err(Stop(format!(
            "no catch-up run finished within 300 s (runs: {:?})",
            runs.iter()
                .map(|r| (r.id, r.trigger, r.phase))
                .collect::<Vec<_>>()
        )))
    }
}

/// Waits until some run after the first `before` has finished and satisfies `cond`.
async fn wait_new_run(
    cx: &Cx<'_>,
    before: usize,
    limit: Duration,
    cond: impl Fn(&RunRecord) -> bool,
) -> Vec<RunRecord> {
    wait_runs(cx, limit, |runs| {
        runs.iter()
            .skip(before)
            .any(|r| r.finished_at.is_some() && cond(r))
    })
    .await
    .0
}

/// Runs workflow `id`.
pub async fn run(id: &str, cx: &mut Cx<'_>) -> R {
    match id {
        "manual-sync" => manual_sync(cx).await,
        "manual-sync-after-netbox-edits" => netbox_edits(cx).await,
        "cluster-unreachable-then-recovery" => cluster_unreachable(cx).await,
        "periodic-sync-on-interval" => periodic_interval(cx).await,
        "periodic-change-detection" => periodic_change(cx).await,
        "periodic-no-changes" => periodic_no_changes(cx).await,
        "periodic-retry" => periodic_retry(cx).await,
        "manual-and-periodic-concurrently" => concurrent(cx).await,
        "incremental-update" => incremental(cx).await,
        "relationship-preservation" => relationships(cx).await,
        "complete-data-flow" => data_flow(cx).await,
        "authentication-failure" => auth_failure(cx).await,
        "field-manager-conflict" => conflict(cx).await,
        "partial-failure-rollback" => rollback(cx).await,
        "rate-limiting" => rate_limiting(cx).await,
        "netbox-unavailable" => netbox_unavailable(cx).await,
        "invalid-netbox-data" => invalid_data(cx).await,
        "drift-repaired" => drift(cx).await,
        "process-restart-mid-run" => restart(cx).await,
        "large-fabric" => large(cx).await,
        other => Err(Stop(format!("unknown workflow {other}"))),
    }
}

/// An initial sync through the API, as a baseline for workflows about something else.
async fn baseline(cx: &mut Cx<'_>) -> R {
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
            Err(e) => e.clone(),
        },
        vec![],
    )
}

async fn manual_sync(cx: &mut Cx<'_>) -> R {
    let before = status(cx);
    cx.check(
        Step {
            name: "fabric never synced",
            action: "read the fabric's status",
            expected: "never_synced (not in_sync before any run)",
            proves: &[],
        },
        before == Some(FabricStatus::NeverSynced),
        format!("{before:?}"),
        vec![],
    )?;
    let task = click_and_follow(cx, true).await?;
    let run = run_of(cx, &task);
    let lifecycle = task["state"] == "SUCCESS"
        && task["started_at"].is_string()
        && task["finished_at"].is_string()
        && run.as_ref().is_some_and(|r| r.phase == Phase::Success);
    let ev = cx.evidence(
        "task.json",
        serde_json::to_vec_pretty(&task).unwrap_or_default(),
    );
    cx.check(
        Step {
            name: "task executed",
            action: "follow the task the click created",
            expected: "the task went PENDING → STARTED → SUCCESS and produced a SUCCESS run",
            proves: &["MS-2"],
        },
        lifecycle,
        format!(
            "task {} (created {}, started {}, finished {}), run {:?}",
            task["state"],
            task["created_at"],
            task["started_at"],
            task["finished_at"],
            run.as_ref().map(|r| (r.id, r.phase))
        ),
        vec![ev],
    )?;
    let run = run.expect("checked above");
    let page = cx
        .task_page(task["id"].as_str().unwrap_or_default())
        .await
        .map_err(Stop)?;
    let msg = text_of(&page.body, ".sync-success-message");
    let ev = cx.evidence("task-page.html", page.body.clone());
    cx.check(
        Step {
            name: "user feedback",
            action: "look at the task page",
            expected: "a .sync-success-message with the run's counts",
            proves: &["MS-5"],
        },
        msg.as_deref()
            .is_some_and(|m| m.contains(&run.counts.created.to_string())),
        msg.clone()
            .unwrap_or_else(|| "no .sync-success-message".into()),
        vec![ev],
    )?;
    let switches = cluster_objects(cx, Kind::Switch).await;
    let servers = cluster_objects(cx, Kind::Server).await;
    let conns = cluster_objects(cx, Kind::Connection).await;
    cx.check(
        Step {
            name: "objects in the cluster",
            action: "list Switches, Servers and Connections through the Kubernetes API",
            expected: "as many objects as the run created",
            proves: &["MS-3"],
        },
        !switches.is_empty() && !servers.is_empty() && !conns.is_empty() && run.counts.created > 0,
        format!(
            "{} switches, {} servers, {} connections; run created {}",
            switches.len(),
            servers.len(),
            conns.len(),
            run.counts.created
        ),
        vec![],
    )?;
    oracle_step(
        cx,
        Step {
            name: "independent check",
            action: "derive expectations from NetBox with the oracle's own rules and compare",
            expected: "no discrepancy",
            proves: &["MS-6", "DI-1", "DI-4"],
        },
    )
    .await?;
    let page = cx
        .http(Method::GET, &format!("/fabrics/{}", cx.env.fabric), None)
        .await
        .map_err(Stop)?;
    let st = status(cx);
    cx.check(
        Step {
            name: "status in sync",
            action: "read the fabric page and the stored status",
            expected: "in_sync, shown on the page, after a verified run",
            proves: &["MS-4"],
        },
        st == Some(FabricStatus::InSync) && page.body.contains("in_sync") && run.step == "record",
        format!("status {st:?}, run ended in step {}", run.step),
        vec![],
    )?;
    let audit = cx.env.store.audit_entries(Some(run.id)).unwrap_or_default();
    let journal = cx
        .env
        .netbox
        .list_values("extras/journal-entries", &[])
        .await
        .unwrap_or_default();
    let journaled = journal.iter().any(|j| {
        j["comments"]
            .as_str()
            .is_some_and(|c| c.contains(&format!("fabsync run {} ", run.id)))
    });
    cx.check(
        Step {
            name: "audit trail",
            action: "read the audit log and the NetBox journal",
            expected: "one audit entry per write, and a journal entry for the run on the site",
            proves: &["DI-6"],
        },
        audit.len() as u64 == run.writes && journaled,
        format!(
            "{} audit entries for {} writes; journal entry: {journaled}",
            audit.len(),
            run.writes
        ),
        vec![],
    )?;
    cx.check(
        Step {
            name: "within five minutes",
            action: "read the run's duration",
            expected: "well under 5 minutes",
            proves: &["PF-1"],
        },
        run.duration_ms.unwrap_or(u64::MAX) < 300_000,
        format!("{} ms", run.duration_ms.unwrap_or(0)),
        vec![],
    )?;
    let profiles = cluster_objects(cx, Kind::SwitchProfile).await;
    let untouched = !profiles.is_empty()
        && profiles.values().all(|p| {
            p["metadata"]["labels"]
                .get("fabsync.githedgehog.com/fabric")
                .is_none()
                && p["metadata"]["managedFields"]
                    .as_array()
                    .is_some_and(|m| m.iter().all(|e| e["manager"] != "fabsync"))
        });
    cx.check(
        Step {
            name: "foreign objects untouched",
            action: "look at the SwitchProfiles Hedgehog shipped",
            expected: "no fabsync label and no fabsync field ownership",
            proves: &["DI-9"],
        },
        untouched,
        format!("{} SwitchProfiles, untouched: {untouched}", profiles.len()),
        vec![],
    )
}

async fn netbox_edits(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let edits: Result<String, String> = async {
        // Rename a server.
        patch_device(cx, "server-05", json!({"name": "server-05b"})).await?;
        // Remove a server (its interfaces and cable ends go with it).
        let gone = netbox_device(cx, "server-06").await?;
        cx.env
            .netbox
            .delete("dcim/devices", gone["id"].as_u64().unwrap_or(0))
            .await
            .map_err(|e| e.to_string())?;
        // Add a server cabled to a free leaf port.
        let model = netbox_device(cx, "server-03").await?;
        let leaf = netbox_device(cx, "leaf-03").await?;
        let new: Value = cx
            .env
            .netbox
            .create(
                "dcim/devices",
                &json!({"name": "server-99", "device_type": model["device_type"]["id"],
                        "role": model["role"]["id"], "site": model["site"]["id"],
                        "description": "added for validation"}),
            )
            .await
            .map_err(|e| e.to_string())?;
        let nic: Value = cx
            .env
            .netbox
            .create(
                "dcim/interfaces",
                &json!({"device": new["id"], "name": "enp2s1", "type": "25gbase-x-sfp28"}),
            )
            .await
            .map_err(|e| e.to_string())?;
        let free = cx
            .env
            .netbox
            .list_values(
                "dcim/interfaces",
                &[
                    ("device_id", leaf["id"].to_string()),
                    ("cabled", "false".into()),
                    ("mgmt_only", "false".into()),
                ],
            )
            .await
            .map_err(|e| e.to_string())?;
        let port = free
            .iter()
            .filter(|i| i["type"]["value"] != "lag" && i["cable"].is_null())
            .max_by_key(|i| i["id"].as_u64())
            .ok_or("leaf-03 has no free port")?;
        let _: Value = cx
            .env
            .netbox
            .create(
                "dcim/cables",
                &json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": nic["id"]}],
                        "b_terminations": [{"object_type": "dcim.interface", "object_id": port["id"]}],
                        "status": "connected"}),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("renamed server-05 → server-05b, deleted server-06, added server-99 on leaf-03/{}", port["name"].as_str().unwrap_or("?")))
    }
    .await;
    let done = edits.is_ok();
    cx.check(
        Step {
            name: "edit NetBox",
            action: "rename server-05, delete server-06, add server-99 with a cable (NetBox API)",
            expected: "NetBox accepts the edits",
            proves: &[],
        },
        done,
        edits.unwrap_or_else(|e| e),
        vec![],
    )?;
    let task = click_and_follow(cx, false).await?;
    let run = run_of(cx, &task);
    let servers = cluster_objects(cx, Kind::Server).await;
    let ok = task["state"] == "SUCCESS"
        && servers.contains_key("server-05b")
        && !servers.contains_key("server-05")
        && !servers.contains_key("server-06")
        && servers.contains_key("server-99");
    cx.check(
        Step {
            name: "cluster follows NetBox",
            action: "click Sync Now, then list Servers",
            expected: "server-05b and server-99 exist; server-05 and server-06 are gone",
            proves: &["MS-3"],
        },
        ok,
        format!(
            "task {}; run {:?}; servers: {}",
            task["state"],
            run.as_ref().map(|r| r.counts),
            servers.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        vec![],
    )?;
    oracle_step(
        cx,
        Step {
            name: "independent check after edits",
            action: "run the oracle",
            expected: "no discrepancy",
            proves: &["DI-1", "DI-2"],
        },
    )
    .await
}

async fn cluster_unreachable(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let f = cx.env.faults.clone();
    let broke = f.cluster_unreachable(true).await;
    cx.check(
        Step {
            name: "cluster goes away",
            action: "make the Kubernetes API server unreachable",
            expected: "the fault is in place",
            proves: &[],
        },
        broke.is_ok(),
        format!("{broke:?}"),
        vec![],
    )?;
    let task = click_and_follow(cx, false).await?;
    let page = cx
        .task_page(task["id"].as_str().unwrap_or_default())
        .await
        .map_err(Stop)?;
    let msg = text_of(&page.body, ".sync-error-message").unwrap_or_default();
    let ev = cx.evidence("error-page.html", page.body.clone());
    let run = run_of(cx, &task);
    cx.check(
        Step {
            name: "the run fails naming the cluster",
            action: "click Sync Now while the cluster is unreachable",
            expected: "FAILURE with error kind cluster_unreachable and a message naming the Kubernetes API server",
            proves: &["EH-1"],
        },
        task["state"] == "FAILURE"
            && run.as_ref().and_then(|r| r.error_kind.as_deref()) == Some("cluster_unreachable")
            && run
                .as_ref()
                .and_then(|r| r.error.as_deref())
                .is_some_and(|e| e.contains("Kubernetes API server")),
        format!(
            "task {}, error {:?}",
            task["state"],
            run.as_ref().and_then(|r| r.error.clone())
        ),
        vec![ev.clone()],
    )?;
    cx.check(
        Step {
            name: "the user is told what failed and what to do",
            action: "read the .sync-error-message on the task page",
            expected: "it names the cluster and says what to check",
            proves: &["EH-5"],
        },
        msg.contains("Kubernetes API server") && msg.contains("Check"),
        msg.clone(),
        vec![ev],
    )?;
    let st = status(cx);
    cx.check(
        Step {
            name: "not stuck",
            action: "read the fabric status",
            expected: "error, not syncing",
            proves: &["EH-6"],
        },
        st == Some(FabricStatus::Error),
        format!("{st:?}"),
        vec![],
    )?;
    let _ = f.cluster_unreachable(false).await;
    let task = click_and_follow(cx, false).await?;
    cx.check(
        Step {
            name: "recovery",
            action: "repair the cluster and click Sync Now again",
            expected: "SUCCESS and in_sync",
            proves: &["EH-1"],
        },
        task["state"] == "SUCCESS" && status(cx) == Some(FabricStatus::InSync),
        format!("task {}, status {:?}", task["state"], status(cx)),
        vec![],
    )
}

async fn periodic_interval(cx: &mut Cx<'_>) -> R {
    // The fabric was never synced: a catch-up run starts at once, then ticks every interval.
    let iv = interval(cx);
    let limit = Duration::from_secs(3 * iv + 60);
    let (runs, _) = wait_runs(cx, limit, |runs| {
        runs.iter()
            .filter(|r| r.trigger == Trigger::Periodic && r.finished_at.is_some())
            .count()
            >= 3
    })
    .await;
    let t0: jiff::Timestamp = runs
        .first()
        .and_then(|r| r.started_at.parse().ok())
        .unwrap_or_else(|| cx.env.clock.now());
    let at: Vec<(String, i64)> = runs
        .iter()
        .map(|r| {
            let t: jiff::Timestamp = r.started_at.parse().unwrap_or(t0);
            (r.trigger.to_string(), t.duration_since(t0).as_secs())
        })
        .collect();
    let periodic: Vec<i64> = at
        .iter()
        .filter(|(t, _)| t == "periodic")
        .map(|(_, s)| *s)
        .collect();
    let ev = cx.evidence(
        "runs.json",
        serde_json::to_vec_pretty(&runs).unwrap_or_default(),
    );
    cx.check(
        Step {
            name: "runs on the interval",
            action: "wait (virtual time in the simulation) until three periodic runs have finished, nobody clicking",
            expected: "a catch-up run first, then periodic runs one, two and three intervals after it (±1 s)",
            proves: &["PS-1"],
        },
        periodic.len() == 3
            && periodic
                .iter()
                .zip([iv, 2 * iv, 3 * iv])
                .all(|(a, b)| (b as i64 - 1..=b as i64 + 1).contains(a))
            && at.first().is_some_and(|(t, s)| t == "catchup" && *s == 0),
        format!("interval {iv} s; runs (trigger, s after the first): {at:?}"),
        vec![ev],
    )?;
    let all_ok = runs.iter().all(|r| r.phase == Phase::Success);
    let st = status(cx);
    let (code, body) = cx
        .api(
            Method::GET,
            &format!("/api/fabrics/{}/runs", cx.env.fabric),
            None,
        )
        .await
        .map_err(Stop)?;
    let listed = body
        .as_array()
        .or_else(|| body["runs"].as_array())
        .map(|a| a.iter().filter(|r| r["trigger"] == "periodic").count())
        .unwrap_or(0);
    cx.check(
        Step {
            name: "status and history",
            action: "read the fabric status and GET /api/fabrics/{fabric}/runs",
            expected: "in_sync; the history lists the periodic runs as SUCCESS",
            proves: &["PS-6"],
        },
        all_ok && st == Some(FabricStatus::InSync) && code == StatusCode::OK && listed >= 3,
        format!("status {st:?}, all runs SUCCESS: {all_ok}, periodic runs listed: {listed}"),
        vec![],
    )
}

async fn periodic_change(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?;
    let edit = patch_device(cx, "leaf-02", json!({"description": "moved to rack 12"})).await;
    cx.check(
        Step {
            name: "edit a description in NetBox",
            action: "PATCH leaf-02's description through the NetBox API",
            expected: "accepted",
            proves: &[],
        },
        edit.is_ok(),
        format!("{edit:?}"),
        vec![],
    )?;
    let before = cx.env.store.all_runs().unwrap_or_default().len();
    let iv = interval(cx);
    let runs = wait_new_run(cx, before, Duration::from_secs(2 * iv + 60), |r| {
        r.trigger == Trigger::Periodic && r.counts.updated >= 1
    })
    .await;
    let new: Vec<&RunRecord> = runs[before.min(runs.len())..].iter().collect();
    let detected = new
        .iter()
        .find(|r| r.trigger == Trigger::Periodic && r.counts.updated >= 1);
    cx.check(
        Step {
            name: "change detected",
            action: "wait for the next periodic run",
            expected: "a periodic run that found the NetBox change and updated the object",
            proves: &["PS-2"],
        },
        detected.is_some(),
        format!(
            "new runs: {:?}",
            new.iter()
                .map(|r| (r.trigger, r.counts.updated, r.message.clone()))
                .collect::<Vec<_>>()
        ),
        vec![],
    )?;
    let sw = cluster_objects(cx, Kind::Switch).await;
    cx.check(
        Step {
            name: "applied automatically",
            action: "read leaf-02 in the cluster",
            expected: "its description is the one entered in NetBox",
            proves: &["PS-3"],
        },
        sw.get("leaf-02")
            .is_some_and(|s| s["spec"]["description"] == "moved to rack 12"),
        format!(
            "{}",
            sw.get("leaf-02")
                .map(|s| s["spec"]["description"].clone())
                .unwrap_or(Value::Null)
        ),
        vec![],
    )?;
    oracle_step(
        cx,
        Step {
            name: "consistent after periodic runs",
            action: "run the oracle",
            expected: "no discrepancy",
            proves: &["PS-4"],
        },
    )
    .await
}

async fn periodic_no_changes(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?;
    let mark = mark(cx);
    let before = cx.env.store.all_runs().unwrap_or_default().len();
    let iv = interval(cx);
    let runs = wait_new_run(cx, before, Duration::from_secs(iv + 60), |r| {
        r.trigger == Trigger::Periodic
    })
    .await;
    let run = runs[before.min(runs.len())..]
        .iter()
        .find(|r| r.trigger == Trigger::Periodic)
        .cloned();
    let new = &since(cx, &mark);
    let writes = cluster_writes(new).len();
    let netbox_paths: Vec<&str> = new
        .iter()
        .filter(|c| c.server == "netbox")
        .map(|c| c.path.as_str())
        .collect();
    let full_read = netbox_paths
        .iter()
        .any(|p| !p.starts_with("/api/core/object-changes"));
    let ev = cx.evidence(
        "calls.json",
        serde_json::to_vec_pretty(new).unwrap_or_default(),
    );
    cx.check(
        Step {
            name: "no writes, no full read",
            action: "let a periodic run happen with nothing changed",
            expected: "run message \"no changes\", zero cluster writes, NetBox asked only for its change log",
            proves: &["PF-2"],
        },
        run.as_ref()
            .is_some_and(|r| r.message.as_deref() == Some("no changes") && r.phase == Phase::Success)
            && writes == 0
            && !full_read,
        format!(
            "run {:?}; {writes} writes; NetBox paths {:?}",
            run.as_ref().map(|r| r.message.clone()),
            netbox_paths
        ),
        vec![ev],
    )
}

async fn periodic_retry(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?; // (interval 600 s: no periodic run in the way)
    let f = cx.env.faults.clone();
    let _ = f.cluster_unreachable(true).await;
    let fabric = cx.env.fabric.clone();
    let task = cx.env.scheduler.trigger(&fabric, Trigger::Manual);
    let task_id = task.map(|t| t.id).map_err(|e| Stop(e.to_string()))?;
    // The first two attempts fail (at 0 and 5 s with the default policy); the task waits in
    // RETRY for the third (at 15 s).
    let policy = *cx.env.scheduler.retry_policy();
    let (first, second) = (
        policy.backoff(2).as_secs() as i64,
        policy.backoff(3).as_secs() as i64,
    );
    let attempts = |runs: &[RunRecord]| {
        runs.iter()
            .filter(|r| r.task_id.as_deref() == Some(task_id.as_str()) && r.finished_at.is_some())
            .count()
    };
    let _ = wait_runs(cx, Duration::from_secs(60), |runs| {
        attempts(runs) >= 2
            && cx
                .env
                .store
                .task(&task_id)
                .is_ok_and(|t| t.state == Phase::Retry)
    })
    .await;
    let mid = cx.env.store.task(&task_id).ok();
    let _ = f.cluster_unreachable(false).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline
        && !cx
            .env
            .store
            .task(&task_id)
            .is_ok_and(|t| t.state == Phase::Success || t.state == Phase::Failure)
    {
        cx.wait(POLL).await;
    }
    let task = cx.env.store.task(&task_id).ok();
    let runs: Vec<RunRecord> = cx
        .env
        .store
        .all_runs()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.task_id.as_deref() == Some(task_id.as_str()))
        .collect();
    let starts: Vec<i64> = runs
        .iter()
        .filter_map(|r| r.started_at.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .collect();
    let gaps: Vec<i64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    cx.check(
        Step {
            name: "retried with backoff and recovered",
            action: "make the cluster unreachable, request a sync, repair the cluster once two attempts failed",
            expected: "the task goes RETRY, retries after the policy's first then doubled backoff (5 s then 10 s by default, ±1 s), and ends SUCCESS",
            proves: &["PS-5"],
        },
        mid.as_ref().is_some_and(|t| t.state == Phase::Retry)
            && task.as_ref().is_some_and(|t| t.state == Phase::Success)
            && gaps.len() == 2
            && (first..=first + 1).contains(&gaps[0])
            && (second..=second + 1).contains(&gaps[1])
            && runs.last().is_some_and(|r| r.trigger == Trigger::Retry),
        format!(
            "mid-way {:?}, final {:?}, gaps between attempts {gaps:?} s (policy: {first} s then {second} s)",
            mid.map(|t| t.state),
            task.map(|t| t.state)
        ),
        vec![],
    )
}

async fn concurrent(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?;
    // Make runs take a while, edit NetBox so the periodic run has work.
    let slow = cx.env.faults.slow_cluster(100).await;
    let _ = patch_device(
        cx,
        "spine-02",
        json!({"description": "periodic and manual"}),
    )
    .await;
    // Until the next periodic run is in progress.
    let before = cx.env.store.all_runs().unwrap_or_default().len();
    let fabric = cx.env.fabric.clone();
    let iv = interval(cx);
    let _ = wait_runs(cx, Duration::from_secs(iv + 60), |runs| {
        runs.iter()
            .skip(before)
            .any(|r| r.trigger == Trigger::Periodic && r.finished_at.is_none())
            && cx.env.scheduler.is_running(&fabric)
    })
    .await;
    let running = cx.env.scheduler.is_running(&fabric);
    let task = click_and_follow(cx, false).await?;
    let runs = cx.env.store.all_runs().unwrap_or_default();
    let mut overlaps = Vec::new();
    for a in &runs {
        for b in &runs {
            if a.id < b.id
                && let (Some(ae), Some(be)) = (&a.finished_at, &b.finished_at)
                && a.started_at < *be
                && b.started_at < *ae
            {
                overlaps.push((a.id, b.id));
            }
        }
    }
    cx.check(
        Step {
            name: "never overlapping",
            action: "click Sync Now while a periodic run is in progress",
            expected: "the click waits for the periodic run; no two runs overlap; both succeed",
            proves: &["PF-3"],
        },
        slow.is_ok()
            && running
            && overlaps.is_empty()
            && task["state"] == "SUCCESS"
            && runs.iter().all(|r| r.phase == Phase::Success),
        format!(
            "periodic run in progress at the click: {running}; runs {:?}; overlaps {overlaps:?}",
            runs.iter()
                .map(|r| (r.id, r.trigger, r.phase))
                .collect::<Vec<_>>()
        ),
        vec![],
    )?;
    let _ = cx.env.faults.clear().await;
    oracle_step(
        cx,
        Step {
            name: "no corruption",
            action: "run the oracle",
            expected: "no discrepancy",
            proves: &["PF-3"],
        },
    )
    .await
}

async fn incremental(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let mut rvs = BTreeMap::new();
    for kind in Kind::ALL {
        for (n, o) in cluster_objects(cx, kind).await {
            rvs.insert(
                format!("{}/{n}", kind.kind()),
                o["metadata"]["resourceVersion"].clone(),
            );
        }
    }
    let _ = patch_device(cx, "server-02", json!({"description": "one edit"})).await;
    let mark = mark(cx);
    let task = click_and_follow(cx, false).await?;
    let new = since(cx, &mark);
    let writes: Vec<String> = cluster_writes(&new)
        .iter()
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    let mut changed = Vec::new();
    for kind in Kind::ALL {
        for (n, o) in cluster_objects(cx, kind).await {
            let k = format!("{}/{n}", kind.kind());
            if rvs.get(&k) != Some(&o["metadata"]["resourceVersion"]) {
                changed.push(k);
            }
        }
    }
    cx.check(
        Step {
            name: "one edit, one write",
            action: "edit one server's description in NetBox and click Sync Now",
            expected: "exactly one cluster write (Server/server-02); every other resourceVersion unchanged",
            proves: &["DI-3"],
        },
        task["state"] == "SUCCESS" && writes.len() == 1 && changed == vec!["Server/server-02".to_string()],
        format!("writes {writes:?}; changed {changed:?}"),
        vec![],
    )
}

async fn relationships(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let switches = cluster_objects(cx, Kind::Switch).await;
    let servers = cluster_objects(cx, Kind::Server).await;
    let conns = cluster_objects(cx, Kind::Connection).await;
    let groups = cluster_objects(cx, Kind::SwitchGroup).await;
    let vpcs = cluster_objects(cx, Kind::VPC).await;
    let atts = cluster_objects(cx, Kind::VPCAttachment).await;
    let mut problems = Vec::new();
    for (name, s) in &switches {
        if let Some(g) = s["spec"]["redundancy"]["group"].as_str()
            && !groups.contains_key(g)
        {
            problems.push(format!(
                "Switch {name} names SwitchGroup {g}, which does not exist"
            ));
        }
    }
    for (name, a) in &atts {
        let conn = a["spec"]["connection"].as_str().unwrap_or_default();
        if !conns.contains_key(conn) {
            problems.push(format!(
                "VPCAttachment {name} names Connection {conn}, which does not exist"
            ));
        }
        let subnet = a["spec"]["subnet"].as_str().unwrap_or_default();
        let (vpc, sub) = subnet.split_once('/').unwrap_or((subnet, ""));
        if vpcs
            .get(vpc)
            .is_none_or(|v| v["spec"]["subnets"].get(sub).is_none())
        {
            problems.push(format!(
                "VPCAttachment {name} names subnet {subnet}, which does not exist"
            ));
        }
    }
    let switch_count = switches.len();
    let server_count = servers.len();
    cx.check(
        Step {
            name: "references resolve",
            action: "follow every redundancy group and VPC attachment reference in the cluster",
            expected: "every referenced SwitchGroup, Connection and VPC subnet exists",
            proves: &["DI-2"],
        },
        problems.is_empty() && !atts.is_empty(),
        if problems.is_empty() {
            format!(
                "{} attachments, {} groups resolve ({switch_count} switches, {server_count} servers)",
                atts.len(),
                groups.len()
            )
        } else {
            problems.join("; ")
        },
        vec![],
    )?;
    oracle_step(
        cx,
        Step {
            name: "connection endpoints",
            action: "run the oracle (every port names an existing device and NetBox interface)",
            expected: "no discrepancy",
            proves: &["DI-2"],
        },
    )
    .await
}

async fn data_flow(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let mut counts = Vec::new();
    let mut missing = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
        let n = cluster_objects(cx, kind)
            .await
            .values()
            .filter(|o| {
                o["metadata"]["labels"]["fabsync.githedgehog.com/fabric"] == cx.env.fabric.as_str()
            })
            .count();
        counts.push(format!("{} {n}", kind.kind()));
        if n == 0 {
            missing.push(kind.kind());
        }
    }
    cx.check(
        Step {
            name: "every kind arrives",
            action: "count fabsync's objects of each of the 12 planned kinds in the cluster",
            expected: "at least one of every kind",
            proves: &["DI-7"],
        },
        missing.is_empty(),
        format!("{}; missing: {missing:?}", counts.join(", ")),
        vec![],
    )
}

async fn auth_failure(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let f = cx.env.faults.clone();
    let _ = f.cluster_wrong_token(true).await;
    let task = click_and_follow(cx, false).await?;
    let run = run_of(cx, &task);
    let _ = f.cluster_wrong_token(false).await;
    let _ = f.netbox_wrong_token(true).await;
    let task2 = click_and_follow(cx, false).await?;
    let run2 = run_of(cx, &task2);
    let _ = f.netbox_wrong_token(false).await;
    let secrets = cx.env.secrets.clone();
    let texts: Vec<String> = [&run, &run2]
        .iter()
        .filter_map(|r| r.as_ref().and_then(|r| r.error.clone()))
        .collect();
    let leaked = texts.iter().any(|t| {
        secrets.iter().any(|s| t.contains(s.as_str())) || t.contains("wrong-cluster-token")
    });
    cx.check(
        Step {
            name: "refused credentials are named per system",
            action: "give fabsync a wrong cluster token, sync; then a wrong NetBox token, sync",
            expected: "cluster_unauthorized then netbox_unauthorized, each message naming the system, no token in any message",
            proves: &["EH-2"],
        },
        run.as_ref().and_then(|r| r.error_kind.as_deref()) == Some("cluster_unauthorized")
            && run2.as_ref().and_then(|r| r.error_kind.as_deref()) == Some("netbox_unauthorized")
            && !leaked,
        format!("errors: {texts:?}; a token leaked: {leaked}"),
        vec![],
    )?;
    let task = click_and_follow(cx, false).await?;
    cx.check(
        Step {
            name: "recovery with the right credentials",
            action: "restore the tokens and sync",
            expected: "SUCCESS",
            proves: &[],
        },
        task["state"] == "SUCCESS",
        format!("{}", task["state"]),
        vec![],
    )
}

async fn conflict(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    // Another tool takes spec.description of leaf-01 with its own field manager.
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cx.env.kube.clone(),
        "default",
        &crate::engine::api_resource(Kind::Switch),
    );
    let patch = json!({"apiVersion": Kind::Switch.api_version(), "kind": "Switch",
                       "metadata": {"name": "leaf-01", "namespace": "default"},
                       "spec": {"description": "owned by another tool"}});
    let taken = api
        .patch(
            "leaf-01",
            &kube::api::PatchParams::apply("inventory-bot").force(),
            &kube::api::Patch::Apply(&patch),
        )
        .await;
    let _ = patch_device(cx, "leaf-01", json!({"description": "from NetBox"})).await;
    let before = cluster_content(cx).await;
    let mark = mark(cx);
    let task = click_and_follow(cx, false).await?;
    let run = run_of(cx, &task);
    let writes = cluster_writes(&since(cx, &mark)).len();
    let err = run
        .as_ref()
        .and_then(|r| r.error.clone())
        .unwrap_or_default();
    cx.check(
        Step {
            name: "conflict reported",
            action: "another field manager owns leaf-01's description; NetBox wants another; click Sync Now (policy fail)",
            expected: "FAILURE naming .spec.description and inventory-bot; nothing written",
            proves: &["EH-3"],
        },
        taken.is_ok()
            && task["state"] == "FAILURE"
            && err.contains(".spec.description")
            && err.contains("inventory-bot")
            && writes == 0
            && cluster_content(cx).await == before,
        format!("error: {err}; {writes} writes"),
        vec![],
    )
}

const ROLLED_BACK: Step = Step {
    name: "rolled back",
    action: "edit 8 devices and delete server-06 in NetBox; make a cluster write fail after others took effect (the 5th write answers HTTP 500 where the target can be told so; on a real cluster another field manager applies to Server/server-06 right after fabsync's first write, so fabsync's delete of it meets a changed resourceVersion); click Sync Now",
    expected: "the attempt ends FAILURE \"rolled back\" and the cluster's content is identical to before",
    proves: &["EH-4", "DI-5"],
};

async fn rollback(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    for name in [
        "leaf-01",
        "leaf-02",
        "leaf-03",
        "spine-01",
        "spine-02",
        "server-01",
        "server-02",
        "server-04",
    ] {
        let _ = patch_device(
            cx,
            name,
            json!({"description": format!("{name} revision 2")}),
        )
        .await;
    }
    // A removal too: its deletes come after every update.
    let gone = netbox_device(cx, "server-06").await.map_err(Stop)?;
    cx.env
        .netbox
        .delete("dcim/devices", gone["id"].as_u64().unwrap_or(0))
        .await
        .map_err(|e| Stop(format!("deleting server-06 in NetBox: {e}")))?;
    let before = cluster_content(cx).await;
    let how = match cx.env.faults.fail_nth_cluster_write(5).await {
        Ok(()) => "the 5th cluster write answered HTTP 500".to_string(),
        Err(no_fault) => match cx
            .env
            .faults
            .concurrent_writer(Kind::Server, "server-06")
            .await
        {
            Ok(()) => format!(
                "another field manager ({}) applied Server/server-06 right after fabsync's first write",
                super::systems::CONCURRENT_WRITER
            ),
            Err(e) => {
                return Err(cx.not_provable(ROLLED_BACK, format!("{no_fault}; {e}")));
            }
        },
    };
    let (task_id, _) = match cx.click_sync_now().await {
        Ok(x) => x,
        Err(e) => return cx.check(CLICK, false, e, vec![]).map(|_| ()),
    };
    // The failed attempt (a 500 or a 409 is transient: the scheduler retries it after 5 s).
    let first = cx
        .follow_task_until(&task_id, Duration::from_secs(120), true)
        .await
        .map_err(Stop)?;
    let run = run_of(cx, &first);
    let after = cluster_content(cx).await;
    let ev_b = cx.evidence(
        "cluster-before.json",
        serde_json::to_vec_pretty(&before).unwrap_or_default(),
    );
    let ev_a = cx.evidence(
        "cluster-after-rollback.json",
        serde_json::to_vec_pretty(&after).unwrap_or_default(),
    );
    let writes_undone = run.as_ref().is_some_and(|r| r.writes > 0);
    cx.check(
        ROLLED_BACK,
        run.as_ref().is_some_and(|r| r.phase == Phase::Failure)
            && run.as_ref().and_then(|r| r.message.as_deref()) == Some("rolled back")
            && writes_undone
            && before == after,
        format!(
            "{how}; task {}; run {:?}; cluster identical: {}",
            first["state"],
            run.as_ref()
                .map(|r| (r.message.clone(), r.writes, r.error.clone())),
            before == after
        ),
        vec![ev_b, ev_a],
    )?;
    let done = cx
        .follow_task(&task_id, Duration::from_secs(600))
        .await
        .map_err(Stop)?;
    let run = run_of(cx, &done);
    let servers = cluster_objects(cx, Kind::Server).await;
    cx.check(
        Step {
            name: "the retry applies everything",
            action: "let the scheduler retry the transient failure",
            expected: "SUCCESS with the 8 updates and server-06 gone",
            proves: &["PS-5"],
        },
        done["state"] == "SUCCESS"
            && run
                .as_ref()
                .is_some_and(|r| r.counts.updated == 8 && r.counts.deleted >= 1)
            && !servers.contains_key("server-06"),
        format!("task {}; {:?}", done["state"], run.map(|r| r.counts)),
        vec![],
    )
}

const RETRY_AFTER: Step = Step {
    name: "Retry-After honoured",
    action: "the cluster answers three applies with 429 and Retry-After: 2; click Sync Now",
    expected: "each throttled request is sent again no sooner than 2 s later, and the sync succeeds",
    proves: &["PF-6"],
};

async fn rate_limiting(cx: &mut Cx<'_>) -> R {
    let fault = cx.env.faults.throttle_cluster(3, 2).await;
    if let Err(reason) = &fault {
        return Err(cx.not_provable(RETRY_AFTER, reason.clone()));
    }
    let task = click_and_follow(cx, false).await?;
    let all = calls(cx);
    let at = |c: &ApiCall| {
        c.time
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or(0)
    };
    // fabsync's own requests (the budget is fabsync's, not the person's looking on).
    let cluster: Vec<&ApiCall> = all
        .iter()
        .filter(|c| {
            c.server == "apiserver"
                && c.user_agent
                    .as_deref()
                    .is_some_and(|u| u.starts_with("fabsync/"))
        })
        .collect();
    let mut honoured = Vec::new();
    for (i, t) in cluster.iter().enumerate().filter(|(_, c)| c.status == 429) {
        let retry = cluster[i + 1..]
            .iter()
            .find(|c| c.method == t.method && c.path == t.path && c.query == t.query);
        honoured.push(retry.map(|r| at(r) - at(t)));
    }
    cx.check(
        RETRY_AFTER,
        fault.is_ok()
            && task["state"] == "SUCCESS"
            && honoured.len() == 3
            && honoured.iter().all(|d| d.is_some_and(|d| d >= 2000)),
        format!(
            "fault {fault:?}; retried after (ms) {honoured:?}; task {}",
            task["state"]
        ),
        vec![],
    )?;
    // Replay the token bucket (50 qps, burst 100) over the request times.
    let mut times: Vec<f64> = cluster.iter().map(|c| at(c) as f64 / 1000.0).collect();
    times.sort_by(f64::total_cmp);
    let (qps, burst) = (50.0_f64, 100.0_f64);
    let mut tokens = burst;
    let mut last = times.first().copied().unwrap_or(0.0);
    let mut worst = burst;
    for t in &times {
        tokens = (tokens + (t - last) * qps).min(burst);
        last = *t;
        tokens -= 1.0;
        worst = worst.min(tokens);
    }
    cx.check(
        Step {
            name: "QPS budget held",
            action: "replay a 50 qps / burst 100 token bucket over every cluster request's time",
            expected: "the bucket never goes below one request of debt (clock resolution)",
            proves: &["PF-6"],
        },
        worst >= -1.0,
        format!("{} requests; lowest bucket level {worst:.2}", times.len()),
        vec![],
    )
}

async fn netbox_unavailable(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let before = cluster_content(cx).await;
    let f = cx.env.faults.clone();
    let _ = f.netbox_unreachable(true).await;
    let mark = mark(cx);
    let task = click_and_follow(cx, false).await?;
    let run = run_of(cx, &task);
    let writes = cluster_writes(&since(cx, &mark)).len();
    let _ = f.netbox_unreachable(false).await;
    cx.check(
        Step {
            name: "cluster untouched",
            action: "make NetBox unreachable and click Sync Now",
            expected: "FAILURE netbox_unreachable naming NetBox; zero cluster writes; cluster identical",
            proves: &["PF-7"],
        },
        task["state"] == "FAILURE"
            && run.as_ref().and_then(|r| r.error_kind.as_deref()) == Some("netbox_unreachable")
            && writes == 0
            && cluster_content(cx).await == before,
        format!(
            "error {:?}; {writes} writes",
            run.as_ref().and_then(|r| r.error.clone())
        ),
        vec![],
    )
}

async fn invalid_data(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    // A server: its own finding comes with those of its few cables, so the message (which shows
    // the first five fatal findings) must name the device itself.
    let d = netbox_device(cx, "server-03").await.map_err(Stop)?;
    let id = d["id"].as_u64().unwrap_or(0);
    let _ = cx
        .env
        .netbox
        .patch("dcim/devices", id, &json!({"name": "Server 03 (spare)"}))
        .await;
    let before = cluster_content(cx).await;
    let mark = mark(cx);
    let task = click_and_follow(cx, false).await?;
    let run = run_of(cx, &task);
    let writes = cluster_writes(&since(cx, &mark)).len();
    let err = run
        .as_ref()
        .and_then(|r| r.error.clone())
        .unwrap_or_default();
    cx.check(
        Step {
            name: "nothing written, object named",
            action: "rename server-03 in NetBox to a name Kubernetes refuses; click Sync Now",
            expected: "FAILURE invalid_data naming the device (NetBox dcim.device <id>, its name) and the field; zero writes",
            proves: &["DI-5"],
        },
        run.as_ref().and_then(|r| r.error_kind.as_deref()) == Some("invalid_data")
            && err.contains(&format!("NetBox dcim.device {id} "))
            && err.contains("Server 03 (spare)")
            && err.contains("field name")
            && writes == 0
            && cluster_content(cx).await == before,
        format!("{err}; {writes} writes"),
        vec![],
    )?;
    let page = cx
        .task_page(task["id"].as_str().unwrap_or_default())
        .await
        .map_err(Stop)?;
    let msg = text_of(&page.body, ".sync-error-message").unwrap_or_default();
    cx.check(
        Step {
            name: "the page says what to fix",
            action: "read the task page",
            expected: "a .sync-error-message naming the device and telling to fix NetBox",
            proves: &["EH-5"],
        },
        msg.contains("Server 03 (spare)") && msg.contains("NetBox"),
        msg,
        vec![],
    )
}

async fn drift(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?;
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        cx.env.kube.clone(),
        "default",
        &crate::engine::api_resource(Kind::Switch),
    );
    let edit = api
        .patch(
            "spine-01",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"boot": {"serial": "HAND-EDITED"}}})),
        )
        .await;
    let before = cx.env.store.all_runs().unwrap_or_default().len();
    let iv = interval(cx);
    let runs = wait_new_run(cx, before, Duration::from_secs(2 * iv + 60), |r| {
        r.drift > 0
    })
    .await;
    let run = runs[before.min(runs.len())..]
        .iter()
        .find(|r| r.drift > 0)
        .cloned();
    let serial = netbox_device(cx, "spine-01")
        .await
        .map(|d| d["serial"].clone())
        .unwrap_or(Value::Null);
    let live = cluster_objects(cx, Kind::Switch).await;
    cx.check(
        Step {
            name: "drift repaired",
            action: "edit spine-01's boot serial with kubectl-style merge patch; wait for the periodic run",
            expected: "the run repairs it (serial back to NetBox's) and reports drift",
            proves: &["DI-8"],
        },
        edit.is_ok()
            && run
                .as_ref()
                .is_some_and(|r| r.drift == 1 && r.message.as_deref().is_some_and(|m| m.contains("drift")))
            && live.get("spine-01").is_some_and(|s| s["spec"]["boot"]["serial"] == serial),
        format!(
            "run {:?}",
            run.as_ref().map(|r| (r.drift, r.message.clone()))
        ),
        vec![],
    )
}

async fn restart(cx: &mut Cx<'_>) -> R {
    let slow = cx.env.faults.slow_cluster(500).await;
    let fabric = cx.env.fabric.clone();
    let _ = cx.env.scheduler.trigger(&fabric, Trigger::Manual);
    // Well into the run (it is slow: one cluster request per 500 ms).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while status(cx) != Some(FabricStatus::Syncing) && tokio::time::Instant::now() < deadline {
        cx.wait(POLL).await;
    }
    cx.wait(Duration::from_secs(3)).await;
    let syncing = status(cx) == Some(FabricStatus::Syncing);
    // The process dies.
    cx.env.scheduler.abort();
    let _ = cx.env.faults.clear().await;
    let seed = 0;
    let restarted = cx.env.restart(super::systems::scheduler_config(seed));
    let closed = cx
        .env
        .store
        .all_runs()
        .unwrap_or_default()
        .into_iter()
        .next()
        .filter(|r| r.error_kind.as_deref() == Some("interrupted"));
    cx.check(
        Step {
            name: "interrupted run closed",
            action: "start a slow sync, kill fabsync mid-run, start fabsync again on the same store",
            expected: "the run is closed FAILURE \"interrupted\" and the fabric is not left syncing",
            proves: &["EH-6"],
        },
        slow.is_ok() && syncing && restarted.is_ok() && closed.is_some() && status(cx) != Some(FabricStatus::Syncing),
        format!(
            "was syncing: {syncing}; restart {restarted:?}; closed run {:?}; status now {:?}",
            closed.map(|r| (r.id, r.phase)),
            status(cx)
        ),
        vec![],
    )?;
    let task = click_and_follow(cx, false).await?;
    cx.check(
        Step {
            name: "recovered",
            action: "click Sync Now on the restarted fabsync",
            expected: "SUCCESS and in_sync",
            proves: &["EH-6"],
        },
        task["state"] == "SUCCESS" && status(cx) == Some(FabricStatus::InSync),
        format!("{}", task["state"]),
        vec![],
    )
}

/// Peak resident memory of this process (Linux `VmHWM`), in bytes.
pub fn peak_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory bound of the large-fabric workflow.
pub const MEMORY_BOUND: u64 = 2 * 1024 * 1024 * 1024;

async fn large(cx: &mut Cx<'_>) -> R {
    let task = api_sync(cx).await;
    let run = task.as_ref().ok().and_then(|t| run_of(cx, t));
    cx.check(
        Step {
            name: "large fabric within 5 minutes",
            action: "sync the large fabric through the API",
            expected: "SUCCESS within 300 s",
            proves: &["PF-4"],
        },
        run.as_ref().is_some_and(|r| {
            r.phase == Phase::Success && r.duration_ms.unwrap_or(u64::MAX) < 300_000
        }),
        match run.as_ref() {
            Some(r) => format!(
                "run {} in {:.1} s: {} objects created, {} cluster calls (dry runs included), {} NetBox calls, QPS budget {}",
                r.phase,
                r.duration_ms.unwrap_or(0) as f64 / 1000.0,
                r.counts.created,
                r.cluster_calls,
                r.netbox_calls,
                cx.env
                    .store
                    .fabric(&cx.env.fabric)
                    .map(|f| format!("{}/s, burst {}", f.config.limits.qps, f.config.limits.burst))
                    .unwrap_or_else(|e| e.to_string()),
            ),
            None => format!("no run for the task: {task:?}"),
        },
        vec![],
    )?;
    let peak = peak_memory();
    cx.timings.push((
        "large-fabric/peak-memory-bytes".into(),
        peak.unwrap_or(0) as f64,
    ));
    cx.check(
        Step {
            name: "memory bounded",
            action: "read this process's peak resident memory after the sync",
            expected: "below 2 GiB (the number is in timings.json)",
            proves: &["PF-5"],
        },
        peak.is_some_and(|p| p < MEMORY_BOUND),
        // The number itself varies from run to run: it goes to timings.json, not the report.
        if peak.is_some_and(|p| p < MEMORY_BOUND) {
            "below the bound".to_string()
        } else {
            "above the bound or unmeasurable".to_string()
        },
        vec![],
    )?;
    oracle_step(
        cx,
        Step {
            name: "large fabric consistent",
            action: "run the oracle on the large fabric",
            expected: "no discrepancy",
            proves: &["DI-4"],
        },
    )
    .await
}
