//! `fabsync validate --target real`: every workflow against a real NetBox (URL + token file) and a
//! real cluster (kubeconfig + context), in real time, with fabsync's own store (in memory),
//! engine, scheduler and web router. This file is the target's lifecycle: connect (both systems
//! answer and accept the credentials), per workflow set up its fabric and build its environment,
//! tidy up after it, and at the end remove what the run created and report on it.
//!
//! The jobs are in their own files: `connector.rs` (fabsync's connector with the recording layer,
//! the person's clients), `fixture.rs` (a site per workflow holding the fixture, the
//! SwitchProfiles it needs), `faults.rs` (faults through fabsync's settings, and the fakes' own on
//! `local`), `cleanup.rs` (the ledger of what was created, removing it, the cleanup report). The
//! API log comes from the client side (`record.rs`). Not here: the workflows, starting fakes
//! (`local.rs`), reports.

mod cleanup;
mod connector;
mod faults;
mod fixture;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use cleanup::Ledger;
use connector::{
    RecordingConnector, kube_config, kube_retries_beneath_fabsync, person_kube, person_netbox,
};
use faults::{FaultTarget, KubeconfigVariants, SettingsFaults, closed_port, read_kubeconfig};
use fixture::Fixtures;

pub use faults::SimulatedFaults;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{ClusterTarget, FabricConfig, Limits, NetboxTarget, SecretRef};
use crate::engine::Engine;
use crate::netbox::NetboxClient;
use crate::scheduler::{RetryPolicy, Scheduler, SchedulerConfig};
use crate::store::Store;
use crate::validate::browser::Browser;
use crate::validate::error::{Context, ValidateError};
use crate::validate::model::{Options, Scale, WorkflowReport};
use crate::validate::record::Recorder;
use crate::validate::runner::Target;
use crate::validate::scratch::Scratch;
use crate::validate::systems::{Env, scheduler_config, web_router};
use crate::validate::workflows::{Def, Fabric};

/// Periodic interval of the periodic workflows on a real target: the config minimum.
pub const REAL_INTERVAL_SECS: u64 = crate::config::MIN_INTERVAL_SECS;

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
    browser: Option<Browser>,
    fixtures: Fixtures,
    ledger: Ledger,
    logged: u64,
    kube_retry: bool,
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
        browser: Option<Browser>,
        extra_secrets: Vec<String>,
    ) -> Result<Self, ValidateError> {
        let clock: SharedClock = Arc::new(SystemClock);
        let recorder = Recorder::new(clock);
        recorder.set_phase("setup");
        let netbox_token =
            SecretRef::file(&systems.netbox_token_file).resolve("", "--netbox-token-file")?;
        let netbox = person_netbox(&systems.netbox_url, netbox_token.expose(), &recorder)?;
        netbox
            .status()
            .await
            .with_context(|| format!("NetBox at {}", systems.netbox_url))?;
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
            .with_context(|| format!("Kubernetes API server {server}"))?;
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
        let kube_variants = Arc::new(KubeconfigVariants::new(
            info,
            scratch.clone(),
            closed_port()?,
        ));
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
            fixtures: Fixtures::new(opts.seed, opts.scale),
            ledger: Ledger::default(),
            logged: 0,
            kube_retry,
            _scratch: scratch,
        })
    }

    /// The fabric (and site) name of workflow number `index`.
    pub fn fabric_name(seed: u64, index: usize) -> String {
        format!("fabsync-validate-{seed}-{}", index + 1)
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
}

impl Target for RealTarget {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn env(&mut self, def: &Def, index: usize) -> Result<Env, ValidateError> {
        let fabric = Self::fabric_name(self.seed, index);
        self.recorder.set_phase(&format!("setup:{}", def.id));
        fixture::set_up(
            &self.netbox,
            &self.kube,
            &mut self.ledger,
            &mut self.fixtures,
            def.fabric,
            &fabric,
        )
        .await?;
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
            prune: crate::config::PruneMode::Auto,
            max_deletes: 10,
            max_delete_percent: 25,
        };
        base.validate()?;
        let store = Store::in_memory();
        store.import_fabric(&base, "validate")?;
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
        )?;
        let faults = Arc::new(SettingsFaults::new(
            FaultTarget {
                base,
                store: store.clone(),
                scheduler: scheduler.clone(),
                target: self.name,
                kube: self.kube.clone(),
                recorder: self.recorder.clone(),
            },
            self.kube_variants.clone(),
            self.wrong_netbox_token_file.clone(),
            self.simulated.clone(),
        ));
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
        self.ledger.reset(&self.netbox, &self.kube, &fabric).await;
        self.jsonl_since_last()
    }

    async fn setup_failed(&mut self, def: &Def, index: usize) -> String {
        self.recorder.set_phase(&format!("cleanup:{}", def.id));
        let fabric = Self::fabric_name(self.seed, index);
        self.ledger.reset(&self.netbox, &self.kube, &fabric).await;
        self.jsonl_since_last()
    }

    async fn finish(&mut self) -> (String, Vec<WorkflowReport>) {
        self.recorder.set_phase("cleanup");
        // Every workflow is over (or was interrupted): nothing of fabsync's may write any more.
        self.recorder.stop_fabsync();
        // Anything a failed workflow may have left (reset is idempotent).
        for f in self.ledger.fabrics.clone() {
            self.ledger.reset(&self.netbox, &self.kube, &f).await;
        }
        self.ledger.cleanup_globals(&self.netbox, &self.kube).await;
        let report = self.ledger.report(&self.netbox, &self.kube).await;
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
            "fabrics": self.ledger.fabrics,
            "switch_profiles_created": self.ledger.profiles_ever_created,
            "kube_rs_retries_beneath_fabsync": self.kube_retry,
            "kube_rs_retry_note": if self.kube_retry {
                "Cluster::connect keeps kube-rs's default retry of 429/503/504: those retries happen beneath fabsync's QPS budget, Retry-After layer and request counters"
            } else {
                "fabsync's own Retry-After layer retries 429/503 above its QPS budget"
            },
        }))
    }
}
