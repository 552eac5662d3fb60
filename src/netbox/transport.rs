//! The HTTP transport under the NetBox client: any tower service from `Request<BoxBody>` to
//! `Response<BoxBody>`, so the same client runs in-process over a fake's router (no socket) or
//! over hyper-util + rustls to a real NetBox.
//!
//! Knows nothing about NetBox: no URLs, no JSON, no auth.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

/// Error type of the transport (connection refused arrives as a boxed `io::Error`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Request and response body type.
pub type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;
/// The transport the NetBox client runs over.
pub type HttpService = BoxCloneSyncService<Request<BoxBody>, Response<BoxBody>, BoxError>;

/// A body holding `bytes`.
pub fn full_body(bytes: impl Into<Bytes>) -> BoxBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Adapts any tower HTTP service (an axum `Router`, a fake's `client_service()`, a hyper
/// client) into an [`HttpService`].
pub fn into_http_service<S, B>(svc: S) -> HttpService
where
    S: tower::Service<Request<BoxBody>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        svc.map_err(Into::into)
            .map_response(|resp: Response<B>| resp.map(|b| b.map_err(Into::into).boxed_unsync())),
    )
}

/// How long an idle connection stays in the pool: under gunicorn's 2 s keep-alive.
pub const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// Why the HTTPS transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot read CA bundle {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// A hyper-util client with rustls (system roots + Mozilla roots, plus `extra_ca_pem` when
/// given, e.g. a self-signed NetBox), speaking HTTP/1.1 and HTTP/2, `http` and `https`.
pub fn https_service(extra_ca_pem: Option<&Path>) -> Result<HttpService, TransportError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = extra_ca_pem {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| TransportError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TransportError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(TransportError::CaFile {
                path: path.display().to_string(),
                reason: "no PEM certificate in file".into(),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| TransportError::CaFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| TransportError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    // NetBox's gunicorn closes a keep-alive connection after 2 s idle (`keepalive = 2`); one
    // reused later meets a reset. Idle connections go from the pool well before that.
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(POOL_IDLE)
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build::<_, BoxBody>(connector);
    Ok(into_http_service(client))
}
