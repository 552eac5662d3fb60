//! The records the store keeps and the closed enums they use (status, phase, trigger, …).
//!
//! Plain data with string forms for SQLite, the UI and the API; times are [`Timestamp`]s that
//! serialize as [`format_ts`] writes them. The transitions of the fabric status live in
//! [`next_status`], the only place that decides a fabric's status. Nothing here touches the
//! database.

use jiff::Timestamp;
use serde::{Deserialize, Serialize, Serializer};

use crate::clock::format_ts;

/// Serializes a [`Timestamp`] as stored and shown: [`format_ts`] (RFC 3339, whole seconds, `Z`).
pub(crate) mod ts {
    use super::*;

    /// `#[serde(with = "ts")]`.
    pub(crate) fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ts(*t))
    }
}

/// Serializes an optional [`Timestamp`] as [`ts`] does, or `null`.
pub(crate) mod opt_ts {
    use super::*;

    /// `#[serde(with = "opt_ts")]`.
    pub(crate) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&format_ts(*t)),
            None => s.serialize_none(),
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $variant),+ }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The stored and displayed form.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            /// Parses the stored form.
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum! {
    /// A fabric's sync status (DESIGN.md: one closed enum).
    FabricStatus {
        /// No run has finished yet.
        NeverSynced => "never_synced",
        /// A run is in progress.
        Syncing => "syncing",
        /// The last run wrote and verified everything NetBox says.
        InSync => "in_sync",
        /// The cluster differs from NetBox (seen by a preview, or objects were skipped).
        OutOfSync => "out_of_sync",
        /// The last run failed.
        Error => "error",
        /// The last run found more deletions than the fabric allows without approval and wrote
        /// nothing: a person must approve them (or fix NetBox).
        Held => "held",
    }
}

string_enum! {
    /// Task and run phase, with Celery's names.
    Phase {
        /// Queued, not started.
        Pending => "PENDING",
        /// Running.
        Started => "STARTED",
        /// Finished successfully.
        Success => "SUCCESS",
        /// Finished with an error.
        Failure => "FAILURE",
        /// Failed transiently; another attempt is scheduled.
        Retry => "RETRY",
    }
}

impl Phase {
    /// Whether nothing more will happen to a task or run in this phase.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Success | Phase::Failure)
    }
}

string_enum! {
    /// Why a run happened.
    Trigger {
        /// A person (UI button, API, CLI).
        Manual => "manual",
        /// The fabric's interval elapsed.
        Periodic => "periodic",
        /// Backoff after a transient failure.
        Retry => "retry",
        /// Start-up found the fabric overdue.
        Catchup => "catchup",
    }
}

string_enum! {
    /// Reachability of one system (NetBox or the cluster) as last seen by a run.
    ConnectionState {
        /// Not contacted yet.
        Unknown => "unknown",
        /// The last contact worked.
        Connected => "connected",
        /// The last contact failed at the network or TLS level, or with 5xx.
        Unreachable => "unreachable",
        /// The credentials were refused (401/403).
        Unauthorized => "unauthorized",
        /// Reachable, but it answered with a server error (5xx).
        ServerError => "server_error",
        /// Reachable, but it asked fabsync to slow down (429).
        Throttled => "throttled",
    }
}

string_enum! {
    /// The stage a run is in, or ended in.
    #[derive(Default)]
    RunStep {
        /// Recorded, nothing asked yet.
        #[default]
        Start => "start",
        /// Periodic runs: NetBox's change log and the cluster's metadata against the baseline.
        ChangeCheck => "change-check",
        /// Reading the fabric from NetBox.
        Read => "read",
        /// Turning the snapshot into desired objects and findings.
        Plan => "plan",
        /// Listing what the cluster holds.
        Observe => "observe",
        /// Deciding what to create, update and delete.
        Diff => "diff",
        /// Server-side dry run of every write.
        Preflight => "preflight",
        /// Writing, stage by stage.
        Apply => "apply",
        /// Undoing the writes of a failed apply.
        Rollback => "rollback",
        /// Reading back what was written.
        Verify => "verify",
        /// Storing the baseline and the change cursor.
        Record => "record",
    }
}

string_enum! {
    /// What a run does to one object.
    Action {
        /// The object is new.
        Create => "create",
        /// Owned content differs.
        Update => "update",
        /// NetBox no longer has it.
        Delete => "delete",
        /// Nothing to do.
        Unchanged => "unchanged",
    }
}

string_enum! {
    /// How one object's write ended.
    ObjectResult {
        /// Written (or confirmed unchanged) and verified.
        Ok => "ok",
        /// The write was refused or failed.
        Failed => "failed",
        /// Written, then restored to its pre-image by rollback.
        RolledBack => "rolled_back",
        /// State unknown: its write or its rollback failed midway.
        Unknown => "unknown",
        /// Left alone (conflict policy `skip`, or prune `off` for a delete).
        Skipped => "skipped",
        /// Not written: the run stopped before it (a failed preflight or an earlier write, held
        /// deletions, a lost lease).
        NotApplied => "not_applied",
    }
}

/// Per-kind-independent counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Objects created.
    pub created: u64,
    /// Objects updated.
    pub updated: u64,
    /// Objects deleted.
    pub deleted: u64,
    /// Objects already equal.
    pub unchanged: u64,
    /// Objects whose write failed.
    pub failed: u64,
    /// Objects skipped.
    pub skipped: u64,
}

/// A fabric row: its settings (as JSON of [`crate::config::FabricConfig`]) and its state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FabricRecord {
    /// Fabric name.
    pub name: String,
    /// Settings.
    pub config: crate::config::FabricConfig,
    /// Sync status.
    pub status: FabricStatus,
    /// NetBox reachability.
    pub netbox_state: ConnectionState,
    /// Cluster reachability.
    pub cluster_state: ConnectionState,
    /// The last run (any result).
    pub last_run_id: Option<i64>,
    /// When the last successful run finished.
    #[serde(with = "opt_ts")]
    pub last_success_at: Option<Timestamp>,
    /// When the last run finished.
    #[serde(with = "opt_ts")]
    pub last_finished_at: Option<Timestamp>,
    /// The last run's error, in full; empty after a success.
    pub last_error: Option<String>,
    /// When the scheduler will run it next.
    #[serde(with = "opt_ts")]
    pub next_run_at: Option<Timestamp>,
    /// Objects fabsync owns in the cluster after the last successful run.
    pub object_count: Option<u64>,
}

/// A task: a request for a run, tracked like a Celery task.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskRecord {
    /// Task id (UUID).
    pub id: String,
    /// Fabric.
    pub fabric: String,
    /// Why.
    pub trigger: Trigger,
    /// Celery state.
    pub state: Phase,
    /// Attempt number of the latest run (1-based; 0 before the first).
    pub attempts: u32,
    /// When it was requested.
    #[serde(with = "ts")]
    pub created_at: Timestamp,
    /// When its first run started.
    #[serde(with = "opt_ts")]
    pub started_at: Option<Timestamp>,
    /// When it reached a final state.
    #[serde(with = "opt_ts")]
    pub finished_at: Option<Timestamp>,
    /// The latest run it produced.
    pub run_id: Option<i64>,
    /// One line: outcome or error.
    pub message: Option<String>,
    /// When a RETRY task runs again.
    #[serde(with = "opt_ts")]
    pub retry_at: Option<Timestamp>,
}

/// One sync run: who started it and when, and how it ended (or where it is, while it runs).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Run id.
    pub id: i64,
    /// Fabric.
    pub fabric: String,
    /// The task it belongs to.
    pub task_id: Option<String>,
    /// Why it ran.
    pub trigger: Trigger,
    /// Attempt number within its task.
    pub attempt: u32,
    /// Start time.
    pub started_at: Timestamp,
    /// Which fabsync replica ran it.
    pub holder: Option<String>,
    /// Its phase, step and results so far (final once the phase is).
    pub end: RunEnd,
}

/// The fields a run reports when it ends (and, while it runs, its phase and step so far).
#[derive(Debug, Clone, PartialEq)]
pub struct RunEnd {
    /// SUCCESS or FAILURE (or RETRY when another attempt follows); STARTED while it runs.
    pub phase: Phase,
    /// The step it is in or ended in.
    pub step: RunStep,
    /// End time.
    pub finished_at: Option<Timestamp>,
    /// Duration in milliseconds (monotonic clock).
    pub duration_ms: Option<u64>,
    /// Object counts.
    pub counts: Counts,
    /// Requests sent to the cluster.
    pub cluster_calls: u64,
    /// Requests sent to NetBox.
    pub netbox_calls: u64,
    /// Cluster writes that took effect (not dry-run).
    pub writes: u64,
    /// Objects changed in the cluster by someone else (repaired).
    pub drift: u64,
    /// One-line outcome ("synced", "no changes", "rolled back", …).
    pub message: Option<String>,
    /// Error class (`cluster_unreachable`, `netbox_unauthorized`, `invalid_data`, …).
    pub error_kind: Option<String>,
    /// Full error text.
    pub error: Option<String>,
}

/// A run's JSON: one flat object, keys in the order the API has always had.
impl Serialize for RunRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            id: i64,
            fabric: &'a str,
            task_id: Option<&'a str>,
            trigger: Trigger,
            attempt: u32,
            phase: Phase,
            step: RunStep,
            #[serde(with = "ts")]
            started_at: Timestamp,
            #[serde(with = "opt_ts")]
            finished_at: Option<Timestamp>,
            duration_ms: Option<u64>,
            counts: &'a Counts,
            cluster_calls: u64,
            netbox_calls: u64,
            writes: u64,
            drift: u64,
            message: Option<&'a str>,
            error_kind: Option<&'a str>,
            error: Option<&'a str>,
            holder: Option<&'a str>,
        }
        let e = &self.end;
        Flat {
            id: self.id,
            fabric: &self.fabric,
            task_id: self.task_id.as_deref(),
            trigger: self.trigger,
            attempt: self.attempt,
            phase: e.phase,
            step: e.step,
            started_at: self.started_at,
            finished_at: e.finished_at,
            duration_ms: e.duration_ms,
            counts: &e.counts,
            cluster_calls: e.cluster_calls,
            netbox_calls: e.netbox_calls,
            writes: e.writes,
            drift: e.drift,
            message: e.message.as_deref(),
            error_kind: e.error_kind.as_deref(),
            error: e.error.as_deref(),
            holder: self.holder.as_deref(),
        }
        .serialize(s)
    }
}

/// One object's result in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunObject {
    /// Kind (`Switch`).
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Planned action.
    pub action: Action,
    /// Result.
    pub result: ObjectResult,
    /// Detail (error text, conflict, drift).
    pub message: Option<String>,
}

/// One write to the cluster (audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Entry id.
    pub id: i64,
    /// The run that wrote.
    pub run_id: i64,
    /// When.
    #[serde(with = "ts")]
    pub time: Timestamp,
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `apply`, `delete`, `restore`, `rollback-delete`.
    pub verb: String,
    /// Content hash before (none when it did not exist).
    pub before_hash: Option<String>,
    /// Content hash after (none when deleted).
    pub after_hash: Option<String>,
    /// resourceVersion after the write.
    pub resource_version: Option<String>,
}

/// Where a fabric is in NetBox's change log: the newest change id its last verified run saw,
/// and that record's fingerprint (absent for cursors stored before fingerprints were kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeCursor {
    /// The change id.
    pub id: i64,
    /// The fingerprint of the record at that id.
    pub fingerprint: Option<String>,
}

/// What fabsync last wrote and verified for one object: the baseline for change detection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObservedObject {
    /// Kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// resourceVersion after the verified write.
    pub resource_version: String,
    /// Content hash of the owned content.
    pub content_hash: String,
}

/// Events that move a fabric's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEvent {
    /// A run started.
    RunStarted,
    /// A run finished, everything written and verified.
    RunVerified,
    /// A run finished but left objects out (skipped on conflict).
    RunPartial,
    /// A run failed (or was interrupted).
    RunFailed,
    /// A run found deletions over the fabric's budget and wrote nothing.
    RunHeld,
    /// A preview found differences (`true`) or none (`false`) without writing.
    Previewed {
        /// Whether the cluster differs from NetBox.
        differs: bool,
    },
}

/// The one function that decides a fabric's next status.
pub fn next_status(current: FabricStatus, event: &StatusEvent) -> FabricStatus {
    match event {
        StatusEvent::RunStarted => FabricStatus::Syncing,
        StatusEvent::RunVerified => FabricStatus::InSync,
        StatusEvent::RunPartial => FabricStatus::OutOfSync,
        StatusEvent::RunFailed => FabricStatus::Error,
        StatusEvent::RunHeld => FabricStatus::Held,
        StatusEvent::Previewed { differs } => match (current, differs) {
            // A preview never claims in_sync: only a verified run may.
            (FabricStatus::InSync, true) => FabricStatus::OutOfSync,
            (current, _) => current,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_run_gives_in_sync() {
        for &s in FabricStatus::ALL {
            for e in [
                StatusEvent::RunStarted,
                StatusEvent::RunPartial,
                StatusEvent::RunFailed,
                StatusEvent::Previewed { differs: true },
                StatusEvent::Previewed { differs: false },
            ] {
                let next = next_status(s, &e);
                assert!(
                    next != FabricStatus::InSync || s == FabricStatus::InSync,
                    "{s} --{e:?}--> in_sync"
                );
            }
            assert_eq!(
                next_status(s, &StatusEvent::RunVerified),
                FabricStatus::InSync
            );
        }
    }

    /// The JSON of a run: the keys and their order the API always had, times to the second.
    #[test]
    fn a_run_serializes_flat_in_its_historic_key_order() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let run = RunRecord {
            id: 7,
            fabric: "dc1".into(),
            task_id: Some("t1".into()),
            trigger: Trigger::Manual,
            attempt: 2,
            started_at: at("2026-01-01T00:00:00.750Z"),
            holder: Some("serve-1".into()),
            end: RunEnd {
                phase: Phase::Success,
                step: RunStep::Record,
                finished_at: Some(at("2026-01-01T00:00:05Z")),
                duration_ms: Some(5000),
                counts: Counts {
                    created: 1,
                    updated: 2,
                    deleted: 3,
                    unchanged: 4,
                    failed: 0,
                    skipped: 5,
                },
                cluster_calls: 9,
                netbox_calls: 8,
                writes: 6,
                drift: 1,
                message: Some("synced".into()),
                error_kind: None,
                error: None,
            },
        };
        assert_eq!(
            serde_json::to_string(&run).unwrap(),
            concat!(
                r#"{"id":7,"fabric":"dc1","task_id":"t1","trigger":"manual","attempt":2,"#,
                r#""phase":"SUCCESS","step":"record","started_at":"2026-01-01T00:00:00Z","#,
                r#""finished_at":"2026-01-01T00:00:05Z","duration_ms":5000,"#,
                r#""counts":{"created":1,"updated":2,"deleted":3,"unchanged":4,"failed":0,"skipped":5},"#,
                r#""cluster_calls":9,"netbox_calls":8,"writes":6,"drift":1,"message":"synced","#,
                r#""error_kind":null,"error":null,"holder":"serve-1"}"#
            )
        );
        // Flattened into another object (the API's run and task views), the same keys follow.
        #[derive(Serialize)]
        struct View<'a> {
            #[serde(flatten)]
            run: &'a RunRecord,
            api_calls: u64,
        }
        let mut running = run.clone();
        running.end.finished_at = None;
        running.end.duration_ms = None;
        let view = serde_json::to_value(View {
            run: &running,
            api_calls: 17,
        })
        .unwrap();
        let keys: Vec<&str> = view
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "fabric",
                "task_id",
                "trigger",
                "attempt",
                "phase",
                "step",
                "started_at",
                "finished_at",
                "duration_ms",
                "counts",
                "cluster_calls",
                "netbox_calls",
                "writes",
                "drift",
                "message",
                "error_kind",
                "error",
                "holder",
                "api_calls"
            ]
        );
        assert_eq!(view["finished_at"], serde_json::Value::Null);
        assert_eq!(view["started_at"], "2026-01-01T00:00:00Z");
    }

    #[test]
    fn string_forms_round_trip() {
        for &p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        assert_eq!(FabricStatus::parse("in_sync"), Some(FabricStatus::InSync));
        assert_eq!(FabricStatus::parse("synced"), None);
    }
}
