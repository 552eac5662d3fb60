//! Connecting to a cluster: from the fabric's settings (kubeconfig and context, or server, token
//! and CA), or over any in-process tower service, with fabsync's layers (QPS budget,
//! `Retry-After`, counters, User-Agent) in front of kube-rs.
//!
//! It sends no requests of its own but the connection's.

use std::sync::Arc;
use std::time::Duration;

use kube::client::ClientBuilder;
use serde_json::Value;

use super::layers::{
    CountLayer, Counters, RateLimitLayer, RetryAfterLayer, TokenBucket, WriteGateLayer,
};
use super::{Cluster, ClusterError, ClusterLimits, USER_AGENT};
use crate::config::{ClusterTarget, Secret};

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
            .with_layer(&WriteGateLayer)
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
    /// the default kubeconfig. A plain-HTTP server is refused unless the settings allow it (the
    /// bearer token would cross the network in cleartext); a kubeconfig that turns TLS
    /// verification off is used, with a warning.
    pub async fn connect(
        target: &ClusterTarget,
        fabric: &str,
        namespace: &str,
        limits: &ClusterLimits,
    ) -> Result<Self, ClusterError> {
        let mut config = kube_config(target, fabric).await?;
        if config.cluster_url.scheme_str() == Some("http") && !target.allow_insecure_http {
            return Err(ClusterError::Config(format!(
                "fabric {fabric:?}: the cluster {} is plain HTTP: the bearer token would cross the network in cleartext. Use https://, or set cluster.allow_insecure_http = true for a lab",
                config.cluster_url
            )));
        }
        if config.accept_invalid_certs {
            tracing::warn!(fabric, server = %config.cluster_url, "the kubeconfig turns TLS verification off (insecure-skip-tls-verify): anyone on the path can read and change what fabsync sends");
        }
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
            .with_layer(&WriteGateLayer)
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
}

/// The kube-rs configuration a fabric's cluster settings give, without connecting.
async fn kube_config(target: &ClusterTarget, fabric: &str) -> Result<kube::Config, ClusterError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let config = if let Some(server) = &target.server {
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
    Ok(config)
}

/// Whether the fabric's cluster settings turn TLS verification off (a kubeconfig with
/// `insecure-skip-tls-verify: true`), for warnings at start and on the fabric's page.
pub async fn skips_tls_verification(target: &ClusterTarget, fabric: &str) -> bool {
    kube_config(target, fabric)
        .await
        .is_ok_and(|c| c.accept_invalid_certs)
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
