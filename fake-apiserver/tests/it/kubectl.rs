//! kubectl 1.32 end to end against the binary over HTTPS with a bearer token and a fresh cache:
//! client-side apply (create, update), server-side apply (and a conflict), get (table), get -o
//! yaml, diff, explain, api-resources, get -w, delete (also waiting on a finalizer), wrong token.

use crate::common;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Bin {
    child: Child,
    pub url: String,
}

impl Drop for Bin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free loopback port; returns once it printed its URL.
pub fn start(dir: &Path, crds: &Path, tls: bool) -> Bin {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fake-apiserver"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--token",
        "s3cret",
        "--read-only-token",
        "reader",
        "--admin-token",
        "adm",
    ])
    .arg("--crds")
    .arg(crds)
    .arg("--write-kubeconfig")
    .arg(dir.join("kubeconfig"))
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if tls {
        cmd.arg("--tls");
    }
    let mut child = cmd.spawn().expect("start fake-apiserver");
    let out = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    Bin { child, url }
}

fn kubectl_available() -> bool {
    Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Kc {
    home: PathBuf,
    kubeconfig: PathBuf,
}

impl Kc {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.env("HOME", &self.home)
            .env("KUBECONFIG", &self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.join("cache"))
            .args(args);
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run kubectl")
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

fn write(p: &Path, s: &str) {
    std::fs::write(p, s).unwrap();
}

#[test]
fn kubectl_end_to_end() {
    if !kubectl_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("kubectl is required under CI=true");
        }
        println!("skipped kubectl_end_to_end: kubectl not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let crds = dir.path().join("crds");
    std::fs::create_dir(&crds).unwrap();
    write(
        &crds.join("switches.yaml"),
        &serde_json::to_string(&common::switch_crd()).unwrap(),
    );
    let bin = start(dir.path(), &crds, true);
    assert!(bin.url.starts_with("https://127.0.0.1:"), "{}", bin.url);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let k = Kc {
        home,
        kubeconfig: dir.path().join("kubeconfig"),
    };
    let f = |n: &str, s: &str| {
        let p = dir.path().join(n);
        write(&p, s);
        p.display().to_string()
    };
    let x = f(
        "x.yaml",
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-01\n  namespace: default\n  labels:\n    role: leaf\nspec:\n  role: server-leaf\n  description: first leaf\n",
    );
    let x2 = f(
        "x2.yaml",
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: leaf-01\n  namespace: default\n  labels:\n    role: leaf\nspec:\n  role: server-leaf\n  description: first leaf, changed\n",
    );
    let x3 = f(
        "x3.yaml",
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: spine-01\n  namespace: default\n  finalizers: [\"example.com/cleanup\"]\nspec:\n  role: spine\n",
    );
    let x3b = f(
        "x3b.yaml",
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: spine-01\n  namespace: default\nspec:\n  role: border-leaf\n",
    );

    // client-side apply: create, update, unchanged
    assert!(
        k.ok(&["apply", "-f", &x])
            .contains("switch.wiring.githedgehog.com/leaf-01 created")
    );
    assert!(
        k.ok(&["apply", "-f", &x2])
            .contains("switch.wiring.githedgehog.com/leaf-01 configured")
    );
    assert!(k.ok(&["apply", "-f", &x2]).contains("unchanged"));
    // get: server-side table
    let out = k.ok(&["get", "switches.wiring.githedgehog.com"]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, vec!["NAME", "ROLE", "AGE"]);
    assert!(
        out.contains("leaf-01") && out.contains("server-leaf"),
        "{out}"
    );
    let yaml = k.ok(&["get", "sw", "leaf-01", "-o", "yaml"]);
    assert!(
        yaml.contains("description: first leaf, changed") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );
    // diff against the older file: exit code 1 and the change shown
    let d = k.run(&["diff", "-f", &x]);
    assert_eq!(
        d.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&d.stderr)
    );
    assert!(String::from_utf8_lossy(&d.stdout).contains("-  description: first leaf, changed"));
    // server-side apply, then a conflict from another manager, then force
    assert!(
        k.ok(&["apply", "--server-side", "-f", &x3])
            .contains("serverside-applied")
    );
    let c = k.run(&[
        "apply",
        "--server-side",
        "--field-manager=intruder",
        "-f",
        &x3b,
    ]);
    assert!(!c.status.success());
    let err = String::from_utf8_lossy(&c.stderr);
    assert!(
        err.contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.role"),
        "{err}"
    );
    k.ok(&[
        "apply",
        "--server-side",
        "--field-manager=intruder",
        "--force-conflicts",
        "-f",
        &x3b,
    ]);
    assert!(
        k.ok(&["get", "sw", "spine-01", "-o", "jsonpath={.spec.role}"])
            .contains("border-leaf")
    );
    // discovery and OpenAPI users
    let ar = k.ok(&["api-resources"]);
    let line = ar
        .lines()
        .find(|l| l.starts_with("switches "))
        .expect("switches listed");
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cols,
        vec![
            "switches",
            "sw",
            "wiring.githedgehog.com/v1beta1",
            "true",
            "Switch"
        ]
    );
    let ex = k.ok(&["explain", "switches.spec.role"]);
    assert!(ex.contains("Role of the switch in the fabric"), "{ex}");
    // get -w receives an event
    let mut w = k
        .cmd(&["get", "sw", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wout = w.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(wout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen_initial = false;
    while Instant::now() < deadline && !seen_initial {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen_initial |= l.contains("leaf-01");
        }
    }
    assert!(seen_initial);
    let x4 = f(
        "x4.yaml",
        "apiVersion: wiring.githedgehog.com/v1beta1\nkind: Switch\nmetadata:\n  name: watched-01\n  namespace: default\nspec:\n  role: spine\n",
    );
    k.ok(&["apply", "-f", &x4]);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen |= l.contains("watched-01");
        }
    }
    let _ = w.kill();
    let _ = w.wait();
    assert!(seen, "kubectl get -w did not print the new object");
    // delete, and delete waiting on a finalizer
    assert!(k.ok(&["delete", "sw", "leaf-01"]).contains("deleted"));
    let mut del = k
        .cmd(&["delete", "sw", "spine-01", "--timeout=60s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until kubectl's delete is watching for the DELETED event, per the fake's log.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = k.ok(&["--token", "adm", "get", "--raw", "/__fake/log"]);
        if log.lines().any(|l| {
            l.contains("\"verb\":\"watch\"") && l.contains("fieldSelector=metadata.name%3Dspine-01")
        }) {
            break;
        }
        assert!(
            del.try_wait().unwrap().is_none(),
            "delete returned before the finalizer was removed"
        );
        assert!(
            Instant::now() < deadline,
            "kubectl delete never started waiting"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        del.try_wait().unwrap().is_none(),
        "delete returned before the finalizer was removed"
    );
    k.ok(&[
        "patch",
        "sw",
        "spine-01",
        "--type=merge",
        "-p",
        "{\"metadata\":{\"finalizers\":null}}",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = del.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "kubectl delete did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success());
    let nf = k.run(&["get", "sw", "spine-01"]);
    assert!(String::from_utf8_lossy(&nf.stderr).contains(
        "Error from server (NotFound): switches.wiring.githedgehog.com \"spine-01\" not found"
    ));
    // a wrong token gives kubectl's login error
    let bad = std::fs::read_to_string(&k.kubeconfig)
        .unwrap()
        .replace("token: s3cret", "token: wrong");
    let badp = dir.path().join("bad-kubeconfig");
    write(&badp, &bad);
    let home2 = dir.path().join("home2");
    std::fs::create_dir(&home2).unwrap();
    let kb = Kc {
        home: home2,
        kubeconfig: badp,
    };
    let o = kb.run(&["get", "sw"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("You must be logged in to the server"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
