//! The store's schema, as an ordered list of migrations: migration N brings a database from
//! `user_version` N-1 to N (`PRAGMA user_version` is the number applied). Only ever append.

pub(super) const MIGRATIONS: &[&str] = &[
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
    // 2: a fabric can be held (deletions await approval); an object can be "not applied" (the
    // run stopped before writing it); write intents precede every cluster write; fabric locks
    // keep one run per fabric across processes; the change cursor carries the fingerprint of
    // the record it points at (to notice a restored or different NetBox). Tables whose CHECK
    // constraints change are rebuilt (SQLite cannot alter a CHECK); foreign keys are off while
    // this runs (see `Store::migrate`).
    r#"
    CREATE TABLE fabrics_new (
        name TEXT PRIMARY KEY,
        config_json TEXT NOT NULL,
        source_hash TEXT,
        status TEXT NOT NULL DEFAULT 'never_synced'
            CHECK (status IN ('never_synced','syncing','in_sync','out_of_sync','error','held')),
        netbox_state TEXT NOT NULL DEFAULT 'unknown'
            CHECK (netbox_state IN ('unknown','connected','unreachable','unauthorized','server_error','throttled')),
        cluster_state TEXT NOT NULL DEFAULT 'unknown'
            CHECK (cluster_state IN ('unknown','connected','unreachable','unauthorized','server_error','throttled')),
        last_run_id INTEGER,
        last_success_at TEXT,
        last_finished_at TEXT,
        last_error TEXT,
        next_run_at TEXT,
        object_count INTEGER
    );
    INSERT INTO fabrics_new SELECT name, config_json, source_hash, status, netbox_state,
        cluster_state, last_run_id, last_success_at, last_finished_at, last_error, next_run_at,
        object_count FROM fabrics;
    DROP TABLE fabrics;
    ALTER TABLE fabrics_new RENAME TO fabrics;
    CREATE TABLE run_objects_new (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('create','update','delete','unchanged')),
        result TEXT NOT NULL
            CHECK (result IN ('ok','failed','rolled_back','unknown','skipped','not_applied')),
        message TEXT,
        PRIMARY KEY (run_id, seq)
    );
    INSERT INTO run_objects_new SELECT * FROM run_objects;
    DROP TABLE run_objects;
    ALTER TABLE run_objects_new RENAME TO run_objects;
    CREATE TABLE intents (
        run_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        fabric TEXT NOT NULL,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        verb TEXT NOT NULL,
        before_hash TEXT,
        after_hash TEXT,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE fabric_locks (
        fabric TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        run_id INTEGER,
        acquired_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE replicas (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    );
    ALTER TABLE tasks ADD COLUMN owner TEXT;
    ALTER TABLE cursors ADD COLUMN fingerprint TEXT;
    "#,
    // 3: long texts (errors, messages) stored once, referenced from their columns.
    r#"
    CREATE TABLE texts (
        hash TEXT PRIMARY KEY,
        text TEXT NOT NULL
    );
    "#,
    // 4: open tasks and runs found without scanning the history (the heartbeat looks for
    // orphaned tasks every 10 s, every start for interrupted runs).
    r#"
    CREATE INDEX tasks_open ON tasks(state) WHERE state IN ('PENDING','STARTED','RETRY');
    CREATE INDEX runs_open ON runs(fabric) WHERE phase IN ('STARTED','PENDING');
    "#,
];
