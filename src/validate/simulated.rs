//! The `sim` target: a fresh simulated world per workflow (both fakes in process on the paused
//! clock, one seed), its fixture and limits chosen by the workflow, and its fakes' own request
//! logs as the API log.
//!
//! It builds worlds; it runs no workflow and writes no file.

use serde_json::Value;

use super::error::ValidateError;
use super::model::{Scale, WorkflowReport};
use super::runner::{Target, jsonl};
use super::systems::{Env, sim_env};
use super::workflows::{Def, Fabric};

pub(crate) fn sim_world_config(seed: u64, def: &Def, scale: Scale) -> crate::sim::WorldConfig {
    crate::sim::WorldConfig {
        seed,
        fixture: match (def.fabric, scale) {
            (Fabric::Vlab, _) => fake_netbox::Fixture::Vlab,
            (Fabric::Scale, Scale::Large) => fake_netbox::Fixture::Large,
            (Fabric::Scale, Scale::Xlarge) => fake_netbox::Fixture::Xlarge,
        },
        fabric: match (def.fabric, scale) {
            (Fabric::Vlab, _) => "vlab",
            (Fabric::Scale, Scale::Large) => "fabric-large",
            (Fabric::Scale, Scale::Xlarge) => "fabric-xlarge",
        }
        .into(),
        conflict_policy: def.policy,
        limits: match (def.fabric, scale) {
            // ~25 000 requests for the first sync of xlarge: at the default 50 qps that is over
            // 8 minutes of budget alone. A fabric that size is configured with a larger budget.
            (Fabric::Scale, Scale::Xlarge) => crate::config::Limits {
                qps: 250.0,
                burst: 500,
                ..crate::config::Limits::default()
            },
            _ => crate::config::Limits::default(),
        },
        ..crate::sim::WorldConfig::default()
    }
}

/// The simulated target: a fresh world per workflow.
pub(crate) struct SimTarget {
    /// The seed of every world.
    pub(crate) seed: u64,
    /// Scale of the large-fabric workflow.
    pub(crate) scale: Scale,
}

impl Target for SimTarget {
    fn name(&self) -> &'static str {
        "sim"
    }

    async fn env(&mut self, def: &Def, _index: usize) -> Result<Env, ValidateError> {
        sim_env(sim_world_config(self.seed, def, self.scale), def.periodic).await
    }

    async fn done(&mut self, def: &Def, env: Env) -> String {
        jsonl(def.id, &(env.calls)())
    }

    async fn setup_failed(&mut self, _def: &Def, _index: usize) -> String {
        String::new()
    }

    async fn finish(&mut self) -> (String, Vec<WorkflowReport>) {
        (String::new(), Vec::new())
    }

    fn secrets(&self) -> Vec<String> {
        Vec::new()
    }

    fn facts(&self) -> Option<Value> {
        None
    }
}
