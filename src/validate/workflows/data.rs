//! The data workflows: one NetBox edit makes one cluster write, references between objects
//! resolve, every planned kind arrives, and invalid NetBox data writes nothing and names the
//! object and field.

use std::collections::BTreeMap;

use serde_json::json;

use super::common::{
    R, baseline, click_and_follow, cluster_content, cluster_objects, cluster_writes, mark,
    netbox_device, oracle_step, patch_device, run_of, say_list, since,
};
use crate::hedgehog::Kind;
use crate::validate::cx::{Cx, Step, text_of};

pub(super) async fn incremental(cx: &mut Cx<'_>) -> R {
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
        format!(
            "cluster writes: {}; resourceVersion changed: {}",
            say_list(&writes),
            say_list(&changed)
        ),
        vec![],
    )
}

pub(super) async fn relationships(cx: &mut Cx<'_>) -> R {
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

pub(super) async fn data_flow(cx: &mut Cx<'_>) -> R {
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
        format!("{}; missing: {}", counts.join(", "), say_list(&missing)),
        vec![],
    )
}

pub(super) async fn invalid_data(cx: &mut Cx<'_>) -> R {
    baseline(cx).await?;
    // A server: its own finding comes with those of its few cables, so the message (which shows
    // the first five fatal findings) must name the device itself.
    let d = netbox_device(cx, "server-03").await?;
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
        .and_then(|r| r.end.error.clone())
        .unwrap_or_default();
    cx.check(
        Step {
            name: "nothing written, object named",
            action: "rename server-03 in NetBox to a name Kubernetes refuses; click Sync Now",
            expected: "FAILURE invalid_data naming the device (NetBox dcim.device <id>, its name) and the field; zero writes",
            proves: &["DI-5"],
        },
        run.as_ref().and_then(|r| r.end.error_kind.as_deref()) == Some("invalid_data")
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
        .await?;
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
