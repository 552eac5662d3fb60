//! Tasks in the store: what a trigger asked for (PENDING → STARTED → SUCCESS/FAILURE/RETRY)
//! and the run each attempt became.
//!
//! It does not schedule; the scheduler does.

use super::Cached as _;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

use super::model::{Phase, TaskRecord, Trigger};
use super::{At, Ctx, Store, StoreError};
use crate::clock::format_ts;

impl Store {
    /// Creates a PENDING task.
    pub fn create_task(
        &self,
        id: &str,
        fabric: &str,
        trigger: Trigger,
        now: Timestamp,
        owner: &str,
    ) -> Result<TaskRecord, StoreError> {
        self.lock()
            .exec_cached(
                "INSERT INTO tasks (id, fabric, trigger, state, created_at, owner) VALUES (?1, ?2, ?3, 'PENDING', ?4, ?5)",
                params![id, fabric, trigger.as_str(), format_ts(now), owner],
            )
            .ctx("create task")?;
        self.task(id)
    }

    /// One task.
    pub fn task(&self, id: &str) -> Result<TaskRecord, StoreError> {
        self.lock()
            .row_cached(
                &format!("{TASK_SELECT} WHERE id = ?1"),
                params![id],
                task_from_row,
            )
            .optional()
            .ctx("read task")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("task {id:?}"),
            })?
    }

    /// Recent tasks of a fabric, newest first.
    pub fn tasks(&self, fabric: &str, limit: usize) -> Result<Vec<TaskRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "{TASK_SELECT} WHERE fabric = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2"
            ))
            .ctx("list tasks")?;
        let rows = stmt
            .query_map(params![fabric, limit as i64], task_from_row)
            .ctx("list tasks")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list tasks")?;
        rows.into_iter().collect()
    }

    /// Every task ever recorded, oldest first (evidence).
    pub fn all_tasks(&self) -> Result<Vec<TaskRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!("{TASK_SELECT} ORDER BY created_at, rowid"))
            .ctx("list tasks")?;
        let rows = stmt
            .query_map([], task_from_row)
            .ctx("list tasks")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list tasks")?;
        rows.into_iter().collect()
    }

    /// Marks a task STARTED with a new run attempt.
    pub fn task_started(&self, id: &str, run_id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "UPDATE tasks SET state = 'STARTED', attempts = attempts + 1, run_id = ?2,
                 started_at = COALESCE(started_at, ?3), retry_at = NULL WHERE id = ?1",
                params![id, run_id, format_ts(now)],
            )
            .ctx("start task")?;
        Ok(())
    }

    /// Moves a task to SUCCESS, FAILURE or RETRY.
    pub fn task_finished(
        &self,
        id: &str,
        state: Phase,
        message: &str,
        now: Timestamp,
        retry_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let finished = state.is_final().then(|| format_ts(now));
        self.lock()
            .exec_cached(
                "UPDATE tasks SET state = ?2, message = ?3, finished_at = ?4, retry_at = ?5 WHERE id = ?1",
                params![
                    id,
                    state.as_str(),
                    super::texts::cap(message),
                    finished,
                    retry_at.map(format_ts)
                ],
            )
            .ctx("finish task")?;
        Ok(())
    }
}

impl Store {
    /// Fails the tasks no live scheduler will finish: those of the caller (`sweep.me`), of no
    /// replica, or of a replica that stopped heartbeating before `sweep.alive_since`.
    pub fn fail_orphan_tasks(&self, sweep: &super::runs::Sweep<'_>) -> Result<(), StoreError> {
        self.lock()
            .exec_cached(
                "UPDATE tasks SET state = 'FAILURE', message = 'interrupted', finished_at = ?1
                 WHERE state IN ('PENDING','STARTED','RETRY')
                   AND (?3 IS NULL OR fabric = ?3)
                   AND (owner IS NULL OR owner = ?2
                        OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = tasks.owner AND r.heartbeat_at > ?4))",
                params![
                    format_ts(sweep.now),
                    sweep.me,
                    sweep.fabric,
                    format_ts(sweep.alive_since)
                ],
            )
            .ctx("fail orphan tasks")?;
        Ok(())
    }
}

const TASK_SELECT: &str = "SELECT id, fabric, trigger, state, attempts, created_at, started_at,
    finished_at, run_id, message, retry_at FROM tasks";

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Result<TaskRecord, StoreError>> {
    let id: String = r.get(0)?;
    let fabric = r.get(1)?;
    let trigger: String = r.get(2)?;
    let state: String = r.get(3)?;
    let attempts = r.get::<_, i64>(4)? as u32;
    let created_at: String = r.get(5)?;
    let started_at: Option<String> = r.get(6)?;
    let finished_at: Option<String> = r.get(7)?;
    let (run_id, message) = (r.get(8)?, r.get(9)?);
    let retry_at: Option<String> = r.get(10)?;
    Ok((|| {
        let at = At {
            table: "tasks",
            key: "id",
            id: &id,
        };
        Ok(TaskRecord {
            trigger: Trigger::parse(&trigger)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger {trigger:?}")))?,
            state: Phase::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown task state {state:?}")))?,
            attempts,
            created_at: at.time("created_at", created_at)?,
            started_at: at.opt_time("started_at", started_at)?,
            finished_at: at.opt_time("finished_at", finished_at)?,
            run_id,
            message,
            retry_at: at.opt_time("retry_at", retry_at)?,
            fabric,
            id,
        })
    })())
}
