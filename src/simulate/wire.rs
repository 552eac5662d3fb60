//! How one replica reaches the simulated systems: its [`Connector`] (the tokens it presents,
//! which a fault can make wrong) and, between fabsync and the cluster, a wire that sees every
//! request as the apiserver receives it. The wire reports each Hedgehog write to the observer
//! before it is sent (who holds the fabric's Lease, whether the object carries fabsync's label)
//! and after it took effect; it can cut the replica off the Leases (a partition).
//!
//! It decides nothing about what the checks conclude: `observer.rs` does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use std::collections::BTreeMap;

use fake_apiserver::FakeApiServer;
use fake_netbox::FakeNetBox;
use http::HeaderValue;
use http_body_util::BodyExt;

use super::observer::{Observer, WriteSeen};
use crate::cluster::{Cluster, ClusterError};
use crate::config::FabricConfig;
use crate::engine::connector::cluster_limits;
use crate::engine::{Connector, NetboxConn};
use crate::netbox::{NetboxError, Token, into_http_service};
use crate::scheduler::BoxFuture;
use crate::sim::{CLUSTER_TOKEN, CLUSTER_URL, NETBOX_TOKEN, NETBOX_URL};

/// A cluster token the simulated cluster refuses (a credentials fault). Never printed.
pub const WRONG_CLUSTER_TOKEN: &str = "sim-revoked-cluster-token-5e1f";
/// A NetBox token the simulated NetBox refuses (a credentials fault). Never printed.
pub const WRONG_NETBOX_TOKEN: &str = "nbt_simrevoked01.fedcba9876543210fedcba9876543210fedcba98";

/// Which credentials fabsync presents (shared by every replica).
#[derive(Debug, Default)]
pub struct Credentials {
    /// fabsync presents a revoked cluster token.
    pub cluster_revoked: AtomicBool,
    /// fabsync presents a revoked NetBox token.
    pub netbox_revoked: AtomicBool,
}

/// One replica's way to the world's systems.
#[derive(Clone)]
pub struct ReplicaConnector {
    /// Each fabric's cluster, by fabric name.
    pub clusters: BTreeMap<String, FakeApiServer>,
    /// NetBox.
    pub netbox: FakeNetBox,
    /// Shared credentials state.
    pub credentials: Arc<Credentials>,
    /// Checks every write.
    pub observer: Arc<Observer>,
    /// Replica index.
    pub replica: usize,
    /// This incarnation's identity (its Lease holder name).
    pub identity: Arc<str>,
    /// Cut off from the Leases.
    pub lease_cut: Arc<AtomicBool>,
}

impl std::fmt::Debug for ReplicaConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplicaConnector({})", self.identity)
    }
}

impl Connector for ReplicaConnector {
    fn netbox(&self, _fabric: &FabricConfig) -> Result<NetboxConn, NetboxError> {
        let token = if self.credentials.netbox_revoked.load(Ordering::SeqCst) {
            WRONG_NETBOX_TOKEN
        } else {
            NETBOX_TOKEN
        };
        NetboxConn::over(
            into_http_service(self.netbox.client_service()),
            NETBOX_URL,
            Token::new(token),
        )
    }

    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>> {
        let token = if self.credentials.cluster_revoked.load(Ordering::SeqCst) {
            WRONG_CLUSTER_TOKEN
        } else {
            CLUSTER_TOKEN
        };
        let Some(apiserver) = self.clusters.get(&fabric.name) else {
            let e =
                ClusterError::Config(format!("no simulated cluster for fabric {}", fabric.name));
            return Box::pin(async move { Err(e) });
        };
        let wire = Wire {
            inner: apiserver.client_service(),
            fabric: fabric.name.as_str().into(),
            auth: HeaderValue::from_str(&format!("Bearer {token}")).expect("header-safe token"),
            observer: self.observer.clone(),
            replica: self.replica,
            identity: self.identity.clone(),
            lease_cut: self.lease_cut.clone(),
        };
        let ns = fabric.namespace.clone();
        let limits = cluster_limits(fabric);
        Box::pin(async move { Ok(Cluster::from_service(wire, &ns, CLUSTER_URL, &limits)) })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The replica's side of the cluster connection.
#[derive(Clone)]
struct Wire {
    inner: fake_apiserver::ClientService,
    fabric: Arc<str>,
    auth: HeaderValue,
    observer: Arc<Observer>,
    replica: usize,
    identity: Arc<str>,
    lease_cut: Arc<AtomicBool>,
}

/// A write request to a Hedgehog kind, as the wire reads it.
#[derive(Debug, Clone)]
pub struct HedgehogWrite {
    /// The fabric whose cluster it went to.
    pub fabric: String,
    /// HTTP method.
    pub method: String,
    /// API group.
    pub group: String,
    /// Plural resource.
    pub resource: String,
    /// Namespace.
    pub namespace: String,
    /// Object name (from the path, or the body of a create).
    pub name: String,
}

/// `/apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>]` of a Hedgehog group, not a dry run.
fn hedgehog_write(req: &http::Request<kube::client::Body>) -> Option<HedgehogWrite> {
    let method = req.method();
    if method == http::Method::GET || method == http::Method::HEAD {
        return None;
    }
    if req.uri().query().is_some_and(|q| q.contains("dryRun=")) {
        return None;
    }
    let parts: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    match parts.as_slice() {
        [
            "apis",
            group,
            _version,
            "namespaces",
            ns,
            resource,
            rest @ ..,
        ] if group.ends_with(".githedgehog.com") && rest.len() <= 1 => Some(HedgehogWrite {
            fabric: String::new(),
            method: method.as_str().to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            namespace: ns.to_string(),
            name: rest.first().map(|s| s.to_string()).unwrap_or_default(),
        }),
        _ => None,
    }
}

impl tower::Service<http::Request<kube::client::Body>> for Wire {
    type Response = http::Response<axum::body::Body>;
    type Error = BoxError;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: http::Request<kube::client::Body>) -> Self::Future {
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, self.auth.clone());
        let mut this = self.clone();
        Box::pin(async move {
            if req.uri().path().contains("/coordination.k8s.io/")
                && this.lease_cut.load(Ordering::SeqCst)
            {
                return Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "network partition between this replica and the Leases",
                )) as BoxError);
            }
            let Some(mut write) = hedgehog_write(&req) else {
                return tower::Service::call(&mut this.inner, req).await;
            };
            write.fabric = this.fabric.to_string();
            let (parts, body) = req.into_parts();
            let bytes = body.collect().await?.to_bytes();
            let manifest: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
            if write.name.is_empty()
                && let Some(n) = manifest
                    .as_ref()
                    .and_then(|m| m.pointer("/metadata/name"))
                    .and_then(|v| v.as_str())
            {
                write.name = n.to_string();
            }
            this.observer
                .before_write(&this.identity, &write, manifest.as_ref());
            if this.observer.write_fails() {
                // The injected failure: answered like the apiserver's internal errors, unsent.
                let status = serde_json::json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "Internal error occurred: injected by the simulation",
                    "reason": "InternalError", "code": 500,
                });
                return Ok(http::Response::builder()
                    .status(500)
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from(status.to_string()))
                    .expect("a valid response"));
            }
            let req = http::Request::from_parts(parts, kube::client::Body::from(bytes.to_vec()));
            let resp = tower::Service::call(&mut this.inner, req).await?;
            if resp.status().is_success() {
                this.observer
                    .after_write(WriteSeen {
                        replica: this.replica,
                        identity: this.identity.to_string(),
                        write,
                    })
                    .await;
            }
            Ok(resp)
        })
    }
}
