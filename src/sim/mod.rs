//! The simulated world: a fake kube-apiserver (with the Hedgehog CRDs from our own types and the
//! Hedgehog admission rules), a fake NetBox holding a fixture fabric, a store, a clock and the
//! engine, wired in one process with no socket, all driven by one seed.
//!
//! Tests, `fabsync validate --target sim` and `fabsync serve --demo` build their world here. The
//! world also offers what a person would do by hand: edit NetBox through its API, look at the
//! cluster through kube-rs, break things with faults. It holds no sync logic.

use std::sync::{Arc, Mutex};

use fake_apiserver::FakeApiServer;
use fake_netbox::{FakeNetBox, Fixture};
use http::HeaderValue;
use tower::ServiceBuilder;

use crate::clock::{SharedClock, SimClock, as_fn};
use crate::cluster::{Cluster, ClusterError};
use crate::config::{ClusterTarget, ConflictPolicy, FabricConfig, Limits, NetboxTarget};
use crate::engine::connector::cluster_limits;
use crate::engine::{Connector, Engine, NetboxConn};
use crate::hedgehog::Kind;
use crate::netbox::{NetboxClient, NetboxError, Token, into_http_service};
use crate::scheduler::BoxFuture;
use crate::store::Store;

/// The token the simulated cluster accepts.
pub const CLUSTER_TOKEN: &str = "sim-cluster-token";
/// The token the simulated NetBox accepts (v2 format).
pub const NETBOX_TOKEN: &str = "nbt_simfabsync01.0123456789abcdef0123456789abcdef01234567";
/// The admin token of the simulated cluster's fault endpoint.
pub const ADMIN_TOKEN: &str = "sim-admin-token";
/// The admin token of the simulated NetBox's fault endpoint (NetBox's v1 token format).
pub const NETBOX_ADMIN_TOKEN: &str = "simadmin0123456789abcdef0123456789abcdef";
/// The User-Agent of a person looking at the simulated cluster (tests, the validator).
pub const PERSON_USER_AGENT: &str = "kubectl/v1.32.4 (simulated person)";
/// Host name of the in-process NetBox.
pub const NETBOX_URL: &str = "http://netbox.sim";
/// Host name of the in-process cluster.
pub const CLUSTER_URL: &str = "https://apiserver.sim";

/// The SwitchProfiles a Hedgehog installation ships and fixtures use.
pub const SHIPPED_PROFILES: &[&str] = &[
    "vs",
    "celestica-ds3000",
    "celestica-ds5000",
    "celestica-ds4000",
    "dell-s5248f-on",
    "edgecore-dcs203",
    "edgecore-dcs204",
    "supermicro-sse-c4632sb",
];

/// Which fabric the world holds.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// Use the real wall clock (for `serve --demo`) instead of the simulated one.
    pub real_time: bool,
    /// The one seed.
    pub seed: u64,
    /// NetBox content.
    pub fixture: Fixture,
    /// Fabric name (also the NetBox site slug of the fixture).
    pub fabric: String,
    /// Periodic interval.
    pub interval_secs: u64,
    /// Conflict policy.
    pub conflict_policy: ConflictPolicy,
    /// Client-side limits.
    pub limits: Limits,
    /// Record request and response bodies in the fakes' logs.
    pub log_bodies: bool,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            real_time: false,
            seed: 42,
            fixture: Fixture::Vlab,
            fabric: "vlab".into(),
            interval_secs: 60,
            conflict_policy: ConflictPolicy::Fail,
            limits: Limits::default(),
            log_bodies: false,
        }
    }
}

/// Routes a world's fabrics to its in-process fakes, with credentials a test can break.
#[derive(Clone)]
pub struct SimConnector {
    apiserver: FakeApiServer,
    netbox: FakeNetBox,
    cluster_token: Arc<Mutex<String>>,
    netbox_token: Arc<Mutex<String>>,
}

impl std::fmt::Debug for SimConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimConnector")
    }
}

impl SimConnector {
    /// Makes fabsync present `token` to the cluster (a wrong one gives 401).
    pub fn set_cluster_token(&self, token: &str) {
        *self.cluster_token.lock().unwrap() = token.to_string();
    }

    /// Makes fabsync present `token` to NetBox.
    pub fn set_netbox_token(&self, token: &str) {
        *self.netbox_token.lock().unwrap() = token.to_string();
    }

    /// A kube client for the world's cluster presenting `token`.
    pub fn kube_client(&self, token: &str) -> kube::Client {
        person_client(&self.apiserver, token)
    }
}

/// A kube client for `apiserver` as a person with kubectl reaches it, presenting `token`.
pub fn person_client(apiserver: &FakeApiServer, token: &str) -> kube::Client {
    let auth = HeaderValue::from_str(&format!("Bearer {token}")).expect("tokens are header-safe");
    let svc = ServiceBuilder::new()
        .map_request(move |mut req: http::Request<kube::client::Body>| {
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, auth.clone());
            req.headers_mut().insert(
                http::header::USER_AGENT,
                HeaderValue::from_static(PERSON_USER_AGENT),
            );
            req
        })
        .service(apiserver.client_service());
    kube::Client::new(svc, "default")
}

impl Connector for SimConnector {
    fn netbox(&self, _fabric: &FabricConfig) -> Result<NetboxConn, NetboxError> {
        let token = self.netbox_token.lock().unwrap().clone();
        NetboxConn::over(
            into_http_service(self.netbox.client_service()),
            NETBOX_URL,
            Token::new(token),
        )
    }

    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>> {
        let token = self.cluster_token.lock().unwrap().clone();
        let auth = HeaderValue::from_str(&format!("Bearer {token}"));
        let svc = self.apiserver.client_service();
        let ns = fabric.namespace.clone();
        let limits = cluster_limits(fabric);
        Box::pin(async move {
            let auth = auth.map_err(|e| ClusterError::Config(format!("cluster token: {e}")))?;
            let svc = ServiceBuilder::new()
                .map_request(move |mut req: http::Request<kube::client::Body>| {
                    req.headers_mut()
                        .insert(http::header::AUTHORIZATION, auth.clone());
                    req
                })
                .service(svc);
            Ok(Cluster::from_service(svc, &ns, CLUSTER_URL, &limits))
        })
    }
}

/// One simulated world.
#[derive(Clone)]
pub struct World {
    /// The seed everything derives from.
    pub seed: u64,
    /// Wall clock (epoch + tokio time).
    pub clock: SharedClock,
    /// The cluster.
    pub apiserver: FakeApiServer,
    /// NetBox.
    pub netbox: FakeNetBox,
    /// fabsync's store (in memory).
    pub store: Store,
    /// The engine.
    pub engine: Engine,
    /// How fabsync reaches the fakes.
    pub connector: Arc<SimConnector>,
    /// The fabric's settings.
    pub fabric: FabricConfig,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("seed", &self.seed)
            .field("fabric", &self.fabric.name)
            .finish()
    }
}

/// The fabric settings a simulated world uses.
pub fn sim_fabric(cfg: &WorldConfig) -> FabricConfig {
    FabricConfig {
        name: cfg.fabric.clone(),
        site: None,
        tag: None,
        netbox: NetboxTarget {
            url: NETBOX_URL.into(),
            token_file: None,
            token_env: Some("FABSYNC_SIM_NETBOX_TOKEN".into()),
        },
        cluster: ClusterTarget {
            server: Some(CLUSTER_URL.into()),
            token_env: Some("FABSYNC_SIM_CLUSTER_TOKEN".into()),
            ..Default::default()
        },
        namespace: "default".into(),
        interval_secs: cfg.interval_secs,
        enabled: true,
        conflict_policy: cfg.conflict_policy,
        limits: cfg.limits,
        prune: crate::config::PruneMode::Auto,
        max_deletes: 10,
        max_delete_percent: 25,
    }
}

/// A simulated cluster: a fake apiserver with our CRDs and Hedgehog's admission rules, on the
/// world's clock.
pub fn sim_cluster(seed: u64, clock: &SharedClock, log_bodies: bool) -> FakeApiServer {
    let mut api = FakeApiServer::builder()
        .token(CLUSTER_TOKEN)
        .admin_token(ADMIN_TOKEN)
        .seed(seed)
        .clock(as_fn(clock))
        .log_bodies(log_bodies)
        .admission(Arc::new(crate::hedgehog::admission::HedgehogAdmission));
    for kind in Kind::ALL {
        api = api.crd(serde_json::to_value(kind.crd()).expect("CRDs serialize"));
    }
    api.build()
}

impl World {
    /// Builds a world. Must run inside a tokio runtime (the clock is tokio's).
    pub fn new(cfg: WorldConfig) -> World {
        let clock: SharedClock = if cfg.real_time {
            Arc::new(crate::clock::SystemClock)
        } else {
            Arc::new(SimClock::at_default_epoch())
        };
        let apiserver = sim_cluster(cfg.seed, &clock, cfg.log_bodies);
        let netbox = FakeNetBox::builder()
            .token(NETBOX_TOKEN)
            .admin_token(NETBOX_ADMIN_TOKEN)
            .seed(cfg.seed)
            .clock(as_fn(&clock))
            .fixture(cfg.fixture.clone())
            .log_bodies(cfg.log_bodies)
            .build()
            .expect("the simulated NetBox's tokens and fixture are valid");
        let connector = Arc::new(SimConnector {
            apiserver: apiserver.clone(),
            netbox: netbox.clone(),
            cluster_token: Arc::new(Mutex::new(CLUSTER_TOKEN.into())),
            netbox_token: Arc::new(Mutex::new(NETBOX_TOKEN.into())),
        });
        let store = Store::in_memory();
        let fabric = sim_fabric(&cfg);
        store
            .import_fabric(&fabric, "sim")
            .expect("a fresh in-memory store accepts the fabric");
        let engine = Engine::new(store.clone(), clock.clone(), connector.clone());
        let world = World {
            seed: cfg.seed,
            clock,
            apiserver,
            netbox,
            store,
            engine,
            connector,
            fabric,
        };
        world.netbox_setup();
        world
    }

    /// Creates fabsync's custom fields in the world's NetBox the way a person does before the
    /// first sync, with `fabsync netbox-setup` (the fixture is a plain NetBox without them).
    /// `World::new` is synchronous and the in-process NetBox answers at once, so one poll
    /// (outside tokio's task budget) runs the whole setup.
    fn netbox_setup(&self) {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let client = self.netbox_client();
        let setup = std::pin::pin!(tokio::task::unconstrained(
            client.ensure_fabsync_custom_fields()
        ));
        match setup.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) => panic!("netbox-setup on the simulated NetBox failed: {e}"),
            Poll::Pending => panic!("the simulated NetBox did not answer netbox-setup at once"),
        }
    }

    /// Creates what a Hedgehog installation ships before anyone syncs: the SwitchProfiles.
    /// They are not fabsync's (no fabric label) and a sync must never touch them.
    pub async fn install_hedgehog(&self) -> Result<(), kube::Error> {
        use kube::api::{Api, DynamicObject, Patch, PatchParams};
        let client = self.connector.kube_client(CLUSTER_TOKEN);
        let ar = Kind::SwitchProfile.api_resource();
        let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
        for name in SHIPPED_PROFILES {
            let obj = serde_json::json!({
                "apiVersion": Kind::SwitchProfile.api_version(),
                "kind": "SwitchProfile",
                "metadata": {"name": name, "namespace": "default"},
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

    /// A kube client that looks at the cluster the way a person with kubectl would.
    pub fn kube(&self) -> kube::Client {
        self.connector.kube_client(CLUSTER_TOKEN)
    }

    /// A NetBox client as a person editing NetBox would use.
    pub fn netbox_client(&self) -> NetboxClient {
        NetboxClient::new(
            into_http_service(self.netbox.client_service()),
            NETBOX_URL,
            Token::new(NETBOX_TOKEN),
        )
        .expect("the simulated NetBox URL and token are valid")
    }
}
