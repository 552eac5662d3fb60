//! The only code that knows Kubernetes API details: connecting (kubeconfig, server + token + CA,
//! or any in-process tower service), server-side apply with field manager `fabsync`, paged
//! (metadata) lists, gets, deletes with preconditions, dry runs, and turning every failure into a
//! [`ClusterError`] that names the cause, the system and the object.
//!
//! Requests pass through a client-side QPS budget, `Retry-After` handling and counters
//! ([`layers`]). This module does not decide what to write; the engine does.

mod connect;
mod error;
pub mod layers;
mod meta;
pub mod object;

pub use connect::skips_tls_verification;
use error::Op;
pub use error::{ClusterError, FieldConflict};
use meta::MetaListB;
pub use meta::ObjectMetaLite;

use std::sync::Arc;
use std::time::Duration;

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use kube::core::ApiResource;
use serde_json::Value;

use layers::Counters;

/// The field manager of every fabsync write.
pub const FIELD_MANAGER: &str = "fabsync";

/// The User-Agent of every fabsync request to a cluster.
pub const USER_AGENT: &str = concat!("fabsync/", env!("CARGO_PKG_VERSION"));

/// Client-side limits for one cluster connection.
#[derive(Debug, Clone)]
pub struct ClusterLimits {
    /// Requests per second.
    pub qps: f64,
    /// Burst.
    pub burst: u32,
    /// Retries of a 429/503 with `Retry-After`.
    pub retry_max: u32,
    /// Longest `Retry-After` honoured.
    pub retry_max_wait: Duration,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl Default for ClusterLimits {
    fn default() -> Self {
        Self {
            qps: 50.0,
            burst: 100,
            retry_max: 5,
            retry_max_wait: Duration::from_secs(60),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection to one cluster.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    counters: Arc<Counters>,
    server: String,
    timeout: Duration,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .finish()
    }
}

impl Cluster {
    /// The server this connection talks to (no secrets).
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Request counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The underlying kube client (for leases and tests).
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, ClusterError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ClusterError::Timeout {
                server: self.server.clone(),
                what: what.to_string(),
                secs: self.timeout.as_secs(),
            }),
        }
    }

    /// Checks that the server answers and accepts the credentials.
    pub async fn probe(&self) -> Result<(), ClusterError> {
        let ar = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Namespace".into(),
            plural: "namespaces".into(),
        };
        let op = Op {
            verb: "probe",
            ar: &ar,
            name: "",
        };
        self.timed("a version request", async {
            self.client
                .apiserver_version()
                .await
                .map(|_| ())
                .map_err(|e| self.classify(e, op))
        })
        .await
    }

    fn api(&self, ar: &ApiResource, ns: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), ns, ar)
    }

    /// Follows `continue` tokens through every page of a list.
    async fn paged<T, F, Fut>(
        &self,
        ar: &ApiResource,
        selector: &str,
        fetch: F,
    ) -> Result<Vec<T>, ClusterError>
    where
        T: Clone,
        F: Fn(ListParams) -> Fut,
        Fut: Future<Output = kube::Result<kube::core::ObjectList<T>>>,
    {
        let op = Op {
            verb: "list",
            ar,
            name: "",
        };
        let mut out = Vec::new();
        let mut lp = ListParams::default().labels(selector).limit(500);
        loop {
            let page = self
                .timed("a list", async {
                    fetch(lp.clone()).await.map_err(|e| self.classify(e, op))
                })
                .await?;
            out.extend(page.items);
            match page.metadata.continue_ {
                Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Name, resourceVersion and the labels and annotations named in `labels`/`annotations` of
    /// every object of a kind matching a label selector (paged, `PartialObjectMetadataList`).
    /// Everything else the server sends (uid, timestamps, managedFields, other labels) is
    /// skipped while parsing, not decoded: this list runs on every periodic change check, over
    /// every object of the fabric.
    pub async fn list_metadata(
        &self,
        ar: &ApiResource,
        ns: &str,
        selector: &str,
        labels: &[&str],
        annotations: &[&str],
    ) -> Result<Vec<ObjectMetaLite>, ClusterError> {
        let api = &self.api(ar, ns);
        let client = &self.client;
        self.paged(ar, selector, |lp| async move {
            let req = kube::core::Request::new(api.resource_url())
                .list_metadata(&lp)
                .map_err(kube::Error::BuildRequest)?;
            let text = client.request_text(req).await?;
            MetaListB::decode(&text, labels, annotations).map_err(kube::Error::SerdeError)
        })
        .await
    }

    /// Every object of a kind matching a label selector (paged).
    pub async fn list(
        &self,
        ar: &ApiResource,
        ns: &str,
        selector: &str,
    ) -> Result<Vec<DynamicObject>, ClusterError> {
        let api = &self.api(ar, ns);
        self.paged(ar, selector, |lp| async move { api.list(&lp).await })
            .await
    }

    /// One object, or `None` when it does not exist.
    pub async fn get(
        &self,
        ar: &ApiResource,
        ns: &str,
        name: &str,
    ) -> Result<Option<DynamicObject>, ClusterError> {
        let api = self.api(ar, ns);
        let op = Op {
            verb: "get",
            ar,
            name,
        };
        self.timed("a get", async {
            api.get_opt(name).await.map_err(|e| self.classify(e, op))
        })
        .await
    }

    /// Server-side apply of `manifest` with field manager `fabsync`.
    pub async fn apply(
        &self,
        ar: &ApiResource,
        ns: &str,
        name: &str,
        manifest: &Value,
        dry_run: bool,
        force: bool,
    ) -> Result<DynamicObject, ClusterError> {
        let api = self.api(ar, ns);
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        pp.force = force;
        pp.dry_run = dry_run;
        let op = Op {
            verb: "apply",
            ar,
            name,
        };
        self.timed("an apply", async {
            api.patch(name, &pp, &Patch::Apply(manifest))
                .await
                .map_err(|e| self.classify(e, op))
        })
        .await
    }

    /// Creates an object (rollback of a delete).
    pub async fn create(
        &self,
        ar: &ApiResource,
        ns: &str,
        obj: &DynamicObject,
    ) -> Result<DynamicObject, ClusterError> {
        let api = self.api(ar, ns);
        let name = obj.metadata.name.clone().unwrap_or_default();
        let op = Op {
            verb: "create",
            ar,
            name: &name,
        };
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        self.timed("a create", async {
            api.create(&pp, obj).await.map_err(|e| self.classify(e, op))
        })
        .await
    }

    /// Replaces an object (rollback of an update); `obj` carries the current resourceVersion.
    pub async fn replace(
        &self,
        ar: &ApiResource,
        ns: &str,
        obj: &DynamicObject,
    ) -> Result<DynamicObject, ClusterError> {
        let api = self.api(ar, ns);
        let name = obj.metadata.name.clone().unwrap_or_default();
        let op = Op {
            verb: "replace",
            ar,
            name: &name,
        };
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        self.timed("a replace", async {
            api.replace(&name, &pp, obj)
                .await
                .map_err(|e| self.classify(e, op))
        })
        .await
    }

    /// Deletes an object; with `resource_version`, only if it is still that version.
    /// Deleting an object that is already gone succeeds.
    pub async fn delete(
        &self,
        ar: &ApiResource,
        ns: &str,
        name: &str,
        dry_run: bool,
        resource_version: Option<&str>,
    ) -> Result<(), ClusterError> {
        let api = self.api(ar, ns);
        let dp = DeleteParams {
            dry_run,
            propagation_policy: Some(PropagationPolicy::Background),
            preconditions: resource_version.map(|rv| Preconditions {
                resource_version: Some(rv.to_string()),
                uid: None,
            }),
            ..Default::default()
        };
        let op = Op {
            verb: "delete",
            ar,
            name,
        };
        // A dry run is said in the query as well as in the DeleteOptions body: both are the
        // API's, and the query is what request logs, audit and fabsync's own counters read.
        let send = async {
            let mut req = kube::core::Request::new(api.resource_url())
                .delete(name, &dp)
                .map_err(kube::Error::BuildRequest)?;
            if dry_run {
                let uri = req.uri().to_string();
                let uri = match uri.split_once('?') {
                    Some((_, "")) => format!("{uri}dryRun=All"),
                    Some(_) => format!("{uri}&dryRun=All"),
                    None => format!("{uri}?dryRun=All"),
                };
                *req.uri_mut() = uri.parse().map_err(|e: http::uri::InvalidUri| {
                    kube::Error::BuildRequest(kube::core::request::Error::Validation(e.to_string()))
                })?;
            }
            self.client.request_text(req).await.map(|_| ())
        };
        self.timed("a delete", async {
            match send.await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(s)) if s.code == 404 && s.reason == "NotFound" => {
                    // Gone already is what we wanted, unless the kind itself is missing.
                    if s.details.as_ref().is_some_and(|d| !d.name.is_empty()) {
                        Ok(())
                    } else {
                        Err(self.classify(kube::Error::Api(s), op))
                    }
                }
                Err(e) => Err(self.classify(e, op)),
            }
        })
        .await
    }
}
