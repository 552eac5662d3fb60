//! Sync Now in a real browser: Debian's Chromium driven over WebDriver (chromedriver +
//! fantoccini) against the real `fabsync serve --demo` binary on a loopback port.
//!
//! The browser opens the fabric page, clicks `#sync-now-button`, waits for
//! `.sync-success-message`; the test then checks through kube-rs (against the simulated cluster's
//! API that demo mode serves) that the objects exist and that the page shows `in_sync`. It breaks
//! the cluster from the demo page, clicks again, sees `.sync-error-message` naming the cause,
//! repairs the cluster and sees the automatic retry succeed. Every step leaves a PNG screenshot in
//! `target/evidence/browser/NN-step.png`.
//!
//! Needs `chromium` and `chromedriver` on PATH: without them the test prints one line saying what it
//! skipped and passes, except under `CI=true`, where their absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fabsync::hedgehog::Kind;
use fantoccini::{Client, ClientBuilder, Locator};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// Longest wait for one step (real time: it is a real browser and a real server).
const STEP: Duration = Duration::from_secs(120);

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn evidence_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("evidence").join("browser");
    std::fs::create_dir_all(&dir).expect("create the evidence directory");
    dir
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A child process that is killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Copies a child's output to a log file; sends each stdout line to `lines`.
fn drain(
    out: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    log: PathBuf,
    lines: Option<tokio::sync::mpsc::UnboundedSender<String>>,
) {
    tokio::spawn(async move {
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .await
            .expect("open the server log");
        let mut reader = BufReader::new(out).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            if let Some(tx) = &lines {
                let _ = tx.send(line);
            }
        }
    });
}

/// Starts `fabsync serve --demo` on a loopback port; returns it and its base URL.
async fn start_fabsync(dir: &Path) -> (Proc, String) {
    let log = dir.join("fabsync-serve.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(env!("CARGO_BIN_EXE_fabsync"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .env("FABSYNC_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start fabsync serve --demo");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    drain(child.stdout.take().unwrap(), log.clone(), Some(tx));
    drain(child.stderr.take().unwrap(), log.clone(), None);
    let proc = Proc(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "fabsync serve printed no 'listening on' line within 60 s; see {}",
                    log.display()
                )
            })
            .unwrap_or_else(|| {
                panic!(
                    "fabsync serve exited before listening; see {}",
                    log.display()
                )
            });
        if let Some(url) = line.strip_prefix("listening on ") {
            let url = url.trim().trim_end_matches('/').to_string();
            assert!(
                url.starts_with("http://127.0.0.1:"),
                "demo mode must listen on loopback: {url}"
            );
            return (proc, url);
        }
    }
}

/// Starts chromedriver on a free port and waits until it answers.
async fn start_chromedriver(driver: &Path, dir: &Path) -> (Proc, String) {
    let port = free_port();
    let log = dir.join("chromedriver.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start chromedriver");
    drain(child.stdout.take().unwrap(), log.clone(), None);
    drain(child.stderr.take().unwrap(), log, None);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, _)) = http_get(&format!("{url}/status"), None).await {
            return (Proc(child), url);
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {url} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A plain HTTP GET (status, body).
async fn http_get(url: &str, bearer: Option<&str>) -> Result<(u16, String), String> {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let mut req = http::Request::get(url);
    if let Some(t) = bearer {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = client
        .request(req.body(http_body_util::Empty::new()).unwrap())
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

async fn api_json(base: &str, path: &str) -> Value {
    let (status, body) = http_get(&format!("{base}{path}"), None)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

struct Shots {
    dir: PathBuf,
    n: u32,
}

impl Shots {
    async fn take(&mut self, c: &Client, step: &str) {
        self.n += 1;
        let png = c.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "WebDriver screenshots are PNG");
        let path = self.dir.join(format!("{:02}-{step}.png", self.n));
        std::fs::write(&path, png).expect("write screenshot");
        println!("screenshot: {}", path.display());
    }
}

async fn wait_for(c: &Client, css: &str, what: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(STEP)
        .every(Duration::from_millis(200))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{what} ({css}) did not appear within {STEP:?}: {e}"))
}

/// Polls until the fabric status badge on the page shows `status`.
async fn wait_for_status(c: &Client, status: &str) {
    let deadline = Instant::now() + STEP;
    loop {
        if let Ok(e) = c.find(Locator::Css("#fabric-status-wrap .status")).await
            && e.text().await.is_ok_and(|t| t.trim() == status)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page did not show status {status} within {STEP:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the browser is on a task view (`?task=ID`) and returns the task id.
async fn wait_for_task_url(c: &Client) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let url = c.current_url().await.expect("current URL");
        if let Some((_, id)) = url.query_pairs().find(|(k, _)| k == "task") {
            return id.into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "Sync Now did not lead to the task view within {STEP:?}: {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A kube-rs client for the simulated cluster, through demo mode's cluster API.
fn kube_client(base: &str) -> kube::Client {
    let mut config = kube::Config::new(
        format!("{base}{}", fabsync::web::CLUSTER_PREFIX)
            .parse()
            .unwrap(),
    );
    config.auth_info.token = Some(fabsync::sim::CLUSTER_TOKEN.to_string().into());
    kube::Client::try_from(config).expect("kube client")
}

fn owned() -> ListParams {
    ListParams::default().labels(&format!("{}=vlab", fabsync::plan::LABEL_FABRIC))
}

/// Owned objects in the simulated cluster, listed with kube-rs.
async fn owned_objects(base: &str) -> usize {
    let client = kube_client(base);
    let mut n = 0;
    for kind in Kind::ALL.into_iter().filter(|k| k.is_planned()) {
        let api: Api<DynamicObject> =
            Api::namespaced_with(client.clone(), "default", &kind.api_resource());
        let list = api
            .list(&owned())
            .await
            .unwrap_or_else(|e| panic!("list {}: {e}", kind.plural()));
        n += list.items.len();
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_in_a_real_browser() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let (chromium, driver) = match (which("chromium"), which("chromedriver")) {
        (Some(c), Some(d)) => (c, d),
        (c, d) => {
            let missing: Vec<&str> = [("chromium", c.is_none()), ("chromedriver", d.is_none())]
                .into_iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n)
                .collect();
            assert!(
                !ci,
                "CI=true but {} not installed (apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            println!(
                "skipped the real-browser Sync Now test: {} not on PATH (apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            return;
        }
    };
    tokio::time::timeout(Duration::from_secs(600), run(&chromium, &driver))
        .await
        .expect("the browser test finished within 10 minutes");
}

async fn run(chromium: &Path, driver: &Path) {
    let dir = evidence_dir();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "png") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let (_server, base) = start_fabsync(&dir).await;
    let (_driver, driver_url) = start_chromedriver(driver, &dir).await;
    let profile = tempfile::tempdir().expect("a fresh browser profile");
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1100",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver_url)
        .await
        .expect("a WebDriver session with headless Chromium");
    let mut shots = Shots { dir, n: 0 };

    // 0. The demo syncs a never-synced fabric at start (catch-up); wait for that, then delete
    // one of fabsync's VPCAttachments by hand (nothing references one, so the cluster lets it
    // go), so the button's run has something to write.
    let deadline = Instant::now() + STEP;
    while api_json(&base, "/api/fabrics/vlab").await["status"] != "in_sync" {
        assert!(
            Instant::now() < deadline,
            "the start-up sync did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let attachments: Api<DynamicObject> = Api::namespaced_with(
        kube_client(&base),
        "default",
        &Kind::VPCAttachment.api_resource(),
    );
    let victim = attachments
        .list(&owned())
        .await
        .expect("list VPC attachments")
        .items
        .into_iter()
        .find_map(|o| o.metadata.name)
        .expect("a VPC attachment");
    attachments
        .delete(&victim, &Default::default())
        .await
        .expect("delete a VPC attachment by hand");
    assert!(attachments.get_opt(&victim).await.unwrap().is_none());

    // 1. The fabric page.
    c.goto(&format!("{base}/fabrics/vlab")).await.unwrap();
    wait_for(&c, "#sync-now-button", "the Sync Now button").await;
    let banner = c
        .find(Locator::Css(".banner.demo"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("simulated NetBox"), "{banner}");
    shots.take(&c, "fabric-page").await;

    // 2. Sync Now: a form POST, then live progress until the success message.
    c.find(Locator::Id("sync-now-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let task_id = wait_for_task_url(&c).await;
    let ok = wait_for(&c, ".sync-success-message", "the success message").await;
    wait_for_status(&c, "in_sync").await;
    let text = ok.text().await.unwrap();
    let task = api_json(&base, &format!("/api/tasks/{task_id}")).await;
    assert_eq!(task["state"], "SUCCESS", "{task}");
    let run_message = task["run"]["message"].as_str().unwrap();
    assert!(
        text.contains(run_message),
        "the page shows the run's message {run_message:?}: {text}"
    );
    shots.take(&c, "sync-success").await;

    assert_eq!(task["run"]["counts"]["created"], 1, "{task}");
    // The objects exist in the cluster (kube-rs), as many as fabsync says it owns, the deleted
    // VPCAttachment among them again.
    assert!(
        attachments.get_opt(&victim).await.unwrap().is_some(),
        "Sync Now put back VPCAttachment {victim}"
    );
    let fabric = api_json(&base, "/api/fabrics/vlab").await;
    assert_eq!(fabric["status"], "in_sync");
    let owned = owned_objects(&base).await;
    assert!(owned > 0, "no fabsync objects in the cluster");
    assert_eq!(
        Some(owned as u64),
        fabric["object_count"].as_u64(),
        "{fabric}"
    );

    // The run page lists the objects.
    c.goto(&format!("{base}/runs/{}", task["run_id"]))
        .await
        .unwrap();
    wait_for(&c, "dl.summary", "the run page").await;
    shots.take(&c, "run-page").await;

    // 3. Break the cluster from the demo page.
    c.goto(&format!("{base}/demo")).await.unwrap();
    shots.take(&c, "demo-controls").await;
    c.find(Locator::Id("break-cluster-unreachable"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "#repair-cluster-unreachable", "the Repair button").await;
    shots.take(&c, "cluster-broken").await;

    // 4. Sync Now again: the error message names the cause and what to do.
    c.goto(&format!("{base}/fabrics/vlab")).await.unwrap();
    wait_for(&c, "#sync-now-button", "the Sync Now button").await;
    c.find(Locator::Id("sync-now-button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let failed_task = wait_for_task_url(&c).await;
    let err = wait_for(&c, ".sync-error-message", "the error message").await;
    let text = err.text().await.unwrap();
    assert!(text.contains("unreachable"), "{text}");
    assert!(text.contains("Check the cluster address"), "{text}");
    assert!(text.contains("cluster_unreachable"), "{text}");
    wait_for_status(&c, "error").await;
    let t = api_json(&base, &format!("/api/tasks/{failed_task}")).await;
    assert_eq!(t["outcome"], "failure", "{t}");
    assert!(
        text.contains(t["run"]["error"].as_str().unwrap().lines().next().unwrap()),
        "the page shows the run's recorded error"
    );
    shots.take(&c, "sync-error").await;

    // 5. Repair, and watch the scheduled retry succeed on the same page.
    c.goto(&format!("{base}/demo")).await.unwrap();
    c.find(Locator::Id("repair-cluster-unreachable"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "#break-cluster-unreachable", "the Break button").await;
    c.goto(&format!("{base}/fabrics/vlab?task={failed_task}"))
        .await
        .unwrap();
    wait_for(
        &c,
        ".sync-success-message",
        "the success message after the retry",
    )
    .await;
    wait_for_status(&c, "in_sync").await;
    shots.take(&c, "recovered-after-retry").await;

    c.close().await.expect("close the browser");
    let pngs = std::fs::read_dir(&shots.dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert_eq!(pngs, shots.n as usize);
}
