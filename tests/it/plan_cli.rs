//! `fabsync plan` through the real binary: `--fixture vlab|large|xlarge` (an in-process fake
//! NetBox read through the real NetBox client) and `--netbox-url` (a fake NetBox served on a
//! loopback port by this test). Stdout must be multi-document Kubernetes manifests that
//! `kubectl apply -f` accepts; findings and the summary go to stderr; exit codes are 0 (ok),
//! 1 (fatal findings, NetBox refused the input) and 2 (usage, unreachable, unauthorized).

use crate::procs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fabsync::hedgehog::Kind;
use fabsync::hedgehog::admission::HedgehogAdmission;
use fabsync::netbox::model::Device;
use fabsync::netbox::{NetboxClient, Token, into_http_service};
use fabsync::plan::{PlanConfig, plan};
use fake_apiserver::FakeApiServer;
use fake_netbox::{FakeNetBox, Fixture};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use procs::Run;
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(300);
const NB_TOKEN: &str = "nbt_plancli00001.0123456789abcdef0123456789abcdef01234567";

/// Runs `fabsync ARGS` (env `vars` added) to completion.
fn fabsync(args: &[&str], vars: &[(&str, &str)]) -> Run {
    procs::fabsync_env(args, vars, DEADLINE)
}

/// The documents of a multi-document YAML stream (empty documents dropped).
fn documents(yaml: &str) -> Vec<Value> {
    // the xlarge plan has more documents and nodes than the parser's default budget allows
    let mut options = serde_saphyr::Options::default();
    options.budget = None;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(yaml, options).expect("stdout is YAML");
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// Asserts every document is a namespaced Hedgehog manifest kube-rs can take, labelled for
/// `fabric`; returns (kind, name) → document.
fn manifests(yaml: &str, fabric: &str) -> BTreeMap<(Kind, String), Value> {
    assert!(
        yaml.starts_with("---\n"),
        "{}",
        &yaml[..yaml.len().min(200)]
    );
    let mut out = BTreeMap::new();
    for doc in documents(yaml) {
        let keys: Vec<&String> = doc.as_object().expect("a mapping").keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"], "{doc}");
        let kind = Kind::from_api_version_kind(
            doc["apiVersion"].as_str().unwrap(),
            doc["kind"].as_str().unwrap(),
        )
        .unwrap_or_else(|| panic!("not a Hedgehog kind: {doc}"));
        let obj: DynamicObject = serde_json::from_value(doc.clone()).expect("a Kubernetes object");
        let name = obj.metadata.name.clone().expect("metadata.name");
        assert_eq!(obj.metadata.namespace.as_deref(), Some("default"));
        let labels = obj.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels["fabsync.githedgehog.com/fabric"], fabric);
        assert_eq!(labels["app.kubernetes.io/managed-by"], "fabsync");
        assert!(
            out.insert((kind, name.clone()), doc).is_none(),
            "{kind} {name} printed twice"
        );
    }
    out
}

/// The "planned N objects …" summary line's N.
fn summary_count(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("planned "))
        .unwrap_or_else(|| panic!("no summary line in {stderr}"));
    line["planned ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The plan the library computes for a fixture, as YAML (what the CLI must print).
fn library_plan_yaml(fixture: Fixture, seed: u64, site: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let nb = FakeNetBox::builder()
            .token(NB_TOKEN)
            .seed(seed)
            .fixture(fixture)
            .build()
            .unwrap();
        let c = NetboxClient::new(
            into_http_service(nb.client_service()),
            "http://netbox.test",
            Token::new(NB_TOKEN),
        )
        .unwrap();
        let snap = c.read_fabric(site, None).await.unwrap();
        let p = plan(&snap, &PlanConfig::new(site));
        assert!(p.findings.is_empty(), "{:#?}", p.findings);
        p.to_yaml().unwrap()
    })
}

#[test]
fn fixture_vlab_prints_kubernetes_manifests_and_a_summary() {
    let r = fabsync(&["plan", "--fixture", "vlab"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let objects = manifests(&r.stdout, "vlab");
    assert_eq!(objects.len(), summary_count(&r.stderr));
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (kind, _) in objects.keys() {
        *per_kind.entry(kind.kind()).or_default() += 1;
    }
    // every kind the plan can produce has data in the VLAB fixture
    assert_eq!(
        per_kind,
        BTreeMap::from([
            ("Connection", 13),
            ("External", 1),
            ("ExternalAttachment", 1),
            ("ExternalPeering", 1),
            ("IPv4Namespace", 1),
            ("Server", 6),
            ("Switch", 5),
            ("SwitchGroup", 1),
            ("VLANNamespace", 1),
            ("VPC", 2),
            ("VPCAttachment", 7),
            ("VPCPeering", 1),
        ])
    );
    assert_eq!(
        r.stderr.trim_end(),
        "planned 40 objects for fabric vlab (site vlab): 1 VLANNamespace, 1 IPv4Namespace, \
         1 SwitchGroup, 5 Switch, 6 Server, 13 Connection, 2 VPC, 7 VPCAttachment, 1 VPCPeering, \
         1 External, 1 ExternalAttachment, 1 ExternalPeering; 0 warning(s)"
    );
    // exactly what the library plans from the same fixture read through the NetBox client
    assert_eq!(r.stdout, library_plan_yaml(Fixture::Vlab, 0, "vlab"));
    let leaf = &objects[&(Kind::Switch, "leaf-01".to_string())];
    assert_eq!(leaf["spec"]["boot"]["mac"], "0c:20:12:ff:03:00", "{leaf}");
}

#[test]
fn same_seed_same_bytes_and_the_seed_only_moves_serials() {
    let a = fabsync(&["plan", "--fixture", "vlab", "--seed", "7"], &[]);
    let b = fabsync(&["plan", "--fixture", "vlab", "--seed", "7"], &[]);
    let c = fabsync(&["plan", "--fixture", "vlab", "--seed", "8"], &[]);
    let zero = fabsync(&["plan", "--fixture", "vlab"], &[]);
    for r in [&a, &b, &c, &zero] {
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(a.stderr, b.stderr);
    assert_ne!(a.stdout, c.stdout);
    assert_ne!(a.stdout, zero.stdout, "the default seed is 0, not 7");
    let strip = |yaml: &str| -> Vec<Value> {
        documents(yaml)
            .into_iter()
            .map(|mut d| {
                if let Some(boot) = d["spec"].get_mut("boot").and_then(Value::as_object_mut) {
                    assert!(boot.remove("serial").is_some(), "{boot:?}");
                }
                d
            })
            .collect()
    };
    assert_eq!(strip(&a.stdout), strip(&c.stdout));
}

#[test]
fn fixtures_mesh_large_and_xlarge_plan_without_findings() {
    let mesh = fabsync(&["plan", "--fixture", "mesh"], &[]);
    assert_eq!(mesh.code, 0, "{}", mesh.stderr);
    let objects = manifests(&mesh.stdout, "mesh");
    assert_eq!(objects.len(), summary_count(&mesh.stderr));
    let meshes: Vec<&String> = objects
        .iter()
        .filter(|((k, _), doc)| *k == Kind::Connection && doc["spec"].get("mesh").is_some())
        .map(|((_, n), _)| n)
        .collect();
    assert!(
        meshes.contains(&&"leaf-01--mesh--leaf-02".to_string()),
        "{meshes:?}"
    );
    assert!(
        !objects
            .keys()
            .any(|(k, n)| *k == Kind::Switch && n.starts_with("spine"))
    );

    let large = fabsync(&["plan", "--fixture", "large"], &[]);
    assert_eq!(large.code, 0, "{}", large.stderr);
    let objects = manifests(&large.stdout, "fabric-large");
    assert_eq!(objects.len(), summary_count(&large.stderr));
    assert!(objects.len() > 800, "{}", objects.len());
    assert!(
        large.stderr.ends_with("; 0 warning(s)\n"),
        "{}",
        large.stderr
    );
    // Attachments of 4-leaf ESLAG connections have names longer than a 63-character DNS label,
    // which Kubernetes allows for object names (up to 253).
    let long = objects
        .keys()
        .filter(|(k, n)| *k == Kind::VPCAttachment && n.len() > 63)
        .count();
    assert!(long > 0);

    let xlarge = fabsync(&["plan", "--fixture", "xlarge", "--fabric", "xl"], &[]);
    assert_eq!(xlarge.code, 0, "{}", xlarge.stderr);
    let n = documents(&xlarge.stdout).len();
    assert_eq!(n, summary_count(&xlarge.stderr));
    assert!(n > 10_000, "{n}");
    assert!(
        xlarge.stderr.starts_with(&format!(
            "planned {n} objects for fabric xl (site fabric-xlarge): "
        )),
        "{}",
        xlarge.stderr
    );
}

#[test]
fn fabric_site_and_tag_flags() {
    let r = fabsync(&["plan", "--fixture", "vlab", "--fabric", "lab-1"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(manifests(&r.stdout, "lab-1").len(), 40);

    let r = fabsync(
        &[
            "plan",
            "--fixture",
            "vlab",
            "--tag",
            "hedgehog",
            "--site",
            "vlab",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!manifests(&r.stdout, "vlab").is_empty());

    let r = fabsync(&["plan", "--fixture", "vlab", "--site", "nope"], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("no site with slug \"nope\""),
        "{}",
        r.stderr
    );

    let r = fabsync(&["plan", "--fixture", "vlab", "--fabric", "Lab_1"], &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "no objects on a fatal finding");
    assert!(
        r.stderr
            .contains("fatal: NetBox dcim.site 1 (\"vlab\"), field slug: fabric name \"Lab_1\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[invalid-fabric-name]"), "{}", r.stderr);
    assert!(
        r.stderr
            .trim_end()
            .ends_with("error: 1 fatal finding(s); no objects printed"),
        "{}",
        r.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_print_nothing_on_stdout() {
    let cases: &[(&[&str], &str)] = &[
        (&["plan"], "give --fixture NAME, or --netbox-url"),
        (
            &["plan", "--fixture", "bogus"],
            "possible values: vlab, large, xlarge, mesh",
        ),
        (
            &[
                "plan",
                "--fixture",
                "vlab",
                "--netbox-url",
                "http://127.0.0.1:9",
            ],
            "cannot be used with",
        ),
        (&["plan", "--seed", "3"], "--fixture"),
        (
            &["plan", "--fixture", "vlab", "--seed", "x"],
            "invalid value 'x'",
        ),
        (
            &[
                "plan",
                "--netbox-url",
                "http://127.0.0.1:9",
                "--netbox-token-env",
                "T",
            ],
            "--site is required",
        ),
        (
            &[
                "plan",
                "--netbox-url",
                "http://127.0.0.1:9",
                "--site",
                "vlab",
            ],
            "a NetBox token is required",
        ),
        (
            &[
                "plan",
                "--netbox-url",
                "http://127.0.0.1:9",
                "--site",
                "vlab",
                "--netbox-token-env",
                "FABSYNC_TEST_SURELY_UNSET",
            ],
            "environment variable FABSYNC_TEST_SURELY_UNSET is not set",
        ),
        (
            &[
                "plan",
                "--netbox-url",
                "netbox.example.com",
                "--site",
                "vlab",
                "--netbox-token-env",
                "HOME",
            ],
            "has no scheme",
        ),
    ];
    for (args, msg) in cases {
        let r = fabsync(args, &[]);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
    }
}

/// A fake NetBox holding the VLAB fixture (seed 0), served on a loopback port by a runtime of
/// this test; the client edits it as a person would.
struct ServedNetbox {
    rt: tokio::runtime::Runtime,
    url: String,
    client: NetboxClient,
}

fn serve_vlab() -> ServedNetbox {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (url, client) = rt.block_on(async {
        let nb = FakeNetBox::builder()
            .token(NB_TOKEN)
            .fixture(Fixture::Vlab)
            .build()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = nb.clone();
        tokio::spawn(async move { served.serve(listener).await });
        let client = NetboxClient::new(
            into_http_service(nb.client_service()),
            &url,
            Token::new(NB_TOKEN),
        )
        .unwrap();
        (url, client)
    });
    ServedNetbox { rt, url, client }
}

impl ServedNetbox {
    fn plan(&self, token: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "plan",
            "--netbox-url",
            &self.url,
            "--netbox-token-env",
            "NB_TOKEN",
            "--site",
            "vlab",
        ];
        args.extend_from_slice(extra);
        fabsync(&args, &[("NB_TOKEN", token)])
    }

    fn device(&self, name: &str) -> Device {
        let mut d: Vec<Device> = self
            .rt
            .block_on(
                self.client
                    .list("dcim/devices", &[("name", name.to_string())]),
            )
            .unwrap();
        assert_eq!(d.len(), 1);
        d.remove(0)
    }
}

#[test]
fn netbox_by_url_same_plan_findings_and_errors() {
    let nb = serve_vlab();

    // The same fabric over a socket plans to the same bytes as the in-process fixture.
    let by_url = nb.plan(NB_TOKEN, &[]);
    assert_eq!(by_url.code, 0, "{}", by_url.stderr);
    let by_fixture = fabsync(&["plan", "--fixture", "vlab"], &[]);
    assert_eq!(by_url.stdout, by_fixture.stdout);
    assert_eq!(by_url.stderr, by_fixture.stderr);

    // A token NetBox does not know: exit 2, and the token is never printed.
    let wrong = "nbt_wrongkey0001.ffffffffffffffffffffffffffffffffffffffff";
    let r = nb.plan(wrong, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("NetBox refused the token"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("ffffffffffffffff"), "{}", r.stderr);

    // A warning: objects are still printed, exit 0.
    let leaf = nb.device("leaf-01");
    let pdu = nb.rt.block_on(async {
        let role: Value = nb
            .client
            .create(
                "dcim/device-roles",
                &json!({"name": "PDU", "slug": "pdu", "color": "aaaaaa"}),
            )
            .await
            .unwrap();
        let d: Value = nb
            .client
            .create(
                "dcim/devices",
                &json!({"name": "pdu-1", "role": role["id"], "device_type": leaf.device_type.id,
                        "site": leaf.site.as_ref().unwrap().id, "status": "active"}),
            )
            .await
            .unwrap();
        d["id"].as_u64().unwrap()
    });
    let r = nb.plan(NB_TOKEN, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, by_fixture.stdout, "an unknown role adds nothing");
    assert!(
        r.stderr.starts_with(&format!(
            "warning: NetBox dcim.device {pdu} (\"pdu-1\"), field role: "
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("[unknown-role]"), "{}", r.stderr);
    assert!(r.stderr.ends_with("; 1 warning(s)\n"), "{}", r.stderr);

    // A fatal finding: nothing on stdout, exit 1, the finding names object and field.
    let leaf = nb.device("leaf-01");
    nb.rt
        .block_on(
            nb.client
                .patch("dcim/devices", leaf.id, &json!({"name": "Leaf_01"})),
        )
        .unwrap();
    let r = nb.plan(NB_TOKEN, &[]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!(
            "fatal: NetBox dcim.device {} (\"Leaf_01\"), field name: Switch name \"Leaf_01\" is not a lowercase RFC 1123 subdomain",
            leaf.id
        )),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("no objects printed"), "{}", r.stderr);

    // NetBox gone: exit 2.
    let url = nb.url.clone();
    drop(nb);
    let r = fabsync(
        &[
            "plan",
            "--netbox-url",
            &url,
            "--netbox-token-env",
            "NB_TOKEN",
            "--site",
            "vlab",
        ],
        &[("NB_TOKEN", NB_TOKEN)],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("NetBox is unreachable"), "{}", r.stderr);
}

fn shared_crds() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/crds/hedgehog");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing under CI=true", dir.display());
    }
    println!(
        "skipped: {} not found, kubectl apply not run",
        dir.display()
    );
    None
}

fn kubectl_available() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("kubectl is required under CI=true");
        }
        println!("skipped: kubectl not found, kubectl apply not run");
    }
    ok
}

/// kubectl with a fresh HOME and cache, talking to the cluster of `home/kubeconfig`.
fn kubectl(home: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new("kubectl")
        .env("HOME", home)
        .env("KUBECONFIG", home.join("kubeconfig"))
        .arg("--cache-dir")
        .arg(home.join("cache"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run kubectl");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn kubectl_apply_accepts_the_vlab_fixture_plan() {
    let Some(crds) = shared_crds() else { return };
    if !kubectl_available() {
        return;
    }
    let plan_run = fabsync(&["plan", "--fixture", "vlab"], &[]);
    assert_eq!(plan_run.code, 0, "{}", plan_run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("vlab.yaml");
    std::fs::write(&file, &plan_run.stdout).unwrap();

    // A cluster serving the upstream Hedgehog CRDs with Hedgehog's admission rules, over HTTPS
    // on a loopback port (kubectl sends bearer tokens only over TLS).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let _in_runtime = rt.enter();
    let tls = fake_apiserver::tls::generate(&["127.0.0.1"]).unwrap();
    let (server, url) = rt.block_on(async {
        let server = FakeApiServer::builder()
            .token("cluster-token")
            .crds_from_dir(&crds)
            .unwrap()
            .admission(Arc::new(HedgehogAdmission))
            .build();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let served = server.clone();
        let material = tls.clone();
        tokio::spawn(async move { served.serve(listener, Some(material)).await });
        (server, url)
    });
    std::fs::write(
        dir.path().join("kubeconfig"),
        fake_apiserver::tls::kubeconfig(&url, &tls.ca_pem, "cluster-token", "default"),
    )
    .unwrap();

    // Hedgehog ships the SwitchProfile the fixture's switches name.
    let sp: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "wiring.githedgehog.com/v1beta1",
        "kind": "SwitchProfile", "metadata": {"name": "vs", "namespace": "default"}, "spec": {}}))
        .unwrap();
    let gvk = |k: Kind| GroupVersionKind::gvk(k.group(), k.version(), k.kind());
    let api = |k: Kind| -> Api<DynamicObject> {
        let client = kube::Client::new(
            tower::ServiceBuilder::new()
                .map_request(|mut r: http::Request<kube::client::Body>| {
                    r.headers_mut().insert(
                        http::header::AUTHORIZATION,
                        http::HeaderValue::from_static("Bearer cluster-token"),
                    );
                    r
                })
                .service(server.client_service()),
            "default",
        );
        Api::namespaced_with(
            client,
            "default",
            &ApiResource::from_gvk_with_plural(&gvk(k), k.plural()),
        )
    };
    rt.block_on(api(Kind::SwitchProfile).patch(
        "vs",
        &PatchParams::apply("hedgehog").force(),
        &Patch::Apply(&sp),
    ))
    .unwrap();

    let file_arg = file.to_str().unwrap();
    let (code, out, err) = kubectl(dir.path(), &["apply", "-f", file_arg]);
    assert_eq!(code, 0, "kubectl apply failed:\n{err}\n{out}");
    let planned = manifests(&plan_run.stdout, "vlab");
    let created: Vec<&str> = out.lines().filter(|l| l.ends_with(" created")).collect();
    assert_eq!(created.len(), planned.len(), "{out}");
    assert!(
        out.contains("switch.wiring.githedgehog.com/leaf-01 created"),
        "{out}"
    );
    for ((kind, name), doc) in &planned {
        let got = rt
            .block_on(api(*kind).get(name))
            .unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
        assert_eq!(got.data["spec"], doc["spec"], "{kind} {name}");
        let labels = got.metadata.labels.unwrap_or_default();
        assert_eq!(labels["fabsync.githedgehog.com/fabric"], "vlab");
    }

    // Applying the same file again changes nothing.
    let (code, out, err) = kubectl(dir.path(), &["apply", "-f", file_arg]);
    assert_eq!(code, 0, "{err}");
    let unchanged = out.lines().filter(|l| l.ends_with(" unchanged")).count();
    assert_eq!(unchanged, planned.len(), "{out}");
}
