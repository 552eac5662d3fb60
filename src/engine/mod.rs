//! One sync run, done properly, as explicit stages: change check and read ([`read`]) → plan →
//! observe and diff ([`diff`]) → preflight and staged apply ([`apply`], with [`rollback`]) →
//! verify and record the baseline ([`verify`]) → the run's summary and its NetBox record
//! ([`summary`]). [`run`] sequences the stages for one run; [`preview`] is what a run would
//! change, field by field, behind `fabsync diff` and the UI's "Preview changes".
//!
//! It does not decide when runs happen (the scheduler does; `crate::service` wires the two) and
//! knows no wire format (the `netbox` and `cluster` modules do).

mod apply;
pub mod connector;
pub mod content;
mod diff;
mod error;
pub mod guard;
mod lock;
mod preview;
mod read;
mod rollback;
mod run;
mod summary;
mod verify;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::clock::{SharedClock, whole_seconds};
use crate::hedgehog::Kind;
use crate::netbox::Snapshot;
use crate::plan::{DesiredObject, Finding};
use crate::scheduler::Fence;
use crate::store::{Counts, Phase, RunEnd, RunObject, Store, Trigger};
pub use connector::{Connector, NetboxConn, RealConnector};
pub use error::EngineError;
pub use lock::LOCK_TTL;
pub use preview::{FindingView, Preview, PreviewItem};

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
    /// Deletions a person approved (`u64::MAX`: any number): a run holding at most this many
    /// deletions goes ahead. Periodic runs carry none.
    pub approve_deletes: Option<u64>,
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
            approve_deletes: None,
        }
    }

    /// The same run, approving up to `n` deletions the deletion guard would hold.
    pub fn approving(mut self, n: Option<u64>) -> Self {
        self.approve_deletes = n;
        self
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

/// Called with (run id, step) as a run moves through its steps.
pub type ProgressFn = Arc<dyn Fn(i64, &str) + Send + Sync>;

/// A fabric's last NetBox snapshot, kept for the next run to bring up to date from the change
/// log instead of reading everything again.
struct CachedSnapshot {
    /// NetBox URL, site slug and tag it was read with.
    source: SnapshotSource,
    /// The latest NetBox change read before it was read.
    cursor: crate::netbox::changes::LogPosition,
    snapshot: Snapshot,
}

/// Where a snapshot was read from: NetBox URL, site slug and tag.
type SnapshotSource = (String, String, Option<String>);

/// Per kind, by name: a desired object and its content hash.
type DesiredHashes = BTreeMap<Kind, HashMap<String, (DesiredObject, String)>>;

/// The sync engine.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    clock: SharedClock,
    connector: Arc<dyn Connector>,
    progress: Option<ProgressFn>,
    snapshots: Arc<Mutex<BTreeMap<String, CachedSnapshot>>>,
    /// Per fabric: the last run's desired objects with their content hashes.
    hashes: Arc<Mutex<BTreeMap<String, DesiredHashes>>>,
    /// Who this engine is when it takes a fabric's lock without a replica name (the CLI).
    owner: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Engine")
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
            owner: format!("fabsync pid {}", std::process::id()),
        }
    }

    /// Names this engine in fabric locks when runs carry no replica name (`fabsync sync`).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
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

    /// Now, to the second (as the store keeps it).
    fn now(&self) -> jiff::Timestamp {
        whole_seconds(self.clock.now())
    }
}
