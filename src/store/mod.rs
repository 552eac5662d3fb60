//! The SQLite store: fabrics and their settings, tasks, runs, per-object results, the audit log of
//! every write, change cursors and the baseline of what fabsync last verified.
//!
//! It is the only code that writes a fabric's status (through [`Store::status_event`], which
//! applies [`model::next_status`]). It never talks to the network and never holds secrets: fabric
//! settings name token files or variables, never token values. Timestamps are passed in by the
//! caller (from the world's clock); the store does not read a clock.

pub mod model;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::config::FabricConfig;
pub use model::*;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused an operation.
    #[error("store: {context}: {source}")]
    Sqlite {
        /// What was being done.
        context: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A fabric, task or run does not exist.
    #[error("store: {what} not found")]
    NotFound {
        /// What was looked up (`fabric "dc1"`).
        what: String,
    },
    /// The file holds data this version cannot read.
    #[error("store: {0}")]
    Corrupt(String),
}

trait Ctx<T> {
    fn ctx(self, context: &str) -> Result<T, StoreError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, context: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            context: context.to_string(),
            source,
        })
    }
}

/// Schema migrations, applied in order; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    CREATE TABLE fabrics (
        name TEXT PRIMARY KEY,
        config_json TEXT NOT NULL,
        source_hash TEXT,
        status TEXT NOT NULL DEFAULT 'never_synced'
            CHECK (status IN ('never_synced','syncing','in_sync','out_of_sync','error')),
        netbox_state TEXT NOT NULL DEFAULT 'unknown'
            CHECK (netbox_state IN ('unknown','connected','unreachable','unauthorized')),
        cluster_state TEXT NOT NULL DEFAULT 'unknown'
            CHECK (cluster_state IN ('unknown','connected','unreachable','unauthorized')),
        last_run_id INTEGER,
        last_success_at TEXT,
        last_finished_at TEXT,
        last_error TEXT,
        next_run_at TEXT,
        object_count INTEGER
    );
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,
        trigger TEXT NOT NULL CHECK (trigger IN ('manual','periodic','retry','catchup')),
        state TEXT NOT NULL CHECK (state IN ('PENDING','STARTED','SUCCESS','FAILURE','RETRY')),
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        run_id INTEGER,
        message TEXT,
        retry_at TEXT
    );
    CREATE INDEX tasks_by_fabric ON tasks(fabric, created_at);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,
        task_id TEXT,
        trigger TEXT NOT NULL CHECK (trigger IN ('manual','periodic','retry','catchup')),
        attempt INTEGER NOT NULL DEFAULT 1,
        phase TEXT NOT NULL CHECK (phase IN ('PENDING','STARTED','SUCCESS','FAILURE','RETRY')),
        step TEXT NOT NULL DEFAULT 'start',
        started_at TEXT NOT NULL,
        finished_at TEXT,
        duration_ms INTEGER,
        created INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        deleted INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        cluster_calls INTEGER NOT NULL DEFAULT 0,
        netbox_calls INTEGER NOT NULL DEFAULT 0,
        writes INTEGER NOT NULL DEFAULT 0,
        drift INTEGER NOT NULL DEFAULT 0,
        message TEXT,
        error_kind TEXT,
        error TEXT,
        holder TEXT
    );
    CREATE INDEX runs_by_fabric ON runs(fabric, id);
    CREATE TABLE run_objects (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('create','update','delete','unchanged')),
        result TEXT NOT NULL CHECK (result IN ('ok','failed','rolled_back','unknown','skipped')),
        message TEXT,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        verb TEXT NOT NULL,
        before_hash TEXT,
        after_hash TEXT,
        resource_version TEXT
    );
    CREATE INDEX audit_by_run ON audit(run_id);
    CREATE TABLE cursors (
        fabric TEXT PRIMARY KEY REFERENCES fabrics(name) ON DELETE CASCADE,
        netbox_change_id INTEGER,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE observed (
        fabric TEXT NOT NULL REFERENCES fabrics(name) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        resource_version TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        PRIMARY KEY (fabric, kind, namespace, name)
    );
    "#,
];

/// A baseline as read or written, with the database's `data_version` at that moment.
type CachedBaseline = (i64, Arc<Vec<ObservedObject>>);

/// A handle on the store; clones share one connection.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Baselines as last read or written, per fabric, with the database's `data_version` then
    /// (which changes when another connection commits). Only `replace_observed` and
    /// `reset_baseline` write baselines through this connection; both drop the entry.
    baselines: Arc<Mutex<BTreeMap<String, CachedBaseline>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// The fields a run reports when it ends.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunEnd {
    /// SUCCESS or FAILURE (or RETRY when another attempt follows).
    pub phase: Option<Phase>,
    /// The step it ended in.
    pub step: RunStep,
    /// End time.
    pub finished_at: String,
    /// Duration (monotonic).
    pub duration_ms: u64,
    /// Counts.
    pub counts: Counts,
    /// Cluster requests.
    pub cluster_calls: u64,
    /// NetBox requests.
    pub netbox_calls: u64,
    /// Effective cluster writes.
    pub writes: u64,
    /// Drifted objects repaired.
    pub drift: u64,
    /// One-line outcome.
    pub message: Option<String>,
    /// Error class.
    pub error_kind: Option<String>,
    /// Full error.
    pub error: Option<String>,
}

impl Store {
    /// Opens (creating if needed) a store file, or `:memory:`, and applies migrations.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        let conn = if path == ":memory:" {
            Connection::open_in_memory()
        } else {
            if let Some(parent) = Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Corrupt(format!(
                        "cannot create directory {}: {e}",
                        parent.display()
                    ))
                })?;
            }
            Connection::open(path)
        }
        .ctx(&format!("open {path}"))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .ctx("configure")?;
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL")
                .ctx("enable WAL")?;
        }
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            baselines: Default::default(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// An in-memory store (simulation and tests).
    pub fn in_memory() -> Self {
        Self::open(":memory:").expect("an in-memory SQLite database always opens")
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("read schema version")?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::Corrupt(format!(
                "schema version {version} is newer than this fabsync understands ({known})"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().ctx("begin migration")?;
            tx.execute_batch(sql).ctx(&format!("migration {}", i + 1))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .ctx("record schema version")?;
            tx.commit().ctx("commit migration")?;
        }
        Ok(())
    }

    /// The schema version in use.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("read schema version")
    }

    // ----- fabrics -------------------------------------------------------------------------

    /// Adds a fabric from a config file, or replaces its settings when the file's section changed
    /// since it was last imported (`source_hash`). Settings edited in the UI survive restarts
    /// until the file's section for that fabric changes. Returns whether anything changed.
    pub fn import_fabric(
        &self,
        config: &FabricConfig,
        source_hash: &str,
    ) -> Result<bool, StoreError> {
        let json = serde_json::to_string(config).expect("FabricConfig serializes");
        let conn = self.lock();
        let existing: Option<Option<String>> = conn
            .query_row(
                "SELECT source_hash FROM fabrics WHERE name = ?1",
                params![config.name],
                |r| r.get(0),
            )
            .optional()
            .ctx("read fabric")?;
        match existing {
            None => {
                conn.execute(
                    "INSERT INTO fabrics (name, config_json, source_hash) VALUES (?1, ?2, ?3)",
                    params![config.name, json, source_hash],
                )
                .ctx("insert fabric")?;
                Ok(true)
            }
            Some(Some(h)) if h == source_hash => Ok(false),
            Some(_) => {
                conn.execute(
                    "UPDATE fabrics SET config_json = ?2, source_hash = ?3 WHERE name = ?1",
                    params![config.name, json, source_hash],
                )
                .ctx("update fabric")?;
                Ok(true)
            }
        }
    }

    /// Replaces a fabric's settings (UI/API edits). The caller validated them.
    pub fn update_fabric_config(&self, config: &FabricConfig) -> Result<(), StoreError> {
        let json = serde_json::to_string(config).expect("FabricConfig serializes");
        let n = self
            .lock()
            .execute(
                "UPDATE fabrics SET config_json = ?2 WHERE name = ?1",
                params![config.name, json],
            )
            .ctx("update fabric settings")?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: format!("fabric {:?}", config.name),
            });
        }
        Ok(())
    }

    /// One fabric.
    pub fn fabric(&self, name: &str) -> Result<FabricRecord, StoreError> {
        self.lock()
            .query_row(
                &format!("{FABRIC_SELECT} WHERE name = ?1"),
                params![name],
                fabric_from_row,
            )
            .optional()
            .ctx("read fabric")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("fabric {name:?}"),
            })?
    }

    /// All fabrics, by name.
    pub fn fabrics(&self) -> Result<Vec<FabricRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("{FABRIC_SELECT} ORDER BY name"))
            .ctx("list fabrics")?;
        let rows = stmt
            .query_map([], fabric_from_row)
            .ctx("list fabrics")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list fabrics")?;
        rows.into_iter().collect()
    }

    /// Applies a status event to a fabric: the only way its status changes.
    pub fn status_event(
        &self,
        fabric: &str,
        event: &StatusEvent,
    ) -> Result<FabricStatus, StoreError> {
        let conn = self.lock();
        let current: String = conn
            .query_row(
                "SELECT status FROM fabrics WHERE name = ?1",
                params![fabric],
                |r| r.get(0),
            )
            .optional()
            .ctx("read status")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("fabric {fabric:?}"),
            })?;
        let current = FabricStatus::parse(&current)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown status {current:?}")))?;
        let next = next_status(current, event);
        conn.execute(
            "UPDATE fabrics SET status = ?2 WHERE name = ?1",
            params![fabric, next.as_str()],
        )
        .ctx("write status")?;
        Ok(next)
    }

    /// Records the reachability of NetBox and/or the cluster as a run saw them.
    pub fn set_connection_states(
        &self,
        fabric: &str,
        netbox: Option<ConnectionState>,
        cluster: Option<ConnectionState>,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        if let Some(s) = netbox {
            conn.execute(
                "UPDATE fabrics SET netbox_state = ?2 WHERE name = ?1",
                params![fabric, s.as_str()],
            )
            .ctx("write netbox state")?;
        }
        if let Some(s) = cluster {
            conn.execute(
                "UPDATE fabrics SET cluster_state = ?2 WHERE name = ?1",
                params![fabric, s.as_str()],
            )
            .ctx("write cluster state")?;
        }
        Ok(())
    }

    /// Records when the scheduler will run a fabric next (`None`: not scheduled).
    pub fn set_next_run(&self, fabric: &str, at: Option<&str>) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "UPDATE fabrics SET next_run_at = ?2 WHERE name = ?1",
                params![fabric, at],
            )
            .ctx("write next run")?;
        Ok(())
    }

    // ----- tasks ---------------------------------------------------------------------------

    /// Creates a PENDING task.
    pub fn create_task(
        &self,
        id: &str,
        fabric: &str,
        trigger: Trigger,
        now: &str,
    ) -> Result<TaskRecord, StoreError> {
        self.lock()
            .execute(
                "INSERT INTO tasks (id, fabric, trigger, state, created_at) VALUES (?1, ?2, ?3, 'PENDING', ?4)",
                params![id, fabric, trigger.as_str(), now],
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

    // ----- runs ----------------------------------------------------------------------------

    /// Records a run as STARTED and returns its id.
    pub fn start_run(
        &self,
        fabric: &str,
        task_id: Option<&str>,
        trigger: Trigger,
        attempt: u32,
        now: &str,
        holder: Option<&str>,
    ) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO runs (fabric, task_id, trigger, attempt, phase, started_at, holder)
             VALUES (?1, ?2, ?3, ?4, 'STARTED', ?5, ?6)",
            params![fabric, task_id, trigger.as_str(), attempt, now, holder],
        )
        .ctx("start run")?;
        let id = conn.last_insert_rowid();
        conn.execute(
            "UPDATE fabrics SET last_run_id = ?2 WHERE name = ?1",
            params![fabric, id],
        )
        .ctx("link run")?;
        Ok(id)
    }

    /// Records the step a run is in (for live progress).
    pub fn run_step(&self, run_id: i64, step: RunStep) -> Result<(), StoreError> {
        self.lock()
            .execute(
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
        let phase = end.phase.unwrap_or(Phase::Failure);
        let c = &end.counts;
        tx.execute(
            "UPDATE runs SET phase = ?2, step = ?3, finished_at = ?4, duration_ms = ?5,
               created = ?6, updated = ?7, deleted = ?8, unchanged = ?9, failed = ?10, skipped = ?11,
               cluster_calls = ?12, netbox_calls = ?13, writes = ?14, drift = ?15,
               message = ?16, error_kind = ?17, error = ?18
             WHERE id = ?1",
            params![
                run_id,
                phase.as_str(),
                end.step.as_str(),
                end.finished_at,
                end.duration_ms as i64,
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
                end.message,
                end.error_kind,
                end.error,
            ],
        )
        .ctx("finish run")?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO run_objects (run_id, seq, kind, namespace, name, action, result, message)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .ctx("prepare run objects")?;
            for (seq, o) in objects.iter().enumerate() {
                stmt.execute(params![
                    run_id,
                    seq as i64,
                    o.kind,
                    o.namespace,
                    o.name,
                    o.action.as_str(),
                    o.result.as_str(),
                    o.message
                ])
                .ctx("record run object")?;
            }
        }
        let fabric: String = tx
            .query_row(
                "SELECT fabric FROM runs WHERE id = ?1",
                params![run_id],
                |r| r.get(0),
            )
            .ctx("read run fabric")?;
        if phase == Phase::Success {
            tx.execute(
                "UPDATE fabrics SET last_success_at = ?2, last_finished_at = ?2, last_error = NULL,
                   object_count = COALESCE(?3, object_count) WHERE name = ?1",
                params![fabric, end.finished_at, object_count.map(|n| n as i64)],
            )
            .ctx("record success")?;
        } else {
            tx.execute(
                "UPDATE fabrics SET last_finished_at = ?2, last_error = ?3 WHERE name = ?1",
                params![fabric, end.finished_at, end.error],
            )
            .ctx("record failure")?;
        }
        tx.commit().ctx("commit finish run")?;
        Ok(())
    }

    /// One run.
    pub fn run(&self, id: i64) -> Result<RunRecord, StoreError> {
        self.lock()
            .query_row(
                &format!("{RUN_SELECT} WHERE id = ?1"),
                params![id],
                run_from_row,
            )
            .optional()
            .ctx("read run")?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("run {id}"),
            })?
    }

    /// A fabric's runs, newest first.
    pub fn runs(&self, fabric: &str, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!(
                "{RUN_SELECT} WHERE fabric = ?1 ORDER BY id DESC LIMIT ?2"
            ))
            .ctx("list runs")?;
        let rows = stmt
            .query_map(params![fabric, limit as i64], run_from_row)
            .ctx("list runs")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list runs")?;
        rows.into_iter().collect()
    }

    /// Every run, oldest first.
    pub fn all_runs(&self) -> Result<Vec<RunRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(&format!("{RUN_SELECT} ORDER BY id"))
            .ctx("list runs")?;
        let rows = stmt
            .query_map([], run_from_row)
            .ctx("list runs")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("list runs")?;
        rows.into_iter().collect()
    }

    /// The per-object results of a run, in the order they were recorded.
    pub fn run_objects(&self, run_id: i64) -> Result<Vec<RunObject>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
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
            .map(|(kind, namespace, name, action, result, message)| {
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

    /// Closes every run left STARTED (the process died) as FAILURE "interrupted", fails their
    /// tasks, and moves their fabrics out of `syncing`. Returns the runs closed.
    pub fn close_interrupted(&self, now: &str) -> Result<Vec<RunRecord>, StoreError> {
        let interrupted: Vec<RunRecord> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare(&format!(
                    "{RUN_SELECT} WHERE phase IN ('STARTED','PENDING') ORDER BY id"
                ))
                .ctx("find interrupted runs")?;
            let rows = stmt
                .query_map([], run_from_row)
                .ctx("find interrupted runs")?
                .collect::<Result<Vec<_>, _>>()
                .ctx("find interrupted runs")?;
            rows.into_iter().collect::<Result<_, _>>()?
        };
        const MESSAGE: &str = "interrupted: fabsync stopped while this run was in progress; the cluster may hold part of its writes, and the next run repairs them";
        for run in &interrupted {
            let end = RunEnd {
                phase: Some(Phase::Failure),
                step: RunStep::parse(&run.step).unwrap_or(RunStep::Start),
                finished_at: now.to_string(),
                duration_ms: 0,
                counts: run.counts,
                cluster_calls: run.cluster_calls,
                netbox_calls: run.netbox_calls,
                writes: run.writes,
                drift: run.drift,
                message: Some("interrupted".into()),
                error_kind: Some("interrupted".into()),
                error: Some(MESSAGE.into()),
            };
            self.finish_run(run.id, &end, &[], None)?;
            if let Some(task) = &run.task_id {
                self.task_finished(task, Phase::Failure, "interrupted", now, None)?;
            }
            self.status_event(&run.fabric, &StatusEvent::RunFailed)?;
        }
        // Tasks left PENDING/STARTED/RETRY without a live scheduler are failed too.
        self.lock()
            .execute(
                "UPDATE tasks SET state = 'FAILURE', message = 'interrupted', finished_at = ?1
                 WHERE state IN ('PENDING','STARTED','RETRY')",
                params![now],
            )
            .ctx("fail orphan tasks")?;
        // A fabric can only be `syncing` while a run is live.
        let syncing: Vec<String> = {
            let conn = self.lock();
            let mut stmt = conn
                .prepare("SELECT name FROM fabrics WHERE status = 'syncing'")
                .ctx("find syncing fabrics")?;
            stmt.query_map([], |r| r.get(0))
                .ctx("find syncing fabrics")?
                .collect::<Result<_, _>>()
                .ctx("find syncing fabrics")?
        };
        for f in syncing {
            self.status_event(&f, &StatusEvent::RunFailed)?;
        }
        Ok(interrupted)
    }

    // ----- audit, cursors, baseline ----------------------------------------------------------

    /// Appends one write to the audit log.
    #[allow(clippy::too_many_arguments)]
    pub fn audit(
        &self,
        run_id: i64,
        time: &str,
        kind: &str,
        namespace: &str,
        name: &str,
        verb: &str,
        before_hash: Option<&str>,
        after_hash: Option<&str>,
        resource_version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT INTO audit (run_id, time, kind, namespace, name, verb, before_hash, after_hash, resource_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![run_id, time, kind, namespace, name, verb, before_hash, after_hash, resource_version],
            )
            .ctx("append audit")?;
        Ok(())
    }

    /// The audit entries of a run (or all when `run_id` is `None`), in write order.
    pub fn audit_entries(&self, run_id: Option<i64>) -> Result<Vec<AuditEntry>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare(
                "SELECT id, run_id, time, kind, namespace, name, verb, before_hash, after_hash, resource_version
                 FROM audit WHERE (?1 IS NULL OR run_id = ?1) ORDER BY id",
            )
            .ctx("list audit")?;
        stmt.query_map(params![run_id], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                run_id: r.get(1)?,
                time: r.get(2)?,
                kind: r.get(3)?,
                namespace: r.get(4)?,
                name: r.get(5)?,
                verb: r.get(6)?,
                before_hash: r.get(7)?,
                after_hash: r.get(8)?,
                resource_version: r.get(9)?,
            })
        })
        .ctx("list audit")?
        .collect::<Result<_, _>>()
        .ctx("list audit")
    }

    /// The NetBox change id a fabric's last successful run started from.
    pub fn cursor(&self, fabric: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT netbox_change_id FROM cursors WHERE fabric = ?1",
                params![fabric],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .ctx("read cursor")?
            .flatten())
    }

    /// Stores a fabric's NetBox change cursor.
    pub fn set_cursor(
        &self,
        fabric: &str,
        change_id: Option<i64>,
        now: &str,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT INTO cursors (fabric, netbox_change_id, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(fabric) DO UPDATE SET netbox_change_id = ?2, updated_at = ?3",
                params![fabric, change_id, now],
            )
            .ctx("write cursor")?;
        Ok(())
    }

    /// Forgets a fabric's cursor and baseline (next run reads and compares everything).
    pub fn reset_baseline(&self, fabric: &str) -> Result<(), StoreError> {
        let conn = self.lock();
        self.forget_baseline(fabric);
        conn.execute("DELETE FROM cursors WHERE fabric = ?1", params![fabric])
            .ctx("reset cursor")?;
        conn.execute("DELETE FROM observed WHERE fabric = ?1", params![fabric])
            .ctx("reset baseline")?;
        Ok(())
    }

    /// Replaces the baseline of what fabsync verified in the cluster for a fabric. Only rows
    /// that differ are written (a run that changed one object rewrites one row, not 11 000).
    pub fn replace_observed(
        &self,
        fabric: &str,
        objects: &[ObservedObject],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let version = data_version(&conn)?;
        let cached = self.cached_baseline(fabric, version);
        self.forget_baseline(fabric);
        let tx = conn.transaction().ctx("begin baseline")?;
        {
            let before = match cached {
                Some(b) => b,
                None => Arc::new(read_baseline(&tx, fabric)?),
            };
            let mut old: std::collections::HashMap<(&str, &str, &str), (&str, &str)> = before
                .iter()
                .map(|o| {
                    (
                        (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
                        (o.resource_version.as_str(), o.content_hash.as_str()),
                    )
                })
                .collect();
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO observed (fabric, kind, namespace, name, resource_version, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(fabric, kind, namespace, name)
                     DO UPDATE SET resource_version = ?5, content_hash = ?6",
                )
                .ctx("prepare baseline")?;
            for o in objects {
                let key = (o.kind.as_str(), o.namespace.as_str(), o.name.as_str());
                let same = old
                    .remove(&key)
                    .is_some_and(|(rv, hash)| rv == o.resource_version && hash == o.content_hash);
                if !same {
                    upsert
                        .execute(params![
                            fabric,
                            o.kind,
                            o.namespace,
                            o.name,
                            o.resource_version,
                            o.content_hash
                        ])
                        .ctx("write baseline")?;
                }
            }
            let mut delete = tx
                .prepare_cached(
                    "DELETE FROM observed WHERE fabric = ?1 AND kind = ?2 AND namespace = ?3 AND name = ?4",
                )
                .ctx("prepare baseline")?;
            let mut gone: Vec<_> = old.into_keys().collect();
            gone.sort_unstable();
            for (kind, namespace, name) in gone {
                delete
                    .execute(params![fabric, kind, namespace, name])
                    .ctx("write baseline")?;
            }
        }
        tx.commit().ctx("commit baseline")?;
        // What was just written is the baseline (as of the data_version read before writing:
        // a commit by another connection since then makes the next read go to the database).
        let mut rows = objects.to_vec();
        rows.sort_unstable_by(|a, b| {
            (&a.kind, &a.namespace, &a.name).cmp(&(&b.kind, &b.namespace, &b.name))
        });
        rows.dedup_by(|a, b| (&a.kind, &a.namespace, &a.name) == (&b.kind, &b.namespace, &b.name));
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), (version, Arc::new(rows)));
        Ok(())
    }

    fn forget_baseline(&self, fabric: &str) {
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(fabric);
    }

    fn cached_baseline(&self, fabric: &str, version: i64) -> Option<Arc<Vec<ObservedObject>>> {
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(fabric)
            .filter(|(v, _)| *v == version)
            .map(|(_, b)| b.clone())
    }

    /// The baseline of a fabric (read once, then served from memory until it is written here or
    /// another connection commits to the database).
    pub fn observed(&self, fabric: &str) -> Result<Arc<Vec<ObservedObject>>, StoreError> {
        let conn = self.lock();
        let version = data_version(&conn)?;
        if let Some(b) = self.cached_baseline(fabric, version) {
            return Ok(b);
        }
        let rows = Arc::new(read_baseline(&conn, fabric)?);
        self.baselines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fabric.to_string(), (version, rows.clone()));
        Ok(rows)
    }
}

/// SQLite's `data_version`: changes when another connection commits.
fn data_version(conn: &Connection) -> Result<i64, StoreError> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .ctx("read data_version")
}

/// A fabric's baseline rows, in (kind, namespace, name) order.
fn read_baseline(conn: &Connection, fabric: &str) -> Result<Vec<ObservedObject>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT kind, namespace, name, resource_version, content_hash FROM observed
             WHERE fabric = ?1 ORDER BY kind, namespace, name",
        )
        .ctx("read baseline")?;
    stmt.query_map(params![fabric], |r| {
        Ok(ObservedObject {
            kind: r.get(0)?,
            namespace: r.get(1)?,
            name: r.get(2)?,
            resource_version: r.get(3)?,
            content_hash: r.get(4)?,
        })
    })
    .ctx("read baseline")?
    .collect::<Result<_, _>>()
    .ctx("read baseline")
}

const FABRIC_SELECT: &str =
    "SELECT name, config_json, status, netbox_state, cluster_state, last_run_id,
    last_success_at, last_finished_at, last_error, next_run_at, object_count FROM fabrics";

fn fabric_from_row(r: &Row<'_>) -> rusqlite::Result<Result<FabricRecord, StoreError>> {
    let name: String = r.get(0)?;
    let config_json: String = r.get(1)?;
    let status: String = r.get(2)?;
    let netbox_state: String = r.get(3)?;
    let cluster_state: String = r.get(4)?;
    let rest = (
        r.get::<_, Option<i64>>(5)?,
        r.get::<_, Option<String>>(6)?,
        r.get::<_, Option<String>>(7)?,
        r.get::<_, Option<String>>(8)?,
        r.get::<_, Option<String>>(9)?,
        r.get::<_, Option<i64>>(10)?,
    );
    Ok((|| {
        let config = serde_json::from_str(&config_json).map_err(|e| {
            StoreError::Corrupt(format!("fabric {name:?}: stored settings unreadable: {e}"))
        })?;
        let corrupt = |what: &str, v: &str| StoreError::Corrupt(format!("unknown {what} {v:?}"));
        Ok(FabricRecord {
            config,
            status: FabricStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            netbox_state: ConnectionState::parse(&netbox_state)
                .ok_or_else(|| corrupt("connection state", &netbox_state))?,
            cluster_state: ConnectionState::parse(&cluster_state)
                .ok_or_else(|| corrupt("connection state", &cluster_state))?,
            last_run_id: rest.0,
            last_success_at: rest.1,
            last_finished_at: rest.2,
            last_error: rest.3,
            next_run_at: rest.4,
            object_count: rest.5.map(|n| n as u64),
            name,
        })
    })())
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

const RUN_SELECT: &str = "SELECT id, fabric, task_id, trigger, attempt, phase, step, started_at,
    finished_at, duration_ms, created, updated, deleted, unchanged, failed, skipped,
    cluster_calls, netbox_calls, writes, drift, message, error_kind, error, holder FROM runs";

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<Result<RunRecord, StoreError>> {
    let trigger: String = r.get(3)?;
    let phase: String = r.get(5)?;
    let n = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)? as u64) };
    let rec = RunRecord {
        id: r.get(0)?,
        fabric: r.get(1)?,
        task_id: r.get(2)?,
        trigger: Trigger::Manual,
        attempt: r.get::<_, i64>(4)? as u32,
        phase: Phase::Pending,
        step: r.get(6)?,
        started_at: r.get(7)?,
        finished_at: r.get(8)?,
        duration_ms: r.get::<_, Option<i64>>(9)?.map(|d| d as u64),
        counts: Counts {
            created: n(10)?,
            updated: n(11)?,
            deleted: n(12)?,
            unchanged: n(13)?,
            failed: n(14)?,
            skipped: n(15)?,
        },
        cluster_calls: n(16)?,
        netbox_calls: n(17)?,
        writes: n(18)?,
        drift: n(19)?,
        message: r.get(20)?,
        error_kind: r.get(21)?,
        error: r.get(22)?,
        holder: r.get(23)?,
    };
    Ok((|| {
        Ok(RunRecord {
            trigger: Trigger::parse(&trigger)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown trigger {trigger:?}")))?,
            phase: Phase::parse(&phase)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown phase {phase:?}")))?,
            ..rec
        })
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConflictPolicy, FabricConfig, Limits, NetboxTarget};

    fn fabric(name: &str) -> FabricConfig {
        FabricConfig {
            name: name.into(),
            site: None,
            tag: None,
            netbox: NetboxTarget {
                url: "http://netbox.sim".into(),
                token_file: None,
                token_env: Some("NB".into()),
            },
            cluster: Default::default(),
            namespace: "default".into(),
            interval_secs: 60,
            enabled: true,
            conflict_policy: ConflictPolicy::Fail,
            limits: Limits::default(),
        }
    }

    #[test]
    fn migrations_apply_once_and_file_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s/fabsync.sqlite");
        let path = path.to_str().unwrap();
        let s = Store::open(path).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        s.import_fabric(&fabric("dc1"), "h1").unwrap();
        drop(s);
        let s = Store::open(path).unwrap();
        assert_eq!(s.fabrics().unwrap().len(), 1);
    }

    #[test]
    fn config_file_seeds_and_ui_edits_survive_until_the_file_changes() {
        let s = Store::in_memory();
        assert!(s.import_fabric(&fabric("dc1"), "h1").unwrap());
        let mut edited = fabric("dc1");
        edited.interval_secs = 600;
        s.update_fabric_config(&edited).unwrap();
        assert!(!s.import_fabric(&fabric("dc1"), "h1").unwrap());
        assert_eq!(s.fabric("dc1").unwrap().config.interval_secs, 600);
        assert!(s.import_fabric(&fabric("dc1"), "h2").unwrap());
        assert_eq!(s.fabric("dc1").unwrap().config.interval_secs, 60);
    }

    #[test]
    fn interrupted_runs_are_closed_and_fabric_leaves_syncing() {
        let s = Store::in_memory();
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        s.create_task("t1", "dc1", Trigger::Manual, "2026-01-01T00:00:00Z")
            .unwrap();
        let run = s
            .start_run(
                "dc1",
                Some("t1"),
                Trigger::Manual,
                1,
                "2026-01-01T00:00:00Z",
                None,
            )
            .unwrap();
        s.task_started("t1", run, "2026-01-01T00:00:00Z").unwrap();
        s.status_event("dc1", &StatusEvent::RunStarted).unwrap();
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::Syncing);

        let closed = s.close_interrupted("2026-01-01T00:05:00Z").unwrap();
        assert_eq!(closed.len(), 1);
        let r = s.run(run).unwrap();
        assert_eq!(r.phase, Phase::Failure);
        assert_eq!(r.error_kind.as_deref(), Some("interrupted"));
        assert_eq!(s.task("t1").unwrap().state, Phase::Failure);
        let f = s.fabric("dc1").unwrap();
        assert_eq!(f.status, FabricStatus::Error);
        assert!(f.last_error.unwrap().starts_with("interrupted"));
    }

    #[test]
    fn invalid_states_are_refused_by_the_schema() {
        let s = Store::in_memory();
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        let err = s
            .lock()
            .execute(
                "UPDATE fabrics SET status = 'synced' WHERE name = 'dc1'",
                [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("CHECK constraint failed"));
    }
}
