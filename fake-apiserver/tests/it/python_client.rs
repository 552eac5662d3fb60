//! The Python `kubernetes` client against the binary over HTTPS: list with a label selector,
//! create without Content-Type, merge patch, SSA with `_content_type`, watch with
//! timeout_seconds, delete.

use crate::common;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const SCRIPT: &str = r#"
import sys
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
api = client.CustomObjectsApi()
G, V, P = "wiring.githedgehog.com", "v1beta1", "switches"
body = {"apiVersion": G + "/" + V, "kind": "Switch", "metadata": {"name": "py-1", "labels": {"x": "y"}}, "spec": {"role": "spine"}}
created = api.create_namespaced_custom_object(G, V, "default", P, body)
assert created["metadata"]["generation"] == 1, created
lst = api.list_namespaced_custom_object(G, V, "default", P, label_selector="x=y", limit=10)
assert [i["metadata"]["name"] for i in lst["items"]] == ["py-1"], lst
assert api.list_namespaced_custom_object(G, V, "default", P, label_selector="x=z")["items"] == []
p = api.patch_namespaced_custom_object(G, V, "default", P, "py-1", {"spec": {"description": "d"}})
assert p["spec"]["description"] == "d", p
ssa = api.patch_namespaced_custom_object(G, V, "default", P, "py-1",
    {"apiVersion": G + "/" + V, "kind": "Switch", "metadata": {"name": "py-1"}, "spec": {"role": "border-leaf"}},
    field_manager="py", force=True, _content_type="application/apply-patch+yaml")
assert ssa["spec"]["role"] == "border-leaf", ssa
assert any(m["manager"] == "py" and m["operation"] == "Apply" for m in ssa["metadata"]["managedFields"])
w = watch.Watch()
events = [e["type"] for e in w.stream(api.list_namespaced_custom_object, G, V, "default", P, timeout_seconds=1)]
assert events == ["ADDED"], events
api.delete_namespaced_custom_object(G, V, "default", P, "py-1")
try:
    api.get_namespaced_custom_object(G, V, "default", P, "py-1")
    raise SystemExit("still there")
except client.exceptions.ApiException as e:
    assert e.status == 404, e
v = client.VersionApi().get_code()
assert v.minor == "32", v
print("python client ok")
"#;

#[test]
fn python_kubernetes_client() {
    let have = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("python3 with the kubernetes package is required under CI=true");
        }
        println!("skipped python_kubernetes_client: python3 -c 'import kubernetes' failed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let crds = dir.path().join("crds");
    std::fs::create_dir(&crds).unwrap();
    std::fs::write(
        crds.join("switches.yaml"),
        serde_json::to_string(&common::switch_crd()).unwrap(),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-apiserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--token",
            "py-token",
            "--crds",
        ])
        .arg(&crds)
        .arg("--write-kubeconfig")
        .arg(dir.path().join("kubeconfig"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("https://127.0.0.1:"), "{line}");
    let script = dir.path().join("t.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("python client ok"));
}
