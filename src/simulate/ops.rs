//! Carrying out one operation of the scenario on the world: people editing NetBox and the
//! cluster through their APIs, Sync Now and settings through a replica's HTTP layer, faults on
//! the fakes, processes dying and starting again, disks filling up.
//!
//! Each operation returns one line saying what it did (or why it could not: a person's request
//! may meet the same faults fabsync meets). It checks nothing; the observer does.

use http::{Method, StatusCode};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use super::scenario::{Fault, Op};
use super::world::{FaultHandle, SimWorld};
use crate::hedgehog::Kind;
use crate::plan::LABEL_FABRIC;

fn pick<T: Clone>(items: &[T], pick: u32) -> Option<T> {
    if items.is_empty() {
        None
    } else {
        Some(items[pick as usize % items.len()].clone())
    }
}

fn id_of(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or(0)
}

fn name_of(v: &Value) -> String {
    v["name"].as_str().unwrap_or_default().to_string()
}

fn is_server(d: &Value) -> bool {
    d["role"]["slug"] == "server"
}

impl SimWorld {
    async fn devices(&self, fabric: usize) -> Result<Vec<Value>, String> {
        let site = &self.fabrics[fabric].name;
        let mut d = self
            .person_netbox
            .list_values("dcim/devices", &[("site", site.clone())])
            .await
            .map_err(|e| e.to_string())?;
        d.sort_by_key(name_of);
        Ok(d)
    }

    async fn servers(&self, fabric: usize) -> Result<Vec<Value>, String> {
        Ok(self
            .devices(fabric)
            .await?
            .into_iter()
            .filter(is_server)
            .collect())
    }

    async fn patch_netbox(&self, endpoint: &str, id: u64, body: &Value) -> Result<(), String> {
        self.person_netbox
            .patch(endpoint, id, body)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Owned objects whose description fabsync sets (a hand edit of it is drift).
    fn described(&self, fabric: usize) -> Vec<(Kind, String)> {
        let name = &self.fabrics[fabric].name;
        let mut out = Vec::new();
        for kind in [Kind::Switch, Kind::Server] {
            for o in self.cluster_objects(name, kind) {
                if super::observer::fabsync_owns_description(&o) {
                    let n = o["metadata"]["name"].as_str().unwrap_or_default();
                    out.push((kind, n.to_string()));
                }
            }
        }
        out
    }

    fn owned(&self, fabric: usize, kinds: &[Kind]) -> Vec<(Kind, String)> {
        let name = &self.fabrics[fabric].name;
        let mut out = Vec::new();
        for kind in kinds {
            for o in self.cluster_objects(name, *kind) {
                let labelled = o
                    .pointer("/metadata/labels")
                    .and_then(|l| l.get(LABEL_FABRIC))
                    .and_then(Value::as_str)
                    == Some(name.as_str());
                if labelled && o.pointer("/metadata/deletionTimestamp").is_none() {
                    let n = o["metadata"]["name"].as_str().unwrap_or_default();
                    out.push((*kind, n.to_string()));
                }
            }
        }
        out
    }

    /// Carries out `op`; returns what happened, in one line.
    pub async fn apply(&mut self, op: &Op) -> String {
        let r = match op {
            Op::Describe {
                fabric,
                pick: p,
                text,
            } => self.describe(*fabric, *p, *text).await,
            Op::BulkDescribe {
                fabric,
                count,
                text,
            } => self.bulk_describe(*fabric, *count, *text).await,
            Op::RenameServer {
                fabric,
                pick: p,
                suffix,
            } => self.rename_server(*fabric, *p, *suffix).await,
            Op::DeleteServer { fabric, pick: p } => self.delete_server(*fabric, *p).await,
            Op::AddServer { fabric, number } => self.add_server(*fabric, *number).await,
            Op::ToggleTag { fabric, pick: p } => self.toggle_tag(*fabric, *p).await,
            Op::MoveAway {
                fabric,
                pick: p,
                token,
            } => self.move_away(*fabric, *p, *token).await,
            Op::Invalidate {
                fabric,
                pick: p,
                token,
            } => self.invalidate(*fabric, *p, *token).await,
            Op::Repair { token } => self.repair(*token).await,
            Op::VlanRange {
                fabric,
                pick: p,
                end,
            } => self.vlan_range(*fabric, *p, *end).await,
            Op::Backup { slot } => {
                self.backups.insert(*slot, self.base.netbox.backup());
                Ok("backed up".into())
            }
            Op::Restore { slot } => match self.backups.get(slot) {
                Some(b) => {
                    self.base.netbox.restore(b);
                    self.observer.person_changed();
                    Ok("restored".into())
                }
                None => Err("no such backup".into()),
            },
            Op::HandEdit { fabric, pick: p } => self.hand_edit(*fabric, *p).await,
            Op::HandDelete { fabric, pick: p } => self.hand_delete(*fabric, *p).await,
            Op::HandCreate { fabric, number } => self.hand_create(*fabric, *number).await,
            Op::EditAfterWrite { fabric } => {
                self.observer
                    .arm_edit_after_write(&self.fabrics[*fabric].name);
                Ok("armed".into())
            }
            Op::SyncNow { fabric, replica } => self.sync_now(*fabric, *replica, None).await,
            Op::Approve { fabric, replica } => {
                self.sync_now(*fabric, *replica, Some(json!({"prune": true})))
                    .await
            }
            Op::SetInterval {
                fabric,
                replica,
                secs,
            } => {
                let path = format!("/api/fabrics/{}", self.fabrics[*fabric].name);
                match self
                    .http(
                        *replica,
                        Method::PATCH,
                        &path,
                        Some(json!({"interval_secs": secs})),
                    )
                    .await
                {
                    Some((s, _)) if s == StatusCode::OK => Ok("set".into()),
                    Some((s, v)) => Err(format!("{s}: {v}")),
                    None => Err("the replica is down".into()),
                }
            }
            Op::FaultOn { id, fault } => self.fault_on(*id, *fault),
            Op::FaultOff { id } => Ok(self.fault_off(*id)),
            Op::Crash { replica } => {
                self.kill(*replica);
                Ok("killed".into())
            }
            Op::CrashAfterWrites { replica, writes } => {
                if self.replicas[*replica].live.is_some() {
                    self.observer.arm_crash_after(*replica, *writes);
                    Ok("armed".into())
                } else {
                    Err("the replica is down".into())
                }
            }
            Op::Restart { replica } => {
                if self.start(*replica) {
                    Ok("running".into())
                } else {
                    Err("could not start (its store refused)".into())
                }
            }
            Op::LeasePartition { replica, on } => {
                if !on {
                    self.observer.disarm(*replica);
                }
                self.lease_cut[*replica].store(*on, std::sync::atomic::Ordering::SeqCst);
                Ok("set".into())
            }
            Op::LeasePartitionAtApply { fabric } => {
                self.observer
                    .arm_partition_at_apply(&self.fabrics[*fabric].name);
                Ok("armed".into())
            }
            Op::LeaseHeal => {
                for cut in &self.lease_cut {
                    cut.store(false, std::sync::atomic::Ordering::SeqCst);
                }
                self.observer.disarm_partitions();
                Ok("healed".into())
            }
            Op::StoreFull { replica, on } => {
                let now = self.now_secs();
                let rep = &mut self.replicas[*replica];
                rep.full_since = on.then_some(now);
                rep.store
                    .simulate_full_disk(*on)
                    .map(|_| "set".into())
                    .map_err(|e| e.to_string())
            }
        };
        match r {
            Ok(s) => s,
            Err(e) => format!("not done: {e}"),
        }
    }

    async fn describe(&self, fabric: usize, p: u32, text: u32) -> Result<String, String> {
        let d = pick(&self.devices(fabric).await?, p).ok_or("no devices")?;
        self.patch_netbox(
            "dcim/devices",
            id_of(&d),
            &json!({"description": format!("note-{text}")}),
        )
        .await?;
        self.observer.person_changed();
        Ok(name_of(&d))
    }

    async fn bulk_describe(&self, fabric: usize, count: u32, text: u32) -> Result<String, String> {
        let devices = self.devices(fabric).await?;
        let body: Vec<Value> = devices
            .iter()
            .take(count as usize)
            .map(|d| json!({"id": id_of(d), "description": format!("bulk-{text}")}))
            .collect();
        let path = self.person_netbox.api_path("dcim/devices");
        self.person_netbox
            .request(Method::PATCH, &path, Some(&Value::Array(body)))
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        Ok(format!("{} devices", count.min(devices.len() as u32)))
    }

    async fn rename_server(&self, fabric: usize, p: u32, suffix: u32) -> Result<String, String> {
        let d = pick(&self.servers(fabric).await?, p).ok_or("no servers")?;
        let old = name_of(&d);
        let base = old.split("-r").next().unwrap_or(&old).to_string();
        let new = format!("{base}-r{suffix}");
        self.patch_netbox("dcim/devices", id_of(&d), &json!({"name": new}))
            .await?;
        self.observer.person_changed();
        Ok(format!("{old} → {new}"))
    }

    async fn delete_server(&self, fabric: usize, p: u32) -> Result<String, String> {
        let d = pick(&self.servers(fabric).await?, p).ok_or("no servers")?;
        self.person_netbox
            .delete("dcim/devices", id_of(&d))
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        Ok(name_of(&d))
    }

    async fn add_server(&self, fabric: usize, number: u32) -> Result<String, String> {
        let devices = self.devices(fabric).await?;
        let template = devices
            .iter()
            .find(|d| is_server(d))
            .ok_or("no server to copy")?;
        let leaves: Vec<&Value> = devices
            .iter()
            .filter(|d| {
                d["role"]["slug"]
                    .as_str()
                    .is_some_and(|s| s.contains("leaf"))
            })
            .collect();
        let mut free = None;
        for leaf in leaves {
            let ifaces = self
                .person_netbox
                .list_values("dcim/interfaces", &[("device_id", id_of(leaf).to_string())])
                .await
                .map_err(|e| e.to_string())?;
            free = ifaces.into_iter().find(|i| {
                i["cable"].is_null()
                    && i["lag"].is_null()
                    && i["name"].as_str().is_some_and(|n| n.starts_with("E1/"))
                    && i["type"]["value"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("25g"))
            });
            if free.is_some() {
                break;
            }
        }
        let port = free.ok_or("no free leaf port")?;
        let name = format!("sim-{number}");
        let device: Value = self
            .person_netbox
            .create(
                "dcim/devices",
                &json!({
                    "name": name,
                    "role": template["role"]["id"],
                    "device_type": template["device_type"]["id"],
                    "site": template["site"]["id"],
                    "status": "active",
                }),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        let nic: Value = self
            .person_netbox
            .create(
                "dcim/interfaces",
                &json!({"device": id_of(&device), "name": "enp2s1", "type": "25gbase-x-sfp28"}),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.person_netbox
            .create::<Value>(
                "dcim/cables",
                &json!({
                    "a_terminations": [{"object_type": "dcim.interface", "object_id": id_of(&nic)}],
                    "b_terminations": [{"object_type": "dcim.interface", "object_id": id_of(&port)}],
                    "status": "connected",
                }),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("{name} on {}", name_of(&port)))
    }

    async fn toggle_tag(&self, fabric: usize, p: u32) -> Result<String, String> {
        let d = pick(&self.devices(fabric).await?, p).ok_or("no devices")?;
        let mut tags: Vec<Value> = d["tags"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|t| json!({"slug": t["slug"]}))
            .collect();
        let had = tags.iter().any(|t| t["slug"] == "sim-note");
        if had {
            tags.retain(|t| t["slug"] != "sim-note");
        } else {
            tags.push(json!({"slug": "sim-note"}));
        }
        self.patch_netbox("dcim/devices", id_of(&d), &json!({"tags": tags}))
            .await?;
        self.observer.person_changed();
        Ok(format!(
            "{} {}",
            name_of(&d),
            if had { "untagged" } else { "tagged" }
        ))
    }

    async fn move_away(&mut self, fabric: usize, p: u32, token: u32) -> Result<String, String> {
        let d = pick(&self.servers(fabric).await?, p).ok_or("no servers")?;
        let elsewhere = self
            .person_netbox
            .list_values("dcim/sites", &[("slug", "elsewhere".to_string())])
            .await
            .map_err(|e| e.to_string())?;
        let to = elsewhere.first().map(id_of).ok_or("no spare site")?;
        self.patch_netbox(
            "dcim/devices",
            id_of(&d),
            &json!({"site": to, "rack": null, "location": null}),
        )
        .await?;
        self.observer.person_changed();
        self.repairs.insert(
            token,
            (
                "dcim/devices".into(),
                id_of(&d),
                json!({"site": d["site"]["id"], "location": d["location"]["id"], "rack": d["rack"]["id"], "position": d["position"], "face": d["face"]["value"]}),
            ),
        );
        Ok(name_of(&d))
    }

    async fn invalidate(&mut self, fabric: usize, p: u32, token: u32) -> Result<String, String> {
        // A name that is already invalid is not what its repair should bring back.
        let valid: Vec<Value> = self
            .servers(fabric)
            .await?
            .into_iter()
            .filter(|d| !name_of(d).starts_with("Bad_Name_"))
            .collect();
        let d = pick(&valid, p).ok_or("no server with a valid name")?;
        let bad = format!("Bad_Name_{token}");
        self.patch_netbox("dcim/devices", id_of(&d), &json!({"name": bad}))
            .await?;
        self.observer.person_changed();
        self.repairs.insert(
            token,
            (
                "dcim/devices".into(),
                id_of(&d),
                json!({"name": name_of(&d)}),
            ),
        );
        Ok(format!("{} → {bad}", name_of(&d)))
    }

    /// Undoes a move or an invalid name (a restore may have undone it already, or brought it
    /// back: the liveness phase repairs everything again).
    pub async fn repair(&mut self, token: u32) -> Result<String, String> {
        let Some((endpoint, id, body)) = self.repairs.get(&token).cloned() else {
            return Err("nothing to repair".into());
        };
        self.patch_netbox(&endpoint, id, &body).await?;
        self.observer.person_changed();
        Ok(format!("{endpoint} {id}"))
    }

    async fn vlan_range(&self, fabric: usize, p: u32, end: u32) -> Result<String, String> {
        let site = &self.fabrics[fabric].name;
        let sites = self
            .person_netbox
            .list_values("dcim/sites", &[("slug", site.clone())])
            .await
            .map_err(|e| e.to_string())?;
        let site_id = sites.first().map(id_of).ok_or("no site")?;
        let mut groups: Vec<Value> = self
            .person_netbox
            .list_values("ipam/vlan-groups", &[])
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|g| g["scope_type"] == "dcim.site" && g["scope_id"].as_u64() == Some(site_id))
            .collect();
        groups.sort_by_key(|g| g["slug"].as_str().unwrap_or_default().to_string());
        let g = pick(&groups, p).ok_or("no VLAN groups")?;
        let start = g["vid_ranges"][0][0].as_u64().unwrap_or(1);
        self.patch_netbox(
            "ipam/vlan-groups",
            id_of(&g),
            &json!({"vid_ranges": [[start, end]]}),
        )
        .await?;
        self.observer.person_changed();
        Ok(format!("{} {start}-{end}", g["slug"]))
    }

    fn api(&self, fabric: usize, kind: Kind) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.person_kube[fabric].clone(),
            "default",
            &kind.api_resource(),
        )
    }

    async fn hand_edit(&self, fabric: usize, p: u32) -> Result<String, String> {
        let (kind, name) =
            pick(&self.described(fabric), p).ok_or("no object whose description fabsync sets")?;
        let patch = json!({"spec": {"description": format!("hand edit {p}")}});
        self.api(fabric, kind)
            .patch(
                &name,
                &PatchParams {
                    field_manager: Some("kubectl-edit".into()),
                    ..Default::default()
                },
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        Ok(format!("{} {name}", kind.kind()))
    }

    async fn hand_delete(&self, fabric: usize, p: u32) -> Result<String, String> {
        let planned: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.is_planned()).collect();
        let (kind, name) = pick(&self.owned(fabric, &planned), p).ok_or("nothing owned")?;
        self.api(fabric, kind)
            .delete(&name, &DeleteParams::default())
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        Ok(format!("{} {name}", kind.kind()))
    }

    async fn hand_create(&self, fabric: usize, number: u32) -> Result<String, String> {
        let name = format!("hand-{number}");
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": Kind::Server.api_version(),
            "kind": "Server",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"description": "made by hand"},
        }))
        .map_err(|e| e.to_string())?;
        self.api(fabric, Kind::Server)
            .create(&PostParams::default(), &obj)
            .await
            .map_err(|e| e.to_string())?;
        self.observer.person_changed();
        Ok(name)
    }

    async fn sync_now(
        &self,
        fabric: usize,
        replica: usize,
        body: Option<Value>,
    ) -> Result<String, String> {
        let path = format!("/api/fabrics/{}/sync", self.fabrics[fabric].name);
        match self.http(replica, Method::POST, &path, body).await {
            Some((s, v)) if s == StatusCode::ACCEPTED => {
                Ok(format!("task {}", v["id"].as_str().unwrap_or_default()))
            }
            Some((s, v)) => Err(format!("{s}: {v}")),
            None => Err("the replica is down".into()),
        }
    }

    fn fault_on(&mut self, id: u32, fault: Fault) -> Result<String, String> {
        use fake_apiserver::{Fault as K, When};
        use fake_netbox::{FaultKind as N, FaultRule};
        let clusters = self.clusters.clone();
        let nb = self.base.netbox.faults();
        // A cluster fault strikes every fabric's cluster (a shared network or control plane).
        let cluster = |f: K| -> Result<FaultHandle, String> {
            let mut ids = Vec::new();
            for (i, c) in clusters.iter().enumerate() {
                if let Some(id) = c.faults().add(f.clone()).map_err(|e| e.to_string())? {
                    ids.push((i, id));
                }
            }
            Ok(if ids.is_empty() {
                FaultHandle::Done
            } else {
                FaultHandle::Cluster(ids)
            })
        };
        let handle = match fault {
            Fault::ClusterDown => {
                for c in &clusters {
                    c.faults().set_unreachable(true);
                }
                FaultHandle::ClusterDown
            }
            Fault::ClusterBadToken => {
                self.credentials
                    .cluster_revoked
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                FaultHandle::ClusterToken
            }
            Fault::ClusterErrors { times, code } => cluster(K::Status {
                code,
                retry_after_seconds: None,
                when: When::always().times(times),
            })?,
            Fault::ClusterThrottle { times, secs } => cluster(K::TooManyRequests {
                retry_after_seconds: secs,
                form: Default::default(),
                when: When::always().verb("patch").times(times),
            })?,
            Fault::ClusterSlow { millis } => cluster(K::Latency {
                millis,
                when: When::always(),
            })?,
            Fault::FailNthWrite { n } => {
                self.observer.arm_fail_nth(Some(n));
                FaultHandle::FailNth
            }
            Fault::ConcurrentWriter { n, pick: p } => {
                let fabric = p as usize % self.fabrics.len();
                let (kind, name) = pick(&self.described(fabric), p)
                    .ok_or("no object whose description fabsync sets")?;
                let writer = K::ConcurrentWriter {
                    target: fake_apiserver::ObjectRef {
                        group: kind.group().into(),
                        resource: kind.plural().into(),
                        namespace: "default".into(),
                        name,
                    },
                    field_manager: "inventory-sync".into(),
                    patch: json!({"spec": {"description": format!("inventory {id}")}}),
                    patch_type: fake_apiserver::WriterPatch::Merge,
                    on_nth_write: Some(n),
                };
                match clusters[fabric]
                    .faults()
                    .add(writer)
                    .map_err(|e| e.to_string())?
                {
                    Some(f) => FaultHandle::Cluster(vec![(fabric, f)]),
                    None => FaultHandle::Done,
                }
            }
            Fault::Compact => cluster(K::Compact)?,
            Fault::DropWatches => cluster(K::DropWatches)?,
            Fault::NetboxDown => FaultHandle::Netbox(nb.add(FaultRule::new(N::Unreachable))),
            Fault::NetboxBadToken => {
                self.credentials
                    .netbox_revoked
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                FaultHandle::NetboxToken
            }
            Fault::NetboxErrors { times, code } => {
                FaultHandle::Netbox(nb.add(FaultRule::new(N::Status { status: code }).times(times)))
            }
            Fault::NetboxThrottle { times, secs } => FaultHandle::Netbox(
                nb.add(
                    FaultRule::new(N::TooManyRequests {
                        retry_after_secs: secs,
                    })
                    .times(times),
                ),
            ),
            Fault::NetboxSlow { millis } => {
                FaultHandle::Netbox(nb.add(FaultRule::new(N::Latency { millis })))
            }
            Fault::NetboxTruncated { times } => {
                FaultHandle::Netbox(nb.add(FaultRule::new(N::Truncated).times(times)))
            }
        };
        if matches!(fault, Fault::ConcurrentWriter { .. }) {
            // Another writer changing an owned object is a change someone made.
            self.observer.person_changed();
        }
        self.faults.insert(id, handle);
        Ok("on".into())
    }

    /// Ends fault `id` (a fault that already fired its count is gone anyway).
    pub fn fault_off(&mut self, id: u32) -> String {
        let Some(handle) = self.faults.remove(&id) else {
            return "not on".into();
        };
        match handle {
            FaultHandle::Cluster(ids) => {
                for (i, f) in ids {
                    self.clusters[i].faults().remove(f);
                }
            }
            FaultHandle::Netbox(f) => {
                self.base.netbox.faults().remove(f);
            }
            FaultHandle::ClusterDown => {
                for c in &self.clusters {
                    c.faults().set_unreachable(false);
                }
            }
            FaultHandle::ClusterToken => self
                .credentials
                .cluster_revoked
                .store(false, std::sync::atomic::Ordering::SeqCst),
            FaultHandle::NetboxToken => self
                .credentials
                .netbox_revoked
                .store(false, std::sync::atomic::Ordering::SeqCst),
            FaultHandle::FailNth => self.observer.arm_fail_nth(None),
            FaultHandle::Done => {}
        }
        "off".into()
    }
}
