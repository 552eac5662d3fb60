//! Shared helpers for tests that run the real binaries as separate processes: the `fake-apiserver`
//! (HTTPS, our CRDs from `fabsync crds`, a written kubeconfig) and `fake-netbox` binaries on
//! loopback ports, `fabsync` commands with a bounded deadline, `fabsync serve` in the background,
//! and plain HTTP and kube-rs clients to look at what they did.
//!
//! The fakes belong to other packages of the workspace, so cargo does not build them for these
//! tests: they are taken from `$FAKE_APISERVER_BIN` / `$FAKE_NETBOX_BIN`, or built with cargo on
//! first use (same profile and target directory). Every child is killed (by its own id) when its
//! handle drops. Waits poll with deadlines; nothing sleeps to synchronise.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest wait for a process to start or a command to finish.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// The `fabsync` binary of this build.
pub fn fabsync_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fabsync"))
}

/// The fake binaries this file starts.
pub const FAKE_BINS: &[&str] = &["fake-apiserver", "fake-netbox"];

/// A binary of another workspace package (one of [`FAKE_BINS`]): `$<NAME>_BIN`, else built with
/// cargo on first use by the workspace's own `cargo test --no-run` (the binaries it builds for
/// the fakes' integration tests), so features resolve as in the normal build and nothing is
/// rebuilt twice.
pub fn workspace_bin(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<BTreeMap<String, PathBuf>>> = OnceLock::new();
    let var = format!("{}_BIN", name.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&var) {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "${var} = {} is not a file", p.display());
        return p;
    }
    let cache = BUILT.get_or_init(|| Mutex::new(BTreeMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.get(name) {
        return p.clone();
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    // Exactly the build a plain `cargo test` has just done (every default member with its tests,
    // features unified with the dev-dependencies): a no-op there, where `cargo build --bin …`
    // would resolve other features and rebuild dozens of crates. Its bin artifacts are the fakes.
    cmd.args(["test", "--no-run"]);
    // Not the variables cargo sets for this test: build scripts (ring's) watch some of them,
    // and a different value would rebuild them here and again in the next normal build.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k == "CARGO_MANIFEST_DIR"
            || k == "CARGO_MANIFEST_PATH"
            || k == "CARGO_CRATE_NAME"
            || k == "CARGO_PRIMARY_PACKAGE"
            || k == "CARGO_TARGET_TMPDIR"
            || k == "OUT_DIR"
            || k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_EXE_")
        {
            cmd.env_remove(&k);
        }
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    // Same profile as this test binary (target/<profile>/fabsync).
    let profile_dir = fabsync_bin()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running cargo build for {FAKE_BINS:?}: {e}"));
    assert!(
        out.status.success(),
        "cargo build of {FAKE_BINS:?} failed (set ${var} to a prebuilt binary to skip the build)"
    );
    for m in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["executable"].is_string())
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
                && m["profile"]["test"] == false
        })
    {
        if let Some(target) = m["target"]["name"].as_str() {
            cache.insert(
                target.to_string(),
                PathBuf::from(m["executable"].as_str().unwrap()),
            );
        }
    }
    cache
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("cargo reported no {name} executable"))
}

/// A child process, killed (by its id) and reaped when dropped; its output goes to a log file.
pub struct Proc {
    child: Child,
    /// What it is (for messages).
    pub name: String,
    /// Its combined output.
    pub log: PathBuf,
}

impl Proc {
    /// Kills it at once (SIGKILL), as a crash would.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Its log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cmd`, copies stdout and stderr into `log`, and returns once a stdout line contains
/// `ready` (that line is returned) or fails after [`DEADLINE`].
pub fn spawn_until(mut cmd: Command, name: &str, log: &Path, ready: &str) -> (Proc, String) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let file = std::fs::File::create(log).expect("create the log file");
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let f1 = file.try_clone().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let mut f = f1;
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = writeln!(f, "{line}");
            let _ = tx.send(line);
        }
    });
    std::thread::spawn(move || {
        use std::io::Write;
        let mut f = file;
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = writeln!(f, "{line}");
        }
    });
    let mut proc = Proc {
        child,
        name: name.to_string(),
        log: log.to_path_buf(),
    };
    let start = Instant::now();
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(ready) => return (proc, line),
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!(
                    "{name} exited before saying {ready:?}:\n{}",
                    proc.log_text()
                )
            }
        }
        if proc.exited() {
            panic!(
                "{name} exited before saying {ready:?}:\n{}",
                proc.log_text()
            );
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{name} did not say {ready:?} within {DEADLINE:?}:\n{}",
            proc.log_text()
        );
    }
}

/// The first `scheme://…` word of a line.
pub fn url_in(line: &str, scheme: &str) -> String {
    line.split_whitespace()
        .find(|w| w.starts_with(scheme))
        .unwrap_or_else(|| panic!("no {scheme} URL in {line:?}"))
        .trim_end_matches('/')
        .to_string()
}

/// A NetBox token in the v1 format (40 hex digits), random per call.
pub fn netbox_v1_token() -> String {
    (0..20)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Both fakes running as separate processes, with everything a client needs to reach them.
pub struct Fakes {
    /// The fake apiserver.
    pub apiserver: Proc,
    /// The fake NetBox.
    pub netbox: Proc,
    /// `https://127.0.0.1:PORT`.
    pub cluster_url: String,
    /// `http://127.0.0.1:PORT`.
    pub netbox_url: String,
    /// The kubeconfig `fake-apiserver --write-kubeconfig` wrote (context `fake`).
    pub kubeconfig: PathBuf,
    /// A file holding the NetBox token.
    pub netbox_token_file: PathBuf,
    /// The cluster's bearer token.
    pub cluster_token: String,
    /// The NetBox API token.
    pub netbox_token: String,
    /// The admin token of both fakes' `/__fake/` endpoints.
    pub admin_token: String,
    /// A private folder for this test's files.
    pub dir: tempfile::TempDir,
}

/// Starts `fake-apiserver --tls --crds <fabsync crds> --write-kubeconfig` and
/// `fake-netbox --fixture <fixture>` on free loopback ports.
pub fn start_fakes(fixture: &str) -> Fakes {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let crds = dir.path().join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    let out = Command::new(fabsync_bin())
        .arg("crds")
        .output()
        .expect("run fabsync crds");
    assert!(out.status.success(), "fabsync crds failed");
    std::fs::write(crds.join("hedgehog.yaml"), &out.stdout).unwrap();

    let cluster_token = format!("cluster-{}", netbox_v1_token());
    let admin_token = netbox_v1_token();
    let netbox_token = netbox_v1_token();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut cmd = Command::new(workspace_bin("fake-apiserver"));
    cmd.args(["--listen", "127.0.0.1:0", "--tls", "--token"])
        .arg(&cluster_token)
        .arg("--admin-token")
        .arg(&admin_token)
        .arg("--crds")
        .arg(&crds)
        .arg("--write-kubeconfig")
        .arg(&kubeconfig);
    let (apiserver, line) = spawn_until(
        cmd,
        "fake-apiserver",
        &dir.path().join("fake-apiserver.log"),
        "listening on",
    );
    let cluster_url = url_in(&line, "https://");

    let mut cmd = Command::new(workspace_bin("fake-netbox"));
    cmd.args(["--listen", "127.0.0.1:0", "--fixture", fixture, "--token"])
        .arg(&netbox_token)
        .arg("--admin-token")
        .arg(&admin_token);
    let (netbox, line) = spawn_until(
        cmd,
        "fake-netbox",
        &dir.path().join("fake-netbox.log"),
        "listening on",
    );
    let netbox_url = url_in(&line, "http://");
    let netbox_token_file = dir.path().join("netbox-token");
    std::fs::write(&netbox_token_file, format!("{netbox_token}\n")).unwrap();
    Fakes {
        apiserver,
        netbox,
        cluster_url,
        netbox_url,
        kubeconfig,
        netbox_token_file,
        cluster_token,
        netbox_token,
        admin_token,
        dir,
    }
}

impl Fakes {
    /// A `fabsync.toml` with one fabric `vlab` (site `vlab`) on these fakes, its store in the
    /// test folder; `extra` is appended to the fabric's table (`interval_secs = 10`).
    pub fn config(&self, name: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let store = self.dir.path().join(format!("{name}.sqlite"));
        std::fs::write(
            &path,
            format!(
                "[store]\npath = {store:?}\n\n[[fabric]]\nname = \"vlab\"\n{extra}\n\n[fabric.netbox]\nurl = {:?}\ntoken_file = {:?}\n\n[fabric.cluster]\nkubeconfig = {:?}\ncontext = \"fake\"\n",
                self.netbox_url,
                self.netbox_token_file,
                self.kubeconfig,
                store = store,
            ),
        )
        .unwrap();
        path
    }

    /// A kube-rs client with the kubeconfig the fake wrote.
    pub async fn kube(&self) -> kube::Client {
        kube_client(&self.kubeconfig).await
    }

    /// The fake NetBox's object counts per endpoint (admin endpoint).
    pub async fn netbox_counts(&self) -> Value {
        let (status, body) = http(
            "GET",
            &format!("{}/__fake/stats", self.netbox_url),
            Some(&format!("Token {}", self.admin_token)),
            None,
        )
        .await
        .expect("GET /__fake/stats");
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["endpoints"].clone()
    }

    /// A NetBox API call with the test's token.
    pub async fn netbox_api(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, text) = http(
            method,
            &format!("{}{path}", self.netbox_url),
            Some(&format!("Token {}", self.netbox_token)),
            body.map(|b| b.to_string()),
        )
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert!(status < 300, "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// A kube-rs client from a kubeconfig file (its current context).
pub async fn kube_client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("read the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("a kube config from the kubeconfig");
    kube::Client::try_from(config).expect("a kube client")
}

/// Every object of every Hedgehog kind in namespace `default`, as `Kind/name` → object.
pub async fn hedgehog_objects(client: &kube::Client) -> BTreeMap<String, Value> {
    use kube::api::{Api, DynamicObject};
    let mut out = BTreeMap::new();
    for kind in fabsync::hedgehog::Kind::ALL {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &kind.api_resource());
        for o in api
            .list(&Default::default())
            .await
            .unwrap_or_else(|e| panic!("list {}: {e}", kind.plural()))
            .items
        {
            out.insert(
                format!(
                    "{}/{}",
                    kind.kind(),
                    o.metadata.name.clone().unwrap_or_default()
                ),
                serde_json::to_value(o).unwrap(),
            );
        }
    }
    out
}

/// One plain HTTP/1.1 request (no TLS); returns status and body.
pub async fn http(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    body: Option<String>,
) -> Result<(u16, String), String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::ACCEPT, "application/json");
    if let Some(a) = authorization {
        req = req.header(http::header::AUTHORIZATION, a);
    }
    if body.is_some() {
        req = req.header(http::header::CONTENT_TYPE, "application/json");
    }
    let req = req
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.unwrap_or_default(),
        )))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(60), client.request(req))
        .await
        .map_err(|_| format!("{method} {url}: no answer within 60 s"))?
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The outcome of one `fabsync` command.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Every file below `dir`, by its path relative to `dir` (an evidence bundle, say).
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs `fabsync ARGS` to completion within `limit` (killing it if it overruns).
pub fn fabsync(args: &[&str], limit: Duration) -> Run {
    fabsync_env(args, &[], limit)
}

/// [`fabsync`] with the environment variables `vars` added.
pub fn fabsync_env(args: &[&str], vars: &[(&str, &str)], limit: Duration) -> Run {
    let mut cmd = Command::new(fabsync_bin());
    cmd.args(args)
        .env_remove("FABSYNC_LOG")
        .env_remove("FABSYNC_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("start fabsync");
    let read = |r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(r).read_to_string(&mut s);
            s
        })
    };
    let out = read(Box::new(child.stdout.take().unwrap()));
    let err = read(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "fabsync {args:?} did not finish within {limit:?}; stderr so far is lost with the process"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Polls `check` every 200 ms until it returns `Some` or `limit` passes.
pub async fn poll<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
