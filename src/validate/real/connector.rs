//! How the `real` and `local` targets reach the systems: fabsync's own connector exactly as the
//! fabric's settings say (kube-rs from the kubeconfig and context, NetBox over HTTPS) with the
//! recording layer underneath, the person's clients (kubectl-like and NetBox-browser-like, with
//! the person's User-Agent, also recorded), and the one probe of how `Cluster::connect` retries.
//!
//! It builds clients; it creates, changes and removes nothing in the systems.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use kube::client::ClientBuilder;
use tower::Layer;

use crate::cluster::{Cluster, ClusterError};
use crate::config::{ClusterTarget, FabricConfig};
use crate::engine::connector::{cluster_limits, real_netbox_parts};
use crate::engine::{Connector, NetboxConn};
use crate::netbox::{NetboxClient, NetboxError, Token, https_service, into_http_service};
use crate::scheduler::BoxFuture;
use crate::validate::error::{Context, ValidateError};
use crate::validate::record::Recorder;
use crate::validate::scratch::Scratch;

/// User-Agent of the validator's own requests (a person with kubectl and a NetBox browser tab).
pub const PERSON_USER_AGENT: &str =
    concat!("fabsync-validate/", env!("CARGO_PKG_VERSION"), " (person)");

/// fabsync's connector on a real target: exactly what the fabric's settings say (kubeconfig and
/// context through kube-rs, the cluster layers of [`Cluster::from_service`]; NetBox URL and token
/// file over the same HTTPS transport as `RealConnector`), with the recording layer underneath.
///
/// kube-rs's default stack retries 429/503/504 itself (server-aware, honouring `Retry-After`)
/// below everything a caller can add. Whether `Cluster::connect` keeps that retry is found out
/// once ([`kube_retries_beneath_fabsync`]); when it does, this connector builds kube-rs's stack
/// without it and puts the same policy (`RetryPolicy::server_retry()`) right above the
/// recording layer — still beneath fabsync's own layers, as in `Cluster::connect` — so what
/// fabsync sends and when is unchanged, and the log shows each 429 and its retry.
#[derive(Clone)]
pub struct RecordingConnector {
    recorder: Recorder,
    kube_retry: bool,
}

impl std::fmt::Debug for RecordingConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordingConnector")
    }
}

impl RecordingConnector {
    /// A connector whose clients record into `recorder`; `kube_retry`: whether kube-rs's own
    /// retry sits beneath fabsync's layers (as `Cluster::connect` builds it).
    pub fn new(recorder: Recorder, kube_retry: bool) -> Self {
        Self {
            recorder,
            kube_retry,
        }
    }
}

/// Finds out whether `Cluster::connect` (what `fabsync serve` and `fabsync sync` use) leaves
/// kube-rs's own retry of 429/503/504 in place beneath fabsync's layers: a loopback server
/// answers the first request 429 (`Retry-After: 0`) and the next one normally; if the server saw
/// more requests than fabsync's request counter, the retry happened beneath fabsync.
pub async fn kube_retries_beneath_fabsync(scratch: &Scratch) -> Result<bool, ValidateError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("probe server")?;
    let addr = listener.local_addr()?;
    let seen = Arc::new(AtomicU64::new(0));
    let counter = seen.clone();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |_req: http::Request<hyper::body::Incoming>| {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        async move {
                            if n == 0 {
                                http::Response::builder()
                                    .status(429)
                                    .header("Retry-After", "0")
                                    .header("Content-Type", "text/plain")
                                    .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                        b"Too many requests, please try again later.",
                                    )))
                            } else {
                                http::Response::builder()
                                .status(200)
                                .header("Content-Type", "application/json")
                                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                                    br#"{"major":"1","minor":"33","gitVersion":"v1.33.0","gitCommit":"","gitTreeState":"clean","buildDate":"2025-01-01T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#,
                                )))
                            }
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let kubeconfig = scratch.write(
        "kubeconfig-retry-probe",
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: probe\n  cluster:\n    server: http://{addr}\nusers:\n- name: probe\n  user: {{}}\ncontexts:\n- name: probe\n  context:\n    cluster: probe\n    user: probe\ncurrent-context: probe\n"
        )
        .as_bytes(),
    )?;
    // The probe's loopback server is plain HTTP and carries no credentials.
    let target = ClusterTarget {
        kubeconfig: Some(kubeconfig),
        allow_insecure_http: true,
        ..Default::default()
    };
    let result = async {
        let cluster = Cluster::connect(
            &target,
            "retry-probe",
            "default",
            &crate::cluster::ClusterLimits::default(),
        )
        .await?;
        cluster
            .probe()
            .await
            .context("probing how Cluster::connect retries")?;
        Ok::<bool, ValidateError>(seen.load(Ordering::SeqCst) > cluster.counters().requests())
    }
    .await;
    server.abort();
    result
}

impl Connector for RecordingConnector {
    fn netbox(&self, fabric: &FabricConfig) -> Result<NetboxConn, NetboxError> {
        let (token, svc) = real_netbox_parts(fabric)?;
        let svc = into_http_service(self.recorder.layer("netbox").layer(svc));
        NetboxConn::over(svc, &fabric.netbox.url, token)
    }

    fn cluster(&self, fabric: &FabricConfig) -> BoxFuture<Result<Cluster, ClusterError>> {
        let fabric = fabric.clone();
        let recorder = self.recorder.clone();
        let kube_retry = self.kube_retry;
        Box::pin(async move {
            let limits = cluster_limits(&fabric);
            let config = kube_config(&fabric.cluster, &fabric.namespace, limits.request_timeout)
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?;
            let server = config
                .cluster_url
                .to_string()
                .trim_end_matches('/')
                .to_string();
            let mut config = config;
            config.default_retry = false;
            let recorded = ClientBuilder::try_from(config)
                .map_err(|e| ClusterError::Config(e.to_string()))?
                .with_layer(&recorder.layer("apiserver"));
            let inner = if kube_retry {
                recorded
                    .with_layer(&tower::buffer::BufferLayer::new(1024))
                    .with_layer(&tower::retry::RetryLayer::new(
                        kube::client::retry::RetryPolicy::server_retry(),
                    ))
                    .build()
            } else {
                recorded.build()
            };
            let svc = tower::service_fn(move |req: http::Request<kube::client::Body>| {
                let c = inner.clone();
                async move { c.send(req).await }
            });
            Ok(Cluster::from_service(
                svc,
                &fabric.namespace,
                &server,
                &limits,
            ))
        })
    }
}

/// A kube-rs config from a kubeconfig-form cluster target, as `Cluster::connect` builds it.
pub async fn kube_config(
    target: &ClusterTarget,
    namespace: &str,
    timeout: Duration,
) -> Result<kube::Config, ValidateError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let path = target.kubeconfig.as_ref().ok_or_else(|| {
        ValidateError::Setup("the validation's cluster settings must name a kubeconfig".into())
    })?;
    let kc = Kubeconfig::read_from(path)
        .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kc, &options)
        .await
        .with_context(|| format!("kubeconfig {}", path.display()))?;
    config.default_namespace = namespace.to_string();
    config.read_timeout = Some(timeout);
    config.connect_timeout = Some(Duration::from_secs(10));
    Ok(config)
}

fn person_user_agent<B>(mut req: http::Request<B>) -> http::Request<B> {
    req.headers_mut().insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(PERSON_USER_AGENT),
    );
    req
}

/// The cluster as a person with kubectl sees it (recorded, with the person's User-Agent).
pub fn person_kube(
    config: kube::Config,
    recorder: &Recorder,
) -> Result<kube::Client, ValidateError> {
    Ok(ClientBuilder::try_from(config)?
        .with_layer(&recorder.layer("apiserver"))
        .with_layer(&tower::util::MapRequestLayer::new(
            person_user_agent::<kube::client::Body>,
        ))
        .build())
}

/// NetBox as a person editing it sees it (recorded, with the person's User-Agent).
pub fn person_netbox(
    url: &str,
    token: &str,
    recorder: &Recorder,
) -> Result<NetboxClient, ValidateError> {
    let svc = https_service(None).map_err(ValidateError::http)?;
    let svc = tower::util::MapRequestLayer::new(person_user_agent::<crate::netbox::BoxBody>)
        .layer(recorder.layer("netbox").layer(svc));
    Ok(NetboxClient::new(
        into_http_service(svc),
        url,
        Token::new(token),
    )?)
}
