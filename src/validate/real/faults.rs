//! The faults of the `real` and `local` targets. A real system can be given them through
//! fabsync's own settings (store + `scheduler.reload`, as the UI does): a kubeconfig whose server
//! is a closed port, a kubeconfig user with a wrong token, a NetBox URL on a closed port, a token
//! file with a wrong token, a lower client-side QPS budget for "slow", and a concurrent writer
//! (another field manager applying an object right after fabsync's first write). Faults only a
//! fake can be given (fail the Nth write, 429 on demand) come from [`SimulatedFaults`] (`local`)
//! or are refused, saying why.
//!
//! It changes settings and files of its own; it never writes to NetBox.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::config::FabricConfig;
use crate::hedgehog::Kind;
use crate::scheduler::{BoxFuture, Scheduler};
use crate::store::Store;
use crate::validate::error::{Context, ValidateError};
use crate::validate::record::Recorder;
use crate::validate::scratch::Scratch;
use crate::validate::systems::{CONCURRENT_WRITER, Faults};

/// Faults only a fake can be given (the `local` target's fakes): a real target has none.
pub trait SimulatedFaults: Send + Sync {
    /// The `n`-th cluster write from now fails with HTTP 500.
    fn fail_nth_cluster_write(&self, n: u64) -> Result<(), ValidateError>;
    /// The next `times` server-side applies answer 429 with `Retry-After: secs`.
    fn throttle_cluster(&self, times: u32, secs: u32) -> Result<(), ValidateError>;
    /// Removes every fault.
    fn clear(&self);
}

/// A loopback port nobody listens on (bound, then released).
pub(super) fn closed_port() -> Result<u16, ValidateError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .context("finding a closed loopback port")
}

/// The kubeconfig as JSON, the context in use, and the token of its user (when it has one).
pub(super) struct KubeconfigInfo {
    doc: Value,
    context: String,
    cluster: String,
    user: String,
    /// The token of the context's user, when it has one (a secret of the run).
    pub(super) token: Option<String>,
}

/// Reads a kubeconfig and finds the context in use (`context`, else its current context).
pub(super) fn read_kubeconfig(
    path: &Path,
    context: Option<&str>,
) -> Result<KubeconfigInfo, ValidateError> {
    let kc = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    let doc = serde_json::to_value(&kc).context("kubeconfig")?;
    let context = match context {
        Some(c) => c.to_string(),
        None => doc["current-context"]
            .as_str()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ValidateError::Setup(format!(
                    "kubeconfig {} has no current-context: give --context",
                    path.display()
                ))
            })?
            .to_string(),
    };
    let ctx = doc["contexts"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == context.as_str()))
        .ok_or_else(|| {
            ValidateError::Missing(format!(
                "kubeconfig {} has no context {context:?}",
                path.display()
            ))
        })?;
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
pub(super) struct SettingsFaults {
    fabric: String,
    store: Store,
    scheduler: Scheduler,
    base: FabricConfig,
    kubeconfig: Arc<KubeconfigVariants>,
    wrong_netbox_token_file: PathBuf,
    state: Mutex<FaultState>,
    simulated: Option<Arc<dyn SimulatedFaults>>,
    target: &'static str,
    kube: kube::Client,
    recorder: Recorder,
}

/// The parts of a workflow's environment the faults act on.
pub(super) struct FaultTarget {
    /// The fabric under test (and its settings as set up).
    pub(super) base: FabricConfig,
    /// fabsync's store of the workflow.
    pub(super) store: Store,
    /// fabsync's scheduler of the workflow (reloaded after each settings change).
    pub(super) scheduler: Scheduler,
    /// `real` or `local`.
    pub(super) target: &'static str,
    /// The cluster as a person sees it (the concurrent writer).
    pub(super) kube: kube::Client,
    /// The run's API log (the concurrent writer's hook).
    pub(super) recorder: Recorder,
}

impl SettingsFaults {
    /// Faults over a workflow's fabric; `kubeconfig` and `wrong_netbox_token_file` are the
    /// run's broken copies, `simulated` the fakes' own faults (`local`).
    pub(super) fn new(
        on: FaultTarget,
        kubeconfig: Arc<KubeconfigVariants>,
        wrong_netbox_token_file: PathBuf,
        simulated: Option<Arc<dyn SimulatedFaults>>,
    ) -> Self {
        Self {
            fabric: on.base.name.clone(),
            store: on.store,
            scheduler: on.scheduler,
            base: on.base,
            kubeconfig,
            wrong_netbox_token_file,
            state: Mutex::new(FaultState::default()),
            simulated,
            target: on.target,
            kube: on.kube,
            recorder: on.recorder,
        }
    }
}

/// Kubeconfig copies with one thing broken, written once per run.
pub(super) struct KubeconfigVariants {
    info: KubeconfigInfo,
    scratch: Arc<Scratch>,
    closed_port: u16,
    written: Mutex<BTreeMap<(bool, bool), PathBuf>>,
}

impl KubeconfigVariants {
    /// Copies of the kubeconfig `info` came from, written into `scratch` when first asked for;
    /// `closed_port` is where nobody listens.
    pub(super) fn new(info: KubeconfigInfo, scratch: Arc<Scratch>, closed_port: u16) -> Self {
        Self {
            info,
            scratch,
            closed_port,
            written: Mutex::new(BTreeMap::new()),
        }
    }

    /// A kubeconfig like the original, but its server on a closed port and/or its user
    /// presenting a wrong token.
    fn variant(&self, unreachable: bool, wrong_token: bool) -> Result<PathBuf, ValidateError> {
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
        let bytes = serde_json::to_vec_pretty(&doc)?;
        let p = self.scratch.write(&name, &bytes)?;
        self.written
            .lock()
            .unwrap()
            .insert((unreachable, wrong_token), p.clone());
        Ok(p)
    }
}

impl SettingsFaults {
    fn apply(&self) -> Result<(), ValidateError> {
        let st = *self.state.lock().unwrap();
        let mut cfg = self.store.fabric(&self.fabric)?.config;
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
        self.store.update_fabric_config(&cfg)?;
        if self.scheduler.is_alive() {
            self.scheduler.reload(&self.fabric)?;
        }
        Ok(())
    }

    fn set(&self, f: impl FnOnce(&mut FaultState)) -> BoxFuture<Result<(), ValidateError>> {
        f(&mut self.state.lock().unwrap());
        let r = self.apply();
        Box::pin(async move { r })
    }

    fn unsupported(&self, what: &str) -> ValidateError {
        ValidateError::Unsupported {
            target: self.target,
            what: what.into(),
        }
    }
}

impl Faults for SettingsFaults {
    fn cluster_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.set(|s| s.cluster_unreachable = on)
    }

    fn cluster_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.set(|s| s.cluster_wrong_token = on)
    }

    fn netbox_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.set(|s| s.netbox_unreachable = on)
    }

    fn netbox_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.set(|s| s.netbox_wrong_token = on)
    }

    fn fail_nth_cluster_write(&self, n: u64) -> BoxFuture<Result<(), ValidateError>> {
        let r = match &self.simulated {
            Some(s) => s.fail_nth_cluster_write(n),
            None => Err(self.unsupported(&format!("fail its write #{n} (HTTP 500)"))),
        };
        Box::pin(async move { r })
    }

    fn throttle_cluster(&self, times: u32, secs: u32) -> BoxFuture<Result<(), ValidateError>> {
        let r = match &self.simulated {
            Some(s) => s.throttle_cluster(times, secs),
            None => Err(self.unsupported(
                "answer 429 with Retry-After (API Priority and Fairness throttles only under real overload)",
            )),
        };
        Box::pin(async move { r })
    }

    fn slow_cluster(&self, millis: u64) -> BoxFuture<Result<(), ValidateError>> {
        self.set(|s| s.slow_millis = Some(millis))
    }

    fn concurrent_writer(&self, kind: Kind, name: &str) -> BoxFuture<Result<(), ValidateError>> {
        let kube = self.kube.clone();
        let recorder = self.recorder.clone();
        let name = name.to_string();
        Box::pin(async move {
            let api: Api<DynamicObject> =
                Api::namespaced_with(kube, "default", &kind.api_resource());
            let obj = api
                .get(&name)
                .await
                .with_context(|| format!("reading {} {name}", kind.kind()))?;
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
                            &PatchParams::apply(CONCURRENT_WRITER),
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

    fn clear(&self) -> BoxFuture<Result<(), ValidateError>> {
        if let Some(s) = &self.simulated {
            s.clear();
        }
        self.recorder.disarm();
        self.set(|s| *s = FaultState::default())
    }
}
