//! Tasks in the store: what a trigger asked for (PENDING → STARTED → SUCCESS/FAILURE/RETRY)
//! and the run each attempt became.
//!
//! It does not schedule; the scheduler does.

use rusqlite::{OptionalExtension, Row, params};

use super::model::{Phase, TaskRecord, Trigger};
use super::{Ctx, Store, StoreError};

impl Store {
    /// Creates a PENDING task.
    pub fn create_task(
        &self,
        id: &str,
        fabric: &str,
        trigger: Trigger,
        now: &str,
        owner: &str,
    ) -> Result<TaskRecord, StoreError> {
        self.lock()
            .execute(
                "INSERT INTO tasks (id, fabric, trigger, state, created_at, owner) VALUES (?1, ?2, ?3, 'PENDING', ?4, ?5)",
                params![id, fabric, trigger.as_str(), now, owner],
            )
            .ctx("create task")?;
        self.task(id)
    }

    /// One task.
    pub fn task(&self, id: &str) -> Result<TaskRecord, StoreError> {
        self.lock()
            .query_row(
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
            .prepare(&format!(
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
            .prepare(&format!("{TASK_SELECT} ORDER BY created_at, rowid"))
            .ctx("list tasks")?;
        let rows = stmt
            .query_map([], task_from_row)
            .ctx("list tasks")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list tasks")?;
        rows.into_iter().collect()
    }

    /// Marks a task STARTED with a new run attempt.
    pub fn task_started(&self, id: &str, run_id: i64, now: &str) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE tasks SET state = 'STARTED', attempts = attempts + 1, run_id = ?2,
                 started_at = COALESCE(started_at, ?3), retry_at = NULL WHERE id = ?1",
                params![id, run_id, now],
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
        now: &str,
        retry_at: Option<&str>,
    ) -> Result<(), StoreError> {
        let finished = if state.is_final() { Some(now) } else { None };
        self.lock()
            .execute(
                "UPDATE tasks SET state = ?2, message = ?3, finished_at = ?4, retry_at = ?5 WHERE id = ?1",
                params![id, state.as_str(), message, finished, retry_at],
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
            .execute(
                "UPDATE tasks SET state = 'FAILURE', message = 'interrupted', finished_at = ?1
                 WHERE state IN ('PENDING','STARTED','RETRY')
                   AND (?3 IS NULL OR fabric = ?3)
                   AND (owner IS NULL OR owner = ?2
                        OR NOT EXISTS (SELECT 1 FROM replicas r WHERE r.id = tasks.owner AND r.heartbeat_at > ?4))",
                params![sweep.now, sweep.me, sweep.fabric, sweep.alive_since],
            )
            .ctx("fail orphan tasks")?;
        Ok(())
    }
}

const TASK_SELECT: &str = "SELECT id, fabric, trigger, state, attempts, created_at, started_at,
    finished_at, run_id, message, retry_at FROM tasks";

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<Result<TaskRecord, StoreError>> {
    let trigger: String = r.get(2)?;
    let state: String = r.get(3)?;
    let rec = TaskRecord {
        id: r.get(0)?,
        fabric: r.get(1)?,
        trigger: Trigger::Manual,
        state: Phase::Pending,
        attempts: r.get::<_, i64>(4)? as u32,
        created_at: r.get(5)?,
        started_at: r.get(6)?,
        finished_at: r.get(7)?,
        run_id: r.get(8)?,
        message: r.get(9)?,
        retry_at: r.get(10)?,
    };
    Ok((|| {
        Ok(TaskRecord {
            trigger: Trigger::parse(&trigger)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger {trigger:?}")))?,
            state: Phase::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown task state {state:?}")))?,
            ..rec
        })
    })())
}
