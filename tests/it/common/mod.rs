//! Shared helpers for end-to-end tests in the simulated world: building a world, looking at the
//! cluster and NetBox the way a person would, and reading the fakes' request logs.
#![allow(dead_code)]

use std::collections::BTreeMap;

use fabsync::engine::{RunParams, RunReport};
use fabsync::hedgehog::Kind;
use fabsync::netbox::model::Device;
use fabsync::sim::{World, WorldConfig};
use fabsync::store::Trigger;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

/// A VLAB world with Hedgehog installed.
pub async fn world() -> World {
    world_with(WorldConfig::default()).await
}

/// A world from a config, with Hedgehog installed.
pub async fn world_with(cfg: WorldConfig) -> World {
    let w = World::new(cfg);
    w.install_hedgehog().await.expect("install SwitchProfiles");
    w
}

/// One manual run.
pub async fn sync(w: &World) -> RunReport {
    w.engine
        .run(RunParams::manual(&w.fabric.name))
        .await
        .expect("the run is recorded")
}

/// One periodic run.
pub async fn periodic(w: &World) -> RunReport {
    let mut p = RunParams::manual(&w.fabric.name);
    p.trigger = Trigger::Periodic;
    w.engine.run(p).await.expect("the run is recorded")
}

/// Every object of a kind in the cluster, by name (through kube-rs, as a person would look).
pub async fn objects(w: &World, kind: Kind) -> BTreeMap<String, Value> {
    let api: Api<DynamicObject> = Api::namespaced_with(w.kube(), "default", &kind.api_resource());
    api.list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|o| {
            (
                o.metadata.name.clone().unwrap_or_default(),
                serde_json::to_value(o).unwrap(),
            )
        })
        .collect()
}

/// The whole cluster content a sync could touch: kind/name → (labels, annotations, spec).
pub async fn cluster_content(w: &World) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for (name, o) in objects(w, kind).await {
            out.insert(
                format!("{}/{name}", kind.kind()),
                fabsync::engine::content::comparable(&o),
            );
        }
    }
    out
}

/// resourceVersion of every object, kind/name → rv.
pub async fn resource_versions(w: &World) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in Kind::ALL {
        for (name, o) in objects(w, kind).await {
            out.insert(
                format!("{}/{name}", kind.kind()),
                o["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    out
}

/// Writes that reached the cluster store (not dry runs) since `from` in the apiserver log.
pub fn cluster_writes(w: &World, from: usize) -> Vec<fake_apiserver::LogEntry> {
    w.apiserver.log().entries()[from..]
        .iter()
        .filter(|e| e.write && e.status < 400)
        .cloned()
        .collect()
}

/// A NetBox device by name.
pub async fn device(w: &World, name: &str) -> Device {
    let mut d: Vec<Device> = w
        .netbox_client()
        .list("dcim/devices", &[("name", name.to_string())])
        .await
        .expect("list devices");
    assert_eq!(d.len(), 1, "one device named {name}");
    d.remove(0)
}

/// PATCHes a NetBox object as a person would.
pub async fn netbox_patch(w: &World, endpoint: &str, id: u64, body: Value) {
    w.netbox_client()
        .patch(endpoint, id, &body)
        .await
        .unwrap_or_else(|e| panic!("PATCH {endpoint}/{id}: {e}"));
}

/// Asserts the cluster store saw no write since `from`.
pub fn assert_no_writes(w: &World, from: usize) {
    let writes = cluster_writes(w, from);
    assert!(
        writes.is_empty(),
        "expected no writes, got {:?}",
        writes
            .iter()
            .map(|e| format!("{} {}", e.method, e.path))
            .collect::<Vec<_>>()
    );
}
