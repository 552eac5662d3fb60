//! One run from start to record: [`Engine::run`] opens the run record, connects, drives the
//! stages in order — change check, read, plan, observe, diff, preflight, apply (rollback on
//! failure), verify, record — inside one `tracing` span per run and one per stage, under the
//! run's deadline, and hands what it accumulated to the summary.
//!
//! The stages themselves live in their own modules; this one only sequences them.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument;

use super::diff::{Item, Target};
use super::guard;
use super::lock::FabricLockGuard;
use super::read::ChangeCheck;
use super::summary::Summary;
use super::{Engine, EngineError, NetboxConn, RunParams, RunReport};
use crate::cluster::layers::WriteGate;
use crate::config::FabricConfig;
use crate::plan::{Finding, PlanConfig, plan_with_profiles};
use crate::store::{ConnectionState, RunStep, StatusEvent, Trigger};

/// Everything a run accumulates, so a failure can still be recorded in full.
pub(super) struct RunState {
    pub step: RunStep,
    pub items: Vec<Item>,
    pub findings: Vec<Finding>,
    pub site_id: Option<u64>,
    /// NetBox's newest change, read before the full read.
    pub cursor: Option<crate::netbox::changes::LogPosition>,
    /// Why the change log could not be trusted this run (it was read in full).
    pub log_note: Option<String>,
    pub netbox_state: Option<ConnectionState>,
    pub cluster_state: Option<ConnectionState>,
    pub no_changes: bool,
    /// Devices NetBox's read of the fabric holds.
    pub netbox_devices: Option<usize>,
}

impl RunState {
    fn new() -> Self {
        Self {
            step: RunStep::Start,
            items: Vec::new(),
            findings: Vec::new(),
            site_id: None,
            cursor: None,
            log_note: None,
            netbox_state: None,
            cluster_state: None,
            no_changes: false,
            netbox_devices: None,
        }
    }

    /// Objects whose drift the run repairs.
    pub fn drift(&self) -> u64 {
        self.items.iter().filter(|i| i.drift()).count() as u64
    }
}

/// What every stage of one run needs: the fabric, its NetBox, the run's identity and deadline.
pub(super) struct RunCx<'a> {
    pub target: Target<'a>,
    pub p: &'a RunParams,
    pub run_id: i64,
    pub nb: &'a NetboxConn,
    pub deadline: Instant,
    /// Set once the fabric's lock in the store is lost: no more writes.
    pub lock_lost: Arc<AtomicBool>,
}

fn stage_span(step: RunStep) -> tracing::Span {
    tracing::debug_span!("stage", step = step.as_str())
}

impl Engine {
    /// Runs and records one sync of a fabric.
    pub async fn run(&self, p: RunParams) -> Result<RunReport, EngineError> {
        let fabric = self.store.fabric(&p.fabric)?;
        let cfg = fabric.config;
        let owner = p.holder.clone().unwrap_or_else(|| self.owner.clone());
        let lock = self.lock_fabric(&cfg.name, &owner)?;
        let started = Instant::now();
        let run_id = self.store.start_run(
            &cfg.name,
            p.task_id.as_deref(),
            p.trigger,
            p.attempt,
            self.now(),
            p.holder.as_deref(),
        )?;
        lock.cover(run_id)?;
        let span = tracing::info_span!(
            "run",
            fabric = %cfg.name,
            run_id,
            trigger = p.trigger.as_str()
        );
        // Every write of the run, retries and waits for the QPS budget included, is checked
        // against the lease fence as it leaves (not only before it is queued).
        let fence = p.fence.clone();
        let gate = WriteGate::new(move || {
            fence.is_valid() || crate::planted::active(crate::planted::Bug::IgnoreLeaseFence)
        });
        let report = gate
            .guard(self.run_recorded(&p, &cfg, run_id, started, &lock))
            .instrument(span)
            .await;
        drop(lock);
        report
    }

    async fn run_recorded(
        &self,
        p: &RunParams,
        cfg: &FabricConfig,
        run_id: i64,
        started: Instant,
        lock: &FabricLockGuard,
    ) -> Result<RunReport, EngineError> {
        if let Some(t) = &p.task_id {
            self.store.task_started(t, run_id, self.now())?;
        }
        let before = self.store.fabric(&cfg.name)?.status;
        self.store
            .status_event(&cfg.name, &StatusEvent::RunStarted)?;
        let mut st = RunState::new();
        let deadline = started + Duration::from_secs(cfg.limits.deadline_secs);
        let netbox = self.connector.netbox(cfg);
        let cluster = self.connector.cluster(cfg).await;
        let mut calls = super::summary::Calls::default();
        let result = match (netbox, cluster) {
            (Ok(nb), Ok(cluster)) => {
                let cx = RunCx {
                    target: Target {
                        engine: self,
                        cfg,
                        cluster: &cluster,
                    },
                    p,
                    run_id,
                    nb: &nb,
                    deadline,
                    lock_lost: lock.lost(),
                };
                let r = cx.execute(&mut st).await;
                calls = super::summary::Calls {
                    netbox: nb.counters.requests(),
                    cluster: cluster.counters().requests(),
                    writes: cluster.counters().writes(),
                };
                r
            }
            (Err(e), _) => Err(EngineError::Netbox(e)),
            (_, Err(e)) => Err(EngineError::Cluster(e)),
        };
        Summary {
            engine: self,
            before,
            cfg,
            run_id,
            started,
            calls,
        }
        .record(st, result)
        .await
    }
}

impl RunCx<'_> {
    /// Enters a stage: records it, reports progress, and fails past the deadline.
    fn enter(&self, st: &mut RunState, step: RunStep) -> Result<(), EngineError> {
        st.step = step;
        let engine = self.target.engine;
        engine.store.run_step(self.run_id, step)?;
        if let Some(f) = &engine.progress {
            f(self.run_id, step.as_str());
        }
        if Instant::now() > self.deadline {
            return Err(EngineError::Deadline {
                secs: self.target.cfg.limits.deadline_secs,
                step,
            });
        }
        Ok(())
    }

    /// The stages in order.
    async fn execute(&self, st: &mut RunState) -> Result<(), EngineError> {
        let before_writes = tokio::time::timeout_at(self.deadline, self.before_writes(st));
        match before_writes.await {
            Ok(Ok(ChangeCheck::NoChanges)) => return Ok(()),
            Ok(Ok(ChangeCheck::Changed(_))) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(EngineError::Deadline {
                    secs: self.target.cfg.limits.deadline_secs,
                    step: st.step,
                });
            }
        }

        self.enter(st, RunStep::Apply)?;
        let mut order = Vec::new();
        let applied = self
            .apply(&mut st.items, &mut order)
            .instrument(stage_span(RunStep::Apply))
            .await;
        if let Err(e) = applied {
            st.step = RunStep::Rollback;
            self.target
                .engine
                .store
                .run_step(self.run_id, RunStep::Rollback)?;
            return Err(self
                .rollback(&mut st.items, &order, e)
                .instrument(stage_span(RunStep::Rollback))
                .await);
        }

        // Past the deadline, a run that wrote still verifies what it wrote.
        match self.enter(st, RunStep::Verify) {
            Ok(()) | Err(EngineError::Deadline { .. }) => {}
            Err(e) => return Err(e),
        }
        self.target
            .verify(&mut st.items)
            .instrument(stage_span(RunStep::Verify))
            .await?;

        st.step = RunStep::Record;
        self.target
            .engine
            .store
            .run_step(self.run_id, RunStep::Record)?;
        self.record_baseline(st)
    }

    /// Everything before the first write, under the deadline: the change check (which may end
    /// the run with no changes), read, plan, observe, diff and preflight.
    async fn before_writes(&self, st: &mut RunState) -> Result<ChangeCheck, EngineError> {
        let cfg = self.target.cfg;
        let engine = self.target.engine;
        let baseline = engine.store.observed(&cfg.name)?;
        let cursor = engine.store.cursor(&cfg.name)?;
        let mut live_known = None;
        if self.p.trigger == Trigger::Periodic
            && let Some(cursor) = cursor
            && !baseline.is_empty()
        {
            self.enter(st, RunStep::ChangeCheck)?;
            match self
                .change_check(st, &baseline, &cursor)
                .instrument(stage_span(RunStep::ChangeCheck))
                .await?
            {
                ChangeCheck::NoChanges => return Ok(ChangeCheck::NoChanges),
                ChangeCheck::Changed(live) => live_known = Some(live),
            }
        }

        self.enter(st, RunStep::Read)?;
        let read = self.read(st).instrument(stage_span(RunStep::Read)).await?;

        self.enter(st, RunStep::Plan)?;
        let profiles = self.target.switch_profiles().await?;
        let plan = {
            let _span = stage_span(RunStep::Plan).entered();
            plan_with_profiles(
                &read.snapshot,
                &PlanConfig {
                    fabric: cfg.name.clone(),
                    namespace: cfg.namespace.clone(),
                },
                &profiles,
            )
        };
        self.cache_snapshot(st, read);
        st.findings = plan.findings.clone();
        if plan.has_fatal() {
            return Err(EngineError::InvalidData(plan.findings));
        }

        self.enter(st, RunStep::Observe)?;
        let live = match live_known {
            Some(l) => l,
            None => {
                self.target
                    .observe()
                    .instrument(stage_span(RunStep::Observe))
                    .await?
            }
        };
        st.cluster_state = Some(ConnectionState::Connected);

        self.enter(st, RunStep::Diff)?;
        st.items = self
            .target
            .diff(&plan.objects, &live, &baseline)
            .instrument(stage_span(RunStep::Diff))
            .await?;
        engine.remember_hashes(&cfg.name, plan.objects, &st.items);
        self.target.settle_foreign(&mut st.items)?;
        guard::keep_unpruned(cfg, &mut st.items);
        let devices = st.netbox_devices.unwrap_or(0);
        if let Some(held) = guard::hold(cfg, &st.items, &live, devices)
            && self.p.approve_deletes.is_none_or(|n| n < held.total)
        {
            return Err(EngineError::Held(held));
        }

        self.enter(st, RunStep::Preflight)?;
        self.target
            .preflight(&mut st.items)
            .instrument(stage_span(RunStep::Preflight))
            .await?;
        Ok(ChangeCheck::Changed(live))
    }
}
