//! The scheduler in the simulated world (issue 6), on a paused clock: every "wait" below is
//! virtual time, and every assertion reads the run and task records the store keeps.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use fabsync::scheduler::{LeaseConfig, Leases, RetryPolicy, Scheduler, SchedulerConfig};
use fabsync::sim::World;
use fabsync::store::{FabricStatus, Phase, RunRecord, Trigger};
use fake_apiserver::{Fault, When};

fn cfg() -> SchedulerConfig {
    SchedulerConfig {
        jitter: 0.0,
        ..Default::default()
    }
}

fn start(w: &World, cfg: SchedulerConfig) -> Scheduler {
    Scheduler::start(
        w.store.clone(),
        w.clock.clone(),
        Arc::new(w.engine.clone()),
        cfg,
        None,
    )
    .expect("scheduler starts")
}

/// Seconds since the simulated epoch at which each run started.
fn starts(runs: &[RunRecord]) -> Vec<i64> {
    since(fabsync::clock::SIM_EPOCH.parse().unwrap(), runs)
}

/// The world's clock now, at the seconds precision of run records.
fn now(w: &World) -> jiff::Timestamp {
    fabsync::clock::format_ts(w.clock.now()).parse().unwrap()
}

/// Seconds since `t0` at which each run started.
fn since(epoch: jiff::Timestamp, runs: &[RunRecord]) -> Vec<i64> {
    runs.iter()
        .map(|r| r.started_at.duration_since(epoch).as_secs())
        .collect()
}

async fn sleep(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs)).await;
}

/// Makes every cluster request take `ms` of virtual time, so runs last a while.
fn slow_cluster(w: &World, ms: u64) {
    w.apiserver
        .faults()
        .add(Fault::Latency {
            millis: ms,
            when: When::always(),
        })
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_60_second_interval_runs_at_60_120_180() {
    let w = world().await;
    sync(&w).await; // already synced: no catch-up run
    let t0 = now(&w);
    let s = start(&w, cfg());
    sleep(185).await;
    let runs = w.store.all_runs().unwrap();
    let periodic: Vec<RunRecord> = runs
        .into_iter()
        .filter(|r| r.trigger == Trigger::Periodic)
        .collect();
    assert_eq!(since(t0, &periodic), vec![60, 120, 180]);
    assert!(periodic.iter().all(|r| r.end.phase == Phase::Success));
    assert_eq!(
        periodic[1].end.message.as_deref(),
        Some("no changes"),
        "periodic runs check for changes first"
    );
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn jitter_is_seeded_and_bounded() {
    let mut seen = Vec::new();
    for _ in 0..2 {
        let w = world().await;
        sync(&w).await;
        let t0 = now(&w);
        let s = start(
            &w,
            SchedulerConfig {
                jitter: 0.1,
                seed: 7,
                ..Default::default()
            },
        );
        sleep(400).await;
        s.shutdown(Duration::from_secs(5)).await;
        let periodic: Vec<RunRecord> = w
            .store
            .all_runs()
            .unwrap()
            .into_iter()
            .filter(|r| r.trigger == Trigger::Periodic)
            .collect();
        let t = since(t0, &periodic);
        for (k, s) in t.iter().enumerate() {
            let nominal = 60 * (k as i64 + 1);
            assert!((nominal..=nominal + 6).contains(s), "run {k} at {s}");
        }
        seen.push(t);
    }
    assert_eq!(seen[0], seen[1], "same seed, same schedule");
}

#[tokio::test(start_paused = true)]
async fn a_manual_trigger_during_a_run_yields_exactly_one_follow_up() {
    let w = world().await;
    slow_cluster(&w, 200);
    let s = start(
        &w,
        SchedulerConfig {
            jitter: 0.0,
            ..Default::default()
        },
    );
    // The catch-up run of a never-synced fabric starts at once.
    sleep(1).await;
    assert!(s.is_running("vlab"));
    let a = s.trigger("vlab", Trigger::Manual).unwrap();
    let b = s.trigger("vlab", Trigger::Manual).unwrap();
    assert_eq!(
        a.id, b.id,
        "the second trigger coalesces into the pending one"
    );
    assert_eq!(a.state, Phase::Pending);
    s.idle().await;
    let runs = w.store.all_runs().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[0].trigger, Trigger::Catchup);
    assert_eq!(runs[1].trigger, Trigger::Manual);
    assert_eq!(w.store.task(&a.id).unwrap().state, Phase::Success);
    // Never two runs at once.
    assert!(runs[0].end.finished_at.as_ref().unwrap() <= &runs[1].started_at);
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn ten_manual_triggers_in_a_burst_yield_at_most_two_runs() {
    let w = world().await;
    sync(&w).await;
    let s = start(&w, cfg());
    let ids: Vec<String> = (0..10)
        .map(|_| s.trigger("vlab", Trigger::Manual).unwrap().id)
        .collect();
    s.idle().await;
    let manual: Vec<RunRecord> = w
        .store
        .all_runs()
        .unwrap()
        .into_iter()
        .filter(|r| r.trigger == Trigger::Manual && r.task_id.is_some())
        .collect();
    assert!((1..=2).contains(&manual.len()), "{} runs", manual.len());
    for id in ids {
        assert_eq!(w.store.task(&id).unwrap().state, Phase::Success);
    }
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn transient_failures_retry_with_exact_backoff_then_give_up() {
    let w = world().await;
    sync(&w).await;
    w.apiserver.faults().set_unreachable(true);
    let s = start(&w, cfg());
    let t = s.trigger("vlab", Trigger::Manual).unwrap();
    sleep(10).await;
    assert_eq!(w.store.task(&t.id).unwrap().state, Phase::Retry);
    sleep(300).await;
    let task = w.store.task(&t.id).unwrap();
    assert_eq!(task.state, Phase::Failure);
    assert_eq!(task.attempts, 5);
    let runs: Vec<RunRecord> = w
        .store
        .all_runs()
        .unwrap()
        .into_iter()
        .filter(|r| r.task_id.as_deref() == Some(t.id.as_str()))
        .collect();
    let at = starts(&runs);
    let gaps: Vec<i64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, vec![5, 10, 20, 40]);
    assert_eq!(
        runs.iter().map(|r| r.trigger).collect::<Vec<_>>(),
        vec![
            Trigger::Manual,
            Trigger::Retry,
            Trigger::Retry,
            Trigger::Retry,
            Trigger::Retry
        ]
    );
    assert!(runs.iter().all(|r| r.end.phase == Phase::Failure));
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::Error);
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn recovery_after_a_retry_succeeds_and_invalid_data_is_never_retried() {
    let w = world().await;
    sync(&w).await;
    w.apiserver.faults().set_unreachable(true);
    let s = start(&w, cfg());
    let t = s.trigger("vlab", Trigger::Manual).unwrap();
    sleep(7).await; // first attempt at 0, retry at 5
    w.apiserver.faults().set_unreachable(false);
    sleep(20).await;
    let task = w.store.task(&t.id).unwrap();
    assert_eq!(task.state, Phase::Success, "{task:?}");
    assert_eq!(task.attempts, 3);
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::InSync);

    // Invalid NetBox data: one attempt, FAILURE, no retry.
    let leaf = device(&w, "leaf-01").await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf.id,
        serde_json::json!({"name": "LEAF_01"}),
    )
    .await;
    let t = s.trigger("vlab", Trigger::Manual).unwrap();
    sleep(400).await;
    let task = w.store.task(&t.id).unwrap();
    assert_eq!(task.state, Phase::Failure);
    assert_eq!(task.attempts, 1);
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn a_run_left_started_by_a_dead_process_is_closed_as_interrupted() {
    let w = world().await;
    slow_cluster(&w, 500);
    let s = start(&w, cfg());
    sleep(2).await;
    assert!(s.is_running("vlab"));
    assert_eq!(
        w.store.fabric("vlab").unwrap().status,
        FabricStatus::Syncing
    );
    // The process dies: its tasks stop, nothing is recorded.
    s.abort();
    sleep(1).await;
    let run = w.store.all_runs().unwrap().pop().unwrap();
    assert_eq!(run.end.phase, Phase::Started);

    // A new process starts on the same store.
    w.apiserver.faults().clear();
    let s2 = start(&w, cfg());
    let run = w.store.run(run.id).unwrap();
    assert_eq!(run.end.phase, Phase::Failure);
    assert_eq!(run.end.error_kind.as_deref(), Some("interrupted"));
    assert_ne!(
        w.store.fabric("vlab").unwrap().status,
        FabricStatus::Syncing
    );
    // It catches up (the fabric never finished a sync) and ends in sync.
    s2.idle().await;
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::InSync);
    s2.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_lets_a_running_run_finish() {
    let w = world().await;
    slow_cluster(&w, 100);
    let s = start(&w, cfg());
    sleep(1).await;
    assert!(s.is_running("vlab"));
    s.shutdown(Duration::from_secs(600)).await;
    let run = w.store.all_runs().unwrap().pop().unwrap();
    assert_eq!(run.end.phase, Phase::Success, "{run:?}");
    assert!(s.trigger("vlab", Trigger::Manual).is_err());
}

#[tokio::test(start_paused = true)]
async fn shutdown_past_its_grace_records_the_run_as_interrupted() {
    let w = world().await;
    slow_cluster(&w, 2_000);
    let s = start(&w, cfg());
    sleep(1).await;
    s.shutdown(Duration::from_secs(3)).await;
    let run = w.store.all_runs().unwrap().pop().unwrap();
    assert_eq!(run.end.phase, Phase::Failure);
    assert_eq!(run.end.error_kind.as_deref(), Some("interrupted"));
    assert_ne!(
        w.store.fabric("vlab").unwrap().status,
        FabricStatus::Syncing
    );
}

#[tokio::test(start_paused = true)]
async fn settings_changes_take_effect_without_a_restart() {
    let w = world().await;
    sync(&w).await;
    let t0 = now(&w);
    let s = start(&w, cfg());
    sleep(65).await; // periodic at 60
    let mut f = w.store.fabric("vlab").unwrap().config;
    f.interval_secs = 30;
    w.store.update_fabric_config(&f).unwrap();
    s.reload("vlab").unwrap();
    sleep(70).await; // 65 → 135: runs at 90 and 120 on the new cadence
    f.enabled = false;
    w.store.update_fabric_config(&f).unwrap();
    s.reload("vlab").unwrap();
    sleep(300).await;
    let periodic: Vec<RunRecord> = w
        .store
        .all_runs()
        .unwrap()
        .into_iter()
        .filter(|r| r.trigger == Trigger::Periodic)
        .collect();
    assert_eq!(since(t0, &periodic), vec![60, 90, 120]);
    assert_eq!(s.next_periodic("vlab"), None);
    // A disabled fabric still syncs on demand.
    let t = s.trigger("vlab", Trigger::Manual).unwrap();
    s.idle().await;
    assert_eq!(w.store.task(&t.id).unwrap().state, Phase::Success);
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn an_overdue_fabric_is_caught_up_at_start() {
    let w = world().await;
    sync(&w).await;
    sleep(600).await; // nobody ran it for 10 minutes (interval 60 s)
    let t0 = now(&w);
    let s = start(&w, cfg());
    sleep(1).await;
    s.idle().await;
    let last = w.store.all_runs().unwrap().pop().unwrap();
    assert_eq!(last.trigger, Trigger::Catchup);
    assert_eq!(since(t0, std::slice::from_ref(&last)), vec![0]);
    s.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test(start_paused = true)]
async fn the_global_limit_bounds_runs_across_fabrics() {
    let w = world().await;
    // A second fabric (its site does not exist in NetBox: its runs fail, but they take time).
    let mut other = w.fabric.clone();
    other.name = "other".into();
    other.site = Some("no-such-site".into());
    w.store.import_fabric(&other, "test").unwrap();
    slow_cluster(&w, 100);
    w.netbox.faults().add(fake_netbox::FaultRule::new(
        fake_netbox::FaultKind::Latency { millis: 100 },
    ));
    let s = start(
        &w,
        SchedulerConfig {
            jitter: 0.0,
            max_concurrent_runs: 1,
            ..Default::default()
        },
    );
    s.trigger("vlab", Trigger::Manual).unwrap();
    s.trigger("other", Trigger::Manual).unwrap();
    sleep(1).await;
    s.idle().await;
    let mut runs = w.store.all_runs().unwrap();
    runs.sort_by_key(|r| r.started_at);
    assert!(runs.len() >= 2);
    for pair in runs.windows(2) {
        assert!(
            pair[0].end.finished_at.as_ref().unwrap() <= &pair[1].started_at,
            "{pair:?}"
        );
    }
    s.shutdown(Duration::from_secs(5)).await;
}

fn leased(w: &World, store: fabsync::store::Store, replica: &str) -> (Scheduler, Leases) {
    let leases = Leases::new(
        replica,
        w.clock.clone(),
        LeaseConfig::default(),
        Arc::new(fabsync::service::ConnectorLeases {
            connector: w.connector.clone(),
            store: store.clone(),
        }),
    );
    let engine = fabsync::engine::Engine::new(store.clone(), w.clock.clone(), w.connector.clone());
    let s = Scheduler::start(
        store,
        w.clock.clone(),
        Arc::new(engine),
        SchedulerConfig {
            jitter: 0.0,
            replica: replica.into(),
            lease: Some(LeaseConfig::default()),
            retry: RetryPolicy::default(),
            ..Default::default()
        },
        Some(leases.clone()),
    )
    .unwrap();
    (s, leases)
}

fn overlapping(a: &[RunRecord], b: &[RunRecord]) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let (xs, xe) = (&x.started_at, x.end.finished_at.as_ref().unwrap());
            let (ys, ye) = (&y.started_at, y.end.finished_at.as_ref().unwrap());
            if xs < ye && ys < xe {
                out.push((x.id, y.id));
            }
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn two_replicas_with_leases_never_overlap_and_fail_over() {
    let w = world().await;
    slow_cluster(&w, 50);
    // Two replicas, each with its own store, one NetBox and one cluster.
    let store_b = fabsync::store::Store::in_memory();
    store_b.import_fabric(&w.fabric, "sim").unwrap();
    let (a, _leases_a) = leased(&w, w.store.clone(), "replica-a");
    let (b, _leases_b) = leased(&w, store_b.clone(), "replica-b");
    let t0 = now(&w);
    sleep(600).await;
    let runs_a = w.store.all_runs().unwrap();
    let runs_b = store_b.all_runs().unwrap();
    assert!(!runs_a.is_empty() || !runs_b.is_empty());
    assert_eq!(overlapping(&runs_a, &runs_b), vec![]);
    // Only the lease holder runs periodic syncs.
    let (leader, standby_runs) = if runs_a.len() > runs_b.len() {
        ("a", runs_b.len())
    } else {
        ("b", runs_a.len())
    };
    assert_eq!(standby_runs, 0, "the standby never synced");
    assert_eq!(leader, "a", "replica a started first and took the lease");

    // Replica a dies without releasing its lease.
    a.abort();
    let before_b = store_b.all_runs().unwrap().len();
    sleep(120).await;
    let runs_b = store_b.all_runs().unwrap();
    assert!(runs_b.len() > before_b, "replica b took over");
    let first_b = since(t0, &runs_b[before_b..before_b + 1])[0];
    // a died at 600 s: its lease (15 s) runs out, b notices within a renew period (5 s), and
    // runs at its next periodic tick (60 s cadence).
    assert!(first_b - 600 <= 15 + 5 + 60, "b's first run at {first_b} s");
    assert_eq!(overlapping(&w.store.all_runs().unwrap(), &runs_b), vec![]);
    // A manual trigger on the standby-turned-leader works; on a dead replica nothing runs.
    let t = b.trigger("vlab", Trigger::Manual).unwrap();
    b.idle().await;
    assert_eq!(store_b.task(&t.id).unwrap().state, Phase::Success);
    b.shutdown(Duration::from_secs(5)).await;
}

/// A run that panics (a bug in the middle of a run, here in the progress callback at the
/// apply stage) fails that run, frees the fabric and is reported by the scheduler; the next
/// Sync Now works. Regression test for the worker that died with the fabric `syncing` forever
/// and tasks stuck PENDING while readiness said OK.
#[tokio::test(start_paused = true)]
async fn a_panicking_run_fails_frees_the_fabric_and_is_reported() {
    let w = world().await;
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let engine = {
        let armed = armed.clone();
        w.engine.clone().with_progress(Arc::new(move |_, step| {
            if step == "apply" && armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                panic!("a bug in the middle of a run");
            }
        }))
    };
    let s = Scheduler::start(
        w.store.clone(),
        w.clock.clone(),
        Arc::new(engine),
        cfg(),
        None,
    )
    .expect("scheduler starts");
    s.idle().await; // the catch-up run (never synced): it panics at apply
    let runs = w.store.all_runs().unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].end.phase, Phase::Failure, "{:?}", runs[0]);
    let tasks = w.store.all_tasks().unwrap();
    assert_eq!(tasks[0].state, Phase::Failure);
    assert!(
        tasks[0]
            .message
            .as_deref()
            .unwrap()
            .contains("internal error in this run and stopped it: a bug in the middle of a run"),
        "{:?}",
        tasks[0]
    );
    assert_ne!(
        w.store.fabric("vlab").unwrap().status,
        FabricStatus::Syncing
    );
    assert!(!s.is_running("vlab"));
    let errors = s.internal_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].fabric, "vlab");
    assert!(s.is_alive());

    // The fabric is free: Sync Now runs and succeeds.
    let t = s.trigger("vlab", Trigger::Manual).unwrap();
    s.idle().await;
    assert_eq!(w.store.task(&t.id).unwrap().state, Phase::Success);
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::InSync);
    s.shutdown(Duration::from_secs(5)).await;
}
