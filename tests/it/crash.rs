//! Crash and store-failure consistency: a full disk in the middle of a run, and `fabsync sync`
//! killed with SIGKILL in the middle of its writes. Whatever dies, the next start closes the run
//! as interrupted, names every object that may have changed, and the audit log holds every write
//! that reached the cluster. Regression tests for runs left `running` with 0 counts, missing
//! audit rows, and a next run that said "nothing to write" about writes recorded nowhere.

use std::sync::Arc;
use std::time::Duration;

use fabsync::engine::RunParams;
use fabsync::sim::{World, WorldConfig};
use fabsync::store::{Phase, RunStep, Sweep};

use crate::common::{self, cluster_writes};
use crate::procs::{fabsync, hedgehog_objects, start_fakes};

/// The audit verbs that mean "this write may have reached the cluster".
fn audited_writes(w: &World, run_id: i64) -> Vec<String> {
    w.store
        .audit_entries(Some(run_id))
        .unwrap()
        .into_iter()
        .map(|a| format!("{}/{}", a.kind, a.name))
        .collect()
}

/// The disk fills up once the run starts writing: the run cannot record its intents and audit
/// rows. It writes nothing it could not record, undoes or names what it wrote, and the run is
/// closed as interrupted at the next start with its writes on record; the next run repairs.
#[tokio::test(start_paused = true)]
async fn a_full_disk_mid_apply_loses_no_write() {
    let world = common::world_with(WorldConfig::default()).await;
    let store = world.store.clone();
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let engine = {
        let store = store.clone();
        let armed = armed.clone();
        world.engine.clone().with_progress(Arc::new(move |_, step| {
            if step == RunStep::Apply.as_str()
                && armed.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                store.simulate_full_disk(true).unwrap();
            }
        }))
    };
    let from = world.apiserver.log().entries().len();
    let result = engine.run(RunParams::manual("vlab")).await;
    let writes: Vec<String> = cluster_writes(&world, from)
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    // The run failed in the store (at the latest, it cannot record its end).
    let err = result.expect_err("the store cannot record the run's end");
    assert_eq!(err.kind(), "store", "{err}");

    // Give room back; the next start (here: the next run taking the fabric) closes the run.
    store.simulate_full_disk(false).unwrap();
    let runs = store.runs("vlab", 10).unwrap();
    let first = runs.last().unwrap().id;
    let report = engine.run(RunParams::manual("vlab")).await.unwrap();
    let audited = audited_writes(&world, first);
    assert_eq!(
        audited.len(),
        writes.len(),
        "every write that reached the cluster is audited, nothing else: sent {writes:?}, audited {audited:?}"
    );
    assert_eq!(report.phase, Phase::Success, "{:?}", report.error);
    let closed = store.run(first).unwrap();
    assert_eq!(closed.end.phase, Phase::Failure);
    assert_eq!(closed.end.error_kind.as_deref(), Some("interrupted"));
    assert_eq!(
        store.fabric("vlab").unwrap().status,
        fabsync::store::FabricStatus::InSync
    );
}

/// The disk fills up after some writes took effect: the writes that reached the cluster are in
/// the audit log (each audit row replaced its intent in one transaction, or the intent stayed
/// and became an `unconfirmed-…` row), and the run names every object it could not undo.
#[tokio::test(start_paused = true)]
async fn a_full_disk_after_some_writes_keeps_every_write_on_record() {
    let world = common::world_with(WorldConfig::default()).await;
    let store = world.store.clone();
    let engine = world.engine.clone();
    // Let the first stage (namespaces, groups) through, then fill the disk on the next intent:
    // after 3 cluster writes the disk is full.
    let apiserver = world.apiserver.clone();
    let from = apiserver.log().entries().len();
    let watcher = {
        let store = store.clone();
        let apiserver = apiserver.clone();
        tokio::spawn(async move {
            loop {
                let n = apiserver
                    .log()
                    .entries()
                    .iter()
                    .skip(from)
                    .filter(|e| e.write && !e.dry_run && e.status < 400)
                    .count();
                if n >= 3 {
                    store.simulate_full_disk(true).unwrap();
                    return;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let result = engine.run(RunParams::manual("vlab")).await;
    watcher.abort();
    let sent: Vec<String> = cluster_writes(&world, from)
        .iter()
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(sent.len() >= 3, "{sent:?}");
    // Room again: close the run the way the next start does.
    store.simulate_full_disk(false).unwrap();
    let now = world.clock.now();
    store
        .close_interrupted(&Sweep {
            now,
            me: None,
            fabric: None,
            alive_since: now,
            tasks: false,
        })
        .unwrap();
    let run = store.runs("vlab", 1).unwrap().remove(0);
    assert_eq!(run.end.phase, Phase::Failure, "{result:?}");
    let audited = audited_writes(&world, run.id);
    assert_eq!(
        audited.len(),
        sent.len(),
        "every write that reached the cluster is audited: sent {sent:?}, audited {audited:?}"
    );
    // And the next run is not "nothing to write": it repairs what the failed run left.
    let report = engine.run(RunParams::manual("vlab")).await.unwrap();
    assert_eq!(report.phase, Phase::Success, "{:?}", report.error);
}

fn audit_rows(db: &std::path::Path) -> Vec<(i64, String, String)> {
    let conn = rusqlite::Connection::open_with_flags(
        db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    );
    let Ok(conn) = conn else { return vec![] };
    let Ok(mut stmt) =
        conn.prepare("SELECT run_id, verb, kind || '/' || name FROM audit ORDER BY id")
    else {
        return vec![];
    };
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// `fabsync sync` killed with SIGKILL in the middle of its writes: `fabsync status` right after
/// closes the run as interrupted (no need for another sync), with the writes that reached the
/// cluster as its counts and audit rows and the writes in flight named; the cluster holds no
/// object written by that run without an audit row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_mid_apply_is_closed_by_the_next_start_with_every_write_on_record() {
    let fakes = start_fakes("vlab");
    // A small request budget, so the kill lands in the middle of the apply stage.
    let config = fakes.config(
        "fabsync.toml",
        "interval_secs = 0\n[fabric.limits]\nconcurrency = 1\nqps = 20\nburst = 1",
    );
    let db = fakes.dir.path().join("fabsync.toml.sqlite");
    let mut child = std::process::Command::new(crate::procs::fabsync_bin())
        .args(["sync", "vlab", "-c"])
        .arg(&config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few writes are on record.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let applied = audit_rows(&db).iter().filter(|r| r.1 == "apply").count();
        if applied >= 8 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the sync never got to writing"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before the kill"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || {
        fabsync(
            &["status", "-c", cfg.to_str().unwrap()],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("closed run 1"), "{}", r.stderr);
    assert!(!r.stdout.contains("syncing"), "{}", r.stdout);

    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || {
        fabsync(
            &["runs", "vlab", "--id", "1", "-c", cfg.to_str().unwrap()],
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert!(r.stdout.contains("interrupted"), "{}", r.stdout);
    assert!(
        r.stdout.contains("written before fabsync stopped"),
        "{}",
        r.stdout
    );

    // Every object in the cluster that carries fabsync's label was written by run 1 and is in
    // its audit (as applied, or as unconfirmed).
    let audited: std::collections::BTreeSet<String> =
        audit_rows(&db).into_iter().map(|r| r.2).collect();
    let kube = fakes.kube().await;
    let owned: Vec<String> = hedgehog_objects(&kube)
        .await
        .into_iter()
        .filter(|(_, o)| {
            o.pointer("/metadata/labels/fabsync.githedgehog.com~1fabric")
                .is_some()
        })
        .map(|(k, _)| k)
        .collect();
    assert!(!owned.is_empty());
    let missing: Vec<&String> = owned.iter().filter(|k| !audited.contains(*k)).collect();
    assert!(missing.is_empty(), "written but not audited: {missing:?}");

    // The next sync finishes the job.
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || {
        fabsync(
            &["sync", "vlab", "-c", cfg.to_str().unwrap()],
            Duration::from_secs(300),
        )
    })
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// Found by `fabsync simulate` (seed 17, 24 h, 2 fabrics, 2 replicas): the disk filled up during
/// a scheduled run, so the run could not record its end, and the cluster then went down, so no
/// next run came to close it: the run stayed open and the fabric `syncing` for hours. The
/// scheduler now closes such a run itself as soon as the store takes writes again.
#[tokio::test(start_paused = true)]
async fn a_run_that_could_not_record_its_end_is_closed_without_waiting_for_the_next_run() {
    use fabsync::scheduler::{Scheduler, SchedulerConfig};
    use fabsync::store::{FabricStatus, Trigger};
    let world = common::world_with(WorldConfig {
        interval_secs: 86_400,
        ..WorldConfig::default()
    })
    .await;
    let store = world.store.clone();
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let engine = {
        let store = store.clone();
        let armed = armed.clone();
        world.engine.clone().with_progress(Arc::new(move |_, step| {
            if step == RunStep::Apply.as_str()
                && armed.swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                store.simulate_full_disk(true).unwrap();
            }
        }))
    };
    let s = Scheduler::start(
        store.clone(),
        world.clock.clone(),
        Arc::new(engine),
        SchedulerConfig {
            jitter: 0.0,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    s.trigger("vlab", Trigger::Manual).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.idle().await;
    let run = store.runs("vlab", 1).unwrap().remove(0);
    assert_eq!(
        run.end.phase,
        Phase::Started,
        "the store could not record the end"
    );
    store.simulate_full_disk(false).unwrap();
    // Within a heartbeat, long before the next periodic run.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let run = store.run(run.id).unwrap();
    assert_eq!(run.end.phase, Phase::Failure, "{run:?}");
    assert_eq!(run.end.error_kind.as_deref(), Some("interrupted"));
    assert_ne!(store.fabric("vlab").unwrap().status, FabricStatus::Syncing);
    s.shutdown(Duration::from_secs(5)).await;
}

/// Found by `fabsync simulate` (seed 36, 24 h, 2 fabrics, 2 replicas): a replica restarted while
/// its disk was full; the scheduler's start failed after its workers had started (the disk
/// refused the catch-up task), and they lived on behind the caller's back — a replica nobody
/// could stop, running syncs and holding a fabric's Lease for the rest of the day. A failed
/// start now stops what it started.
#[tokio::test(start_paused = true)]
async fn a_scheduler_that_fails_to_start_leaves_nothing_running() {
    use fabsync::scheduler::{Scheduler, SchedulerConfig};
    let world = common::world_with(WorldConfig {
        interval_secs: 60,
        ..WorldConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fabsync.db");
    let store = fabsync::store::Store::open(path.to_str().unwrap()).unwrap();
    store.import_fabric(&world.fabric, "test").unwrap();
    // The disk refuses new tasks (as a full one refuses new pages).
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER full BEFORE INSERT ON tasks BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END;",
    )
    .unwrap();
    let started = Scheduler::start(
        store.clone(),
        world.clock.clone(),
        Arc::new(world.engine.clone()),
        SchedulerConfig {
            jitter: 0.0,
            replica: "replica-a".into(),
            ..Default::default()
        },
        None,
    );
    assert!(started.is_err(), "the catch-up task cannot be stored");
    raw.execute_batch("DROP TRIGGER full;").unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(
        world.store.all_runs().unwrap().len(),
        0,
        "a scheduler that failed to start ran syncs"
    );
}
