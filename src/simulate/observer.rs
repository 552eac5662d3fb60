//! The simulator's eyes: it watches every write on the wire and every run through a runner that
//! wraps the engine, and records a violation the moment an invariant breaks — a write by a
//! replica that does not hold the fabric's Lease, a write to an object without fabsync's label,
//! a successful run that says `in_sync` while the cluster differs from the independent oracle,
//! a failed run that changed objects it does not name. It also carries out the armed operations
//! that must strike at an exact point (a crash right after a write, a hand edit right after a
//! write, a Lease partition when a run starts applying).
//!
//! It never changes what fabsync decides; it only looks, and breaks things when told.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fake_apiserver::FakeApiServer;
use fake_netbox::FakeNetBox;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::wire::HedgehogWrite;
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::hedgehog::Kind;
use crate::netbox::NetboxClient;
use crate::plan::LABEL_FABRIC;
use crate::scheduler::{BoxFuture, RunOutcome, RunRequest, Runner};
use crate::store::{FabricStatus, ObjectResult, Phase, Store};

/// The Lease fabsync keeps per fabric, and how long it lasts (the simulator's Lease settings).
pub const LEASE_SECS: i64 = 60;

/// Whether fabsync's own apply owns `spec.description` of `obj`: a person changing it is drift
/// fabsync repairs. (A field fabsync never set is another manager's to keep: changing it by
/// hand and later in NetBox is a conflict that waits for a person, by the conflict policy.)
pub fn fabsync_owns_description(obj: &Value) -> bool {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| {
            entries.iter().any(|e| {
                e["manager"] == crate::cluster::FIELD_MANAGER
                    && e["operation"] == "Apply"
                    && e.pointer("/fieldsV1/f:spec/f:description").is_some()
            })
        })
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The step (operation index) during or after which it broke.
    pub step: usize,
    /// Virtual seconds since the start.
    pub at: u64,
    /// Which invariant.
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

/// A write that took effect, as the wire saw it.
#[derive(Debug, Clone)]
pub struct WriteSeen {
    /// Replica index.
    pub replica: usize,
    /// Incarnation identity.
    pub identity: String,
    /// The request.
    pub write: HedgehogWrite,
}

/// Counts of one seed, for the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Runs that ended (not killed).
    pub runs: u64,
    /// Runs that ended SUCCESS.
    pub successes: u64,
    /// Writes that took effect.
    pub writes: u64,
    /// Oracle comparisons made.
    pub oracle_checks: u64,
    /// Failed runs whose effect on the cluster was checked.
    pub failure_checks: u64,
    /// Field-manager conflicts a person resolved in the liveness phase (policy `force`).
    pub conflicts_resolved: u64,
}

type Killer = Arc<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    step: usize,
    violations: Vec<Violation>,
    /// Bumped by every change a person makes to NetBox or the cluster.
    epoch: u64,
    edit_after_write: BTreeSet<String>,
    crash_after: BTreeMap<usize, u32>,
    /// Fabrics whose next applying run cuts its replica off the Leases.
    partition_at_apply: BTreeSet<String>,
    /// Hedgehog writes to let through before one fails with 500.
    fail_nth: Option<u64>,
    killers: BTreeMap<usize, Killer>,
    killed: Vec<usize>,
    writes: Vec<(jiff::Timestamp, WriteSeen)>,
    /// Writes that took effect, per fabric (what the oracle's cache is keyed on).
    writes_by_fabric: BTreeMap<String, usize>,
    /// Runs in progress per fabric: (replica, run serial).
    active: BTreeMap<String, BTreeSet<(usize, u64)>>,
    /// Runs that overlapped another run of their fabric (by serial).
    overlapped: BTreeSet<u64>,
    /// Serials of runs during which someone else wrote (a hand edit after a write).
    disturbed: BTreeSet<u64>,
    serial: u64,
    /// What the oracle last passed: (epoch, writes) per fabric.
    oracle_passed: BTreeMap<String, (u64, usize)>,
    stats: Stats,
}

/// What a run looked like when it started.
struct RunStart {
    serial: u64,
    fabric: String,
    epoch: u64,
    quiet: bool,
    writer: bool,
    cluster: BTreeMap<(String, String), Value>,
}

/// Shared by the wire, the runners and the driver of one seed.
pub struct Observer {
    /// Each fabric's cluster and a person's client of it.
    clusters: BTreeMap<String, (FakeApiServer, kube::Client)>,
    netbox: FakeNetBox,
    clock: SharedClock,
    person_netbox: NetboxClient,
    lease_cut: Vec<Arc<AtomicBool>>,
    state: Mutex<State>,
}

impl Observer {
    /// An observer of these systems (each fabric's cluster with a person's client of it);
    /// `lease_cut` holds each replica's partition switch.
    pub fn new(
        clusters: BTreeMap<String, (FakeApiServer, kube::Client)>,
        netbox: FakeNetBox,
        clock: SharedClock,
        person_netbox: NetboxClient,
        lease_cut: Vec<Arc<AtomicBool>>,
    ) -> Self {
        Self {
            clusters,
            netbox,
            clock,
            person_netbox,
            lease_cut,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn secs(&self) -> u64 {
        super::world::secs_of(&self.clock)
    }

    /// Records a broken invariant.
    pub fn violate(&self, invariant: &'static str, detail: String) {
        let at = self.secs();
        let mut st = self.lock();
        let step = st.step;
        st.violations.push(Violation {
            step,
            at,
            invariant,
            detail,
        });
    }

    /// The first violation so far.
    pub fn first_violation(&self) -> Option<Violation> {
        self.lock().violations.first().cloned()
    }

    /// The step the driver is at.
    pub fn set_step(&self, step: usize) {
        self.lock().step = step;
    }

    /// A person changed NetBox or the cluster.
    pub fn person_changed(&self) {
        self.lock().epoch += 1;
    }

    /// Counts so far.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// A person resolved a field-manager conflict (liveness phase).
    pub fn note_conflict_resolved(&self) {
        self.lock().stats.conflicts_resolved += 1;
    }

    /// Arms a hand edit right after fabsync's next write of a Switch or Server of `fabric`.
    pub fn arm_edit_after_write(&self, fabric: &str) {
        self.lock().edit_after_write.insert(fabric.to_string());
    }

    /// Arms a crash of `replica` right after its `writes`-th write from now.
    pub fn arm_crash_after(&self, replica: usize, writes: u32) {
        self.lock().crash_after.insert(replica, writes.max(1));
    }

    /// Makes fabsync's `n`-th Hedgehog write from now fail (`None`: no longer).
    pub fn arm_fail_nth(&self, n: Option<u64>) {
        self.lock().fail_nth = n;
    }

    /// Whether this write is the one that fails (counts it).
    pub fn write_fails(&self) -> bool {
        let mut st = self.lock();
        match st.fail_nth {
            Some(1) => {
                st.fail_nth = None;
                true
            }
            Some(n) => {
                st.fail_nth = Some(n - 1);
                false
            }
            None => false,
        }
    }

    /// Arms a Lease partition of the replica whose next run of `fabric` starts applying.
    pub fn arm_partition_at_apply(&self, fabric: &str) {
        self.lock().partition_at_apply.insert(fabric.to_string());
    }

    /// Disarms every armed Lease partition.
    pub fn disarm_partitions(&self) {
        self.lock().partition_at_apply.clear();
    }

    /// Disarms everything armed for `replica` (it died or the driver gives up on it).
    pub fn disarm(&self, replica: usize) {
        let mut st = self.lock();
        st.crash_after.remove(&replica);
    }

    /// Disarms everything (the liveness phase).
    pub fn disarm_all(&self) {
        let mut st = self.lock();
        st.crash_after.clear();
        st.partition_at_apply.clear();
        st.edit_after_write.clear();
        st.fail_nth = None;
    }

    /// How to kill `replica`'s current incarnation.
    pub fn set_killer(&self, replica: usize, killer: Option<Killer>) {
        let mut st = self.lock();
        match killer {
            Some(k) => st.killers.insert(replica, k),
            None => st.killers.remove(&replica),
        };
    }

    /// Replicas killed by an armed crash since the last call.
    pub fn take_killed(&self) -> Vec<usize> {
        std::mem::take(&mut self.lock().killed)
    }

    /// Every write that took effect, with its time.
    pub fn writes(&self) -> Vec<(jiff::Timestamp, WriteSeen)> {
        self.lock().writes.clone()
    }

    /// A run of `replica` reached a stage (the engine's progress callback).
    pub fn on_progress(&self, replica: usize, store: &Store, run_id: i64, step: &str) {
        if step != "apply" || self.lock().partition_at_apply.is_empty() {
            return;
        }
        let Ok(run) = store.run(run_id) else { return };
        if self.lock().partition_at_apply.remove(&run.fabric) {
            self.lease_cut[replica].store(true, Ordering::SeqCst);
        }
    }

    /// Before a Hedgehog write leaves `identity`: it must hold the fabric's unexpired Lease, and
    /// the object must be (or become) fabsync's, with this fabric's label.
    pub fn before_write(&self, identity: &str, w: &HedgehogWrite, manifest: Option<&Value>) {
        let fabric = w.fabric.as_str();
        let ns = w.namespace.as_str();
        let Some((apiserver, _)) = self.clusters.get(fabric) else {
            return self.violate(
                "one-writer",
                format!("a write to {fabric}, which has no cluster"),
            );
        };
        let lease_name = crate::scheduler::lease::lease_name(fabric);
        let lease = apiserver
            .objects("coordination.k8s.io", "leases")
            .into_iter()
            .find(|l| {
                l.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                    && l.pointer("/metadata/name").and_then(Value::as_str)
                        == Some(lease_name.as_str())
            });
        let now = self.clock.now();
        let what = format!("{} {}/{} {}", w.method, w.resource, w.name, fabric);
        match lease {
            None => self.violate(
                "one-writer",
                format!("{identity} sent {what} while the fabric has no Lease"),
            ),
            Some(l) => {
                let holder = l
                    .pointer("/spec/holderIdentity")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let renewed = l
                    .pointer("/spec/renewTime")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok());
                let secs = l
                    .pointer("/spec/leaseDurationSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(LEASE_SECS);
                let expired =
                    renewed.is_none_or(|r| r + jiff::SignedDuration::from_secs(secs) <= now);
                if holder != identity {
                    self.violate(
                        "one-writer",
                        format!("{identity} sent {what} while the Lease is held by {holder:?}"),
                    );
                } else if expired {
                    self.violate(
                        "one-writer",
                        format!("{identity} sent {what} after its Lease expired"),
                    );
                }
            }
        }
        // The label: on what is sent, and on what is there.
        if w.method != "DELETE" {
            let label = manifest
                .and_then(|m| m.pointer("/metadata/labels"))
                .and_then(|l| l.get(LABEL_FABRIC))
                .and_then(Value::as_str);
            if label != Some(fabric) {
                self.violate(
                    "labels",
                    format!("fabsync sent {what} without the label {LABEL_FABRIC}={fabric}"),
                );
            }
        }
        let existing = apiserver
            .objects(&w.group, &w.resource)
            .into_iter()
            .find(|o| {
                o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns)
                    && o.pointer("/metadata/name").and_then(Value::as_str) == Some(&w.name)
            });
        if let Some(o) = existing {
            let label = o
                .pointer("/metadata/labels")
                .and_then(|l| l.get(LABEL_FABRIC))
                .and_then(Value::as_str);
            if label != Some(fabric) {
                self.violate(
                    "labels",
                    format!(
                        "fabsync sent {what} to an object whose fabric label is {label:?}: it is not this fabric's"
                    ),
                );
            }
        }
    }

    /// After a Hedgehog write took effect: recorded; an armed hand edit or crash strikes now.
    pub async fn after_write(&self, seen: WriteSeen) {
        let now = self.clock.now();
        let (edit, kill) = {
            let mut st = self.lock();
            st.stats.writes += 1;
            let w = &seen.write;
            let edit = w.method == "PATCH"
                && matches!(w.resource.as_str(), "switches" | "servers")
                && st.edit_after_write.contains(&w.fabric)
                && self.clusters.get(&w.fabric).is_some_and(|(c, _)| {
                    c.objects(&w.group, &w.resource).iter().any(|o| {
                        o.pointer("/metadata/name").and_then(Value::as_str) == Some(&w.name)
                            && fabsync_owns_description(o)
                    })
                })
                && st.edit_after_write.remove(&w.fabric);
            if edit {
                let disturbed: Vec<u64> = st
                    .active
                    .get(&w.fabric)
                    .map(|a| a.iter().map(|(_, s)| *s).collect())
                    .unwrap_or_default();
                st.disturbed.extend(disturbed);
            }
            let mut kill = None;
            if let Some(n) = st.crash_after.get_mut(&seen.replica) {
                *n -= 1;
                if *n == 0 {
                    st.crash_after.remove(&seen.replica);
                    kill = st.killers.get(&seen.replica).cloned();
                    if kill.is_some() {
                        st.killed.push(seen.replica);
                    }
                }
            }
            *st.writes_by_fabric.entry(w.fabric.clone()).or_default() += 1;
            st.writes.push((now, seen.clone()));
            (edit, kill)
        };
        if edit {
            let w = &seen.write;
            let kind = if w.resource == "switches" {
                Kind::Switch
            } else {
                Kind::Server
            };
            let person = self.clusters[&w.fabric].1.clone();
            let api: Api<DynamicObject> =
                Api::namespaced_with(person, &w.namespace, &kind.api_resource());
            let patch =
                serde_json::json!({"spec": {"description": "edited right after fabsync wrote it"}});
            // A person's edit through the same faults fabsync meets: it may not get through.
            let _ = api
                .patch(
                    &w.name,
                    &PatchParams {
                        field_manager: Some("kubectl-edit".into()),
                        ..Default::default()
                    },
                    &Patch::Merge(&patch),
                )
                .await;
        }
        if let Some(kill) = kill {
            kill();
            // The process is gone: this request never returns to it.
            std::future::pending::<()>().await;
        }
    }

    /// Whether no fault is active on either fake (the oracle reads through them).
    fn quiet(&self) -> bool {
        self.lock().fail_nth.is_none()
            && self
                .clusters
                .values()
                .all(|(c, _)| c.faults().list().is_empty())
            && self.netbox.faults().list().is_empty()
    }

    /// Whether another writer may change objects during a run (a concurrent-writer fault).
    fn writer_armed(&self) -> bool {
        self.clusters.values().any(|(c, _)| {
            c.faults()
                .list()
                .iter()
                .any(|f| matches!(f.fault, fake_apiserver::Fault::ConcurrentWriter { .. }))
        })
    }

    /// The Hedgehog objects in `fabric`'s cluster, as comparable content.
    fn cluster_content(&self, fabric: &str) -> BTreeMap<(String, String), Value> {
        let mut out = BTreeMap::new();
        let Some((apiserver, _)) = self.clusters.get(fabric) else {
            return out;
        };
        for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
            for o in apiserver.objects(kind.group(), kind.plural()) {
                let name = o
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let content = serde_json::json!({
                    "labels": o.pointer("/metadata/labels"),
                    "annotations": o.pointer("/metadata/annotations"),
                    "spec": o.get("spec"),
                });
                out.insert((kind.kind().to_string(), name), content);
            }
        }
        out
    }

    fn run_started(&self, replica: usize, fabric: &str) -> RunStart {
        let quiet = self.quiet();
        let writer = self.writer_armed();
        let cluster = self.cluster_content(fabric);
        let mut st = self.lock();
        st.serial += 1;
        let serial = st.serial;
        let active = st.active.entry(fabric.to_string()).or_default();
        let others: Vec<u64> = active.iter().map(|(_, s)| *s).collect();
        active.insert((replica, serial));
        if !others.is_empty() {
            st.overlapped.extend(others);
            st.overlapped.insert(serial);
        }
        RunStart {
            serial,
            fabric: fabric.to_string(),
            epoch: st.epoch,
            quiet,
            writer,
            cluster,
        }
    }

    fn run_gone(&self, replica: usize, serial: u64, fabric: &str) {
        let mut st = self.lock();
        if let Some(a) = st.active.get_mut(fabric) {
            a.remove(&(replica, serial));
        }
    }

    /// After a run ended: a failed run changed only what it names; a run that left the fabric
    /// `in_sync` left the cluster equal to the oracle (when nothing else changed meanwhile).
    async fn run_ended(&self, store: &Store, start: RunStart, out: &RunOutcome) {
        let (epoch, overlapped, disturbed, writes_now) = {
            let mut st = self.lock();
            st.stats.runs += 1;
            if out.phase == Phase::Success {
                st.stats.successes += 1;
            }
            (
                st.epoch,
                st.overlapped.contains(&start.serial),
                st.disturbed.contains(&start.serial),
                st.writes_by_fabric.get(&start.fabric).copied().unwrap_or(0),
            )
        };
        let undisturbed = epoch == start.epoch && !overlapped;
        if out.phase == Phase::Failure
            && undisturbed
            && !disturbed
            && !start.writer
            && let Some(run_id) = out.run_id
        {
            self.check_failed_run(store, &start, run_id);
        }
        if out.phase == Phase::Success
            && undisturbed
            && start.quiet
            && self.quiet()
            && store
                .fabric(&start.fabric)
                .is_ok_and(|f| f.status == FabricStatus::InSync)
        {
            let key = (epoch, writes_now);
            let cached = self.lock().oracle_passed.get(&start.fabric) == Some(&key);
            if !cached {
                match self.oracle(&start.fabric).await {
                    Ok(problems) if problems.is_empty() => {
                        self.lock().oracle_passed.insert(start.fabric.clone(), key);
                    }
                    Ok(problems) => self.violate(
                        "in-sync-means-equal",
                        format!(
                            "run {} left fabric {} in_sync, but the oracle finds: {}",
                            out.run_id.unwrap_or_default(),
                            start.fabric,
                            problems.join("; ")
                        ),
                    ),
                    // The oracle could not read (a person's request failed): nothing concluded.
                    Err(_) => {}
                }
            }
        }
    }

    fn check_failed_run(&self, store: &Store, start: &RunStart, run_id: i64) {
        self.lock().stats.failure_checks += 1;
        let after = self.cluster_content(&start.fabric);
        let mut changed: BTreeSet<(String, String)> = BTreeSet::new();
        for (k, v) in &after {
            if start.cluster.get(k) != Some(v) {
                changed.insert(k.clone());
            }
        }
        for k in start.cluster.keys() {
            if !after.contains_key(k) {
                changed.insert(k.clone());
            }
        }
        if changed.is_empty() {
            return;
        }
        let objects = match store.run_objects(run_id) {
            Ok(o) => o,
            // A full disk: the run's objects could not be stored; the audit check covers it.
            Err(_) => return,
        };
        let result: BTreeMap<(String, String), ObjectResult> = objects
            .into_iter()
            .map(|o| ((o.kind, o.name), o.result))
            .collect();
        for (kind, name) in changed {
            let r = result.get(&(kind.clone(), name.clone())).copied();
            if !matches!(r, Some(ObjectResult::Ok | ObjectResult::Unknown)) {
                self.violate(
                    "failed-run-accounted",
                    format!(
                        "FAILED run {run_id} of fabric {} changed {kind} {name} in the cluster, but its record says {}",
                        start.fabric,
                        r.map(|r| r.as_str()).unwrap_or("nothing about it")
                    ),
                );
            }
        }
    }

    /// The independent oracle's problems with `fabric` (its NetBox site shares its name; its
    /// objects live in its cluster's `default` namespace, as Hedgehog requires).
    pub async fn oracle(&self, fabric: &str) -> Result<Vec<String>, String> {
        self.lock().stats.oracle_checks += 1;
        let person = &self
            .clusters
            .get(fabric)
            .ok_or_else(|| format!("no cluster for fabric {fabric}"))?
            .1;
        let v =
            crate::validate::oracle::check(&self.person_netbox, person, fabric, fabric, "default")
                .await
                .map_err(|e| e.to_string())?;
        Ok(v.problems)
    }
}

/// The engine as the scheduler's runner, watched by the observer.
pub struct ObservedRunner {
    /// The engine.
    pub engine: Engine,
    /// The observer.
    pub observer: Arc<Observer>,
    /// Replica index.
    pub replica: usize,
    /// The replica's store.
    pub store: Store,
}

struct Active {
    observer: Arc<Observer>,
    replica: usize,
    serial: u64,
    fabric: String,
}

impl Drop for Active {
    fn drop(&mut self) {
        self.observer
            .run_gone(self.replica, self.serial, &self.fabric);
    }
}

impl Runner for ObservedRunner {
    fn run(&self, req: RunRequest) -> BoxFuture<RunOutcome> {
        let engine = self.engine.clone();
        let observer = self.observer.clone();
        let store = self.store.clone();
        let replica = self.replica;
        Box::pin(async move {
            let start = observer.run_started(replica, &req.fabric);
            let _active = Active {
                observer: observer.clone(),
                replica,
                serial: start.serial,
                fabric: req.fabric.clone(),
            };
            let out = Runner::run(&engine, req).await;
            observer.run_ended(&store, start, &out).await;
            out
        })
    }
}
