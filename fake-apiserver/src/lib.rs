//! `fake-apiserver`: a kube-apiserver for CRD work that kubectl 1.32, kube-rs and the Python
//! client cannot tell from a real one — as an axum `Router`, an in-process tower service for
//! `kube::Client::new` (works on a paused tokio clock, no socket), and a binary (HTTPS, token auth,
//! kubeconfig). Faults on demand, a request log, admission hooks.
//!
//! It knows nothing about any particular CRD's domain (no Hedgehog rules live here).

mod admin;
mod admission;
mod clock;
mod crud;
mod discovery;
mod error;
mod faults;
mod log;
mod meta;
mod openapi;
mod reply;
mod request;
mod schema;
mod selectors;
mod sercache;
mod server;
mod ssa;
mod state;
mod status;
mod store;
mod table;
pub mod tls;
mod types;
mod validation;
mod watch;

pub use admission::{Admission, AdmissionError, AdmissionRequest, ClusterView, Operation};
pub use clock::{Clock, simulated_clock, system_clock};
pub use error::Error;
pub use faults::{
    ActiveFault, Fault, FaultError, Faults, ObjectRef, RejectForm, When, WriterPatch,
};
pub use log::{LogEntry, RequestLog};
pub use tls::TlsMaterial;

use server::RefuseConnection;
use state::{Config, Inner};
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Builds a [`FakeApiServer`].
pub struct Builder {
    token: Option<String>,
    read_only_token: Option<String>,
    admin_token: Option<String>,
    seed: u64,
    clock: Option<Clock>,
    crds: Vec<serde_json::Value>,
    admission: Vec<Arc<dyn Admission>>,
    log_bodies: bool,
    bookmark_interval: Duration,
    crd_names_delay: Duration,
    crd_established_delay: Duration,
    history_limit: usize,
    server_address: String,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field(
                "read_only_token",
                &self.read_only_token.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("seed", &self.seed)
            .field("crds", &self.crds.len())
            .field("admission", &self.admission.len())
            .finish()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            token: None,
            read_only_token: None,
            admin_token: None,
            seed: 0,
            clock: None,
            crds: vec![],
            admission: vec![],
            log_bodies: false,
            bookmark_interval: Duration::from_secs(60),
            crd_names_delay: Duration::ZERO,
            crd_established_delay: Duration::ZERO,
            history_limit: 100_000,
            server_address: "127.0.0.1:6443".into(),
        }
    }
}

impl Builder {
    /// The bearer token every request must carry (unset: no authentication).
    pub fn token(mut self, s: impl Into<String>) -> Self {
        self.token = Some(s.into());
        self
    }
    /// A token that may read but gets 403 on every write.
    pub fn read_only_token(mut self, s: impl Into<String>) -> Self {
        self.read_only_token = Some(s.into());
        self
    }
    /// The token of `/__fake/*` (unset: the admin endpoint answers 404).
    pub fn admin_token(mut self, s: impl Into<String>) -> Self {
        self.admin_token = Some(s.into());
        self
    }
    /// The seed of every random choice (uids, generated names, fault probabilities).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// The wall clock (default: the simulated clock started at `build()`).
    pub fn clock(mut self, c: Clock) -> Self {
        self.clock = Some(c);
        self
    }
    /// A CRD served from the start (Established at once).
    pub fn crd(mut self, crd: serde_json::Value) -> Self {
        self.crds.push(crd);
        self
    }
    /// Every CustomResourceDefinition in the `*.yaml`/`*.yml` files directly in `dir` (sorted by file name).
    pub fn crds_from_dir(mut self, dir: &Path) -> Result<Self, Error> {
        self.crds.extend(load_crds(dir)?);
        Ok(self)
    }
    /// An admission hook (called in the order added).
    pub fn admission(mut self, a: Arc<dyn Admission>) -> Self {
        self.admission.push(a);
        self
    }
    /// Include request/response bodies (secrets redacted) in the request log.
    pub fn log_bodies(mut self, on: bool) -> Self {
        self.log_bodies = on;
        self
    }
    /// How often watches with `allowWatchBookmarks` get a BOOKMARK (default 60 s).
    pub fn bookmark_interval(mut self, d: Duration) -> Self {
        self.bookmark_interval = d;
        self
    }
    /// Delays before a CRD created over the API gets NamesAccepted (servable) and then
    /// Established (default: both zero, so the next request sees it Established).
    pub fn crd_establish_delays(mut self, names_accepted: Duration, established: Duration) -> Self {
        self.crd_names_delay = names_accepted;
        self.crd_established_delay = established;
        self
    }
    /// How many events the watch history keeps before compacting (default 100 000).
    pub fn history_limit(mut self, n: usize) -> Self {
        self.history_limit = n;
        self
    }
    /// The address reported in `/api` `serverAddressByClientCIDRs`.
    pub fn server_address(mut self, a: impl Into<String>) -> Self {
        self.server_address = a.into();
        self
    }
    /// Builds the server. Fails if a CRD given to the builder is invalid.
    pub fn try_build(self) -> Result<FakeApiServer, Error> {
        let clock = self
            .clock
            .unwrap_or_else(|| simulated_clock(tokio::time::Instant::now()));
        let cfg = Config {
            token: self.token,
            read_only_token: self.read_only_token,
            admin_token: self.admin_token,
            seed: self.seed,
            clock,
            log_bodies: self.log_bodies,
            bookmark_interval: self.bookmark_interval,
            crd_names_delay: self.crd_names_delay,
            crd_established_delay: self.crd_established_delay,
            server_address: self.server_address,
        };
        let inner = Inner::new(cfg, self.admission, self.history_limit);
        crud::bootstrap(&inner, self.crds)?;
        Ok(FakeApiServer { inner })
    }
    /// Builds the server; panics if a builder CRD is invalid (use `try_build` to handle that).
    pub fn build(self) -> FakeApiServer {
        match self.try_build() {
            Ok(s) => s,
            Err(e) => panic!("fake-apiserver: {e}"),
        }
    }
}

/// Reads every CRD in the YAML files directly in `dir`.
pub fn load_crds(dir: &Path) -> Result<Vec<serde_json::Value>, Error> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::CrdDir {
        path: dir.display().to_string(),
        source: e,
    })?;
    let mut files: Vec<std::path::PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| Error::CrdDir {
            path: f.display().to_string(),
            source: e,
        })?;
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| Error::CrdParse {
                path: f.display().to_string(),
                index: 0,
                source: Box::new(e),
            })?;
        for d in docs {
            if d.get("kind").and_then(|k| k.as_str()) == Some("CustomResourceDefinition") {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// The fake apiserver. Cheap to clone.
#[derive(Clone)]
pub struct FakeApiServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeApiServer")
            .field("resource_version", &self.resource_version())
            .finish()
    }
}

impl FakeApiServer {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// All HTTP behaviour as an axum router.
    pub fn router(&self) -> axum::Router {
        let inner = self.inner.clone();
        axum::Router::new().fallback(move |req: axum::extract::Request| {
            let inner = inner.clone();
            async move { server::handle(inner, req).await }
        })
    }

    /// The router plus transport faults, for `kube::Client::new(server.client_service(), "default")`.
    pub fn client_service(&self) -> ClientService {
        ClientService {
            router: self.router(),
        }
    }

    /// Programmatic fault control.
    pub fn faults(&self) -> Faults {
        self.inner.faults.clone()
    }

    /// The request log.
    pub fn log(&self) -> RequestLog {
        self.inner.log.clone()
    }

    /// Stored objects of a resource (storage version), sorted by namespace/name.
    pub fn objects(&self, group: &str, resource: &str) -> Vec<serde_json::Value> {
        let st = self.inner.lock();
        st.store
            .list(&state::res_key(group, resource), None, None, None)
            .map(|(_, v)| (**v).clone())
            .collect()
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.inner.lock().store.rv()
    }

    /// Registers a CRD (stored, Established at once).
    pub fn register_crd(&self, crd: serde_json::Value) -> Result<(), Error> {
        let r = {
            let mut st = self.inner.lock();
            crud::install_crd_direct(&self.inner, &mut st, crd)
        };
        self.inner.notify();
        r
    }

    /// Serves HTTP (or HTTPS with `tls`) on a listener until the task is dropped.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        tls: Option<TlsMaterial>,
    ) -> std::io::Result<()> {
        let acceptor = match &tls {
            Some(m) => Some(tokio_rustls::TlsAcceptor::from(
                tls::server_config(m).map_err(std::io::Error::other)?,
            )),
            None => None,
        };
        loop {
            let (stream, _) = listener.accept().await?;
            let inner = self.inner.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let inner = inner.clone();
                        async move {
                            let req = req.map(axum::body::Body::new);
                            let resp = server::handle(inner, req).await;
                            if resp.extensions().get::<RefuseConnection>().is_some() {
                                return Err(std::io::Error::new(
                                    std::io::ErrorKind::ConnectionRefused,
                                    "fault: unreachable",
                                ));
                            }
                            Ok::<_, std::io::Error>(resp)
                        }
                    });
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                match acceptor {
                    Some(a) => {
                        if let Ok(tls_stream) = a.accept(stream).await {
                            let _ = builder
                                .serve_connection(hyper_util::rt::TokioIo::new(tls_stream), svc)
                                .await;
                        }
                    }
                    None => {
                        let _ = builder
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                            .await;
                    }
                }
            });
        }
    }
}

/// The in-process tower service: the router plus transport faults.
#[derive(Clone)]
pub struct ClientService {
    router: axum::Router,
}

impl std::fmt::Debug for ClientService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientService")
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> tower::Service<http::Request<B>> for ClientService
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<axum::body::Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let mut router = self.router.clone();
        Box::pin(async move {
            let req = req.map(axum::body::Body::new);
            let resp = match tower::Service::call(&mut router, req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if resp.extensions().get::<RefuseConnection>().is_some() {
                return Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "connection refused",
                )) as BoxError);
            }
            Ok(resp)
        })
    }
}
