//! The systems a workflow runs against, behind one interface: fabsync itself (store, engine,
//! scheduler and the real web router), NetBox and the cluster as a person reaches them, the
//! faults the target can be given, and the log of every API call.
//!
//! `sim` builds them in-process on the paused clock; `real` (and `local`, which serves the fakes
//! on loopback ports) reaches them over the network with the same code paths a deployment uses
//! (`real/` builds those environments).
//! Workflows only see this interface, so the same workflow runs on every target.

use std::sync::Arc;

use super::browser::Browser;
use super::error::{Context, ValidateError};
use super::model::ApiCall;
use crate::clock::SharedClock;
use crate::engine::Engine;
use crate::hedgehog::Kind;
use crate::netbox::NetboxClient;
use crate::scheduler::{BoxFuture, Scheduler, SchedulerConfig};
use crate::sim::World;
use crate::store::Store;
use crate::web::{AppState, router};

/// Faults a target can be given. Every target supports the ones a real system can be given
/// (unreachable, wrong credentials); the simulated ones support more.
pub trait Faults: Send + Sync {
    /// Makes the cluster unreachable (or reachable again).
    fn cluster_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>>;
    /// Makes fabsync present a wrong cluster token (or the right one again).
    fn cluster_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>>;
    /// Makes NetBox unreachable (or reachable again).
    fn netbox_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>>;
    /// Makes fabsync present a wrong NetBox token (or the right one again).
    fn netbox_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>>;
    /// The `n`-th cluster write from now fails with HTTP 500. `Err` (saying why) when the
    /// target cannot be given this fault.
    fn fail_nth_cluster_write(&self, n: u64) -> BoxFuture<Result<(), ValidateError>>;
    /// The next `times` server-side applies answer 429 with `Retry-After: secs`. `Err` (saying
    /// why) when the target cannot be given this fault.
    fn throttle_cluster(&self, times: u32, secs: u32) -> BoxFuture<Result<(), ValidateError>>;
    /// Every cluster request takes about `millis` longer (a real target: fabsync's own QPS
    /// budget is lowered to one request per `millis`).
    fn slow_cluster(&self, millis: u64) -> BoxFuture<Result<(), ValidateError>>;
    /// Right after fabsync's next cluster write, another field manager applies `kind`/`name`'s
    /// current spec (same content: only field ownership and the resourceVersion change), as a
    /// concurrent writer would. A write of fabsync that relies on the version it observed (a
    /// delete with a precondition) then meets a 409. Works on any cluster.
    fn concurrent_writer(&self, kind: Kind, name: &str) -> BoxFuture<Result<(), ValidateError>>;
    /// Removes every fault.
    fn clear(&self) -> BoxFuture<Result<(), ValidateError>>;
}

/// The field manager of the concurrent writer fault.
pub const CONCURRENT_WRITER: &str = "inventory-sync";

/// One workflow's systems.
pub struct Env {
    /// The fabric under test.
    pub fabric: String,
    /// fabsync's store.
    pub store: Store,
    /// fabsync's engine.
    pub engine: Engine,
    /// fabsync's scheduler (running).
    pub scheduler: Scheduler,
    /// fabsync's web router (the real HTTP layer).
    pub web: axum::Router,
    /// The world's clock.
    pub clock: SharedClock,
    /// NetBox, as a person edits it.
    pub netbox: NetboxClient,
    /// The cluster, as a person with kubectl sees it.
    pub kube: kube::Client,
    /// Faults.
    pub faults: Arc<dyn Faults>,
    /// Reads every API call so far.
    pub calls: Arc<dyn Fn() -> Vec<ApiCall> + Send + Sync>,
    /// Secrets the run must never print (tokens), for the redaction check.
    pub secrets: Vec<String>,
    /// A real browser that clicks Sync Now (`--browser`), when there is one.
    pub browser: Option<Browser>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").field("fabric", &self.fabric).finish()
    }
}

impl Env {
    /// Stops fabsync's scheduler (end of a workflow).
    pub async fn stop(&self) {
        self.scheduler
            .shutdown(std::time::Duration::from_secs(30))
            .await;
    }

    /// Restarts fabsync on the same store, as after a process restart: a new scheduler (which
    /// closes runs the old one left STARTED) and a new router.
    pub fn restart(&mut self, cfg: SchedulerConfig) -> Result<(), ValidateError> {
        self.scheduler = Scheduler::start(
            self.store.clone(),
            self.clock.clone(),
            Arc::new(self.engine.clone()),
            cfg,
            None,
        )?;
        self.web = web_router(self);
        Ok(())
    }
}

/// The web router over an environment's parts (no access token: loopback semantics).
pub fn web_router(env: &Env) -> axum::Router {
    router(AppState {
        store: env.store.clone(),
        scheduler: env.scheduler.clone(),
        engine: env.engine.clone(),
        clock: env.clock.clone(),
        auth_token: None,
        secret_key: [7u8; 32],
        demo: None,
    })
}

/// Scheduler settings for validation: no jitter (exact cadence), the world's seed.
pub fn scheduler_config(seed: u64) -> SchedulerConfig {
    SchedulerConfig {
        jitter: 0.0,
        seed,
        replica: "fabsync-validate".into(),
        ..SchedulerConfig::default()
    }
}

/// Faults of the simulated world: the fakes' own fault injection.
struct SimFaults {
    world: World,
    netbox_fault: std::sync::Mutex<Option<u64>>,
}

impl Faults for SimFaults {
    fn cluster_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.world.apiserver.faults().set_unreachable(on);
        Box::pin(async { Ok(()) })
    }

    fn cluster_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.world.connector.set_cluster_token(if on {
            "wrong-cluster-token"
        } else {
            crate::sim::CLUSTER_TOKEN
        });
        Box::pin(async { Ok(()) })
    }

    fn netbox_unreachable(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        let mut slot = self.netbox_fault.lock().unwrap();
        if on {
            if slot.is_none() {
                *slot = Some(self.world.netbox.faults().add(fake_netbox::FaultRule::new(
                    fake_netbox::FaultKind::Unreachable,
                )));
            }
        } else if let Some(id) = slot.take() {
            self.world.netbox.faults().remove(id);
        }
        Box::pin(async { Ok(()) })
    }

    fn netbox_wrong_token(&self, on: bool) -> BoxFuture<Result<(), ValidateError>> {
        self.world.connector.set_netbox_token(if on {
            "nbt_wrongwrong01.0000000000000000000000000000000000000000"
        } else {
            crate::sim::NETBOX_TOKEN
        });
        Box::pin(async { Ok(()) })
    }

    fn fail_nth_cluster_write(&self, n: u64) -> BoxFuture<Result<(), ValidateError>> {
        let r = self
            .world
            .apiserver
            .faults()
            .add(fake_apiserver::Fault::FailNthWrite { n, code: Some(500) })
            .map(|_| ())
            .map_err(ValidateError::fake);
        Box::pin(async move { r })
    }

    fn throttle_cluster(&self, times: u32, secs: u32) -> BoxFuture<Result<(), ValidateError>> {
        let r = self
            .world
            .apiserver
            .faults()
            .add(fake_apiserver::Fault::TooManyRequests {
                retry_after_seconds: secs,
                form: fake_apiserver::RejectForm::Plain,
                when: fake_apiserver::When::always().verb("apply").times(times),
            })
            .map(|_| ())
            .map_err(ValidateError::fake);
        Box::pin(async move { r })
    }

    fn slow_cluster(&self, millis: u64) -> BoxFuture<Result<(), ValidateError>> {
        let r = self
            .world
            .apiserver
            .faults()
            .add(fake_apiserver::Fault::Latency {
                millis,
                when: fake_apiserver::When::always(),
            })
            .map(|_| ())
            .map_err(ValidateError::fake);
        Box::pin(async move { r })
    }

    fn concurrent_writer(&self, kind: Kind, name: &str) -> BoxFuture<Result<(), ValidateError>> {
        let world = self.world.clone();
        let name = name.to_string();
        Box::pin(async move {
            let api: kube::Api<kube::api::DynamicObject> =
                kube::Api::namespaced_with(world.kube(), "default", &kind.api_resource());
            let obj = api
                .get(&name)
                .await
                .with_context(|| format!("reading {} {name}", kind.kind()))?;
            world
                .apiserver
                .faults()
                .add(fake_apiserver::Fault::ConcurrentWriter {
                    target: fake_apiserver::ObjectRef {
                        group: kind.group().to_string(),
                        resource: kind.plural().to_string(),
                        namespace: "default".into(),
                        name: name.clone(),
                    },
                    field_manager: CONCURRENT_WRITER.into(),
                    patch: serde_json::json!({
                        "apiVersion": kind.api_version(), "kind": kind.kind(),
                        "metadata": {"name": name, "namespace": "default"},
                        "spec": obj.data["spec"],
                    }),
                    patch_type: fake_apiserver::WriterPatch::Apply,
                    // Just before the 2nd write from now: right after the next one.
                    on_nth_write: Some(2),
                })
                .map(|_| ())
                .map_err(ValidateError::fake)
        })
    }

    fn clear(&self) -> BoxFuture<Result<(), ValidateError>> {
        self.world.apiserver.faults().clear();
        self.world.netbox.faults().clear();
        *self.netbox_fault.lock().unwrap() = None;
        self.world
            .connector
            .set_cluster_token(crate::sim::CLUSTER_TOKEN);
        self.world
            .connector
            .set_netbox_token(crate::sim::NETBOX_TOKEN);
        Box::pin(async { Ok(()) })
    }
}

/// Both fakes' request logs, merged in time order (apiserver first on ties).
pub fn sim_calls(world: &World) -> Vec<ApiCall> {
    let mut out: Vec<(i128, u8, u64, ApiCall)> = Vec::new();
    let at = |c: &ApiCall| {
        c.time
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_nanosecond())
            .unwrap_or(0)
    };
    for e in world.apiserver.log().entries() {
        let v = serde_json::to_value(&e).expect("log entries serialize");
        if let Ok(c) = serde_json::from_value::<ApiCall>(v) {
            out.push((at(&c), 0, c.seq, c));
        }
    }
    for e in world.netbox.log().entries() {
        let v = serde_json::to_value(&e).expect("log entries serialize");
        if let Ok(c) = serde_json::from_value::<ApiCall>(v) {
            out.push((at(&c), 1, c.seq, c));
        }
    }
    out.sort_by_key(|(t, server, seq, _)| (*t, *server, *seq));
    out.into_iter().map(|(_, _, _, c)| c).collect()
}

/// A point in the request logs: the last sequence number seen per server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark(std::collections::BTreeMap<String, u64>);

impl Mark {
    /// The point after every call in `calls`.
    pub fn of(calls: &[ApiCall]) -> Mark {
        let mut m = std::collections::BTreeMap::new();
        for c in calls {
            let e = m.entry(c.server.clone()).or_insert(0);
            *e = (*e).max(c.seq);
        }
        Mark(m)
    }

    /// The calls after this point.
    pub fn since(&self, calls: &[ApiCall]) -> Vec<ApiCall> {
        calls
            .iter()
            .filter(|c| c.seq > self.0.get(&c.server).copied().unwrap_or(0))
            .cloned()
            .collect()
    }
}

/// A simulated environment: a fresh world with Hedgehog installed and fabsync running on it.
pub async fn sim_env(
    world_cfg: crate::sim::WorldConfig,
    periodic: Option<u64>,
) -> Result<Env, ValidateError> {
    let seed = world_cfg.seed;
    let world = World::new(world_cfg);
    world
        .install_hedgehog()
        .await
        .context("installing Hedgehog's SwitchProfiles")?;
    let mut fabric = world.store.fabric(&world.fabric.name)?.config;
    match periodic {
        Some(secs) => {
            fabric.interval_secs = secs;
            fabric.enabled = true;
        }
        None => fabric.enabled = false,
    }
    world.store.update_fabric_config(&fabric)?;
    let scheduler = Scheduler::start(
        world.store.clone(),
        world.clock.clone(),
        Arc::new(world.engine.clone()),
        scheduler_config(seed),
        None,
    )?;
    let calls_world = world.clone();
    let mut env = Env {
        fabric: world.fabric.name.clone(),
        store: world.store.clone(),
        engine: world.engine.clone(),
        scheduler,
        web: axum::Router::new(),
        clock: world.clock.clone(),
        netbox: world.netbox_client(),
        kube: world.kube(),
        faults: Arc::new(SimFaults {
            world: world.clone(),
            netbox_fault: std::sync::Mutex::new(None),
        }),
        calls: Arc::new(move || sim_calls(&calls_world)),
        secrets: vec![
            crate::sim::CLUSTER_TOKEN.into(),
            crate::sim::NETBOX_TOKEN.into(),
            crate::sim::ADMIN_TOKEN.into(),
            crate::sim::NETBOX_ADMIN_TOKEN.into(),
        ],
        browser: None,
    };
    env.web = web_router(&env);
    Ok(env)
}
