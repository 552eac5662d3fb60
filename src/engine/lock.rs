//! One run per fabric across processes: a run takes the fabric's lock in the store before it
//! records anything, renews it while it lives, and gives it back when it ends. A lock whose
//! owner stopped renewing it (the process died) is taken over, and the run it covered is closed
//! as interrupted first. A run that loses its lock stops writing.
//!
//! It does not decide when runs happen; within one process the scheduler already runs one
//! run per fabric, and across replicas of a cluster the fabric's Lease does too.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{Engine, EngineError};
use crate::clock::format_ts;
use crate::store::{LockOutcome, Store, Sweep};

/// How long a fabric lock lasts without renewal (renewed every third of it).
pub const LOCK_TTL: Duration = Duration::from_secs(30);

/// A fabric lock held by a run; released on drop (a crash leaves it to expire).
pub(super) struct FabricLockGuard {
    store: Store,
    fabric: String,
    owner: String,
    lost: Arc<AtomicBool>,
    renewal: JoinHandle<()>,
}

impl FabricLockGuard {
    /// Whether the lock is gone (expired and taken by another process, or the store refused
    /// to renew it): the run must not write any more.
    pub fn lost(&self) -> Arc<AtomicBool> {
        self.lost.clone()
    }

    /// Records the run the lock covers.
    pub fn cover(&self, run_id: i64) -> Result<(), EngineError> {
        Ok(self.store.lock_run(&self.fabric, &self.owner, run_id)?)
    }
}

impl Drop for FabricLockGuard {
    fn drop(&mut self) {
        self.renewal.abort();
        if let Err(e) = self.store.unlock_fabric(&self.fabric, &self.owner) {
            tracing::warn!(fabric = %self.fabric, error = %e, "could not release the fabric lock; it expires on its own");
        }
    }
}

impl Engine {
    /// Takes `fabric`'s lock for `owner`, closing the run of a dead previous holder; refuses
    /// with who holds it when another live process does.
    pub(super) fn lock_fabric(
        &self,
        fabric: &str,
        owner: &str,
    ) -> Result<FabricLockGuard, EngineError> {
        let now = self.clock.now();
        let mut outcome = self.store.lock_fabric(fabric, owner, now, now + LOCK_TTL)?;
        if let LockOutcome::Held(l) = &outcome
            && crate::identity::is_dead_here(&l.owner)
        {
            // Killed on this machine (kill -9, a crash): its lock need not expire first.
            self.store.unlock_fabric(fabric, &l.owner)?;
            tracing::warn!(fabric, previous = %l.owner, "took over the fabric lock of a process that no longer runs");
            outcome = self.store.lock_fabric(fabric, owner, now, now + LOCK_TTL)?;
        }
        match outcome {
            LockOutcome::Held(l) => {
                return Err(EngineError::Busy {
                    fabric: fabric.to_string(),
                    owner: l.owner,
                    since: format_ts(l.acquired_at),
                    run_id: l.run_id,
                });
            }
            LockOutcome::Acquired { stale } => {
                if let Some(s) = stale {
                    tracing::warn!(fabric, previous = %s.owner, "took over a fabric lock its owner stopped renewing");
                }
                // Any run of this fabric still open is dead: this process holds the fabric and
                // has not started its own.
                self.store.close_interrupted(&Sweep {
                    now,
                    me: Some(owner),
                    fabric: Some(fabric),
                    alive_since: now - crate::scheduler::REPLICA_TTL,
                    tasks: false,
                })?;
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let store = self.store.clone();
            let clock = self.clock.clone();
            let (fabric, owner, lost) = (fabric.to_string(), owner.to_string(), lost.clone());
            tokio::spawn(async move {
                let every = LOCK_TTL / 3;
                let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
                loop {
                    tick.tick().await;
                    match store.renew_fabric_lock(&fabric, &owner, clock.now() + LOCK_TTL) {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!(fabric = %fabric, "the fabric lock was taken by another process; this run stops writing");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        Err(e) => {
                            tracing::error!(fabric = %fabric, error = %e, "could not renew the fabric lock; this run stops writing");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                    }
                }
            })
        };
        Ok(FabricLockGuard {
            store: self.store.clone(),
            fabric: fabric.to_string(),
            owner: owner.to_string(),
            lost,
            renewal,
        })
    }
}
