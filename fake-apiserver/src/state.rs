//! The shared server state: settings fixed at build time, everything behind the store lock (the
//! store, served types with their lifecycle flags, CRD condition timers, terminating namespaces),
//! and the clock, uid and wake-up helpers every request handler uses.
//!
//! It holds state and answers small questions about it; it does not handle requests, and the CRD
//! and namespace lifecycles that change it live in `crud/`. `faults` reaches back into the server
//! through `faults::Server`, implemented in `crud/internal.rs`.

use crate::admission::Admission;
use crate::clock::Clock;
use crate::faults::{FaultState, Faults};
use crate::log::RequestLog;
use crate::sercache::SerCache;
use crate::store::{ResKey, Store};
use crate::types::{self, ResourceType};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Settings fixed at build time.
pub(crate) struct Config {
    pub token: Option<String>,
    pub read_only_token: Option<String>,
    pub admin_token: Option<String>,
    pub seed: u64,
    pub clock: Clock,
    pub log_bodies: bool,
    pub bookmark_interval: Duration,
    pub crd_names_delay: Duration,
    pub crd_established_delay: Duration,
    pub server_address: String,
}

/// A served type and its lifecycle flags.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub rt: Arc<ResourceType>,
    pub established: bool,
    pub terminating: bool,
    pub crd_name: Option<String>,
}

/// A CRD whose conditions the fake "controller" still has to set.
#[derive(Debug, Clone)]
pub(crate) struct CrdTimer {
    pub created: Instant,
    pub stage: u8,
}

/// Everything behind the store lock.
pub(crate) struct State {
    pub store: Store,
    pub types: BTreeMap<ResKey, Served>,
    pub rng: ChaCha8Rng,
    pub crd_timers: BTreeMap<String, CrdTimer>,
    pub terminating_ns: BTreeSet<String>,
    pub types_generation: u64,
    /// Serialised objects for lists.
    pub ser_cache: RefCell<SerCache>,
}

/// The shared server.
pub(crate) struct Inner {
    pub cfg: Config,
    pub state: Mutex<State>,
    pub rv_tx: tokio::sync::watch::Sender<u64>,
    pub drop_tx: tokio::sync::watch::Sender<u64>,
    pub log: RequestLog,
    pub faults: Faults,
    pub admission: Vec<Arc<dyn Admission>>,
    pub audit_counter: AtomicU64,
}

pub(crate) const NS_RES: (&str, &str) = ("", "namespaces");
pub(crate) const CRD_RES: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");

pub(crate) fn res_key(group: &str, plural: &str) -> ResKey {
    (group.to_string(), plural.to_string())
}

impl Inner {
    /// A server that serves the built-in types and stores nothing yet (`crud::bootstrap` adds
    /// the `default` namespace and the builder's CRDs).
    pub(crate) fn new(
        cfg: Config,
        admission: Vec<Arc<dyn Admission>>,
        history_limit: usize,
    ) -> Arc<Inner> {
        let seed = cfg.seed;
        let mut types_map = BTreeMap::new();
        for rt in types::builtins() {
            types_map.insert(
                res_key(&rt.group, &rt.plural),
                Served {
                    rt: Arc::new(rt),
                    established: true,
                    terminating: false,
                    crd_name: None,
                },
            );
        }
        let state = State {
            store: Store::new(100, history_limit),
            types: types_map,
            rng: ChaCha8Rng::seed_from_u64(seed),
            crd_timers: BTreeMap::new(),
            terminating_ns: BTreeSet::new(),
            types_generation: 0,
            ser_cache: Default::default(),
        };
        let (rv_tx, _) = tokio::sync::watch::channel(0u64);
        let (drop_tx, _) = tokio::sync::watch::channel(0u64);
        Arc::new_cyclic(|weak: &std::sync::Weak<Inner>| Inner {
            cfg,
            state: Mutex::new(state),
            rv_tx,
            drop_tx,
            log: RequestLog::default(),
            faults: Faults {
                state: Arc::new(Mutex::new(FaultState::new(seed))),
                server: weak.clone(),
            },
            admission,
            audit_counter: AtomicU64::new(0),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes watchers after a write.
    pub(crate) fn notify(&self) {
        let rv = self.lock().store.rv();
        self.rv_tx.send_replace(rv);
    }

    pub(crate) fn now(&self) -> jiff::Timestamp {
        (self.cfg.clock)()
    }

    /// RFC 3339 with second precision.
    pub(crate) fn now_string(&self) -> String {
        let t = self.now();
        jiff::Timestamp::from_second(t.as_second())
            .unwrap_or(t)
            .to_string()
    }

    pub(crate) fn new_uid(&self, st: &mut State) -> String {
        use rand::Rng;
        let mut b = [0u8; 16];
        st.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// The `Audit-Id` of the next response.
    pub(crate) fn audit_id(&self) -> String {
        let n = self.audit_counter.fetch_add(1, Ordering::Relaxed);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.cfg.seed.to_be_bytes());
        b[8..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// Forced compaction: every revision up to now.
    pub(crate) fn compact_now(&self) {
        let mut st = self.lock();
        let rv = st.store.rv();
        st.store.compact(rv);
    }

    /// Closes every open watch.
    pub(crate) fn drop_watches(&self) {
        self.drop_tx.send_modify(|g| *g += 1);
    }
}
