//! The invariants checked between steps and at the end of a seed, from the outside: no fabric
//! stays `syncing` (or says so with no run open); once faults stop and NetBox is valid, every
//! fabric reaches `in_sync` with the cluster equal to the oracle within two intervals; every
//! write that reached the cluster is in its replica's audit log; no secret appears in any log,
//! record or evidence. The checks made on the wire and around runs live in `observer.rs`.
//!
//! They read the world; the liveness phase also ends every fault and lets time pass.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use serde_json::json;

use super::observer::Violation;
use super::wire::{WRONG_CLUSTER_TOKEN, WRONG_NETBOX_TOKEN};
use super::world::SimWorld;
use crate::hedgehog::Kind;
use crate::scheduler::REPLICA_TTL;
use crate::store::{FabricStatus, Phase};

/// Everything the seed's code logged through `tracing` (INFO and above).
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn violation(world: &SimWorld, invariant: &'static str, detail: String) -> Violation {
    world.observer.violate(invariant, detail);
    world
        .observer
        .first_violation()
        .expect("a violation was just recorded")
}

/// Between steps: what the observer saw, and no fabric stuck `syncing`.
pub fn step(world: &SimWorld) -> Option<Violation> {
    if let Some(v) = world.observer.first_violation() {
        return Some(v);
    }
    let now = world.now_secs();
    for (r, rep) in world.replicas.iter().enumerate() {
        if rep.live.is_none() {
            continue;
        }
        // A full disk freezes what the store says; judge it once there is room again.
        if rep.full_since.is_some() {
            continue;
        }
        for f in &world.fabrics {
            let Ok(record) = rep.store.fabric(&f.name) else {
                continue;
            };
            let Ok(runs) = rep.store.runs(&f.name, 3) else {
                continue;
            };
            let open: Vec<_> = runs
                .iter()
                .filter(|r| r.end.phase == Phase::Started)
                .collect();
            // A run may take its deadline, the scheduler's grace, and — when its process died —
            // until a restarted process's heartbeat and lock expire and the next run comes.
            let bound = record.config.limits.deadline_secs
                + 60
                + REPLICA_TTL.as_secs()
                + crate::engine::LOCK_TTL.as_secs()
                + 2 * record.config.interval_secs
                + 300;
            for run in open {
                let age = u64::try_from(
                    world
                        .base
                        .clock
                        .now()
                        .duration_since(run.started_at)
                        .as_secs(),
                )
                .unwrap_or(0);
                if age > bound {
                    return Some(violation(
                        world,
                        "no-stuck-syncing",
                        format!(
                            "replica {r}: run {} of fabric {} has been open for {age} s (bound {bound} s)",
                            run.id, f.name
                        ),
                    ));
                }
            }
            if record.status == FabricStatus::Syncing
                && runs.iter().all(|r| r.end.phase != Phase::Started)
            {
                return Some(violation(
                    world,
                    "no-stuck-syncing",
                    format!(
                        "replica {r}: fabric {} says syncing at {now} s, but no run of it is open",
                        f.name
                    ),
                ));
            }
        }
    }
    None
}

/// Ends every fault, repairs NetBox, restarts every replica, approves held deletions, and
/// requires every fabric `in_sync` and equal to the oracle within two intervals.
pub async fn liveness(
    world: &mut SimWorld,
    trace: &mut Vec<String>,
    tracing: bool,
) -> Option<Violation> {
    world.observer.disarm_all();
    let ids: Vec<u32> = world.faults.keys().copied().collect();
    for id in ids {
        world.fault_off(id);
    }
    for c in &world.clusters {
        c.faults().clear();
        c.faults().set_unreachable(false);
    }
    world.base.netbox.faults().clear();
    for cut in &world.lease_cut {
        cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
    for rep in &mut world.replicas {
        rep.full_since = None;
        let _ = rep.store.simulate_full_disk(false);
    }
    let tokens: Vec<u32> = world.repairs.keys().copied().collect();
    for t in tokens {
        let _ = world.repair(t).await;
    }
    for r in 0..world.replicas.len() {
        world.start(r);
    }
    let start = world.now_secs();
    if tracing {
        trace.push(format!(
            "{start:>6} s  liveness: faults off, NetBox repaired, every replica running"
        ));
    }
    let interval = world
        .fabrics
        .iter()
        .map(|f| f.interval_secs)
        .max()
        .unwrap_or(60);
    // Settings changed through a replica may have made an interval longer.
    let interval = world
        .replicas
        .iter()
        .flat_map(|r| r.store.fabrics().unwrap_or_default())
        .map(|f| f.config.interval_secs)
        .max()
        .unwrap_or(interval)
        .max(interval);
    let lease = super::observer::LEASE_SECS as u64;
    tokio::time::sleep(Duration::from_secs(interval + lease)).await;
    world.reap();
    // Deletions held for a person: a person approves them (periodic runs never do).
    for (fi, f) in world.fabrics.clone().iter().enumerate() {
        if let Some(r) = world.leader(&f.name)
            && world.replicas[r]
                .store
                .fabric(&f.name)
                .is_ok_and(|rec| rec.status == FabricStatus::Held)
        {
            let path = format!("/api/fabrics/{}/sync", f.name);
            let _ = world
                .http(r, Method::POST, &path, Some(json!({"prune": true})))
                .await;
            if tracing {
                trace.push(format!(
                    "{:>6} s  liveness: approved held deletions of fabric {fi} on replica {r}",
                    world.now_secs()
                ));
            }
        }
    }
    // The approved runs take place.
    tokio::time::sleep(Duration::from_secs(lease)).await;
    world.reap();
    // A field another manager set that fabsync never applied, which NetBox now wants: under
    // the default policy every run fails naming it, until a person decides. The person does
    // what the error says: the fabric's conflict policy becomes `force` (through the API), and
    // Sync Now.
    for (fi, f) in world.fabrics.clone().iter().enumerate() {
        let Some(r) = world.leader(&f.name) else {
            continue;
        };
        let store = &world.replicas[r].store;
        let conflicted = store
            .runs(&f.name, 1)
            .ok()
            .and_then(|v| v.into_iter().next())
            .is_some_and(|run| run.end.error_kind.as_deref() == Some("conflict"));
        if conflicted {
            let path = format!("/api/fabrics/{}", f.name);
            let _ = world
                .http(
                    r,
                    Method::PATCH,
                    &path,
                    Some(json!({"conflict_policy": "force"})),
                )
                .await;
            let path = format!("/api/fabrics/{}/sync", f.name);
            let _ = world
                .http(r, Method::POST, &path, Some(json!({"prune": true})))
                .await;
            world.observer.note_conflict_resolved();
            if tracing {
                trace.push(format!(
                    "{:>6} s  liveness: resolved a field-manager conflict of fabric {fi} on replica {r} (policy force)",
                    world.now_secs()
                ));
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(interval)).await;
    world.reap();
    if let Some(v) = step(world) {
        return Some(v);
    }
    for f in world.fabrics.clone() {
        let Some(r) = world.leader(&f.name) else {
            return Some(violation(
                world,
                "liveness",
                format!(
                    "fabric {}: no running replica holds its Lease (the Lease says {}; running: {})",
                    f.name,
                    world.lease_state(&f.name),
                    world
                        .replicas
                        .iter()
                        .filter_map(|r| r.live.as_ref().map(|i| i.identity.clone()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        let rec = world.replicas[r].store.fabric(&f.name).ok()?;
        if rec.status != FabricStatus::InSync {
            let last = world.replicas[r]
                .store
                .runs(&f.name, 1)
                .ok()
                .and_then(|v| v.into_iter().next());
            return Some(violation(
                world,
                "liveness",
                format!(
                    "fabric {} is {} on its leader replica {r} {} s after faults stopped; last run: {}",
                    f.name,
                    rec.status.as_str(),
                    world.now_secs() - start,
                    last.map(|l| format!(
                        "{} {} {}",
                        l.id,
                        l.end.phase.as_str(),
                        l.end.error.or(l.end.message).unwrap_or_default()
                    ))
                    .unwrap_or_else(|| "none".into())
                ),
            ));
        }
        match world.observer.oracle(&f.name).await {
            Ok(p) if p.is_empty() => {}
            Ok(p) => {
                return Some(violation(
                    world,
                    "liveness",
                    format!(
                        "fabric {} is in_sync after faults stopped, but the oracle finds: {}",
                        f.name,
                        p.join("; ")
                    ),
                ));
            }
            Err(e) => {
                return Some(violation(
                    world,
                    "liveness",
                    format!("the oracle could not read fabric {}: {e}", f.name),
                ));
            }
        }
    }
    None
}

/// How long after a write took effect its audit entry may be written: longer than any run
/// lasts (the simulated fabrics keep the default deadline of 300 s; the scheduler adds grace).
const AUDIT_LAG_SECS: i64 = 900;

/// Every write that reached the cluster is in the audit log of the replica that sent it (as
/// written, or as `unconfirmed-…` once a later start settled it). The store keeps the newest
/// runs of each fabric (retention) and their audit entries with them: a write older than the
/// oldest run a replica still holds for that fabric is no longer required.
pub fn audit_complete(world: &SimWorld) -> Option<Violation> {
    let audits: Vec<Vec<crate::store::AuditEntry>> = world
        .replicas
        .iter()
        .map(|r| r.store.audit_entries(None).unwrap_or_default())
        .collect();
    // Per replica and fabric: the oldest run still held, when retention has pruned older ones.
    let kept_since: Vec<BTreeMap<String, jiff::Timestamp>> = world
        .replicas
        .iter()
        .map(|r| {
            let mut runs: BTreeMap<String, (jiff::Timestamp, u64)> = BTreeMap::new();
            for run in r.store.all_runs().unwrap_or_default() {
                let e = runs
                    .entry(run.fabric.clone())
                    .or_insert((run.started_at, 0));
                e.0 = e.0.min(run.started_at);
                e.1 += 1;
            }
            runs.into_iter()
                .filter(|(_, (_, n))| *n >= crate::config::DEFAULT_KEEP_RUNS)
                .map(|(f, (oldest, _))| (f, oldest))
                .collect()
        })
        .collect();
    for (t, seen) in world.observer.writes() {
        let w = &seen.write;
        let pruned = kept_since[seen.replica]
            .get(&w.fabric)
            .is_some_and(|since| t < *since - jiff::SignedDuration::from_secs(1));
        if pruned {
            continue;
        }
        let Some(kind) = Kind::ALL.into_iter().find(|k| k.plural() == w.resource) else {
            continue;
        };
        let found = audits[seen.replica].iter().any(|a| {
            a.kind == kind.kind()
                && a.name == w.name
                && a.namespace == w.namespace
                && (a.verb.starts_with("unconfirmed")
                    // The entry is written when the write's batch has completed, which a
                    // slow cluster or Retry-After waits can put up to the run's deadline later.
                    || (a.time >= t - jiff::SignedDuration::from_secs(1)
                        && a.time <= t + jiff::SignedDuration::from_secs(AUDIT_LAG_SECS)))
        });
        if !found {
            return Some(violation(
                world,
                "audit-complete",
                format!(
                    "{} sent {} {} {}/{} at {t}: it took effect, but replica {}'s audit log has no entry for it",
                    seen.identity,
                    w.method,
                    kind.kind(),
                    w.namespace,
                    w.name,
                    seen.replica
                ),
            ));
        }
    }
    None
}

/// No token appears in the request logs, the stores' records, or anything logged.
pub fn no_secrets(world: &SimWorld, log: &LogCapture) -> Option<Violation> {
    let secrets = [
        crate::sim::CLUSTER_TOKEN,
        crate::sim::NETBOX_TOKEN,
        crate::sim::ADMIN_TOKEN,
        crate::sim::NETBOX_ADMIN_TOKEN,
        WRONG_CLUSTER_TOKEN,
        WRONG_NETBOX_TOKEN,
    ];
    let mut texts: Vec<(String, String)> = world
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| (format!("cluster {i}'s request log"), c.log().to_jsonl()))
        .collect();
    texts.extend([
        (
            "NetBox's request log".into(),
            world.base.netbox.log().to_jsonl(),
        ),
        (
            "fabsync's log".into(),
            String::from_utf8_lossy(&log.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned(),
        ),
    ]);
    for (r, rep) in world.replicas.iter().enumerate() {
        let runs = rep.store.all_runs().unwrap_or_default();
        let mut objects = Vec::new();
        for run in &runs {
            objects.extend(rep.store.run_objects(run.id).unwrap_or_default());
        }
        let records = json!({
            "runs": runs,
            "tasks": rep.store.all_tasks().unwrap_or_default(),
            "audit": rep.store.audit_entries(None).unwrap_or_default(),
            "objects": objects,
            "fabrics": rep.store.fabrics().unwrap_or_default().iter().map(|f| json!({
                "status": f.status.as_str(),
                "error": f.last_error,
            })).collect::<Vec<_>>(),
        });
        texts.push((format!("replica {r}'s store"), records.to_string()));
    }
    for (what, text) in texts {
        for s in secrets {
            let secret_part = s.rsplit('.').next().unwrap_or(s);
            if text.contains(s) || (secret_part.len() >= 16 && text.contains(secret_part)) {
                return Some(violation(
                    world,
                    "no-secrets",
                    format!("{what} holds a token (one of the world's credentials)"),
                ));
            }
        }
    }
    None
}
