//! The request pipeline: parse, fault injection, authentication, routing, and the shared server
//! state (store, served types, CRD lifecycle, namespaces, garbage-collection-lite), plus the request
//! log entry of every request.
//!
//! Resource verbs live in `crud.rs`, watches in `watch.rs`, discovery and OpenAPI in their own
//! modules; this module does not build resource responses itself.

use crate::Clock;
use crate::admission::Admission;
use crate::faults::{Fault, FaultState, Faults, Fired, RejectForm, Target, WriterPatch};
use crate::log::{LogEntry, RequestLog, redact_body};
use crate::status::{self, ApiError};
use crate::store::{ResKey, Store};
use crate::types::{self, ResourceType};
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Largest request body accepted (the real default is 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Settings fixed at build time.
pub(crate) struct Config {
    pub token: Option<String>,
    pub read_only_token: Option<String>,
    pub admin_token: Option<String>,
    pub seed: u64,
    pub clock: Clock,
    pub log_bodies: bool,
    pub bookmark_interval: Duration,
    pub crd_names_delay: Duration,
    pub crd_established_delay: Duration,
    pub server_address: String,
}

/// A served type and its lifecycle flags.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub rt: Arc<ResourceType>,
    pub established: bool,
    pub terminating: bool,
    pub crd_name: Option<String>,
}

/// A CRD whose conditions the fake "controller" still has to set.
#[derive(Debug, Clone)]
pub(crate) struct CrdTimer {
    pub created: Instant,
    pub stage: u8,
}

/// Everything behind the store lock.
pub(crate) struct State {
    pub store: Store,
    pub types: BTreeMap<ResKey, Served>,
    pub rng: ChaCha8Rng,
    pub crd_timers: BTreeMap<String, CrdTimer>,
    pub terminating_ns: BTreeSet<String>,
    pub types_generation: u64,
    /// Serialised objects for lists.
    pub ser_cache: std::cell::RefCell<crate::sercache::SerCache>,
}

/// The shared server.
pub struct Inner {
    pub(crate) cfg: Config,
    pub(crate) state: Mutex<State>,
    pub(crate) rv_tx: tokio::sync::watch::Sender<u64>,
    pub(crate) drop_tx: tokio::sync::watch::Sender<u64>,
    pub(crate) log: RequestLog,
    pub(crate) faults: Faults,
    pub(crate) admission: Vec<Arc<dyn Admission>>,
    pub(crate) audit_counter: AtomicU64,
}

/// Marker extension on a response that must become a refused connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefuseConnection;

pub(crate) const NS_RES: (&str, &str) = ("", "namespaces");
pub(crate) const CRD_RES: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");

pub(crate) fn res_key(group: &str, plural: &str) -> ResKey {
    (group.to_string(), plural.to_string())
}

impl Inner {
    pub(crate) fn new_cyclic(
        cfg: Config,
        admission: Vec<Arc<dyn Admission>>,
        history_limit: usize,
        crds: Vec<Value>,
    ) -> Result<Arc<Inner>, crate::Error> {
        let seed = cfg.seed;
        let mut types_map = BTreeMap::new();
        for rt in types::builtins() {
            types_map.insert(
                res_key(&rt.group, &rt.plural),
                Served {
                    rt: Arc::new(rt),
                    established: true,
                    terminating: false,
                    crd_name: None,
                },
            );
        }
        let state = State {
            store: Store::new(100, history_limit),
            types: types_map,
            rng: ChaCha8Rng::seed_from_u64(seed),
            crd_timers: BTreeMap::new(),
            terminating_ns: BTreeSet::new(),
            types_generation: 0,
            ser_cache: Default::default(),
        };
        let (rv_tx, _) = tokio::sync::watch::channel(0u64);
        let (drop_tx, _) = tokio::sync::watch::channel(0u64);
        let inner = Arc::new_cyclic(|weak| Inner {
            cfg,
            state: Mutex::new(state),
            rv_tx,
            drop_tx,
            log: RequestLog::default(),
            faults: Faults {
                state: Arc::new(Mutex::new(FaultState::new(seed))),
                server: weak.clone(),
            },
            admission,
            audit_counter: AtomicU64::new(0),
        });
        {
            let mut st = inner.lock();
            let now = inner.now_string();
            let ns = crate::crud::new_namespace_object("default", &inner.new_uid(&mut st), &now);
            st.store.put(
                &res_key(NS_RES.0, NS_RES.1),
                (String::new(), "default".into()),
                ns,
            );
            for crd in crds {
                crate::crud::install_crd_direct(&inner, &mut st, crd)?;
            }
        }
        inner.notify();
        Ok(inner)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wakes watchers after a write.
    pub(crate) fn notify(&self) {
        let rv = self.lock().store.rv();
        self.rv_tx.send_replace(rv);
    }

    pub(crate) fn now(&self) -> jiff::Timestamp {
        (self.cfg.clock)()
    }

    /// RFC 3339 with second precision.
    pub(crate) fn now_string(&self) -> String {
        let t = self.now();
        jiff::Timestamp::from_second(t.as_second())
            .unwrap_or(t)
            .to_string()
    }

    pub(crate) fn new_uid(&self, st: &mut State) -> String {
        use rand::Rng;
        let mut b = [0u8; 16];
        st.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    fn audit_id(&self) -> String {
        let n = self.audit_counter.fetch_add(1, Ordering::Relaxed);
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.cfg.seed.to_be_bytes());
        b[8..].copy_from_slice(&n.to_be_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// Forced compaction: every revision up to now.
    pub(crate) fn compact_now(&self) {
        let mut st = self.lock();
        let rv = st.store.rv();
        st.store.compact(rv);
    }

    /// Closes every open watch.
    pub(crate) fn drop_watches(&self) {
        self.drop_tx.send_modify(|g| *g += 1);
    }

    /// A concurrent writer's change, made by the fake itself.
    pub(crate) fn concurrent_write(
        &self,
        target: &crate::faults::ObjectRef,
        manager: &str,
        patch: &Value,
        patch_type: WriterPatch,
    ) -> Result<(), String> {
        let r = {
            let mut st = self.lock();
            crate::crud::internal_patch(self, &mut st, target, manager, patch, patch_type)
        };
        self.notify();
        r
    }

    /// Applies CRD condition transitions that are due.
    pub(crate) fn tick(&self, st: &mut State) {
        if st.crd_timers.is_empty() {
            return;
        }
        let now = Instant::now();
        let names_at = self.cfg.crd_names_delay;
        let est_at = self.cfg.crd_names_delay + self.cfg.crd_established_delay;
        let due: Vec<(String, CrdTimer)> = st
            .crd_timers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, t) in due {
            let elapsed = now.saturating_duration_since(t.created);
            if t.stage == 0 && elapsed >= names_at {
                let established = elapsed >= est_at;
                crate::crud::crd_set_conditions(self, st, &name, established);
                if established {
                    st.crd_timers.remove(&name);
                } else if let Some(x) = st.crd_timers.get_mut(&name) {
                    x.stage = 1;
                }
            } else if t.stage == 1 && elapsed >= est_at {
                crate::crud::crd_set_conditions(self, st, &name, true);
                st.crd_timers.remove(&name);
            }
        }
    }

    /// Schedules background ticks so watchers see CRD transitions without other traffic.
    pub(crate) fn schedule_tick(self: &Arc<Self>) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let weak = Arc::downgrade(self);
        let d1 = self.cfg.crd_names_delay;
        let d2 = self.cfg.crd_names_delay + self.cfg.crd_established_delay;
        tokio::spawn(async move {
            for d in [d1, d2] {
                tokio::time::sleep(d).await;
                let Some(s) = weak.upgrade() else { return };
                {
                    let mut st = s.lock();
                    s.tick(&mut st);
                }
                s.notify();
            }
        });
    }
}

/// A parsed request.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub raw_query: String,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    pub body: Bytes,
    pub authorization: Option<String>,
}

impl Req {
    pub fn q(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(a, _)| a == k)
            .map(|(_, v)| v.as_str())
    }
    pub fn q_bool(&self, k: &str) -> bool {
        matches!(self.q(k), Some("true" | "1" | "True"))
    }
    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.content_type
            .as_deref()
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|c| !c.is_empty())
    }
}

/// A request for a resource path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResPath {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    Version,
    Health,
    Api,
    ApiV1,
    Apis,
    Group(String),
    GroupVersion(String, String),
    Res(ResPath),
    OpenApiV3,
    OpenApiV3Doc(String),
    OpenApiV2,
    Admin(String),
    NotFound,
}

fn parse_res(group: &str, version: &str, rest: &[&str]) -> Route {
    let mk = |ns: Option<&str>, plural: &str, name: Option<&&str>, sub: Option<&&str>| {
        Route::Res(ResPath {
            group: group.into(),
            version: version.into(),
            namespace: ns.map(str::to_string),
            plural: plural.into(),
            name: name.map(|s| s.to_string()),
            sub: sub.map(|s| s.to_string()),
        })
    };
    if rest.is_empty() {
        return Route::NotFound;
    }
    if rest[0] == "namespaces"
        && rest.len() >= 3
        && !(group.is_empty() && rest.len() == 3 && matches!(rest[2], "status" | "finalize"))
    {
        if rest.len() > 5 {
            return Route::NotFound;
        }
        return mk(Some(rest[1]), rest[2], rest.get(3), rest.get(4));
    }
    if rest.len() > 3 {
        return Route::NotFound;
    }
    mk(None, rest[0], rest.get(1), rest.get(2))
}

pub(crate) fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "livez" | "readyz", ..] => Route::Health,
        ["api"] => Route::Api,
        ["api", "v1"] => Route::ApiV1,
        ["api", "v1", rest @ ..] => parse_res("", "v1", rest),
        ["apis"] => Route::Apis,
        ["apis", g] => Route::Group(g.to_string()),
        ["apis", g, v] => Route::GroupVersion(g.to_string(), v.to_string()),
        ["apis", g, v, rest @ ..] => parse_res(g, v, rest),
        ["openapi", "v3"] => Route::OpenApiV3,
        ["openapi", "v3", rest @ ..] => Route::OpenApiV3Doc(rest.join("/")),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["__fake", rest @ ..] => Route::Admin(rest.join("/")),
        _ => Route::NotFound,
    }
}

/// The Kubernetes verb of a request.
pub(crate) fn verb_of(r: &Req, route: &Route) -> Option<&'static str> {
    let Route::Res(rp) = route else {
        return None;
    };
    Some(match r.method {
        Method::GET if rp.name.is_some() => "get",
        Method::GET if r.q_bool("watch") => "watch",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH if r.media_type().as_deref() == Some("application/apply-patch+yaml") => {
            "apply"
        }
        Method::PATCH => "patch",
        Method::DELETE if rp.name.is_some() => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

fn is_write(verb: &str) -> bool {
    matches!(
        verb,
        "create" | "update" | "patch" | "apply" | "delete" | "deletecollection"
    )
}

/// Who is calling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Who {
    Admin,
    ReadOnly,
    Anonymous,
    Invalid,
}

fn authenticate(cfg: &Config, r: &Req) -> Who {
    let Some(h) = r.authorization.as_deref() else {
        return if cfg.token.is_none() {
            Who::Admin
        } else {
            Who::Anonymous
        };
    };
    let Some(tok) = h
        .strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("bearer "))
    else {
        return Who::Invalid;
    };
    let tok = tok.trim();
    if cfg.token.as_deref() == Some(tok) {
        Who::Admin
    } else if cfg.read_only_token.as_deref() == Some(tok) {
        Who::ReadOnly
    } else if cfg.token.is_none() && cfg.read_only_token.is_none() {
        Who::Admin
    } else {
        Who::Invalid
    }
}

/// A response ready to be sent, plus what the log needs.
pub(crate) struct Reply {
    pub resp: Response<Body>,
    pub bytes: u64,
    pub body_text: Option<String>,
}

pub(crate) fn common_headers(inner: &Inner, h: &mut http::HeaderMap) {
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-cache, private"),
    );
    if let Ok(v) = HeaderValue::from_str(&inner.audit_id()) {
        h.insert("audit-id", v);
    }
    h.insert(
        "x-kubernetes-pf-flowschema-uid",
        HeaderValue::from_static("4a5c3a56-5c0f-4c3a-9a6c-fake00000001"),
    );
    h.insert(
        "x-kubernetes-pf-prioritylevel-uid",
        HeaderValue::from_static("4a5c3a56-5c0f-4c3a-9a6c-fake00000002"),
    );
}

/// A JSON response.
pub(crate) fn json_reply(
    inner: &Inner,
    code: u16,
    body: &Value,
    content_type: &str,
    headers: &[(String, String)],
) -> Reply {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    raw_reply(inner, code, Bytes::from(bytes), content_type, headers)
}

pub(crate) fn raw_reply(
    inner: &Inner,
    code: u16,
    bytes: Bytes,
    content_type: &str,
    headers: &[(String, String)],
) -> Reply {
    let n = bytes.len() as u64;
    let text = if inner.cfg.log_bodies {
        Some(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        None
    };
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert("content-type", v);
    }
    common_headers(inner, h);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            h.append(k, v);
        }
    }
    Reply {
        resp,
        bytes: n,
        body_text: text,
    }
}

pub(crate) fn error_reply(inner: &Inner, e: &ApiError) -> Reply {
    match (e.plain_text, e.body.as_str()) {
        (true, Some(t)) => raw_reply(
            inner,
            e.code,
            Bytes::from(t.to_string()),
            "text/plain; charset=utf-8",
            &e.headers,
        ),
        _ => json_reply(inner, e.code, &e.body, "application/json", &e.headers),
    }
}

fn auth_label(who: Who, r: &Req) -> &'static str {
    match (who, r.authorization.is_some()) {
        (Who::Invalid, _) => "invalid",
        (_, false) => "none",
        _ => "bearer",
    }
}

/// Entry point for every HTTP request.
pub(crate) async fn handle(inner: Arc<Inner>, req: http::Request<Body>) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY + 1).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let hdr = |k: &str| {
        parts
            .headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let r = Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_string(),
        raw_query,
        query,
        accept: hdr("accept").unwrap_or_default(),
        content_type: hdr("content-type"),
        user_agent: hdr("user-agent"),
        body,
        authorization: hdr("authorization"),
    };
    let rt = route(&r.path);
    let verb = verb_of(&r, &rt);
    let (group, plural, ns, name) = match &rt {
        Route::Res(rp) => (
            Some(rp.group.clone()),
            Some(rp.plural.clone()),
            rp.namespace.clone().or_else(|| {
                (rp.plural == "namespaces")
                    .then(|| rp.name.clone())
                    .flatten()
            }),
            rp.name.clone(),
        ),
        _ => (None, None, None, None),
    };
    let dry_run = r.q("dryRun").is_some_and(|v| !v.is_empty())
        || (r.method == Method::DELETE
            && !r.body.is_empty()
            && serde_json::from_slice::<Value>(&r.body)
                .ok()
                .and_then(|v| {
                    v.get("dryRun")
                        .and_then(Value::as_array)
                        .map(|a| a.iter().any(|x| x == "All"))
                })
                .unwrap_or(false));
    let write = verb.is_some_and(is_write) && !dry_run;
    let who = authenticate(&inner.cfg, &r);
    let target = Target {
        verb,
        resource: plural.as_deref(),
        group: group.as_deref(),
        namespace: ns.as_deref(),
        name: name.as_deref(),
        write,
    };
    let mut fault_label: Option<String> = None;
    let is_admin = matches!(rt, Route::Admin(_));
    let mut refuse = false;
    let mut reply: Option<Reply> = None;
    if !is_admin {
        if inner.faults.unreachable(&target) {
            refuse = true;
            fault_label = Some(Fired::Unreachable.label());
        } else {
            let (fired, writers) = inner.faults.on_request(&target);
            for f in &fired {
                let label = f.label();
                fault_label = Some(match fault_label.take() {
                    Some(prev) => format!("{prev},{label}"),
                    None => label,
                });
                match f {
                    Fired::Latency(d) => tokio::time::sleep(*d).await,
                    Fired::Status(code, ra) => {
                        let e = match code {
                            503 => status::service_unavailable("service unavailable", *ra),
                            504 => status::timeout(
                                "request did not complete within the allotted timeout",
                                ra.unwrap_or(1),
                            ),
                            _ => {
                                let mut e = status::internal("injected fault");
                                if let Some(s) = ra {
                                    e.body["details"]["retryAfterSeconds"] = json!(s);
                                    e.headers.push(("Retry-After".into(), s.to_string()));
                                }
                                e
                            }
                        };
                        reply = Some(error_reply(&inner, &e));
                    }
                    Fired::TooMany(ra, form) => {
                        let e = match form {
                            RejectForm::Plain => status::too_many_requests_plain(*ra),
                            RejectForm::Status => status::too_many_requests_status(*ra),
                        };
                        reply = Some(error_reply(&inner, &e));
                    }
                    Fired::FailWrite(code) => {
                        let e = match code {
                            503 => status::service_unavailable("injected write failure", None),
                            504 => status::timeout("injected write failure", 1),
                            409 => status::conflict_modified(
                                status::Gr {
                                    group: group.as_deref().unwrap_or(""),
                                    resource: plural.as_deref().unwrap_or(""),
                                },
                                name.as_deref().unwrap_or(""),
                            ),
                            _ => status::internal("injected write failure"),
                        };
                        reply = Some(error_reply(&inner, &e));
                    }
                    Fired::Unreachable => {}
                }
            }
            if reply.is_none() {
                for w in writers {
                    if let Fault::ConcurrentWriter {
                        target,
                        field_manager,
                        patch,
                        patch_type,
                        ..
                    } = w
                    {
                        let _ = inner.concurrent_write(&target, &field_manager, &patch, patch_type);
                        fault_label = Some(format!("concurrentWriter:{field_manager}"));
                    }
                }
            }
        }
    }
    let request_bytes = r.body.len() as u64;
    let request_text = if inner.cfg.log_bodies && !r.body.is_empty() {
        Some(redact_body(&r.body))
    } else {
        None
    };
    let mut reply = if refuse {
        let mut x = raw_reply(&inner, 503, Bytes::new(), "text/plain", &[]);
        x.resp.extensions_mut().insert(RefuseConnection);
        x
    } else if let Some(x) = reply {
        x
    } else if r.body.len() > MAX_BODY {
        error_reply(&inner, &status::too_large_body(MAX_BODY))
    } else {
        dispatch(&inner, &r, &rt, verb, who).await
    };
    let elapsed = started.elapsed();
    let entry = LogEntry {
        seq: 0,
        server: "apiserver".into(),
        time: inner.now().to_string(),
        method: r.method.to_string(),
        path: r.path.clone(),
        query: r.raw_query.clone(),
        status: reply.resp.status().as_u16(),
        request_bytes,
        response_bytes: reply.bytes,
        duration_ms: (elapsed.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
        user_agent: r.user_agent.clone(),
        auth: auth_label(who, &r).into(),
        verb: verb.map(str::to_string),
        resource: plural.as_ref().map(|p| match group.as_deref() {
            Some(g) if !g.is_empty() => format!("{p}.{g}"),
            _ => p.clone(),
        }),
        namespace: ns.clone(),
        name: name.clone(),
        dry_run,
        write,
        fault: fault_label,
        request_body: request_text,
        response_body: reply.body_text.take(),
    };
    let idx = inner.log.push(entry);
    if let Some(counter) = reply
        .resp
        .extensions()
        .get::<crate::watch::StreamCounter>()
        .cloned()
    {
        counter.attach(inner.log.clone(), idx as u64 + 1);
    }
    reply.resp
}

async fn dispatch(
    inner: &Arc<Inner>,
    r: &Req,
    rt: &Route,
    verb: Option<&'static str>,
    who: Who,
) -> Reply {
    // Authentication.
    let public = matches!(rt, Route::Version | Route::Health);
    if let Route::Admin(p) = rt {
        return crate::admin::handle(inner, r, p);
    }
    match who {
        Who::Invalid => return error_reply(inner, &status::unauthorized()),
        Who::Anonymous if !public => return error_reply(inner, &status::unauthorized()),
        _ => {}
    }
    if who == Who::ReadOnly
        && let (Some(v), Route::Res(rp)) = (verb, rt)
        && is_write(v)
    {
        let rbac_verb = if v == "apply" { "patch" } else { v };
        let e = status::forbidden_rbac(
            "read-only",
            rbac_verb,
            status::Gr {
                group: &rp.group,
                resource: &rp.plural,
            },
            rp.name.as_deref().unwrap_or(""),
            rp.namespace.as_deref(),
        );
        return error_reply(inner, &e);
    }
    match rt {
        Route::Version => json_reply(
            inner,
            200,
            &json!({"major":"1","minor":"32","gitVersion":"v1.32.13","gitCommit":"8a4fd3a93a42bc6a6d4e4c1bd0e1b7a5d1e2f3c4",
                "gitTreeState":"clean","buildDate":"2026-02-12T10:21:36Z","goVersion":"go1.23.12","compiler":"gc","platform":"linux/amd64"}),
            "application/json",
            &[],
        ),
        Route::Health => raw_reply(
            inner,
            200,
            Bytes::from_static(b"ok"),
            "text/plain; charset=utf-8",
            &[],
        ),
        Route::Api | Route::ApiV1 | Route::Apis | Route::Group(_) | Route::GroupVersion(..) => {
            crate::discovery::handle(inner, r, rt)
        }
        Route::OpenApiV3 | Route::OpenApiV3Doc(_) => crate::openapi::handle(inner, r, rt),
        Route::OpenApiV2 => error_reply(inner, &status::path_not_found()),
        Route::Res(rp) => crate::crud::handle(inner, r, rp, verb.unwrap_or("get")).await,
        Route::Admin(_) | Route::NotFound => error_reply(inner, &status::path_not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/version/"), Route::Version);
        let Route::Res(rp) = route("/apis/g.io/v1/namespaces/default/things/a/status") else {
            panic!()
        };
        assert_eq!(
            (
                rp.namespace.as_deref(),
                rp.plural.as_str(),
                rp.name.as_deref(),
                rp.sub.as_deref()
            ),
            (Some("default"), "things", Some("a"), Some("status"))
        );
        let Route::Res(rp) = route("/api/v1/namespaces/x") else {
            panic!()
        };
        assert_eq!(
            (rp.plural.as_str(), rp.name.as_deref()),
            ("namespaces", Some("x"))
        );
        let Route::Res(rp) = route("/api/v1/namespaces/x/status") else {
            panic!()
        };
        assert_eq!(
            (rp.plural.as_str(), rp.name.as_deref(), rp.sub.as_deref()),
            ("namespaces", Some("x"), Some("status"))
        );
        assert_eq!(
            route("/openapi/v3/apis/g/v1"),
            Route::OpenApiV3Doc("apis/g/v1".into())
        );
    }
}
