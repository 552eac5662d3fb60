//! The operator CLI through processes: `fabsync sync`, `diff`, `status`, `runs` with a
//! `fabsync.toml` that names a kubeconfig + context and a NetBox URL + token file, against the
//! fake apiserver (HTTPS) and fake NetBox (VLAB fixture) running as separate processes — the
//! real code path (`RealConnector`, kube-rs over TLS, the NetBox client over TCP). Also how it
//! fails: a kubeconfig with the wrong CA, a wrong cluster token, configuration errors.

use crate::procs;

use std::path::Path;
use std::time::Duration;

use procs::{Fakes, Run, fabsync, hedgehog_objects, start_fakes};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(300);

fn run(args: &[&str], config: &Path) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    let c = config.to_string_lossy().to_string();
    all.extend(["-c", c.as_str()]);
    fabsync(&all, LIMIT)
}

/// The sum of one column of the summary table `fabsync sync` prints.
fn column_sum(table: &str, column: &str) -> u64 {
    let mut lines = table.lines().skip_while(|l| !l.starts_with("KIND"));
    let header: Vec<&str> = lines
        .next()
        .expect("a summary table")
        .split_whitespace()
        .collect();
    let idx = header
        .iter()
        .position(|h| *h == column)
        .expect("the column");
    lines
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("run "))
        .map(|l| {
            l.split_whitespace()
                .nth(idx)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// A copy of the fake's kubeconfig with one line changed.
fn kubeconfig_with(fakes: &Fakes, name: &str, key: &str, value: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(&fakes.kubeconfig).unwrap();
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            let trimmed = l.trim_start();
            if trimmed.starts_with(&format!("{key}:")) {
                found = true;
                format!("{}{key}: {value}", &l[..l.len() - trimmed.len()])
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(found, "the kubeconfig has a {key} line");
    let path = fakes.dir.path().join(name);
    std::fs::write(&path, out.join("\n") + "\n").unwrap();
    path
}

/// A config like `fakes.config` but with another kubeconfig.
fn config_with_kubeconfig(fakes: &Fakes, name: &str, kubeconfig: &Path) -> std::path::PathBuf {
    let base = fakes.config(name, "interval_secs = 0");
    let text = std::fs::read_to_string(&base).unwrap().replace(
        &format!("kubeconfig = {:?}", fakes.kubeconfig),
        &format!("kubeconfig = {kubeconfig:?}"),
    );
    std::fs::write(&base, text).unwrap();
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_diff_status_and_runs_against_the_fakes() {
    let fakes = start_fakes("vlab");
    let config = fakes.config("fabsync.toml", "interval_secs = 0");
    let cfg = config.clone();

    // sync: exit 0, a summary table, the objects in the cluster.
    let r = tokio::task::spawn_blocking(move || run(&["sync", "vlab"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("KIND"), "{}", r.stdout);
    assert!(r.stdout.contains("run 1: SUCCESS"), "{}", r.stdout);
    let created = column_sum(&r.stdout, "CREATED");
    assert!(created >= 40, "the VLAB fabric is 40 objects: {}", r.stdout);
    let objects = hedgehog_objects(&fakes.kube().await).await;
    let owned = objects
        .values()
        .filter(|o| o["metadata"]["labels"]["fabsync.githedgehog.com/fabric"] == "vlab")
        .count() as u64;
    assert_eq!(
        owned, created,
        "every object the run created is in the cluster"
    );
    assert!(objects.contains_key("Switch/leaf-01"));

    // diff: in sync → exit 0.
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["diff", "vlab"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("0 change(s)"), "{}", r.stdout);

    // A NetBox edit → exit 1 and a field-level diff.
    let dev = fakes
        .netbox_api("GET", "/api/dcim/devices/?name=leaf-01", None)
        .await;
    let id = dev["results"][0]["id"].as_u64().expect("leaf-01 in NetBox");
    fakes
        .netbox_api(
            "PATCH",
            &format!("/api/dcim/devices/{id}/"),
            Some(&json!({"description": "moved to rack 7"})),
        )
        .await;
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["diff", "vlab"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("Switch/leaf-01"), "{}", r.stdout);
    let field_line = r
        .stdout
        .lines()
        .find(|l| l.contains("description") && l.contains("->"))
        .unwrap_or_else(|| panic!("a field line for the description: {}", r.stdout));
    assert!(field_line.contains("\"moved to rack 7\""), "{field_line}");
    assert!(r.stdout.contains("1 change(s)"), "{}", r.stdout);
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["diff", "vlab", "--summary"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 1);
    assert!(!r.stdout.contains("@@"), "--summary prints no unified diff");

    // status: the fabric is out_of_sync (the diff saw NetBox ahead of the cluster).
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["status"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row = r
        .stdout
        .lines()
        .find(|l| l.starts_with("vlab"))
        .unwrap_or_else(|| panic!("a row for vlab: {}", r.stdout));
    assert!(row.contains("out_of_sync"), "{row}");
    assert!(row.contains("connected"), "{row}");
    assert!(row.contains("periodic sync off"), "{row}");

    // runs, and one run in full.
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["runs", "vlab"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("RUN"), "{}", r.stdout);
    let row = r.stdout.lines().nth(1).expect("one run");
    assert!(
        row.starts_with("1 ") && row.contains("manual") && row.contains("SUCCESS"),
        "{row}"
    );
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["runs", "vlab", "--id", "1"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("run 1 of vlab: SUCCESS"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.contains(" create ") && l.contains(" ok"))
            .count() as u64,
        created,
        "{}",
        r.stdout
    );
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["runs", "vlab", "--id", "99"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 2, "{}", r.stdout);

    // The second sync applies the NetBox edit: one update.
    let cfg = config.clone();
    let r = tokio::task::spawn_blocking(move || run(&["sync", "vlab"], &cfg))
        .await
        .unwrap();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(column_sum(&r.stdout, "UPDATED"), 1, "{}", r.stdout);
    assert_eq!(column_sum(&r.stdout, "CREATED"), 0, "{}", r.stdout);
    let objects = hedgehog_objects(&fakes.kube().await).await;
    assert_eq!(
        objects["Switch/leaf-01"]["spec"]["description"],
        "moved to rack 7"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_credential_failures_are_named() {
    let fakes = start_fakes("vlab");

    // A kubeconfig whose CA is another one: exit 1, the message says TLS and names the server.
    let other_ca = fake_apiserver::tls::generate(&["127.0.0.1"])
        .unwrap()
        .ca_pem;
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(other_ca);
    let kc = kubeconfig_with(
        &fakes,
        "kubeconfig-wrong-ca",
        "certificate-authority-data",
        &b64,
    );
    let config = config_with_kubeconfig(&fakes, "wrong-ca.toml", &kc);
    let r = tokio::task::spawn_blocking(move || run(&["sync", "vlab"], &config))
        .await
        .unwrap();
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let err = r
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("an error line: {}", r.stderr));
    assert!(err.contains("TLS"), "{err}");
    assert!(err.contains(&fakes.cluster_url), "{err}");
    assert!(err.contains("CA certificate"), "{err}");

    // A wrong cluster token: exit 1, "refused the credentials", no token printed.
    let kc = kubeconfig_with(
        &fakes,
        "kubeconfig-wrong-token",
        "token",
        "not-the-cluster-token-4711",
    );
    let config = config_with_kubeconfig(&fakes, "wrong-token.toml", &kc);
    let r = tokio::task::spawn_blocking(move || run(&["sync", "vlab"], &config))
        .await
        .unwrap();
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("refused the credentials"), "{}", r.stderr);
    assert!(r.stderr.contains(&fakes.cluster_url), "{}", r.stderr);
    for secret in [
        "not-the-cluster-token-4711",
        fakes.cluster_token.as_str(),
        fakes.netbox_token.as_str(),
    ] {
        assert!(
            !r.stdout.contains(secret) && !r.stderr.contains(secret),
            "a token was printed"
        );
    }
    // Nothing was written to the cluster by either attempt.
    assert!(hedgehog_objects(&fakes.kube().await).await.is_empty());
}

#[test]
fn configuration_errors_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "0123456789abcdef0123456789abcdef01234567\n").unwrap();
    let write = |name: &str, text: String| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let base = |extra: &str, netbox: &str| {
        format!(
            "[store]\npath = \":memory:\"\n\n[[fabric]]\nname = \"vlab\"\n{extra}\n\n[fabric.netbox]\nurl = \"http://127.0.0.1:9\"\n{netbox}\n\n[fabric.cluster]\nkubeconfig = \"/nonexistent/kubeconfig\"\ncontext = \"fake\"\n"
        )
    };
    let tok = format!("token_file = {token:?}");
    let cases = [
        (
            "interval.toml",
            base("interval_secs = 3", &tok),
            "interval_secs: 3 is below the minimum of 5 seconds",
        ),
        (
            "token.toml",
            base("", ""),
            "netbox.token_file: a token is required",
        ),
        (
            "qps.toml",
            base("[fabric.limits]\nqps = 0.0", &tok),
            "limits.qps",
        ),
        (
            "unknown.toml",
            base("colour = \"blue\"", &tok),
            "unknown field `colour`",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(name, text);
        for cmd in [
            &["sync", "vlab"][..],
            &["diff", "vlab"],
            &["status"],
            &["runs", "vlab"],
        ] {
            let r = run(cmd, &path);
            assert_eq!(r.code, 2, "{cmd:?} with {name}: {}", r.stderr);
            assert!(
                r.stderr.contains(expected),
                "{cmd:?} with {name}: {}",
                r.stderr
            );
        }
    }
    // A fabric the file does not have, and a file that does not exist.
    let ok = write("ok.toml", base("", &tok));
    let r = run(&["sync", "nope"], &ok);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("fabric \"nope\" is not in"),
        "{}",
        r.stderr
    );
    let r = run(&["status"], &dir.path().join("missing.toml"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read config file"), "{}", r.stderr);
}

/// A cluster token with a byte an HTTP header cannot carry is refused when the configuration is
/// loaded, naming the fabric and the field and never the token; `sync` and `serve` exit 2
/// instead of panicking (exit 101, as before the check).
#[test]
fn a_token_an_http_header_cannot_carry_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let nb_token = dir.path().join("nb-token");
    std::fs::write(&nb_token, "0123456789abcdef0123456789abcdef01234567\n").unwrap();
    let bad = dir.path().join("cluster-token");
    std::fs::write(&bad, "secretpart1\u{1}secretpart2\n").unwrap();
    let cfg = dir.path().join("bad-token.toml");
    std::fs::write(
        &cfg,
        format!(
            "[store]\npath = \":memory:\"\n\n[[fabric]]\nname = \"vlab\"\n\n[fabric.netbox]\nurl = \"http://127.0.0.1:9\"\ntoken_file = {nb_token:?}\n\n[fabric.cluster]\nserver = \"https://127.0.0.1:9\"\ntoken_file = {bad:?}\n"
        ),
    )
    .unwrap();
    for cmd in [&["sync", "vlab"][..], &["diff", "vlab"], &["serve"]] {
        let r = run(cmd, &cfg);
        assert_eq!(r.code, 2, "{cmd:?}: {}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("cluster.token_file")
                && r.stderr.contains("which an HTTP header cannot carry"),
            "{cmd:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("secretpart"),
            "{cmd:?} leaked the token: {}",
            r.stderr
        );
    }
}

/// Invalid NetBox data: `sync` and `diff` exit 3 (not 1, which `diff` uses for "changes"),
/// write nothing, and name the object and field once ("fatal: fatal:" was printed before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_netbox_data_exits_3_and_says_fatal_once() {
    let fakes = start_fakes("vlab");
    let config = fakes.config("fabsync.toml", "interval_secs = 0");
    let devices = fakes
        .netbox_api("GET", "/api/dcim/devices/?name=leaf-01", None)
        .await;
    let id = devices["results"][0]["id"].as_u64().unwrap();
    fakes
        .netbox_api(
            "PATCH",
            &format!("/api/dcim/devices/{id}/"),
            Some(&json!({"name": "Leaf_01"})),
        )
        .await;
    for cmd in [&["sync", "vlab"][..], &["diff", "vlab"]] {
        let cfg = config.clone();
        let args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        let r = tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&a, &cfg)
        })
        .await
        .unwrap();
        assert_eq!(r.code, 3, "{cmd:?}: {}\n{}", r.stdout, r.stderr);
        let out = format!("{}{}", r.stdout, r.stderr);
        assert!(out.contains("fatal: NetBox dcim.device"), "{cmd:?}: {out}");
        assert!(!out.contains("fatal: fatal:"), "{cmd:?}: {out}");
    }
    let kube = fakes.kube().await;
    let owned = hedgehog_objects(&kube)
        .await
        .values()
        .filter(|o| {
            o.pointer("/metadata/labels/fabsync.githedgehog.com~1fabric")
                .is_some()
        })
        .count();
    assert_eq!(owned, 0, "nothing written");
}
