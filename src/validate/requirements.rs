//! The registry of what "sync works" means: every requirement `fabsync validate` must prove, by
//! category, with a stable id. A requirement is PROVEN only by a passing workflow step that names
//! it; NOT COVERED fails the run like FAILED does.
//!
//! Data only; proving happens in the workflows.

use serde::Serialize;

/// Requirement categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A person clicks Sync Now.
    ManualSync,
    /// Runs nobody asked for.
    PeriodicSync,
    /// Things going wrong.
    ErrorHandling,
    /// The cluster says what NetBox says.
    DataIntegrity,
    /// Fast enough, big enough, polite enough.
    Performance,
    /// What the run leaves behind.
    Evidence,
}

impl Category {
    /// Display name.
    pub fn title(self) -> &'static str {
        match self {
            Self::ManualSync => "Manual sync",
            Self::PeriodicSync => "Periodic sync",
            Self::ErrorHandling => "Error handling",
            Self::DataIntegrity => "Data integrity",
            Self::Performance => "Performance",
            Self::Evidence => "Evidence",
        }
    }
}

/// One requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Requirement {
    /// Stable id (`MS-1`).
    pub id: &'static str,
    /// What must hold.
    pub title: &'static str,
    /// Category.
    pub category: Category,
}

const fn req(id: &'static str, category: Category, title: &'static str) -> Requirement {
    Requirement {
        id,
        title,
        category,
    }
}

use Category::*;

/// Every requirement, in report order.
pub const REQUIREMENTS: &[Requirement] = &[
    req(
        "MS-1",
        ManualSync,
        "The Sync Now button on the fabric page is a form POST with a CSRF token that the server accepts (user action through the real HTTP layer)",
    ),
    req(
        "MS-2",
        ManualSync,
        "The click creates a task that moves PENDING → STARTED → SUCCESS and produces a run record",
    ),
    req(
        "MS-3",
        ManualSync,
        "Data flows: every Hedgehog object NetBox implies exists in the cluster after the run",
    ),
    req(
        "MS-4",
        ManualSync,
        "The fabric status becomes in_sync only after a verified run",
    ),
    req(
        "MS-5",
        ManualSync,
        "The page tells the user the outcome (success message with counts)",
    ),
    req(
        "MS-6",
        ManualSync,
        "Cluster contents equal what an independent check derives from NetBox",
    ),
    req(
        "PS-1",
        PeriodicSync,
        "The scheduler triggers runs on the fabric's interval without anyone asking",
    ),
    req(
        "PS-2",
        PeriodicSync,
        "A periodic run detects a NetBox change through the change log",
    ),
    req(
        "PS-3",
        PeriodicSync,
        "A periodic run applies the detected change automatically",
    ),
    req(
        "PS-4",
        PeriodicSync,
        "After periodic runs the cluster is consistent with NetBox",
    ),
    req(
        "PS-5",
        PeriodicSync,
        "Transient failures are retried with backoff and recover",
    ),
    req(
        "PS-6",
        PeriodicSync,
        "Status and run history reflect periodic runs",
    ),
    req(
        "EH-1",
        ErrorHandling,
        "An unreachable cluster fails the run with a message naming the cluster, and the next run recovers",
    ),
    req(
        "EH-2",
        ErrorHandling,
        "Refused credentials fail the run naming the system, and no secret appears in any message",
    ),
    req(
        "EH-3",
        ErrorHandling,
        "A field owned by another field manager is reported with the field and the manager",
    ),
    req(
        "EH-4",
        ErrorHandling,
        "A write failing after others succeeded rolls back: the cluster is identical to before",
    ),
    req(
        "EH-5",
        ErrorHandling,
        "The user sees an error message saying what failed and what to do",
    ),
    req(
        "EH-6",
        ErrorHandling,
        "Failures never leave a fabric stuck in syncing; a run interrupted by a process death is closed and recovered",
    ),
    req(
        "DI-1",
        DataIntegrity,
        "Names, roles, descriptions and endpoints in the cluster match NetBox",
    ),
    req(
        "DI-2",
        DataIntegrity,
        "Relationships are preserved: every connection references existing switches, servers and ports",
    ),
    req(
        "DI-3",
        DataIntegrity,
        "Incremental: one NetBox edit causes exactly one write; every other object's resourceVersion is unchanged",
    ),
    req(
        "DI-4",
        DataIntegrity,
        "An oracle independent of the planner agrees with the cluster (cross-validation)",
    ),
    req(
        "DI-5",
        DataIntegrity,
        "Atomicity: invalid NetBox data writes nothing and the message names the NetBox object and field",
    ),
    req(
        "DI-6",
        DataIntegrity,
        "Audit trail: every write is in the audit log and every run in the NetBox journal",
    ),
    req(
        "DI-7",
        DataIntegrity,
        "Every Hedgehog kind fabsync plans flows from NetBox to the cluster",
    ),
    req(
        "DI-8",
        DataIntegrity,
        "Hand edits in the cluster are detected and repaired, and reported as drift",
    ),
    req(
        "DI-9",
        DataIntegrity,
        "Objects fabsync does not own are never touched",
    ),
    req(
        "PF-1",
        Performance,
        "A manual sync finishes well within 5 minutes",
    ),
    req(
        "PF-2",
        Performance,
        "A periodic run with no changes makes no writes and no full NetBox read",
    ),
    req(
        "PF-3",
        Performance,
        "Manual and periodic runs of one fabric never overlap and corrupt nothing",
    ),
    req(
        "PF-4",
        Performance,
        "A large fabric syncs within the 5-minute bound",
    ),
    req(
        "PF-5",
        Performance,
        "Memory stays bounded while syncing a large fabric",
    ),
    req(
        "PF-6",
        Performance,
        "Rate limits: 429 + Retry-After is honoured and the client-side QPS budget is never exceeded",
    ),
    req(
        "PF-7",
        Performance,
        "NetBox being unavailable leaves the cluster untouched",
    ),
    req(
        "EV-1",
        Evidence,
        "Every request to either system is recorded with tokens redacted",
    ),
    req(
        "EV-2",
        Evidence,
        "Every workflow leaves before/after snapshots of NetBox and the cluster with a readable diff",
    ),
];

/// Looks a requirement up by id.
pub fn requirement(id: &str) -> Option<&'static Requirement> {
    REQUIREMENTS.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let mut ids: Vec<&str> = REQUIREMENTS.iter().map(|r| r.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
