//! Round trip of the upstream sample wiring diagrams: diagram → NetBox objects (the importer's
//! model of `docs/netbox-model.md`) → plan → the same Hedgehog objects, modulo the
//! normalisations documented in `docs/mapping.md` (links in natural port order, empty
//! `redundancy`/`ecmp` dropped, SwitchGroups no switch uses dropped, gateway API objects skipped).
//!
//! Three ways: pure (`diagram_to_snapshot` + `plan`); over the fake NetBox's HTTP API in process
//! (`import_wiring` into an empty fake NetBox, then `read_fabric` + `plan`; a second import
//! creates nothing, checked in the fake's change log); and through the real `fabsync` binary
//! against the `fake-netbox` binary on a loopback port (`import-wiring`, then `plan`).

use crate::procs;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fabsync::hedgehog::diagram::Diagram;
use fabsync::hedgehog::kinds::Kind;
use fabsync::netbox::from_diagram::diagram_to_snapshot;
use fabsync::netbox::import::import_wiring;
use fabsync::netbox::{NetboxClient, Token, https_service, into_http_service};
use fabsync::plan::{PlanConfig, plan};
use fake_netbox::FakeNetBox;
use serde_json::Value;

fn sample(name: &str) -> Option<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/crds/hedgehog/samples")
        .join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{} is missing under CI=true", p.display())
        }
        Err(_) => {
            println!("skipped: {} not found, round trip not run", p.display());
            None
        }
    }
}

fn natural(s: &str) -> Vec<(u8, u64, String)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut digit = false;
    for c in s.chars().chain(std::iter::once('\0')) {
        if c == '\0' || c.is_ascii_digit() != digit {
            if !cur.is_empty() {
                out.push(if digit {
                    (0, cur.parse().unwrap_or(u64::MAX), String::new())
                } else {
                    (1, 0, cur.clone())
                });
            }
            cur.clear();
            digit = c.is_ascii_digit();
        }
        cur.push(c);
    }
    out
}

fn first_port(v: &Value) -> String {
    fn find(v: &Value) -> Option<String> {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(p)) = m.get("port") {
                    return Some(p.clone());
                }
                for key in ["spine", "server", "leaf1", "switch1", "switch"] {
                    if let Some(x) = m.get(key).and_then(find) {
                        return Some(x);
                    }
                }
                None
            }
            _ => None,
        }
    }
    find(v).unwrap_or_default()
}

/// The documented normalisation, applied to a diagram object's spec.
fn normalise(kind: Kind, mut spec: Value) -> Value {
    if kind == Kind::Switch {
        let m = spec.as_object_mut().unwrap();
        for k in ["redundancy", "ecmp"] {
            if m.get(k)
                .is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
            {
                m.remove(k);
            }
        }
    }
    if kind == Kind::Connection
        && let Some(m) = spec.as_object_mut()
    {
        for (_, body) in m.iter_mut() {
            for key in ["links", "peerLinks", "sessionLinks"] {
                if let Some(Value::Array(links)) = body.get_mut(key) {
                    links.sort_by_key(|a| natural(&first_port(a)));
                }
            }
        }
    }
    spec
}

fn diagram_objects(d: &Diagram) -> BTreeMap<(Kind, String), Value> {
    let mut out = BTreeMap::new();
    let used: std::collections::BTreeSet<String> = d
        .switches
        .iter()
        .filter_map(|s| s.spec.redundancy.as_ref()?.group.clone())
        .collect();
    macro_rules! put {
        ($list:expr, $kind:expr) => {
            for o in &$list {
                let name = o.metadata.name.clone().unwrap();
                if $kind == Kind::SwitchGroup && !used.contains(&name) {
                    continue;
                }
                out.insert(
                    ($kind, name),
                    normalise($kind, serde_json::to_value(&o.spec).unwrap()),
                );
            }
        };
    }
    put!(d.vlan_namespaces, Kind::VLANNamespace);
    put!(d.ipv4_namespaces, Kind::IPv4Namespace);
    put!(d.switch_groups, Kind::SwitchGroup);
    put!(d.switches, Kind::Switch);
    put!(d.servers, Kind::Server);
    put!(d.connections, Kind::Connection);
    out
}

/// Asserts that the planned objects (kind, name) → spec are the diagram's, normalised.
fn assert_same_objects(
    d: &Diagram,
    planned: &BTreeMap<(Kind, String), Value>,
    warnings: &[String],
) {
    let expected = diagram_objects(d);
    assert!(
        expected.len() >= 15,
        "sample has {} objects",
        expected.len()
    );
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !planned.contains_key(k))
        .collect();
    let extra: Vec<_> = planned
        .keys()
        .filter(|k| !expected.contains_key(k))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}; warnings {warnings:?}"
    );
    for (k, v) in &expected {
        assert_eq!(&planned[k], v, "{k:?} differs");
    }
}

fn round_trip(file: &str, site: &str) {
    let Some(text) = sample(file) else { return };
    let d = Diagram::parse(&text).expect("sample parses");
    let (snap, warnings) = diagram_to_snapshot(&d, site).expect("sample imports");
    let p = plan(&snap, &PlanConfig::new(site));
    assert!(p.findings.is_empty(), "findings: {:#?}", p.findings);
    let planned: BTreeMap<(Kind, String), Value> = p
        .objects
        .iter()
        .map(|o| ((o.kind, o.name.clone()), o.spec.clone()))
        .collect();
    assert_same_objects(&d, &planned, &warnings);
}

#[test]
fn docs_sample_round_trips() {
    round_trip("docs-spine-leaf-2spine-4leaf.yaml", "docs-sample");
}

#[test]
fn vlab_sample_round_trips() {
    round_trip("vlab-mclag-eslag-7sw-10srv.yaml", "vlab-sample");
}

#[test]
fn dropped_objects_are_reported_as_warnings() {
    let Some(text) = sample("docs-spine-leaf-2spine-4leaf.yaml") else {
        return;
    };
    let d = Diagram::parse(&text).unwrap();
    let (_, warnings) = diagram_to_snapshot(&d, "docs-sample").unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("Gateway") && w.contains("gateway-1")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("SwitchGroup \"empty\"")),
        "{warnings:?}"
    );
}

// ---- over the fake NetBox's HTTP API, in process -------------------------------------------

const TOKEN: &str = "nbt_importrt0001.0123456789abcdef0123456789abcdef01234567";

fn client_of(nb: &FakeNetBox) -> NetboxClient {
    NetboxClient::new(
        into_http_service(nb.client_service()),
        "http://netbox.test",
        Token::new(TOKEN),
    )
    .unwrap()
}

/// Every entry of NetBox's change log (`GET /api/core/object-changes/`), oldest first.
async fn change_log(c: &NetboxClient) -> Vec<Value> {
    let mut v = c
        .list_values("core/object-changes", &[("ordering", "id".to_string())])
        .await
        .expect("list object changes");
    v.sort_by_key(|c| c["id"].as_u64());
    v
}

fn action(c: &Value) -> &str {
    c["action"]["value"].as_str().unwrap_or_default()
}

async fn http_round_trip(file: &str, site: &str) {
    let Some(text) = sample(file) else { return };
    let d = Diagram::parse(&text).expect("sample parses");
    let nb = FakeNetBox::builder().token(TOKEN).seed(5).build().unwrap();
    let c = client_of(&nb);
    assert!(
        change_log(&c).await.is_empty(),
        "the fake NetBox starts empty"
    );

    let first = import_wiring(&c, &d, site).await.expect("first import");
    assert!(first.total_created() > 50, "{}", first.summary());
    // Bulk writes: the number of write requests does not grow with the objects (a real NetBox
    // takes tens of milliseconds per request): 19 are netbox-setup's custom fields, the rest
    // one or two per kind. With one request per MAC, IP and interface patch it was 59.
    let first_writes = nb.log().entries().iter().filter(|e| e.write).count();
    assert!(
        first_writes <= 36,
        "{first_writes} write requests for {} objects",
        first.total_created()
    );
    let log1 = change_log(&c).await;
    // Every object the report counts as created is in the change log, type by type. NetBox
    // also logs the cable terminations of each cable and the custom fields the importer
    // ensures first (what `fabsync netbox-setup` creates).
    let mut created_in_log: BTreeMap<String, usize> = BTreeMap::new();
    for c in log1.iter().filter(|c| action(c) == "create") {
        let t = c["changed_object_type"].as_str().unwrap().to_string();
        *created_in_log.entry(t).or_default() += 1;
    }
    let terminations = created_in_log.remove("dcim.cabletermination").unwrap_or(0);
    assert_eq!(terminations, 2 * first.created["dcim.cable"]);
    assert!(created_in_log.remove("extras.customfield").unwrap_or(0) > 0);
    assert_eq!(created_in_log, first.created, "{}", first.summary());
    assert!(
        log1.iter().all(|c| action(c) != "delete"),
        "an import never deletes"
    );

    let snap = c
        .read_fabric(site, None)
        .await
        .expect("read the imported fabric");
    let p = plan(&snap, &PlanConfig::new(site));
    assert!(p.findings.is_empty(), "findings: {:#?}", p.findings);
    let planned: BTreeMap<(Kind, String), Value> = p
        .objects
        .iter()
        .map(|o| ((o.kind, o.name.clone()), o.spec.clone()))
        .collect();
    assert_same_objects(&d, &planned, &first.warnings);

    // Importing again creates, updates and deletes nothing.
    let writes_before = nb.log().entries().iter().filter(|e| e.write).count();
    let second = import_wiring(&c, &d, site).await.expect("second import");
    assert_eq!(second.total_created(), 0, "{}", second.summary());
    assert_eq!(second.updated, 0, "{}", second.summary());
    assert_eq!(
        second.existing.values().sum::<usize>(),
        first.total_created() - first.created.get("dcim.manufacturer").copied().unwrap_or(0),
        "{}",
        second.summary()
    );
    let log2 = change_log(&c).await;
    assert_eq!(
        log2.len(),
        log1.len(),
        "second import wrote {:#?}",
        &log2[log1.len().min(log2.len())..]
    );
    let writes: Vec<String> = nb.log().entries()[..]
        .iter()
        .filter(|e| e.write)
        .skip(writes_before)
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert!(writes.is_empty(), "second import sent writes: {writes:?}");
    let again = plan(
        &c.read_fabric(site, None).await.unwrap(),
        &PlanConfig::new(site),
    );
    assert_eq!(again, p, "the fabric is unchanged by the second import");
}

#[tokio::test(start_paused = true)]
async fn docs_sample_round_trips_over_the_fake_netbox_api() {
    http_round_trip("docs-spine-leaf-2spine-4leaf.yaml", "docs-sample").await;
}

#[tokio::test(start_paused = true)]
async fn vlab_sample_round_trips_over_the_fake_netbox_api() {
    http_round_trip("vlab-mclag-eslag-7sw-10srv.yaml", "vlab-sample").await;
}

// ---- through the real binaries: `fabsync` against `fake-netbox` on a loopback port ---------

/// The `fake-netbox` binary (`$FAKE_NETBOX_BIN`, else the workspace's own test build of it).
fn fake_netbox_bin() -> PathBuf {
    procs::workspace_bin("fake-netbox")
}

/// A child process killed (by its own id) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const DEADLINE: Duration = Duration::from_secs(120);

/// Starts `fake-netbox` on a free loopback port; returns once it printed the URL it serves.
fn start_fake_netbox(token: &str) -> (Proc, String) {
    let mut child = Command::new(fake_netbox_bin())
        .args(["--listen", "127.0.0.1:0", "--token", token, "--seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start fake-netbox");
    let out = child.stdout.take().unwrap();
    let proc = Proc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(DEADLINE)
        .expect("fake-netbox printed its URL in time");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (proc, url)
}

/// Runs `fabsync ARGS` (env `vars` added): exit code, stdout, stderr.
fn fabsync(args: &[&str], vars: &[(&str, &str)]) -> (i32, String, String) {
    let r = procs::fabsync_env(args, vars, DEADLINE);
    (r.code, r.stdout, r.stderr)
}

#[test]
fn vlab_sample_round_trips_through_the_binaries() {
    let Some(text) = sample("vlab-mclag-eslag-7sw-10srv.yaml") else {
        return;
    };
    let d = Diagram::parse(&text).unwrap();
    let token = "0123456789abcdef0123456789abcdef01234567"; // NetBox v1 token format
    let (_nb, url) = start_fake_netbox(token);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let token_file = token_file.to_str().unwrap();
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/crds/hedgehog/samples/vlab-mclag-eslag-7sw-10srv.yaml");
    let file = file.to_str().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let api = NetboxClient::new(https_service(None).unwrap(), &url, Token::new(token)).unwrap();
    let changes = || rt.block_on(change_log(&api));
    assert!(changes().is_empty());

    // Bad input gets a clear error and writes nothing: a missing file, a connection to a
    // device the diagram does not have, a token NetBox does not know.
    let (code, _, err) = fabsync(
        &[
            "import-wiring",
            "/nonexistent/wiring.yaml",
            "--netbox-url",
            &url,
            "--netbox-token-file",
            token_file,
            "--site",
            "x",
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot read /nonexistent/wiring.yaml"),
        "{err}"
    );
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        text.replacen("port: server-01/enp2s1", "port: server-99/enp2s1", 1),
    )
    .unwrap();
    let (code, _, err) = fabsync(
        &[
            "import-wiring",
            broken.to_str().unwrap(),
            "--netbox-url",
            &url,
            "--netbox-token-file",
            token_file,
            "--site",
            "vlab-sample",
        ],
        &[],
    );
    assert_eq!(code, 3, "invalid data: {err}");
    assert!(
        err.contains("wiring diagram: Connection")
            && err.contains("field spec: port \"server-99/enp2s1\""),
        "{err}"
    );
    let (code, _, err) = fabsync(
        &[
            "import-wiring",
            file,
            "--netbox-url",
            &url,
            "--netbox-token-env",
            "NB_TOKEN",
            "--site",
            "vlab-sample",
        ],
        &[("NB_TOKEN", "ffffffffffffffffffffffffffffffffffffffff")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("NetBox refused the token"), "{err}");
    assert!(!err.contains("ffffffffffffffff"), "{err}");
    assert!(changes().is_empty(), "failed imports wrote nothing");

    let (code, out, err) = fabsync(
        &[
            "import-wiring",
            file,
            "--netbox-url",
            &url,
            "--netbox-token-file",
            token_file,
            "--site",
            "vlab-sample",
        ],
        &[],
    );
    assert_eq!(code, 0, "stdout {out}\nstderr {err}");
    assert!(out.starts_with("created "), "{out}");
    assert!(!err.contains(token) && !out.contains(token));
    let after_first = changes();
    assert!(after_first.len() > 100, "{}", after_first.len());

    let (code, yaml, err) = fabsync(
        &[
            "plan",
            "--netbox-url",
            &url,
            "--netbox-token-file",
            token_file,
            "--site",
            "vlab-sample",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("planned ") && !err.contains("fatal"), "{err}");
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).expect("plan output is YAML");
    let mut planned = BTreeMap::new();
    for doc in docs.into_iter().filter(|d| !d.is_null()) {
        let kind = Kind::from_api_version_kind(
            doc["apiVersion"].as_str().unwrap(),
            doc["kind"].as_str().unwrap(),
        )
        .expect("a Hedgehog kind");
        assert_eq!(
            doc["metadata"]["labels"]["fabsync.githedgehog.com/fabric"],
            "vlab-sample"
        );
        planned.insert(
            (kind, doc["metadata"]["name"].as_str().unwrap().to_string()),
            doc["spec"].clone(),
        );
    }
    assert_same_objects(&d, &planned, &[]);

    // Again, with the token from the environment: nothing new in NetBox's change log.
    let (code, out, err) = fabsync(
        &[
            "import-wiring",
            file,
            "--netbox-url",
            &url,
            "--netbox-token-env",
            "NB_TOKEN",
            "--site",
            "vlab-sample",
        ],
        &[("NB_TOKEN", token)],
    );
    assert_eq!(code, 0, "stdout {out}\nstderr {err}");
    assert!(out.starts_with("created 0 objects (none), "), "{out}");
    assert!(out.ends_with(", 0 interfaces updated\n"), "{out}");
    let after_second = changes();
    assert_eq!(
        after_second.len(),
        after_first.len(),
        "second import wrote {:#?}",
        &after_second[after_first.len().min(after_second.len())..]
    );
}
