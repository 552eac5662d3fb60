//! The SQLite store: fabrics and their settings, tasks, runs, per-object results, the audit log of
//! every write, change cursors and the baseline of what fabsync last verified.
//!
//! It is the only code that writes a fabric's status (through [`Store::status_event`], which
//! applies [`model::next_status`]). It never talks to the network and never holds secrets: fabric
//! settings name token files or variables, never token values. Timestamps are passed in by the
//! caller (from the world's clock); the store does not read a clock. It keeps them as TEXT in
//! [`crate::clock::format_ts`] form (RFC 3339, whole seconds, `Z`), whose string order is time order.

mod audit;
mod fabrics;
mod intents;
mod locks;
mod migrations;
pub mod model;
mod runs;
mod tasks;
mod texts;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension};

pub use audit::AuditWrite;
pub use intents::{Intent, IntentRecord};
pub use locks::{FabricLock, LockOutcome};
use migrations::MIGRATIONS;
pub use model::*;
pub use runs::Sweep;
pub use texts::{MAX_TEXT, cap as cap_text};

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
    /// A stored time is not an RFC 3339 timestamp.
    #[error("store: table {table}, row {row}, column {column}: {value:?} is not a timestamp")]
    CorruptTime {
        /// The table (`runs`).
        table: &'static str,
        /// The row's key (`id 7`, `name dc1`).
        row: String,
        /// The column (`started_at`).
        column: &'static str,
        /// What the column holds.
        value: String,
        /// Why it does not parse.
        source: jiff::Error,
    },
}

/// The row a stored time is read from, for [`StoreError::CorruptTime`].
#[derive(Clone, Copy)]
struct At<'a> {
    /// The table.
    table: &'static str,
    /// The column that identifies the row (`id`).
    key: &'static str,
    /// Its value.
    id: &'a dyn std::fmt::Display,
}

impl At<'_> {
    /// Parses a stored time (TEXT written by [`crate::clock::format_ts`]).
    fn time(&self, column: &'static str, value: String) -> Result<Timestamp, StoreError> {
        value.parse().map_err(|source| StoreError::CorruptTime {
            table: self.table,
            row: format!("{} {}", self.key, self.id),
            column,
            value,
            source,
        })
    }

    /// Parses a stored time that may be NULL.
    fn opt_time(
        &self,
        column: &'static str,
        value: Option<String>,
    ) -> Result<Option<Timestamp>, StoreError> {
        value.map(|v| self.time(column, v)).transpose()
    }
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
    /// Runs kept per fabric (older ones go when a run ends); `None` keeps all.
    keep_runs: Option<u64>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// `execute` and `query_row` through the connection's statement cache.
pub(crate) trait Cached {
    /// Runs one statement (prepared once per connection).
    fn exec_cached<P: rusqlite::Params>(&self, sql: &str, p: P) -> rusqlite::Result<usize>;
    /// Reads one row (prepared once per connection).
    fn row_cached<T, P, F>(&self, sql: &str, p: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec_cached<P: rusqlite::Params>(&self, sql: &str, p: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(p)
    }
    fn row_cached<T, P, F>(&self, sql: &str, p: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(p, f)
    }
}

/// Copies a migrated empty database into a fresh in-memory one: the simulator opens a store
/// per replica and per seed, and running the migrations' SQL each time was a tenth of a short
/// seed. The template is migrated once per process, by the same `migrate` as every file.
fn copy_migrated_template(conn: &mut Connection) -> Result<(), StoreError> {
    static TEMPLATE: std::sync::OnceLock<Result<Mutex<Connection>, String>> =
        std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let conn = Connection::open_in_memory().map_err(|e| e.to_string())?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(|e| e.to_string())?;
        let store = Store {
            conn: Arc::new(Mutex::new(conn)),
            baselines: Default::default(),
            keep_runs: None,
        };
        store.migrate().map_err(|e| e.to_string())?;
        let conn = Arc::try_unwrap(store.conn)
            .map_err(|_| "the template store is still shared".to_string())?
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        Ok(Mutex::new(conn))
    });
    let template = match template {
        Ok(t) => t.lock().unwrap_or_else(|p| p.into_inner()),
        Err(e) => {
            return Err(StoreError::Corrupt(format!(
                "migrating the template store: {e}"
            )));
        }
    };
    let backup = rusqlite::backup::Backup::new(&template, conn).ctx("copy the template store")?;
    match backup.step(-1).ctx("copy the template store")? {
        rusqlite::backup::StepResult::Done => Ok(()),
        other => Err(StoreError::Corrupt(format!(
            "copying the template store stopped early: {other:?}"
        ))),
    }
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
        let mut conn = conn;
        if path == ":memory:" {
            copy_migrated_template(&mut conn)?;
        }
        // Every statement is prepared once per connection (SQL parsing was a tenth of a
        // simulated replica's time).
        conn.set_prepared_statement_cache_capacity(256);
        if path != ":memory:" {
            conn.pragma_update(None, "journal_mode", "WAL")
                .ctx("enable WAL")?;
        }
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            baselines: Default::default(),
            keep_runs: Some(crate::config::DEFAULT_KEEP_RUNS),
        };
        store.migrate()?;
        Ok(store)
    }

    /// Keeps `keep` runs per fabric (with their objects, tasks and audit entries); `None` keeps
    /// every run.
    pub fn with_retention(mut self, keep: Option<u64>) -> Self {
        self.keep_runs = keep;
        self
    }

    /// An in-memory store (simulation and tests).
    pub fn in_memory() -> Self {
        Self::open(":memory:").expect("an in-memory SQLite database always opens")
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the migrations this database lacks. Each runs in an immediate transaction that
    /// re-reads the version, so two processes opening one file migrate it once. Foreign keys
    /// are off meanwhile (a migration may rebuild a referenced table) and checked afterwards.
    fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let known = MIGRATIONS.len() as i64;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("read schema version")?;
        if version > known {
            return Err(StoreError::Corrupt(format!(
                "schema version {version} is newer than this fabsync understands ({known})"
            )));
        }
        if version == known {
            return Ok(());
        }
        conn.execute_batch("PRAGMA foreign_keys = OFF;")
            .ctx("pause foreign keys")?;
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .ctx("begin migration")?;
            let version: i64 = tx
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .ctx("read schema version")?;
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                tx.execute_batch(sql).ctx(&format!("migration {}", i + 1))?;
            }
            tx.pragma_update(None, "user_version", known)
                .ctx("record schema version")?;
            let broken: Option<String> = tx
                .row_cached("PRAGMA foreign_key_check", [], |r| r.get(0))
                .optional()
                .ctx("check foreign keys")?;
            if let Some(table) = broken {
                return Err(StoreError::Corrupt(format!(
                    "migration left a dangling reference in table {table}"
                )));
            }
            tx.commit().ctx("commit migration")
        })();
        conn.execute_batch("PRAGMA foreign_keys = ON;")
            .ctx("resume foreign keys")?;
        result
    }

    /// Simulates a full disk (tests, the simulator): with `true` the database may not grow by a
    /// page (SQLite's `max_page_count`), so writes that need room fail with SQLite's own
    /// "database or disk is full"; `false` gives the room back.
    pub fn simulate_full_disk(&self, full: bool) -> Result<(), StoreError> {
        let conn = self.lock();
        let limit: i64 = if full {
            conn.pragma_query_value(None, "page_count", |r| r.get(0))
                .ctx("read page count")?
        } else {
            i64::from(u32::MAX - 1)
        };
        conn.pragma_update(None, "max_page_count", limit)
            .ctx("set max page count")?;
        Ok(())
    }

    /// The schema version in use.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .ctx("read schema version")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConflictPolicy, FabricConfig, Limits, NetboxTarget};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

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
            prune: crate::config::PruneMode::Auto,
            max_deletes: 10,
            max_delete_percent: 25,
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
        s.create_task(
            "t1",
            "dc1",
            Trigger::Manual,
            at("2026-01-01T00:00:00Z"),
            "a",
        )
        .unwrap();
        let run = s
            .start_run(
                "dc1",
                Some("t1"),
                Trigger::Manual,
                1,
                at("2026-01-01T00:00:00Z"),
                None,
            )
            .unwrap();
        s.task_started("t1", run, at("2026-01-01T00:00:00Z"))
            .unwrap();
        s.status_event("dc1", &StatusEvent::RunStarted).unwrap();
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::Syncing);

        let closed = s
            .close_interrupted(&Sweep {
                now: at("2026-01-01T00:05:00Z"),
                me: Some("a"),
                fabric: None,
                alive_since: at("2026-01-01T00:04:30Z"),
                tasks: true,
            })
            .unwrap();
        assert_eq!(closed.len(), 1);
        let r = s.run(run).unwrap();
        assert_eq!(r.end.phase, Phase::Failure);
        assert_eq!(r.end.error_kind.as_deref(), Some("interrupted"));
        assert_eq!(s.task("t1").unwrap().state, Phase::Failure);
        let f = s.fabric("dc1").unwrap();
        assert_eq!(f.status, FabricStatus::Error);
        assert!(f.last_error.unwrap().starts_with("interrupted"));
    }

    /// Another process's live run is left alone; once its lock expires, the run is closed, with
    /// the writes its audit shows and the intents it left named as objects that may have
    /// changed. Closing it does not override the status of a newer run.
    #[test]
    fn only_dead_runs_are_closed_and_their_writes_are_named() {
        let s = Store::in_memory();
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        let t0 = at("2026-01-01T00:00:00Z");
        assert_eq!(
            s.lock_fabric("dc1", "serve-1", t0, at("2026-01-01T00:00:30Z"))
                .unwrap(),
            LockOutcome::Acquired { stale: None }
        );
        let run = s
            .start_run("dc1", None, Trigger::Manual, 1, t0, Some("serve-1"))
            .unwrap();
        s.lock_run("dc1", "serve-1", run).unwrap();
        s.status_event("dc1", &StatusEvent::RunStarted).unwrap();
        let w = |name: &'static str, before: Option<&'static str>| Intent {
            kind: "Switch",
            namespace: "default",
            name,
            verb: "apply",
            before_hash: before,
            after_hash: Some("h2"),
        };
        let seqs = s
            .intend(run, "dc1", t0, &[w("a", None), w("b", Some("h1"))])
            .unwrap();
        s.write_done(
            seqs[0],
            &AuditWrite {
                run_id: run,
                time: t0,
                kind: "Switch",
                namespace: "default",
                name: "a",
                verb: "apply",
                before_hash: None,
                after_hash: Some("h2"),
                resource_version: Some("7"),
            },
        )
        .unwrap();
        // A CLI process looks while serve-1 is alive: nothing is closed.
        let sweep = |now| Sweep {
            now: at(now),
            me: Some("cli"),
            fabric: None,
            alive_since: at(now),
            tasks: true,
        };
        assert!(
            s.close_interrupted(&sweep("2026-01-01T00:00:10Z"))
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::Syncing);
        assert_eq!(
            s.lock_fabric(
                "dc1",
                "cli",
                at("2026-01-01T00:00:10Z"),
                at("2026-01-01T00:00:40Z")
            )
            .unwrap(),
            LockOutcome::Held(s.fabric_lock("dc1").unwrap().unwrap())
        );
        // serve-1 was killed: its lock expires, and the next look closes the run.
        let closed = s.close_interrupted(&sweep("2026-01-01T00:01:00Z")).unwrap();
        assert_eq!(closed.len(), 1);
        let r = s.run(run).unwrap();
        assert_eq!(r.end.phase, Phase::Failure);
        assert_eq!(r.end.counts.created, 1);
        let err = r.end.error.unwrap();
        assert!(err.contains("1 write(s) had reached the cluster"), "{err}");
        assert!(err.contains("may have changed: Switch/b"), "{err}");
        let objects = s.run_objects(run).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].result, ObjectResult::Unknown);
        let verbs: Vec<String> = s
            .audit_entries(Some(run))
            .unwrap()
            .into_iter()
            .map(|a| a.verb)
            .collect();
        assert_eq!(verbs, ["apply", "unconfirmed-apply"]);
        assert!(s.open_intents(run).unwrap().is_empty());
        assert!(s.fabric_lock("dc1").unwrap().is_none());
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::Error);

        // An older run left open behind a newer, successful one: closing it keeps in_sync.
        let old = s
            .start_run("dc1", None, Trigger::Manual, 1, t0, None)
            .unwrap();
        let newer = s
            .start_run("dc1", None, Trigger::Manual, 1, t0, None)
            .unwrap();
        s.finish_run(
            newer,
            &RunEnd {
                phase: Phase::Success,
                step: RunStep::Start,
                finished_at: Some(t0),
                duration_ms: Some(0),
                counts: Counts::default(),
                cluster_calls: 0,
                netbox_calls: 0,
                writes: 0,
                drift: 0,
                message: None,
                error_kind: None,
                error: None,
            },
            &[],
            Some(0),
        )
        .unwrap();
        s.status_event("dc1", &StatusEvent::RunVerified).unwrap();
        let closed = s.close_interrupted(&sweep("2026-01-01T00:02:00Z")).unwrap();
        assert_eq!(closed.iter().map(|r| r.id).collect::<Vec<_>>(), [old]);
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::InSync);
    }

    /// Times are stored in `format_ts` form, so a database written before they were typed reads
    /// unchanged; a value that is not a time names where it is.
    #[test]
    fn stored_times_read_back_and_bad_ones_are_named() {
        let s = Store::in_memory();
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        s.set_next_run("dc1", Some(at("2026-01-01T00:10:00.900Z")))
            .unwrap();
        let stored: String = s
            .lock()
            .row_cached(
                "SELECT next_run_at FROM fabrics WHERE name = 'dc1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, "2026-01-01T00:10:00Z");
        assert_eq!(
            s.fabric("dc1").unwrap().next_run_at,
            Some(at("2026-01-01T00:10:00Z"))
        );
        let run = s
            .start_run(
                "dc1",
                None,
                Trigger::Manual,
                1,
                at("2026-01-01T00:00:00Z"),
                None,
            )
            .unwrap();
        s.lock()
            .exec_cached(
                "UPDATE runs SET started_at = 'yesterday' WHERE id = ?1",
                [run],
            )
            .unwrap();
        let err = s.run(run).unwrap_err();
        assert!(
            matches!(
                &err,
                StoreError::CorruptTime { table: "runs", column: "started_at", row, value, .. }
                    if row == &format!("id {run}") && value == "yesterday"
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "store: table runs, row id {run}, column started_at: \"yesterday\" is not a timestamp"
            )
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    fn fail_run(s: &Store, error: &str, t: &str) -> i64 {
        let run = s
            .start_run("dc1", None, Trigger::Periodic, 1, at(t), None)
            .unwrap();
        let end = RunEnd {
            phase: Phase::Failure,
            step: RunStep::Plan,
            finished_at: Some(at(t)),
            duration_ms: Some(1),
            counts: Counts::default(),
            cluster_calls: 0,
            netbox_calls: 0,
            writes: 0,
            drift: 0,
            message: Some("invalid NetBox data".into()),
            error_kind: Some("invalid_data".into()),
            error: Some(error.into()),
        };
        let objects = [RunObject {
            kind: "Switch".into(),
            namespace: "default".into(),
            name: "leaf-01".into(),
            action: Action::Create,
            result: ObjectResult::NotApplied,
            message: Some(error.into()),
        }];
        s.finish_run(run, &end, &objects, None).unwrap();
        run
    }

    /// A megabyte error on every failed run is capped and kept once (the database grew 16 MB
    /// in 90 s of failing runs before); run history is bounded by `keep_runs`.
    #[test]
    fn long_errors_are_capped_and_kept_once_and_history_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let s = Store::open(path.to_str().unwrap())
            .unwrap()
            .with_retention(Some(5));
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        let huge = format!(
            "NetBox dcim.device 7, field description: {}",
            "x".repeat(1 << 20)
        );
        let mut last = 0;
        for i in 0..20 {
            last = fail_run(&s, &huge, &format!("2026-01-01T00:{i:02}:00Z"));
        }
        let r = s.run(last).unwrap();
        let err = r.end.error.unwrap();
        assert!(err.len() <= MAX_TEXT + 64, "{}", err.len());
        assert!(
            err.ends_with("more bytes not kept)"),
            "{}",
            &err[err.len() - 60..]
        );
        assert_eq!(
            s.run_objects(last).unwrap()[0].message.as_deref(),
            Some(err.as_str())
        );
        assert_eq!(
            s.fabric("dc1").unwrap().last_error.as_deref(),
            Some(err.as_str())
        );
        let texts: i64 = s
            .lock()
            .row_cached("SELECT COUNT(*) FROM texts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(texts, 1, "one stored text for twenty runs");
        assert_eq!(s.runs("dc1", 100).unwrap().len(), 5, "history is bounded");
        drop(s);
        let size = std::fs::metadata(&path).unwrap().len()
            + std::fs::metadata(dir.path().join("s.sqlite-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        assert!(size < 512 * 1024, "the store is {size} bytes");
    }

    /// A database of the first schema (the one the previous release wrote) opens, migrates, and
    /// keeps its fabrics, runs and per-object results.
    #[test]
    fn a_first_schema_database_is_upgraded_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            let cfg = serde_json::to_string(&fabric("dc1")).unwrap();
            conn.exec_cached(
                "INSERT INTO fabrics (name, config_json, status, last_error) VALUES ('dc1', ?1, 'error', 'boom')",
                [cfg],
            )
            .unwrap();
            conn.execute_batch(
                "INSERT INTO runs (fabric, trigger, phase, step, started_at, error) VALUES ('dc1', 'manual', 'FAILURE', 'apply', '2026-01-01T00:00:00Z', 'boom');
                 INSERT INTO run_objects (run_id, seq, kind, namespace, name, action, result) VALUES (1, 0, 'Switch', 'default', 'a', 'create', 'failed');
                 INSERT INTO cursors (fabric, netbox_change_id, updated_at) VALUES ('dc1', 7, '2026-01-01T00:00:00Z');",
            )
            .unwrap();
        }
        let s = Store::open(path.to_str().unwrap()).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let f = s.fabric("dc1").unwrap();
        assert_eq!(
            (f.status, f.last_error.as_deref()),
            (FabricStatus::Error, Some("boom"))
        );
        assert_eq!(s.run(1).unwrap().end.error.as_deref(), Some("boom"));
        assert_eq!(s.run_objects(1).unwrap().len(), 1);
        assert_eq!(
            s.cursor("dc1").unwrap(),
            Some(ChangeCursor {
                id: 7,
                fingerprint: None
            })
        );
        // The new states are allowed now.
        s.status_event("dc1", &StatusEvent::RunHeld).unwrap();
        assert_eq!(s.fabric("dc1").unwrap().status, FabricStatus::Held);
    }

    #[test]
    fn invalid_states_are_refused_by_the_schema() {
        let s = Store::in_memory();
        s.import_fabric(&fabric("dc1"), "h").unwrap();
        let err = s
            .lock()
            .exec_cached(
                "UPDATE fabrics SET status = 'synced' WHERE name = 'dc1'",
                [],
            )
            .unwrap_err();
        assert!(err.to_string().contains("CHECK constraint failed"));
    }
}
