//! What demo mode (`fabsync serve --demo`) may do to the simulated systems behind it, as a trait
//! the web layer defines and the wiring implements ([`DemoControls`]: `cli/serve.rs` over the
//! simulated world), the faults it offers ([`DemoFault`]), and which of them are on
//! ([`DemoHooks`]).
//!
//! It knows no simulated world, fake server or connector; the routes and the page are
//! `demo.rs`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::Router;

use super::error::WebError;

/// Where demo mode serves the simulated cluster's Kubernetes API (for kubectl and kube-rs, with
/// the simulated cluster's bearer token).
pub const CLUSTER_PREFIX: &str = "/demo/cluster";

/// A fault demo mode offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DemoFault {
    /// The Kubernetes API server refuses every connection.
    ClusterUnreachable,
    /// The Kubernetes API server refuses fabsync's token.
    ClusterUnauthorized,
    /// NetBox refuses every connection.
    NetboxUnreachable,
    /// NetBox refuses fabsync's API token.
    NetboxUnauthorized,
}

impl DemoFault {
    /// Every fault, in the order the demo page lists them.
    pub const ALL: [DemoFault; 4] = [
        DemoFault::ClusterUnreachable,
        DemoFault::ClusterUnauthorized,
        DemoFault::NetboxUnreachable,
        DemoFault::NetboxUnauthorized,
    ];

    /// Its name in routes and element ids (`cluster-unreachable`).
    pub fn name(self) -> &'static str {
        match self {
            DemoFault::ClusterUnreachable => "cluster-unreachable",
            DemoFault::ClusterUnauthorized => "cluster-unauthorized",
            DemoFault::NetboxUnreachable => "netbox-unreachable",
            DemoFault::NetboxUnauthorized => "netbox-unauthorized",
        }
    }

    /// What it does, for the demo page.
    pub fn description(self) -> &'static str {
        match self {
            DemoFault::ClusterUnreachable => {
                "The Kubernetes API server refuses every connection (as if it were down)."
            }
            DemoFault::ClusterUnauthorized => {
                "The Kubernetes API server refuses fabsync's token (HTTP 401)."
            }
            DemoFault::NetboxUnreachable => "NetBox refuses every connection (as if it were down).",
            DemoFault::NetboxUnauthorized => "NetBox refuses fabsync's API token (HTTP 403).",
        }
    }

    /// The fault named `name`, or the not-found error listing the known ones.
    fn named(name: &str) -> Result<DemoFault, WebError> {
        DemoFault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                WebError::NotFound(format!(
                    "demo fault {name:?} does not exist; known: {}",
                    DemoFault::ALL
                        .iter()
                        .map(|f| f.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
}

/// What the demo page says about the simulated systems.
#[derive(Debug, Clone)]
pub struct DemoAbout {
    /// The fabric the demo syncs.
    pub fabric: String,
    /// The simulated NetBox's URL.
    pub netbox_url: String,
    /// The simulated cluster's URL.
    pub cluster_url: String,
    /// The seed of the simulated world.
    pub seed: u64,
}

/// Why a demo fault could not be put in place.
pub type DemoControlError = Box<dyn std::error::Error + Send + Sync>;

/// The simulated systems behind demo mode, as the demo routes drive them.
pub trait DemoControls: Send + Sync {
    /// The fabric, URLs and seed the demo page shows.
    fn about(&self) -> DemoAbout;
    /// The simulated cluster's own Kubernetes API (it checks its own bearer token), served under
    /// [`CLUSTER_PREFIX`].
    fn cluster_api(&self) -> Router;
    /// Puts `fault` in place. Called only while it is off.
    fn break_fault(&self, fault: DemoFault) -> Result<(), DemoControlError>;
    /// Takes `fault` away. Called only while it is on.
    fn repair_fault(&self, fault: DemoFault);
    /// How many fault rules the simulated cluster and NetBox hold (the demo's and any other).
    fn fault_rules(&self) -> (usize, usize);
}

/// The controls of `serve --demo`, and the demo faults switched on.
#[derive(Clone)]
pub struct DemoHooks {
    controls: Arc<dyn DemoControls>,
    active: Arc<Mutex<BTreeSet<DemoFault>>>,
}

impl std::fmt::Debug for DemoHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoHooks")
            .field("about", &self.controls.about())
            .field("active", &self.active_faults())
            .finish()
    }
}

impl DemoHooks {
    /// Hooks over the simulated systems `serve --demo` syncs.
    pub fn new(controls: impl DemoControls + 'static) -> Self {
        Self {
            controls: Arc::new(controls),
            active: Arc::new(Mutex::new(BTreeSet::new())),
        }
    }

    /// The controls.
    pub fn controls(&self) -> &dyn DemoControls {
        self.controls.as_ref()
    }

    /// The demo faults switched on.
    pub fn active_faults(&self) -> Vec<DemoFault> {
        self.lock().iter().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<DemoFault>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Switches a demo fault on (idempotent). Returns whether it was off before.
    pub fn enable(&self, name: &str) -> Result<bool, WebError> {
        let fault = DemoFault::named(name)?;
        let mut active = self.lock();
        if active.contains(&fault) {
            return Ok(false);
        }
        self.controls
            .break_fault(fault)
            .map_err(|e| WebError::Internal(format!("demo fault {}: {e}", fault.name())))?;
        active.insert(fault);
        tracing::info!(fault = fault.name(), "demo fault switched on");
        Ok(true)
    }

    /// Switches a demo fault off (idempotent). Returns whether it was on before.
    pub fn disable(&self, name: &str) -> Result<bool, WebError> {
        let fault = DemoFault::named(name)?;
        if !self.lock().remove(&fault) {
            return Ok(false);
        }
        self.controls.repair_fault(fault);
        tracing::info!(fault = fault.name(), "demo fault switched off");
        Ok(true)
    }
}
