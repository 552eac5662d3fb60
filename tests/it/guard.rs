//! The deletion guard, through the entry points an operator uses: the JSON API and the pages
//! (Sync Now, the Sync dialog on the preview page, settings), the periodic scheduler, and the
//! `fabsync sync` binary against the fake binaries. Regression tests for the accident where a
//! tag typo pruned a whole fabric in one run and said SUCCESS.

use std::time::Duration;

use axum::http::{Method, StatusCode};

use fabsync::hedgehog::Kind;
use fabsync::netbox::NetboxClient;
use fabsync::sim::World;
use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::{Value, json};

use crate::procs::{Run, fabsync, hedgehog_objects, start_fakes};
use crate::web_http::{App, Client, Opts, app_with, csrf_of, owned_object_count, wait_task};

/// Sync Now through the API (with an optional approval body); the finished task.
async fn sync_api(app: &App, body: Option<Value>) -> Value {
    let mut c = Client::api(app, None);
    let r = match body {
        Some(b) => c.post_json("/api/fabrics/vlab/sync", &b).await,
        None => {
            c.send(Method::POST, "/api/fabrics/vlab/sync", None, vec![])
                .await
        }
    };
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    wait_task(&mut c, &id, false).await
}

async fn fabric(app: &App) -> Value {
    let r = Client::api(app, None).get("/api/fabrics/vlab").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()
}

async fn patch(app: &App, body: &str) {
    let r = Client::api(app, None)
        .patch_raw("/api/fabrics/vlab", "application/json", body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// Deletes NetBox devices whose name starts with `prefix` (cables and interfaces go with them,
/// as in NetBox).
async fn delete_devices(w: &World, prefix: &str) -> usize {
    let nb: NetboxClient = w.netbox_client();
    let devices: Vec<Value> = nb
        .list("dcim/devices", &[("site", "vlab".to_string())])
        .await
        .unwrap();
    let mut n = 0;
    for d in devices {
        if d["name"].as_str().unwrap().starts_with(prefix) {
            nb.delete("dcim/devices", d["id"].as_u64().unwrap())
                .await
                .unwrap();
            n += 1;
        }
    }
    n
}

async fn app() -> App {
    app_with(Opts::default()).await
}

/// A tag that matches nothing: Sync Now and the periodic runs are held with the count per kind
/// and the likely cause, nothing is deleted, the fabric says `held`; approving in the Sync
/// dialog deletes exactly those objects. On the code before the guard this sync deleted every
/// object and ended SUCCESS/in_sync.
#[tokio::test(start_paused = true)]
async fn a_tag_that_matches_nothing_is_held_not_pruned() {
    let app = app().await;
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    let owned = owned_object_count(&app.world).await;
    assert!(owned >= 40, "the VLAB fabric is in the cluster: {owned}");

    // The typo is a tag that exists in NetBox (for other devices, or for nothing).
    app.world
        .netbox_client()
        .create::<Value>("extras/tags", &json!({"name": "fabirc", "slug": "fabirc"}))
        .await
        .unwrap();
    patch(&app, r#"{"tag": "fabirc"}"#).await;
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "FAILURE", "{t}");
    let f = fabric(&app).await;
    assert_eq!(f["status"], "held", "{f}");
    let err = f["last_error"].as_str().unwrap();
    assert!(
        err.starts_with(&format!("held: {owned} deletion(s) await approval (")),
        "{err}"
    );
    assert!(err.contains("Switch 5"), "count per kind: {err}");
    assert!(err.contains("with tag \"fabirc\" holds no device"), "{err}");
    assert_eq!(
        owned_object_count(&app.world).await,
        owned,
        "nothing deleted"
    );
    let run = Client::api(&app, None)
        .get(&format!("/api/runs/{}", t["run_id"]))
        .await
        .json();
    assert_eq!(run["writes"], 0, "{run}");
    assert_eq!(run["error_kind"], "deletions_held", "{run}");

    // Unattended: the periodic scheduler is held the same way, run after run.
    patch(&app, r#"{"interval_secs": 60}"#).await;
    tokio::time::sleep(Duration::from_secs(200)).await;
    app.scheduler.idle().await;
    let runs = Client::api(&app, None)
        .get("/api/fabrics/vlab/runs")
        .await
        .json();
    let periodic: Vec<&Value> = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["trigger"] == "periodic")
        .collect();
    assert!(periodic.len() >= 2, "{runs}");
    assert!(periodic.iter().all(|r| r["error_kind"] == "deletions_held"));
    assert_eq!(owned_object_count(&app.world).await, owned);
    patch(&app, r#"{"interval_secs": 0}"#).await;

    // The fabric page says so and links to the Sync dialog, which lists the deletions.
    let mut browser = Client::browser(&app);
    let page = browser.get("/fabrics/vlab").await;
    assert!(page.body.contains("id=\"held-notice\""), "{}", page.body);
    let dialog = browser.get("/fabrics/vlab/preview").await;
    assert!(
        dialog.body.contains("id=\"held-deletions\""),
        "{}",
        dialog.body
    );
    assert!(
        dialog
            .body
            .contains(&format!("name=\"allow_deletes\" value=\"{owned}\"")),
        "{}",
        dialog.body
    );
    assert_eq!(
        owned_object_count(&app.world).await,
        owned,
        "the preview wrote nothing"
    );

    // Approving there deletes exactly what it listed.
    let csrf = csrf_of(&dialog.body);
    let approve = owned.to_string();
    let r = browser
        .post_form(
            "/fabrics/vlab/sync",
            &[("csrf_token", &csrf), ("allow_deletes", &approve)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.scheduler.idle().await;
    assert_eq!(owned_object_count(&app.world).await, 0);
    assert_eq!(fabric(&app).await["status"], "in_sync");
}

/// A few deletions within the budget go ahead (decommissioning a server); more than the budget
/// are held until a large enough approval; a smaller approval is not enough.
#[tokio::test(start_paused = true)]
async fn deletions_within_the_budget_run_and_more_wait_for_a_large_enough_approval() {
    let app = app().await;
    assert_eq!(sync_api(&app, None).await["state"], "SUCCESS");
    let before = owned_object_count(&app.world).await;

    assert_eq!(delete_devices(&app.world, "server-01").await, 1);
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    let one_server = before - owned_object_count(&app.world).await;
    assert!((1..=10).contains(&one_server), "{one_server}");

    let gone = delete_devices(&app.world, "server-").await;
    assert!(gone >= 5);
    let owned = owned_object_count(&app.world).await;
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "FAILURE", "{t}");
    let err = fabric(&app).await["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains("more than the fabric allows without approval"),
        "{err}"
    );
    let held: u64 = err["held: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(held > 10, "{err}");

    let t = sync_api(&app, Some(json!({"allow_deletes": held - 1}))).await;
    assert_eq!(
        t["state"], "FAILURE",
        "an approval for fewer deletions: {t}"
    );
    assert_eq!(owned_object_count(&app.world).await, owned);

    let t = sync_api(&app, Some(json!({"allow_deletes": held}))).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    assert_eq!(
        owned_object_count(&app.world).await as u64,
        owned as u64 - held
    );
    assert_eq!(fabric(&app).await["status"], "in_sync");

    // Bad approvals are refused and start nothing.
    let r = Client::api(&app, None)
        .post_json("/api/fabrics/vlab/sync", &json!({"allow_deletes": "all"}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["field"], "allow_deletes");
}

/// Prune `off`: nothing is deleted, the objects are reported, the fabric is out of sync.
/// Prune `confirm`: even one deletion waits.
#[tokio::test(start_paused = true)]
async fn prune_off_keeps_and_confirm_asks() {
    let app = app().await;
    assert_eq!(sync_api(&app, None).await["state"], "SUCCESS");
    let before = owned_object_count(&app.world).await;
    delete_devices(&app.world, "server-01").await;

    patch(&app, r#"{"prune": "confirm"}"#).await;
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "FAILURE", "{t}");
    assert!(
        fabric(&app).await["last_error"]
            .as_str()
            .unwrap()
            .contains("prune mode is confirm")
    );
    assert_eq!(owned_object_count(&app.world).await, before);

    patch(&app, r#"{"prune": "off"}"#).await;
    let t = sync_api(&app, None).await;
    assert_eq!(t["state"], "SUCCESS", "{t}");
    assert_eq!(
        owned_object_count(&app.world).await,
        before,
        "prune off deletes nothing"
    );
    let f = fabric(&app).await;
    assert_eq!(f["status"], "out_of_sync", "{f}");
    let run = Client::api(&app, None)
        .get(&format!("/api/runs/{}", t["run_id"]))
        .await
        .json();
    let kept: Vec<&Value> = run["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["result"] == "skipped")
        .collect();
    assert!(!kept.is_empty(), "{run}");
    assert!(
        kept.iter()
            .all(|o| o["message"].as_str().unwrap().contains("prune is off")),
        "{run}"
    );
}

/// An object deleted by hand in the cluster is "missing in the cluster" in the preview, not "new
/// in NetBox" (which sent operators looking in NetBox for a change nobody made).
#[tokio::test(start_paused = true)]
async fn an_object_deleted_by_hand_is_missing_in_the_cluster() {
    let app = app().await;
    assert_eq!(sync_api(&app, None).await["state"], "SUCCESS");
    let attachment = "vpc-1--subnet-01--server-01--eslag--leaf-01--leaf-02";
    let api: Api<DynamicObject> = Api::namespaced_with(
        app.world.kube(),
        "default",
        &Kind::VPCAttachment.api_resource(),
    );
    api.delete(attachment, &DeleteParams::default())
        .await
        .unwrap();
    let p = Client::api(&app, None)
        .get("/api/fabrics/vlab/diff")
        .await
        .json();
    let item = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == attachment)
        .unwrap_or_else(|| panic!("{p}"));
    assert_eq!(item["action"], "create");
    assert_eq!(
        item["reason"], "missing in the cluster (deleted by hand)",
        "{item}"
    );
}

/// The CLI: a held sync exits 4 with the approval command; `--allow-deletes N` runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_holds_with_exit_4_and_allow_deletes_approves() {
    let fakes = start_fakes("vlab");
    let good = fakes.config("fabsync.toml", "interval_secs = 0");
    let typo = fakes.config("typo.toml", "interval_secs = 0\ntag = \"fabirc\"");
    let run = |args: &[&str], config: &std::path::Path| -> Run {
        let c = config.to_string_lossy().to_string();
        let mut all = args.to_vec();
        all.extend(["-c", c.as_str()]);
        fabsync(&all, Duration::from_secs(300))
    };
    let kube = fakes.kube().await;
    let owned_now = || async {
        hedgehog_objects(&kube)
            .await
            .values()
            .filter(|o| {
                o.pointer("/metadata/labels/fabsync.githedgehog.com~1fabric")
                    .is_some()
            })
            .count()
    };
    let r = tokio::task::block_in_place(|| run(&["sync", "vlab"], &good));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let owned = owned_now().await;
    assert!(owned >= 40, "{owned}");

    fakes
        .netbox_api(
            "POST",
            "/api/extras/tags/",
            Some(&json!({"name": "fabirc", "slug": "fabirc"})),
        )
        .await;
    let r = tokio::task::block_in_place(|| run(&["sync", "vlab"], &typo));
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("holds no device"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("fabsync sync vlab --allow-deletes {owned}")),
        "{}",
        r.stderr
    );
    assert_eq!(owned_now().await, owned, "nothing deleted");

    let r = tokio::task::block_in_place(|| run(&["diff", "vlab"], &typo));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("held: a sync would hold"), "{}", r.stdout);

    let n = owned.to_string();
    let r = tokio::task::block_in_place(|| run(&["sync", "vlab", "--allow-deletes", &n], &typo));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(owned_now().await, 0);
}
