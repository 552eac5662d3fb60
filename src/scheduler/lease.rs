//! Per-fabric leadership through a `coordination.k8s.io/v1` Lease in the fabric's own cluster,
//! so two fabsync replicas never sync the same fabric at the same time.
//!
//! A replica that holds a fabric's Lease (`fabsync-<fabric>`) renews it every `renew_every` and
//! runs that fabric's syncs; the other replicas stand by and take over once the holder stops
//! renewing for `duration`. Acquisition and renewal are conditional writes (resourceVersion), so
//! two replicas cannot both win. Runs get a [`Fence`] that turns false before the Lease could pass
//! to another replica. This module does not decide when runs happen.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::BoxFuture;
use crate::clock::SharedClock;

/// Lease timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
    /// How often the holder renews (and standbys try to acquire).
    pub renew_every: Duration,
    /// How long before expiry the holder stops writing.
    pub safety_margin: Duration,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
            safety_margin: Duration::from_secs(3),
        }
    }
}

/// Whether this replica may still write for a fabric. Cheap to clone and check.
#[derive(Debug, Clone)]
pub struct Fence {
    valid_until: Option<Arc<Mutex<Option<Instant>>>>,
}

impl Fence {
    /// A fence that never closes (single replica).
    pub fn always() -> Self {
        Self { valid_until: None }
    }

    /// A fence that closes at `deadline` (a lease held until then and not renewed).
    pub fn until(deadline: Instant) -> Self {
        Self {
            valid_until: Some(Arc::new(Mutex::new(Some(deadline)))),
        }
    }

    /// Whether writes are still allowed.
    pub fn is_valid(&self) -> bool {
        match &self.valid_until {
            None => true,
            Some(v) => v.lock().unwrap().is_some_and(|t| Instant::now() < t),
        }
    }
}

/// How a replica reaches the cluster of a fabric to keep its Lease.
pub trait LeaseClients: Send + Sync + 'static {
    /// A client for the fabric's cluster and the namespace its Lease lives in.
    fn client(&self, fabric: &str) -> BoxFuture<Result<(kube::Client, String), String>>;
}

struct FabricLease {
    fence: Arc<Mutex<Option<Instant>>>,
    task: Option<JoinHandle<()>>,
}

struct Inner {
    replica: String,
    clock: SharedClock,
    cfg: LeaseConfig,
    clients: Arc<dyn LeaseClients>,
    fabrics: Mutex<BTreeMap<String, FabricLease>>,
    /// Set once the replica stopped (crash or shutdown): nothing renews or acquires again,
    /// whatever task of the old replica is still unwinding.
    stopped: std::sync::atomic::AtomicBool,
}

/// The Leases of one replica.
#[derive(Clone)]
pub struct Leases {
    inner: Arc<Inner>,
}

/// The Lease name of a fabric.
pub fn lease_name(fabric: &str) -> String {
    format!("fabsync-{fabric}")
}

enum Attempt {
    Held,
    HeldBy(String),
    /// A conditional write lost to a concurrent one (possibly this replica's own renewal):
    /// read the Lease again.
    Raced,
}

impl Leases {
    /// Leases for replica `replica`.
    pub fn new(
        replica: &str,
        clock: SharedClock,
        cfg: LeaseConfig,
        clients: Arc<dyn LeaseClients>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                replica: replica.to_string(),
                clock,
                cfg,
                clients,
                fabrics: Mutex::new(BTreeMap::new()),
                stopped: Default::default(),
            }),
        }
    }

    fn entry(&self, fabric: &str) -> Arc<Mutex<Option<Instant>>> {
        let mut fabrics = self.inner.fabrics.lock().unwrap();
        let e = fabrics
            .entry(fabric.to_string())
            .or_insert_with(|| FabricLease {
                fence: Arc::new(Mutex::new(None)),
                task: None,
            });
        if e.task.is_none() && !self.inner.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            let this = self.clone();
            let name = fabric.to_string();
            e.task = Some(tokio::spawn(async move { this.keep(name).await }));
        }
        e.fence.clone()
    }

    /// Background loop: acquire or renew every `renew_every`.
    async fn keep(self, fabric: String) {
        let mut tick = tokio::time::interval(self.inner.cfg.renew_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let _ = self.attempt(&fabric).await;
        }
    }

    /// One acquire-or-renew attempt; updates the fence.
    async fn attempt(&self, fabric: &str) -> Result<(), String> {
        if self.inner.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("this replica stopped".into());
        }
        let fence = {
            let fabrics = self.inner.fabrics.lock().unwrap();
            fabrics.get(fabric).map(|e| e.fence.clone())
        };
        let Some(fence) = fence else {
            return Err("no lease entry".into());
        };
        let started = Instant::now();
        let mut result = self.try_acquire(fabric).await;
        if let Ok(Attempt::Raced) = result {
            // Who won? When it was this replica (the renewal loop and a run's acquisition at
            // once), it holds the Lease.
            result = self.try_acquire(fabric).await;
        }
        match result {
            Ok(Attempt::Held) => {
                let until = started + self.inner.cfg.duration - self.inner.cfg.safety_margin;
                *fence.lock().unwrap() = Some(until);
                Ok(())
            }
            Ok(Attempt::HeldBy(holder)) => {
                *fence.lock().unwrap() = None;
                Err(holder)
            }
            Ok(Attempt::Raced) => {
                *fence.lock().unwrap() = None;
                Err("another replica (it wrote the Lease at the same moment)".into())
            }
            Err(e) => {
                // Could not reach the cluster: keep the fence until it expires on its own.
                tracing::debug!(fabric, error = %e, "lease renewal failed");
                Err(format!("unknown (lease not reachable: {e})"))
            }
        }
    }

    async fn try_acquire(&self, fabric: &str) -> Result<Attempt, String> {
        let (client, ns) = self.inner.clients.client(fabric).await?;
        let api: Api<Lease> = Api::namespaced(client, &ns);
        let name = lease_name(fabric);
        let now = self.inner.clock.now();
        let me = self.inner.replica.clone();
        let duration_s = self.inner.cfg.duration.as_secs() as i32;
        let current = api.get_opt(&name).await.map_err(|e| e.to_string())?;
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(
                        [(
                            "app.kubernetes.io/managed-by".to_string(),
                            "fabsync".to_string(),
                        )]
                        .into(),
                    ),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me),
                    lease_duration_seconds: Some(duration_s),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Held),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Raced),
                Err(e) => Err(e.to_string()),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(t)), Some(d)) => {
                now.duration_since(*t) >= jiff::SignedDuration::from_secs(i64::from(d))
            }
            _ => true,
        };
        if holder != me && !holder.is_empty() && !expired {
            return Ok(Attempt::HeldBy(holder));
        }
        let mut new_spec = spec.clone();
        if holder != me {
            new_spec.acquire_time = Some(MicroTime(now));
            new_spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        new_spec.holder_identity = Some(me);
        new_spec.renew_time = Some(MicroTime(now));
        new_spec.lease_duration_seconds = Some(duration_s);
        lease.spec = Some(new_spec);
        if self.inner.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("this replica stopped".into());
        }
        // Conditional on the resourceVersion we read: a concurrent taker makes this a 409.
        match api.replace(&name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(Attempt::Held),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Raced),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether this replica leads the fabric (tries to acquire when it does not).
    pub async fn try_lead(&self, fabric: &str) -> bool {
        let fence = self.entry(fabric);
        if fence.lock().unwrap().is_some_and(|t| Instant::now() < t) {
            return true;
        }
        self.attempt(fabric).await.is_ok()
    }

    /// A fence for a run, or the holder that prevents it.
    pub async fn acquire_for_run(&self, fabric: &str) -> Result<Fence, String> {
        let fence = self.entry(fabric);
        let valid = fence.lock().unwrap().is_some_and(|t| Instant::now() < t);
        if !valid {
            self.attempt(fabric).await?;
        }
        Ok(Fence {
            valid_until: Some(fence),
        })
    }

    /// Called when a run ends (leadership is kept between runs).
    pub async fn run_finished(&self, _fabric: &str, _fence: &Fence) {}

    /// Stops renewing and hands every held Lease back (holder cleared) so another replica can
    /// take over at once.
    pub async fn release_all(&self) {
        self.inner
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let held: Vec<String> = {
            let mut fabrics = self.inner.fabrics.lock().unwrap();
            fabrics
                .iter_mut()
                .filter_map(|(name, e)| {
                    if let Some(t) = e.task.take() {
                        t.abort();
                    }
                    e.fence.lock().unwrap().take().map(|_| name.clone())
                })
                .collect()
        };
        for fabric in held {
            if let Err(e) = self.release(&fabric).await {
                tracing::warn!(fabric = %fabric, error = %e, "could not release the lease");
            }
        }
    }

    async fn release(&self, fabric: &str) -> Result<(), String> {
        let (client, ns) = self.inner.clients.client(fabric).await?;
        let api: Api<Lease> = Api::namespaced(client, &ns);
        let name = lease_name(fabric);
        let Some(mut lease) = api.get_opt(&name).await.map_err(|e| e.to_string())? else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.inner.replica.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        lease.spec = Some(spec);
        api.replace(&name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Stops the background loops without releasing (a replica that dies).
    pub fn abandon(&self) {
        self.inner
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let mut fabrics = self.inner.fabrics.lock().unwrap();
        for e in fabrics.values_mut() {
            if let Some(t) = e.task.take() {
                t.abort();
            }
            *e.fence.lock().unwrap() = None;
        }
    }
}
