//! The manual workflows of a network engineer and an operator: the first Sync Now click (task
//! lifecycle, page feedback, objects, oracle, status, audit trail, foreign objects untouched),
//! NetBox edits followed by a click, and the cluster going away during a sync and coming back.

use http::Method;
use serde_json::{Value, json};

use super::common::{
    R, baseline, click_and_follow, cluster_objects, netbox_device, oracle_step, patch_device,
    run_of, say_counts, say_run, say_status, status,
};
use crate::hedgehog::Kind;
use crate::store::{FabricStatus, Phase, RunStep};
use crate::validate::cx::{Cx, Step, text_of};
use crate::validate::error::{ValidateError, shown};

pub(super) async fn manual_sync(cx: &mut Cx<'_>) -> R {
    let before = status(cx);
    cx.check(
        Step {
            name: "fabric never synced",
            action: "read the fabric's status",
            expected: "never_synced (not in_sync before any run)",
            proves: &[],
        },
        before == Some(FabricStatus::NeverSynced),
        say_status(before),
        vec![],
    )?;
    let task = click_and_follow(cx, true).await?;
    let run = run_of(cx, &task);
    let lifecycle = task["state"] == "SUCCESS"
        && task["started_at"].is_string()
        && task["finished_at"].is_string()
        && run.as_ref().is_some_and(|r| r.end.phase == Phase::Success);
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
            "task {} (created {}, started {}, finished {}), {}",
            task["state"],
            task["created_at"],
            task["started_at"],
            task["finished_at"],
            say_run(run.as_ref())
        ),
        vec![ev],
    )?;
    let run = run.expect("checked above");
    let page = cx
        .task_page(task["id"].as_str().unwrap_or_default())
        .await?;
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
            .is_some_and(|m| m.contains(&run.end.counts.created.to_string())),
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
        !switches.is_empty()
            && !servers.is_empty()
            && !conns.is_empty()
            && run.end.counts.created > 0,
        format!(
            "{} switches, {} servers, {} connections; run created {}",
            switches.len(),
            servers.len(),
            conns.len(),
            run.end.counts.created
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
        .await?;
    let st = status(cx);
    cx.check(
        Step {
            name: "status in sync",
            action: "read the fabric page and the stored status",
            expected: "in_sync, shown on the page, after a verified run",
            proves: &["MS-4"],
        },
        st == Some(FabricStatus::InSync)
            && page.body.contains("in_sync")
            && run.end.step == RunStep::Record,
        format!(
            "status {}, run ended in step {}",
            say_status(st),
            run.end.step
        ),
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
        audit.len() as u64 == run.end.writes && journaled,
        format!(
            "{} audit entries for {} writes; journal entry: {journaled}",
            audit.len(),
            run.end.writes
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
        run.end.duration_ms.unwrap_or(u64::MAX) < 300_000,
        format!("{} ms", run.end.duration_ms.unwrap_or(0)),
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

pub(super) async fn netbox_edits(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    let edits: Result<String, ValidateError> = async {
        // Rename a server.
        patch_device(cx, "server-05", json!({"name": "server-05b"})).await?;
        // Remove a server (its interfaces and cable ends go with it).
        let gone = netbox_device(cx, "server-06").await?;
        cx.env
            .netbox
            .delete("dcim/devices", gone["id"].as_u64().unwrap_or(0))
            .await?;
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
            .await?;
        let nic: Value = cx
            .env
            .netbox
            .create(
                "dcim/interfaces",
                &json!({"device": new["id"], "name": "enp2s1", "type": "25gbase-x-sfp28"}),
            )
            .await?;
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
            .await?;
        let port = free
            .iter()
            .filter(|i| i["type"]["value"] != "lag" && i["cable"].is_null())
            .max_by_key(|i| i["id"].as_u64())
            .ok_or_else(|| ValidateError::Missing("leaf-03 has no free port".into()))?;
        let _: Value = cx
            .env
            .netbox
            .create(
                "dcim/cables",
                &json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": nic["id"]}],
                        "b_terminations": [{"object_type": "dcim.interface", "object_id": port["id"]}],
                        "status": "connected"}),
            )
            .await?;
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
        edits.unwrap_or_else(|e| e.to_string()),
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
            "task {}; {}; servers: {}",
            task["state"],
            run.as_ref()
                .map_or("no run".to_string(), |r| say_counts(&r.end.counts)),
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

pub(super) async fn cluster_unreachable(cx: &mut Cx<'_>) -> R {
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
        shown(&broke),
        vec![],
    )?;
    let task = click_and_follow(cx, false).await?;
    let page = cx
        .task_page(task["id"].as_str().unwrap_or_default())
        .await?;
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
            && run.as_ref().and_then(|r| r.end.error_kind.as_deref()) == Some("cluster_unreachable")
            && run
                .as_ref()
                .and_then(|r| r.end.error.as_deref())
                .is_some_and(|e| e.contains("Kubernetes API server")),
        format!(
            "task {}, error: {}",
            task["state"],
            run.as_ref()
                .and_then(|r| r.end.error.clone())
                .unwrap_or_else(|| "none".to_string())
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
        say_status(st),
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
        format!("task {}, status {}", task["state"], say_status(status(cx))),
        vec![],
    )
}
