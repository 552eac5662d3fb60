//! The failure workflows of an operator: refused credentials named per system, a field owned by
//! another manager, a write failing midway and rolled back, the cluster's 429 + Retry-After and
//! the QPS budget, NetBox down, and fabsync dying mid-run.
//!
//! A fault the target cannot be given makes its step not provable (the requirement stays NOT
//! COVERED, with the reason).

use std::time::Duration;

use serde_json::json;

use super::common::{
    CLICK, POLL, R, baseline, calls, click_and_follow, cluster_content, cluster_objects,
    cluster_writes, mark, netbox_device, patch_device, run_of, say_counts, say_list, say_run,
    say_status, since, status,
};
use crate::hedgehog::Kind;
use crate::store::{FabricStatus, Phase, Trigger};
use crate::validate::cx::{Cx, Step};
use crate::validate::error::{Context, shown};
use crate::validate::model::ApiCall;
use crate::validate::systems::{CONCURRENT_WRITER, scheduler_config};

pub(super) async fn auth_failure(cx: &mut Cx<'_>) -> R {
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
        .filter_map(|r| r.as_ref().and_then(|r| r.end.error.clone()))
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
        run.as_ref().and_then(|r| r.end.error_kind.as_deref()) == Some("cluster_unauthorized")
            && run2.as_ref().and_then(|r| r.end.error_kind.as_deref()) == Some("netbox_unauthorized")
            && !leaked,
        format!(
            "errors: {}; a token leaked: {}",
            say_list(texts.iter().map(|t| format!("«{t}»"))),
            if leaked { "yes" } else { "no" }
        ),
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

pub(super) async fn conflict(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    // leaf-01 has no description in NetBox, so fabsync sets none; another tool then sets
    // spec.description with its own field manager — a field fabsync never applied. (A field
    // fabsync did apply that someone takes over is drift, and is put back.)
    let _ = patch_device(cx, "leaf-01", json!({"description": ""})).await;
    let _ = click_and_follow(cx, false).await?;
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(cx.env.kube.clone(), "default", &Kind::Switch.api_resource());
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
        .and_then(|r| r.end.error.clone())
        .unwrap_or_default();
    cx.check(
        Step {
            name: "conflict reported",
            action: "leaf-01 has no description in NetBox; another field manager sets its spec.description; NetBox then wants one; click Sync Now (policy fail)",
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

pub(super) async fn rollback(cx: &mut Cx<'_>) -> R {
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
    let gone = netbox_device(cx, "server-06").await?;
    cx.env
        .netbox
        .delete("dcim/devices", gone["id"].as_u64().unwrap_or(0))
        .await
        .context("deleting server-06 in NetBox")?;
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
                CONCURRENT_WRITER
            ),
            Err(e) => {
                return Err(cx.not_provable(ROLLED_BACK, format!("{no_fault}; {e}")));
            }
        },
    };
    let (task_id, _) = match cx.click_sync_now().await {
        Ok(x) => x,
        Err(e) => return cx.check(CLICK, false, e.to_string(), vec![]).map(|_| ()),
    };
    // The failed attempt (a 500 or a 409 is transient: the scheduler retries it after 5 s).
    let first = cx
        .follow_task_until(&task_id, Duration::from_secs(120), true)
        .await?;
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
    let writes_undone = run.as_ref().is_some_and(|r| r.end.writes > 0);
    cx.check(
        ROLLED_BACK,
        run.as_ref().is_some_and(|r| r.end.phase == Phase::Failure)
            && run.as_ref().and_then(|r| r.end.message.as_deref()) == Some("rolled back")
            && writes_undone
            && before == after,
        format!(
            "{how}; task {}; {}; cluster identical: {}",
            first["state"],
            say_run(run.as_ref()),
            if before == after { "yes" } else { "no" }
        ),
        vec![ev_b, ev_a],
    )?;
    let done = cx.follow_task(&task_id, Duration::from_secs(600)).await?;
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
                .is_some_and(|r| r.end.counts.updated == 8 && r.end.counts.deleted >= 1)
            && !servers.contains_key("server-06"),
        format!(
            "task {}; {}",
            done["state"],
            run.map_or("no run".to_string(), |r| say_counts(&r.end.counts))
        ),
        vec![],
    )
}

const RETRY_AFTER: Step = Step {
    name: "Retry-After honoured",
    action: "the cluster answers three applies with 429 and Retry-After: 2; click Sync Now",
    expected: "each throttled request is sent again no sooner than 2 s later, and the sync succeeds",
    proves: &["PF-6"],
};

pub(super) async fn rate_limiting(cx: &mut Cx<'_>) -> R {
    let fault = cx.env.faults.throttle_cluster(3, 2).await;
    if let Err(reason) = &fault {
        return Err(cx.not_provable(RETRY_AFTER, reason.to_string()));
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
            "fault {}; retried after: {}; task {}",
            shown(&fault),
            say_list(
                honoured
                    .iter()
                    .map(|h| h.map_or("never".to_string(), |ms| format!("{ms} ms")))
            ),
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

pub(super) async fn netbox_unavailable(cx: &mut Cx<'_>) -> R {
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
            && run.as_ref().and_then(|r| r.end.error_kind.as_deref()) == Some("netbox_unreachable")
            && writes == 0
            && cluster_content(cx).await == before,
        format!(
            "error: {}; {writes} cluster writes",
            run.as_ref()
                .and_then(|r| r.end.error.clone())
                .unwrap_or_else(|| "none".to_string())
        ),
        vec![],
    )
}

pub(super) async fn restart(cx: &mut Cx<'_>) -> R {
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
    let restarted = cx.env.restart(scheduler_config(seed));
    let closed = cx
        .env
        .store
        .all_runs()
        .unwrap_or_default()
        .into_iter()
        .next()
        .filter(|r| r.end.error_kind.as_deref() == Some("interrupted"));
    cx.check(
        Step {
            name: "interrupted run closed",
            action: "start a slow sync, kill fabsync mid-run, start fabsync again on the same store",
            expected: "the run is closed FAILURE \"interrupted\" and the fabric is not left syncing",
            proves: &["EH-6"],
        },
        slow.is_ok() && syncing && restarted.is_ok() && closed.is_some() && status(cx) != Some(FabricStatus::Syncing),
        format!(
            "was syncing: {}; restart {}; closed: {}; status now {}",
            if syncing { "yes" } else { "no" },
            shown(&restarted),
            say_run(closed.as_ref()),
            say_status(status(cx))
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
