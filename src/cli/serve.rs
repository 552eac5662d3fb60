//! `fabsync serve`: the scheduler and the web server in one process, against the fabrics of a
//! `fabsync.toml` — or, with `--demo`, against an in-process simulated NetBox and cluster holding
//! the VLAB fabric, so a newcomer can use the product with nothing else installed.
//!
//! Glue: it builds the store, engine, scheduler (with leases under `--lease`) and router, binds the
//! listener (loopback only without an access token), and shuts down gracefully on Ctrl-C/SIGTERM.
//! With `--demo` it hands the web layer's demo routes the simulated world ([`SimDemo`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;

use super::ops::{ConfigArgs, open};
use super::{EXIT_ERROR, EXIT_OK};
use crate::clock::{SharedClock, SystemClock};
use crate::config::SecretRef;
use crate::engine::{Connector, Engine, RealConnector};
use crate::scheduler::{LeaseConfig, Leases, Scheduler, SchedulerConfig};
use crate::service::ConnectorLeases;
use crate::sim::{World, WorldConfig};
use crate::store::Store;
use crate::web::{
    AppState, DemoAbout, DemoControlError, DemoControls, DemoFault, DemoHooks, router,
};

/// The web layer's demo controls over the simulated world: fault rules in the fake apiserver and
/// fake NetBox, and the simulated connector's tokens.
#[derive(Debug)]
pub struct SimDemo {
    world: World,
    /// The fault rules this adapter added, by the demo fault they make.
    rules: Mutex<BTreeMap<DemoFault, u64>>,
}

impl SimDemo {
    /// Controls over `world` (the one `serve --demo` syncs).
    pub fn new(world: World) -> Self {
        Self {
            world,
            rules: Mutex::new(BTreeMap::new()),
        }
    }

    fn rules(&self) -> std::sync::MutexGuard<'_, BTreeMap<DemoFault, u64>> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DemoControls for SimDemo {
    fn about(&self) -> DemoAbout {
        DemoAbout {
            fabric: self.world.fabric.name.clone(),
            netbox_url: crate::sim::NETBOX_URL.into(),
            cluster_url: crate::sim::CLUSTER_URL.into(),
            seed: self.world.seed,
        }
    }

    fn cluster_api(&self) -> axum::Router {
        self.world.apiserver.router()
    }

    fn break_fault(&self, fault: DemoFault) -> Result<(), DemoControlError> {
        let w = &self.world;
        match fault {
            DemoFault::ClusterUnreachable => {
                let id = w
                    .apiserver
                    .faults()
                    .add(fake_apiserver::Fault::Unreachable {
                        when: fake_apiserver::When::always(),
                    })?
                    .ok_or("the fault was not listed")?;
                self.rules().insert(fault, id);
            }
            DemoFault::ClusterUnauthorized => {
                w.connector.set_cluster_token("demo-wrong-cluster-token");
            }
            DemoFault::NetboxUnreachable => {
                let id = w.netbox.faults().add(fake_netbox::FaultRule::new(
                    fake_netbox::FaultKind::Unreachable,
                ));
                self.rules().insert(fault, id);
            }
            DemoFault::NetboxUnauthorized => {
                w.connector.set_netbox_token(
                    "nbt_demowrong00001.0000000000000000000000000000000000000000",
                );
            }
        }
        Ok(())
    }

    fn repair_fault(&self, fault: DemoFault) {
        let w = &self.world;
        match fault {
            DemoFault::ClusterUnreachable => {
                if let Some(id) = self.rules().remove(&fault) {
                    w.apiserver.faults().remove(id);
                }
            }
            DemoFault::NetboxUnreachable => {
                if let Some(id) = self.rules().remove(&fault) {
                    w.netbox.faults().remove(id);
                }
            }
            DemoFault::ClusterUnauthorized => {
                w.connector.set_cluster_token(crate::sim::CLUSTER_TOKEN);
            }
            DemoFault::NetboxUnauthorized => {
                w.connector.set_netbox_token(crate::sim::NETBOX_TOKEN);
            }
        }
    }

    fn fault_rules(&self) -> (usize, usize) {
        (
            self.world.apiserver.faults().list().len(),
            self.world.netbox.faults().list().len(),
        )
    }
}

/// `fabsync serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Address to listen on (default: the config's server.listen, else 127.0.0.1:8080)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Run against an in-process simulated NetBox (VLAB fixture) and cluster; no config needed
    #[arg(long)]
    pub demo: bool,
    /// Seed of the demo world
    #[arg(long, default_value_t = 42, requires = "demo")]
    pub seed: u64,
    /// Hold a coordination.k8s.io Lease per fabric in its cluster, so replicas never sync one fabric at once
    #[arg(long)]
    pub lease: bool,
    /// This replica's identity in leases and run records (default: host name and process id)
    #[arg(long, env = "FABSYNC_REPLICA")]
    pub replica: Option<String>,
    /// File holding the token that protects the UI (login) and the API (Bearer)
    #[arg(long, value_name = "FILE")]
    pub auth_token_file: Option<PathBuf>,
}

fn fail(msg: impl std::fmt::Display) -> u8 {
    eprintln!("error: {msg}");
    EXIT_ERROR
}

/// Shortest UI/API access token `serve` accepts.
pub const MIN_UI_TOKEN_CHARS: usize = 32;

fn replica_name(arg: Option<String>) -> String {
    arg.unwrap_or_else(|| crate::identity::this_process("serve"))
}

/// `fabsync serve`.
pub fn serve(args: ServeArgs) -> u8 {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime can be built");
    runtime.block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> u8 {
    let replica = replica_name(args.replica.clone());
    let mut auth_token_file = args
        .auth_token_file
        .clone()
        .map(|p| (p, "--auth-token-file"));
    // Where, what and how.
    let (store, clock, connector, max_runs, listen_default, demo): (
        Store,
        SharedClock,
        Arc<dyn Connector>,
        usize,
        String,
        Option<World>,
    ) = if args.demo {
        let world = World::new(WorldConfig {
            real_time: true,
            seed: args.seed,
            ..WorldConfig::default()
        });
        if let Err(e) = world.install_hedgehog().await {
            return fail(format!("demo world: {e}"));
        }
        (
            world.store.clone(),
            world.clock.clone(),
            world.connector.clone(),
            4,
            "127.0.0.1:8080".into(),
            Some(world),
        )
    } else {
        let (config, store) = match open(&args.config.config) {
            Ok(x) => x,
            Err(code) => return code,
        };
        if let Err(e) = config.check_secrets() {
            return fail(e);
        }
        // The flag wins over the file's [server] auth_token_file.
        if auth_token_file.is_none() {
            auth_token_file = config
                .server
                .auth_token_file
                .clone()
                .map(|p| (p, "server.auth_token_file"));
        }
        for f in &config.fabrics {
            if crate::cluster::skips_tls_verification(&f.cluster, &f.name).await {
                eprintln!(
                    "warning: fabric {:?}: its kubeconfig turns TLS verification off (insecure-skip-tls-verify): anyone on the path to {} can read and change what fabsync sends",
                    f.name,
                    f.cluster.describe()
                );
            }
        }
        (
            store,
            Arc::new(SystemClock),
            Arc::new(RealConnector),
            config.server.max_concurrent_runs,
            config.server.listen.clone(),
            None,
        )
    };
    let auth_token = match &auth_token_file {
        Some((path, field)) => match SecretRef::file(path).resolve("", field) {
            Ok(s) if s.expose().chars().count() < MIN_UI_TOKEN_CHARS => {
                return fail(format!(
                    "{field} {}: the UI/API token has {} characters; use at least {MIN_UI_TOKEN_CHARS} (for example: head -c 32 /dev/urandom | base64 > {})",
                    path.display(),
                    s.expose().chars().count(),
                    path.display()
                ));
            }
            Ok(s) => Some(s),
            Err(e) => return fail(e),
        },
        None => None,
    };
    let listen = args.listen.clone().unwrap_or(listen_default);
    let addr: SocketAddr = match tokio::net::lookup_host(&listen).await {
        Ok(mut a) => match a.next() {
            Some(a) => a,
            None => return fail(format!("--listen {listen:?} resolves to no address")),
        },
        Err(e) => return fail(format!("--listen {listen:?}: {e}")),
    };
    if auth_token.is_none() && !addr.ip().is_loopback() {
        return fail(format!(
            "without --auth-token-file fabsync serve only listens on loopback (127.0.0.1 or ::1), not {addr}: give --auth-token-file FILE to protect the UI and API"
        ));
    }

    let mut engine = Engine::new(store.clone(), clock.clone(), connector.clone());
    if let Some(world) = &demo {
        engine = world.engine.clone();
    }
    let leases = args.lease.then(|| {
        Leases::new(
            &replica,
            clock.clone(),
            LeaseConfig::default(),
            Arc::new(ConnectorLeases {
                connector: connector.clone(),
                store: store.clone(),
            }),
        )
    });
    let scheduler = match Scheduler::start(
        store.clone(),
        clock.clone(),
        Arc::new(engine.clone()),
        SchedulerConfig {
            max_concurrent_runs: max_runs,
            replica: replica.clone(),
            seed: args.seed,
            lease: args.lease.then(LeaseConfig::default),
            ..SchedulerConfig::default()
        },
        leases,
    ) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let secret_key: [u8; 32] = if args.demo {
        // The demo is reproducible from its seed; it holds nothing worth protecting.
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&args.seed.to_le_bytes());
        k
    } else {
        rand::random()
    };
    let state = AppState {
        store,
        scheduler: scheduler.clone(),
        engine,
        clock,
        auth_token: auth_token.clone(),
        secret_key,
        demo: demo.map(|world| DemoHooks::new(SimDemo::new(world))),
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("cannot listen on {addr}: {e}")),
    };
    let bound = listener.local_addr().unwrap_or(addr);
    println!("listening on http://{bound}");
    if args.demo {
        println!(
            "demo: the fabric \"vlab\" lives in an in-process simulated NetBox and Kubernetes cluster (seed {}); nothing outside this process is touched",
            args.seed
        );
    }
    if auth_token.is_none() {
        println!(
            "no --auth-token-file: the UI and API are open to anyone who can reach {bound}, so fabsync listens on loopback only"
        );
    }
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler installs");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    let app = router(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    println!("stopping: waiting up to 30 s for running syncs");
    scheduler.shutdown(Duration::from_secs(30)).await;
    match served {
        Ok(()) => EXIT_OK,
        Err(e) => fail(format!("server: {e}")),
    }
}
