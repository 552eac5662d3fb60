//! `fabsync validate` on the embedded simulated world, through the binary: every requirement
//! PROVEN and exit 0; the same seed gives a byte-identical bundle (except timings.json); a run
//! that cannot prove everything exits 1 and says what is NOT COVERED.

use crate::procs;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_fabsync")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    procs::read_tree(dir)
}

#[test]
fn every_requirement_is_proven_and_the_same_seed_gives_the_same_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bundles = Vec::new();
    // Both runs at once (separate processes, separate folders): the same bytes must come out
    // whatever else the machine is doing.
    let children: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|run| {
            let out = tmp.path().join(run);
            let child = Command::new(bin())
                .args(["validate", "--seed", "7", "--out"])
                .arg(&out)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (out, child)
        })
        .collect();
    for (out, child) in children {
        let o = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "exit {:?}\n{stdout}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            stdout.contains("PASSED: every requirement is PROVEN"),
            "{stdout}"
        );
        bundles.push(files(&out));
    }
    let (a, b) = (&bundles[0], &bundles[1]);
    for required in [
        "report.html",
        "report.md",
        "report.json",
        "junit.xml",
        "requirements.json",
        "api-log.jsonl",
        "tasks.jsonl",
        "timings.json",
        "seed",
        "snapshots/manual-sync/diff.txt",
        "snapshots/manual-sync/cluster-after.txt",
        "snapshots/manual-sync/netbox-before.txt",
    ] {
        assert!(a.contains_key(required), "{required} missing");
    }
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in a {
        if path != "timings.json" {
            assert!(
                bytes == &b[path],
                "{path} differs between two runs with seed 7"
            );
        }
    }
    assert_eq!(a["seed"], b"7\n");

    // requirements.json: the shape, every requirement PROVEN with evidence named.
    let reqs: Vec<Value> = serde_json::from_slice(&a["requirements.json"]).unwrap();
    assert!(reqs.len() >= 30);
    for r in &reqs {
        assert_eq!(r["status"], "PROVEN", "{r}");
        for k in ["id", "title", "workflow", "step", "evidence"] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
    }
    // The evidence a requirement names exists in the bundle.
    for r in &reqs {
        for e in r["evidence"].as_array().unwrap() {
            let e = e.as_str().unwrap();
            assert!(
                a.contains_key(e) || a.keys().any(|k| k.starts_with(e)),
                "{} names evidence {e}, which is not in the bundle",
                r["id"]
            );
        }
    }
    // The API log holds both servers and no token.
    let log = String::from_utf8_lossy(&a["api-log.jsonl"]);
    assert!(log.contains("\"server\":\"netbox\"") && log.contains("\"server\":\"apiserver\""));
    for secret in [fabsync::sim::CLUSTER_TOKEN, fabsync::sim::NETBOX_TOKEN] {
        assert!(!log.contains(secret));
    }
    // Observed texts speak the domain: no Rust `Debug` of options, results or tuples.
    let report: Value = serde_json::from_slice(&a["report.json"]).unwrap();
    for w in report["workflows"].as_array().unwrap() {
        for step in w["steps"].as_array().unwrap() {
            let observed = step["observed"].as_str().unwrap_or_default();
            for debug in ["Some(", "None", "Ok(", "Err(", "[(", "[\""] {
                assert!(
                    !observed.contains(debug),
                    "{} / {}: observed text shows Rust's Debug ({debug}): {observed}",
                    w["id"],
                    step["name"]
                );
            }
        }
    }
    // JUnit parses as XML with a suite per workflow.
    let junit = String::from_utf8_lossy(&a["junit.xml"]);
    assert!(junit.contains("<testsuite name=\"manual-sync\""), "{junit}");
    assert!(!junit.contains("<failure"));
}

#[test]
fn a_partial_run_fails_and_names_what_is_not_covered() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("partial");
    let o = Command::new(bin())
        .args(["validate", "--workflow", "incremental-update", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("FAILED: not every requirement is PROVEN"),
        "{stdout}"
    );
    assert!(stdout.contains("NOT_COVERED MS-1"), "{stdout}");
    let reqs: Vec<Value> =
        serde_json::from_slice(&std::fs::read(out.join("requirements.json")).unwrap()).unwrap();
    let di3 = reqs.iter().find(|r| r["id"] == "DI-3").unwrap();
    assert_eq!(di3["status"], "PROVEN");
    assert_eq!(di3["workflow"], "incremental-update");
    // The bundle of a partial run is checked like any other.
    let ev1 = reqs.iter().find(|r| r["id"] == "EV-1").unwrap();
    assert_eq!(ev1["status"], "PROVEN", "{ev1}");

    let o = Command::new(bin())
        .args(["validate", "--workflow", "no-such-workflow"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown workflow"));
}
