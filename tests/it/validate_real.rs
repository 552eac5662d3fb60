//! `fabsync validate --target real` through the binary, against the fake apiserver and fake
//! NetBox started as separate processes (HTTPS with a CA and token in the written kubeconfig, a
//! NetBox URL and token file): the same flags a real cluster and NetBox take. It checks the exit
//! code, which requirements are PROVEN on a real target and which are NOT COVERED and why, that
//! the API log holds no token, and that the cleanup left nothing behind in either system.
//!
//! Also `--target local` end to end (every requirement PROVEN, exit 0), `--browser` with a real
//! Chromium when one is installed, and the usage errors of the target flags.
//!
//! Workflows run in real time here. Every workflow runs on `--target local` (the same code as
//! `--target real`, with the fakes' faults on top), in two runs side by side; the `--target real`
//! run takes the workflows whose proofs differ on a real target (faults a real system can be
//! given, 429 not provable) and the cleanup — so that all of it fits in CI's budget.

use crate::procs;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use procs::{fabsync, hedgehog_objects, start_fakes};
use serde_json::Value;

/// A whole validation in real time takes a few minutes.
const VALIDATION: Duration = Duration::from_secs(900);

/// The first of the two `--target local` runs: the workflows that wait longest in real time.
const LOCAL_FIRST: &[&str] = &[
    "large-fabric",
    "periodic-sync-on-interval",
    "manual-sync",
    "incremental-update",
    "relationship-preservation",
    "complete-data-flow",
];

/// The `--target real` run: the workflows whose proofs differ on a real target, in run order.
const REAL_WORKFLOWS: &[&str] = &[
    "manual-sync",
    "cluster-unreachable-then-recovery",
    "periodic-retry",
    "authentication-failure",
    "field-manager-conflict",
    "partial-failure-rollback",
    "rate-limiting",
    "netbox-unavailable",
];

fn requirements(dir: &Path) -> BTreeMap<String, Value> {
    let v: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.join("requirements.json")).unwrap()).unwrap();
    v.into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

/// Every file of the bundle (name → bytes).
fn bundle(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    procs::read_tree(dir)
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_target_against_the_fakes_as_processes() {
    let fakes = start_fakes("empty");
    let before_netbox = fakes.netbox_counts().await;
    let kube = fakes.kube().await;
    assert!(hedgehog_objects(&kube).await.is_empty());
    let out = fakes.dir.path().join("evidence");
    let (kubeconfig, token_file, url, out_s) = (
        fakes.kubeconfig.to_string_lossy().to_string(),
        fakes.netbox_token_file.to_string_lossy().to_string(),
        fakes.netbox_url.clone(),
        out.to_string_lossy().to_string(),
    );
    let run = tokio::task::spawn_blocking(move || {
        let mut args: Vec<&str> = vec![
            "validate",
            "--target",
            "real",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "fake",
            "--netbox-url",
            &url,
            "--netbox-token-file",
            &token_file,
            "--out",
            &out_s,
        ];
        for w in REAL_WORKFLOWS {
            args.extend(["--workflow", w]);
        }
        fabsync(&args, VALIDATION)
    })
    .await
    .unwrap();
    // 429 + Retry-After needs a fault no real system can be given on demand: not all PROVEN.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("FAILED: not every requirement is PROVEN"),
        "{}",
        run.stdout
    );

    let reqs = requirements(&out);
    let failed: Vec<&Value> = reqs.values().filter(|r| r["status"] == "FAILED").collect();
    assert!(
        failed.is_empty(),
        "nothing FAILED on a real target: {failed:#?}"
    );
    let rep = report(&out);
    let ran: Vec<&str> = rep["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ran,
        REAL_WORKFLOWS
            .iter()
            .copied()
            .chain(["evidence-bundle", "cleanup"])
            .collect::<Vec<_>>(),
        "the selected workflows ran in order, then the bundle's checks and the cleanup"
    );
    for w in rep["workflows"].as_array().unwrap() {
        if w["id"] == "rate-limiting" {
            // Its step says why it cannot be proven here; nothing else in it failed.
            assert_eq!(w["passed"], false, "{w}");
            assert!(
                w["failure"].as_str().is_some_and(
                    |f| f.contains("is not provable on this target (it would prove PF-6)")
                ),
                "{w}"
            );
            continue;
        }
        assert_eq!(w["passed"], true, "{w}");
        // Every requirement a step of these workflows claims is PROVEN, except 429 handling.
        for step in w["steps"].as_array().unwrap() {
            for id in step["requirements"].as_array().into_iter().flatten() {
                let id = id.as_str().unwrap();
                if id != "PF-6" {
                    assert_eq!(reqs[id]["status"], "PROVEN", "{}", reqs[id]);
                }
            }
        }
    }
    let r = &reqs["PF-6"];
    assert_eq!(r["status"], "NOT_COVERED", "{r}");
    let reason = r["reason"].as_str().unwrap_or_default();
    assert!(
        reason.starts_with("not provable on target real:") && reason.contains("429"),
        "PF-6: {reason}"
    );
    assert!(
        run.stdout
            .contains("NOT_COVERED PF-6: not provable on target real"),
        "{}",
        run.stdout
    );
    for r in reqs.values().filter(|r| r["status"] == "PROVEN") {
        assert!(r["workflow"].is_string() && r["step"].is_string(), "{r}");
    }
    // The proofs that need faults come from what a real system can be given.
    assert_eq!(
        reqs["EH-1"]["workflow"],
        "cluster-unreachable-then-recovery"
    );
    assert_eq!(reqs["EH-2"]["workflow"], "authentication-failure");
    assert_eq!(reqs["EH-3"]["workflow"], "field-manager-conflict");
    assert_eq!(reqs["PF-7"]["workflow"], "netbox-unavailable");
    assert_eq!(reqs["PS-5"]["workflow"], "periodic-retry");
    // The rollback after a failed write: a concurrent field manager, not an injected 500.
    assert_eq!(reqs["EH-4"]["workflow"], "partial-failure-rollback");
    let rollback = report(&out)["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "partial-failure-rollback")
        .cloned()
        .unwrap();
    assert!(
        rollback["steps"][1]["observed"]
            .as_str()
            .is_some_and(|o| o.contains("another field manager") && o.contains("rolled back")),
        "{rollback}"
    );

    // The validation's own cleanup check passed, and it holds: nothing is left behind.
    assert_eq!(rep["target"], "real");
    let cleanup = rep["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == "cleanup")
        .expect("a cleanup report");
    assert_eq!(cleanup["passed"], true, "{cleanup}");
    assert_eq!(
        fakes.netbox_counts().await,
        before_netbox,
        "NetBox holds exactly what it held before the validation"
    );
    let left = hedgehog_objects(&kube).await;
    assert!(
        left.is_empty(),
        "the cluster holds nothing the validation created: {:?}",
        left.keys().collect::<Vec<_>>()
    );
    let target: Value =
        serde_json::from_slice(&std::fs::read(out.join("target.json")).unwrap()).unwrap();
    assert_eq!(
        target["fabrics"].as_array().unwrap().len(),
        REAL_WORKFLOWS.len(),
        "{target}"
    );
    assert!(
        !target["switch_profiles_created"]
            .as_array()
            .unwrap()
            .is_empty(),
        "an empty cluster had no SwitchProfiles, so the validation created (and removed) them"
    );

    // The API log is the client side of both systems, with no token anywhere in the bundle.
    let files = bundle(&out);
    let log = String::from_utf8_lossy(&files["api-log.jsonl"]).to_string();
    let calls: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(calls.iter().any(|c| {
        c["server"] == "apiserver"
            && c["user_agent"]
                .as_str()
                .is_some_and(|u| u.starts_with("fabsync/"))
            && c["write"] == true
    }));
    assert!(calls.iter().any(|c| {
        c["server"] == "netbox"
            && c["user_agent"]
                .as_str()
                .is_some_and(|u| u.starts_with("fabsync/"))
    }));
    assert!(calls.iter().any(|c| c["phase"] == "cleanup"));
    for (name, bytes) in &files {
        for secret in [
            &fakes.cluster_token,
            &fakes.netbox_token,
            &fakes.admin_token,
        ] {
            assert!(!contains(bytes, secret), "{name} contains a token");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_target_proves_every_requirement() {
    // Two `--target local` runs side by side, each with its own fakes: the large fabric and the
    // interval workflow (most of the real time) in one, everything else in the other. Together
    // they run every workflow, and every requirement must be PROVEN by one of them.
    let all: Vec<&str> = fabsync::validate::workflows::WORKFLOWS
        .iter()
        .map(|d| d.id)
        .collect();
    let first: Vec<&str> = LOCAL_FIRST.to_vec();
    let second: Vec<&str> = all
        .iter()
        .copied()
        .filter(|w| !LOCAL_FIRST.contains(w))
        .collect();
    assert_eq!(first.len() + second.len(), all.len(), "{LOCAL_FIRST:?}");
    let dir = tempfile::tempdir().unwrap();
    let runs = [("a", first), ("b", second)].map(|(name, workflows)| {
        let out = dir.path().join(name);
        let out_s = out.to_string_lossy().to_string();
        let task = tokio::task::spawn_blocking(move || {
            let mut args = vec!["validate", "--target", "local", "--out", &out_s];
            for w in &workflows {
                args.extend(["--workflow", w]);
            }
            fabsync(&args, VALIDATION)
        });
        (out, task)
    });
    let mut proven: BTreeMap<String, Value> = BTreeMap::new();
    let mut ran = Vec::new();
    for (out, task) in runs {
        let run = task.await.unwrap();
        // A partial run exits 1 (not everything is PROVEN by it alone) ...
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        let rep = report(&out);
        assert_eq!(rep["target"], "local");
        // ... but every workflow in it passed, the bundle's checks and the cleanup included.
        for w in rep["workflows"].as_array().unwrap() {
            assert_eq!(w["passed"], true, "{w}\n{}", run.stdout);
            ran.push(w["id"].as_str().unwrap().to_string());
        }
        let reqs = requirements(&out);
        let failed: Vec<&Value> = reqs.values().filter(|r| r["status"] == "FAILED").collect();
        assert!(failed.is_empty(), "{failed:#?}\n{}", run.stdout);
        for (id, r) in reqs {
            if r["status"] == "PROVEN" {
                proven.insert(id, r);
            }
        }
    }
    for id in &all {
        assert!(ran.iter().any(|r| r == id), "{id} ran: {ran:?}");
    }
    let registry: Vec<&str> = fabsync::validate::requirements::REQUIREMENTS
        .iter()
        .map(|r| r.id)
        .collect();
    let unproven: Vec<&&str> = registry
        .iter()
        .filter(|id| !proven.contains_key(**id))
        .collect();
    assert!(
        unproven.is_empty(),
        "every requirement is PROVEN on the local target: {unproven:?}"
    );
    // Faults only a fake can be given prove EH-4 and PF-6 here.
    assert_eq!(proven["EH-4"]["workflow"], "partial-failure-rollback");
    assert_eq!(proven["PF-6"]["workflow"], "rate-limiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_target_with_a_real_browser() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if let Err(e) = fabsync::validate::browser::BrowserPaths::from_path() {
        assert!(!ci, "CI=true but {e}");
        println!("skipped validate --browser: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("evidence");
    let out_s = out.to_string_lossy().to_string();
    let run = tokio::task::spawn_blocking(move || {
        fabsync(
            &[
                "validate",
                "--target",
                "local",
                "--browser",
                "--workflow",
                "manual-sync",
                "--workflow",
                "cluster-unreachable-then-recovery",
                "--out",
                &out_s,
            ],
            VALIDATION,
        )
    })
    .await
    .unwrap();
    // A partial run cannot prove everything; the two workflows themselves pass.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let rep = report(&out);
    for id in [
        "manual-sync",
        "cluster-unreachable-then-recovery",
        "cleanup",
    ] {
        let w = rep["workflows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .unwrap_or_else(|| panic!("{id} ran"));
        assert_eq!(w["passed"], true, "{w}");
    }
    let reqs = requirements(&out);
    for id in ["MS-1", "MS-2", "MS-5", "EH-1", "EH-5"] {
        assert_eq!(reqs[id]["status"], "PROVEN", "{}", reqs[id]);
    }
    // Three clicks (one in manual-sync, two in the recovery workflow after its API baseline),
    // each with the fabric page, the task view right after the click and the outcome.
    let files = bundle(&out);
    let shots: Vec<&String> = files
        .keys()
        .filter(|k| k.starts_with("screenshots/") && k.ends_with(".png"))
        .collect();
    assert_eq!(shots.len(), 9, "{shots:?}");
    for s in &shots {
        assert!(files[*s].starts_with(b"\x89PNG"), "{s} is a PNG");
    }
    let html = String::from_utf8_lossy(&files["report.html"]);
    for s in &shots {
        assert!(
            html.contains(&format!("src=\"{s}\"")),
            "report.html shows {s}"
        );
    }
}

#[test]
fn target_flags_are_checked() {
    let r = fabsync(&["validate", "--target", "real"], Duration::from_secs(60));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for flag in ["--kubeconfig", "--netbox-url", "--netbox-token-file"] {
        assert!(r.stderr.contains(flag), "{}", r.stderr);
    }
    let r = fabsync(
        &["validate", "--kubeconfig", "/nonexistent"],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--kubeconfig is only for --target real"),
        "{}",
        r.stderr
    );
    let r = fabsync(
        &["validate", "--target", "sim", "--browser"],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--browser needs --target local"),
        "{}",
        r.stderr
    );
    let r = fabsync(
        &[
            "validate",
            "--target",
            "real",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "--netbox-url",
            "https://netbox.example.com",
            "--netbox-token-file",
            "/nonexistent/token",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--kubeconfig /nonexistent/kubeconfig: no such file"),
        "{}",
        r.stderr
    );
    let r = fabsync(
        &[
            "validate",
            "--target",
            "real",
            "--kubeconfig",
            "Cargo.toml",
            "--netbox-url",
            "netbox.example.com",
            "--netbox-token-file",
            "Cargo.toml",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--netbox-url"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_validation_cleans_up() {
    let fakes = start_fakes("empty");
    let before_netbox = fakes.netbox_counts().await;
    let kube = fakes.kube().await;
    let log = fakes.dir.path().join("validate.log");
    let mut child = std::process::Command::new(procs::fabsync_bin())
        .args(["validate", "--target", "real", "--kubeconfig"])
        .arg(&fakes.kubeconfig)
        .arg("--netbox-url")
        .arg(&fakes.netbox_url)
        .arg("--netbox-token-file")
        .arg(&fakes.netbox_token_file)
        .arg("--out")
        .arg(fakes.dir.path().join("evidence"))
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(fakes.dir.path().join("validate.out")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start fabsync validate");
    // Mid-run: a fixture site in NetBox and fabsync's objects in the cluster.
    procs::poll(
        Duration::from_secs(120),
        "the first workflow synced",
        || {
            let kube = kube.clone();
            async move {
                let objects = hedgehog_objects(&kube).await;
                objects
                    .values()
                    .any(|o| !o["metadata"]["labels"]["fabsync.githedgehog.com/fabric"].is_null())
                    .then_some(())
            }
        },
    )
    .await;
    // Ctrl-C (SIGINT to the process we started, by its id).
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let code = procs::poll(Duration::from_secs(180), "fabsync validate exits", || {
        let r = child.try_wait().unwrap();
        async move { r.map(|s| s.code()) }
    })
    .await;
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        code,
        Some(2),
        "an interrupted validation is an error: {stderr}"
    );
    assert!(
        stderr.contains("interrupted; everything the validation created was removed"),
        "{stderr}"
    );
    assert_eq!(fakes.netbox_counts().await, before_netbox, "{stderr}");
    let left = hedgehog_objects(&kube).await;
    assert!(left.is_empty(), "{:?}", left.keys().collect::<Vec<_>>());
}
