//! The workflows: each a business goal for one kind of user, as ordered steps with an action, an
//! expected result, a check, and the requirements it proves. They drive fabsync only through
//! the entry points people use (the fabric page's Sync Now form, the JSON API, the scheduler)
//! and judge the result through NetBox's and the cluster's APIs and fabsync's records.
//!
//! Every workflow runs on any target: it uses `Env`'s interface, and a fault the target cannot
//! be given makes the step that needs it "not provable" (its requirement stays NOT COVERED, with
//! the reason). Waits are polls with a deadline — virtual seconds in the simulation, real ones on
//! a real target — and periodic timings follow the fabric's configured interval (60 s simulated,
//! the 5 s minimum on a real target).
//!
//! This file holds the definitions and runs a workflow by id; the workflows are in one file per
//! family (`manual`, `periodic`, `data`, `faults`, `perf`), over the helpers of `common.rs`.

mod common;
mod data;
mod faults;
mod manual;
mod perf;
mod periodic;

use common::R;

use crate::config::ConflictPolicy;
use crate::validate::cx::{Cx, Stop};
use crate::validate::model::UserType;

/// How a workflow's world is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fabric {
    /// The VLAB fixture.
    Vlab,
    /// The scale chosen on the command line (`large` or `xlarge`).
    Scale,
}

/// A workflow's definition.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Stable id.
    pub id: &'static str,
    /// The business goal.
    pub goal: &'static str,
    /// Who it serves.
    pub user: UserType,
    /// Periodic interval (None: periodic sync off).
    pub periodic: Option<u64>,
    /// Which fabric.
    pub fabric: Fabric,
    /// Conflict policy.
    pub policy: ConflictPolicy,
}

const fn def(id: &'static str, user: UserType, goal: &'static str) -> Def {
    Def {
        id,
        goal,
        user,
        periodic: None,
        fabric: Fabric::Vlab,
        policy: ConflictPolicy::Fail,
    }
}

const fn periodic(mut d: Def, secs: u64) -> Def {
    d.periodic = Some(secs);
    d
}

use UserType::*;

/// Every workflow, in run order.
pub const WORKFLOWS: &[Def] = &[
    def(
        "manual-sync",
        NetworkEngineer,
        "Click Sync Now and see the fabric in the cluster, verified",
    ),
    def(
        "manual-sync-after-netbox-edits",
        NetworkEngineer,
        "Rename, add and remove devices in NetBox, click Sync Now, and see the cluster follow",
    ),
    def(
        "cluster-unreachable-then-recovery",
        Operator,
        "The cluster goes away during a sync; the user is told what failed and what to do; the next sync recovers",
    ),
    periodic(
        def(
            "periodic-sync-on-interval",
            Automation,
            "Syncs happen on the fabric's interval with nobody clicking",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-change-detection",
            Automation,
            "A description edited in NetBox reaches the cluster on the next periodic run",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-no-changes",
            Automation,
            "A periodic run with nothing changed costs no writes and no full NetBox read",
        ),
        60,
    ),
    periodic(
        def(
            "periodic-retry",
            Automation,
            "A transient failure is retried with backoff and recovers by itself",
        ),
        600,
    ),
    periodic(
        def(
            "manual-and-periodic-concurrently",
            NetworkEngineer,
            "A click during a periodic run neither overlaps it nor corrupts anything",
        ),
        60,
    ),
    def(
        "incremental-update",
        NetworkEngineer,
        "One NetBox edit makes exactly one cluster write",
    ),
    def(
        "relationship-preservation",
        NetworkEngineer,
        "Connections, attachments and groups reference objects that exist",
    ),
    def(
        "complete-data-flow",
        NetworkEngineer,
        "Every Hedgehog kind fabsync plans reaches the cluster",
    ),
    def(
        "authentication-failure",
        Operator,
        "Refused credentials are reported per system without leaking them",
    ),
    def(
        "field-manager-conflict",
        Operator,
        "A field owned by another manager is reported, nothing is written",
    ),
    def(
        "partial-failure-rollback",
        Operator,
        "A write failing midway leaves the cluster exactly as before",
    ),
    def(
        "rate-limiting",
        Operator,
        "The cluster's 429 + Retry-After is honoured and the QPS budget holds",
    ),
    def(
        "netbox-unavailable",
        Operator,
        "NetBox down leaves the cluster untouched",
    ),
    def(
        "invalid-netbox-data",
        NetworkEngineer,
        "Invalid NetBox data writes nothing and says which object and field",
    ),
    periodic(
        def(
            "drift-repaired",
            Automation,
            "A hand edit in the cluster is found and put back, and reported as drift",
        ),
        60,
    ),
    def(
        "process-restart-mid-run",
        Operator,
        "fabsync dying mid-run leaves no fabric stuck in syncing and recovers",
    ),
    Def {
        fabric: Fabric::Scale,
        ..def(
            "large-fabric",
            Operator,
            "A large fabric syncs within the 5-minute bound with bounded memory",
        )
    },
];

/// Runs workflow `id`.
pub(crate) async fn run(id: &str, cx: &mut Cx<'_>) -> R {
    match id {
        "manual-sync" => manual::manual_sync(cx).await,
        "manual-sync-after-netbox-edits" => manual::netbox_edits(cx).await,
        "cluster-unreachable-then-recovery" => manual::cluster_unreachable(cx).await,
        "periodic-sync-on-interval" => periodic::periodic_interval(cx).await,
        "periodic-change-detection" => periodic::periodic_change(cx).await,
        "periodic-no-changes" => periodic::periodic_no_changes(cx).await,
        "periodic-retry" => periodic::periodic_retry(cx).await,
        "manual-and-periodic-concurrently" => periodic::concurrent(cx).await,
        "incremental-update" => data::incremental(cx).await,
        "relationship-preservation" => data::relationships(cx).await,
        "complete-data-flow" => data::data_flow(cx).await,
        "authentication-failure" => faults::auth_failure(cx).await,
        "field-manager-conflict" => faults::conflict(cx).await,
        "partial-failure-rollback" => faults::rollback(cx).await,
        "rate-limiting" => faults::rate_limiting(cx).await,
        "netbox-unavailable" => faults::netbox_unavailable(cx).await,
        "invalid-netbox-data" => data::invalid_data(cx).await,
        "drift-repaired" => periodic::drift(cx).await,
        "process-restart-mid-run" => faults::restart(cx).await,
        "large-fabric" => perf::large(cx).await,
        other => Err(Stop(format!("unknown workflow {other}"))),
    }
}
