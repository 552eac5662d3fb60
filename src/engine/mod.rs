//! One sync run, done properly: change check → read NetBox → plan → observe the cluster → diff →
//! preflight (server-side dry run of every write) → apply (reference order, bounded concurrency)
//! → verify → record; rollback when a write fails after others succeeded. Also the preview (what
//! a run would change, field by field) behind `fabsync diff` and the UI's "Preview changes".
//!
//! It does not decide when runs happen (the scheduler does) and knows no wire format (the
//! `netbox` and `cluster` modules do).

pub mod connector;
pub mod content;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::core::ApiResource;
use serde_json::Value;
use tokio::time::Instant;

use crate::clock::{SharedClock, format_ts};
use crate::cluster::{Cluster, ClusterError, FieldConflict};
use crate::config::{ConflictPolicy, FabricConfig};
use crate::hedgehog::Kind;
use crate::netbox::writer::{JournalKind, ObjectChange, ObjectRef};
use crate::netbox::{NetboxError, Snapshot};
use crate::plan::{DesiredObject, Finding, LABEL_FABRIC, PlanConfig, Severity, plan};
use crate::scheduler::{Fence, RunOutcome};
use crate::store::{
    Action, ConnectionState, Counts, ObjectResult, ObservedObject, Phase, RunEnd, RunObject,
    StatusEvent, Store, StoreError, Trigger,
};
pub use connector::{Connector, NetboxConn, RealConnector};
use content::{
    ANNOTATION_HASH, FieldChange, applied_fields, comparable, content_hash, extract_owned,
    field_changes, subset_mismatch, unified_diff,
};

/// NetBox object types whose changes can change a fabric's desired state.
const RELEVANT_TYPES: &[&str] = &[
    "dcim.site",
    "dcim.device",
    "dcim.devicetype",
    "dcim.devicerole",
    "dcim.interface",
    "dcim.macaddress",
    "dcim.cable",
    "dcim.cabletermination",
    "dcim.virtualchassis",
    "ipam.vlangroup",
    "ipam.vlan",
    "ipam.vrf",
    "ipam.prefix",
    "ipam.ipaddress",
    "extras.tag",
    "extras.customfield",
];

/// Above this many objects of one kind to fetch, one list beats many gets.
const LIST_THRESHOLD: usize = 20;

/// Why a run failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error("store: {0}")]
    Store(String),
    /// NetBox failed.
    #[error("{0}")]
    Netbox(NetboxError),
    /// The cluster failed.
    #[error("{0}")]
    Cluster(ClusterError),
    /// NetBox data the plan cannot turn into valid objects; nothing was written.
    #[error("NetBox data is invalid ({} fatal finding{}); nothing was written. {}. Fix the data in NetBox and sync again.", .0.iter().filter(|f| f.severity == Severity::Fatal).count(), if .0.iter().filter(|f| f.severity == Severity::Fatal).count() == 1 { "" } else { "s" }, .0.iter().filter(|f| f.severity == Severity::Fatal).take(5).map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    InvalidData(Vec<Finding>),
    /// Fields owned by other managers (policy `fail`); nothing was written.
    #[error("field-manager conflict; nothing was written: {}. Set the fabric's conflict policy to force or skip, or remove the other manager's fields.", .0.iter().map(|(k, n, c)| format!("{k} {n:?}: {}", c.iter().map(|c| format!("{} is owned by {:?}", c.field, c.manager)).collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("; "))]
    Conflicts(Vec<(String, String, Vec<FieldConflict>)>),
    /// Objects with fabsync's names exist but belong to someone else (policy `fail`).
    #[error("{0}")]
    Foreign(String),
    /// The run took longer than its deadline.
    #[error("deadline exceeded: the run did not finish within {secs} s (in step {step})")]
    Deadline {
        /// The deadline.
        secs: u64,
        /// Where it stopped.
        step: String,
    },
    /// This replica lost the fabric's lease.
    #[error("this fabsync replica lost the fabric's lease during the run; it stopped writing")]
    Fenced,
    /// The cluster does not hold what was written.
    #[error("verification failed: {kind} {name:?} {detail}")]
    Verify {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// What differs.
        detail: String,
    },
    /// A write failed after others succeeded; they were restored.
    #[error("{cause} — rolled back: the {restored} write(s) made before it were undone")]
    RolledBack {
        /// The failure.
        cause: Box<EngineError>,
        /// Writes undone.
        restored: usize,
    },
    /// Rollback itself failed: these objects are in an unknown state.
    #[error("{cause} — rollback FAILED: {} object(s) left in an unknown state: {}", .unknown.len(), .unknown.join(", "))]
    RollbackFailed {
        /// The failure.
        cause: Box<EngineError>,
        /// `Kind/name` of each object left in an unknown state.
        unknown: Vec<String>,
    },
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(e.to_string())
    }
}

impl EngineError {
    /// Class for records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Store(_) => "store",
            Self::Netbox(e) => match e {
                NetboxError::Unreachable { .. } => "netbox_unreachable",
                NetboxError::Unauthorized { .. } => "netbox_unauthorized",
                NetboxError::Server { status: 429, .. } => "netbox_throttled",
                NetboxError::Server { .. } => "netbox_server_error",
                NetboxError::Config { .. } => "netbox_config",
                _ => "netbox_error",
            },
            Self::Cluster(e) => e.kind(),
            Self::InvalidData(_) => "invalid_data",
            Self::Conflicts(_) => "conflict",
            Self::Foreign(_) => "conflict",
            Self::Deadline { .. } => "deadline_exceeded",
            Self::Fenced => "lease_lost",
            Self::Verify { .. } => "verify_failed",
            Self::RolledBack { cause, .. } => cause.kind(),
            Self::RollbackFailed { .. } => "rollback_failed",
        }
    }

    /// Whether retrying later may succeed with nothing changed (unreachable, 5xx, 429, timeouts).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Netbox(e) => e.is_transient(),
            Self::Cluster(e) => e.is_transient(),
            Self::Deadline { .. } => true,
            Self::RolledBack { cause, .. } => cause.is_transient(),
            _ => false,
        }
    }
}

/// What starts a run.
#[derive(Debug, Clone)]
pub struct RunParams {
    /// Fabric.
    pub fabric: String,
    /// Trigger.
    pub trigger: Trigger,
    /// Task.
    pub task_id: Option<String>,
    /// Attempt within the task.
    pub attempt: u32,
    /// Replica.
    pub holder: Option<String>,
    /// Lease fence.
    pub fence: Fence,
}

impl RunParams {
    /// A manual run outside the scheduler (CLI `fabsync sync`).
    pub fn manual(fabric: &str) -> Self {
        Self {
            fabric: fabric.to_string(),
            trigger: Trigger::Manual,
            task_id: None,
            attempt: 1,
            holder: None,
            fence: Fence::always(),
        }
    }
}

/// The result of a run, as recorded.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Run id.
    pub run_id: i64,
    /// SUCCESS or FAILURE.
    pub phase: Phase,
    /// What it did and how long.
    pub end: RunEnd,
    /// Per-object results (objects that were not simply unchanged).
    pub objects: Vec<RunObject>,
    /// Counts per kind (kind name → counts), for summary tables.
    pub by_kind: BTreeMap<String, Counts>,
    /// Plan findings (warnings on success).
    pub findings: Vec<Finding>,
    /// The error, on failure.
    pub error: Option<EngineError>,
}

/// A change the preview found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PreviewItem {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// What a sync would do.
    pub action: Action,
    /// Why (NetBox changed, drift, pruned, …).
    pub reason: String,
    /// Field-level changes.
    pub fields: Vec<FieldChange>,
    /// `kubectl diff`-style unified diff.
    pub unified: String,
    /// Whether the cluster would refuse it (dry-run error), with the message.
    pub refused: Option<String>,
}

/// What a sync would change.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Preview {
    /// Fabric.
    pub fabric: String,
    /// Plan findings.
    pub findings: Vec<FindingView>,
    /// Objects that would change.
    pub changes: Vec<PreviewItem>,
    /// Objects already equal.
    pub unchanged: u64,
}

/// A finding in JSON-friendly form.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingView {
    /// fatal or warning.
    pub severity: String,
    /// Machine code.
    pub code: String,
    /// The sentence.
    pub message: String,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        Self {
            severity: f.severity.as_str().to_string(),
            code: f.code.to_string(),
            message: f.to_string(),
        }
    }
}

/// The kube `ApiResource` of a Hedgehog kind.
pub fn api_resource(kind: Kind) -> ApiResource {
    ApiResource {
        group: kind.group().into(),
        version: kind.version().into(),
        api_version: kind.api_version().into(),
        kind: kind.kind().into(),
        plural: kind.plural().into(),
    }
}

/// One object in the cluster, from a metadata list.
#[derive(Debug, Clone)]
struct LiveMeta {
    rv: String,
    fabric: Option<String>,
    hash: Option<String>,
}

/// One object a run looks at.
#[derive(Debug, Clone)]
struct Item {
    kind: Kind,
    name: String,
    action: Action,
    /// Desired manifest with the hash annotation.
    desired: Option<Value>,
    hash: Option<String>,
    live: Option<LiveMeta>,
    /// Full object before the write.
    pre: Option<Value>,
    /// Object after the write (server's answer).
    written: Option<Value>,
    drift: bool,
    /// Adopting an object without fabsync's label (policy force).
    adopt: bool,
    /// Preflight must wait until its stage (it references objects this run creates).
    deferred: bool,
    result: ObjectResult,
    message: Option<String>,
}

impl Item {
    fn key(&self) -> String {
        format!("{}/{}", self.kind.kind(), self.name)
    }
    fn is_write(&self) -> bool {
        !matches!(self.action, Action::Unchanged) && self.result != ObjectResult::Skipped
    }
}

/// Everything a run accumulates, so a failure can still be recorded in full.
struct RunState {
    step: String,
    items: Vec<Item>,
    findings: Vec<Finding>,
    site_id: Option<u64>,
    /// NetBox change id read before the full read.
    cursor: Option<u64>,
    drift: u64,
    netbox_state: Option<ConnectionState>,
    cluster_state: Option<ConnectionState>,
    no_changes: bool,
}

/// Called with (run id, step) as a run moves through its steps.
pub type ProgressFn = Arc<dyn Fn(i64, &str) + Send + Sync>;

/// A fabric's last NetBox snapshot, kept for the next run to bring up to date from the change
/// log instead of reading everything again.
struct CachedSnapshot {
    /// NetBox URL, site slug and tag it was read with.
    source: (String, String, Option<String>),
    /// The latest NetBox change id read before it was read.
    cursor: u64,
    snapshot: Snapshot,
}

/// The sync engine.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clock: SharedClock,
    connector: Arc<dyn Connector>,
    progress: Option<ProgressFn>,
    snapshots: Arc<std::sync::Mutex<BTreeMap<String, CachedSnapshot>>>,
    /// Per fabric: the last run's desired objects with their content hashes.
    hashes: Arc<std::sync::Mutex<BTreeMap<String, DesiredHashes>>>,
}

/// Per kind, by name: a desired object and its content hash.
type DesiredHashes = BTreeMap<Kind, HashMap<String, (DesiredObject, String)>>;

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
    }
}

fn conn_state_of(e: &EngineError) -> (Option<ConnectionState>, Option<ConnectionState>) {
    match e {
        EngineError::Netbox(NetboxError::Unreachable { .. })
        | EngineError::Netbox(NetboxError::Server { .. }) => {
            (Some(ConnectionState::Unreachable), None)
        }
        EngineError::Netbox(NetboxError::Unauthorized { .. }) => {
            (Some(ConnectionState::Unauthorized), None)
        }
        EngineError::Cluster(ClusterError::Unreachable { .. })
        | EngineError::Cluster(ClusterError::Tls { .. })
        | EngineError::Cluster(ClusterError::Server { .. })
        | EngineError::Cluster(ClusterError::Timeout { .. }) => {
            (None, Some(ConnectionState::Unreachable))
        }
        EngineError::Cluster(ClusterError::Unauthorized { .. }) => {
            (None, Some(ConnectionState::Unauthorized))
        }
        EngineError::RolledBack { cause, .. } | EngineError::RollbackFailed { cause, .. } => {
            conn_state_of(cause)
        }
        _ => (None, None),
    }
}

impl Engine {
    /// An engine over a store, a clock and a connector.
    pub fn new(store: Store, clock: SharedClock, connector: Arc<dyn Connector>) -> Self {
        Self {
            store,
            clock,
            connector,
            progress: None,
            snapshots: Default::default(),
            hashes: Default::default(),
        }
    }

    /// Reports each step of every run to `f` (terminal progress, live UI).
    pub fn with_progress(mut self, f: ProgressFn) -> Self {
        self.progress = Some(f);
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn now(&self) -> String {
        format_ts(self.clock.now())
    }

    /// Runs and records one sync of a fabric.
    pub async fn run(&self, p: RunParams) -> Result<RunReport, EngineError> {
        let fabric = self.store.fabric(&p.fabric)?;
        let cfg = fabric.config.clone();
        let started = Instant::now();
        let run_id = self.store.start_run(
            &cfg.name,
            p.task_id.as_deref(),
            p.trigger,
            p.attempt,
            &self.now(),
            p.holder.as_deref(),
        )?;
        if let Some(t) = &p.task_id {
            self.store.task_started(t, run_id, &self.now())?;
        }
        self.store
            .status_event(&cfg.name, &StatusEvent::RunStarted)?;
        let mut st = RunState {
            step: "start".into(),
            items: Vec::new(),
            findings: Vec::new(),
            site_id: None,
            cursor: None,
            drift: 0,
            netbox_state: None,
            cluster_state: None,
            no_changes: false,
        };
        let deadline = started + Duration::from_secs(cfg.limits.deadline_secs);
        let netbox = self.connector.netbox(&cfg);
        let cluster = self.connector.cluster(&cfg).await;
        let (result, nb_calls, k8s_calls, k8s_writes) = match (netbox, cluster) {
            (Ok(nb), Ok(cl)) => {
                let r = self
                    .execute(&p, &cfg, run_id, &nb, &cl, deadline, &mut st)
                    .await;
                (
                    r,
                    nb.counters.requests(),
                    cl.counters().requests(),
                    cl.counters().writes(),
                )
            }
            (Err(e), _) => (Err(EngineError::Netbox(e)), 0, 0, 0),
            (_, Err(e)) => (Err(EngineError::Cluster(e)), 0, 0, 0),
        };
        let mut counts = Counts::default();
        let mut kinds: BTreeMap<&'static str, Counts> = BTreeMap::new();
        for it in &st.items {
            let k = kinds.entry(it.kind.kind()).or_default();
            for c in [&mut counts, k] {
                match (it.result, it.action) {
                    (ObjectResult::Ok, Action::Create) => c.created += 1,
                    (ObjectResult::Ok, Action::Update) => c.updated += 1,
                    (ObjectResult::Ok, Action::Delete) => c.deleted += 1,
                    (ObjectResult::Ok, Action::Unchanged) => c.unchanged += 1,
                    (ObjectResult::Skipped, _) => c.skipped += 1,
                    (ObjectResult::Failed | ObjectResult::Unknown, _) => c.failed += 1,
                    (ObjectResult::RolledBack, _) => {}
                }
            }
        }
        let by_kind: BTreeMap<String, Counts> =
            kinds.into_iter().map(|(k, c)| (k.to_string(), c)).collect();
        let objects: Vec<RunObject> = st
            .items
            .iter()
            .filter(|it| it.action != Action::Unchanged || it.result != ObjectResult::Ok)
            .map(|it| RunObject {
                kind: it.kind.kind().to_string(),
                namespace: cfg.namespace.clone(),
                name: it.name.clone(),
                action: it.action,
                result: it.result,
                message: it.message.clone(),
            })
            .collect();
        let warnings: Vec<String> = st
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| f.to_string())
            .collect();
        let (phase, message, error_kind, error_text) = match &result {
            Ok(()) => {
                let mut msg = if st.no_changes {
                    "no changes".to_string()
                } else if counts.created + counts.updated + counts.deleted == 0 {
                    "in sync: nothing to write".to_string()
                } else {
                    format!(
                        "synced: {} created, {} updated, {} deleted, {} unchanged",
                        counts.created, counts.updated, counts.deleted, counts.unchanged
                    )
                };
                if st.drift > 0 {
                    msg.push_str(&format!(
                        "; repaired drift on {} object(s) changed in the cluster by hand",
                        st.drift
                    ));
                }
                if counts.skipped > 0 {
                    msg.push_str(&format!(
                        "; {} object(s) skipped on conflict",
                        counts.skipped
                    ));
                }
                if !warnings.is_empty() {
                    msg.push_str(&format!("; {} warning(s)", warnings.len()));
                }
                (Phase::Success, msg, None, None)
            }
            Err(e) => {
                let short = match e {
                    EngineError::RolledBack { .. } => "rolled back",
                    EngineError::RollbackFailed { .. } => "rollback failed",
                    EngineError::InvalidData(_) => "invalid NetBox data",
                    EngineError::Deadline { .. } => "deadline exceeded",
                    _ => "failed",
                };
                (
                    Phase::Failure,
                    short.to_string(),
                    Some(e.kind().to_string()),
                    Some(e.to_string()),
                )
            }
        };
        let end = RunEnd {
            phase: Some(phase),
            step: st.step.clone(),
            finished_at: self.now(),
            duration_ms: started.elapsed().as_millis() as u64,
            counts,
            cluster_calls: k8s_calls,
            netbox_calls: nb_calls,
            writes: k8s_writes,
            drift: st.drift,
            message: Some(message.clone()),
            error_kind,
            error: error_text.map(|t| {
                if warnings.is_empty() {
                    t
                } else {
                    format!("{t}\nWarnings: {}", warnings.join("; "))
                }
            }),
        };
        let object_count = result.as_ref().ok().map(|_| {
            st.items
                .iter()
                .filter(|it| it.action != Action::Delete && it.result == ObjectResult::Ok)
                .count() as u64
        });
        self.store
            .finish_run(run_id, &end, &objects, object_count)?;
        let (nb_state, cl_state) = match &result {
            Ok(()) => (st.netbox_state, st.cluster_state),
            Err(e) => {
                let (n, c) = conn_state_of(e);
                (n.or(st.netbox_state), c.or(st.cluster_state))
            }
        };
        self.store
            .set_connection_states(&cfg.name, nb_state, cl_state)?;
        let event = match &result {
            Ok(()) if counts.skipped > 0 => StatusEvent::RunPartial,
            Ok(()) => StatusEvent::RunVerified,
            Err(_) => StatusEvent::RunFailed,
        };
        let status = self.store.status_event(&cfg.name, &event)?;
        self.record_in_netbox(&cfg, run_id, &st, &end, status, result.as_ref().err())
            .await;
        Ok(RunReport {
            run_id,
            phase,
            end,
            objects,
            by_kind,
            findings: st.findings,
            error: result.err(),
        })
    }

    /// The journal entry (and site custom fields) in NetBox after a run. Best effort: a
    /// failure here is logged, it does not change the run's result.
    async fn record_in_netbox(
        &self,
        cfg: &FabricConfig,
        run_id: i64,
        st: &RunState,
        end: &RunEnd,
        status: crate::store::FabricStatus,
        error: Option<&EngineError>,
    ) {
        let Some(site_id) = st.site_id else { return };
        let wrote = end.counts.created + end.counts.updated + end.counts.deleted > 0;
        // Quiet runs ("no changes") leave no journal entry: NetBox would fill up every interval.
        if error.is_none() && !wrote && st.drift == 0 {
            return;
        }
        let Ok(nb) = self.connector.netbox(cfg) else {
            return;
        };
        let (kind, text) = match error {
            None => (
                JournalKind::Info,
                format!(
                    "fabsync run {run_id} ({}): SUCCESS — {}. Cluster: {} created, {} updated, {} deleted, {} unchanged.",
                    cfg.name,
                    end.message.clone().unwrap_or_default(),
                    end.counts.created,
                    end.counts.updated,
                    end.counts.deleted,
                    end.counts.unchanged
                ),
            ),
            Some(e) => (
                JournalKind::Danger,
                format!("fabsync run {run_id} ({}): FAILURE — {e}", cfg.name),
            ),
        };
        if let Err(e) = nb.client.create_journal_entry(site_id, kind, &text).await {
            tracing::warn!(fabric = %cfg.name, error = %e, "could not write the NetBox journal entry");
        }
        let mut values = serde_json::Map::new();
        values.insert("fabsync_status".into(), Value::String(status.to_string()));
        if error.is_none() {
            values.insert(
                "fabsync_last_sync".into(),
                Value::String(end.finished_at.clone()),
            );
        }
        // Only when the site has the fields (netbox-setup creates them); otherwise NetBox says 400.
        if let Err(e) = nb
            .client
            .update_custom_fields(&ObjectRef::site(site_id), &values)
            .await
        {
            tracing::debug!(fabric = %cfg.name, error = %e, "site custom fields not updated");
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        p: &RunParams,
        cfg: &FabricConfig,
        run_id: i64,
        nb: &NetboxConn,
        cluster: &Cluster,
        deadline: Instant,
        st: &mut RunState,
    ) -> Result<(), EngineError> {
        let secs = cfg.limits.deadline_secs;
        let step = |st: &mut RunState, s: &str| -> Result<(), EngineError> {
            st.step = s.to_string();
            self.store.run_step(run_id, s)?;
            if let Some(f) = &self.progress {
                f(run_id, s);
            }
            if Instant::now() > deadline {
                return Err(EngineError::Deadline {
                    secs,
                    step: s.to_string(),
                });
            }
            Ok(())
        };
        let pre_write = async {
            // 1. Change check (periodic runs with a baseline).
            let mut live_known = None;
            let baseline = self.store.observed(&cfg.name)?;
            let cursor = self.store.cursor(&cfg.name)?;
            if p.trigger == Trigger::Periodic
                && let Some(cursor) = cursor
                && !baseline.is_empty()
            {
                step(st, "change-check")?;
                let latest = nb
                    .client
                    .latest_change_id()
                    .await
                    .map_err(EngineError::Netbox)?
                    .unwrap_or(0);
                st.netbox_state = Some(ConnectionState::Connected);
                let changes = if latest as i64 > cursor {
                    nb.client
                        .changes_since(cursor as u64, &[])
                        .await
                        .map_err(EngineError::Netbox)?
                } else {
                    Vec::new()
                };
                let relevant = changes.iter().filter(|c| is_relevant(c)).count();
                let live = self.observe(cfg, cluster).await?;
                st.cluster_state = Some(ConnectionState::Connected);
                let same = baseline_matches(&baseline, &live, &cfg.name);
                if relevant == 0 && same {
                    st.no_changes = true;
                    for o in baseline.iter() {
                        if let Some(kind) = Kind::from_kind(&o.kind) {
                            st.items.push(Item {
                                kind,
                                name: o.name.clone(),
                                action: Action::Unchanged,
                                desired: None,
                                hash: Some(o.content_hash.clone()),
                                live: None,
                                pre: None,
                                written: None,
                                drift: false,
                                adopt: false,
                                deferred: false,
                                result: ObjectResult::Ok,
                                message: None,
                            });
                        }
                    }
                    self.store
                        .set_cursor(&cfg.name, Some(latest as i64), &self.now())?;
                    return Ok(None);
                }
                live_known = Some(live);
            }

            // 2. Read NetBox.
            step(st, "read")?;
            st.cursor = nb
                .client
                .latest_change_id()
                .await
                .map_err(EngineError::Netbox)?;
            let source = (
                cfg.netbox.url.clone(),
                cfg.site_slug().to_string(),
                cfg.tag.clone(),
            );
            let cached = self
                .snapshots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&cfg.name)
                .filter(|c| c.source == source);
            let mut refreshed = None;
            // Manual runs read everything; the others bring the last snapshot up to date when
            // the change log allows it exactly.
            if p.trigger != Trigger::Manual
                && let (Some(mut c), Some(latest)) = (cached, st.cursor)
                && latest >= c.cursor
            {
                let changes: Vec<ObjectChange> = if latest > c.cursor {
                    nb.client
                        .changes_since(c.cursor, &[])
                        .await
                        .map_err(EngineError::Netbox)?
                        .into_iter()
                        .filter(is_relevant)
                        .collect()
                } else {
                    Vec::new()
                };
                if nb
                    .client
                    .refresh_fabric(&mut c.snapshot, &changes)
                    .await
                    .map_err(EngineError::Netbox)?
                {
                    refreshed = Some(c.snapshot);
                }
            }
            let snapshot: Snapshot = match refreshed {
                Some(s) => s,
                None => nb
                    .client
                    .read_fabric(cfg.site_slug(), cfg.tag.as_deref())
                    .await
                    .map_err(EngineError::Netbox)?,
            };
            st.netbox_state = Some(ConnectionState::Connected);
            st.site_id = Some(snapshot.site.id);

            // 3. Plan.
            step(st, "plan")?;
            let plan = plan(
                &snapshot,
                &PlanConfig {
                    fabric: cfg.name.clone(),
                    namespace: cfg.namespace.clone(),
                },
            );
            if let Some(cursor) = st.cursor {
                self.snapshots
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(
                        cfg.name.clone(),
                        CachedSnapshot {
                            source,
                            cursor,
                            snapshot,
                        },
                    );
            }
            st.findings = plan.findings.clone();
            if plan.has_fatal() {
                return Err(EngineError::InvalidData(plan.findings));
            }

            // 4. Observe.
            step(st, "observe")?;
            let live = match live_known {
                Some(l) => l,
                None => self.observe(cfg, cluster).await?,
            };
            st.cluster_state = Some(ConnectionState::Connected);

            // 5. Diff.
            step(st, "diff")?;
            st.items = self
                .diff(cfg, cluster, &plan.objects, &live, &baseline)
                .await?;
            self.remember_hashes(&cfg.name, plan.objects, &st.items);
            st.drift = st.items.iter().filter(|i| i.drift).count() as u64;
            let foreign: Vec<String> = st.items.iter().filter(|i| i.adopt).map(Item::key).collect();
            if !foreign.is_empty() {
                match cfg.conflict_policy {
                    ConflictPolicy::Fail => {
                        return Err(EngineError::Foreign(format!(
                            "{} object(s) already exist in the cluster without fabsync's label {LABEL_FABRIC}={} (created by someone else): {}; nothing was written. Delete them, or set the conflict policy to force to adopt them or skip to leave them alone.",
                            foreign.len(),
                            cfg.name,
                            foreign.join(", ")
                        )));
                    }
                    ConflictPolicy::Skip => {
                        for it in st.items.iter_mut().filter(|i| i.adopt) {
                            it.result = ObjectResult::Skipped;
                            it.message = Some(format!(
                                "exists without the label {LABEL_FABRIC}={}: left alone (conflict policy skip)",
                                cfg.name
                            ));
                        }
                    }
                    ConflictPolicy::Force => {}
                }
            }

            // 6. Preflight.
            step(st, "preflight")?;
            self.preflight(cfg, cluster, &mut st.items).await?;
            Ok(Some(()))
        };
        let outcome = match tokio::time::timeout_at(deadline, pre_write).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(EngineError::Deadline {
                    secs,
                    step: st.step.clone(),
                });
            }
        };
        if outcome.is_none() {
            // No changes on either side: the baseline stands.
            return Ok(());
        }

        // 7. Apply, with rollback.
        step(st, "apply")?;
        let mut order = Vec::new();
        if let Err(e) = self
            .apply(
                cfg,
                cluster,
                run_id,
                &p.fence,
                deadline,
                &mut st.items,
                &mut order,
            )
            .await
        {
            st.step = "rollback".into();
            self.store.run_step(run_id, "rollback")?;
            return Err(self
                .rollback(cfg, cluster, run_id, &mut st.items, &order, e)
                .await);
        }

        // 8. Verify.
        step(st, "verify").or_else(|e| match e {
            EngineError::Deadline { .. } => Ok(()),
            e => Err(e),
        })?;
        self.verify(cfg, cluster, &mut st.items).await?;

        // 9. Record the baseline and cursor.
        st.step = "record".into();
        self.store.run_step(run_id, "record")?;
        let observed: Vec<ObservedObject> = st
            .items
            .iter()
            .filter(|it| it.action != Action::Delete && it.result == ObjectResult::Ok)
            .filter_map(|it| {
                let rv = it
                    .written
                    .as_ref()
                    .and_then(|w| w.pointer("/metadata/resourceVersion"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| it.live.as_ref().map(|l| l.rv.clone()))?;
                Some(ObservedObject {
                    kind: it.kind.kind().to_string(),
                    namespace: cfg.namespace.clone(),
                    name: it.name.clone(),
                    resource_version: rv,
                    content_hash: it.hash.clone()?,
                })
            })
            .collect();
        let skipped = st.items.iter().any(|i| i.result == ObjectResult::Skipped);
        if skipped {
            // Skipped objects are not equal to NetBox: the next run must look again.
            self.store.reset_baseline(&cfg.name)?;
        } else {
            self.store.replace_observed(&cfg.name, &observed)?;
            self.store
                .set_cursor(&cfg.name, st.cursor.map(|c| c as i64), &self.now())?;
        }
        Ok(())
    }

    /// Metadata of every object of every planned kind in the fabric's namespace.
    async fn observe(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
    ) -> Result<BTreeMap<(Kind, String), LiveMeta>, EngineError> {
        let mut live = BTreeMap::new();
        for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
            let items = match cluster
                .list_metadata(
                    &api_resource(kind),
                    &cfg.namespace,
                    "",
                    &[LABEL_FABRIC],
                    &[ANNOTATION_HASH],
                )
                .await
            {
                Ok(items) => items,
                // A kind the cluster does not serve holds nothing; applying to it fails later.
                Err(ClusterError::MissingKind { .. }) => continue,
                Err(e) => return Err(EngineError::Cluster(e)),
            };
            for m in items {
                let fabric = m.label(LABEL_FABRIC).map(str::to_string);
                let hash = m.annotation(ANNOTATION_HASH).map(str::to_string);
                live.insert(
                    (kind, m.name),
                    LiveMeta {
                        rv: m.resource_version,
                        fabric,
                        hash,
                    },
                );
            }
        }
        Ok(live)
    }

    /// Full objects by name (one list per kind when many, else gets).
    async fn fetch_full(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        kind: Kind,
        names: &BTreeSet<String>,
        labelled: bool,
    ) -> Result<BTreeMap<String, Value>, EngineError> {
        let ar = api_resource(kind);
        let mut out = BTreeMap::new();
        if names.is_empty() {
            return Ok(out);
        }
        if labelled && names.len() > LIST_THRESHOLD {
            let sel = format!("{LABEL_FABRIC}={}", cfg.name);
            for o in cluster
                .list(&ar, &cfg.namespace, &sel)
                .await
                .map_err(EngineError::Cluster)?
            {
                let name = o.metadata.name.clone().unwrap_or_default();
                if names.contains(&name) {
                    out.insert(name, serde_json::to_value(&o).expect("objects serialize"));
                }
            }
        } else {
            for name in names {
                if let Some(o) = cluster
                    .get(&ar, &cfg.namespace, name)
                    .await
                    .map_err(EngineError::Cluster)?
                {
                    out.insert(
                        name.clone(),
                        serde_json::to_value(&o).expect("objects serialize"),
                    );
                }
            }
        }
        Ok(out)
    }

    /// The content hash of every desired object, reusing the last run's hash of an object
    /// that has not changed since (hashing means building and serialising every manifest).
    fn desired_hashes(&self, fabric: &str, desired: &[DesiredObject]) -> Vec<String> {
        let cache = self.hashes.lock().unwrap_or_else(|e| e.into_inner());
        let prev = cache.get(fabric);
        desired
            .iter()
            .map(|d| {
                prev.and_then(|p| p.get(&d.kind)?.get(d.name.as_str()))
                    .filter(|(old, _)| old == d)
                    .map(|(_, h)| h.clone())
                    .unwrap_or_else(|| content_hash(&d.manifest()))
            })
            .collect()
    }

    /// Keeps a run's desired objects and their hashes for the next run's [`Self::desired_hashes`].
    fn remember_hashes(&self, fabric: &str, desired: Vec<DesiredObject>, items: &[Item]) {
        let hashes: HashMap<(Kind, &str), &str> = items
            .iter()
            .filter_map(|it| Some(((it.kind, it.name.as_str()), it.hash.as_deref()?)))
            .collect();
        let mut map = DesiredHashes::new();
        for d in desired {
            if let Some(h) = hashes.get(&(d.kind, d.name.as_str())) {
                let h = h.to_string();
                map.entry(d.kind)
                    .or_default()
                    .insert(d.name.clone(), (d, h));
            }
        }
        self.hashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), map);
    }

    async fn diff(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        desired: &[crate::plan::DesiredObject],
        live: &BTreeMap<(Kind, String), LiveMeta>,
        baseline: &[ObservedObject],
    ) -> Result<Vec<Item>, EngineError> {
        let base: BTreeMap<(&str, &str), &ObservedObject> = baseline
            .iter()
            .map(|o| ((o.kind.as_str(), o.name.as_str()), o))
            .collect();
        let mut items = Vec::new();
        let mut wanted = BTreeSet::new();
        let hashes = self.desired_hashes(&cfg.name, desired);
        for (d, hash) in desired.iter().zip(hashes) {
            wanted.insert((d.kind, d.name.clone()));
            let l = live.get(&(d.kind, d.name.clone())).cloned();
            let mut it = Item {
                kind: d.kind,
                name: d.name.clone(),
                action: Action::Unchanged,
                desired: None,
                hash: Some(hash.clone()),
                live: l.clone(),
                pre: None,
                written: None,
                drift: false,
                adopt: false,
                deferred: false,
                result: ObjectResult::Ok,
                message: None,
            };
            match &l {
                None => it.action = Action::Create,
                Some(l) if l.fabric.as_deref() != Some(cfg.name.as_str()) => {
                    it.action = Action::Update;
                    it.adopt = true;
                    it.message = Some(match &l.fabric {
                        Some(other) => format!("belongs to fabric {other:?}"),
                        None => "exists without fabsync's label".into(),
                    });
                }
                Some(l) if l.hash.as_deref() != Some(hash.as_str()) => {
                    it.action = Action::Update;
                    it.message = Some("changed in NetBox".into());
                }
                Some(l) => {
                    let same_rv = base
                        .get(&(d.kind.kind(), d.name.as_str()))
                        .is_some_and(|b| b.resource_version == l.rv && b.content_hash == hash);
                    if !same_rv {
                        // Someone wrote it since the last verified run, or there is no
                        // baseline: compare content.
                        it.message = Some("suspect".into());
                    }
                }
            }
            // The manifest is built only for what is written or compared.
            if it.action != Action::Unchanged || it.message.is_some() {
                it.desired = Some(content::annotate(d.manifest(), &hash));
            }
            items.push(it);
        }
        for ((kind, name), l) in live {
            if l.fabric.as_deref() == Some(cfg.name.as_str())
                && !wanted.contains(&(*kind, name.clone()))
            {
                items.push(Item {
                    kind: *kind,
                    name: name.clone(),
                    action: Action::Delete,
                    desired: None,
                    hash: None,
                    live: Some(l.clone()),
                    pre: None,
                    written: None,
                    drift: false,
                    adopt: false,
                    deferred: false,
                    result: ObjectResult::Ok,
                    message: Some("no longer in NetBox".into()),
                });
            }
        }

        // Pre-images for every write and content for every suspect.
        let mut need: BTreeMap<Kind, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
        for it in &items {
            let suspect = it.message.as_deref() == Some("suspect");
            if it.action == Action::Create {
                continue;
            }
            if it.action != Action::Unchanged || suspect {
                let e = need.entry(it.kind).or_default();
                if it.adopt {
                    e.1.insert(it.name.clone());
                } else {
                    e.0.insert(it.name.clone());
                }
            }
        }
        let mut full: BTreeMap<(Kind, String), Value> = BTreeMap::new();
        for (kind, (labelled, foreign)) in need {
            for (n, v) in self.fetch_full(cfg, cluster, kind, &labelled, true).await? {
                full.insert((kind, n), v);
            }
            for (n, v) in self.fetch_full(cfg, cluster, kind, &foreign, false).await? {
                full.insert((kind, n), v);
            }
        }
        for it in &mut items {
            it.pre = full.get(&(it.kind, it.name.clone())).cloned();
            if it.message.as_deref() != Some("suspect") {
                continue;
            }
            it.message = None;
            let desired = it.desired.as_ref().expect("suspects are desired");
            let Some(pre) = &it.pre else {
                // Gone between the list and the get.
                it.action = Action::Create;
                continue;
            };
            if subset_mismatch(desired, pre).is_none() {
                continue;
            }
            // The server may normalise what we send (mutating admission): compare with what
            // applying would produce.
            let ar = api_resource(it.kind);
            let post = cluster
                .apply(&ar, &cfg.namespace, &it.name, desired, true, true)
                .await;
            let equal = match &post {
                Ok(post) => {
                    comparable(&serde_json::to_value(post).expect("objects serialize"))
                        == comparable(pre)
                }
                Err(_) => false,
            };
            if !equal {
                let path = subset_mismatch(desired, pre).unwrap_or_default();
                it.action = Action::Update;
                it.drift = true;
                it.message = Some(format!("drift: {path} was changed in the cluster by hand"));
            }
        }
        // Writes in reference order: creates/updates by ascending rank, then deletes by
        // descending rank.
        fn order(it: &Item) -> (u8, u8, Kind, &str) {
            match it.action {
                Action::Delete => (1, 255 - it.kind.rank(), it.kind, it.name.as_str()),
                _ => (0, it.kind.rank(), it.kind, it.name.as_str()),
            }
        }
        items.sort_by(|a, b| order(a).cmp(&order(b)));
        Ok(items)
    }

    async fn dry_run(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        it: &Item,
        force: bool,
    ) -> Result<Option<Value>, ClusterError> {
        let ar = api_resource(it.kind);
        match it.action {
            Action::Create | Action::Update => cluster
                .apply(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    it.desired.as_ref().expect("writes have a manifest"),
                    true,
                    force,
                )
                .await
                .map(|o| Some(serde_json::to_value(o).expect("objects serialize"))),
            Action::Delete => cluster
                .delete(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    true,
                    it.live.as_ref().map(|l| l.rv.as_str()),
                )
                .await
                .map(|_| None),
            Action::Unchanged => Ok(None),
        }
    }

    /// Dry-runs every write. Conflicts follow the policy; other refusals stop the run with
    /// nothing written, except admission refusals of objects that may reference objects this
    /// run creates first: those are checked again just before their stage.
    async fn preflight(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        items: &mut [Item],
    ) -> Result<(), EngineError> {
        let stage = |it: &Item| (it.action == Action::Delete, it.kind.rank());
        let results: Vec<Result<Option<Value>, ClusterError>> = {
            let writes: Vec<usize> = (0..items.len()).filter(|i| items[*i].is_write()).collect();
            let jobs = writes
                .iter()
                .map(|i| {
                    let it = &items[*i];
                    let force = force_for(cfg, it);
                    async move { self.dry_run(cfg, cluster, it, force).await }
                })
                .collect::<Vec<_>>();
            let done: Vec<Result<Option<Value>, ClusterError>> = futures::stream::iter(jobs)
                .buffered(cfg.limits.concurrency)
                .collect()
                .await;
            let mut results: Vec<Result<Option<Value>, ClusterError>> =
                (0..items.len()).map(|_| Ok(None)).collect();
            for (i, r) in writes.into_iter().zip(done) {
                results[i] = r;
            }
            results
        };
        let mut conflicts = Vec::new();
        let mut refused: Option<ClusterError> = None;
        // Admission may refuse a write because of objects this run writes first (a reference
        // created in an earlier stage, a referrer deleted in an earlier stage): such writes are
        // checked again just before their stage.
        let mut earlier_stages = BTreeSet::new();
        let mut stage_first_write = Vec::with_capacity(items.len());
        for it in items.iter() {
            stage_first_write.push(earlier_stages.iter().any(|s| *s != stage(it)));
            if it.is_write() {
                earlier_stages.insert(stage(it));
            }
        }
        for ((it, r), has_earlier) in items.iter_mut().zip(results).zip(stage_first_write) {
            match r {
                Ok(_) => {}
                Err(ClusterError::Conflict {
                    kind,
                    name,
                    conflicts: c,
                }) => match cfg.conflict_policy {
                    ConflictPolicy::Skip => {
                        it.result = ObjectResult::Skipped;
                        it.message = Some(format!(
                            "skipped (conflict policy skip): {}",
                            c.iter()
                                .map(|c| format!("{} owned by {:?}", c.field, c.manager))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    _ => {
                        it.result = ObjectResult::Failed;
                        it.message = Some(
                            ClusterError::Conflict {
                                kind: kind.clone(),
                                name: name.clone(),
                                conflicts: c.clone(),
                            }
                            .to_string(),
                        );
                        conflicts.push((kind, name, c));
                    }
                },
                Err(ClusterError::Denied { .. }) if has_earlier => {
                    it.deferred = true;
                }
                Err(e) => {
                    it.result = ObjectResult::Failed;
                    it.message = Some(e.to_string());
                    if refused.is_none() {
                        refused = Some(e);
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(EngineError::Conflicts(conflicts));
        }
        if let Some(e) = refused {
            return Err(EngineError::Cluster(e));
        }
        Ok(())
    }

    /// Writes one item (no checks); returns the server's answer for applies.
    async fn write_one(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        fence: &Fence,
        deadline: Instant,
        it: &Item,
    ) -> Result<Option<Value>, EngineError> {
        if !fence.is_valid() {
            return Err(EngineError::Fenced);
        }
        if Instant::now() > deadline {
            return Err(EngineError::Deadline {
                secs: cfg.limits.deadline_secs,
                step: "apply".into(),
            });
        }
        let ar = api_resource(it.kind);
        let r = match it.action {
            Action::Delete => cluster
                .delete(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    false,
                    it.live.as_ref().map(|l| l.rv.as_str()),
                )
                .await
                .map(|_| None),
            _ => cluster
                .apply(
                    &ar,
                    &cfg.namespace,
                    &it.name,
                    it.desired.as_ref().expect("writes have a manifest"),
                    false,
                    force_for(cfg, it),
                )
                .await
                .map(|o| Some(serde_json::to_value(o).expect("objects serialize"))),
        };
        r.map_err(EngineError::Cluster)
    }

    /// Writes a batch with bounded concurrency; returns results in batch order.
    async fn write_batch(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        fence: &Fence,
        deadline: Instant,
        items: &[Item],
        batch: &[usize],
    ) -> Vec<(usize, Result<Option<Value>, EngineError>)> {
        let jobs = batch
            .iter()
            .map(|&i| {
                let it = &items[i];
                async move { (i, self.write_one(cfg, cluster, fence, deadline, it).await) }
            })
            .collect::<Vec<_>>();
        futures::stream::iter(jobs)
            .buffered(cfg.limits.concurrency)
            .collect()
            .await
    }

    /// Applies the writes stage by stage (reference order; deletes in reverse). A create or
    /// update that admission refuses while deletes of this run are still to come is postponed
    /// until after them (a renamed object takes over the ports of the object it replaces).
    /// `order` receives the indices of the writes that took effect, in the order they did.
    #[allow(clippy::too_many_arguments)]
    async fn apply(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        run_id: i64,
        fence: &Fence,
        deadline: Instant,
        items: &mut [Item],
        order: &mut Vec<usize>,
    ) -> Result<(), EngineError> {
        let stage_of = |it: &Item| (it.action == Action::Delete, it.kind.rank());
        let mut stages: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        while start < items.len() {
            let key = stage_of(&items[start]);
            let mut end = start;
            while end < items.len() && stage_of(&items[end]) == key {
                end += 1;
            }
            stages.push(start..end);
            start = end;
        }
        let deletes_after = |items: &[Item], from: usize| {
            items[from..]
                .iter()
                .any(|i| i.action == Action::Delete && i.is_write())
        };
        let mut postponed: Vec<usize> = Vec::new();
        let result: Result<(), EngineError> = async {
            for range in stages {
                let delete_stage = items[range.start].action == Action::Delete;
                let mut batch = Vec::new();
                for i in range.clone() {
                    if !items[i].is_write() {
                        continue;
                    }
                    if items[i].deferred {
                        // Deferred preflight: the objects it references exist now.
                        let force = force_for(cfg, &items[i]);
                        match self.dry_run(cfg, cluster, &items[i], force).await {
                            Ok(_) => {}
                            Err(ClusterError::Denied { .. })
                                if !delete_stage && deletes_after(items, range.end) =>
                            {
                                postponed.push(i);
                                continue;
                            }
                            Err(e) => {
                                items[i].result = ObjectResult::Failed;
                                items[i].message = Some(e.to_string());
                                return Err(EngineError::Cluster(e));
                            }
                        }
                    }
                    batch.push(i);
                }
                let results = self
                    .write_batch(cfg, cluster, fence, deadline, items, &batch)
                    .await;
                let can_wait = !delete_stage && deletes_after(items, range.end);
                let wait = can_wait.then_some(&mut postponed);
                self.absorb(cfg, run_id, items, order, results, wait)?;
            }
            // Writes that waited for the deletes, in reference order.
            postponed.sort_by_key(|&i| (items[i].kind.rank(), i));
            let mut k = 0;
            while k < postponed.len() {
                let rank = items[postponed[k]].kind.rank();
                let batch: Vec<usize> = postponed[k..]
                    .iter()
                    .copied()
                    .take_while(|&i| items[i].kind.rank() == rank)
                    .collect();
                k += batch.len();
                let results = self
                    .write_batch(cfg, cluster, fence, deadline, items, &batch)
                    .await;
                self.absorb(cfg, run_id, items, order, results, None)?;
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            // Nothing after a failed write runs.
            let done: BTreeSet<usize> = order.iter().copied().collect();
            for (i, it) in items.iter_mut().enumerate() {
                if it.is_write() && !done.contains(&i) && it.result != ObjectResult::Failed {
                    it.result = ObjectResult::Skipped;
                    it.message = Some("not written: the run stopped at an earlier failure".into());
                }
            }
        }
        result
    }

    /// Takes a batch's results: records the writes that took effect (in `order`), sets aside
    /// admission refusals into `postpone` when given, and returns the first other failure.
    fn absorb(
        &self,
        cfg: &FabricConfig,
        run_id: i64,
        items: &mut [Item],
        order: &mut Vec<usize>,
        results: Vec<(usize, Result<Option<Value>, EngineError>)>,
        mut postpone: Option<&mut Vec<usize>>,
    ) -> Result<(), EngineError> {
        let mut first_err = None;
        for (i, r) in results {
            match (r, postpone.as_deref_mut()) {
                (Ok(written), _) => {
                    self.record_write(cfg, run_id, &mut items[i], written)?;
                    order.push(i);
                }
                (Err(EngineError::Cluster(ClusterError::Denied { .. })), Some(later)) => {
                    later.push(i);
                }
                (Err(e), _) => {
                    items[i].result = ObjectResult::Failed;
                    items[i].message = Some(e.to_string());
                    first_err.get_or_insert(e);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Records a write that took effect: its answer, and an audit entry.
    fn record_write(
        &self,
        cfg: &FabricConfig,
        run_id: i64,
        it: &mut Item,
        written: Option<Value>,
    ) -> Result<(), EngineError> {
        it.written = written;
        it.result = ObjectResult::Ok;
        let before = it.live.as_ref().and_then(|l| l.hash.clone());
        let rv = it
            .written
            .as_ref()
            .and_then(|w| w.pointer("/metadata/resourceVersion"))
            .and_then(Value::as_str)
            .map(str::to_string);
        self.store.audit(
            run_id,
            &self.now(),
            it.kind.kind(),
            &cfg.namespace,
            &it.name,
            if it.action == Action::Delete {
                "delete"
            } else {
                "apply"
            },
            before.as_deref(),
            it.hash.as_deref(),
            rv.as_deref(),
        )?;
        Ok(())
    }

    /// Restores every write of this run in reverse order.
    async fn rollback(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        run_id: i64,
        items: &mut [Item],
        order: &[usize],
        cause: EngineError,
    ) -> EngineError {
        let mut restored = 0;
        let mut unknown = Vec::new();
        for &i in order.iter().rev() {
            let it = &mut items[i];
            let ar = api_resource(it.kind);
            let r: Result<(), String> = match it.action {
                Action::Create => {
                    let rv = it
                        .written
                        .as_ref()
                        .and_then(|w| w.pointer("/metadata/resourceVersion"))
                        .and_then(Value::as_str);
                    cluster
                        .delete(&ar, &cfg.namespace, &it.name, false, rv)
                        .await
                        .map_err(|e| e.to_string())
                }
                Action::Update => self.restore(cfg, cluster, it).await,
                Action::Delete => match &it.pre {
                    Some(pre) => {
                        let mut obj = pre.clone();
                        strip_server_fields(&mut obj);
                        match serde_json::from_value::<kube::api::DynamicObject>(obj) {
                            Ok(obj) => cluster
                                .create(&ar, &cfg.namespace, &obj)
                                .await
                                .map(|_| ())
                                .map_err(|e| e.to_string()),
                            Err(e) => Err(format!("pre-image unreadable: {e}")),
                        }
                    }
                    None => Err("no pre-image was kept".into()),
                },
                Action::Unchanged => Ok(()),
            };
            let verb = match it.action {
                Action::Create => "rollback-delete",
                Action::Delete => "rollback-create",
                _ => "rollback-restore",
            };
            let _ = self.store.audit(
                run_id,
                &self.now(),
                it.kind.kind(),
                &cfg.namespace,
                &it.name,
                verb,
                it.hash.as_deref(),
                it.live.as_ref().and_then(|l| l.hash.as_deref()),
                None,
            );
            match r {
                Ok(()) => {
                    restored += 1;
                    it.result = ObjectResult::RolledBack;
                    it.message = Some("written, then rolled back".into());
                }
                Err(e) => {
                    it.result = ObjectResult::Unknown;
                    it.message = Some(format!("rollback failed: {e}"));
                    unknown.push(it.key());
                }
            }
        }
        // The baseline no longer describes the cluster exactly.
        let _ = self.store.reset_baseline(&cfg.name);
        if unknown.is_empty() {
            EngineError::RolledBack {
                cause: Box::new(cause),
                restored,
            }
        } else {
            EngineError::RollbackFailed {
                cause: Box::new(cause),
                unknown,
            }
        }
    }

    /// Puts an updated object back to its pre-image: re-apply what fabsync owned before (so
    /// ownership is as before), then, if other content differs (an adopted object), replace.
    async fn restore(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        it: &Item,
    ) -> Result<(), String> {
        let pre = it.pre.as_ref().ok_or("no pre-image was kept")?;
        let ar = api_resource(it.kind);
        if let Some(fields) = applied_fields(pre, crate::cluster::FIELD_MANAGER) {
            let mut cfg_obj = extract_owned(pre, fields);
            if let Value::Object(m) = &mut cfg_obj {
                m.insert(
                    "apiVersion".into(),
                    Value::String(it.kind.api_version().into()),
                );
                m.insert("kind".into(), Value::String(it.kind.kind().into()));
                let meta = m
                    .entry("metadata")
                    .or_insert_with(|| Value::Object(Default::default()));
                meta["name"] = Value::String(it.name.clone());
                meta["namespace"] = Value::String(cfg.namespace.clone());
            }
            cluster
                .apply(&ar, &cfg.namespace, &it.name, &cfg_obj, false, true)
                .await
                .map_err(|e| e.to_string())?;
        }
        let now = cluster
            .get(&ar, &cfg.namespace, &it.name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the object disappeared")?;
        let now = serde_json::to_value(now).expect("objects serialize");
        if comparable(&now) == comparable(pre) {
            return Ok(());
        }
        let mut obj = now.clone();
        obj["spec"] = pre.get("spec").cloned().unwrap_or(Value::Null);
        obj["metadata"]["labels"] = pre
            .pointer("/metadata/labels")
            .cloned()
            .unwrap_or(Value::Null);
        obj["metadata"]["annotations"] = pre
            .pointer("/metadata/annotations")
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        let obj: kube::api::DynamicObject =
            serde_json::from_value(obj).map_err(|e| e.to_string())?;
        cluster
            .replace(&ar, &cfg.namespace, &obj)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Reads back every write: present and holding what was written (or gone, for deletes).
    async fn verify(
        &self,
        cfg: &FabricConfig,
        cluster: &Cluster,
        items: &mut [Item],
    ) -> Result<(), EngineError> {
        let mut by_kind: BTreeMap<Kind, BTreeSet<String>> = BTreeMap::new();
        for it in items
            .iter()
            .filter(|i| i.is_write() && i.result == ObjectResult::Ok)
        {
            by_kind.entry(it.kind).or_default().insert(it.name.clone());
        }
        let mut live: BTreeMap<(Kind, String), Value> = BTreeMap::new();
        for (kind, names) in &by_kind {
            for (n, v) in self.fetch_full(cfg, cluster, *kind, names, true).await? {
                live.insert((*kind, n), v);
            }
            // Adopted objects carry the label only now; deletes are gone from lists.
        }
        for it in items
            .iter_mut()
            .filter(|i| i.is_write() && i.result == ObjectResult::Ok)
        {
            let got = live.get(&(it.kind, it.name.clone()));
            match it.action {
                Action::Delete => {
                    if let Some(obj) = got
                        && obj.pointer("/metadata/deletionTimestamp").is_none()
                    {
                        return Err(EngineError::Verify {
                            kind: it.kind.kind().into(),
                            name: it.name.clone(),
                            detail: "is still present after its delete".into(),
                        });
                    }
                }
                _ => {
                    let Some(obj) = got else {
                        return Err(EngineError::Verify {
                            kind: it.kind.kind().into(),
                            name: it.name.clone(),
                            detail: "is missing after it was written".into(),
                        });
                    };
                    let desired = it.desired.as_ref().expect("writes have a manifest");
                    if let Some(path) = subset_mismatch(desired, obj) {
                        let as_written = it.written.as_ref().map(comparable);
                        if as_written.as_ref() != Some(&comparable(obj)) {
                            return Err(EngineError::Verify {
                                kind: it.kind.kind().into(),
                                name: it.name.clone(),
                                detail: format!(
                                    "holds {} at {path}, not what was written ({})",
                                    content::at_path(obj, &path)
                                        .map(|v| v.to_string())
                                        .unwrap_or_else(|| "nothing".into()),
                                    content::at_path(desired, &path)
                                        .map(|v| v.to_string())
                                        .unwrap_or_else(|| "nothing".into())
                                ),
                            });
                        }
                    }
                    // The object as it stands is the baseline (its resourceVersion may have
                    // moved if the server wrote status after our apply).
                    it.written = Some(obj.clone());
                }
            }
        }
        Ok(())
    }

    /// What a sync would change now, without writing (server-side dry runs).
    pub async fn preview(&self, fabric: &str) -> Result<Preview, EngineError> {
        let rec = self.store.fabric(fabric)?;
        let cfg = rec.config;
        let nb = self.connector.netbox(&cfg).map_err(EngineError::Netbox)?;
        let cluster = self
            .connector
            .cluster(&cfg)
            .await
            .map_err(EngineError::Cluster)?;
        let snapshot = nb
            .client
            .read_fabric(cfg.site_slug(), cfg.tag.as_deref())
            .await
            .map_err(EngineError::Netbox)?;
        let plan = plan(
            &snapshot,
            &PlanConfig {
                fabric: cfg.name.clone(),
                namespace: cfg.namespace.clone(),
            },
        );
        let findings: Vec<FindingView> = plan.findings.iter().map(FindingView::from).collect();
        if plan.has_fatal() {
            return Ok(Preview {
                fabric: cfg.name.clone(),
                findings,
                changes: Vec::new(),
                unchanged: 0,
            });
        }
        let live = self.observe(&cfg, &cluster).await?;
        let baseline = self.store.observed(&cfg.name)?;
        let items = self
            .diff(&cfg, &cluster, &plan.objects, &live, &baseline)
            .await?;
        let mut changes = Vec::new();
        let mut unchanged = 0;
        for it in &items {
            if it.action == Action::Unchanged {
                unchanged += 1;
                continue;
            }
            let (post, refused) = match self.dry_run(&cfg, &cluster, it, force_for(&cfg, it)).await
            {
                Ok(v) => (v, None),
                Err(e) => (it.desired.clone(), Some(e.to_string())),
            };
            let after = if it.action == Action::Delete {
                None
            } else {
                post.as_ref()
            };
            let label = format!("{}/{}", it.kind.kind(), it.name);
            changes.push(PreviewItem {
                kind: it.kind.kind().to_string(),
                name: it.name.clone(),
                action: it.action,
                reason: match it.action {
                    Action::Create => "new in NetBox".to_string(),
                    _ => it.message.clone().unwrap_or_default(),
                },
                fields: field_changes(it.pre.as_ref(), after),
                unified: unified_diff(&label, it.pre.as_ref(), after),
                refused,
            });
        }
        self.store.status_event(
            &cfg.name,
            &StatusEvent::Previewed {
                differs: !changes.is_empty(),
            },
        )?;
        Ok(Preview {
            fabric: cfg.name,
            findings,
            changes,
            unchanged,
        })
    }
}

/// Whether a write takes fields from other managers: always under policy `force`; for adopted
/// objects (policy `force` only gets them this far); and to repair drift — a field fabsync set
/// and verified, then someone changed by hand (the object still carries the content hash of
/// exactly what fabsync applied), is fabsync's to put back. A field fabsync never set that
/// another manager owns stays a conflict under the policy.
fn force_for(cfg: &FabricConfig, it: &Item) -> bool {
    cfg.conflict_policy == ConflictPolicy::Force || it.adopt || it.drift
}

/// Whether a NetBox change can affect a fabric (fabsync's own site custom-field updates and
/// journal entries cannot).
fn is_relevant(c: &ObjectChange) -> bool {
    if !RELEVANT_TYPES.contains(&c.changed_object_type.as_str()) {
        return false;
    }
    if c.changed_object_type == "dcim.site"
        && let (Some(pre), Some(post)) = (&c.prechange_data, &c.postchange_data)
    {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(cf) = v.get_mut("custom_fields").and_then(Value::as_object_mut) {
                cf.remove("fabsync_status");
                cf.remove("fabsync_last_sync");
            }
            if let Some(m) = v.as_object_mut() {
                m.remove("last_updated");
            }
            v
        };
        return strip(pre) != strip(post);
    }
    true
}

/// Whether the cluster's owned objects are exactly the baseline (same names and versions).
fn baseline_matches(
    baseline: &[ObservedObject],
    live: &BTreeMap<(Kind, String), LiveMeta>,
    fabric: &str,
) -> bool {
    let owned = live
        .values()
        .filter(|l| l.fabric.as_deref() == Some(fabric))
        .count();
    owned == baseline.len()
        && baseline.iter().all(|o| {
            Kind::from_kind(&o.kind).is_some_and(|kind| {
                live.get(&(kind, o.name.clone())).is_some_and(|l| {
                    l.rv == o.resource_version && l.fabric.as_deref() == Some(fabric)
                })
            })
        })
}

/// Removes what the server sets, so a pre-image can be created again.
fn strip_server_fields(obj: &mut Value) {
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            m.remove(k);
        }
    }
    if let Some(m) = obj.as_object_mut() {
        m.remove("status");
    }
}

impl RunReport {
    /// The scheduler's view of this report.
    pub fn outcome(&self) -> RunOutcome {
        RunOutcome {
            run_id: Some(self.run_id),
            phase: self.phase,
            transient: self.error.as_ref().is_some_and(EngineError::is_transient),
            message: match &self.error {
                None => self.end.message.clone().unwrap_or_default(),
                Some(e) => e.to_string(),
            },
        }
    }
}

/// The engine as the scheduler's runner.
impl crate::scheduler::Runner for Engine {
    fn run(&self, req: crate::scheduler::RunRequest) -> crate::scheduler::BoxFuture<RunOutcome> {
        let engine = self.clone();
        Box::pin(async move {
            let params = RunParams {
                fabric: req.fabric,
                trigger: req.trigger,
                task_id: Some(req.task_id),
                attempt: req.attempt,
                holder: Some(req.holder),
                fence: req.fence,
            };
            match engine.run(params).await {
                Ok(report) => report.outcome(),
                Err(e) => RunOutcome {
                    run_id: None,
                    phase: Phase::Failure,
                    transient: e.is_transient(),
                    message: e.to_string(),
                },
            }
        })
    }
}
