//! fabsync as a running service: the engine wired in as the scheduler's runner (a run report
//! becomes the scheduler's outcome) and the lease clients that reach each fabric's cluster the
//! way its runs do.
//!
//! The engine does not know the scheduler's types and the scheduler does not know the engine;
//! this module is the only place that knows both. It holds no sync or scheduling logic.

use std::sync::Arc;

use crate::engine::{Connector, Engine, EngineError, RunParams, RunReport};
use crate::scheduler::lease::LeaseClients;
use crate::scheduler::{BoxFuture, RunOutcome, RunRequest, Runner};
use crate::store::{Phase, Store};

/// The scheduler's view of a run report.
pub fn outcome(report: &RunReport) -> RunOutcome {
    RunOutcome {
        run_id: Some(report.run_id),
        phase: report.phase,
        transient: report.error.as_ref().is_some_and(EngineError::is_transient),
        message: match &report.error {
            None => report.end.message.clone().unwrap_or_default(),
            Some(e) => e.to_string(),
        },
    }
}

/// The engine as the scheduler's runner.
impl Runner for Engine {
    fn run(&self, req: RunRequest) -> BoxFuture<RunOutcome> {
        let engine = self.clone();
        Box::pin(async move {
            let params = RunParams {
                fabric: req.fabric,
                trigger: req.trigger,
                task_id: Some(req.task_id),
                attempt: req.attempt,
                holder: Some(req.holder),
                fence: req.fence,
                approve_deletes: req.approve_deletes,
            };
            match engine.run(params).await {
                Ok(report) => outcome(&report),
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

/// Lease clients that reach each fabric's cluster the way its runs do.
#[derive(Clone)]
pub struct ConnectorLeases {
    /// How to connect.
    pub connector: Arc<dyn Connector>,
    /// Where fabric settings live.
    pub store: Store,
}

impl LeaseClients for ConnectorLeases {
    fn client(&self, fabric: &str) -> BoxFuture<Result<(kube::Client, String), String>> {
        let this = self.clone();
        let fabric = fabric.to_string();
        Box::pin(async move {
            let cfg = this
                .store
                .fabric(&fabric)
                .map_err(|e| e.to_string())?
                .config;
            let cluster = this
                .connector
                .cluster(&cfg)
                .await
                .map_err(|e| e.to_string())?;
            Ok((cluster.client().clone(), cfg.namespace))
        })
    }
}
