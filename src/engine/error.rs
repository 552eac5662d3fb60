//! Why a run failed: one error type for the engine, keeping the NetBox, cluster and store errors
//! it wraps, with the classification records and metrics use (`kind`), whether retrying may help
//! (`is_transient`), and which connection state a failure says something about.
//!
//! Messages are built by the functions below, not in attributes. It does not record anything.

use std::sync::Arc;

use super::guard::HeldDeletes;
use crate::cluster::{ClusterError, FieldConflict};
use crate::netbox::NetboxError;
use crate::plan::{Finding, LABEL_FABRIC, Severity};
use crate::store::{ConnectionState, RunStep, StoreError};

/// Why a run failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The store failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// NetBox failed.
    #[error(transparent)]
    Netbox(#[from] NetboxError),
    /// The cluster failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// NetBox data the plan cannot turn into valid objects; nothing was written.
    #[error("{}", invalid_data_message(.0))]
    InvalidData(Vec<Finding>),
    /// Fields owned by other managers (policy `fail`); nothing was written.
    #[error("{}", conflicts_message(.0))]
    Conflicts(Vec<ObjectConflicts>),
    /// Objects with fabsync's names exist but belong to someone else (policy `fail`).
    #[error("{}", foreign_message(.fabric, .objects))]
    Foreign {
        /// The fabric whose label they lack.
        fabric: String,
        /// `Kind/name` of each.
        objects: Vec<String>,
    },
    /// Deletions over the fabric's budget (or with nothing in NetBox) await a person's approval;
    /// nothing was written.
    #[error("{0}")]
    Held(HeldDeletes),
    /// The run took longer than its deadline.
    #[error("deadline exceeded: the run did not finish within {secs} s (in step {step})")]
    Deadline {
        /// The deadline.
        secs: u64,
        /// Where it stopped.
        step: RunStep,
    },
    /// This replica lost the fabric's lease.
    #[error("this fabsync replica lost the fabric's lease during the run; it stopped writing")]
    Fenced,
    /// Another process is syncing the fabric (it holds the fabric's lock in the store).
    #[error("{}", busy_message(.fabric, .owner, .since, *.run_id))]
    Busy {
        /// The fabric.
        fabric: String,
        /// Who holds it.
        owner: String,
        /// Since when.
        since: String,
        /// Its run, when recorded.
        run_id: Option<i64>,
    },
    /// This process lost the fabric's lock in the store during the run (it could not renew it
    /// in time, and another process took the fabric).
    #[error(
        "this fabsync process lost the fabric's lock during the run (it could not renew it in time); it stopped writing"
    )]
    LockLost,
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
        #[source]
        cause: Box<EngineError>,
        /// Writes undone.
        restored: usize,
    },
    /// Rollback itself failed: these objects are in an unknown state.
    #[error("{cause} — rollback FAILED: {} object(s) left in an unknown state: {}", .unknown.len(), .unknown.join(", "))]
    RollbackFailed {
        /// The failure.
        #[source]
        cause: Box<EngineError>,
        /// `Kind/name` of each object left in an unknown state.
        unknown: Vec<String>,
    },
}

/// One object's fields owned by other managers: kind, name, the conflicts.
pub type ObjectConflicts = (String, String, Vec<FieldConflict>);

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        EngineError::Store(Arc::new(e))
    }
}

fn fatal_count(findings: &[Finding]) -> usize {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal)
        .count()
}

fn invalid_data_message(findings: &[Finding]) -> String {
    let n = fatal_count(findings);
    let first: Vec<String> = findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal)
        .take(5)
        .map(|f| f.to_string())
        .collect();
    format!(
        "NetBox data is invalid ({n} fatal finding{}); nothing was written. {}. Fix the data in NetBox and sync again.",
        if n == 1 { "" } else { "s" },
        first.join("; ")
    )
}

fn conflicts_message(conflicts: &[ObjectConflicts]) -> String {
    let each: Vec<String> = conflicts
        .iter()
        .map(|(k, n, c)| {
            let fields: Vec<String> = c
                .iter()
                .map(|c| format!("{} is owned by {:?}", c.field, c.manager))
                .collect();
            format!("{k} {n:?}: {}", fields.join(", "))
        })
        .collect();
    format!(
        "field-manager conflict; nothing was written: {}. Set the fabric's conflict policy to force or skip, or remove the other manager's fields.",
        each.join("; ")
    )
}

fn busy_message(fabric: &str, owner: &str, since: &str, run_id: Option<i64>) -> String {
    let run = run_id.map(|r| format!(" (run {r})")).unwrap_or_default();
    format!(
        "fabric {fabric:?} is being synced by {owner} since {since}{run}; only one run per fabric at a time: wait for it to end, or look at it with `fabsync runs {fabric}`"
    )
}

fn foreign_message(fabric: &str, objects: &[String]) -> String {
    format!(
        "{} object(s) already exist in the cluster without fabsync's label {LABEL_FABRIC}={fabric} (created by someone else): {}; nothing was written. Delete them, or set the conflict policy to force to adopt them or skip to leave them alone.",
        objects.len(),
        objects.join(", ")
    )
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
            Self::Held(_) => "deletions_held",
            Self::Conflicts(_) => "conflict",
            Self::Foreign { .. } => "conflict",
            Self::Deadline { .. } => "deadline_exceeded",
            Self::Fenced => "lease_lost",
            Self::Busy { .. } => "busy",
            Self::LockLost => "lock_lost",
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
            Self::Busy { .. } => true,
            Self::RolledBack { cause, .. } => cause.is_transient(),
            _ => false,
        }
    }

    /// Whether a write that failed this way may still have taken effect in the cluster.
    pub fn may_have_applied(&self) -> bool {
        matches!(self, Self::Cluster(e) if e.may_have_applied())
    }

    /// The one-word outcome a failed run records ("rolled back", "invalid NetBox data", …).
    pub fn short(&self) -> &'static str {
        match self {
            Self::RolledBack { .. } => "rolled back",
            Self::RollbackFailed { .. } => "rollback failed",
            Self::InvalidData(_) => "invalid NetBox data",
            Self::Held(_) => "held",
            Self::Deadline { .. } => "deadline exceeded",
            _ => "failed",
        }
    }

    /// What this failure says about the NetBox and cluster connections.
    pub fn connection_states(&self) -> (Option<ConnectionState>, Option<ConnectionState>) {
        match self {
            Self::Netbox(NetboxError::Unreachable { .. }) => {
                (Some(ConnectionState::Unreachable), None)
            }
            Self::Netbox(NetboxError::Server { status: 429, .. }) => {
                (Some(ConnectionState::Throttled), None)
            }
            Self::Netbox(NetboxError::Server { .. }) => (Some(ConnectionState::ServerError), None),
            Self::Netbox(NetboxError::Unauthorized { .. }) => {
                (Some(ConnectionState::Unauthorized), None)
            }
            Self::Cluster(ClusterError::Unreachable { .. })
            | Self::Cluster(ClusterError::Tls { .. })
            | Self::Cluster(ClusterError::Timeout { .. }) => {
                (None, Some(ConnectionState::Unreachable))
            }
            Self::Cluster(ClusterError::Throttled { .. }) => {
                (None, Some(ConnectionState::Throttled))
            }
            Self::Cluster(ClusterError::Server { .. }) => {
                (None, Some(ConnectionState::ServerError))
            }
            Self::Cluster(ClusterError::Unauthorized { .. }) => {
                (None, Some(ConnectionState::Unauthorized))
            }
            Self::RolledBack { cause, .. } | Self::RollbackFailed { cause, .. } => {
                cause.connection_states()
            }
            _ => (None, None),
        }
    }
}
