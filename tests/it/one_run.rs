//! One run per fabric across processes sharing a store: a second `fabsync sync` of a fabric that
//! another process is syncing refuses, naming who holds it, and writes nothing; a scheduler
//! waits for it (its run is retried). Regression test for two processes that both wrote
//! everything at once.

use std::time::Duration;

use crate::procs::{fabsync, start_fakes};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_process_refuses_while_the_first_holds_the_fabric() {
    let fakes = start_fakes("vlab");
    // A small request budget: the first sync takes a few seconds.
    let config = fakes.config(
        "fabsync.toml",
        "interval_secs = 0\n[fabric.limits]\nconcurrency = 1\nqps = 20\nburst = 1",
    );
    let db = fakes.dir.path().join("fabsync.toml.sqlite");
    let first = std::process::Command::new(crate::procs::fabsync_bin())
        .args(["sync", "vlab", "-c"])
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until it holds the fabric.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let holder = loop {
        let owner: Option<String> = rusqlite::Connection::open(&db).ok().and_then(|c| {
            c.query_row(
                "SELECT owner FROM fabric_locks WHERE fabric = 'vlab'",
                [],
                |r| r.get(0),
            )
            .ok()
        });
        if let Some(o) = owner {
            break o;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first sync never took the fabric"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        holder.starts_with(&format!("sync {}@", first.id())),
        "{holder}"
    );

    let cfg = config.clone();
    let second = tokio::task::spawn_blocking(move || {
        fabsync(
            &["sync", "vlab", "-c", cfg.to_str().unwrap()],
            Duration::from_secs(120),
        )
    })
    .await
    .unwrap();
    assert_eq!(second.code, 2, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second
            .stderr
            .contains(&format!("fabric \"vlab\" is being synced by {holder}")),
        "{}",
        second.stderr
    );

    let out = first.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only the first run wrote: one run in the store did anything.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let runs: Vec<(i64, String)> = conn
        .prepare("SELECT id, phase FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        runs,
        [(1, "SUCCESS".to_string())],
        "the refused sync recorded no run"
    );
}
