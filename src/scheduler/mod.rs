//! When runs happen: manual triggers (returning a task id at once), periodic runs on each
//! fabric's interval with seeded jitter, retries with exponential backoff for transient failures,
//! start-up catch-up, and optional per-fabric leases for high availability.
//!
//! Guarantees: never two runs of one fabric at once (one worker per fabric runs tasks one after
//! another); a trigger while a task is pending coalesces into it; a trigger while one runs queues
//! exactly one follow-up; missed periodic ticks collapse into one run; a global limit bounds runs
//! across fabrics. Time is `tokio::time` only, so everything runs on a paused clock in tests.
//! It does not know how a run works: a [`Runner`] does that.

pub mod lease;
mod worker;

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::SharedClock;
use crate::store::{Phase, Store, StoreError, Sweep, TaskRecord, Trigger};
pub use lease::{Fence, LeaseConfig, Leases};

/// Boxed future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the scheduler asks a runner to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// Fabric.
    pub fabric: String,
    /// Trigger of this attempt (`retry` for attempts after the first).
    pub trigger: Trigger,
    /// The task.
    pub task_id: String,
    /// 1-based attempt.
    pub attempt: u32,
    /// Replica identity (recorded on the run).
    pub holder: String,
    /// Checked by the runner before every write: false once this replica may no longer write.
    pub fence: Fence,
    /// Deletions a person approved for this task (`u64::MAX`: all); periodic tasks have none.
    pub approve_deletes: Option<u64>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// The run record (None if the runner failed before recording one).
    pub run_id: Option<i64>,
    /// SUCCESS or FAILURE.
    pub phase: Phase,
    /// Whether another attempt may succeed without anyone changing anything.
    pub transient: bool,
    /// One line for the task record.
    pub message: String,
}

/// Executes one sync run (the engine).
pub trait Runner: Send + Sync + 'static {
    /// Runs and records one run; never panics on bad input, returns an outcome.
    fn run(&self, req: RunRequest) -> BoxFuture<RunOutcome>;
}

/// Retry policy for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// First wait.
    pub base: Duration,
    /// Growth factor.
    pub factor: u32,
    /// Longest wait.
    pub max: Duration,
    /// Attempts in all (the first run included).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            factor: 2,
            max: Duration::from_secs(300),
            max_attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `next_attempt` (2 → base, 3 → base × factor, …).
    pub fn backoff(&self, next_attempt: u32) -> Duration {
        let exp = next_attempt.saturating_sub(2);
        let mut d = self.base;
        for _ in 0..exp {
            d = d.saturating_mul(self.factor);
            if d >= self.max {
                return self.max;
            }
        }
        d.min(self.max)
    }
}

/// How long a replica counts as alive after its last heartbeat (it heartbeats every third of
/// this): tasks of a replica silent for longer are failed as interrupted by the next start.
pub const REPLICA_TTL: Duration = Duration::from_secs(30);

/// `clock`'s now minus `d`.
fn ts_before(clock: &SharedClock, d: Duration) -> jiff::Timestamp {
    let span = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::ZERO);
    clock
        .now()
        .saturating_sub(span)
        .unwrap_or(jiff::Timestamp::MIN)
}

/// Scheduler settings.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Runs at once across fabrics.
    pub max_concurrent_runs: usize,
    /// Periodic jitter as a fraction of the interval (0.1: up to +10 %).
    pub jitter: f64,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// This replica's identity.
    pub replica: String,
    /// Seed of the jitter.
    pub seed: u64,
    /// Per-fabric leases in the target cluster (HA).
    pub lease: Option<LeaseConfig>,
    /// Extra time past a fabric's run deadline before the scheduler abandons a run.
    pub hard_stop_grace: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            max_concurrent_runs: 4,
            jitter: 0.1,
            retry: RetryPolicy::default(),
            replica: "fabsync-0".into(),
            seed: 0,
            lease: None,
            hard_stop_grace: Duration::from_secs(60),
        }
    }
}

/// Scheduler errors.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// No such fabric.
    #[error("fabric {0:?} does not exist")]
    UnknownFabric(String),
    /// The scheduler is shutting down.
    #[error("fabsync is shutting down; the sync was not queued")]
    ShuttingDown,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A task state change, for live progress.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    /// Task id.
    pub task_id: String,
    /// Fabric.
    pub fabric: String,
    /// New state.
    pub state: Phase,
    /// Run id, once started.
    pub run_id: Option<i64>,
}

#[derive(Default)]
struct Slot {
    /// A PENDING (or RETRY-waiting) task: the target of coalescing.
    pending: Option<Pending>,
    /// The task whose run is in progress.
    running: Option<String>,
    /// Next periodic tick.
    next_periodic: Option<Instant>,
    /// The interval `next_periodic` was computed with (0: none).
    interval_secs: u64,
    /// The cadence point of the next tick (`next_periodic` is this plus jitter).
    nominal: Option<Instant>,
    /// The cadence point of the last tick (or when the schedule began).
    last_tick: Option<Instant>,
    worker: Option<JoinHandle<()>>,
    notify: Arc<Notify>,
}

#[derive(Clone)]
struct Pending {
    task_id: String,
    trigger: Trigger,
    attempt: u32,
    not_before: Instant,
    /// Deletions approved by the person who asked for the task.
    approve_deletes: Option<u64>,
}

struct Inner {
    store: Store,
    clock: SharedClock,
    runner: Arc<dyn Runner>,
    cfg: SchedulerConfig,
    slots: Mutex<BTreeMap<String, Slot>>,
    global: Arc<Semaphore>,
    rng: Mutex<ChaCha8Rng>,
    ids: Mutex<ChaCha8Rng>,
    shutting_down: std::sync::atomic::AtomicBool,
    events: broadcast::Sender<TaskEvent>,
    leases: Option<Leases>,
    idle: Notify,
    /// Tells other processes sharing the store that this replica is alive.
    heartbeat: Mutex<Option<JoinHandle<()>>>,
    /// Runs that panicked (stopped and recorded as failed), oldest first.
    internal_errors: Mutex<Vec<InternalError>>,
    /// Fabrics whose last run could not be recorded as ended (the store failed): their open
    /// run is closed as interrupted as soon as the store takes it, while the fabric is idle.
    unclosed: Mutex<std::collections::BTreeSet<String>>,
}

/// A run that panicked: the scheduler stopped it, failed it and freed its fabric.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InternalError {
    /// The fabric.
    pub fabric: String,
    /// When (the world's clock).
    pub at: String,
    /// The panic's message.
    pub message: String,
}

/// A running scheduler (cheap to clone).
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("replica", &self.inner.cfg.replica)
            .finish()
    }
}

impl Scheduler {
    /// Starts the scheduler: closes runs a previous process left STARTED, queues catch-up runs
    /// for overdue fabrics, and starts one worker per fabric.
    pub fn start(
        store: Store,
        clock: SharedClock,
        runner: Arc<dyn Runner>,
        cfg: SchedulerConfig,
        leases: Option<Leases>,
    ) -> Result<Self, SchedulerError> {
        let now = clock.now();
        store.replica_heartbeat(&cfg.replica, now)?;
        crate::identity::release_dead_locks(&store)?;
        let sweep = Sweep {
            now,
            me: Some(&cfg.replica),
            fabric: None,
            alive_since: ts_before(&clock, REPLICA_TTL),
            tasks: true,
        };
        for run in store.close_interrupted(&sweep)? {
            tracing::warn!(fabric = %run.fabric, run = run.id, "closed a run interrupted by a previous stop");
        }
        let (events, _) = broadcast::channel(1024);
        let inner = Arc::new(Inner {
            global: Arc::new(Semaphore::new(cfg.max_concurrent_runs.max(1))),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            ids: Mutex::new(ChaCha8Rng::seed_from_u64(
                cfg.seed ^ 0x5eed_7a5c_u64.wrapping_mul(0x9e37_79b9),
            )),
            store,
            clock,
            runner,
            cfg,
            slots: Mutex::new(BTreeMap::new()),
            shutting_down: false.into(),
            events,
            leases,
            idle: Notify::new(),
            heartbeat: Mutex::new(None),
            unclosed: Mutex::new(Default::default()),
            internal_errors: Mutex::new(Vec::new()),
        });
        let sched = Scheduler { inner };
        sched.start_heartbeat();
        let planned = (|| {
            for fabric in sched.inner.store.fabrics()? {
                sched.ensure_worker(&fabric.name);
                sched.plan_periodic(&fabric.name, true)?;
            }
            Ok::<_, SchedulerError>(())
        })();
        if let Err(e) = planned {
            // Workers and the heartbeat already run (and would take Leases): a scheduler that
            // failed to start must not live on behind the caller's back.
            sched.abort();
            return Err(e);
        }
        Ok(sched)
    }

    /// Subscribes to task state changes.
    pub fn subscribe(&self) -> broadcast::Receiver<TaskEvent> {
        self.inner.events.subscribe()
    }

    /// This replica's identity.
    pub fn replica(&self) -> &str {
        &self.inner.cfg.replica
    }

    /// The retry policy of transient failures.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.cfg.retry
    }

    /// Whether the scheduler accepts work.
    pub fn is_alive(&self) -> bool {
        !self
            .inner
            .shutting_down
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Requests a run now. Returns at once with the task that will carry it: a new PENDING
    /// task, or the pending one this trigger coalesced into.
    pub fn trigger(&self, fabric: &str, trigger: Trigger) -> Result<TaskRecord, SchedulerError> {
        self.trigger_approving(fabric, trigger, None)
    }

    /// A manual run that may delete up to `approve_deletes` objects the deletion guard would
    /// otherwise hold (`u64::MAX`: any number). The approval joins a pending task when one
    /// coalesces (the larger approval wins); periodic runs never carry one.
    pub fn trigger_approving(
        &self,
        fabric: &str,
        trigger: Trigger,
        approve_deletes: Option<u64>,
    ) -> Result<TaskRecord, SchedulerError> {
        if !self.is_alive() {
            return Err(SchedulerError::ShuttingDown);
        }
        // The fabric must exist (and may have been added after start).
        self.inner.store.fabric(fabric).map_err(|e| match e {
            StoreError::NotFound { .. } => SchedulerError::UnknownFabric(fabric.to_string()),
            e => SchedulerError::Store(e),
        })?;
        self.ensure_worker(fabric);
        let approve_deletes = approve_deletes.filter(|_| trigger == Trigger::Manual);
        let id = self.enqueue(fabric, trigger, true, approve_deletes)?;
        Ok(self.inner.store.task(&id)?)
    }

    /// Re-reads a fabric's settings (interval, enabled) and reschedules it; adds a worker for a
    /// new fabric. Takes effect at once.
    pub fn reload(&self, fabric: &str) -> Result<(), SchedulerError> {
        self.inner.store.fabric(fabric).map_err(|e| match e {
            StoreError::NotFound { .. } => SchedulerError::UnknownFabric(fabric.to_string()),
            e => SchedulerError::Store(e),
        })?;
        self.ensure_worker(fabric);
        self.plan_periodic(fabric, false)
    }

    /// When the next periodic run of a fabric is due (tokio time), if scheduled.
    pub fn next_periodic(&self, fabric: &str) -> Option<Instant> {
        self.inner
            .slots
            .lock()
            .unwrap()
            .get(fabric)
            .and_then(|s| s.next_periodic)
    }

    /// Whether a fabric has a run in progress.
    pub fn is_running(&self, fabric: &str) -> bool {
        self.inner
            .slots
            .lock()
            .unwrap()
            .get(fabric)
            .is_some_and(|s| s.running.is_some())
    }

    /// Waits until no fabric has a pending (due) or running task.
    pub async fn idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            let busy = {
                let slots = self.inner.slots.lock().unwrap();
                let now = Instant::now();
                slots.values().any(|s| {
                    s.running.is_some() || s.pending.as_ref().is_some_and(|p| p.not_before <= now)
                })
            };
            if !busy {
                return;
            }
            notified.await;
        }
    }

    /// Stops taking work and waits up to `grace` for running runs; runs still going after that
    /// are abandoned and recorded as interrupted.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let workers: Vec<(String, JoinHandle<()>, Arc<Notify>)> = {
            let mut slots = self.inner.slots.lock().unwrap();
            slots
                .iter_mut()
                .filter_map(|(name, s)| {
                    s.worker.take().map(|w| (name.clone(), w, s.notify.clone()))
                })
                .collect()
        };
        for (_, _, n) in &workers {
            n.notify_one();
        }
        let deadline = Instant::now() + grace;
        for (name, mut handle, _) in workers {
            if tokio::time::timeout_at(deadline, &mut handle)
                .await
                .is_err()
            {
                tracing::warn!(fabric = %name, "run still going at shutdown: abandoned");
                handle.abort();
                let _ = handle.await;
            }
        }
        if let Some(h) = self.inner.heartbeat.lock().unwrap().take() {
            h.abort();
        }
        if let Err(e) = self.sweep(None) {
            tracing::error!(error = %e, "could not record interrupted runs at shutdown");
        }
        if let Err(e) = self.inner.store.replica_gone(&self.inner.cfg.replica) {
            tracing::error!(error = %e, "could not unregister this replica at shutdown");
        }
        if let Some(leases) = &self.inner.leases {
            leases.release_all().await;
        }
    }

    /// Stops every worker at once without recording anything or releasing leases: what a crash
    /// does. A later [`Scheduler::start`] on the same store closes the runs it left STARTED, and
    /// other replicas take its leases once they expire.
    pub fn abort(&self) {
        self.inner
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(h) = self.inner.heartbeat.lock().unwrap().take() {
            h.abort();
        }
        let mut slots = self.inner.slots.lock().unwrap();
        for slot in slots.values_mut() {
            if let Some(w) = slot.worker.take() {
                w.abort();
            }
        }
        if let Some(leases) = &self.inner.leases {
            leases.abandon();
        }
    }

    /// Runs that panicked since this scheduler started, oldest first.
    pub fn internal_errors(&self) -> Vec<InternalError> {
        self.inner.internal_errors.lock().unwrap().clone()
    }

    fn note_internal_error(&self, fabric: &str, message: &str) {
        self.inner
            .internal_errors
            .lock()
            .unwrap()
            .push(InternalError {
                fabric: fabric.to_string(),
                at: crate::clock::format_ts(self.inner.clock.now()),
                message: message.to_string(),
            });
    }

    /// Closes this replica's runs (of one fabric, or all) as interrupted: they are over.
    fn sweep(&self, fabric: Option<&str>) -> Result<Vec<crate::store::RunRecord>, StoreError> {
        // One fabric's abandoned run: its task is finished by the worker, its follow-up stays.
        let tasks = fabric.is_none();
        self.inner.store.close_interrupted(&Sweep {
            now: self.inner.clock.now(),
            me: Some(&self.inner.cfg.replica),
            fabric,
            alive_since: ts_before(&self.inner.clock, REPLICA_TTL),
            tasks,
        })
    }

    /// Closes the open run a failed run left on `fabric` (it could not record its end), or
    /// remembers to try again from the heartbeat.
    pub(crate) fn close_abandoned(&self, fabric: &str) {
        match self.sweep(Some(fabric)) {
            Ok(_) => {
                self.inner.unclosed.lock().unwrap().remove(fabric);
            }
            Err(e) => {
                tracing::warn!(fabric, error = %e, "could not close the run the store failed to end; trying again");
                self.inner
                    .unclosed
                    .lock()
                    .unwrap()
                    .insert(fabric.to_string());
            }
        }
    }

    /// Tries again to close the runs [`Self::close_abandoned`] could not, on idle fabrics.
    fn retry_unclosed(&self) {
        let fabrics: Vec<String> = self
            .inner
            .unclosed
            .lock()
            .unwrap()
            .iter()
            .cloned()
            .collect();
        for f in fabrics {
            // The slots stay locked while the run is closed: no run of the fabric can start in
            // between (a worker marks its slot running before its run opens).
            let slots = self.inner.slots.lock().unwrap();
            if slots.get(&f).is_none_or(|s| s.running.is_none()) {
                self.close_abandoned(&f);
            }
            drop(slots);
        }
    }

    /// Heartbeats every [`REPLICA_TTL`] / 3 while the scheduler lives.
    fn start_heartbeat(&self) {
        let inner = Arc::downgrade(&self.inner);
        let every = REPLICA_TTL / 3;
        let handle = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(Instant::now() + every, every);
            loop {
                tick.tick().await;
                let Some(inner) = inner.upgrade() else { return };
                Scheduler {
                    inner: inner.clone(),
                }
                .retry_unclosed();
                if let Err(e) = inner
                    .store
                    .replica_heartbeat(&inner.cfg.replica, inner.clock.now())
                {
                    tracing::warn!(error = %e, "could not record this replica's heartbeat");
                }
                // Tasks of replicas that stopped heartbeating will never run: fail them.
                let orphans = inner.store.fail_orphan_tasks(&Sweep {
                    now: inner.clock.now(),
                    me: None,
                    fabric: None,
                    alive_since: ts_before(&inner.clock, REPLICA_TTL),
                    tasks: true,
                });
                if let Err(e) = orphans {
                    tracing::warn!(error = %e, "could not fail the tasks of stopped replicas");
                }
            }
        });
        *self.inner.heartbeat.lock().unwrap() = Some(handle);
    }

    fn ensure_worker(&self, fabric: &str) {
        let mut slots = self.inner.slots.lock().unwrap();
        let slot = slots.entry(fabric.to_string()).or_default();
        if slot.worker.is_none() && self.is_alive() {
            let sched = self.clone();
            let name = fabric.to_string();
            slot.worker = Some(tokio::spawn(async move { sched.worker(name).await }));
        }
    }

    /// Computes the next periodic tick from the fabric's settings. At start-up, an overdue
    /// fabric gets a catch-up task.
    fn plan_periodic(&self, fabric: &str, startup: bool) -> Result<(), SchedulerError> {
        let rec = self.inner.store.fabric(fabric)?;
        let interval = if rec.config.enabled {
            rec.config.interval_secs
        } else {
            0
        };
        let now = Instant::now();
        let mut catch_up = false;
        {
            let mut slots = self.inner.slots.lock().unwrap();
            let slot = slots.entry(fabric.to_string()).or_default();
            if interval == 0 {
                slot.next_periodic = None;
                slot.nominal = None;
                slot.interval_secs = 0;
            } else if startup || slot.interval_secs != interval || slot.next_periodic.is_none() {
                // The cadence continues from the last tick; a shorter interval whose next
                // point is already past runs now.
                let base = match slot.last_tick {
                    Some(t) if !startup => t,
                    _ => now,
                };
                slot.last_tick = Some(base);
                slot.interval_secs = interval;
                let nominal = (base + Duration::from_secs(interval)).max(now);
                slot.nominal = Some(nominal);
                slot.next_periodic = Some(nominal + self.jitter(interval));
                if startup {
                    catch_up = self.overdue(&rec, interval);
                }
            }
            slot.notify.notify_one();
        }
        let at = self.next_periodic(fabric).map(|i| self.wall_at(i));
        self.inner.store.set_next_run(fabric, at)?;
        if catch_up {
            self.enqueue(fabric, Trigger::Catchup, true, None)?;
        }
        Ok(())
    }

    /// Whether a fabric's last successful sync is older than its interval (or never was).
    fn overdue(&self, rec: &crate::store::FabricRecord, interval: u64) -> bool {
        let Some(last) = rec.last_success_at else {
            return true;
        };
        let age = self.inner.clock.now().duration_since(last);
        age.as_secs() >= interval as i64
    }

    fn jitter(&self, interval: u64) -> Duration {
        if self.inner.cfg.jitter <= 0.0 {
            return Duration::ZERO;
        }
        let max = interval as f64 * self.inner.cfg.jitter;
        let r: f64 = self.inner.rng.lock().unwrap().random();
        Duration::from_millis((r * max * 1000.0) as u64)
    }

    fn wall_at(&self, at: Instant) -> jiff::Timestamp {
        let now = Instant::now();
        let wall = self.inner.clock.now();
        let delta = at.saturating_duration_since(now);
        let span = jiff::SignedDuration::try_from(delta).unwrap_or(jiff::SignedDuration::ZERO);
        wall.saturating_add(span).unwrap_or(wall)
    }

    /// A task id from the seeded generator, skipping ids an earlier process on the same store
    /// already used (same seed, same sequence).
    fn new_task_id(&self) -> String {
        loop {
            let bytes: [u8; 16] = self.inner.ids.lock().unwrap().random();
            let id = uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string();
            if matches!(self.inner.store.task(&id), Err(StoreError::NotFound { .. })) {
                return id;
            }
        }
    }

    /// Adds a task or coalesces into the pending one; returns the task id. `now` makes a
    /// pending retry run at once (a person asked for it).
    fn enqueue(
        &self,
        fabric: &str,
        trigger: Trigger,
        now: bool,
        approve_deletes: Option<u64>,
    ) -> Result<String, SchedulerError> {
        let mut slots = self.inner.slots.lock().unwrap();
        let slot = slots.entry(fabric.to_string()).or_default();
        if let Some(p) = &mut slot.pending {
            if now {
                p.not_before = p.not_before.min(Instant::now());
            }
            p.approve_deletes = p.approve_deletes.max(approve_deletes);
            slot.notify.notify_one();
            return Ok(p.task_id.clone());
        }
        let id = self.new_task_id();
        let created = self.inner.clock.now();
        self.inner
            .store
            .create_task(&id, fabric, trigger, created, &self.inner.cfg.replica)?;
        slot.pending = Some(Pending {
            task_id: id.clone(),
            trigger,
            attempt: 1,
            not_before: Instant::now(),
            approve_deletes,
        });
        slot.notify.notify_one();
        let _ = self.inner.events.send(TaskEvent {
            task_id: id.clone(),
            fabric: fabric.to_string(),
            state: Phase::Pending,
            run_id: None,
        });
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (2..=10).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }
}
