//! The request pipeline: parse, fault injection, authentication, routing to the handler of the
//! route, and the request log entry of every request.
//!
//! Resource verbs live in `crud/`, watches in `watch.rs`, discovery and OpenAPI in their own
//! modules; this module does not build resource responses itself, and holds no state of its own.

use crate::faults::{Fault, Fired, RejectForm, Target};
use crate::log::{LogEntry, redact_body};
use crate::reply::{Reply, error_reply, json_reply, raw_reply};
use crate::request::{Req, Route, is_write, route, verb_of};
use crate::state::{Config, Inner};
use crate::{admin, crud, discovery, openapi, status, watch};
use axum::body::Body;
use bytes::Bytes;
use http::{Method, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::time::Instant;

/// Largest request body accepted (the real default is 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Marker extension on a response that must become a refused connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefuseConnection;

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
        dry_run,
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
                        let _ = crud::concurrent_write(
                            &inner,
                            &target,
                            &field_manager,
                            &patch,
                            patch_type,
                        );
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
        .get::<watch::StreamCounter>()
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
        return admin::handle(inner, r, p);
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
            discovery::handle(inner, r, rt)
        }
        Route::OpenApiV3 | Route::OpenApiV3Doc(_) => openapi::handle(inner, r, rt),
        Route::OpenApiV2 => error_reply(inner, &status::path_not_found()),
        Route::Res(rp) if verb == Some("watch") => match watch::start(inner, r, rp) {
            Ok(reply) => reply,
            Err(e) => error_reply(inner, &e),
        },
        Route::Res(rp) => crud::handle(inner, r, rp, verb.unwrap_or("get")).await,
        Route::Admin(_) | Route::NotFound => error_reply(inner, &status::path_not_found()),
    }
}
