//! Transports: the in-process tower service clients use instead of a socket, and the socket
//! server. Both apply the "unreachable" fault here, before a request reaches the router: the
//! in-process service fails with `io::ErrorKind::ConnectionRefused`, the socket server drops the
//! connection without answering.
//!
//! No NetBox semantics live here.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tower::{Service, ServiceExt};

use crate::Inner;
use crate::faults::Phase;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The router plus transport faults, as a `tower::Service` over any request body.
#[derive(Clone)]
pub struct ClientService {
    inner: Arc<Inner>,
    router: axum::Router,
}

impl std::fmt::Debug for ClientService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientService").finish_non_exhaustive()
    }
}

impl ClientService {
    pub(crate) fn new(inner: Arc<Inner>, router: axum::Router) -> ClientService {
        ClientService { inner, router }
    }
}

fn refused(inner: &Inner, method: &http::Method, uri: &http::Uri) -> bool {
    if uri.path().starts_with("/__fake") {
        return false;
    }
    let resource = crate::api::resource_for_path(uri.path());
    let fired = inner.faults.fire(
        Phase::Transport,
        method.as_str(),
        &resource,
        uri.path(),
        &|_| true,
    );
    if fired.is_empty() {
        return false;
    }
    crate::api::log_refused(inner, method.as_str(), uri);
    true
}

impl<B> Service<http::Request<B>> for ClientService
where
    B: axum::body::HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        if refused(&self.inner, req.method(), req.uri()) {
            return Box::pin(async {
                Err(Box::new(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "connection refused",
                )) as BoxError)
            });
        }
        let router = self.router.clone();
        Box::pin(async move {
            let req = req.map(|b| Body::new(b.map_err(Into::into)));
            let resp = router
                .oneshot(req)
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            Ok(resp)
        })
    }
}

/// Accepts connections forever; each is served by hyper (HTTP/1.1 and HTTP/2). Like NetBox's
/// gunicorn (`keepalive = 2`), a connection that stays idle — no request in flight — for the
/// configured keep-alive time is closed by the server; a client that reuses it after that finds
/// it closed or reset. Every answer says `Connection: keep-alive`, as gunicorn's do.
pub(crate) async fn serve(
    inner: Arc<Inner>,
    router: axum::Router,
    listener: tokio::net::TcpListener,
) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        inner
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let inner = inner.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let idle = Arc::new(Idle::default());
            let keepalive = inner.keepalive;
            let svc = {
                let idle = idle.clone();
                hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let inner = inner.clone();
                    let router = router.clone();
                    let busy = idle.busy();
                    async move {
                        let _busy = busy;
                        if refused(&inner, req.method(), req.uri()) {
                            return Err(io::Error::new(
                                io::ErrorKind::ConnectionAborted,
                                "unreachable fault",
                            ));
                        }
                        let http1 = req.version() < http::Version::HTTP_2;
                        let req = req.map(Body::new);
                        let mut resp = router
                            .oneshot(req)
                            .await
                            .map_err(|e| io::Error::other(e.to_string()))?;
                        // HTTP/2 has no connection-specific headers.
                        if http1 {
                            resp.headers_mut().insert(
                                http::header::CONNECTION,
                                http::HeaderValue::from_static("keep-alive"),
                            );
                        }
                        Ok::<_, io::Error>(resp)
                    }
                })
            };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            let Some(keepalive) = keepalive else {
                let _ = conn.await;
                return;
            };
            tokio::select! {
                _ = conn.as_mut() => return,
                () = idle.expired(keepalive) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
}

/// A connection's requests in flight and when the last one ended.
struct Idle {
    state: std::sync::Mutex<(usize, tokio::time::Instant)>,
}

impl Default for Idle {
    fn default() -> Idle {
        Idle {
            state: std::sync::Mutex::new((0, tokio::time::Instant::now())),
        }
    }
}

/// Marks a request in flight until dropped.
struct Busy(Arc<Idle>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        s.0 -= 1;
        s.1 = tokio::time::Instant::now();
    }
}

impl Idle {
    fn busy(self: &Arc<Idle>) -> Busy {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0 += 1;
        Busy(self.clone())
    }

    /// Resolves once no request has been in flight for `keepalive`.
    async fn expired(&self, keepalive: std::time::Duration) {
        loop {
            let (in_flight, since) = *self.state.lock().unwrap_or_else(|p| p.into_inner());
            let deadline = since + keepalive;
            if in_flight == 0 && tokio::time::Instant::now() >= deadline {
                return;
            }
            // A request in flight: look again a keep-alive time later.
            let wake = if in_flight == 0 {
                deadline
            } else {
                tokio::time::Instant::now() + keepalive
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}
