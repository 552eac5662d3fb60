//! Tower layers under fabsync's Kubernetes client: a client-side QPS budget (token bucket),
//! `Retry-After` honoured on 429/503, request counting, and the write gate (a run's lease
//! fence checked as each write leaves, after every wait above it).
//!
//! They sit between kube-rs and the transport (a real HTTPS connection or the in-process fake),
//! so every request — including retries — is budgeted and counted. They know nothing about what
//! is being written.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request, Response};
use kube::client::Body;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tower::{Layer, Service, ServiceExt};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Whether the task may still write to the cluster (a run's lease fence). A write sent while
/// the gate of its task is closed fails with [`GateClosed`] before it leaves: no QPS wait or
/// `Retry-After` wait above the gate can carry a write past the fence.
#[derive(Clone)]
pub struct WriteGate(Arc<dyn Fn() -> bool + Send + Sync>);

impl WriteGate {
    /// A gate open while `open()` says so.
    pub fn new(open: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(open))
    }

    /// Runs `f` with this gate on every cluster write it makes (on this task).
    pub async fn guard<F: Future>(self, f: F) -> F::Output {
        WRITE_GATE.scope(self, f).await
    }
}

tokio::task_local! {
    static WRITE_GATE: WriteGate;
}

/// A write refused at the gate: the run's lease fence closed before it was sent.
#[derive(Debug, thiserror::Error)]
#[error("the write was not sent: this replica's lease on the fabric expired")]
pub struct GateClosed;

/// Refuses writes (not dry runs) when the task's [`WriteGate`] is closed. Innermost layer.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriteGateLayer;

impl<S> Layer<S> for WriteGateLayer {
    type Service = WriteGateService<S>;
    fn layer(&self, inner: S) -> WriteGateService<S> {
        WriteGateService { inner }
    }
}

/// See [`WriteGateLayer`].
#[derive(Clone, Debug)]
pub struct WriteGateService<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for WriteGateService<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<tower::BoxError>,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = tower::BoxError;
    type Future = BoxFuture<Result<S::Response, tower::BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            // Checked as the request leaves (polled on the caller's task), not when queued.
            if is_write(&req) && WRITE_GATE.try_with(|g| !(g.0)()).unwrap_or(false) {
                return Err(Box::new(GateClosed) as tower::BoxError);
            }
            inner.oneshot(req).await.map_err(Into::into)
        })
    }
}

/// A mutating request that is not a dry run.
fn is_write<B>(req: &Request<B>) -> bool {
    !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && !req
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv == "dryRun=All"))
}

/// Counts of requests sent to the cluster (shared by clones).
#[derive(Debug, Default)]
pub struct Counters {
    requests: AtomicU64,
    writes: AtomicU64,
    throttled: AtomicU64,
}

impl Counters {
    /// Requests sent, retries included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Mutating requests sent that were not dry runs.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }
    /// Responses 429/503 with `Retry-After` that were waited out.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
}

/// Counts every request that reaches the transport.
#[derive(Clone, Debug)]
pub struct CountLayer(pub Arc<Counters>);

impl<S> Layer<S> for CountLayer {
    type Service = Count<S>;
    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            counters: self.0.clone(),
        }
    }
}

/// See [`CountLayer`].
#[derive(Clone, Debug)]
pub struct Count<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S, B> Service<Request<B>> for Count<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        if is_write(&req) {
            self.counters.writes.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.call(req)
    }
}

/// A token bucket: `burst` requests at once, refilled at `qps` per second (tokio time).
#[derive(Debug)]
pub struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            qps: qps.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        let wait = {
            let mut state = self.state.lock().await;
            let now = Instant::now();
            let (tokens, last) = *state;
            let refilled = (tokens + now.saturating_duration_since(last).as_secs_f64() * self.qps)
                .min(self.burst);
            let after = refilled - 1.0;
            *state = (after, now);
            if after >= 0.0 {
                None
            } else {
                // The token is borrowed from the future: wait until it has been refilled.
                Some(Duration::from_secs_f64(-after / self.qps))
            }
        };
        if let Some(d) = wait {
            tokio::time::sleep(d).await;
        }
    }
}

/// Applies a [`TokenBucket`] to every request.
#[derive(Clone, Debug)]
pub struct RateLimitLayer(pub Arc<TokenBucket>);

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;
    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            bucket: self.0.clone(),
        }
    }
}

/// See [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    bucket: Arc<TokenBucket>,
}

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let bucket = self.bucket.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            bucket.acquire().await;
            inner.oneshot(req).await
        })
    }
}

/// Retries 429 and 503 responses that carry `Retry-After` (seconds), up to `max_retries`
/// times, waiting at most `max_wait` per retry. Other responses pass through unchanged.
#[derive(Clone, Debug)]
pub struct RetryAfterLayer {
    /// Retries per request.
    pub max_retries: u32,
    /// Longest single wait honoured; a longer `Retry-After` is returned to the caller as is.
    pub max_wait: Duration,
    /// Counts waits.
    pub counters: Arc<Counters>,
}

impl<S> Layer<S> for RetryAfterLayer {
    type Service = RetryAfter<S>;
    fn layer(&self, inner: S) -> RetryAfter<S> {
        RetryAfter {
            inner,
            cfg: self.clone(),
        }
    }
}

/// See [`RetryAfterLayer`].
#[derive(Clone, Debug)]
pub struct RetryAfter<S> {
    inner: S,
    cfg: RetryAfterLayer,
}

/// The wait a response asks for, if it is a retryable throttle.
pub fn retry_after<B>(resp: &Response<B>) -> Option<Duration> {
    let code = resp.status().as_u16();
    if code != 429 && code != 503 {
        return None;
    }
    let secs: u64 = resp
        .headers()
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

impl<S, RB> Service<Request<Body>> for RetryAfter<S>
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Send,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<RB>, S::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let cfg = self.cfg.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            if body.try_clone().is_none() {
                // A body that cannot be replayed (a stream) is sent once.
                return inner.oneshot(Request::from_parts(parts, body)).await;
            }
            let mut attempt = 0;
            loop {
                let this = Request::from_parts(
                    parts.clone(),
                    body.try_clone().expect("checked replayable above"),
                );
                let resp = inner.clone().oneshot(this).await?;
                match retry_after(&resp) {
                    Some(wait) if attempt < cfg.max_retries && wait <= cfg.max_wait => {
                        attempt += 1;
                        cfg.counters.throttled.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            status = resp.status().as_u16(),
                            wait_s = wait.as_secs(),
                            attempt,
                            "cluster asked to retry later; waiting"
                        );
                        drop(resp);
                        tokio::time::sleep(wait).await;
                    }
                    _ => return Ok(resp),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn token_bucket_allows_burst_then_qps() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..10 {
            bucket.acquire().await;
        }
        // 10 more tokens at 10/s: one second of refill.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((elapsed - 1.0).abs() < 0.01, "elapsed {elapsed}");
    }
}
