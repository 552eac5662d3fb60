//! End-to-end sync runs in the simulated world (issue 5): every assertion is made through the
//! fakes' APIs and request logs, never through the engine's internals.

use crate::common;

use common::*;
use fabsync::config::ConflictPolicy;
use fabsync::hedgehog::Kind;
use fabsync::plan::LABEL_FABRIC;
use fabsync::sim::WorldConfig;
use fabsync::store::{FabricStatus, ObjectResult, Phase};
use fake_apiserver::{Fault, ObjectRef, When, WriterPatch};
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn first_sync_creates_every_planned_object_and_is_verified() {
    let w = world().await;
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert!(r.end.counts.created > 0);
    assert_eq!(r.end.counts.failed, 0);

    let switches = objects(&w, Kind::Switch).await;
    assert!(switches.contains_key("leaf-01") && switches.contains_key("spine-01"));
    for (name, s) in &switches {
        assert_eq!(s["metadata"]["labels"][LABEL_FABRIC], "vlab", "{name}");
        assert!(
            s["metadata"]["annotations"]["fabsync.githedgehog.com/netbox-source"]
                .as_str()
                .unwrap()
                .starts_with("dcim.device/")
        );
    }
    let conns = objects(&w, Kind::Connection).await;
    assert!(
        conns.contains_key("server-01--eslag--leaf-01--leaf-02"),
        "{:?}",
        conns.keys()
    );
    // Counts agree with what the cluster holds.
    let mut owned = 0;
    for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
        owned += objects(&w, kind).await.len() as u64;
    }
    assert_eq!(owned, r.end.counts.created);

    let f = w.store.fabric("vlab").unwrap();
    assert_eq!(f.status, FabricStatus::InSync);
    assert_eq!(f.object_count, Some(owned));
    // The shipped SwitchProfiles are not ours and are untouched.
    for (_, p) in objects(&w, Kind::SwitchProfile).await {
        assert!(p["metadata"]["labels"].get(LABEL_FABRIC).is_none());
    }
}

#[tokio::test(start_paused = true)]
async fn a_second_manual_sync_writes_nothing() {
    let w = world().await;
    sync(&w).await;
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success);
    assert_no_writes(&w, mark);
    assert_eq!(r.end.writes, 0);
    assert_eq!(
        r.end.counts.created + r.end.counts.updated + r.end.counts.deleted,
        0
    );
}

#[tokio::test(start_paused = true)]
async fn periodic_run_with_no_changes_makes_no_writes_and_no_full_read() {
    let w = world().await;
    sync(&w).await;
    let nb_mark = w.netbox.log().len();
    let mark = w.apiserver.log().len();
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(r.end.message.as_deref(), Some("no changes"));
    assert_no_writes(&w, mark);
    let nb: Vec<_> = w.netbox.log().entries()[nb_mark..].to_vec();
    assert!(
        nb.iter()
            .all(|e| e.path.starts_with("/api/core/object-changes")),
        "only the changelog is read: {:?}",
        nb.iter().map(|e| &e.path).collect::<Vec<_>>()
    );
    // Only metadata lists and no dry runs on the cluster.
    let k8s: Vec<_> = w.apiserver.log().entries()[mark..].to_vec();
    assert!(
        k8s.iter()
            .all(|e| e.method == "GET" && e.verb.as_deref() == Some("list"))
    );
}

#[tokio::test(start_paused = true)]
async fn one_netbox_edit_gives_exactly_one_write() {
    let w = world().await;
    sync(&w).await;
    let before = resource_versions(&w).await;
    let leaf = device(&w, "leaf-01").await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf.id,
        json!({"description": "rack 7, row B"}),
    )
    .await;

    let mark = w.apiserver.log().len();
    let nb_mark = w.netbox.log().len();
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    let writes = cluster_writes(&w, mark);
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].name.as_deref(), Some("leaf-01"));
    assert_eq!(r.end.counts.updated, 1);
    // NetBox was not read in full: the change log, the edited device by id, and the journal
    // entry and site fields written after the run.
    let reads: Vec<String> = w.netbox.log().entries()[nb_mark..]
        .iter()
        .filter(|e| e.method == "GET" && !e.path.starts_with("/api/core/object-changes"))
        .map(|e| format!("{}?{}", e.path, e.query))
        .collect();
    assert_eq!(
        reads,
        [format!("/api/dcim/devices/?id={}&limit=1000", leaf.id)],
        "only the edited device is read again"
    );

    let after = resource_versions(&w).await;
    for (k, rv) in &before {
        if k != "Switch/leaf-01" {
            assert_eq!(after.get(k), Some(rv), "{k} must not change");
        }
    }
    assert_eq!(
        objects(&w, Kind::Switch).await["leaf-01"]["spec"]["description"],
        "rack 7, row B"
    );
}

#[tokio::test(start_paused = true)]
async fn edits_the_change_log_cannot_apply_exactly_fall_back_to_a_full_read() {
    let w = world().await;
    sync(&w).await;
    // A rename changes the object's name, which other objects carry in their nested form of
    // it (an interface's device): the snapshot cannot be patched, NetBox is read in full.
    let leaf = device(&w, "leaf-01").await;
    netbox_patch(&w, "dcim/devices", leaf.id, json!({"name": "leaf-01a"})).await;
    let nb_mark = w.netbox.log().len();
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert!(
        w.netbox.log().entries()[nb_mark..]
            .iter()
            .any(|e| e.method == "GET" && e.path == "/api/dcim/interfaces/"),
        "a rename reads every interface again"
    );
    let switches = objects(&w, Kind::Switch).await;
    assert!(switches.contains_key("leaf-01a"));
    assert!(!switches.contains_key("leaf-01"));
    // What the periodic run left is what a full read plans: a manual sync writes nothing.
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_no_writes(&w, mark);
}

#[tokio::test(start_paused = true)]
async fn an_incremental_read_leaves_what_a_full_read_would() {
    let w = world().await;
    sync(&w).await;
    // Several local edits of different kinds, one periodic run patching the snapshot.
    let leaf = device(&w, "leaf-01").await;
    let spine = device(&w, "spine-01").await;
    netbox_patch(&w, "dcim/devices", leaf.id, json!({"description": "A"})).await;
    netbox_patch(&w, "dcim/devices", spine.id, json!({"description": "B"})).await;
    netbox_patch(&w, "dcim/devices", leaf.id, json!({"description": "C"})).await;
    let nb_mark = w.netbox.log().len();
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(r.end.counts.updated, 2, "{:?}", r.objects);
    assert!(
        !w.netbox.log().entries()[nb_mark..]
            .iter()
            .any(|e| e.path == "/api/dcim/interfaces/"),
        "local edits are applied from the change log"
    );
    let switches = objects(&w, Kind::Switch).await;
    assert_eq!(switches["leaf-01"]["spec"]["description"], "C");
    assert_eq!(switches["spine-01"]["spec"]["description"], "B");
    // A manual run reads NetBox in full and finds nothing to write.
    let mark = w.apiserver.log().len();
    let nb_mark = w.netbox.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_no_writes(&w, mark);
    assert!(
        w.netbox.log().entries()[nb_mark..]
            .iter()
            .any(|e| e.path == "/api/dcim/interfaces/"),
        "a manual run reads everything"
    );
}

#[tokio::test(start_paused = true)]
async fn prune_deletes_what_netbox_no_longer_has_and_never_touches_foreign_objects() {
    let w = world().await;
    sync(&w).await;
    // A Switch someone created by hand, without fabsync's label.
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(w.kube(), "default", &Kind::SwitchGroup.api_resource());
    api.create(
        &Default::default(),
        &serde_json::from_value(json!({
            "apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchGroup",
            "metadata": {"name": "handmade", "namespace": "default"}, "spec": {}
        }))
        .unwrap(),
    )
    .await
    .unwrap();

    // Delete a server in NetBox (its cables and interfaces go with it).
    let srv = device(&w, "server-03").await;
    w.netbox_client()
        .delete("dcim/devices", srv.id)
        .await
        .unwrap();
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    // Each delete was dry-run first, and says so in its query (request logs, audit and write
    // counters read the query, not the DeleteOptions body).
    let deletes: Vec<_> = w.apiserver.log().entries()[mark..]
        .iter()
        .filter(|e| e.method == "DELETE")
        .cloned()
        .collect();
    let real: Vec<_> = deletes.iter().filter(|e| !e.dry_run).collect();
    assert_eq!(real.len() as u64, r.end.counts.deleted, "{deletes:?}");
    for d in &real {
        assert!(
            deletes
                .iter()
                .take_while(|e| e.seq < d.seq)
                .any(|e| e.path == d.path && e.query.contains("dryRun=All")),
            "{} was dry-run first, with dryRun=All in the query",
            d.path
        );
    }
    assert!(
        deletes
            .iter()
            .all(|e| e.dry_run == e.query.contains("dryRun=All"))
    );
    assert_eq!(r.end.writes, cluster_writes(&w, mark).len() as u64);
    assert!(!objects(&w, Kind::Server).await.contains_key("server-03"));
    assert!(
        !objects(&w, Kind::Connection)
            .await
            .keys()
            .any(|k| k.starts_with("server-03--"))
    );
    assert!(r.end.counts.deleted >= 2);
    assert!(
        objects(&w, Kind::SwitchGroup)
            .await
            .contains_key("handmade")
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_fifth_write_rolls_back_and_leaves_the_cluster_identical() {
    let w = world().await;
    sync(&w).await;
    // Change 8 devices so the run has more than five writes.
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
        let d = device(&w, name).await;
        netbox_patch(
            &w,
            "dcim/devices",
            d.id,
            json!({"description": format!("{name} v2")}),
        )
        .await;
    }
    let before = cluster_content(&w).await;
    w.apiserver
        .faults()
        .add(Fault::FailNthWrite {
            n: 5,
            code: Some(500),
        })
        .unwrap();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    assert_eq!(r.end.message.as_deref(), Some("rolled back"));
    let err = r.error.unwrap().to_string();
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(cluster_content(&w).await, before);
    // Writes in flight next to the failed one (concurrency 8) completed and were rolled back too.
    let rolled_back = r
        .objects
        .iter()
        .filter(|o| o.result == ObjectResult::RolledBack)
        .count();
    let failed = r
        .objects
        .iter()
        .filter(|o| o.result == ObjectResult::Failed)
        .count();
    assert_eq!((rolled_back, failed), (7, 1), "{:?}", r.objects);
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::Error);

    // The next run applies everything.
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(r.end.counts.updated, 8);
}

async fn conflicting_world(policy: ConflictPolicy) -> fabsync::sim::World {
    let w = world_with(WorldConfig {
        conflict_policy: policy,
        ..Default::default()
    })
    .await;
    // leaf-02 has no description in NetBox: fabsync never sets spec.description on it.
    let d = device(&w, "leaf-02").await;
    netbox_patch(&w, "dcim/devices", d.id, json!({"description": ""})).await;
    assert_eq!(sync(&w).await.phase, Phase::Success);
    // Another field manager sets spec.description of leaf-02: a field fabsync does not set.
    w.apiserver
        .faults()
        .add(Fault::ConcurrentWriter {
            target: ObjectRef {
                group: "wiring.githedgehog.com".into(),
                resource: "switches".into(),
                namespace: "default".into(),
                name: "leaf-02".into(),
            },
            field_manager: "kubectl-edit".into(),
            patch: json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "Switch",
                          "metadata": {"name": "leaf-02", "namespace": "default"},
                          "spec": {"description": "hand-written"}}),
            patch_type: WriterPatch::Apply,
            on_nth_write: None,
        })
        .unwrap();
    // A run takes the other manager's edit in (nothing of fabsync's changed) and verifies it.
    let r = sync(&w).await;
    assert_eq!(
        (r.phase, r.end.writes),
        (Phase::Success, 0),
        "{:?}",
        r.error
    );
    // Now NetBox wants a description: fabsync would take a field another manager owns.
    netbox_patch(
        &w,
        "dcim/devices",
        d.id,
        json!({"description": "from netbox"}),
    )
    .await;
    w
}

#[tokio::test(start_paused = true)]
async fn conflict_policy_fail_reports_field_and_manager_and_writes_nothing() {
    let w = conflicting_world(ConflictPolicy::Fail).await;
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let err = r.error.unwrap().to_string();
    assert!(err.contains(".spec.description"), "{err}");
    assert!(err.contains("kubectl-edit"), "{err}");
    assert_no_writes(&w, mark);
}

#[tokio::test(start_paused = true)]
async fn conflict_policy_skip_leaves_that_object_and_syncs_the_rest() {
    let w = conflicting_world(ConflictPolicy::Skip).await;
    let leaf3 = device(&w, "leaf-03").await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf3.id,
        json!({"description": "also changed"}),
    )
    .await;
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(r.end.counts.skipped, 1);
    let sw = objects(&w, Kind::Switch).await;
    assert_eq!(sw["leaf-02"]["spec"]["description"], "hand-written");
    assert_eq!(sw["leaf-03"]["spec"]["description"], "also changed");
    assert_eq!(
        w.store.fabric("vlab").unwrap().status,
        FabricStatus::OutOfSync
    );
    let skipped = r
        .objects
        .iter()
        .find(|o| o.result == ObjectResult::Skipped)
        .unwrap();
    assert!(skipped.message.as_deref().unwrap().contains("kubectl-edit"));
}

#[tokio::test(start_paused = true)]
async fn conflict_policy_force_takes_the_field_over() {
    let w = conflicting_world(ConflictPolicy::Force).await;
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(
        objects(&w, Kind::Switch).await["leaf-02"]["spec"]["description"],
        "from netbox"
    );
}

#[tokio::test(start_paused = true)]
async fn hand_edits_in_the_cluster_are_detected_repaired_and_reported_as_drift() {
    let w = world().await;
    sync(&w).await;
    // A person edits a Switch with a merge patch.
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(w.kube(), "default", &Kind::Switch.api_resource());
    api.patch(
        "spine-01",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"spec": {"boot": {"serial": "EDITED-BY-HAND"}}})),
    )
    .await
    .unwrap();
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(r.end.drift, 1);
    assert!(r.end.message.as_deref().unwrap().contains("drift"));
    let netbox_serial = device(&w, "spine-01").await.serial;
    assert_eq!(
        objects(&w, Kind::Switch).await["spine-01"]["spec"]["boot"]["serial"],
        json!(netbox_serial)
    );
    let drifted = r.objects.iter().find(|o| o.name == "spine-01").unwrap();
    assert!(
        drifted
            .message
            .as_deref()
            .unwrap()
            .contains("spec.boot.serial"),
        "{drifted:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cluster_unreachable_fails_naming_the_cluster_and_is_transient() {
    let w = world().await;
    w.apiserver.faults().set_unreachable(true);
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "cluster_unreachable", "{e}");
    assert!(e.is_transient());
    assert!(e.to_string().contains("Kubernetes API server"), "{e}");
    let f = w.store.fabric("vlab").unwrap();
    assert_eq!(f.status, FabricStatus::Error);
    assert_eq!(
        f.cluster_state,
        fabsync::store::ConnectionState::Unreachable
    );
}

#[tokio::test(start_paused = true)]
async fn netbox_unreachable_leaves_the_cluster_untouched() {
    let w = world().await;
    sync(&w).await;
    let before = cluster_content(&w).await;
    let fault = w.netbox.faults().add(fake_netbox::FaultRule::new(
        fake_netbox::FaultKind::Unreachable,
    ));
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "netbox_unreachable");
    assert!(e.to_string().contains("NetBox is unreachable"), "{e}");
    assert_no_writes(&w, mark);
    w.netbox.faults().remove(fault);
    assert_eq!(cluster_content(&w).await, before);
}

#[tokio::test(start_paused = true)]
async fn wrong_tokens_give_unauthorized_errors_for_each_system() {
    let w = world().await;
    w.connector.set_cluster_token("wrong");
    let r = sync(&w).await;
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "cluster_unauthorized", "{e}");
    assert!(!e.is_transient());
    assert!(
        !e.to_string().contains("wrong"),
        "no token in messages: {e}"
    );
    w.connector.set_cluster_token(fabsync::sim::CLUSTER_TOKEN);
    w.connector
        .set_netbox_token("nbt_wrongwrong01.0000000000000000000000000000000000000000");
    let r = sync(&w).await;
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "netbox_unauthorized", "{e}");
    assert!(e.to_string().contains("Invalid v2 token"), "{e}");
    assert_eq!(
        w.store.fabric("vlab").unwrap().netbox_state,
        fabsync::store::ConnectionState::Unauthorized
    );
}

#[tokio::test(start_paused = true)]
async fn invalid_netbox_data_writes_nothing_and_names_the_object() {
    let w = world().await;
    let leaf = device(&w, "leaf-03").await;
    netbox_patch(&w, "dcim/devices", leaf.id, json!({"name": "Leaf 03"})).await;
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "invalid_data");
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("dcim.device {}", leaf.id)) || msg.contains(&leaf.id.to_string()),
        "{msg}"
    );
    assert!(msg.contains("Leaf 03"), "{msg}");
    assert!(msg.contains("name"), "{msg}");
    assert_no_writes(&w, mark);
}

#[tokio::test(start_paused = true)]
async fn retry_after_is_honoured_and_the_qps_budget_holds() {
    let w = world().await;
    w.apiserver
        .faults()
        .add(Fault::TooManyRequests {
            retry_after_seconds: 2,
            form: fake_apiserver::RejectForm::Plain,
            when: When::always().verb("apply").times(3),
        })
        .unwrap();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    let log = w.apiserver.log().entries();
    let at =
        |e: &fake_apiserver::LogEntry| e.time.parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let throttled: Vec<_> = log.iter().filter(|e| e.status == 429).collect();
    assert_eq!(throttled.len(), 3);
    // Each throttled request was sent again, no sooner than Retry-After said.
    for t in &throttled {
        let retry = log
            .iter()
            .find(|e| {
                e.seq > t.seq && e.method == t.method && e.path == t.path && e.query == t.query
            })
            .expect("the throttled request is retried");
        assert!(
            at(retry) - at(t) >= 2_000,
            "retried after {} ms",
            at(retry) - at(t)
        );
        assert!(retry.status < 400);
    }
    // Token bucket (qps 50, burst 100) replayed over the request times.
    let times: Vec<f64> = log
        .iter()
        .map(|e| e.time.parse::<jiff::Timestamp>().unwrap().as_millisecond() as f64 / 1000.0)
        .collect();
    let (qps, burst) = (50.0_f64, 100.0_f64);
    let mut tokens = burst;
    let mut last = times[0];
    for t in &times {
        tokens = (tokens + (t - last) * qps).min(burst);
        last = *t;
        tokens -= 1.0;
        assert!(tokens >= -1.0, "QPS budget exceeded at {t}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_past_its_deadline_fails_and_says_so() {
    let mut cfg = WorldConfig::default();
    cfg.limits.deadline_secs = 20;
    let w = world_with(cfg).await;
    w.apiserver
        .faults()
        .add(Fault::Latency {
            millis: 5_000,
            when: When::always(),
        })
        .unwrap();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "deadline_exceeded", "{e}");
    assert!(e.is_transient());
}

#[tokio::test(start_paused = true)]
async fn every_run_leaves_a_journal_entry_on_the_netbox_site() {
    let w = world().await;
    let r = sync(&w).await;
    let entries = w
        .netbox_client()
        .list_values("extras/journal-entries", &[])
        .await
        .unwrap();
    let newest = |entries: &[serde_json::Value]| {
        entries
            .iter()
            .max_by_key(|e| e["id"].as_u64())
            .cloned()
            .expect("a journal entry")
    };
    let e = newest(&entries);
    assert_eq!(e["assigned_object_type"], "dcim.site");
    assert_eq!(e["kind"]["value"], "info");
    assert!(
        e["comments"]
            .as_str()
            .unwrap()
            .contains(&format!("fabsync run {}", r.run_id))
    );
    // A failure is a danger entry.
    w.apiserver.faults().set_unreachable(true);
    sync(&w).await;
    let entries = w
        .netbox_client()
        .list_values("extras/journal-entries", &[])
        .await
        .unwrap();
    assert_eq!(newest(&entries)["kind"]["value"], "danger");
}

#[tokio::test(start_paused = true)]
async fn the_audit_log_records_every_write() {
    let w = world().await;
    let r = sync(&w).await;
    let audit = w.store.audit_entries(Some(r.run_id)).unwrap();
    assert_eq!(audit.len() as u64, r.end.counts.created);
    assert!(
        audit
            .iter()
            .all(|a| a.verb == "apply" && a.after_hash.is_some())
    );
}

#[tokio::test(start_paused = true)]
async fn a_value_the_cluster_refuses_stops_the_run_in_preflight_naming_object_and_field() {
    let w = world().await;
    sync(&w).await;
    let before = cluster_content(&w).await;
    // The cluster's Switch CRD is stricter than fabsync's plan (another Hedgehog release).
    narrow_switch_asn(&w, 4_000_000).await;
    let leaf = device(&w, "leaf-02").await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf.id,
        json!({"custom_fields": {"hedgehog_asn": 4_100_000u64}}),
    )
    .await;
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "invalid_object", "{e}");
    let msg = e.to_string();
    assert!(msg.contains("Switch \"leaf-02\""), "{msg}");
    assert!(msg.contains("spec.asn"), "{msg}");
    assert!(!e.is_transient());
    assert_no_writes(&w, mark);
    assert_eq!(cluster_content(&w).await, before);
    assert_eq!(r.end.step, fabsync::store::RunStep::Preflight);
}

/// NetBox reads that fail transiently are retried within the run, the way cluster requests are:
/// a 429 with `Retry-After` waits as asked, 500s and 503s back off; the run succeeds without a
/// scheduler retry, and the connection states tell a throttled or failing NetBox from an
/// unreachable one when they do not clear. Regression test for runs that failed on one 503.
#[tokio::test(start_paused = true)]
async fn netbox_reads_are_retried_within_the_run() {
    use fake_netbox::{FaultKind, FaultRule};
    let w = world().await;
    let faults = w.netbox.faults();
    faults.add(
        FaultRule::new(FaultKind::TooManyRequests {
            retry_after_secs: 7,
        })
        .method("GET")
        .endpoint("/api/dcim/devices/")
        .times(1),
    );
    faults.add(
        FaultRule::new(FaultKind::Status { status: 503 })
            .method("GET")
            .endpoint("/api/dcim/interfaces/")
            .times(2),
    );
    let t0 = tokio::time::Instant::now();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert!(
        t0.elapsed() >= std::time::Duration::from_secs(7),
        "Retry-After was honoured: {:?}",
        t0.elapsed()
    );

    // A NetBox that keeps answering 503: the run fails, and says the server errs, not that it
    // is unreachable.
    faults.add(FaultRule::new(FaultKind::Status { status: 503 }).method("GET"));
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let f = w.store.fabric("vlab").unwrap();
    assert_eq!(f.netbox_state.as_str(), "server_error", "{f:?}");
    faults.clear();
    faults.add(
        FaultRule::new(FaultKind::TooManyRequests {
            retry_after_secs: 1,
        })
        .method("GET"),
    );
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    assert_eq!(
        w.store.fabric("vlab").unwrap().netbox_state.as_str(),
        "throttled"
    );
}

/// NetBox shows the truth after every status change: the site's `fabsync_status` and
/// `fabsync_last_sync` follow a failure and the recovery after it, each status change leaves one
/// journal entry, and the same failure again or a quiet periodic run write nothing to NetBox.
/// Regression test for a site left at `error` with an old last sync through later successes.
#[tokio::test(start_paused = true)]
async fn netbox_shows_every_status_change_and_nothing_else() {
    let w = world().await;
    let nb = w.netbox_client();
    let site = |nb: fabsync::netbox::NetboxClient| async move {
        let sites: Vec<serde_json::Value> = nb
            .list("dcim/sites", &[("slug", "vlab".to_string())])
            .await
            .unwrap();
        sites[0].clone()
    };
    let site_id = site(nb.clone()).await["id"].as_u64().unwrap();
    let journal = |nb: fabsync::netbox::NetboxClient| async move {
        let entries: Vec<serde_json::Value> = nb
            .list(
                "extras/journal-entries",
                &[("assigned_object_id", site_id.to_string())],
            )
            .await
            .unwrap();
        entries
            .into_iter()
            .map(|e| e["comments"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(sync(&w).await.phase, Phase::Success);
    let s = site(nb.clone()).await;
    assert_eq!(s["custom_fields"]["fabsync_status"], "in_sync", "{s}");
    let first_sync = s["custom_fields"]["fabsync_last_sync"].clone();
    assert_eq!(journal(nb.clone()).await.len(), 1);

    w.apiserver.faults().set_unreachable(true);
    assert_eq!(sync(&w).await.phase, Phase::Failure);
    assert_eq!(
        site(nb.clone()).await["custom_fields"]["fabsync_status"],
        "error"
    );
    let j = journal(nb.clone()).await;
    assert_eq!(j.len(), 2, "{j:?}");
    assert!(
        j.iter().any(|e| e.contains("Status in_sync → error")),
        "{j:?}"
    );
    // The same failure again: nothing new in NetBox.
    assert_eq!(sync(&w).await.phase, Phase::Failure);
    assert_eq!(journal(nb.clone()).await.len(), 2);

    w.apiserver.faults().set_unreachable(false);
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Success);
    assert_eq!(
        r.end.counts.created + r.end.counts.updated,
        0,
        "nothing to write"
    );
    let s = site(nb.clone()).await;
    assert_eq!(s["custom_fields"]["fabsync_status"], "in_sync", "{s}");
    assert_ne!(s["custom_fields"]["fabsync_last_sync"], first_sync, "{s}");
    let j = journal(nb.clone()).await;
    assert_eq!(j.len(), 3, "{j:?}");
    assert!(
        j.iter().any(|e| e.contains("Status error → in_sync")),
        "{j:?}"
    );

    // A quiet periodic run writes nothing to NetBox.
    let before = w.netbox.log().entries().len();
    assert_eq!(
        periodic(&w).await.end.message.as_deref(),
        Some("no changes")
    );
    let writes: Vec<String> = w.netbox.log().entries()[before..]
        .iter()
        .filter(|e| e.method != "GET")
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}

/// When preflight refuses one object nothing is written, and the run's records say so: every
/// other object "not applied", none counted as created (they were listed as created "ok").
#[tokio::test(start_paused = true)]
async fn a_failed_preflight_lists_every_object_as_not_applied() {
    let w = world().await;
    narrow_switch_asn(&w, 4_000_000).await;
    let leaf = device(&w, "leaf-02").await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf.id,
        json!({"custom_fields": {"hedgehog_asn": 4_100_000u64}}),
    )
    .await;
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    assert_eq!(r.end.counts.created, 0, "{:?}", r.end.counts);
    assert_eq!(r.end.writes, 0);
    let objects = w.store.run_objects(r.run_id).unwrap();
    let refused: Vec<_> = objects
        .iter()
        .filter(|o| o.result == fabsync::store::ObjectResult::Failed)
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].name, "leaf-02");
    let rest: Vec<_> = objects.iter().filter(|o| o.name != "leaf-02").collect();
    assert!(rest.len() > 30);
    for o in rest {
        assert_eq!(o.result, fabsync::store::ObjectResult::NotApplied, "{o:?}");
        assert_eq!(
            o.message.as_deref(),
            Some("not applied: the run stopped before writing anything")
        );
    }
}

/// A run checks breakouts against the cluster's SwitchProfiles: a mode the switch's profile does
/// not offer on that port is a finding naming the NetBox interface, and nothing is written.
#[tokio::test(start_paused = true)]
async fn a_breakout_the_switch_profile_lacks_stops_the_run() {
    use kube::api::{Api, DynamicObject, Patch, PatchParams};
    let w = world().await;
    assert_eq!(sync(&w).await.phase, Phase::Success);
    let switch = objects(&w, Kind::Switch).await["leaf-01"].clone();
    let profile = switch["spec"]["profile"].as_str().unwrap().to_string();
    let api: Api<DynamicObject> =
        Api::namespaced_with(w.kube(), "default", &Kind::SwitchProfile.api_resource());
    api.patch(
        &profile,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {
            "ports": {"E1/1": {"nos": "Ethernet0", "label": "1", "profile": "SFP28-25G"}},
            "portProfiles": {"SFP28-25G": {"speed": {"default": "25G", "supported": ["10G", "25G"]}}}
        }})),
    )
    .await
    .unwrap();
    let ifaces: Vec<serde_json::Value> = w
        .netbox_client()
        .list(
            "dcim/interfaces",
            &[
                ("device", "leaf-01".to_string()),
                ("name", "E1/1".to_string()),
            ],
        )
        .await
        .unwrap();
    netbox_patch(
        &w,
        "dcim/interfaces",
        ifaces[0]["id"].as_u64().unwrap(),
        json!({"custom_fields": {"hedgehog_breakout": "4x25G"}}),
    )
    .await;
    let mark = w.apiserver.log().len();
    let r = sync(&w).await;
    assert_eq!(r.phase, Phase::Failure);
    let e = r.error.unwrap();
    assert_eq!(e.kind(), "invalid_data", "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("dcim.interface") && msg.contains("hedgehog_breakout"),
        "{msg}"
    );
    assert!(msg.contains(&profile), "{msg}");
    assert_no_writes(&w, mark);
}

/// Gives the cluster's Switch CRD a `maximum` on `spec.asn`: a cluster whose CRD refuses a
/// value fabsync's plan accepts (as another Hedgehog release's could).
async fn narrow_switch_asn(w: &fabsync::sim::World, max: u64) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Api, PostParams};
    let api: Api<CustomResourceDefinition> = Api::all(w.kube());
    let name = format!("{}.{}", Kind::Switch.plural(), Kind::Switch.group());
    let mut crd = api.get(&name).await.unwrap();
    let mut v = serde_json::to_value(&crd).unwrap();
    for ver in v["spec"]["versions"].as_array_mut().unwrap() {
        let asn = &mut ver["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["asn"];
        assert!(asn.is_object(), "the Switch CRD has spec.asn");
        asn["maximum"] = json!(max);
    }
    crd = serde_json::from_value(v).unwrap();
    api.replace(&name, &PostParams::default(), &crd)
        .await
        .unwrap();
}
