//! The world of one seed: one NetBox holding every fabric (one site each), one cluster per
//! fabric (Hedgehog serves one fabric per cluster, in its `default` namespace, with its
//! SwitchProfiles installed), and 1–R fabsync replicas, each
//! with its own store, engine, scheduler with Leases, and web router — started, killed and
//! started again as the scenario says. People reach NetBox and the cluster through their APIs.
//!
//! It builds and holds the world; `ops.rs` changes it and `observer.rs` judges it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use fake_netbox::{FabricSpec, Fixture};
use http::{Method, StatusCode};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::observer::{ObservedRunner, Observer};
use super::scenario::{FabricPlan, Scenario, Shape};
use super::wire::{Credentials, ReplicaConnector};
use crate::config::FabricConfig;
use crate::engine::Engine;
use crate::hedgehog::Kind;
use crate::netbox::NetboxClient;
use crate::scheduler::{LeaseConfig, Leases, RetryPolicy, Scheduler, SchedulerConfig};
use crate::service::ConnectorLeases;
use crate::sim::{
    CLUSTER_TOKEN, SHIPPED_PROFILES, World, WorldConfig, person_client, sim_cluster, sim_fabric,
};
use crate::store::Store;
use crate::web::{AppState, router};
use fake_apiserver::FakeApiServer;

/// One running fabsync process.
pub struct Incarnation {
    /// Its identity (Lease holder, run holder).
    pub identity: String,
    /// Its scheduler.
    pub scheduler: Scheduler,
    /// Its HTTP layer.
    pub web: axum::Router,
}

/// One fabsync replica: its store outlives its processes.
pub struct Replica {
    /// The store (SQLite in memory, kept across restarts like a file on disk).
    pub store: Store,
    /// Starts so far.
    pub incarnations: u32,
    /// The running process, if any.
    pub live: Option<Incarnation>,
    /// Virtual second its disk filled up, while it is full.
    pub full_since: Option<u64>,
}

/// A fault handle: which fake holds it, under which id.
pub enum FaultHandle {
    /// A fault of every cluster: (cluster index, fault id).
    Cluster(Vec<(usize, u64)>),
    /// A NetBox fault rule.
    Netbox(u64),
    /// The cluster refusing connections.
    ClusterDown,
    /// fabsync's revoked cluster token.
    ClusterToken,
    /// fabsync's revoked NetBox token.
    NetboxToken,
    /// fabsync's n-th Hedgehog write fails (injected on the wire).
    FailNth,
    /// Nothing to undo (it happened at once).
    Done,
}

/// The world of one seed.
pub struct SimWorld {
    /// Clock, NetBox, fabric 0's cluster (its own store and engine are not used).
    pub base: World,
    /// Each fabric's cluster (fabric 0's is `base.apiserver`).
    pub clusters: Vec<FakeApiServer>,
    /// The fabrics.
    pub fabrics: Vec<FabricPlan>,
    /// The replicas.
    pub replicas: Vec<Replica>,
    /// The observer.
    pub observer: Arc<Observer>,
    /// Which credentials fabsync presents.
    pub credentials: Arc<Credentials>,
    /// Per replica: cut off from the Leases.
    pub lease_cut: Vec<Arc<AtomicBool>>,
    /// NetBox backups by slot.
    pub backups: BTreeMap<u32, fake_netbox::Backup>,
    /// How to undo a move or an invalid name: (endpoint, id, body).
    pub repairs: BTreeMap<u32, (String, u64, Value)>,
    /// Active faults by scenario id.
    pub faults: BTreeMap<u32, FaultHandle>,
    /// A person reaching NetBox.
    pub person_netbox: NetboxClient,
    /// A person reaching each fabric's cluster.
    pub person_kube: Vec<kube::Client>,
    /// The seed.
    pub seed: u64,
}

/// The fixture spec of one fabric.
fn spec_of(f: &FabricPlan) -> FabricSpec {
    let mut spec = match f.shape {
        Shape::Vlab => FabricSpec::vlab(),
        Shape::Mesh => FabricSpec::mesh(),
        Shape::Random(seed) => FabricSpec::small_random(&f.name, seed),
    };
    spec.site = f.name.clone();
    spec
}

/// Seconds of virtual time since the world's epoch.
pub fn secs_of(clock: &crate::clock::SharedClock) -> u64 {
    let epoch: jiff::Timestamp = crate::clock::SIM_EPOCH.parse().expect("a valid epoch");
    u64::try_from(clock.now().duration_since(epoch).as_secs()).unwrap_or(0)
}

/// The Lease timing of simulated replicas.
pub fn lease_config() -> LeaseConfig {
    LeaseConfig {
        duration: Duration::from_secs(super::observer::LEASE_SECS as u64),
        renew_every: Duration::from_secs(super::observer::LEASE_SECS as u64 / 3),
        safety_margin: Duration::from_secs(super::observer::LEASE_SECS as u64 / 5),
    }
}

impl SimWorld {
    /// Builds the world of `scenario` and starts every replica. Inside a paused tokio runtime.
    pub async fn build(scenario: &Scenario) -> Result<SimWorld, String> {
        let specs: Vec<FabricSpec> = scenario.fabrics.iter().map(spec_of).collect();
        let base = World::new(WorldConfig {
            seed: scenario.seed,
            fixture: Fixture::Specs(specs),
            fabric: scenario.fabrics[0].name.clone(),
            ..WorldConfig::default()
        });
        let mut clusters = vec![base.apiserver.clone()];
        for i in 1..scenario.fabrics.len() {
            clusters.push(sim_cluster(scenario.seed ^ (i as u64), &base.clock, false));
        }
        let person_kube: Vec<kube::Client> = clusters
            .iter()
            .map(|c| person_client(c, CLUSTER_TOKEN))
            .collect();
        let person_netbox = base.netbox_client();
        for (f, kube) in scenario.fabrics.iter().zip(&person_kube) {
            install(kube)
                .await
                .map_err(|e| format!("installing Hedgehog in fabric {}'s cluster: {e}", f.name))?;
        }
        // A site outside every fabric, where servers can be moved.
        person_netbox
            .request(
                Method::POST,
                &person_netbox.api_path("dcim/sites"),
                Some(&serde_json::json!({"name": "elsewhere", "slug": "elsewhere"})),
            )
            .await
            .map_err(|e| format!("creating the spare site: {e}"))?;
        person_netbox
            .request(
                Method::POST,
                &person_netbox.api_path("extras/tags"),
                Some(&serde_json::json!({"name": "sim-note", "slug": "sim-note"})),
            )
            .await
            .map_err(|e| format!("creating the tag: {e}"))?;
        let lease_cut: Vec<Arc<AtomicBool>> = (0..scenario.replicas)
            .map(|_| Arc::new(AtomicBool::new(false)))
            .collect();
        let observer = Arc::new(Observer::new(
            scenario
                .fabrics
                .iter()
                .zip(clusters.iter().zip(&person_kube))
                .map(|(f, (c, k))| (f.name.clone(), (c.clone(), k.clone())))
                .collect(),
            base.netbox.clone(),
            base.clock.clone(),
            person_netbox.clone(),
            lease_cut.clone(),
        ));
        let mut replicas = Vec::new();
        for _ in 0..scenario.replicas {
            let store = Store::in_memory();
            for f in &scenario.fabrics {
                store
                    .import_fabric(&fabric_config(f), "simulate")
                    .map_err(|e| e.to_string())?;
            }
            replicas.push(Replica {
                store,
                incarnations: 0,
                live: None,
                full_since: None,
            });
        }
        let mut world = SimWorld {
            base,
            clusters,
            fabrics: scenario.fabrics.clone(),
            replicas,
            observer,
            credentials: Arc::new(Credentials::default()),
            lease_cut,
            backups: BTreeMap::new(),
            repairs: BTreeMap::new(),
            faults: BTreeMap::new(),
            person_netbox,
            person_kube,
            seed: scenario.seed,
        };
        for r in 0..world.replicas.len() {
            world.start(r);
        }
        Ok(world)
    }

    /// Virtual seconds since the start.
    pub fn now_secs(&self) -> u64 {
        secs_of(&self.base.clock)
    }

    /// Starts replica `r` (a new process on its store); false when it cannot (a full disk).
    pub fn start(&mut self, r: usize) -> bool {
        if self.replicas[r].live.is_some() {
            return true;
        }
        let replica = &mut self.replicas[r];
        replica.incarnations += 1;
        let identity = format!("replica-{r}.{}", replica.incarnations);
        let store = replica.store.clone();
        let clock = self.base.clock.clone();
        let connector = ReplicaConnector {
            clusters: self
                .fabrics
                .iter()
                .zip(&self.clusters)
                .map(|(f, c)| (f.name.clone(), c.clone()))
                .collect(),
            netbox: self.base.netbox.clone(),
            credentials: self.credentials.clone(),
            observer: self.observer.clone(),
            replica: r,
            identity: identity.as_str().into(),
            lease_cut: self.lease_cut[r].clone(),
        };
        let connector: Arc<ReplicaConnector> = Arc::new(connector);
        let observer = self.observer.clone();
        let progress_store = store.clone();
        let engine = Engine::new(store.clone(), clock.clone(), connector.clone())
            .with_owner(identity.clone())
            .with_progress(Arc::new(move |run, step| {
                observer.on_progress(r, &progress_store, run, step)
            }));
        let leases = Leases::new(
            &identity,
            clock.clone(),
            lease_config(),
            Arc::new(ConnectorLeases {
                connector,
                store: store.clone(),
            }),
        );
        let runner = ObservedRunner {
            engine: engine.clone(),
            observer: self.observer.clone(),
            replica: r,
            store: store.clone(),
        };
        let cfg = SchedulerConfig {
            replica: identity.clone(),
            seed: self.seed ^ ((r as u64) << 32) ^ u64::from(replica.incarnations),
            lease: Some(lease_config()),
            retry: RetryPolicy::default(),
            ..SchedulerConfig::default()
        };
        let scheduler = match Scheduler::start(
            store.clone(),
            clock.clone(),
            Arc::new(runner),
            cfg,
            Some(leases),
        ) {
            Ok(s) => s,
            Err(_) => return false,
        };
        let web = router(AppState {
            store,
            scheduler: scheduler.clone(),
            engine,
            clock,
            auth_token: None,
            secret_key: [9u8; 32],
            demo: None,
        });
        let killer = scheduler.clone();
        self.observer
            .set_killer(r, Some(Arc::new(move || killer.abort())));
        replica.live = Some(Incarnation {
            identity,
            scheduler,
            web,
        });
        true
    }

    /// Kills replica `r`'s process (no shutdown: runs stop wherever they are).
    pub fn kill(&mut self, r: usize) {
        if let Some(inc) = self.replicas[r].live.take() {
            inc.scheduler.abort();
        }
        self.observer.set_killer(r, None);
        self.observer.disarm(r);
    }

    /// Notices replicas an armed crash killed (their scheduler is already aborted).
    pub fn reap(&mut self) {
        for r in self.observer.take_killed() {
            self.kill(r);
        }
    }

    /// A request to replica `r`'s HTTP layer; `None` when it is down.
    pub async fn http(
        &self,
        r: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Option<(StatusCode, Value)> {
        use tower::ServiceExt;
        let web = self.replicas[r].live.as_ref()?.web.clone();
        let mut req = http::Request::builder().method(method).uri(path);
        if body.is_some() {
            req = req.header(http::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(axum::body::Body::from(
                body.map(|b| b.to_string()).unwrap_or_default(),
            ))
            .expect("a valid request");
        let resp = web.oneshot(req).await.ok()?;
        let status = resp.status();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .ok()?
            .to_bytes();
        Some((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// The replica whose process holds `fabric`'s Lease, if any.
    pub fn leader(&self, fabric: &str) -> Option<usize> {
        let name = crate::scheduler::lease::lease_name(fabric);
        let holder = self
            .cluster_of(fabric)?
            .objects("coordination.k8s.io", "leases")
            .into_iter()
            .find(|l| l.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str()))?
            .pointer("/spec/holderIdentity")?
            .as_str()?
            .to_string();
        self.replicas
            .iter()
            .position(|r| r.live.as_ref().is_some_and(|i| i.identity == holder))
    }

    /// `fabric`'s Lease as the cluster holds it: holder and last renewal.
    pub fn lease_state(&self, fabric: &str) -> String {
        let name = crate::scheduler::lease::lease_name(fabric);
        let lease = self.cluster_of(fabric).and_then(|c| {
            c.objects("coordination.k8s.io", "leases")
                .into_iter()
                .find(|l| {
                    l.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str())
                })
        });
        match lease {
            None => "nothing: there is no Lease".into(),
            Some(l) => format!(
                "holder {}, renewed {}",
                l.pointer("/spec/holderIdentity")
                    .and_then(Value::as_str)
                    .unwrap_or("none"),
                l.pointer("/spec/renewTime")
                    .and_then(Value::as_str)
                    .unwrap_or("never")
            ),
        }
    }

    /// `fabric`'s cluster.
    pub fn cluster_of(&self, fabric: &str) -> Option<&FakeApiServer> {
        let i = self.fabrics.iter().position(|f| f.name == fabric)?;
        self.clusters.get(i)
    }

    /// Objects of `kind` in `fabric`'s cluster.
    pub fn cluster_objects(&self, fabric: &str, kind: Kind) -> Vec<Value> {
        self.cluster_of(fabric)
            .map(|c| c.objects(kind.group(), kind.plural()))
            .unwrap_or_default()
    }
}

/// A fabric's settings in every replica's store.
pub fn fabric_config(f: &FabricPlan) -> FabricConfig {
    sim_fabric(&WorldConfig {
        fabric: f.name.clone(),
        interval_secs: f.interval_secs,
        ..WorldConfig::default()
    })
}

/// What a Hedgehog installation puts in its cluster before anyone syncs: the shipped
/// SwitchProfiles (not fabsync's).
async fn install(kube: &kube::Client) -> Result<(), kube::Error> {
    let ns = "default";
    let ar = Kind::SwitchProfile.api_resource();
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar);
    for name in SHIPPED_PROFILES {
        let obj = serde_json::json!({
            "apiVersion": Kind::SwitchProfile.api_version(),
            "kind": "SwitchProfile",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"displayName": name, "platform": "sim"},
        });
        api.patch(
            name,
            &PatchParams::apply("hedgehog-fabricator").force(),
            &Patch::Apply(&obj),
        )
        .await?;
    }
    Ok(())
}
