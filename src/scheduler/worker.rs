//! The per-fabric worker: waits for a fabric's pending task or its next periodic tick, runs one
//! task at a time through the [`Runner`] (under the global limit and, with leases, only while
//! this replica leads the fabric), and turns the outcome into the task's next state (done,
//! retry after backoff, or a queued follow-up).
//!
//! It does not decide how a run works, and it is the only place that calls the runner.

use super::*;

impl Scheduler {
    pub(super) async fn worker(self, fabric: String) {
        let notify = {
            let slots = self.inner.slots.lock().unwrap();
            slots[&fabric].notify.clone()
        };
        loop {
            if !self.is_alive() {
                return;
            }
            let notified = notify.notified();
            // What is due?
            let (due, wake_at) = {
                let mut slots = self.inner.slots.lock().unwrap();
                let slot = slots.get_mut(&fabric).expect("slot exists for its worker");
                let now = Instant::now();
                let mut periodic_due = false;
                if let Some(next) = slot.next_periodic
                    && next <= now
                {
                    periodic_due = true;
                    // Next tick on the fixed cadence; ticks missed while busy collapse into one.
                    let interval = Duration::from_secs(slot.interval_secs.max(1));
                    let fired = slot.nominal.unwrap_or(now);
                    slot.last_tick = Some(fired);
                    let mut following = fired + interval;
                    if following <= now {
                        let behind = now.saturating_duration_since(fired).as_secs_f64();
                        let k = (behind / interval.as_secs_f64()).floor() as u32 + 1;
                        following = fired + interval * k;
                    }
                    slot.nominal = Some(following);
                    slot.next_periodic = Some(following + self.jitter(slot.interval_secs));
                }
                let due = slot.pending.as_ref().is_some_and(|p| p.not_before <= now);
                let wake = [
                    slot.next_periodic,
                    slot.pending.as_ref().map(|p| p.not_before),
                ]
                .into_iter()
                .flatten()
                .min();
                (
                    if periodic_due {
                        Some(true)
                    } else {
                        due.then_some(false)
                    },
                    wake,
                )
            };
            if due == Some(true) {
                // A periodic tick: on an HA standby, the lease holder runs it instead.
                let lead = match &self.inner.leases {
                    Some(l) => l.try_lead(&fabric).await,
                    None => true,
                };
                if lead && let Err(e) = self.enqueue(&fabric, Trigger::Periodic, false, None) {
                    tracing::error!(fabric = %fabric, error = %e, "could not queue a periodic run");
                }
                let at = self.next_periodic(&fabric).map(|i| self.wall_at(i));
                let _ = self.inner.store.set_next_run(&fabric, at);
                continue;
            }
            if due == Some(false) {
                self.run_pending(&fabric).await;
                self.inner.idle.notify_waiters();
                continue;
            }
            self.inner.idle.notify_waiters();
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    async fn run_pending(&self, fabric: &str) {
        let permit = self
            .inner
            .global
            .clone()
            .acquire_owned()
            .await
            .expect("the global semaphore is never closed");
        let pending = {
            let mut slots = self.inner.slots.lock().unwrap();
            let slot = slots.get_mut(fabric).expect("slot");
            let Some(p) = slot.pending.take() else {
                return;
            };
            slot.running = Some(p.task_id.clone());
            p
        };
        let fence = match &self.inner.leases {
            Some(leases) => match leases.acquire_for_run(fabric).await {
                Ok(fence) => fence,
                Err(holder) => {
                    let msg = format!(
                        "another fabsync replica ({holder}) holds this fabric's lease and runs its syncs; trigger the sync there"
                    );
                    let _ = self.inner.store.task_finished(
                        &pending.task_id,
                        Phase::Failure,
                        &msg,
                        self.inner.clock.now(),
                        None,
                    );
                    self.finish_slot(fabric, &pending.task_id, Phase::Failure, None);
                    drop(permit);
                    return;
                }
            },
            None => Fence::always(),
        };
        let trigger = if pending.attempt > 1 {
            Trigger::Retry
        } else {
            pending.trigger
        };
        let req = RunRequest {
            fabric: fabric.to_string(),
            trigger,
            task_id: pending.task_id.clone(),
            attempt: pending.attempt,
            holder: self.inner.cfg.replica.clone(),
            fence: fence.clone(),
            approve_deletes: pending.approve_deletes,
        };
        let _ = self.inner.events.send(TaskEvent {
            task_id: pending.task_id.clone(),
            fabric: fabric.to_string(),
            state: Phase::Started,
            run_id: None,
        });
        let deadline = self
            .inner
            .store
            .fabric(fabric)
            .map(|f| Duration::from_secs(f.config.limits.deadline_secs))
            .unwrap_or(Duration::from_secs(300))
            + self.inner.cfg.hard_stop_grace;
        // A panic in a run fails that run and frees the fabric; the worker goes on.
        let run = std::panic::AssertUnwindSafe(self.inner.runner.run(req));
        let outcome = match tokio::time::timeout(deadline, futures::FutureExt::catch_unwind(run))
            .await
        {
            Ok(Ok(o)) => o,
            Ok(Err(panic)) => {
                let what = panic_text(panic.as_ref());
                tracing::error!(fabric, error = %what, "a run panicked; it was stopped and recorded as failed");
                self.note_internal_error(fabric, &what);
                RunOutcome {
                    run_id: None,
                    phase: Phase::Failure,
                    transient: false,
                    message: format!(
                        "fabsync hit an internal error in this run and stopped it: {what}"
                    ),
                }
            }
            Err(_) => {
                // The runner enforces the deadline itself; this is the last resort (the run
                // is closed below).
                RunOutcome {
                    run_id: None,
                    phase: Phase::Failure,
                    transient: false,
                    message: format!(
                        "deadline exceeded: the run did not end within {} s and was abandoned",
                        deadline.as_secs()
                    ),
                }
            }
        };
        if outcome.run_id.is_none() && outcome.phase == Phase::Failure {
            // The engine failed without a recorded end (e.g. the store refused it): close the
            // run it may have left open, now or as soon as the store takes it.
            self.close_abandoned(fabric);
        }
        if let Some(leases) = &self.inner.leases {
            leases.run_finished(fabric, &fence).await;
        }
        drop(permit);
        let now = self.inner.clock.now();
        let retry = outcome.phase == Phase::Failure
            && outcome.transient
            && pending.attempt < self.inner.cfg.retry.max_attempts
            && self.is_alive();
        if retry {
            let next_attempt = pending.attempt + 1;
            let wait = self.inner.cfg.retry.backoff(next_attempt);
            let at = Instant::now() + wait;
            let retry_at = self.wall_at(at);
            let msg = format!(
                "{} — retry {} of {} in {} s",
                outcome.message,
                next_attempt - 1,
                self.inner.cfg.retry.max_attempts - 1,
                wait.as_secs()
            );
            let _ = self.inner.store.task_finished(
                &pending.task_id,
                Phase::Retry,
                &msg,
                now,
                Some(retry_at),
            );
            let mut slots = self.inner.slots.lock().unwrap();
            let slot = slots.get_mut(fabric).expect("slot");
            slot.running = None;
            match &mut slot.pending {
                // A trigger arrived during the run: it carries the retry too, right away.
                Some(_) => {
                    drop(slots);
                    let _ = self.inner.store.task_finished(
                        &pending.task_id,
                        Phase::Failure,
                        &format!("{} (superseded by a newer request)", outcome.message),
                        now,
                        None,
                    );
                }
                None => {
                    slot.pending = Some(Pending {
                        task_id: pending.task_id.clone(),
                        trigger: pending.trigger,
                        attempt: next_attempt,
                        not_before: at,
                        approve_deletes: pending.approve_deletes,
                    });
                    slot.notify.notify_one();
                }
            }
            let _ = self.inner.events.send(TaskEvent {
                task_id: pending.task_id.clone(),
                fabric: fabric.to_string(),
                state: Phase::Retry,
                run_id: outcome.run_id,
            });
        } else {
            let _ = self.inner.store.task_finished(
                &pending.task_id,
                outcome.phase,
                &outcome.message,
                now,
                None,
            );
            self.finish_slot(fabric, &pending.task_id, outcome.phase, outcome.run_id);
        }
    }

    fn finish_slot(&self, fabric: &str, task_id: &str, phase: Phase, run_id: Option<i64>) {
        {
            let mut slots = self.inner.slots.lock().unwrap();
            if let Some(slot) = slots.get_mut(fabric) {
                slot.running = None;
            }
        }
        let _ = self.inner.events.send(TaskEvent {
            task_id: task_id.to_string(),
            fabric: fabric.to_string(),
            state: phase,
            run_id,
        });
    }
}

/// The message of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
