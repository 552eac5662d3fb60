//! `fabsync serve -c fabsync.toml --auth-token-file F --listen 127.0.0.1:PORT` as a process
//! against the fake apiserver (HTTPS) and fake NetBox processes: the JSON API with a Bearer token
//! (sync → 202 → task SUCCESS → objects in the cluster), refusal without the token, `/healthz`,
//! `/metrics`; and `--lease` with two `serve` processes on one apiserver: both run, only the
//! Lease holder syncs the fabric, and after `kill -9` of the holder the other takes over.

use crate::procs;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use procs::{Fakes, Proc, hedgehog_objects, http, poll, spawn_until, start_fakes, url_in};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);

/// Starts `fabsync serve` on a free loopback port; returns it and its base URL.
fn serve(
    fakes: &Fakes,
    config: &Path,
    token_file: &Path,
    extra: &[&str],
    name: &str,
) -> (Proc, String) {
    let mut cmd = Command::new(procs::fabsync_bin());
    cmd.arg("serve")
        .arg("-c")
        .arg(config)
        .arg("--auth-token-file")
        .arg(token_file)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .env("FABSYNC_LOG", "info");
    let (p, line) = spawn_until(
        cmd,
        name,
        &fakes.dir.path().join(format!("{name}.log")),
        "listening on",
    );
    (p, url_in(&line, "http://"))
}

async fn api(base: &str, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let (status, body) = http(method, &format!("{base}{path}"), auth.as_deref(), None)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn runs_of(v: &Value) -> Vec<Value> {
    v.as_array()
        .or_else(|| v["runs"].as_array())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_with_a_bearer_token_syncs_into_the_cluster() {
    let fakes = start_fakes("vlab");
    let config = fakes.config("fabsync.toml", "interval_secs = 0");
    let token = "serve-test-token-0123456789abcdefgh";
    let token_file = fakes.dir.path().join("ui-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let (_serve, base) = serve(&fakes, &config, &token_file, &[], "serve");

    let (status, _) = api(&base, "GET", "/healthz", None).await;
    assert_eq!(status, 200, "/healthz needs no token");

    // Without the token: refused, nothing queued.
    let (status, body) = api(&base, "POST", "/api/fabrics/vlab/sync", None).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = api(
        &base,
        "POST",
        "/api/fabrics/vlab/sync",
        Some("not-the-token"),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = api(&base, "GET", "/metrics", None).await;
    assert_eq!(status, 401, "metrics need the token");

    // With it: 202 and a task that ends SUCCESS.
    let (status, task) = api(&base, "POST", "/api/fabrics/vlab/sync", Some(token)).await;
    assert_eq!(status, 202, "{task}");
    let id = task["id"].as_str().expect("a task id").to_string();
    let done = poll(WAIT, "the task ends", || {
        let (base, id) = (base.clone(), id.clone());
        async move {
            let (_, t) = api(&base, "GET", &format!("/api/tasks/{id}"), Some(token)).await;
            matches!(t["state"].as_str(), Some("SUCCESS" | "FAILURE")).then_some(t)
        }
    })
    .await;
    assert_eq!(done["state"], "SUCCESS", "{done}");
    let objects = hedgehog_objects(&fakes.kube().await).await;
    let owned = objects
        .values()
        .filter(|o| o["metadata"]["labels"]["fabsync.githedgehog.com/fabric"] == "vlab")
        .count();
    assert!(owned >= 40, "{owned} objects of fabric vlab in the cluster");
    assert!(objects.contains_key("Switch/spine-01"));

    let (status, fabric) = api(&base, "GET", "/api/fabrics/vlab", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(fabric["status"], "in_sync", "{fabric}");
    let (status, metrics) = api(&base, "GET", "/metrics", Some(token)).await;
    assert_eq!(status, 200);
    let text = metrics.as_str().unwrap_or_default();
    assert!(text.contains("fabsync_"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("fabsync_") && l.contains("vlab")),
        "per-fabric metrics: {text}"
    );
}

#[test]
fn without_a_token_serve_only_listens_on_loopback() {
    let fakes = start_fakes("empty");
    let config = fakes.config("fabsync.toml", "interval_secs = 0");
    let r = procs::fabsync(
        &[
            "serve",
            "-c",
            config.to_str().unwrap(),
            "--listen",
            "0.0.0.0:0",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--auth-token-file"), "{}", r.stderr);
}

async fn lease_holder(kube: &kube::Client) -> Option<(String, i32)> {
    let leases: Api<Lease> = Api::namespaced(kube.clone(), "default");
    let l = leases.get_opt("fabsync-vlab").await.ok()??;
    let spec = l.spec?;
    Some((spec.holder_identity?, spec.lease_transitions.unwrap_or(0)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_leases_and_a_failover() {
    let fakes = start_fakes("vlab");
    let token = "lease-test-token-0123456789abcdefgh";
    let token_file = fakes.dir.path().join("ui-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    // Each replica has its own store; both run the fabric every 5 s (the minimum).
    let ca = fakes.config("a.toml", "interval_secs = 5");
    let cb = fakes.config("b.toml", "interval_secs = 5");
    let (mut a, base_a) = serve(
        &fakes,
        &ca,
        &token_file,
        &["--lease", "--replica", "replica-a"],
        "serve-a",
    );
    let (mut b, base_b) = serve(
        &fakes,
        &cb,
        &token_file,
        &["--lease", "--replica", "replica-b"],
        "serve-b",
    );
    let kube = fakes.kube().await;

    // One of them takes the Lease and syncs (catch-up, then periodic runs).
    let (holder, _) = poll(WAIT, "a replica holds the Lease", || {
        let kube = kube.clone();
        async move { lease_holder(&kube).await }
    })
    .await;
    let (holder_base, other_base, other_name) = match holder.as_str() {
        "replica-a" => (base_a.clone(), base_b.clone(), "replica-b"),
        "replica-b" => (base_b.clone(), base_a.clone(), "replica-a"),
        h => panic!("unexpected holder {h}"),
    };
    let runs = poll(WAIT, "the holder has two successful runs", || {
        let b = holder_base.clone();
        async move {
            let (_, v) = api(&b, "GET", "/api/fabrics/vlab/runs", Some(token)).await;
            let runs = runs_of(&v);
            (runs.iter().filter(|r| r["phase"] == "SUCCESS").count() >= 2).then_some(runs)
        }
    })
    .await;
    assert!(
        runs.iter().all(|r| r["holder"] == holder.as_str()),
        "{runs:?}"
    );
    // Both serve; the other one ran nothing.
    let (status, _) = api(&other_base, "GET", "/healthz", None).await;
    assert_eq!(status, 200);
    let (_, v) = api(&other_base, "GET", "/api/fabrics/vlab/runs", Some(token)).await;
    assert!(runs_of(&v).is_empty(), "the standby ran nothing: {v}");
    assert_eq!(lease_holder(&kube).await.map(|h| h.0), Some(holder.clone()));

    // kill -9 the holder: the other takes the Lease once it expires, and syncs.
    if holder == "replica-a" {
        a.kill9();
    } else {
        b.kill9();
    }
    let (_, transitions) = poll(WAIT, "the standby takes the Lease", || {
        let kube = kube.clone();
        async move { lease_holder(&kube).await.filter(|(h, _)| h == other_name) }
    })
    .await;
    assert!(transitions >= 1, "a lease transition is recorded");
    let runs = poll(WAIT, "the new holder syncs", || {
        let b = other_base.clone();
        async move {
            let (_, v) = api(&b, "GET", "/api/fabrics/vlab/runs", Some(token)).await;
            let runs = runs_of(&v);
            runs.iter().any(|r| r["phase"] == "SUCCESS").then_some(runs)
        }
    })
    .await;
    assert!(runs.iter().all(|r| r["holder"] == other_name), "{runs:?}");
    let (_, fabric) = api(&other_base, "GET", "/api/fabrics/vlab", Some(token)).await;
    assert_eq!(fabric["status"], "in_sync", "{fabric}");
}
