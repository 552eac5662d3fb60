//! The periodic workflows of automation: runs on the fabric's interval, a NetBox change found by
//! the next periodic run, a periodic run with nothing to do, retry with backoff, a click during a
//! periodic run, and cluster drift found and repaired.

use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::common::{
    POLL, R, calls_of_run, catch_up, click_and_follow, cluster_objects, cluster_writes, interval,
    mark, netbox_device, oracle_step, patch_device, say_list, say_run, say_status, status,
    wait_new_run, wait_runs,
};
use crate::hedgehog::Kind;
use crate::store::{FabricStatus, Phase, RunRecord, Trigger};
use crate::validate::cx::{Cx, Step, Stop};
use crate::validate::error::shown;

pub(super) async fn periodic_interval(cx: &mut Cx<'_>) -> R {
    // The fabric was never synced: a catch-up run starts at once, then ticks every interval.
    let iv = interval(cx);
    let limit = Duration::from_secs(3 * iv + 60);
    let (runs, _) = wait_runs(cx, limit, |runs| {
        runs.iter()
            .filter(|r| r.trigger == Trigger::Periodic && r.end.finished_at.is_some())
            .count()
            >= 3
    })
    .await;
    let t0: jiff::Timestamp = runs
        .first()
        .map(|r| r.started_at)
        .unwrap_or_else(|| cx.env.clock.now());
    let at: Vec<(String, i64)> = runs
        .iter()
        .map(|r| {
            (
                r.trigger.to_string(),
                r.started_at.duration_since(t0).as_secs(),
            )
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
        format!(
            "interval {iv} s; runs (trigger at seconds after the first): {}",
            say_list(at.iter().map(|(t, s)| format!("{t} at {s} s")))
        ),
        vec![ev],
    )?;
    let all_ok = runs.iter().all(|r| r.end.phase == Phase::Success);
    let st = status(cx);
    let (code, body) = cx
        .api(
            Method::GET,
            &format!("/api/fabrics/{}/runs", cx.env.fabric),
            None,
        )
        .await?;
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
        format!(
            "status {}, all runs SUCCESS: {all_ok}, periodic runs listed: {listed}",
            say_status(st)
        ),
        vec![],
    )
}

pub(super) async fn periodic_change(cx: &mut Cx<'_>) -> R {
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
        shown(&edit),
        vec![],
    )?;
    let mark = mark(cx);
    let before = cx.env.store.all_runs().unwrap_or_default().len();
    let iv = interval(cx);
    let runs = wait_new_run(cx, before, Duration::from_secs(2 * iv + 60), |r| {
        r.trigger == Trigger::Periodic && r.end.counts.updated >= 1
    })
    .await;
    let new: Vec<&RunRecord> = runs[before.min(runs.len())..].iter().collect();
    let detected = new
        .iter()
        .find(|r| r.trigger == Trigger::Periodic && r.end.counts.updated >= 1);
    // What that run asked NetBox: its change log, then the changed object by id (the
    // incremental refresh), never the fabric's lists again.
    let reads: Vec<_> = calls_of_run(cx, &mark, detected.copied())
        .await
        .into_iter()
        .filter(|c| {
            c.server == "netbox"
                && c.method == "GET"
                && c.user_agent
                    .as_deref()
                    .is_some_and(|u| u.starts_with("fabsync/"))
        })
        .collect();
    let by_id = |q: &str| q.split('&').any(|kv| kv.starts_with("id="));
    let full = reads
        .iter()
        .filter(|c| !c.path.starts_with("/api/core/object-changes") && !by_id(&c.query))
        .count();
    let one_by_id = reads.iter().filter(|c| by_id(&c.query)).count();
    cx.check(
        Step {
            name: "change detected",
            action: "wait for the next periodic run",
            expected: "a periodic run that found the NetBox change and updated the object",
            proves: &["PS-2"],
        },
        detected.is_some(),
        format!(
            "new runs: {}",
            say_list(new.iter().map(|r| say_run(Some(r))))
        ),
        vec![],
    )?;
    let ev = cx.evidence(
        "netbox-reads.json",
        serde_json::to_vec_pretty(&reads).unwrap_or_default(),
    );
    cx.check(
        Step {
            name: "read incrementally",
            action: "list what the detecting run asked NetBox",
            expected: "its change log and the changed object by id; no list of the fabric",
            proves: &["PS-2"],
        },
        detected.is_some() && full == 0 && one_by_id >= 1,
        format!(
            "{} reads: {}",
            reads.len(),
            say_list(reads.iter().map(|c| if c.query.is_empty() {
                c.path.clone()
            } else {
                format!("{}?{}", c.path, c.query)
            }))
        ),
        vec![ev],
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

pub(super) async fn periodic_no_changes(cx: &mut Cx<'_>) -> R {
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
    // Every request of that run, its trace in NetBox included (the catch-up run's came before).
    let new: &Vec<_> = &calls_of_run(cx, &mark, run.as_ref()).await;
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
            .is_some_and(|r| r.end.message.as_deref() == Some("no changes") && r.end.phase == Phase::Success)
            && writes == 0
            && !full_read,
        format!(
            "{}; {writes} cluster writes; NetBox paths asked: {}",
            run.as_ref().map_or("no periodic run".to_string(), |r| format!(
                "periodic run {}: {}",
                r.id,
                r.end.message.as_deref().unwrap_or("no message")
            )),
            netbox_paths.join(", ")
        ),
        vec![ev],
    )
}

pub(super) async fn periodic_retry(cx: &mut Cx<'_>) -> R {
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
            .filter(|r| {
                r.task_id.as_deref() == Some(task_id.as_str()) && r.end.finished_at.is_some()
            })
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
    let gaps = waits_between_attempts(&runs);
    let within = |gap: f64, wait: i64| gap >= wait as f64 - 0.05 && gap <= wait as f64 + 1.0;
    cx.check(
        Step {
            name: "retried with backoff and recovered",
            action: "make the cluster unreachable, request a sync, repair the cluster once two attempts failed",
            expected: "the task goes RETRY; each retry starts the policy's backoff after the failed attempt ended (its base, then base × factor; up to 1 s later), and the task ends SUCCESS",
            proves: &["PS-5"],
        },
        mid.as_ref().is_some_and(|t| t.state == Phase::Retry)
            && task.as_ref().is_some_and(|t| t.state == Phase::Success)
            && gaps.len() == 2
            && within(gaps[0], first)
            && within(gaps[1], second)
            && runs.last().is_some_and(|r| r.trigger == Trigger::Retry),
        format!(
            "mid-way {}, final {}; waits from a failed attempt's end to the next start: {} (policy: {first} s then {second} s)",
            mid.map_or("no task".to_string(), |t| t.state.as_str().to_string()),
            task.map_or("no task".to_string(), |t| t.state.as_str().to_string()),
            gaps.iter()
                .map(|g| format!("{g:.1} s"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        vec![],
    )
}

/// Seconds from the end of each attempt to the start of the next: what a retry policy's
/// backoff is (an attempt against a real NetBox spends seconds reading before it fails).
fn waits_between_attempts(runs: &[RunRecord]) -> Vec<f64> {
    runs.windows(2)
        .map(|w| {
            let ended = w[0].end.finished_at.unwrap_or(w[0].started_at);
            w[1].started_at.duration_since(ended).as_secs_f64()
        })
        .collect()
}

pub(super) async fn concurrent(cx: &mut Cx<'_>) -> R {
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
            .any(|r| r.trigger == Trigger::Periodic && r.end.finished_at.is_none())
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
                && let (Some(ae), Some(be)) = (&a.end.finished_at, &b.end.finished_at)
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
            && runs.iter().all(|r| r.end.phase == Phase::Success),
        format!(
            "periodic run in progress at the click: {}; runs: {}; overlapping runs: {}",
            if running { "yes" } else { "no" },
            say_list(runs.iter().map(|r| format!(
                "{} {} {}",
                r.id,
                r.trigger.as_str(),
                r.end.phase.as_str()
            ))),
            say_list(overlaps.iter().map(|(a, b)| format!("{a} and {b}")))
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

pub(super) async fn drift(cx: &mut Cx<'_>) -> R {
    catch_up(cx).await?;
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(cx.env.kube.clone(), "default", &Kind::Switch.api_resource());
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
        r.end.drift > 0
    })
    .await;
    let run = runs[before.min(runs.len())..]
        .iter()
        .find(|r| r.end.drift > 0)
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
                .is_some_and(|r| r.end.drift == 1 && r.end.message.as_deref().is_some_and(|m| m.contains("drift")))
            && live.get("spine-01").is_some_and(|s| s["spec"]["boot"]["serial"] == serial),
        format!(
            "{}; objects drifted: {}",
            say_run(run.as_ref()),
            run.as_ref().map_or(0, |r| r.end.drift)
        ),
        vec![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Counts, RunEnd, RunStep};

    fn attempt(n: u32, start: &str, end: &str) -> RunRecord {
        RunRecord {
            id: i64::from(n),
            fabric: "f".into(),
            task_id: Some("t".into()),
            trigger: if n == 1 {
                Trigger::Manual
            } else {
                Trigger::Retry
            },
            attempt: n,
            started_at: start.parse().unwrap(),
            holder: None,
            end: RunEnd {
                phase: Phase::Failure,
                step: RunStep::Apply,
                finished_at: Some(end.parse().unwrap()),
                duration_ms: None,
                counts: Counts::default(),
                cluster_calls: 0,
                netbox_calls: 0,
                writes: 0,
                drift: 0,
                message: None,
                error_kind: None,
                error: None,
            },
        }
    }

    /// Against the real NetBox 4.7.3 the check saw gaps of [7, 4] s for a policy of 2 s then
    /// 4 s: it measured from one attempt's start to the next, and the first attempt spent 5 s
    /// reading NetBox before the cluster refused it. The backoff counts from the failure.
    #[test]
    fn the_wait_between_attempts_counts_from_the_failed_attempts_end() {
        let runs = [
            attempt(1, "2026-01-01T00:00:00Z", "2026-01-01T00:00:05Z"),
            attempt(2, "2026-01-01T00:00:07Z", "2026-01-01T00:00:07.2Z"),
            attempt(3, "2026-01-01T00:00:11.2Z", "2026-01-01T00:00:12Z"),
        ];
        let waits = waits_between_attempts(&runs);
        assert_eq!(waits.len(), 2);
        assert!((waits[0] - 2.0).abs() < 1e-9, "{waits:?}");
        assert!((waits[1] - 4.0).abs() < 1e-9, "{waits:?}");
    }
}
