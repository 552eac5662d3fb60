//! Runs in the store: a run's record from start to end, its step, its per-object results, and
//! closing the runs an earlier process left open.
//!
//! It records what the engine reports; it decides nothing about the cluster.

use super::Cached as _;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::model::{
    Action, Counts, ObjectResult, Phase, RunEnd, RunObject, RunRecord, RunStep, StatusEvent,
    Trigger,
};
use super::texts;
use super::{At, Ctx, Store, StoreError};
use crate::clock::{format_ts, whole_seconds};

impl Store {
    /// Records a run as STARTED and returns its id.
    pub fn start_run(
        &self,
        fabric: &str,
        task_id: Option<&str>,
        trigger: Trigger,
        attempt: u32,
        now: Timestamp,
        holder: Option<&str>,
    ) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.exec_cached(
            "INSERT INTO runs (fabric, task_id, trigger, attempt, phase, started_at, holder)
             VALUES (?1, ?2, ?3, ?4, 'STARTED', ?5, ?6)",
            params![
                fabric,
                task_id,
                trigger.as_str(),
                attempt,
                format_ts(now),
                holder
            ],
        )
        .ctx("start run")?;
        let id = conn.last_insert_rowid();
        conn.exec_cached(
            "UPDATE fabrics SET last_run_id = ?2 WHERE name = ?1",
            params![fabric, id],
        )
        .ctx("link run")?;
        Ok(id)
    }

    /// Records the step a run is in (for live progress).
    pub fn run_step(&self, run_id: i64, step: RunStep) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "UPDATE runs SET step = ?2 WHERE id = ?1",
                params![run_id, step.as_str()],
            )
            .ctx("record step")?;
        Ok(())
    }

    /// Closes a run with its results, per-object results, and the fabric's summary fields.
    pub fn finish_run(
        &self,
        run_id: i64,
        end: &RunEnd,
        objects: &[RunObject],
        object_count: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction().ctx("begin finish run")?;
        let error = texts::put(&tx, end.error.as_deref())?;
        let message = end.message.as_deref().map(texts::cap);
        let phase = end.phase;
        let finished_at = end.finished_at.map(format_ts);
        let c = &end.counts;
        tx.exec_cached(
            "UPDATE runs SET phase = ?2, step = ?3, finished_at = ?4, duration_ms = ?5,
               created = ?6, updated = ?7, deleted = ?8, unchanged = ?9, failed = ?10, skipped = ?11,
               cluster_calls = ?12, netbox_calls = ?13, writes = ?14, drift = ?15,
               message = ?16, error_kind = ?17, error = ?18
             WHERE id = ?1",
            params![
                run_id,
                phase.as_str(),
                end.step.as_str(),
                finished_at,
                end.duration_ms.map(|d| d as i64),
                c.created as i64,
                c.updated as i64,
                c.deleted as i64,
                c.unchanged as i64,
                c.failed as i64,
                c.skipped as i64,
                end.cluster_calls as i64,
                end.netbox_calls as i64,
                end.writes as i64,
                end.drift as i64,
                message,
                end.error_kind,
                error,
            ],
        )
        .ctx("finish run")?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO run_objects (run_id, seq, kind, namespace, name, action, result, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .ctx("prepare run objects")?;
            for (seq, o) in objects.iter().enumerate() {
                let message = texts::put(&tx, o.message.as_deref())?;
                stmt.execute(params![
                    run_id,
                    seq as i64,
                    o.kind,
                    o.namespace,
                    o.name,
                    o.action.as_str(),
                    o.result.as_str(),
                    message
                ])
                .ctx("record run object")?;
            }
        }
        let fabric: String = tx
            .row_cached(
                "SELECT fabric FROM runs WHERE id = ?1",
                params![run_id],
                |r| r.get(0),
            )
            .ctx("read run fabric")?;
        if phase == Phase::Success {
            tx.exec_cached(
                "UPDATE fabrics SET last_success_at = ?2, last_finished_at = ?2, last_error = NULL,
                   object_count = COALESCE(?3, object_count) WHERE name = ?1",
                params![fabric, finished_at, object_count.map(|n| n as i64)],
            )
            .ctx("record success")?;
        } else {
            tx.exec_cached(
                "UPDATE fabrics SET last_finished_at = ?2, last_error = ?3 WHERE name = ?1",
                params![fabric, finished_at, error],
            )
            .ctx("record failure")?;
        }
        if let Some(keep) = self.keep_runs {
            prune_history(&tx, &fabric, keep)?;
        }
        tx.commit().ctx("commit finish run")?;
        Ok(())
    }

    /// One run.
    pub fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        let conn = self.lock();
        let mut run = conn
            .row_cached(
                &format!("{RUN_SELECT} WHERE id = ?1"),
                params![id],
                run_from_row,
            )
            .optional()
            .ctx("read run")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("run {id}"),
            })??;
        texts::resolve(&conn, &mut run.end.error)?;
        Ok(run)
    }

    /// A fabric's runs, newest first.
    pub fn runs(&self, fabric: &str, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "{RUN_SELECT} WHERE fabric = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .ctx("list runs")?;
        let rows = stmt
            .query_map(params![fabric, limit as i64], run_from_row)
            .ctx("list runs")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list runs")?;
        resolve_errors(&conn, rows)
    }

    /// Every run, oldest first.
    pub fn all_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!("{RUN_SELECT} ORDER BY id"))
            .ctx("list runs")?;
        let rows = stmt
            .query_map([], run_from_row)
            .ctx("list runs")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list runs")?;
        resolve_errors(&conn, rows)
    }

    /// The per-object results of a run, in the order they were recorded.
    pub fn run_objects(&self, run_id: i64) -> Result<Vec<RunObject>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT kind, namespace, name, action, result, message FROM run_objects
                 WHERE run_id = ?1 ORDER BY seq",
            )
            .ctx("list run objects")?;
        let rows = stmt
            .query_map(params![run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .ctx("list run objects")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list run objects")?;
        rows.into_iter()
            .map(|(kind, namespace, name, action, result, mut message)| {
                texts::resolve(&conn, &mut message)?;
                Ok(RunObject {
                    kind,
                    namespace,
                    name,
                    action: Action::parse(&action)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown action {action:?}")))?,
                    result: ObjectResult::parse(&result)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown result {result:?}")))?,
                    message,
                })
            })
            .collect()
    }

    /// Closes the runs left STARTED whose process is gone, as FAILURE "interrupted": runs of
    /// fabrics with no lock, an expired lock, a lock for another run, or a lock held by
    /// `sweep.me` (the caller, which knows its own runs are over). For each: its open intents
    /// become `unconfirmed-…` audit entries and objects that may have changed, the writes its
    /// audit rows show become its counts, its task fails, its lock goes, and its fabric leaves
    /// `syncing` — to `error` only when it is the fabric's latest run (closing an older run never
    /// overrides a newer run's status). With `sweep.tasks`, tasks whose replica is the caller or
    /// has stopped heartbeating fail too. Returns the runs closed.
    pub fn close_interrupted(&self, sweep: &Sweep<'_>) -> Result<Vec<RunRecord>, StoreError> {
        // Lock expiries are whole seconds: compare with the second `now` falls in, as stored.
        let now = whole_seconds(sweep.now);
        let open: Vec<RunRecord> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "{RUN_SELECT} WHERE phase IN ('STARTED','PENDING') AND (?1 IS NULL OR fabric = ?1) ORDER BY id"
                ))
                .ctx("find interrupted runs")?;
            let rows = stmt
                .query_map(params![sweep.fabric], run_from_row)
                .ctx("find interrupted runs")?
                .collect::<Result<Vec<_>, _>>()
                .ctx("find interrupted runs")?;
            rows.into_iter().collect::<Result<_, _>>()?
        };
        let mut closed = Vec::new();
        for run in open {
            let lock = self.fabric_lock(&run.fabric)?;
            let live = lock.as_ref().is_some_and(|l| {
                l.expires_at > now
                    && Some(l.owner.as_str()) != sweep.me
                    && l.run_id.is_none_or(|id| id == run.id)
            });
            if live {
                continue;
            }
            self.close_one(&run, now)?;
            if let Some(l) = lock
                && (l.run_id == Some(run.id)
                    || l.expires_at <= now
                    || Some(l.owner.as_str()) == sweep.me)
            {
                self.unlock_fabric(&run.fabric, &l.owner)?;
            }
            closed.push(self.run(run.id)?);
        }
        if sweep.tasks {
            self.fail_orphan_tasks(sweep)?;
        }
        // A fabric can only be `syncing` while a run is live.
        let syncing: Vec<String> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT name FROM fabrics WHERE status = 'syncing' AND (?1 IS NULL OR name = ?1)",
                )
                .ctx("find syncing fabrics")?;
            stmt.query_map(params![sweep.fabric], |r| r.get(0))
                .ctx("find syncing fabrics")?
                .collect::<Result<_, _>>()
                .ctx("find syncing fabrics")?
        };
        for f in syncing {
            let held = self
                .fabric_lock(&f)?
                .is_some_and(|l| l.expires_at > now && Some(l.owner.as_str()) != sweep.me);
            if !held {
                self.status_event(&f, &StatusEvent::RunFailed)?;
            }
        }
        Ok(closed)
    }

    /// Closes one dead run: intents settled, counts from its audit, FAILURE "interrupted".
    fn close_one(&self, run: &RunRecord, now: Timestamp) -> Result<(), StoreError> {
        let unconfirmed = self.settle_intents(run.id, now)?;
        let written: Vec<_> = self
            .audit_entries(Some(run.id))?
            .into_iter()
            .filter(|a| a.verb == "apply" || a.verb == "delete")
            .collect();
        let mut counts = run.end.counts;
        let mut objects = Vec::new();
        for a in &written {
            let action = match (a.verb.as_str(), &a.before_hash) {
                ("delete", _) => Action::Delete,
                (_, None) => Action::Create,
                _ => Action::Update,
            };
            match action {
                Action::Create => counts.created += 1,
                Action::Delete => counts.deleted += 1,
                _ => counts.updated += 1,
            }
            objects.push(RunObject {
                kind: a.kind.clone(),
                namespace: a.namespace.clone(),
                name: a.name.clone(),
                action,
                result: ObjectResult::Ok,
                message: Some("written before fabsync stopped".into()),
            });
        }
        for i in &unconfirmed {
            counts.failed += 1;
            objects.push(RunObject {
                kind: i.kind.clone(),
                namespace: i.namespace.clone(),
                name: i.name.clone(),
                action: if i.verb.ends_with("delete") {
                    Action::Delete
                } else if i.before_hash.is_none() {
                    Action::Create
                } else {
                    Action::Update
                },
                result: ObjectResult::Unknown,
                message: Some(format!(
                    "may have changed: fabsync stopped while writing it ({})",
                    i.verb
                )),
            });
        }
        let step = run.end.step;
        let mut error =
            format!("interrupted: fabsync stopped while this run was in progress (step {step})");
        if !written.is_empty() {
            error.push_str(&format!(
                "; {} write(s) had reached the cluster",
                written.len()
            ));
        }
        if !unconfirmed.is_empty() {
            let names: Vec<String> = unconfirmed
                .iter()
                .map(|i| format!("{}/{}", i.kind, i.name))
                .collect();
            error.push_str(&format!(
                "; {} object(s) may have changed: {}",
                names.len(),
                names.join(", ")
            ));
        }
        error.push_str("; the next run repairs them");
        let end = RunEnd {
            phase: Phase::Failure,
            step,
            finished_at: Some(now),
            duration_ms: Some(0),
            counts,
            cluster_calls: run.end.cluster_calls,
            netbox_calls: run.end.netbox_calls,
            writes: run.end.writes.max(written.len() as u64),
            drift: run.end.drift,
            message: Some("interrupted".into()),
            error_kind: Some("interrupted".into()),
            error: Some(error),
        };
        self.finish_run(run.id, &end, &objects, None)?;
        if let Some(task) = &run.task_id {
            self.task_finished(task, Phase::Failure, "interrupted", now, None)?;
        }
        let latest: Option<i64> = self
            .lock()
            .row_cached(
                "SELECT last_run_id FROM fabrics WHERE name = ?1",
                params![run.fabric],
                |r| r.get(0),
            )
            .optional()
            .ctx("read latest run")?
            .flatten();
        if latest == Some(run.id) {
            self.status_event(&run.fabric, &StatusEvent::RunFailed)?;
        }
        Ok(())
    }
}

/// What [`Store::close_interrupted`] sweeps.
#[derive(Debug, Clone, Copy)]
pub struct Sweep<'a> {
    /// Now (the world's clock).
    pub now: Timestamp,
    /// The caller's identity (scheduler replica or CLI process), whose own runs are known to
    /// be over; `None` closes only runs whose lock is absent, expired or for another run.
    pub me: Option<&'a str>,
    /// Only this fabric's runs.
    pub fabric: Option<&'a str>,
    /// Tasks of replicas that have not heartbeated since this time are orphans.
    pub alive_since: Timestamp,
    /// Whether to fail orphan tasks too (a run taking its fabric's lock sweeps runs only: the
    /// task it runs for is its own).
    pub tasks: bool,
}

/// Runs as read, with their stored errors resolved.
fn resolve_errors(
    conn: &Connection,
    rows: Vec<Result<RunRecord, StoreError>>,
) -> Result<Vec<RunRecord>, StoreError> {
    rows.into_iter()
        .map(|r| {
            let mut r = r?;
            texts::resolve(conn, &mut r.end.error)?;
            Ok(r)
        })
        .collect()
}

/// Keeps a fabric's newest `keep` runs: older runs go with their per-object results, tasks and
/// audit entries, and the texts only they used.
fn prune_history(conn: &Connection, fabric: &str, keep: u64) -> Result<(), StoreError> {
    let cutoff: Option<i64> = conn
        .row_cached(
            "SELECT id FROM runs WHERE fabric = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2",
            params![fabric, keep as i64],
            |r| r.get(0),
        )
        .optional()
        .ctx("find old runs")?;
    let Some(cutoff) = cutoff else { return Ok(()) };
    conn.exec_cached(
        "DELETE FROM tasks WHERE fabric = ?1 AND run_id IS NOT NULL AND run_id <= ?2
           AND state IN ('SUCCESS','FAILURE')",
        params![fabric, cutoff],
    )
    .ctx("remove old tasks")?;
    conn.exec_cached(
        "DELETE FROM audit WHERE run_id IN (SELECT id FROM runs WHERE fabric = ?1 AND id <= ?2)",
        params![fabric, cutoff],
    )
    .ctx("remove old audit entries")?;
    conn.exec_cached(
        "DELETE FROM run_objects WHERE run_id IN (SELECT id FROM runs WHERE fabric = ?1 AND id <= ?2)",
        params![fabric, cutoff],
    )
    .ctx("remove old run objects")?;
    conn.exec_cached(
        "DELETE FROM runs WHERE fabric = ?1 AND id <= ?2 AND phase IN ('SUCCESS','FAILURE')",
        params![fabric, cutoff],
    )
    .ctx("remove old runs")?;
    texts::collect_garbage(conn)
}

const RUN_SELECT: &str = "SELECT id, fabric, task_id, trigger, attempt, phase, step, started_at,
    finished_at, duration_ms, created, updated, deleted, unchanged, failed, skipped,
    cluster_calls, netbox_calls, writes, drift, message, error_kind, error, holder FROM runs";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Result<RunRecord, StoreError>> {
    let id: i64 = r.get(0)?;
    let trigger: String = r.get(3)?;
    let phase: String = r.get(5)?;
    let step: String = r.get(6)?;
    let started_at: String = r.get(7)?;
    let finished_at: Option<String> = r.get(8)?;
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
    let fabric = r.get(1)?;
    let task_id = r.get(2)?;
    let attempt = r.get::<_, i64>(4)? as u32;
    let duration_ms = r.get::<_, Option<i64>>(9)?.map(|d| d as u64);
    let counts = Counts {
        created: n(10)?,
        updated: n(11)?,
        deleted: n(12)?,
        unchanged: n(13)?,
        failed: n(14)?,
        skipped: n(15)?,
    };
    let (cluster_calls, netbox_calls, writes, drift) = (n(16)?, n(17)?, n(18)?, n(19)?);
    let (message, error_kind, error, holder) = (r.get(20)?, r.get(21)?, r.get(22)?, r.get(23)?);
    Ok((|| {
        let at = At {
            table: "runs",
            key: "id",
            id: &id,
        };
        Ok(RunRecord {
            id,
            fabric,
            task_id,
            trigger: Trigger::parse(&trigger)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger {trigger:?}")))?,
            attempt,
            started_at: at.time("started_at", started_at)?,
            holder,
            end: RunEnd {
                phase: Phase::parse(&phase)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown phase {phase:?}")))?,
                step: RunStep::parse(&step).ok_or_else(|| {
                    StoreError::Corrupt(format!("run {id}: unknown step {step:?}"))
                })?,
                finished_at: at.opt_time("finished_at", finished_at)?,
                duration_ms,
                counts,
                cluster_calls,
                netbox_calls,
                writes,
                drift,
                message,
                error_kind,
                error,
            },
        })
    })())
}
