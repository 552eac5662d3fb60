//! The only code that knows Kubernetes API details: connecting (kubeconfig, server + token + CA,
//! or any in-process tower service), server-side apply with field manager `fabsync`, paged
//! (metadata) lists, gets, deletes with preconditions, dry runs, and turning every failure into a
//! [`ClusterError`] that names the cause, the system and the object.
//!
//! Requests pass through a client-side QPS budget, `Retry-After` handling and counters
//! ([`layers`]). This module does not decide what to write; the engine does.

pub mod layers;
pub mod object;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, Preconditions,
    PropagationPolicy,
};
use kube::client::ClientBuilder;
use kube::core::ApiResource;
use serde_json::Value;

use crate::config::{ClusterTarget, Secret};
use layers::{CountLayer, Counters, RateLimitLayer, RetryAfterLayer, TokenBucket};

/// The field manager of every fabsync write.
pub const FIELD_MANAGER: &str = "fabsync";

/// The User-Agent of every fabsync request to a cluster.
pub const USER_AGENT: &str = concat!("fabsync/", env!("CARGO_PKG_VERSION"));

fn user_agent_layer() -> tower::util::MapRequestLayer<
    fn(http::Request<kube::client::Body>) -> http::Request<kube::client::Body>,
> {
    fn set(mut req: http::Request<kube::client::Body>) -> http::Request<kube::client::Body> {
        req.headers_mut().insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_static(USER_AGENT),
        );
        req
    }
    tower::util::MapRequestLayer::new(set as fn(_) -> _)
}

/// The identity and bookkeeping of one object, from a metadata list: the labels and annotations
/// the caller asked for, nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMetaLite {
    pub name: String,
    pub resource_version: String,
    /// The requested labels the object has, in the object's order.
    pub labels: Vec<(String, String)>,
    /// The requested annotations the object has, in the object's order.
    pub annotations: Vec<(String, String)>,
}

impl ObjectMetaLite {
    /// The value of label `key` (when it was requested and is set).
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of annotation `key` (when it was requested and is set).
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One metadata-list item as it arrives, borrowing from the response text.
#[derive(serde::Deserialize)]
struct MetaItemB<'a> {
    #[serde(borrow, default)]
    metadata: MetaB<'a>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct MetaB<'a> {
    #[serde(borrow, default)]
    name: Cow<'a, str>,
    #[serde(borrow, default)]
    resource_version: Cow<'a, str>,
    #[serde(borrow, default)]
    labels: Pairs<'a>,
    #[serde(borrow, default)]
    annotations: Pairs<'a>,
}

/// A JSON object of strings (or `null`) read as its pairs in order, borrowing, without a map.
#[derive(Default)]
struct Pairs<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_unit<E>(self) -> Result<Pairs<'a>, E> {
                Ok(Pairs::default())
            }
            fn visit_none<E>(self) -> Result<Pairs<'a>, E> {
                Ok(Pairs::default())
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Pairs<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Borrowed<'a>, Borrowed<'a>>()? {
                    out.push((k.0, v.0));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A string that borrows from the input when it has no escapes.
#[derive(serde::Deserialize)]
struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);

impl Pairs<'_> {
    fn pick(&self, keys: &[&str]) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| keys.contains(&k.as_ref()))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

#[derive(serde::Deserialize)]
struct MetaListB<'a> {
    #[serde(default)]
    metadata: kube::core::ListMeta,
    #[serde(borrow, default)]
    items: Option<Vec<MetaItemB<'a>>>,
}

/// One field owned by another manager that fabsync wanted to set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldConflict {
    /// The other field manager.
    pub manager: String,
    /// The field path (`.spec.description`).
    pub field: String,
}

/// What went wrong talking to the cluster.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// No connection (refused, DNS, reset) or a 5xx-free transport failure.
    #[error(
        "Kubernetes API server {server} is unreachable: {detail}. Check the cluster address and that the API server is running."
    )]
    Unreachable {
        /// The server (URL or description).
        server: String,
        /// The transport error.
        detail: String,
    },
    /// TLS handshake or certificate verification failed.
    #[error(
        "TLS with Kubernetes API server {server} failed: {detail}. Check the CA certificate in the cluster settings."
    )]
    Tls {
        /// The server.
        server: String,
        /// The TLS error.
        detail: String,
    },
    /// 401, or an RBAC 403.
    #[error(
        "Kubernetes API server {server} refused the credentials (HTTP {code}): {message}. Check the cluster token or kubeconfig user and its RBAC permissions."
    )]
    Unauthorized {
        /// The server.
        server: String,
        /// 401 or 403.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// The resource type is not served (CRD not installed).
    #[error("the cluster does not serve {plural}.{group}: is the Hedgehog CRD installed?")]
    MissingKind {
        /// API group.
        group: String,
        /// Plural.
        plural: String,
    },
    /// 422: the object failed validation.
    #[error("the cluster rejected {kind} {name:?} as invalid: {message}")]
    Invalid {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The server's message (names the field).
        message: String,
    },
    /// An admission webhook denied the write.
    #[error("the cluster's admission denied {verb} of {kind} {name:?}: {message}")]
    Denied {
        /// apply, delete, …
        verb: String,
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The webhook's message.
        message: String,
    },
    /// Server-side apply conflict: fields owned by other managers.
    #[error("{kind} {name:?}: {} owned by another field manager: {}", if conflicts.len() == 1 { "a field is" } else { "fields are" }, conflicts.iter().map(|c| format!("{} (manager {:?})", c.field, c.manager)).collect::<Vec<_>>().join(", "))]
    Conflict {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The conflicting fields.
        conflicts: Vec<FieldConflict>,
    },
    /// 409 on a precondition or stale resourceVersion: someone wrote in between.
    #[error("{kind} {name:?} changed in the cluster while fabsync was writing it: {message}")]
    Stale {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The server's message.
        message: String,
    },
    /// 404 on one object.
    #[error("{kind} {name:?} does not exist in the cluster")]
    NotFound {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// 409 AlreadyExists.
    #[error("{kind} {name:?} already exists in the cluster")]
    AlreadyExists {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// 429 that retries did not clear.
    #[error(
        "Kubernetes API server {server} kept throttling requests (HTTP 429) after the retries fabsync allows: {message}"
    )]
    Throttled {
        /// The server.
        server: String,
        /// The server's message.
        message: String,
    },
    /// 5xx.
    #[error("Kubernetes API server {server} failed with HTTP {code}: {message}")]
    Server {
        /// The server.
        server: String,
        /// Status code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// A request took longer than allowed.
    #[error("Kubernetes API server {server} did not answer {what} within {secs} s")]
    Timeout {
        /// The server.
        server: String,
        /// What was being done.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// Configuration for the cluster could not be loaded.
    #[error("cluster configuration: {0}")]
    Config(String),
    /// Anything else, with the server's words.
    #[error("Kubernetes API server {server}: {message}")]
    Other {
        /// The server.
        server: String,
        /// What happened.
        message: String,
    },
}

impl ClusterError {
    /// A short class name for records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "cluster_unreachable",
            Self::Tls { .. } => "cluster_tls",
            Self::Unauthorized { .. } => "cluster_unauthorized",
            Self::MissingKind { .. } => "crd_missing",
            Self::Invalid { .. } => "invalid_object",
            Self::Denied { .. } => "admission_denied",
            Self::Conflict { .. } => "conflict",
            Self::Stale { .. } => "stale",
            Self::NotFound { .. } => "not_found",
            Self::AlreadyExists { .. } => "already_exists",
            Self::Throttled { .. } => "cluster_throttled",
            Self::Server { .. } => "cluster_server_error",
            Self::Timeout { .. } => "cluster_timeout",
            Self::Config(_) => "cluster_config",
            Self::Other { .. } => "cluster_error",
        }
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Throttled { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Stale { .. }
        )
    }
}

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

/// What a request was doing, for error messages.
#[derive(Debug, Clone, Copy)]
struct Op<'a> {
    verb: &'a str,
    ar: &'a ApiResource,
    name: &'a str,
}

impl Cluster {
    /// Over any tower service (the in-process fake apiserver, or a custom stack).
    pub fn from_service<S, B>(
        service: S,
        namespace: &str,
        server: &str,
        limits: &ClusterLimits,
    ) -> Self
    where
        S: tower::Service<http::Request<kube::client::Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<tower::BoxError> + Send,
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<tower::BoxError>,
    {
        let counters = Arc::new(Counters::default());
        let client = ClientBuilder::new(service, namespace)
            .with_layer(&user_agent_layer())
            .with_layer(&CountLayer(counters.clone()))
            .with_layer(&RateLimitLayer(Arc::new(TokenBucket::new(
                limits.qps,
                limits.burst,
            ))))
            .with_layer(&RetryAfterLayer {
                max_retries: limits.retry_max,
                max_wait: limits.retry_max_wait,
                counters: counters.clone(),
            })
            .build();
        Self {
            client,
            counters,
            server: server.to_string(),
            timeout: limits.request_timeout,
        }
    }

    /// Connects as configured: a kubeconfig (and context), a server URL with a token and CA, or
    /// the default kubeconfig.
    pub async fn connect(
        target: &ClusterTarget,
        fabric: &str,
        namespace: &str,
        limits: &ClusterLimits,
    ) -> Result<Self, ClusterError> {
        use kube::config::{KubeConfigOptions, Kubeconfig};
        let options = KubeConfigOptions {
            context: target.context.clone(),
            ..Default::default()
        };
        let mut config = if let Some(server) = &target.server {
            let token: Option<Secret> = if target.token().is_set() {
                Some(
                    target
                        .token()
                        .resolve(fabric, "cluster.token_file")
                        .map_err(|e| ClusterError::Config(e.to_string()))?,
                )
            } else {
                None
            };
            let ca = match &target.ca_file {
                Some(p) => Some(std::fs::read(p).map_err(|e| {
                    ClusterError::Config(format!("cannot read CA file {}: {e}", p.display()))
                })?),
                None => None,
            };
            let kubeconfig = inline_kubeconfig(server, ca.as_deref(), token.as_ref())?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?
        } else if let Some(path) = &target.kubeconfig {
            let kc = Kubeconfig::read_from(path).map_err(|e| {
                ClusterError::Config(format!("cannot read kubeconfig {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| ClusterError::Config(format!("kubeconfig {}: {e}", path.display())))?
        } else {
            kube::Config::infer()
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?
        };
        config.default_namespace = namespace.to_string();
        // kube-rs' own retry of 429/5xx would sit below fabsync's QPS budget, Retry-After layer
        // and request counters: retried requests would escape the budget and the counts.
        config.default_retry = false;
        config.read_timeout = Some(limits.request_timeout);
        config.connect_timeout = Some(Duration::from_secs(10));
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let counters = Arc::new(Counters::default());
        let client = ClientBuilder::try_from(config)
            .map_err(|e| ClusterError::Config(e.to_string()))?
            .with_layer(&user_agent_layer())
            .with_layer(&CountLayer(counters.clone()))
            // The default stack is not `Clone`; the buffer makes it so for the layers above.
            .with_layer(&tower::buffer::BufferLayer::new(1024))
            .with_layer(&RateLimitLayer(Arc::new(TokenBucket::new(
                limits.qps,
                limits.burst,
            ))))
            .with_layer(&RetryAfterLayer {
                max_retries: limits.retry_max,
                max_wait: limits.retry_max_wait,
                counters: counters.clone(),
            })
            .build();
        Ok(Self {
            client,
            counters,
            server,
            timeout: limits.request_timeout,
        })
    }

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
            let list: MetaListB<'_> =
                serde_json::from_str(&text).map_err(kube::Error::SerdeError)?;
            Ok(kube::core::ObjectList {
                types: Default::default(),
                metadata: list.metadata,
                items: list
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| ObjectMetaLite {
                        name: i.metadata.name.into_owned(),
                        resource_version: i.metadata.resource_version.into_owned(),
                        labels: i.metadata.labels.pick(labels),
                        annotations: i.metadata.annotations.pick(annotations),
                    })
                    .collect(),
            })
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

    fn classify(&self, err: kube::Error, op: Op<'_>) -> ClusterError {
        let server = self.server.clone();
        let kind = op.ar.kind.clone();
        let name = op.name.to_string();
        match err {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                match (status.code, status.reason.as_str()) {
                    (401, _) => ClusterError::Unauthorized {
                        server,
                        code: 401,
                        message,
                    },
                    (403, _) if message.contains("admission webhook") => ClusterError::Denied {
                        verb: op.verb.into(),
                        kind,
                        name,
                        message,
                    },
                    (403, _) => ClusterError::Unauthorized {
                        server,
                        code: 403,
                        message,
                    },
                    (404, _)
                        if status.details.as_ref().is_none_or(|d| d.name.is_empty())
                            && op.name.is_empty()
                            || message == "the server could not find the requested resource" =>
                    {
                        ClusterError::MissingKind {
                            group: op.ar.group.clone(),
                            plural: op.ar.plural.clone(),
                        }
                    }
                    (404, _) => ClusterError::NotFound { kind, name },
                    (409, "AlreadyExists") => ClusterError::AlreadyExists { kind, name },
                    (409, _) if message.starts_with("Apply failed with") => {
                        let conflicts = status
                            .details
                            .as_ref()
                            .map(|d| {
                                d.causes
                                    .iter()
                                    .filter(|c| c.reason == "FieldManagerConflict")
                                    .map(|c| FieldConflict {
                                        manager: manager_of(&c.message),
                                        field: c.field.clone(),
                                    })
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default();
                        ClusterError::Conflict {
                            kind,
                            name,
                            conflicts,
                        }
                    }
                    (409, _) => ClusterError::Stale {
                        kind,
                        name,
                        message,
                    },
                    (400, _) if message.contains("admission webhook") => ClusterError::Denied {
                        verb: op.verb.into(),
                        kind,
                        name,
                        message,
                    },
                    (422, _) => ClusterError::Invalid {
                        kind,
                        name,
                        message,
                    },
                    (429, _) => ClusterError::Throttled { server, message },
                    (code, _) if code >= 500 => ClusterError::Server {
                        server,
                        code,
                        message: if message.is_empty() {
                            status.reason.clone()
                        } else {
                            message
                        },
                    },
                    (code, reason) => ClusterError::Other {
                        server,
                        message: format!("HTTP {code} {reason}: {message}"),
                    },
                }
            }
            other => transport_error(server, &other),
        }
    }
}

/// `conflict with "kubectl" using v1` → `kubectl`.
fn manager_of(message: &str) -> String {
    message
        .split('"')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| message.to_string())
}

/// Classifies a failure below HTTP (connection, TLS) or an undecodable response.
fn transport_error(server: String, err: &kube::Error) -> ClusterError {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut refused = false;
    let mut tls = false;
    while let Some(e) = cur {
        let text = e.to_string();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
            ) {
                refused = true;
            }
        }
        if e.downcast_ref::<rustls::Error>().is_some()
            || text.contains("certificate")
            || text.contains("InvalidCertificate")
            || text.contains("tls handshake")
        {
            tls = true;
        }
        if text.contains("dns error") || text.contains("tcp connect error") {
            refused = true;
        }
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        cur = e.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    if tls {
        ClusterError::Tls { server, detail }
    } else if refused {
        ClusterError::Unreachable { server, detail }
    } else {
        match err {
            kube::Error::SerdeError(e) => ClusterError::Other {
                server,
                message: format!("the response could not be decoded: {e}"),
            },
            _ => ClusterError::Unreachable { server, detail },
        }
    }
}

/// A kubeconfig holding one cluster (server, CA) and one user (token), so kube-rs builds the TLS
/// and auth exactly as for a kubeconfig file.
fn inline_kubeconfig(
    server: &str,
    ca_pem: Option<&[u8]>,
    token: Option<&Secret>,
) -> Result<kube::config::Kubeconfig, ClusterError> {
    use base64::Engine as _;
    let mut cluster = serde_json::json!({ "server": server });
    if let Some(ca) = ca_pem {
        cluster["certificate-authority-data"] =
            Value::String(base64::engine::general_purpose::STANDARD.encode(ca));
    }
    let mut user = serde_json::json!({});
    if let Some(t) = token {
        user["token"] = Value::String(t.expose().to_string());
    }
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "target", "cluster": cluster}],
        "users": [{"name": "fabsync", "user": user}],
        "contexts": [{"name": "fabsync", "context": {"cluster": "target", "user": "fabsync"}}],
        "current-context": "fabsync",
    });
    serde_json::from_value(doc).map_err(|e| ClusterError::Config(format!("cluster settings: {e}")))
}
