//! `fabsync validate --target real`: every workflow against a real NetBox (URL + token file) and a
//! real cluster (kubeconfig + context), in real time, with fabsync's own store (in memory),
//! engine, scheduler and web router.
//!
//! Per workflow it creates a fresh NetBox site `fabsync-validate-<seed>-<n>` holding the VLAB (or
//! large) fixture — generated in an in-process fake NetBox, read with the fabric reader and
//! written with the importer's `write_snapshot` — plus the fabsync custom fields and the
//! SwitchProfiles the fixture needs when the cluster lacks them (created under another field
//! manager). After each workflow it removes that fabric's cluster objects (label
//! `fabsync.githedgehog.com/fabric=<fabric>`) and the site's NetBox objects; at the end it removes
//! what the run created globally and checks that NetBox's object counts and the cluster are as
//! they were.
//!
//! Faults are the ones a real system can be given, made through fabsync's settings (store +
//! `scheduler.reload`, as the UI does): a kubeconfig whose server is a closed port, a kubeconfig
//! user with a wrong token, a NetBox URL on a closed port, a token file with a wrong token, and a
//! lower client-side QPS budget for "slow", and a concurrent writer (another field manager that
//! applies an object right after fabsync's first write, so a delete fabsync planned meets a
//! changed resourceVersion). Faults a real system cannot be given (fail the Nth write, 429 on
//! demand) are refused unless the target has [`SimulatedFaults`] (`local`); the workflow then
//! says the step is not provable here and why.
//!
//! The API log comes from the client side ([`super::record`]). Not here: the workflows, starting
//! fakes (`local.rs`), reports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderValue, Method};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::client::ClientBuilder;
use serde_json::{Value, json};
use tower::Layer;

use super::model::{StepReport, UserType, WorkflowReport};
use super::record::Recorder;
use super::systems::{Env, Faults, scheduler_config, web_router};
use super::workflows::{Def, Fabric};
use super::{Options, Scale};
use crate::clock::{SharedClock, SystemClock};
use crate::cluster::{Cluster, ClusterError};
use crate::config::{ClusterTarget, FabricConfig, Limits, NetboxTarget, SecretRef};
use crate::engine::connector::{cluster_limits, real_netbox_parts};
use crate::engine::{Connector, Engine, NetboxConn, api_resource};
use crate::hedgehog::Kind;
use crate::netbox::{NetboxClient, NetboxError, Snapshot, Token, https_service, into_http_service};
use crate::plan::{LABEL_FABRIC, PlanConfig, plan};
use crate::scheduler::{BoxFuture, RetryPolicy, Scheduler, SchedulerConfig};
use crate::store::Store;

/// User-Agent of the validator's own requests (a person with kubectl and a NetBox browser tab).
pub const PERSON_USER_AGENT: &str =
    concat!("fabsync-validate/", env!("CARGO_PKG_VERSION"), " (person)");

/// Field manager of the SwitchProfiles the validation creates when the cluster lacks them.
pub const PROFILE_MANAGER: &str = "fabsync-validate";

/// Periodic interval of the periodic workflows on a real target: the config minimum.
pub const REAL_INTERVAL_SECS: u64 = crate::config::MIN_INTERVAL_SECS;

/// Token of the in-process fake NetBox that only generates the fixture.
const FIXTURE_TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// NetBox endpoints whose object counts must be back where they were after the run.
const COUNTED: &[&str] = &[
    "dcim/sites",
    "dcim/devices",
    "dcim/interfaces",
    "dcim/cables",
    "dcim/mac-addresses",
    "dcim/device-roles",
    "dcim/device-types",
    "dcim/manufacturers",
    "dcim/virtual-chassis",
    "ipam/vlan-groups",
    "ipam/vlans",
    "ipam/vrfs",
    "ipam/prefixes",
    "ipam/ip-addresses",
    "extras/custom-fields",
    "extras/journal-entries",
    "extras/tags",
];

/// Shared NetBox objects a setup may create (reused by later workflows, removed at the end),
/// in deletion order.
const GLOBALS: &[&str] = &[
    "dcim/device-types",
    "dcim/device-roles",
    "dcim/manufacturers",
    "ipam/vrfs",
    "extras/custom-fields",
];

/// Where the real systems are (the `--target real` flags).
#[derive(Debug, Clone)]
pub struct RealSystems {
    /// Kubeconfig file.
    pub kubeconfig: PathBuf,
    /// Context in it (its current context when absent).
    pub context: Option<String>,
    /// NetBox base URL.
    pub netbox_url: String,
    /// File holding the NetBox API token.
    pub netbox_token_file: PathBuf,
}

/// Faults only a fake can be given (the `local` target's fakes): a real target has none.
pub trait SimulatedFaults: Send + Sync {
    /// The `n`-th cluster write from now fails with HTTP 500.
    fn fail_nth_cluster_write(&self, n: u64) -> Result<(), String>;
    /// The next `times` server-side applies answer 429 with `Retry-After: secs`.
    fn throttle_cluster(&self, times: u32, secs: u32) -> Result<(), String>;
    /// Removes every fault.
    fn clear(&self);
}

/// fabsync's connector on a real target: exactly what the fabric's settings say (kubeconfig and
/// context through kube-rs, the cluster layers of [`Cluster::from_service`]; NetBox URL and token
/// file over the same HTTPS transport as `RealConnector`), with the recording layer underneath.
///
/// kube-rs's default stack retries 429/503/504 itself (server-aware, honouring `Retry-After`)
/// below everything a caller can add. Whether `Cluster::connect` keeps that retry is found out
/// once ([`kube_retries_beneath_fabsync`]); when it does, this connector builds kube-rs's stack
/// without it and puts the same policy (`RetryPolicy::server_retry()`) right above the
/// recording layer — still beneath fabsync's own layers, as in `Cluster::connect` — so what
/// fabsync sends and when is unchanged, and the log shows each 429 and its retry.
#[derive(Clone)]
pub struct RecordingConnector {
    recorder: Recorder,
    kube_retry: bool,
}

impl std::fmt::Debug for RecordingConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordingConnector")
    }
}

impl RecordingConnector {
    /// A connector whose clients record into `recorder`; `kube_retry`: whether kube-rs's own
    /// retry sits beneath fabsync's layers (as `Cluster::connect` builds it).
    pub fn new(recorder: Recorder, kube_retry: bool) -> Self {
        Self {
            recorder,
            kube_retry,
        }
    }
}

/// Finds out whether `Cluster::connect` (what `fabsync serve` and `fabsync sync` use) leaves
/// kube-rs's own retry of 429/503/504 in place beneath fabsync's layers: a loopback server
/// answers the first request 429 (`Retry-After: 0`) and the next one normally; if the server saw
/// more requests than fabsync's request counter, the retry happened beneath fabsync.
pub async fn kube_retries_beneath_fabsync(scratch: &Scratch) -> Result<bool, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("probe server: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |_req: http::Request<hyper::body::Incoming>| {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if n == 0 {
                                http::Response::builder()
                                    .status(429)
                                    .header("Retry-After", "0")
                                    .header("Content-Type", "text/plain")
                                    .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                        b"Too many requests, please try again later.",
                                    )))
                            } else {
                                http::Response::builder()
                                .status(200)
                                .header("Content-Type", "application/json")
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                    br#"{"major":"1","minor":"33","gitVersion":"v1.33.0","gitCommit":"","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#,
                                )))
                            }
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let kubeconfig = scratch.write(
        "kubeconfig-retry-probe",
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: probe\n  cluster:\n    server: http://{addr}\nusers:\n- name: probe\n  user: {{}}\ncontexts:\n- name: probe\n  context:\n    cluster: probe\n    user: probe\ncurrent-context: probe\n"
        )
        .as_bytes(),
    )?;
    let target = ClusterTarget {
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    };
    let result = async {
        let cluster = Cluster::connect(
            &target,
            "retry-probe",
            "default",
            &crate::cluster::ClusterLimits::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
        cluster
            .probe()
            .await
            .map_err(|e| format!("probing how Cluster::connect retries: {e}"))?;
        Ok::<bool, String>(seen.load(Ordering::SeqCst) > cluster.counters().requests())
    }
    .await;
    server.abort();
    result
}

impl Connector for RecordingConnector {
    fn netbox(&self, fabric: &FabricConfig) -> Result<NetboxConn, NetboxError> {
        let (token, svc) = real_netbox_parts(fabric)?;
        let svc = into_http_service(self.recorder.layer("netbox").layer(svc));
        NetboxConn::over(svc, &fabric.netbox.url, token)
    }

    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>> {
        let fabric = fabric.clone();
        let recorder = self.recorder.clone();
        let kube_retry = self.kube_retry;
        Box::pin(async move {
            let limits = cluster_limits(&fabric);
            let config = kube_config(&fabric.cluster, &fabric.namespace, limits.request_timeout)
                .await
                .map_err(ClusterError::Config)?;
            let server = config
                .cluster_url
                .to_string()
                .trim_end_matches('/')
                .to_string();
            let mut config = config;
            config.default_retry = false;
            let recorded = ClientBuilder::try_from(config)
                .map_err(|e| ClusterError::Config(e.to_string()))?
                .with_layer(&recorder.layer("apiserver"));
            let inner = if kube_retry {
                recorded
                    .with_layer(&tower::buffer::BufferLayer::new(1024))
                    .with_layer(&tower::retry::RetryLayer::new(
                        kube::client::retry::RetryPolicy::server_retry(),
                    ))
                    .build()
            } else {
                recorded.build()
            };
            let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| {
                let c = inner.clone();
                async move { c.send(req).await }
            });
            Ok(Cluster::from_service(
                svc,
                &fabric.namespace,
                &server,
                &limits,
            ))
        })
    }
}

/// A kube-rs config from a kubeconfig-form cluster target, as `Cluster::connect` builds it.
pub async fn kube_config(
    target: &ClusterTarget,
    namespace: &str,
    timeout: Duration,
) -> Result<kube::Config, String> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let path = target
        .kubeconfig
        .as_ref()
        .ok_or("the validation's cluster settings must name a kubeconfig")?;
    let kc = Kubeconfig::read_from(path)
        .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
    config.default_namespace = namespace.to_string();
    config.read_timeout = Some(timeout);
    config.connect_timeout = Some(Duration::from_secs(10));
    Ok(config)
}

fn person_user_agent<B>(mut req: http::Request<B>) -> http::Request<B> {
    req.headers_mut().insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(PERSON_USER_AGENT),
    );
    req
}

/// The cluster as a person with kubectl sees it (recorded, with the person's User-Agent).
pub fn person_kube(config: kube::Config, recorder: &Recorder) -> Result<kube::Client, String> {
    Ok(ClientBuilder::try_from(config)
        .map_err(|e| e.to_string())?
        .with_layer(&recorder.layer("apiserver"))
        .with_layer(&tower::util::MapRequestLayer::new(
            person_user_agent::<kube::client::Body>,
        ))
        .build())
}

/// NetBox as a person editing it sees it (recorded, with the person's User-Agent).
pub fn person_netbox(url: &str, token: &str, recorder: &Recorder) -> Result<NetboxClient, String> {
    let svc = https_service(None).map_err(|e| e.to_string())?;
    let svc = tower::util::MapRequestLayer::new(person_user_agent::<crate::netbox::BoxBody>)
        .layer(recorder.layer("netbox").layer(svc));
    NetboxClient::new(into_http_service(svc), url, Token::new(token)).map_err(|e| e.to_string())
}

/// A private folder for kubeconfig variants and token files, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// Creates it under the system's temporary folder (mode 0700).
    pub fn new(prefix: &str) -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(Self(dir))
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes a private file (mode 0600) and returns its path.
    pub fn write(&self, name: &str, content: &[u8]) -> Result<PathBuf, String> {
        let p = self.0.join(name);
        std::fs::write(&p, content).map_err(|e| format!("writing {}: {e}", p.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
        Ok(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a closed loopback port: {e}"))
}

/// The kubeconfig as JSON, the context in use, and the token of its user (when it has one).
struct KubeconfigInfo {
    doc: Value,
    context: String,
    cluster: String,
    user: String,
    token: Option<String>,
}

fn read_kubeconfig(path: &Path, context: Option<&str>) -> Result<KubeconfigInfo, String> {
    let kc = kube::config::Kubeconfig::read_from(path)
        .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
    let doc = serde_json::to_value(&kc).map_err(|e| format!("kubeconfig: {e}"))?;
    let context = match context {
        Some(c) => c.to_string(),
        None => doc["current-context"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "kubeconfig {} has no current-context: give --context",
                    path.display()
                )
            })?
            .to_string(),
    };
    let ctx = doc["contexts"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == context.as_str()))
        .ok_or_else(|| format!("kubeconfig {} has no context {context:?}", path.display()))?;
    let cluster = ctx["context"]["cluster"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let user = ctx["context"]["user"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let auth = doc["users"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["name"] == user.as_str()))
        .map(|u| u["user"].clone())
        .unwrap_or(Value::Null);
    let token = match (auth["token"].as_str(), auth["tokenFile"].as_str()) {
        (Some(t), _) => Some(t.to_string()),
        (None, Some(f)) => std::fs::read_to_string(f)
            .ok()
            .map(|t| t.trim().to_string()),
        _ => None,
    };
    Ok(KubeconfigInfo {
        doc,
        context,
        cluster,
        user,
        token,
    })
}

/// One state of the faults a real system can be given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct FaultState {
    cluster_unreachable: bool,
    cluster_wrong_token: bool,
    netbox_unreachable: bool,
    netbox_wrong_token: bool,
    slow_millis: Option<u64>,
}

/// What a real target's faults change: the fabric's settings.
struct SettingsFaults {
    fabric: String,
    store: Store,
    scheduler: Arc<Mutex<Option<Scheduler>>>,
    base: FabricConfig,
    kubeconfig: Arc<KubeconfigVariants>,
    wrong_netbox_token_file: PathBuf,
    state: Mutex<FaultState>,
    simulated: Option<Arc<dyn SimulatedFaults>>,
    target: &'static str,
    kube: kube::Client,
    recorder: Recorder,
}

/// Kubeconfig copies with one thing broken, written once per run.
struct KubeconfigVariants {
    info: KubeconfigInfo,
    scratch: Arc<Scratch>,
    closed_port: u16,
    written: Mutex<BTreeMap<(bool, bool), PathBuf>>,
}

impl KubeconfigVariants {
    /// A kubeconfig like the original, but its server on a closed port and/or its user
    /// presenting a wrong token.
    fn variant(&self, unreachable: bool, wrong_token: bool) -> Result<PathBuf, String> {
        if let Some(p) = self
            .written
            .lock()
            .unwrap()
            .get(&(unreachable, wrong_token))
        {
            return Ok(p.clone());
        }
        let mut doc = self.info.doc.clone();
        if unreachable {
            let port = self.closed_port;
            if let Some(clusters) = doc["clusters"].as_array_mut() {
                for c in clusters {
                    if c["name"] == self.info.cluster.as_str() {
                        let scheme = c["cluster"]["server"]
                            .as_str()
                            .and_then(|s| s.split_once("://"))
                            .map(|(s, _)| s.to_string())
                            .unwrap_or_else(|| "https".into());
                        c["cluster"]["server"] = json!(format!("{scheme}://127.0.0.1:{port}"));
                        // The certificate names the real server, not 127.0.0.1; the
                        // connection is refused before TLS anyway.
                        if let Some(m) = c["cluster"].as_object_mut() {
                            m.insert("tls-server-name".into(), json!("localhost"));
                        }
                    }
                }
            }
        }
        if wrong_token && let Some(users) = doc["users"].as_array_mut() {
            for u in users {
                if u["name"] == self.info.user.as_str() {
                    u["user"] = json!({"token": "fabsync-validate-wrong-token"});
                }
            }
        }
        doc["current-context"] = json!(self.info.context);
        let name = format!(
            "kubeconfig{}{}",
            if unreachable { "-closed-port" } else { "" },
            if wrong_token { "-wrong-token" } else { "" }
        );
        let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
        let p = self.scratch.write(&name, &bytes)?;
        self.written
            .lock()
            .unwrap()
            .insert((unreachable, wrong_token), p.clone());
        Ok(p)
    }
}

impl SettingsFaults {
    fn apply(&self) -> Result<(), String> {
        let st = *self.state.lock().unwrap();
        let mut cfg = self
            .store
            .fabric(&self.fabric)
            .map_err(|e| e.to_string())?
            .config;
        cfg.cluster = self.base.cluster.clone();
        cfg.netbox = self.base.netbox.clone();
        cfg.limits = self.base.limits;
        if st.cluster_unreachable || st.cluster_wrong_token {
            cfg.cluster.kubeconfig = Some(
                self.kubeconfig
                    .variant(st.cluster_unreachable, st.cluster_wrong_token)?,
            );
        }
        if st.netbox_unreachable {
            let scheme = cfg
                .netbox
                .url
                .split_once("://")
                .map(|(s, _)| s.to_string())
                .unwrap_or_else(|| "https".into());
            cfg.netbox.url = format!("{scheme}://127.0.0.1:{}", self.kubeconfig.closed_port);
        }
        if st.netbox_wrong_token {
            cfg.netbox.token_file = Some(self.wrong_netbox_token_file.clone());
            cfg.netbox.token_env = None;
        }
        if let Some(ms) = st.slow_millis {
            // A real cluster cannot be told to answer slowly; fabsync's own client-side budget
            // can make every request wait: one request per `ms`, no burst.
            cfg.limits.qps = (1000.0 / ms.max(1) as f64).clamp(0.1, cfg.limits.qps);
            cfg.limits.burst = 1;
        }
        self.store
            .update_fabric_config(&cfg)
            .map_err(|e| e.to_string())?;
        if let Some(s) = self.scheduler.lock().unwrap().as_ref()
            && s.is_alive()
        {
            s.reload(&self.fabric).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn set(&self, f: impl FnOnce(&mut FaultState)) -> BoxFuture<Result<(), String>> {
        f(&mut self.state.lock().unwrap());
        let r = self.apply();
        Box::pin(async move { r })
    }

    fn unsupported(&self, what: &str) -> String {
        format!(
            "a real cluster cannot be made to {what} on demand; the {} target has no fault endpoint to ask",
            self.target
        )
    }
}

impl Faults for SettingsFaults {
    fn cluster_unreachable(&self, on: bool) -> BoxFuture<Result<(), String>> {
        self.set(|s| s.cluster_unreachable = on)
    }

    fn cluster_wrong_token(&self, on: bool) -> BoxFuture<Result<(), String>> {
        self.set(|s| s.cluster_wrong_token = on)
    }

    fn netbox_unreachable(&self, on: bool) -> BoxFuture<Result<(), String>> {
        self.set(|s| s.netbox_unreachable = on)
    }

    fn netbox_wrong_token(&self, on: bool) -> BoxFuture<Result<(), String>> {
        self.set(|s| s.netbox_wrong_token = on)
    }

    fn fail_nth_cluster_write(&self, n: u64) -> BoxFuture<Result<(), String>> {
        let r = match &self.simulated {
            Some(s) => s.fail_nth_cluster_write(n),
            None => Err(self.unsupported(&format!("fail its write #{n} (HTTP 500)"))),
        };
        Box::pin(async move { r })
    }

    fn throttle_cluster(&self, times: u32, secs: u32) -> BoxFuture<Result<(), String>> {
        let r = match &self.simulated {
            Some(s) => s.throttle_cluster(times, secs),
            None => Err(self.unsupported(
                "answer 429 with Retry-After (API Priority and Fairness throttles only under real overload)",
            )),
        };
        Box::pin(async move { r })
    }

    fn slow_cluster(&self, millis: u64) -> BoxFuture<Result<(), String>> {
        self.set(|s| s.slow_millis = Some(millis))
    }

    fn concurrent_writer(&self, kind: Kind, name: &str) -> BoxFuture<Result<(), String>> {
        let kube = self.kube.clone();
        let recorder = self.recorder.clone();
        let name = name.to_string();
        Box::pin(async move {
            let api: Api<DynamicObject> =
                Api::namespaced_with(kube, "default", &api_resource(kind));
            let obj = api
                .get(&name)
                .await
                .map_err(|e| format!("reading {} {name}: {e}", kind.kind()))?;
            let body = json!({
                "apiVersion": kind.api_version(), "kind": kind.kind(),
                "metadata": {"name": name, "namespace": "default"},
                "spec": obj.data["spec"],
            });
            recorder.after_next_fabsync_write(Box::new(move || {
                Box::pin(async move {
                    if let Err(e) = api
                        .patch(
                            &name,
                            &PatchParams::apply(super::systems::CONCURRENT_WRITER),
                            &Patch::Apply(&body),
                        )
                        .await
                    {
                        tracing::warn!(object = %name, error = %e, "the concurrent writer could not apply");
                    }
                })
            }));
            Ok(())
        })
    }

    fn clear(&self) -> BoxFuture<Result<(), String>> {
        if let Some(s) = &self.simulated {
            s.clear();
        }
        self.recorder.disarm();
        self.set(|s| *s = FaultState::default())
    }
}

/// NetBox object counts (and the ids of shared objects) before the run.
#[derive(Debug, Clone, Default)]
struct Inventory {
    counts: BTreeMap<&'static str, u64>,
    globals: BTreeMap<&'static str, BTreeSet<u64>>,
    custom_fields: BTreeMap<u64, Value>,
}

async fn count(nb: &NetboxClient, endpoint: &str) -> Result<u64, String> {
    let v = nb
        .request(
            Method::GET,
            &format!("{}?limit=1&brief=1", nb.api_path(endpoint)),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    v["count"]
        .as_u64()
        .ok_or_else(|| format!("GET {endpoint}: no count in the answer"))
}

async fn inventory(nb: &NetboxClient) -> Result<Inventory, String> {
    let mut inv = Inventory::default();
    for ep in COUNTED {
        inv.counts.insert(ep, count(nb, ep).await?);
    }
    for ep in GLOBALS {
        let ids = nb
            .list_values(ep, &[])
            .await
            .map_err(|e| format!("listing {ep}: {e}"))?
            .iter()
            .filter_map(|o| o["id"].as_u64())
            .collect();
        inv.globals.insert(ep, ids);
    }
    for cf in nb
        .list_values("extras/custom-fields", &[])
        .await
        .map_err(|e| e.to_string())?
    {
        if let Some(id) = cf["id"].as_u64() {
            inv.custom_fields.insert(id, cf["object_types"].clone());
        }
    }
    Ok(inv)
}

/// Bulk-deletes NetBox objects by id (chunks of 200).
async fn bulk_delete(nb: &NetboxClient, endpoint: &str, ids: &[u64]) -> Result<(), String> {
    for chunk in ids.chunks(200) {
        let body: Vec<Value> = chunk.iter().map(|id| json!({"id": id})).collect();
        nb.request(Method::DELETE, &nb.api_path(endpoint), Some(&json!(body)))
            .await
            .map_err(|e| format!("deleting {} {endpoint} objects: {e}", chunk.len()))?;
    }
    Ok(())
}

fn ids_of(objs: &[Value]) -> Vec<u64> {
    let mut v: Vec<u64> = objs.iter().filter_map(|o| o["id"].as_u64()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Removes a site and everything of it: IPs, MACs, journal entries, cables, devices (and their
/// interfaces), prefixes, VLANs, VLAN groups. A missing site is fine.
async fn remove_site(nb: &NetboxClient, slug: &str) -> Result<(), String> {
    let e = |w: &str, err: NetboxError| format!("{w}: {err}");
    let sites = nb
        .list_values("dcim/sites", &[("slug", slug.to_string())])
        .await
        .map_err(|x| e("listing the site", x))?;
    let Some(site) = sites
        .iter()
        .find(|s| s["slug"] == slug)
        .and_then(|s| s["id"].as_u64())
    else {
        return Ok(());
    };
    let devices = ids_of(
        &nb.list_values("dcim/devices", &[("site_id", site.to_string())])
            .await
            .map_err(|x| e("listing devices", x))?,
    );
    let mut ips = Vec::new();
    let mut macs = Vec::new();
    let mut journal = Vec::new();
    for chunk in devices.chunks(100) {
        let q: Vec<(&str, String)> = chunk.iter().map(|d| ("device_id", d.to_string())).collect();
        ips.extend(
            nb.list_values("ipam/ip-addresses", &q)
                .await
                .map_err(|x| e("listing IP addresses", x))?,
        );
        macs.extend(
            nb.list_values("dcim/mac-addresses", &q)
                .await
                .map_err(|x| e("listing MAC addresses", x))?,
        );
        let mut jq: Vec<(&str, String)> = vec![("assigned_object_type", "dcim.device".into())];
        jq.extend(chunk.iter().map(|d| ("assigned_object_id", d.to_string())));
        journal.extend(
            nb.list_values("extras/journal-entries", &jq)
                .await
                .map_err(|x| e("listing journal entries", x))?,
        );
    }
    journal.extend(
        nb.list_values(
            "extras/journal-entries",
            &[
                ("assigned_object_type", "dcim.site".into()),
                ("assigned_object_id", site.to_string()),
            ],
        )
        .await
        .map_err(|x| e("listing journal entries", x))?,
    );
    bulk_delete(nb, "extras/journal-entries", &ids_of(&journal)).await?;
    bulk_delete(nb, "ipam/ip-addresses", &ids_of(&ips)).await?;
    bulk_delete(nb, "dcim/mac-addresses", &ids_of(&macs)).await?;
    let cables = nb
        .list_values("dcim/cables", &[("site_id", site.to_string())])
        .await
        .map_err(|x| e("listing cables", x))?;
    bulk_delete(nb, "dcim/cables", &ids_of(&cables)).await?;
    // A virtual chassis goes first: NetBox refuses to delete the device that is its master.
    let chassis = nb
        .list_values("dcim/virtual-chassis", &[("site_id", site.to_string())])
        .await
        .map_err(|x| e("listing virtual chassis", x))?;
    bulk_delete(nb, "dcim/virtual-chassis", &ids_of(&chassis)).await?;
    bulk_delete(nb, "dcim/devices", &devices).await?;
    let prefixes = nb
        .list_values("ipam/prefixes", &[("site_id", site.to_string())])
        .await
        .map_err(|x| e("listing prefixes", x))?;
    bulk_delete(nb, "ipam/prefixes", &ids_of(&prefixes)).await?;
    let groups = ids_of(
        &nb.list_values(
            "ipam/vlan-groups",
            &[
                ("scope_type", "dcim.site".into()),
                ("scope_id", site.to_string()),
            ],
        )
        .await
        .map_err(|x| e("listing VLAN groups", x))?,
    );
    let mut vlans = nb
        .list_values("ipam/vlans", &[("site_id", site.to_string())])
        .await
        .map_err(|x| e("listing VLANs", x))?;
    for chunk in groups.chunks(100) {
        let q: Vec<(&str, String)> = chunk.iter().map(|g| ("group_id", g.to_string())).collect();
        vlans.extend(
            nb.list_values("ipam/vlans", &q)
                .await
                .map_err(|x| e("listing VLANs", x))?,
        );
    }
    bulk_delete(nb, "ipam/vlans", &ids_of(&vlans)).await?;
    bulk_delete(nb, "ipam/vlan-groups", &groups).await?;
    nb.delete("dcim/sites", site)
        .await
        .map_err(|x| e("deleting the site", x))
}

/// Deletes every object labelled `fabsync.githedgehog.com/fabric in (fabrics)` in `ns`, referrers
/// first, and waits (bounded) until none is left. Returns what is still there.
async fn remove_fabric_objects(
    kube: &kube::Client,
    ns: &str,
    fabrics: &[String],
    deadline: Duration,
) -> Result<Vec<String>, String> {
    if fabrics.is_empty() {
        return Ok(Vec::new());
    }
    let selector = format!("{LABEL_FABRIC} in ({})", fabrics.join(","));
    let mut kinds: Vec<Kind> = Kind::ALL.into_iter().filter(|k| k.is_planned()).collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.rank()));
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let mut left = Vec::new();
        for kind in &kinds {
            let api: Api<DynamicObject> =
                Api::namespaced_with(kube.clone(), ns, &api_resource(*kind));
            let list = match api.list(&ListParams::default().labels(&selector)).await {
                Ok(l) => l,
                Err(kube::Error::Api(s)) if s.code == 404 => continue,
                Err(e) => return Err(format!("listing {}: {e}", kind.plural())),
            };
            for o in list.items {
                let name = o.metadata.name.clone().unwrap_or_default();
                left.push(format!("{}/{name}", kind.kind()));
                if o.metadata.deletion_timestamp.is_none() {
                    // Refusals (a referrer not gone yet) are retried on the next pass.
                    let _ = api.delete(&name, &DeleteParams::background()).await;
                }
            }
        }
        if left.is_empty() || tokio::time::Instant::now() >= until {
            return Ok(left);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The VLAB (or large) fixture as a NetBox snapshot, generated by an in-process fake NetBox and
/// read through fabsync's own reader.
async fn fixture_snapshot(
    fixture: fake_netbox::Fixture,
    seed: u64,
    site: &str,
) -> Result<Snapshot, String> {
    let nb = fake_netbox::FakeNetBox::builder()
        .token(FIXTURE_TOKEN)
        .seed(seed)
        .fixture(fixture)
        .build()
        .map_err(|e| format!("generating the fixture: {e}"))?;
    let client = NetboxClient::new(
        into_http_service(nb.client_service()),
        "http://fixture.invalid",
        Token::new(FIXTURE_TOKEN),
    )
    .map_err(|e| e.to_string())?;
    client
        .read_fabric(site, None)
        .await
        .map_err(|e| format!("reading the fixture: {e}"))
}

/// Creates the snapshot's virtual chassis (redundancy groups) in its site and puts their member
/// devices in them (the importer's `write_snapshot` has no virtual chassis).
async fn write_virtual_chassis(nb: &NetboxClient, snap: &Snapshot) -> Result<(), String> {
    if snap.virtual_chassis.is_empty() {
        return Ok(());
    }
    let site = nb
        .list_values("dcim/sites", &[("slug", snap.site.slug.clone())])
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|s| s["slug"] == snap.site.slug.as_str())
        .and_then(|s| s["id"].as_u64())
        .ok_or_else(|| format!("site {} is missing", snap.site.slug))?;
    let remote: BTreeMap<String, u64> = nb
        .list_values("dcim/devices", &[("site_id", site.to_string())])
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|d| Some((d["name"].as_str()?.to_string(), d["id"].as_u64()?)))
        .collect();
    for vc in &snap.virtual_chassis {
        let created = nb
            .create::<Value>("dcim/virtual-chassis", &json!({"name": vc.name}))
            .await
            .map_err(|e| format!("creating virtual chassis {}: {e}", vc.name))?;
        let vc_id = created["id"].as_u64().unwrap_or(0);
        let mut members: Vec<&crate::netbox::model::Device> = snap
            .devices
            .iter()
            .filter(|d| d.virtual_chassis.as_ref().is_some_and(|v| v.id == vc.id))
            .collect();
        members.sort_by_key(|d| d.id);
        for (pos, d) in members.iter().enumerate() {
            let name = d.name.clone().unwrap_or_default();
            let id = remote.get(&name).ok_or_else(|| {
                format!("device {name} of virtual chassis {} is missing", vc.name)
            })?;
            nb.patch(
                "dcim/devices",
                *id,
                &json!({"virtual_chassis": vc_id, "vc_position": pos + 1}),
            )
            .await
            .map_err(|e| format!("putting {name} into virtual chassis {}: {e}", vc.name))?;
        }
        if let Some(master) = vc
            .master
            .as_ref()
            .and_then(|m| snap.devices.iter().find(|d| d.id == m.id))
            .and_then(|d| d.name.as_ref())
            .and_then(|n| remote.get(n))
        {
            nb.patch("dcim/virtual-chassis", vc_id, &json!({"master": master}))
                .await
                .map_err(|e| format!("setting the master of {}: {e}", vc.name))?;
        }
    }
    Ok(())
}

/// `fabsync validate --target real` (and `local`): everything one validation run needs.
pub struct RealTarget {
    name: &'static str,
    seed: u64,
    scale: Scale,
    systems: RealSystems,
    recorder: Recorder,
    netbox: NetboxClient,
    kube: kube::Client,
    kube_variants: Arc<KubeconfigVariants>,
    netbox_token: String,
    wrong_netbox_token_file: PathBuf,
    secrets: Vec<String>,
    simulated: Option<Arc<dyn SimulatedFaults>>,
    browser: Option<super::browser::Browser>,
    fixtures: BTreeMap<&'static str, Snapshot>,
    before: Option<Inventory>,
    created_profiles: Vec<String>,
    fabrics: Vec<String>,
    problems: Vec<String>,
    logged: u64,
    kube_retry: bool,
    profiles_ever_created: Vec<String>,
    workflow_vrfs: BTreeMap<String, Vec<u64>>,
    _scratch: Arc<Scratch>,
}

impl std::fmt::Debug for RealTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealTarget")
            .field("name", &self.name)
            .field("kubeconfig", &self.systems.kubeconfig)
            .field("netbox", &self.systems.netbox_url)
            .finish()
    }
}

impl RealTarget {
    /// Connects to the systems (checks both answer and accept the credentials).
    pub async fn connect(
        name: &'static str,
        systems: RealSystems,
        opts: &Options,
        simulated: Option<Arc<dyn SimulatedFaults>>,
        browser: Option<super::browser::Browser>,
        extra_secrets: Vec<String>,
    ) -> Result<Self, String> {
        let clock: SharedClock = Arc::new(SystemClock);
        let recorder = Recorder::new(clock);
        recorder.set_phase("setup");
        let netbox_token = SecretRef::file(&systems.netbox_token_file)
            .resolve("", "--netbox-token-file")
            .map_err(|e| e.to_string())?;
        let netbox = person_netbox(&systems.netbox_url, netbox_token.expose(), &recorder)?;
        netbox
            .status()
            .await
            .map_err(|e| format!("NetBox at {}: {e}", systems.netbox_url))?;
        let info = read_kubeconfig(&systems.kubeconfig, systems.context.as_deref())?;
        let target = ClusterTarget {
            kubeconfig: Some(systems.kubeconfig.clone()),
            context: systems.context.clone(),
            ..Default::default()
        };
        let config = kube_config(&target, "default", Duration::from_secs(30)).await?;
        let server = config.cluster_url.to_string();
        let kube = person_kube(config, &recorder)?;
        kube.apiserver_version()
            .await
            .map_err(|e| format!("Kubernetes API server {server}: {e}"))?;
        let scratch = Arc::new(Scratch::new("fabsync-validate")?);
        let wrong = if netbox_token.expose().starts_with("nbt_") {
            "nbt_fabsyncwrong01.0000000000000000000000000000000000000000".to_string()
        } else {
            "0000000000fabsync0wrong0token00000000000".to_string()
        };
        let wrong_netbox_token_file = scratch.write("netbox-token-wrong", wrong.as_bytes())?;
        let mut secrets = vec![netbox_token.expose().to_string()];
        if let Some(t) = &info.token {
            secrets.push(t.clone());
        }
        secrets.extend(extra_secrets);
        let kube_retry = kube_retries_beneath_fabsync(&scratch).await?;
        if kube_retry {
            eprintln!(
                "note: fabsync's cluster connection (Cluster::connect) lets kube-rs retry 429/503/504 beneath fabsync's QPS budget and Retry-After layer; the validation keeps it that way (see target.json)"
            );
        }
        let kube_variants = Arc::new(KubeconfigVariants {
            info,
            scratch: scratch.clone(),
            closed_port: closed_port()?,
            written: Mutex::new(BTreeMap::new()),
        });
        Ok(Self {
            name,
            seed: opts.seed,
            scale: opts.scale,
            systems,
            recorder,
            netbox,
            kube,
            kube_variants,
            netbox_token: netbox_token.expose().to_string(),
            wrong_netbox_token_file,
            secrets,
            simulated,
            browser,
            fixtures: BTreeMap::new(),
            before: None,
            created_profiles: Vec::new(),
            fabrics: Vec::new(),
            problems: Vec::new(),
            logged: 0,
            kube_retry,
            profiles_ever_created: Vec::new(),
            workflow_vrfs: BTreeMap::new(),
            _scratch: scratch,
        })
    }

    /// The fabric (and site) name of workflow number `index`.
    pub fn fabric_name(seed: u64, index: usize) -> String {
        format!("fabsync-validate-{seed}-{}", index + 1)
    }

    async fn fixture(&mut self, which: Fabric) -> Result<Snapshot, String> {
        let (key, fixture, site) = match (which, self.scale) {
            (Fabric::Vlab, _) => ("vlab", fake_netbox::Fixture::Vlab, "vlab"),
            (Fabric::Scale, Scale::Large) => ("large", fake_netbox::Fixture::Large, "fabric-large"),
            (Fabric::Scale, Scale::Xlarge) => {
                ("xlarge", fake_netbox::Fixture::Xlarge, "fabric-xlarge")
            }
        };
        if let Some(s) = self.fixtures.get(key) {
            return Ok(s.clone());
        }
        let s = fixture_snapshot(fixture, self.seed, site).await?;
        self.fixtures.insert(key, s.clone());
        Ok(s)
    }

    /// Creates the SwitchProfiles the plan needs that the cluster does not have.
    async fn ensure_profiles(&mut self, needed: &BTreeSet<String>) -> Result<(), String> {
        let ar = api_resource(Kind::SwitchProfile);
        let api: Api<DynamicObject> = Api::namespaced_with(self.kube.clone(), "default", &ar);
        for name in needed {
            match api.get_opt(name).await {
                Ok(Some(_)) => continue,
                Ok(None) => {}
                Err(e) => {
                    return Err(format!(
                        "reading SwitchProfile {name}: {e} (are the Hedgehog CRDs installed?)"
                    ));
                }
            }
            let obj = json!({
                "apiVersion": Kind::SwitchProfile.api_version(),
                "kind": "SwitchProfile",
                "metadata": {"name": name, "namespace": "default",
                             "labels": {"app.kubernetes.io/created-by": PROFILE_MANAGER}},
                "spec": {"displayName": name},
            });
            api.patch(
                name,
                &PatchParams::apply(PROFILE_MANAGER),
                &Patch::Apply(&obj),
            )
            .await
            .map_err(|e| format!("creating SwitchProfile {name}: {e}"))?;
            self.created_profiles.push(name.clone());
            self.profiles_ever_created.push(name.clone());
        }
        Ok(())
    }

    async fn setup(&mut self, def: &Def, fabric: &str) -> Result<(), String> {
        if self.before.is_none() {
            self.before = Some(inventory(&self.netbox).await?);
        }
        let existing = self
            .netbox
            .list_values("dcim/sites", &[("slug", fabric.to_string())])
            .await
            .map_err(|e| e.to_string())?;
        if existing.iter().any(|s| s["slug"] == fabric) {
            return Err(format!(
                "NetBox already has a site {fabric:?} (left over from an earlier validation?): remove it or validate with another --seed"
            ));
        }
        let mut snap = self.fixture(def.fabric).await?;
        let desired = plan(&snap, &PlanConfig::new(fabric));
        snap.site.slug = fabric.to_string();
        snap.site.name = fabric.to_string();
        self.fabrics.push(fabric.to_string());
        // VRFs are global in NetBox and carry a fabric's VPC settings (peers, externals): the
        // ones this setup creates belong to this workflow and go with its site.
        let vrfs_before: BTreeSet<u64> = ids_of(
            &self
                .netbox
                .list_values("ipam/vrfs", &[])
                .await
                .map_err(|e| e.to_string())?,
        )
        .into_iter()
        .collect();
        let written = crate::netbox::import::write_snapshot(&self.netbox, &snap).await;
        let vrfs_after = self
            .netbox
            .list_values("ipam/vrfs", &[])
            .await
            .map_err(|e| e.to_string())?;
        self.workflow_vrfs.insert(
            fabric.to_string(),
            ids_of(&vrfs_after)
                .into_iter()
                .filter(|id| !vrfs_before.contains(id))
                .collect(),
        );
        written.map_err(|e| format!("writing the fixture into site {fabric}: {e}"))?;
        write_virtual_chassis(&self.netbox, &snap)
            .await
            .map_err(|e| format!("writing the fixture into site {fabric}: {e}"))?;
        // The copy must plan exactly like the fixture: a gap in the writer would make every
        // workflow prove the wrong thing.
        let copy = self
            .netbox
            .read_fabric(fabric, None)
            .await
            .map_err(|e| format!("reading site {fabric} back: {e}"))?;
        let again = plan(&copy, &PlanConfig::new(fabric));
        let key = |p: &crate::plan::Plan| -> BTreeMap<String, Value> {
            p.objects
                .iter()
                .map(|o| (format!("{}/{}", o.kind.kind(), o.name), o.spec.clone()))
                .collect()
        };
        let (want, got) = (key(&desired), key(&again));
        if want != got {
            let missing: Vec<&String> = want.keys().filter(|k| !got.contains_key(*k)).collect();
            let extra: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
            let differ: Vec<&String> = want
                .iter()
                .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
                .map(|(k, _)| k)
                .collect();
            return Err(format!(
                "site {fabric} does not plan like the fixture: missing {missing:?}, extra {extra:?}, different {differ:?}"
            ));
        }
        let profiles: BTreeSet<String> = desired
            .objects_of(Kind::Switch)
            .filter_map(|o| o.spec["profile"].as_str().map(str::to_string))
            .collect();
        self.ensure_profiles(&profiles).await
    }

    fn limits(&self, def: &Def) -> Limits {
        match (def.fabric, self.scale) {
            (Fabric::Scale, Scale::Xlarge) => Limits {
                qps: 250.0,
                burst: 500,
                ..Limits::default()
            },
            _ => Limits::default(),
        }
    }

    fn jsonl_since_last(&mut self) -> String {
        let entries = self.recorder.entries_from(self.logged);
        self.logged = self.recorder.position();
        let mut s = String::new();
        for e in entries {
            let mut v = serde_json::to_value(&e.call).expect("calls serialize");
            if let Value::Object(m) = &mut v {
                let (workflow, phase) = match e.phase.split_once(':') {
                    Some((p, w)) => (w.to_string(), Some(p.to_string())),
                    None => (e.phase.clone(), None),
                };
                m.insert("workflow".into(), json!(workflow));
                if let Some(p) = phase {
                    m.insert("phase".into(), json!(p));
                }
            }
            s.push_str(&serde_json::to_string(&v).expect("JSON serializes"));
            s.push('\n');
        }
        s
    }

    /// Removes one fabric's cluster objects and NetBox site.
    async fn reset(&mut self, fabric: &str) {
        match remove_fabric_objects(
            &self.kube,
            "default",
            &[fabric.to_string()],
            Duration::from_secs(120),
        )
        .await
        {
            Ok(left) if left.is_empty() => {}
            Ok(left) => self.problems.push(format!(
                "fabric {fabric}: {} cluster object(s) still there after 120 s: {}",
                left.len(),
                left.join(", ")
            )),
            Err(e) => self.problems.push(format!("fabric {fabric}: {e}")),
        }
        if let Err(e) = remove_site(&self.netbox, fabric).await {
            self.problems.push(format!("site {fabric}: {e}"));
        }
        let vrfs = self.workflow_vrfs.remove(fabric).unwrap_or_default();
        if let Err(e) = bulk_delete(&self.netbox, "ipam/vrfs", &vrfs).await {
            self.problems.push(format!("site {fabric}: {e}"));
        }
    }

    async fn cleanup_globals(&mut self) {
        let Some(before) = self.before.clone() else {
            return;
        };
        // Profiles this run created.
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.kube.clone(),
            "default",
            &api_resource(Kind::SwitchProfile),
        );
        for name in std::mem::take(&mut self.created_profiles) {
            if let Err(e) = api.delete(&name, &DeleteParams::background()).await
                && !matches!(&e, kube::Error::Api(s) if s.code == 404)
            {
                self.problems
                    .push(format!("deleting SwitchProfile {name}: {e}"));
            }
        }
        // Shared NetBox objects this run created; custom fields it widened get their object
        // types back.
        for ep in GLOBALS {
            let now = match self.netbox.list_values(ep, &[]).await {
                Ok(v) => v,
                Err(e) => {
                    self.problems.push(format!("listing {ep}: {e}"));
                    continue;
                }
            };
            let new: Vec<u64> = ids_of(&now)
                .into_iter()
                .filter(|id| !before.globals.get(ep).is_some_and(|b| b.contains(id)))
                .collect();
            if let Err(e) = bulk_delete(&self.netbox, ep, &new).await {
                self.problems.push(e);
            }
            if *ep == "extras/custom-fields" {
                for cf in &now {
                    let Some(id) = cf["id"].as_u64() else {
                        continue;
                    };
                    if let Some(types) = before.custom_fields.get(&id)
                        && *types != cf["object_types"]
                        && let Err(e) = self
                            .netbox
                            .patch("extras/custom-fields", id, &json!({"object_types": types}))
                            .await
                    {
                        self.problems
                            .push(format!("restoring custom field {}: {e}", cf["name"]));
                    }
                }
            }
        }
    }

    /// The cleanup report: every NetBox count back where it was and no object of this run left
    /// in the cluster.
    async fn cleanup_report(&mut self) -> WorkflowReport {
        let mut steps = Vec::new();
        let step =
            |name: &str, action: &str, expected: &str, passed: bool, observed: String| StepReport {
                name: name.into(),
                action: action.into(),
                expected: expected.into(),
                observed,
                passed,
                requirements: vec![],
                evidence: vec![],
                clock_ms: 0,
            };
        let mut diffs = Vec::new();
        if let Some(before) = &self.before {
            for (ep, n) in &before.counts {
                match count(&self.netbox, ep).await {
                    Ok(m) if m == *n => {}
                    Ok(m) => diffs.push(format!("{ep}: {n} before, {m} after")),
                    Err(e) => diffs.push(format!("{ep}: {e}")),
                }
            }
        }
        steps.push(step(
            "NetBox as before",
            "count every NetBox object type the run touched",
            "the same counts as before the run",
            diffs.is_empty() && self.before.is_some(),
            if diffs.is_empty() {
                format!(
                    "{} object types counted, all as before",
                    self.before.as_ref().map_or(0, |b| b.counts.len())
                )
            } else {
                diffs.join("; ")
            },
        ));
        let left = remove_fabric_objects(&self.kube, "default", &self.fabrics, Duration::ZERO)
            .await
            .unwrap_or_else(|e| vec![e]);
        let api: Api<DynamicObject> = Api::namespaced_with(
            self.kube.clone(),
            "default",
            &api_resource(Kind::SwitchProfile),
        );
        let mut profiles_left = Vec::new();
        if let Ok(list) = api
            .list(
                &ListParams::default()
                    .labels(&format!("app.kubernetes.io/created-by={PROFILE_MANAGER}")),
            )
            .await
        {
            for o in list.items {
                if o.metadata.deletion_timestamp.is_none() {
                    profiles_left.push(o.metadata.name.unwrap_or_default());
                }
            }
        }
        steps.push(step(
            "cluster as before",
            "list every object labelled with one of the run's fabrics, and the SwitchProfiles it created",
            "none left",
            left.is_empty() && profiles_left.is_empty(),
            format!(
                "{} fabric(s); objects left: {left:?}; profiles left: {profiles_left:?}",
                self.fabrics.len()
            ),
        ));
        steps.push(step(
            "cleanup without errors",
            "remove each workflow's objects after it, and what the run created globally at the end",
            "every removal succeeded",
            self.problems.is_empty(),
            if self.problems.is_empty() {
                "no error".into()
            } else {
                self.problems.join("; ")
            },
        ));
        WorkflowReport::from_steps(
            "cleanup",
            "Everything the validation created in NetBox and the cluster is removed",
            UserType::Operator,
            steps,
        )
    }
}

impl super::Target for RealTarget {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn env(&mut self, def: &Def, index: usize) -> Result<Env, String> {
        let fabric = Self::fabric_name(self.seed, index);
        self.recorder.set_phase(&format!("setup:{}", def.id));
        self.setup(def, &fabric).await?;
        self.recorder.set_phase(def.id);
        let base = FabricConfig {
            name: fabric.clone(),
            site: None,
            tag: None,
            netbox: NetboxTarget {
                url: self.systems.netbox_url.clone(),
                token_file: Some(self.systems.netbox_token_file.clone()),
                token_env: None,
            },
            cluster: ClusterTarget {
                kubeconfig: Some(self.systems.kubeconfig.clone()),
                context: self.systems.context.clone(),
                ..Default::default()
            },
            namespace: "default".into(),
            interval_secs: match def.periodic {
                // A workflow that wants no periodic run in its way keeps its long interval.
                Some(s) if s > 300 => s,
                _ => REAL_INTERVAL_SECS,
            },
            enabled: def.periodic.is_some(),
            conflict_policy: def.policy,
            limits: self.limits(def),
        };
        base.validate().map_err(|e| e.to_string())?;
        let store = Store::in_memory();
        store
            .import_fabric(&base, "validate")
            .map_err(|e| e.to_string())?;
        let clock: SharedClock = Arc::new(SystemClock);
        let engine = Engine::new(
            store.clone(),
            clock.clone(),
            Arc::new(RecordingConnector::new(
                self.recorder.clone(),
                self.kube_retry,
            )),
        );
        let scheduler = Scheduler::start(
            store.clone(),
            clock.clone(),
            Arc::new(engine.clone()),
            SchedulerConfig {
                // Three attempts (at 0, 2 and 6 s) instead of five at 0, 5, 15, 35 and 75 s: a
                // failure that lasts ends its task after 6 real seconds, not 75. The backoff
                // itself (doubling from the base) is what the workflows check; the simulation
                // checks the default timings exactly.
                retry: RetryPolicy {
                    base: Duration::from_secs(2),
                    max_attempts: 3,
                    ..RetryPolicy::default()
                },
                ..scheduler_config(self.seed)
            },
            None,
        )
        .map_err(|e| e.to_string())?;
        let slot = Arc::new(Mutex::new(Some(scheduler.clone())));
        let faults = Arc::new(SettingsFaults {
            fabric: fabric.clone(),
            store: store.clone(),
            scheduler: slot,
            base,
            kubeconfig: self.kube_variants.clone(),
            wrong_netbox_token_file: self.wrong_netbox_token_file.clone(),
            state: Mutex::new(FaultState::default()),
            simulated: self.simulated.clone(),
            target: self.name,
            kube: self.kube.clone(),
            recorder: self.recorder.clone(),
        });
        let start = self.recorder.position();
        let recorder = self.recorder.clone();
        let mut env = Env {
            fabric,
            store,
            engine,
            scheduler,
            web: axum::Router::new(),
            clock,
            netbox: self.netbox.clone(),
            kube: self.kube.clone(),
            faults,
            calls: Arc::new(move || recorder.from(start)),
            secrets: self.secrets.clone(),
            world: None,
            browser: self.browser.clone(),
        };
        env.web = web_router(&env);
        Ok(env)
    }

    async fn done(&mut self, def: &Def, env: Env) -> String {
        self.recorder.set_phase(&format!("cleanup:{}", def.id));
        let _ = env.faults.clear().await;
        let fabric = env.fabric.clone();
        drop(env);
        self.reset(&fabric).await;
        self.jsonl_since_last()
    }

    async fn setup_failed(&mut self, def: &Def, index: usize) -> String {
        self.recorder.set_phase(&format!("cleanup:{}", def.id));
        let fabric = Self::fabric_name(self.seed, index);
        self.reset(&fabric).await;
        self.jsonl_since_last()
    }

    async fn finish(&mut self) -> (String, Vec<WorkflowReport>) {
        self.recorder.set_phase("cleanup");
        // Every workflow is over (or was interrupted): nothing of fabsync's may write any more.
        self.recorder.stop_fabsync();
        // Anything a failed workflow may have left (reset is idempotent).
        for f in self.fabrics.clone() {
            self.reset(&f).await;
        }
        self.cleanup_globals().await;
        let report = self.cleanup_report().await;
        (self.jsonl_since_last(), vec![report])
    }

    fn secrets(&self) -> Vec<String> {
        let mut s = self.secrets.clone();
        s.push(self.netbox_token.clone());
        s
    }

    fn facts(&self) -> Option<Value> {
        Some(json!({
            "target": self.name,
            "kubeconfig": self.systems.kubeconfig,
            "context": self.systems.context,
            "netbox_url": self.systems.netbox_url,
            "fabrics": self.fabrics,
            "switch_profiles_created": self.profiles_ever_created,
            "kube_rs_retries_beneath_fabsync": self.kube_retry,
            "kube_rs_retry_note": if self.kube_retry {
                "Cluster::connect keeps kube-rs's default retry of 429/503/504: those retries happen beneath fabsync's QPS budget, Retry-After layer and request counters"
            } else {
                "fabsync's own Retry-After layer retries 429/503 above its QPS budget"
            },
        }))
    }
}
