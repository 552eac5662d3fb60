//! Watch streams: chunked JSON lines from a resourceVersion, initial ADDED events, periodic
//! BOOKMARKs, `sendInitialEvents` with the `k8s.io/initial-events-end` bookmark, `timeoutSeconds`,
//! ERROR 410 for a compacted resourceVersion, selectors (objects leaving the selection are sent as
//! DELETED), Table / PartialObjectMetadata encodings, and dropping on demand.
//!
//! It reads the store's event history; it never writes.

use crate::crud::{self, Format, include_object, lookup, negotiate, selectors};
use crate::log::RequestLog;
use crate::reply::{Reply, common_headers};
use crate::request::{Req, ResPath};
use crate::state::{Inner, res_key};
use crate::status::{self, ApiError};
use crate::store::EventType;
use crate::table;
use axum::body::Body;
use base64::Engine;
use bytes::Bytes;
use http::{HeaderValue, Response};
use rand::RngExt;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Counts the bytes of a streamed response and reports them to the log when the stream ends.
#[derive(Clone, Default)]
pub(crate) struct StreamCounter {
    inner: Arc<CounterInner>,
}

#[derive(Default)]
struct CounterInner {
    bytes: AtomicU64,
    target: Mutex<Option<(RequestLog, u64)>>,
}

impl StreamCounter {
    pub(crate) fn attach(&self, log: RequestLog, seq: u64) {
        *self.inner.target.lock().unwrap_or_else(|p| p.into_inner()) = Some((log, seq));
        self.flush();
    }
    fn add(&self, n: usize) {
        self.inner.bytes.fetch_add(n as u64, Ordering::Relaxed);
        self.flush();
    }
    fn flush(&self) {
        if let Some((log, seq)) = self
            .inner
            .target
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            log.set_response_bytes(*seq, self.inner.bytes.load(Ordering::Relaxed));
        }
    }
}

fn line(ty: &str, obj: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": ty, "object": obj})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

/// Starts a watch; errors before streaming are ordinary Status answers.
pub(crate) fn start(inner: &Arc<Inner>, r: &Req, rp: &ResPath) -> Result<Reply, ApiError> {
    let mut st = inner.lock();
    crud::tick(inner, &mut st);
    let (served, ver) = lookup(&st, rp)?;
    let rt = served.rt.clone();
    let fmt = negotiate(&r.accept).ok_or_else(status::not_acceptable)?;
    let (label, field) = selectors(r, &ver)?;
    let res = res_key(&rt.group, &rt.plural);
    let ns = rp.namespace.clone();
    let api_version = rt.api_version(&rp.version);
    let rv_param = r.q("resourceVersion").unwrap_or("").to_string();
    let send_initial = r.q("sendInitialEvents").map(|v| v == "true" || v == "1");
    let bookmarks = r.q_bool("allowWatchBookmarks");
    if send_initial.is_some() {
        let rvm = r.q("resourceVersionMatch").unwrap_or("");
        if rvm != "NotOlderThan" {
            return Err(status::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                &[status::FieldError::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )],
            ));
        }
        if !bookmarks {
            return Err(status::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                &[status::FieldError::forbidden(
                    "allowWatchBookmarks",
                    "allowWatchBookmarks must be set to true when sendInitialEvents is set",
                )],
            ));
        }
    }
    let timeout = match r.q("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()) {
        Some(t) if t > 0 => Duration::from_secs(t),
        _ => Duration::from_secs(st.rng.random_range(1800..=3600)),
    };
    let current = st.store.rv();
    let initial_wanted = match send_initial {
        Some(b) => b,
        None => rv_param.is_empty() || rv_param == "0",
    };
    let mut initial: Vec<Arc<Value>> = vec![];
    let mut expired: Option<ApiError> = None;
    let cursor = if initial_wanted || rv_param.is_empty() || rv_param == "0" {
        if initial_wanted {
            initial = st
                .store
                .list(&res, ns.as_deref(), None, None)
                .filter(|(_, o)| label.matches(o) && field.matches(o, &ver.field_keys))
                .map(|(_, o)| o.clone())
                .collect();
        }
        current
    } else {
        let n: u64 = rv_param
            .parse()
            .map_err(|_| status::bad_request(format!("invalid resource version: {rv_param}")))?;
        if n < st.store.compacted() {
            expired = Some(status::watch_too_old(n, st.store.compacted() + 1));
        }
        n
    };
    drop(st);
    let counter = StreamCounter::default();
    let counter2 = counter.clone();
    let inner2 = inner.clone();
    let mut rv_rx = inner.rv_tx.subscribe();
    let mut drop_rx = inner.drop_tx.subscribe();
    let bookmark_every = inner.cfg.bookmark_interval;
    let include = include_object(r);
    let cols = ver.columns.clone();
    let kind = rt.kind.clone();
    let list_kind = rt.list_kind.clone();
    let field_keys = ver.field_keys.clone();
    let stream = async_stream::stream! {
        let mut headers_sent = false;
        let mut encode = |ty: &str, obj: &Value| -> Bytes {
            let o = if obj.get("apiVersion").and_then(Value::as_str) != Some(api_version.as_str()) && ty != "ERROR" {
                let mut x = obj.clone();
                x["apiVersion"] = json!(api_version);
                x
            } else {
                obj.clone()
            };
            let rendered = match (fmt, ty) {
                (_, "ERROR") | (_, "BOOKMARK") | (Format::Json, _) => o,
                (Format::Partial | Format::PartialList, _) => table::partial(&o),
                (Format::Table, _) => {
                    let rv = o.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
                    let t = table::table(&[&o], &cols, inner2.now().as_second(), include, json!({"resourceVersion": rv}), !headers_sent);
                    headers_sent = true;
                    t
                }
            };
            line(ty, &rendered)
        };
        if let Some(e) = expired {
            let b = encode("ERROR", &e.body);
            counter2.add(b.len());
            yield Ok::<Bytes, std::convert::Infallible>(b);
            return;
        }
        for o in &initial {
            let b = encode("ADDED", o);
            counter2.add(b.len());
            yield Ok(b);
        }
        let mut cursor = cursor;
        let bookmark = |rv: u64, end: bool| -> Value {
            let mut meta = serde_json::Map::new();
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
            meta.insert("creationTimestamp".into(), Value::Null);
            if end {
                let blueprint = format!("{}\n", json!({"kind": list_kind, "apiVersion": api_version, "metadata": {}, "items": null}));
                meta.insert("annotations".into(), json!({
                    "k8s.io/initial-events-end": "true",
                    "kubernetes.io/initial-events-list-blueprint": base64::engine::general_purpose::STANDARD.encode(blueprint),
                }));
            }
            json!({"kind": kind, "apiVersion": api_version, "metadata": Value::Object(meta)})
        };
        if send_initial == Some(true) {
            let b = encode("BOOKMARK", &bookmark(cursor, true));
            counter2.add(b.len());
            yield Ok(b);
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut next_bookmark = tokio::time::Instant::now() + bookmark_every;
        let _ = rv_rx.borrow_and_update();
        let _ = drop_rx.borrow_and_update();
        loop {
            let batch: Result<Vec<(&'static str, Arc<Value>)>, ApiError> = {
                let st = inner2.lock();
                match st.store.events_after(cursor) {
                    None => Err(status::watch_too_old(cursor, st.store.compacted() + 1)),
                    Some(events) => {
                        let mut out = vec![];
                        for e in events {
                            cursor = e.rv;
                            if *e.res != res { continue; }
                            if let Some(n) = &ns && &e.key.0 != n { continue; }
                            let is = |o: &Value| label.matches(o) && field.matches(o, &field_keys);
                            let now_in = is(&e.obj);
                            let was_in = e.prev.as_deref().map(is).unwrap_or(false);
                            let ty = match e.ty {
                                EventType::Added => now_in.then_some("ADDED"),
                                EventType::Modified => match (was_in, now_in) {
                                    (true, true) => Some("MODIFIED"),
                                    (false, true) => Some("ADDED"),
                                    (true, false) => Some("DELETED"),
                                    (false, false) => None,
                                },
                                EventType::Deleted => was_in.then_some("DELETED"),
                            };
                            if let Some(t) = ty { out.push((t, e.obj.clone())); }
                        }
                        cursor = cursor.max(st.store.rv());
                        Ok(out)
                    }
                }
            };
            match batch {
                Err(e) => {
                    let b = encode("ERROR", &e.body);
                    counter2.add(b.len());
                    yield Ok(b);
                    return;
                }
                Ok(list) => {
                    for (t, o) in list {
                        let b = encode(t, &o);
                        counter2.add(b.len());
                        yield Ok(b);
                    }
                }
            }
            tokio::select! {
                r = rv_rx.changed() => { if r.is_err() { return; } }
                _ = drop_rx.changed() => { return; }
                _ = tokio::time::sleep_until(deadline) => { return; }
                _ = tokio::time::sleep_until(next_bookmark) => {
                    next_bookmark = tokio::time::Instant::now() + bookmark_every;
                    if bookmarks {
                        let b = encode("BOOKMARK", &bookmark(cursor, false));
                        counter2.add(b.len());
                        yield Ok(b);
                    }
                }
            }
        }
    };
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    common_headers(inner, h);
    resp.extensions_mut().insert(counter);
    Ok(Reply {
        resp,
        bytes: 0,
        body_text: None,
    })
}
