//! The client-side API log of the `real` and `local` targets: a tower layer on every client the
//! validation builds (fabsync's own NetBox and cluster clients, and the person's) that records one
//! [`ApiCall`] per request in the shared request-log shape — method, path, query, status, verb,
//! object name, dry run, write, User-Agent, time — and never a header value that could hold a
//! secret (the token is added below this layer, so it is never even seen here).
//!
//! It only observes: requests and responses pass through unchanged. One hook exists for a
//! concurrent writer: an action armed with [`Recorder::after_next_fabsync_write`] runs when
//! fabsync's next write has taken effect, before fabsync sees the answer (so before it can send
//! anything else that depends on it). Deciding what the calls prove is the workflows' job.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Request, Response};

use super::model::ApiCall;
use crate::clock::SharedClock;

/// One recorded call with the phase it belongs to.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Global start order.
    pub order: u64,
    /// The workflow (or `setup` / `cleanup`) running when the request started.
    pub phase: String,
    /// The call.
    pub call: ApiCall,
}

/// An action run once, after fabsync's next write.
pub type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

#[derive(Default)]
struct State {
    next_order: u64,
    seq: BTreeMap<String, u64>,
    phase: String,
    entries: Vec<Entry>,
    after_write: Option<Hook>,
    fabsync_stopped: bool,
}

/// Every call of one validation, in the order the requests started.
#[derive(Clone)]
pub struct Recorder {
    clock: SharedClock,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("calls", &self.state.lock().unwrap().entries.len())
            .finish()
    }
}

/// A request as it started: what the log needs of it.
struct Started {
    order: u64,
    seq: u64,
    phase: String,
    time: String,
    method: String,
    path: String,
    query: String,
    user_agent: Option<String>,
    apply: bool,
}

impl Recorder {
    /// An empty log; times come from `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Names the phase every call from now on belongs to.
    pub fn set_phase(&self, phase: &str) {
        self.state.lock().unwrap().phase = phase.to_string();
    }

    /// How many calls started so far (a position for [`Recorder::from`]).
    pub fn position(&self) -> u64 {
        self.state.lock().unwrap().next_order
    }

    /// Calls that started at or after `position`, in start order (finished ones only).
    pub fn from(&self, position: u64) -> Vec<ApiCall> {
        self.entries_from(position)
            .into_iter()
            .map(|e| e.call)
            .collect()
    }

    /// Entries that started at or after `position`, in start order.
    pub fn entries_from(&self, position: u64) -> Vec<Entry> {
        let mut v: Vec<Entry> = self
            .state
            .lock()
            .unwrap()
            .entries
            .iter()
            .filter(|e| e.order >= position)
            .cloned()
            .collect();
        v.sort_by_key(|e| e.order);
        v
    }

    /// Arms `hook` to run once, right after fabsync's next cluster write that took effect (not
    /// a dry run), before fabsync gets the answer.
    pub fn after_next_fabsync_write(&self, hook: Hook) {
        self.state.lock().unwrap().after_write = Some(hook);
    }

    /// From now on no request of fabsync's own clients reaches a server (it waits forever and
    /// goes with the runtime): what is left of an interrupted validation cannot write while the
    /// cleanup runs.
    pub fn stop_fabsync(&self) {
        self.state.lock().unwrap().fabsync_stopped = true;
    }

    fn fabsync_stopped<B>(&self, req: &Request<B>) -> bool {
        self.state.lock().unwrap().fabsync_stopped
            && req
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|u| u.starts_with("fabsync/"))
    }

    /// Drops an armed hook that has not run.
    pub fn disarm(&self) {
        self.state.lock().unwrap().after_write = None;
    }

    fn take_hook(&self, call: &ApiCall) -> Option<Hook> {
        if call.server == "apiserver"
            && call.write
            && call
                .user_agent
                .as_deref()
                .is_some_and(|u| u.starts_with("fabsync/"))
        {
            self.state.lock().unwrap().after_write.take()
        } else {
            None
        }
    }

    /// A layer recording into this log as `server` (`apiserver` or `netbox`).
    pub fn layer(&self, server: &'static str) -> RecordLayer {
        RecordLayer {
            recorder: self.clone(),
            server,
        }
    }

    fn start<B>(&self, server: &str, req: &Request<B>) -> Started {
        let now = self.clock.now();
        let time = jiff::Timestamp::from_millisecond(now.as_millisecond())
            .unwrap_or(now)
            .to_string();
        let mut st = self.state.lock().unwrap();
        let order = st.next_order;
        st.next_order += 1;
        let seq = {
            let s = st.seq.entry(server.to_string()).or_insert(0);
            *s += 1;
            *s
        };
        let apply = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/apply-patch"));
        Started {
            order,
            seq,
            phase: st.phase.clone(),
            time,
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            query: req.uri().query().unwrap_or_default().to_string(),
            user_agent: req
                .headers()
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            apply,
        }
    }

    fn finish(
        &self,
        server: &str,
        s: Started,
        status: Option<u16>,
        failure: Option<String>,
    ) -> Option<Hook> {
        let (verb, name) = match server {
            "apiserver" => kube_verb(&s.method, &s.path, &s.query, s.apply),
            _ => netbox_verb(&s.method, &s.path),
        };
        let dry_run = s.query.split('&').any(|kv| kv == "dryRun=All");
        let status = status.unwrap_or(0);
        let write = s.method != "GET"
            && s.method != "HEAD"
            && s.method != "OPTIONS"
            && (200..400).contains(&status)
            && !dry_run;
        let call = ApiCall {
            server: server.to_string(),
            seq: s.seq,
            user_agent: s.user_agent,
            time: s.time,
            method: s.method,
            path: s.path,
            query: redact_query(&s.query),
            status,
            verb: Some(verb),
            name,
            dry_run,
            write,
            fault: failure,
            auth: match server {
                "apiserver" => "kubeconfig user".into(),
                _ => "api token".into(),
            },
        };
        let hook = self.take_hook(&call);
        self.state.lock().unwrap().entries.push(Entry {
            order: s.order,
            phase: s.phase,
            call,
        });
        hook
    }
}

/// Drops query parameters that could carry a credential (none of fabsync's do; a safeguard).
fn redact_query(q: &str) -> String {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let key = kv
                .split('=')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if key.contains("token") || key.contains("password") || key.contains("secret") {
                format!("{key}=<redacted>")
            } else {
                kv.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// The Kubernetes verb and object name of a request path (`/apis/g/v/namespaces/ns/plural/name`).
pub fn kube_verb(method: &str, path: &str, query: &str, apply: bool) -> (String, Option<String>) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match segs.first() {
        Some(&"apis") if segs.len() >= 3 => &segs[3..],
        Some(&"api") if segs.len() >= 2 => &segs[2..],
        _ => &[],
    };
    let rest = match rest {
        ["namespaces", _ns, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    let name = rest.get(1).map(|s| s.to_string());
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match method {
        "GET" if watch => "watch",
        "GET" if name.is_some() => "get",
        "GET" => "list",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" if apply => "apply",
        "PATCH" => "patch",
        "DELETE" if name.is_some() => "delete",
        "DELETE" => "deletecollection",
        other => return (other.to_ascii_lowercase(), name),
    };
    (verb.to_string(), name)
}

/// NetBox's action of a request (`list`, `get`, `create`, `update`, `delete`, bulk variants).
fn netbox_verb(method: &str, path: &str) -> (String, Option<String>) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    // /api/<app>/<model>/[<id>/]
    let id = segs
        .iter()
        .position(|s| *s == "api")
        .and_then(|i| segs.get(i + 3))
        .filter(|s| s.chars().all(|c| c.is_ascii_digit()))
        .map(|s| s.to_string());
    let verb = match (method, id.is_some()) {
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT" | "PATCH", true) => "update",
        ("PUT" | "PATCH", false) => "bulk_update",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "bulk_delete",
        (other, _) => return (other.to_ascii_lowercase(), id),
    };
    (verb.to_string(), id)
}

/// Tower layer of [`Recorder`].
#[derive(Clone)]
pub struct RecordLayer {
    recorder: Recorder,
    server: &'static str,
}

impl std::fmt::Debug for RecordLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordLayer")
            .field("server", &self.server)
            .finish()
    }
}

impl<S> tower::Layer<S> for RecordLayer {
    type Service = Record<S>;
    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            recorder: self.recorder.clone(),
            server: self.server,
        }
    }
}

/// The recording service.
#[derive(Clone)]
pub struct Record<S> {
    inner: S,
    recorder: Recorder,
    server: &'static str,
}

impl<S, B, RB> tower::Service<Request<B>> for Record<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display + Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if self.recorder.fabsync_stopped(&req) {
            return Box::pin(std::future::pending());
        }
        let started = self.recorder.start(self.server, &req);
        let fut = self.inner.call(req);
        let recorder = self.recorder.clone();
        let server = self.server;
        Box::pin(async move {
            let r = fut.await;
            let hook = match &r {
                Ok(resp) => recorder.finish(server, started, Some(resp.status().as_u16()), None),
                Err(e) => recorder.finish(server, started, None, Some(format!("transport: {e}"))),
            };
            if let Some(hook) = hook {
                hook().await;
            }
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_verbs_and_names() {
        let v = |m, p, q, a| kube_verb(m, p, q, a);
        assert_eq!(
            v(
                "PATCH",
                "/apis/wiring.githedgehog.com/v1beta1/namespaces/default/switches/leaf-01",
                "fieldManager=fabsync",
                true
            ),
            ("apply".into(), Some("leaf-01".into()))
        );
        assert_eq!(
            v(
                "GET",
                "/apis/wiring.githedgehog.com/v1beta1/namespaces/default/switches",
                "labelSelector=x",
                false
            ),
            ("list".into(), None)
        );
        assert_eq!(
            v("GET", "/api/v1/namespaces/default", "", false),
            ("get".into(), Some("default".into()))
        );
        assert_eq!(
            v(
                "DELETE",
                "/apis/vpc.githedgehog.com/v1beta1/namespaces/default/vpcs/vpc-1",
                "",
                false
            ),
            ("delete".into(), Some("vpc-1".into()))
        );
        assert_eq!(v("GET", "/version", "", false), ("list".into(), None));
    }

    #[test]
    fn netbox_actions() {
        assert_eq!(
            netbox_verb("PATCH", "/api/dcim/devices/12/"),
            ("update".into(), Some("12".into()))
        );
        assert_eq!(
            netbox_verb("GET", "/api/dcim/devices/"),
            ("list".into(), None)
        );
        assert_eq!(
            netbox_verb("DELETE", "/api/dcim/cables/"),
            ("bulk_delete".into(), None)
        );
    }

    #[test]
    fn credentials_in_queries_are_redacted() {
        assert_eq!(
            redact_query("limit=5&token=abc&api_key=x"),
            "limit=5&token=<redacted>&api_key=x"
        );
    }
}
