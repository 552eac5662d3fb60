//! How a run reaches a fabric's NetBox and cluster. The real connector follows the fabric's
//! settings (URL + token file/variable, kubeconfig or server + token + CA); the simulated world
//! provides its own connector that routes to in-process fakes.
//!
//! Each call builds fresh clients, so request counters are per run. It does not sync anything.

use std::sync::Arc;

use tower::Layer;

use crate::cluster::layers::{CountLayer, Counters};
use crate::cluster::{Cluster, ClusterError, ClusterLimits};
use crate::config::FabricConfig;
use crate::netbox::{
    HttpService, NetboxClient, NetboxError, Token, https_service, into_http_service,
};
use crate::scheduler::BoxFuture;

/// A NetBox client and its request counters.
#[derive(Clone, Debug)]
pub struct NetboxConn {
    /// The client.
    pub client: NetboxClient,
    /// Requests it sent.
    pub counters: Arc<Counters>,
}

impl NetboxConn {
    /// Wraps a transport with a counter and builds the client.
    pub fn over(svc: HttpService, url: &str, token: Token) -> Result<Self, NetboxError> {
        let counters = Arc::new(Counters::default());
        let counted = into_http_service(CountLayer(counters.clone()).layer(svc));
        Ok(Self {
            client: NetboxClient::new(counted, url, token)?,
            counters,
        })
    }
}

/// Builds the clients of one fabric.
pub trait Connector: Send + Sync + 'static {
    /// NetBox client for the fabric.
    fn netbox(&self, fabric: &FabricConfig) -> Result<NetboxConn, NetboxError>;
    /// Cluster connection for the fabric.
    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>>;
}

/// Cluster limits from a fabric's settings.
pub fn cluster_limits(fabric: &FabricConfig) -> ClusterLimits {
    ClusterLimits {
        qps: fabric.limits.qps,
        burst: fabric.limits.burst,
        ..ClusterLimits::default()
    }
}

/// The fabric's NetBox token (from the file or variable its settings name) and an HTTPS
/// transport with the system's roots: what a connection to a real NetBox is made of.
pub fn real_netbox_parts(fabric: &FabricConfig) -> Result<(Token, HttpService), NetboxError> {
    let token = fabric
        .netbox
        .token()
        .resolve(&fabric.name, "netbox.token_file")
        .map_err(|e| NetboxError::Config {
            what: "NetBox token".into(),
            reason: e.to_string(),
        })?;
    let svc = https_service(None).map_err(|e| NetboxError::Config {
        what: "NetBox transport".into(),
        reason: e.to_string(),
    })?;
    Ok((Token::new(token.expose()), svc))
}

/// Connects to real systems as the fabric's settings say.
#[derive(Debug, Default, Clone)]
pub struct RealConnector;

impl Connector for RealConnector {
    fn netbox(&self, fabric: &FabricConfig) -> Result<NetboxConn, NetboxError> {
        let (token, svc) = real_netbox_parts(fabric)?;
        NetboxConn::over(svc, &fabric.netbox.url, token)
    }

    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>> {
        let fabric = fabric.clone();
        Box::pin(async move {
            Cluster::connect(
                &fabric.cluster,
                &fabric.name,
                &fabric.namespace,
                &cluster_limits(&fabric),
            )
            .await
        })
    }
}
