//! The HTTP face of the fake: routing NetBox's URL space, authentication, methods, headers
//! (`API-Version`, `X-Request-ID`, `Allow`, `Location`, `ETag`), list/retrieve/create/update/delete
//! and their bulk variants, `If-Match`, `OPTIONS`, faults, and the request log.
//!
//! Business rules live in `write`, `query`, `render` and `changes`; this module only wires a
//! request to them and shapes the response.
//!
//! Parts: [`route`] (URL space, `Allow`), [`reply`] (request and response plumbing, field
//! selection, `If-Match`), [`objects`] (list/retrieve/create/update/delete, object changes),
//! [`bulk`] (bulk update/delete), [`describe`] (`OPTIONS`, API roots, status). This file handles a
//! request end to end and dispatches it.

mod bulk;
mod describe;
mod objects;
mod reply;
mod route;

pub(crate) use route::resource_for_path;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::auth::{self, Auth};
use crate::faults::{FaultKind, Phase};
use crate::log::{LogEntry, redact};
use crate::util::fmt_ts;
use crate::{API_VERSION, Inner, NETBOX_VERSION, PYTHON_VERSION};
use bulk::{bulk_delete, bulk_update};
use describe::{app_root, options, root, status};
use objects::{change_detail, changes_list, create, destroy, list, retrieve, update};
use reply::{Reply, Req, not_found_page};
use route::{Route, allow, resource_of, route};

fn method_not_allowed(method: &Method) -> Reply {
    Reply::detail(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method \"{method}\" not allowed."),
    )
}

fn dispatch(inner: &Inner, route: &Route, req: &Req, faults: &[FaultKind]) -> Reply {
    use Method as Mth;
    match route {
        Route::Root => match req.method {
            Mth::GET | Mth::HEAD => root(req),
            Mth::OPTIONS => Reply::json(
                StatusCode::OK,
                json!({"name": "Api Root", "description": "", "renders": ["application/json", "text/html"], "parses": ["application/json", "multipart/form-data"]}),
            ),
            _ => method_not_allowed(&req.method),
        },
        Route::Status => match req.method {
            Mth::GET | Mth::HEAD => status(),
            _ => method_not_allowed(&req.method),
        },
        Route::App(app) => match req.method {
            Mth::GET | Mth::HEAD => app_root(app, req),
            _ => method_not_allowed(&req.method),
        },
        Route::Changes => match req.method {
            Mth::GET | Mth::HEAD => changes_list(inner, req),
            _ => method_not_allowed(&req.method),
        },
        Route::Change(id) => match req.method {
            Mth::GET | Mth::HEAD => change_detail(inner, *id, req),
            _ => method_not_allowed(&req.method),
        },
        Route::List(m) => match req.method {
            Mth::GET | Mth::HEAD => list(inner, *m, req, faults),
            Mth::OPTIONS => options(*m, false),
            _ if !m.meta().writable => method_not_allowed(&req.method),
            Mth::POST => create(inner, *m, req),
            Mth::PUT => bulk_update(inner, *m, req, false),
            Mth::PATCH => bulk_update(inner, *m, req, true),
            Mth::DELETE => bulk_delete(inner, *m, req),
            _ => method_not_allowed(&req.method),
        },
        Route::Detail(m, id) => match req.method {
            Mth::GET | Mth::HEAD => retrieve(inner, *m, *id, req),
            Mth::OPTIONS => options(*m, true),
            _ if !m.meta().writable => method_not_allowed(&req.method),
            Mth::PUT => update(inner, *m, *id, req, false),
            Mth::PATCH => update(inner, *m, *id, req, true),
            Mth::DELETE => destroy(inner, *m, *id, req),
            _ => method_not_allowed(&req.method),
        },
        Route::Redirect(_) | Route::NotFound => not_found_page(),
    }
}

fn fault_reply(kind: &FaultKind) -> Option<Reply> {
    match kind {
        FaultKind::Status { status } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if code == StatusCode::INTERNAL_SERVER_ERROR {
                Some(Reply::json(
                    code,
                    json!({"error": "Injected server error", "exception": "Exception", "netbox_version": NETBOX_VERSION, "python_version": PYTHON_VERSION}),
                ))
            } else {
                let reason = code.canonical_reason().unwrap_or("Error");
                Some(Reply {
                    html: Some(format!(
                        "<html>\r\n<head><title>{} {reason}</title></head>\r\n<body>\r\n<center><h1>{} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
                        code.as_u16(),
                        code.as_u16()
                    )),
                    ..Reply::empty(code)
                })
            }
        }
        FaultKind::TooManyRequests { retry_after_secs } => Some(
            Reply::detail(
                StatusCode::TOO_MANY_REQUESTS,
                format!("Request was throttled. Expected available in {retry_after_secs} seconds."),
            )
            .header(header::RETRY_AFTER, retry_after_secs.to_string()),
        ),
        _ => None,
    }
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Handles one HTTP request end to end (the router's only handler).
pub(crate) async fn handle(inner: Arc<Inner>, req: Request<Body>) -> Response<Body> {
    let started = tokio::time::Instant::now();
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 512 * 1024 * 1024)
        .await
        .unwrap_or_else(|_| Bytes::new());
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    if path.starts_with("/__fake/") || path == "/__fake" {
        return crate::admin::handle(&inner, &parts, &body);
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost")
        .to_string();
    let request_id = inner.request_id();
    let route = route(&path, &query);
    let resource = resource_of(&route);
    let method = parts.method.clone();
    let params = query_pairs(&query);
    let later_page = params
        .iter()
        .any(|(k, v)| (k == "offset" && v.parse::<u64>().is_ok_and(|n| n > 0)) || k == "start");
    let is_list_get = matches!(route, Route::List(_)) && method == Method::GET;
    let fired = inner.faults.fire(
        Phase::Request,
        method.as_str(),
        resource.as_deref().unwrap_or(""),
        &path,
        &|k| match k {
            FaultKind::ChangeBetweenPages { .. } => is_list_get && later_page,
            _ => !matches!(route, Route::NotFound | Route::Redirect(_)),
        },
    );
    for f in &fired {
        if let FaultKind::Latency { millis } = f {
            tokio::time::sleep(std::time::Duration::from_millis(*millis)).await;
        }
    }
    let bad_token = fired.contains(&FaultKind::BadToken);
    let auth_header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let auth = auth::check(auth_header, &inner.tokens, bad_token);
    let auth_label = match &auth {
        Auth::Ok { scheme, .. } => *scheme,
        Auth::Denied { scheme, .. } => *scheme,
    };
    let r = Req {
        method: method.clone(),
        path: &path,
        params,
        base: format!("http://{host}"),
        headers: &parts.headers,
        body: &body,
        request_id: request_id.clone(),
    };
    let mut reply = match &route {
        Route::NotFound => not_found_page(),
        Route::Redirect(to) => {
            Reply::empty(StatusCode::MOVED_PERMANENTLY).header(header::LOCATION, to.clone())
        }
        _ => {
            if let Some(fr) = fired.iter().find_map(fault_reply) {
                fr
            } else {
                match &auth {
                    Auth::Denied { detail, .. } => Reply::detail(StatusCode::FORBIDDEN, *detail),
                    Auth::Ok { write, .. } => {
                        let safe = matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
                        if !safe && !write {
                            Reply::detail(StatusCode::FORBIDDEN, auth::NO_PERMISSION)
                        } else if !matches!(
                            method,
                            Method::GET
                                | Method::HEAD
                                | Method::OPTIONS
                                | Method::POST
                                | Method::PUT
                                | Method::PATCH
                                | Method::DELETE
                        ) {
                            method_not_allowed(&method)
                        } else {
                            dispatch(&inner, &route, &r, &fired)
                        }
                    }
                }
            }
        }
    };
    if reply.resource.is_none() {
        reply.resource = resource.clone();
    }
    if let Route::Detail(_, Some(id)) | Route::Change(Some(id)) = route {
        reply.name = Some(id.to_string());
    }
    if reply.verb == "get" {
        reply.verb = match (&route, &method) {
            (Route::List(_) | Route::Changes, _) => "list",
            (_, &Method::OPTIONS) => "options",
            (_, &Method::POST) => "create",
            (_, &Method::PUT | &Method::PATCH) => "update",
            (_, &Method::DELETE) => "delete",
            _ => "get",
        };
    }
    // Serialize, then apply body faults.
    let mut fault_name: Option<String> = fired.first().map(|f| f.name().to_string());
    let (mut bytes, content_type) = match (&reply.body, &reply.html) {
        (_, Some(html)) => (html.clone().into_bytes(), Some("text/html; charset=utf-8")),
        (None, None) if reply.bytes.is_some() => (
            reply.bytes.take().unwrap_or_default(),
            Some("application/json"),
        ),
        (Some(v), None) => (
            serde_json::to_vec(v).unwrap_or_default(),
            Some("application/json"),
        ),
        (None, None) => (Vec::new(), None),
    };
    for f in &fired {
        match f {
            FaultKind::Truncated if !bytes.is_empty() => {
                let cut = bytes.len() / 2;
                bytes.truncate(cut);
                fault_name = Some(f.name().into());
            }
            FaultKind::Malformed if !bytes.is_empty() => {
                bytes = b"{\"count\": 3, \"results\": [{\"id\": 1,, }".to_vec();
                fault_name = Some(f.name().into());
            }
            _ => {}
        }
    }
    let mut builder = Response::builder().status(reply.status);
    let hdrs = builder.headers_mut().expect("fresh builder");
    hdrs.insert(header::SERVER, HeaderValue::from_static("gunicorn"));
    if matches!(route, Route::Redirect(_)) {
        // Django's slash redirect answers before NetBox's API and security middleware: an empty
        // HTML page, no API-Version, no X-Request-ID, none of the security headers.
        hdrs.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        hdrs.insert(
            header::VARY,
            HeaderValue::from_static("Accept-Language, Cookie, origin"),
        );
        hdrs.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
        for (name, value) in &reply.headers {
            if let Ok(v) = HeaderValue::from_str(value) {
                hdrs.insert(name.clone(), v);
            }
        }
    } else {
        common_headers(hdrs, content_type, &route, &reply, &request_id);
    }
    let response_bytes = bytes.len();
    let entry = LogEntry {
        seq: 0,
        server: "netbox",
        time: fmt_ts(inner.now()),
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        status: reply.status.as_u16(),
        request_bytes: body.len(),
        response_bytes,
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        auth: auth_label,
        verb: reply.verb.to_string(),
        resource: reply.resource.clone(),
        namespace: None,
        name: reply.name.clone(),
        dry_run: false,
        write: !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS)
            && reply.resource.is_some(),
        fault: fault_name,
        request_body: inner
            .log_bodies
            .then(|| {
                serde_json::from_slice::<Value>(&body)
                    .ok()
                    .map(|v| redact(&v))
            })
            .flatten(),
        response_body: inner
            .log_bodies
            .then(|| match &reply.body {
                Some(v) => Some(redact(v)),
                None => serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .map(|v| redact(&v)),
            })
            .flatten(),
    };
    inner.log.push(entry);
    let body = if method == Method::HEAD {
        Vec::new()
    } else {
        bytes
    };
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Logs a request that never reached the server (refused connection).
pub(crate) fn log_refused(inner: &Inner, method: &str, uri: &http::Uri) {
    let path = uri.path().to_string();
    let route = route(&path, uri.query().unwrap_or(""));
    inner.log.push(LogEntry {
        seq: 0,
        server: "netbox",
        time: fmt_ts(inner.now()),
        method: method.to_string(),
        path,
        query: uri.query().unwrap_or("").to_string(),
        status: 0,
        request_bytes: 0,
        response_bytes: 0,
        duration_ms: 0.0,
        user_agent: None,
        auth: "none",
        verb: "connect".into(),
        resource: resource_of(&route),
        namespace: None,
        name: None,
        dry_run: false,
        write: false,
        fault: Some("unreachable".into()),
        request_body: None,
        response_body: None,
    });
}

/// The headers of every answer NetBox's API gives (after its middleware ran).
fn common_headers(
    hdrs: &mut http::HeaderMap,
    content_type: Option<&'static str>,
    route: &Route,
    reply: &Reply,
    request_id: &str,
) {
    if let Some(ct) = content_type {
        hdrs.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    hdrs.insert(
        header::VARY,
        HeaderValue::from_static("HX-Request, Accept-Language, Cookie, origin"),
    );
    if let Some(a) = allow(route).filter(|_| reply.status != StatusCode::INTERNAL_SERVER_ERROR) {
        hdrs.insert(header::ALLOW, HeaderValue::from_static(a));
    }
    if let Ok(v) = HeaderValue::from_str(request_id) {
        hdrs.insert("x-request-id", v);
    }
    hdrs.insert("api-version", HeaderValue::from_static(API_VERSION));
    hdrs.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    hdrs.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    hdrs.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    hdrs.insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
    hdrs.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static("en"));
    for (name, value) in &reply.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            hdrs.insert(name.clone(), v);
        }
    }
}
