//! The HTTP face of the fake: routing NetBox's URL space, authentication, methods, headers
//! (`API-Version`, `X-Request-ID`, `Allow`, `Location`, `ETag`), list/retrieve/create/update/delete
//! and their bulk variants, `If-Match`, `OPTIONS`, faults, and the request log.
//!
//! Business rules live in `write`, `query`, `render` and `changes`; this module only wires a
//! request to them and shapes the response.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::auth::{self, Auth};
use crate::changes;
use crate::faults::{FaultKind, Mutation, Phase};
use crate::jsonw::JsonWriter;
use crate::log::{LogEntry, redact};
use crate::model::{FULL, FieldKind, Model, WRITABLE};
use crate::query::{self, Filters};
use crate::render::{Ctx, Shape};
use crate::store::{Id, Store};
use crate::util::{fmt_etag, fmt_ts};
use crate::write::{self, Actor, Tx, WriteError};
use crate::{API_VERSION, Inner, NETBOX_VERSION, PYTHON_VERSION};

/// Where a request path leads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Root,
    Status,
    App(&'static str),
    List(Model),
    Detail(Model, Option<Id>),
    Changes,
    Change(Option<Id>),
    Redirect(String),
    NotFound,
}

const APPS: &[&str] = &[
    "circuits",
    "core",
    "dcim",
    "extras",
    "ipam",
    "plugins",
    "status",
    "tenancy",
    "users",
    "virtualization",
    "vpn",
    "wireless",
];

fn route(path: &str, query: &str) -> Route {
    let Some(rest) = path.strip_prefix("/api") else {
        return Route::NotFound;
    };
    if rest.is_empty() {
        return Route::Redirect(with_query("/api/", query));
    }
    let trailing = rest.ends_with('/');
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let resolved = match parts.as_slice() {
        [] => Route::Root,
        ["status"] => Route::Status,
        [app] => match ["dcim", "ipam", "extras", "core"]
            .iter()
            .find(|a| *a == app)
        {
            Some(a) => Route::App(a),
            None => Route::NotFound,
        },
        ["core", "object-changes"] => Route::Changes,
        ["core", "object-changes", id] => Route::Change(id.parse().ok()),
        [app, endpoint] => match Model::from_endpoint(app, endpoint) {
            Some(m) => Route::List(m),
            None => Route::NotFound,
        },
        [app, endpoint, id] => match Model::from_endpoint(app, endpoint) {
            Some(m) => Route::Detail(m, id.parse().ok()),
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    };
    if !trailing && resolved != Route::NotFound {
        return Route::Redirect(with_query(&format!("{path}/"), query));
    }
    resolved
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// A response being built, plus what the request log needs to know about it.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Option<Value>,
    /// A JSON body already serialized (list pages are written straight to bytes).
    pub bytes: Option<Vec<u8>>,
    pub html: Option<String>,
    pub verb: &'static str,
    pub resource: Option<String>,
    pub name: Option<String>,
}

impl Reply {
    fn bytes(status: StatusCode, bytes: Vec<u8>) -> Reply {
        Reply {
            bytes: Some(bytes),
            body: None,
            ..Reply::json(status, Value::Null)
        }
    }

    fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            bytes: None,
            body: Some(body),
            html: None,
            verb: "get",
            resource: None,
            name: None,
        }
    }

    fn detail(status: StatusCode, detail: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "detail": detail.into() }))
    }

    fn empty(status: StatusCode) -> Reply {
        Reply {
            body: None,
            ..Reply::json(status, Value::Null)
        }
    }

    fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    fn verb(mut self, verb: &'static str) -> Reply {
        self.verb = verb;
        self
    }
}

fn not_found_page() -> Reply {
    let html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head><title>Page Not Found | NetBox</title></head>\n<body><h1>Page Not Found</h1><p>The requested page does not exist.</p></body>\n</html>\n";
    Reply {
        status: StatusCode::NOT_FOUND,
        headers: Vec::new(),
        bytes: None,
        body: None,
        html: Some(html.to_string()),
        verb: "get",
        resource: None,
        name: None,
    }
}

fn allow(route: &Route) -> Option<&'static str> {
    Some(match route {
        Route::Root | Route::Status | Route::App(_) | Route::Changes | Route::Change(_) => {
            "GET, HEAD, OPTIONS"
        }
        Route::List(m) if !m.meta().writable => "GET, HEAD, OPTIONS",
        Route::Detail(m, _) if !m.meta().writable => "GET, HEAD, OPTIONS",
        Route::List(m) if m.meta().trace => "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE",
        Route::List(_) => "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
        Route::Detail(m, _) if m.meta().trace => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS, TRACE",
        Route::Detail(..) => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
        Route::Redirect(_) | Route::NotFound => return None,
    })
}

fn resource_of(route: &Route) -> Option<String> {
    match route {
        Route::List(m) | Route::Detail(m, _) => Some(m.resource()),
        Route::Changes | Route::Change(_) => Some("core.object-changes".into()),
        Route::Status => Some("status".into()),
        Route::Root => Some("api".into()),
        Route::App(a) => Some(a.to_string()),
        _ => None,
    }
}

/// Everything a handler needs about the request.
struct Req<'a> {
    method: Method,
    path: &'a str,
    params: Vec<(String, String)>,
    base: String,
    headers: &'a HeaderMap,
    body: &'a [u8],
    request_id: String,
}

impl Req<'_> {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn url(&self) -> String {
        format!("{}{}", self.base, self.path)
    }

    fn brief(&self) -> bool {
        self.method == Method::GET && self.param("brief").is_some_and(|b| !b.is_empty())
    }
}

/// Python's `json` error text for a body that is not valid JSON.
fn json_error(body: &[u8], e: &serde_json::Error) -> String {
    let text = String::from_utf8_lossy(body);
    let line = e.line().max(1);
    let col = e.column();
    let mut pos = 0usize;
    for (i, l) in text.split('\n').enumerate() {
        if i + 1 == line {
            pos += l.chars().take(col.saturating_sub(1)).count();
            break;
        }
        pos += l.chars().count() + 1;
    }
    let msg = e.to_string();
    let (what, pos) = if e.is_eof() {
        ("Expecting value", text.chars().count())
    } else if msg.contains("trailing characters") {
        ("Extra data", pos)
    } else if msg.contains("key must be a string") || msg.contains("expected ident") {
        ("Expecting property name enclosed in double quotes", pos)
    } else if msg.contains("expected `,` or `}`") || msg.contains("expected `,` or `]`") {
        ("Expecting ',' delimiter", pos)
    } else if msg.contains("expected `:`") {
        ("Expecting ':' delimiter", pos)
    } else {
        ("Expecting value", pos)
    };
    let before = &text.chars().take(pos).collect::<String>();
    let line_no = before.matches('\n').count() + 1;
    let col_no = pos
        - before
            .rfind('\n')
            .map_or(0, |i| before[..=i].chars().count())
        + 1;
    format!("JSON parse error - {what}: line {line_no} column {col_no} (char {pos})")
}

/// Parses a write body: 415 for a non-JSON content type, 400 for malformed JSON.
fn body_json(req: &Req) -> Result<Value, Box<Reply>> {
    let ct = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if req.body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    if mime != "application/json" && !mime.ends_with("+json") {
        return Err(Box::new(Reply::detail(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Unsupported media type \"{ct}\" in request."),
        )));
    }
    serde_json::from_slice(req.body).map_err(|e| {
        Box::new(Reply::detail(
            StatusCode::BAD_REQUEST,
            json_error(req.body, &e),
        ))
    })
}

fn write_error(e: WriteError) -> Reply {
    match e {
        WriteError::Invalid(map) => Reply::json(StatusCode::BAD_REQUEST, Value::Object(map)),
        WriteError::Conflict(detail) => Reply::detail(StatusCode::CONFLICT, detail),
        WriteError::Server(body) => Reply::json(StatusCode::INTERNAL_SERVER_ERROR, body),
    }
}

fn fields_filter(req: &Req) -> Option<(Vec<String>, bool)> {
    if let Some(f) = req.param("fields") {
        return Some((f.split(',').map(|s| s.trim().to_string()).collect(), true));
    }
    req.param("omit")
        .map(|o| (o.split(',').map(|s| s.trim().to_string()).collect(), false))
}

fn shape(v: Value, filter: &Option<(Vec<String>, bool)>) -> Value {
    let (Some((names, keep)), Value::Object(map)) = (filter, &v) else {
        return v;
    };
    Value::Object(
        map.iter()
            .filter(|(k, _)| names.contains(k) == *keep)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Writes one object as the request asks for it (`?brief`, `?fields`, `?omit`).
fn write_one(
    ctx: &Ctx,
    w: &mut JsonWriter,
    m: Model,
    id: Id,
    req: &Req,
    filter: &Option<(Vec<String>, bool)>,
) {
    let Some(rec) = ctx.store.get(m, id) else {
        w.null();
        return;
    };
    let shape = if req.brief() {
        Shape::Brief
    } else {
        Shape::Full
    };
    match filter {
        Some((names, keep)) => {
            let pred = |n: &str| names.iter().any(|x| x == n) == *keep;
            ctx.write(w, m, rec, shape, Some(&pred));
        }
        None => ctx.write(w, m, rec, shape, None),
    }
}

fn etag_of(store: &Store, m: Model, id: Id) -> Option<String> {
    store.get(m, id).map(|r| fmt_etag(r.last_updated))
}

fn if_match_ok(req: &Req, current: Option<String>) -> Result<(), Box<Reply>> {
    let Some(h) = req
        .headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    if h.trim() == "*" {
        return Ok(());
    }
    let provided: Vec<&str> = h.split(',').map(str::trim).collect();
    match current {
        Some(cur) if !provided.contains(&cur.as_str()) => Err(Box::new(
            Reply::detail(StatusCode::PRECONDITION_FAILED, "Precondition failed.")
                .header(header::ETAG, cur),
        )),
        _ => Ok(()),
    }
}

impl Inner {
    fn actor(&self, request_id: &str) -> Actor {
        Actor {
            user: changes::USER.into(),
            request_id: request_id.to_string(),
            now: self.now(),
        }
    }

    fn cached_select(
        &self,
        store: &Store,
        m: Model,
        filters: &Filters,
        ordering: &[(String, bool)],
    ) -> Arc<Vec<Id>> {
        let key = format!("{m:?}|{:?}|{ordering:?}", filters.key);
        let version = store.version;
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, _, ids)) = cache.iter().find(|(k, v, _)| *k == key && *v == version) {
                return ids.clone();
            }
        }
        let ids = Arc::new(query::select(store, m, filters, ordering));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|(_, v, _)| *v == version);
        if cache.len() >= 16 {
            cache.remove(0);
        }
        cache.push((key, version, ids.clone()));
        ids
    }
}

fn list(inner: &Inner, m: Model, req: &Req, faults: &[FaultKind]) -> Reply {
    let page = match query::page_req(&req.params) {
        Ok(p) => p,
        Err(bare) => return Reply::json(StatusCode::BAD_REQUEST, json!(bare)),
    };
    // Data changing between two pages: apply the mutation before serving this (later) page.
    for f in faults {
        if let FaultKind::ChangeBetweenPages { mutation } = f {
            mutate_between_pages(inner, m, req, mutation);
        }
    }
    let store = inner.read();
    let filters = match query::parse_filters(&store, m, &req.params) {
        Ok(f) => f,
        Err(e) => return Reply::json(StatusCode::BAD_REQUEST, Value::Object(e)),
    };
    let ordering = if page.start.is_some() {
        vec![("id".to_string(), false)]
    } else {
        req.param("ordering")
            .map(|o| query::parse_ordering(m, o))
            .unwrap_or_default()
    };
    let ids = inner.cached_select(&store, m, &filters, &ordering);
    let page = query::paginate(&ids, page, &req.url(), &req.params);
    let ctx = Ctx::new(&store, req.base.clone());
    let filter = fields_filter(req);
    let mut w = JsonWriter::with_capacity(256 + page.ids.len() * 1024);
    let mut o = w.obj();
    match page.count {
        Some(n) => o.key("count").u64(n as u64),
        None => o.key("count").null(),
    }
    for (k, link) in [("next", &page.next), ("previous", &page.previous)] {
        match link {
            Some(l) => o.key(k).str(l),
            None => o.key(k).null(),
        }
    }
    let mut results = o.key("results").arr();
    for id in &page.ids {
        write_one(&ctx, results.item(), m, *id, req, &filter);
    }
    results.end();
    o.end();
    Reply::bytes(StatusCode::OK, w.buf).verb("list")
}

fn mutate_between_pages(inner: &Inner, m: Model, req: &Req, mutation: &Mutation) {
    let request_id = inner.request_id();
    let mut store = inner.write();
    let actor = inner.actor(&request_id);
    match mutation {
        Mutation::DeleteFirst => {
            let Ok(filters) = query::parse_filters(&store, m, &req.params) else {
                return;
            };
            let ordering = req
                .param("ordering")
                .map(|o| query::parse_ordering(m, o))
                .unwrap_or_default();
            let ids = query::select(&store, m, &filters, &ordering);
            for id in ids {
                let mut tx = Tx::new(&mut store, actor.clone());
                match write::delete(&mut tx, m, id, "") {
                    Ok(()) => {
                        tx.commit();
                        break;
                    }
                    Err(_) => tx.rollback(),
                }
            }
        }
        Mutation::Create { body } => {
            let mut tx = Tx::new(&mut store, actor);
            match write::create(&mut tx, m, body) {
                Ok(_) => tx.commit(),
                Err(_) => tx.rollback(),
            }
        }
    }
}

fn retrieve(inner: &Inner, m: Model, id: Option<Id>, req: &Req) -> Reply {
    let store = inner.read();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some());
    };
    let ctx = Ctx::new(&store, req.base.clone());
    let mut w = JsonWriter::with_capacity(4096);
    write_one(&ctx, &mut w, m, id, req, &fields_filter(req));
    let mut r = Reply::bytes(StatusCode::OK, w.buf);
    if let Some(tag) = etag_of(&store, m, id) {
        r = r.header(header::ETAG, tag);
    }
    r
}

fn not_found_obj(m: Model, numeric: bool) -> Reply {
    if numeric {
        Reply::detail(
            StatusCode::NOT_FOUND,
            format!("No {} matches the given query.", m.meta().class),
        )
    } else {
        Reply::detail(StatusCode::NOT_FOUND, "Not found.")
    }
}

fn created_reply(store: &Store, m: Model, id: Id, req: &Req) -> Reply {
    let ctx = Ctx::new(store, req.base.clone());
    let body = ctx.full(m, store.get(m, id).expect("just created"));
    let mut r = Reply::json(StatusCode::CREATED, body)
        .header(header::LOCATION, ctx.url(m, id))
        .verb("create");
    if let Some(tag) = etag_of(store, m, id) {
        r = r.header(header::ETAG, tag);
    }
    r
}

fn create(inner: &Inner, m: Model, req: &Req) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("create"),
    };
    let mut store = inner.write();
    let actor = inner.actor(&req.request_id);
    if let Value::Array(items) = &body {
        let mut tx = Tx::new(&mut store, actor);
        let mut ids = Vec::new();
        let mut errors = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if !item.is_object() {
                errors.push(json!({"index": i, "errors": {"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", crate::util::py_type_name(item))]}}));
                continue;
            }
            match write::create(&mut tx, m, item) {
                Ok(id) => ids.push(id),
                Err(WriteError::Invalid(e)) => errors.push(json!({"index": i, "errors": e})),
                Err(other) => {
                    tx.rollback();
                    return write_error(other).verb("bulk_create");
                }
            }
        }
        if !errors.is_empty() {
            tx.rollback();
            return Reply::json(
                StatusCode::BAD_REQUEST,
                json!({"detail": format!("{} of {} objects could not be created.", errors.len(), items.len()), "errors": errors}),
            )
            .verb("bulk_create");
        }
        tx.commit();
        let ctx = Ctx::new(&store, req.base.clone());
        let out: Vec<Value> = ids
            .iter()
            .filter_map(|id| store.get(m, *id).map(|r| ctx.full(m, r)))
            .collect();
        return Reply::json(StatusCode::CREATED, Value::Array(out)).verb("bulk_create");
    }
    let mut tx = Tx::new(&mut store, actor);
    match write::create(&mut tx, m, &body) {
        Ok(id) => {
            tx.commit();
            created_reply(&store, m, id, req)
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("create")
        }
    }
}

fn update(inner: &Inner, m: Model, id: Option<Id>, req: &Req, partial: bool) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("update"),
    };
    let mut store = inner.write();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some()).verb("update");
    };
    if let Err(r) = if_match_ok(req, etag_of(&store, m, id)) {
        return (*r).verb("update");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    match write::update(&mut tx, m, id, &body, partial) {
        Ok(()) => {
            tx.commit();
            let ctx = Ctx::new(&store, req.base.clone());
            let mut r = Reply::json(
                StatusCode::OK,
                ctx.full(m, store.get(m, id).expect("updated")),
            )
            .verb("update");
            if let Some(tag) = etag_of(&store, m, id) {
                r = r.header(header::ETAG, tag);
            }
            r
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("update")
        }
    }
}

fn destroy(inner: &Inner, m: Model, id: Option<Id>, req: &Req) -> Reply {
    let mut store = inner.write();
    let Some(id) = id.filter(|id| store.get(m, *id).is_some()) else {
        return not_found_obj(m, id.is_some()).verb("delete");
    };
    if let Err(r) = if_match_ok(req, etag_of(&store, m, id)) {
        return (*r).verb("delete");
    }
    let message = serde_json::from_slice::<Value>(req.body)
        .ok()
        .and_then(|b| {
            b.get("changelog_message")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_default();
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    match write::delete(&mut tx, m, id, &message) {
        Ok(()) => {
            tx.commit();
            Reply::empty(StatusCode::NO_CONTENT).verb("delete")
        }
        Err(e) => {
            tx.rollback();
            write_error(e).verb("delete")
        }
    }
}

/// Validates the entries of a bulk update/delete body; returns the ids.
fn bulk_ids(body: &Value) -> Result<(Vec<Id>, Vec<Value>), Box<Reply>> {
    let Value::Array(items) = body else {
        return Err(Box::new(Reply::detail(
            StatusCode::BAD_REQUEST,
            format!(
                "Expected a list of objects, but got {}.",
                crate::util::py_type_name(body)
            ),
        )));
    };
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            errors.push(json!({"index": i, "errors": {"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {}.", crate::util::py_type_name(item))]}}));
            continue;
        };
        match obj.get("id") {
            None => errors.push(json!({"index": i, "errors": {"id": ["This field is required."]}})),
            Some(v) => match v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(id) => ids.push(id),
                None => errors
                    .push(json!({"index": i, "errors": {"id": ["A valid integer is required."]}})),
            },
        }
    }
    if !errors.is_empty() {
        return Err(Box::new(Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects failed validation.", errors.len(), items.len()), "errors": errors}),
        )));
    }
    let mut seen: Vec<(Id, usize)> = Vec::new();
    for id in &ids {
        match seen.iter_mut().find(|(s, _)| s == id) {
            Some((_, n)) => *n += 1,
            None => seen.push((*id, 1)),
        }
    }
    let dups: Vec<Value> = seen
        .iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| json!({"id": id, "errors": {"id": [format!("Each object may be specified only once; ID {id} is listed {n} times")]}}))
        .collect();
    if !dups.is_empty() {
        return Err(Box::new(Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects are listed more than once.", dups.len(), ids.len()), "errors": dups}),
        )));
    }
    Ok((ids, items.clone()))
}

fn missing_reply(store: &Store, m: Model, ids: &[Id]) -> Option<Reply> {
    let missing: Vec<Value> = ids
        .iter()
        .filter(|id| store.get(m, **id).is_none())
        .map(|id| json!({"id": id, "errors": {"id": [format!("Object with ID {id} does not exist")]}}))
        .collect();
    (!missing.is_empty()).then(|| {
        Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects could not be found.", missing.len(), ids.len()), "errors": missing}),
        )
    })
}

fn bulk_update(inner: &Inner, m: Model, req: &Req, partial: bool) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("bulk_update"),
    };
    let (ids, items) = match bulk_ids(&body) {
        Ok(v) => v,
        Err(r) => return (*r).verb("bulk_update"),
    };
    let mut store = inner.write();
    if let Some(r) = missing_reply(&store, m, &ids) {
        return r.verb("bulk_update");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    let mut errors = Vec::new();
    let mut order: Vec<Id> = ids.clone();
    order.sort_unstable();
    for id in &order {
        let pos = ids.iter().position(|x| x == id).unwrap_or(0);
        let mut data = items[pos].clone();
        if let Some(obj) = data.as_object_mut() {
            obj.remove("id");
        }
        match write::update(&mut tx, m, *id, &data, partial) {
            Ok(()) => {}
            Err(WriteError::Invalid(e)) => errors.push(json!({"id": id, "errors": e})),
            Err(other) => {
                tx.rollback();
                return write_error(other).verb("bulk_update");
            }
        }
    }
    if !errors.is_empty() {
        tx.rollback();
        return Reply::json(
            StatusCode::BAD_REQUEST,
            json!({"detail": format!("{} of {} objects could not be updated.", errors.len(), ids.len()), "errors": errors}),
        )
        .verb("bulk_update");
    }
    tx.commit();
    let ctx = Ctx::new(&store, req.base.clone());
    let mut shown = ids.clone();
    query::sort(&store, m, &mut shown, &[]);
    let out: Vec<Value> = shown
        .iter()
        .filter_map(|id| store.get(m, *id).map(|r| ctx.full(m, r)))
        .collect();
    Reply::json(StatusCode::OK, Value::Array(out)).verb("bulk_update")
}

fn bulk_delete(inner: &Inner, m: Model, req: &Req) -> Reply {
    let body = match body_json(req) {
        Ok(b) => b,
        Err(r) => return (*r).verb("bulk_delete"),
    };
    let (ids, items) = match bulk_ids(&body) {
        Ok(v) => v,
        Err(r) => return (*r).verb("bulk_delete"),
    };
    let mut store = inner.write();
    if let Some(r) = missing_reply(&store, m, &ids) {
        return r.verb("bulk_delete");
    }
    let actor = inner.actor(&req.request_id);
    let mut tx = Tx::new(&mut store, actor);
    let mut errors = Vec::new();
    let mut order = ids.clone();
    query::sort(tx.store, m, &mut order, &[]);
    for id in &order {
        let pos = ids.iter().position(|x| x == id).unwrap_or(0);
        let message = items[pos]
            .get("changelog_message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        match write::delete(&mut tx, m, *id, &message) {
            Ok(()) => {}
            Err(WriteError::Conflict(detail)) => {
                let n: usize = detail
                    .split_whitespace()
                    .nth(4)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                errors.push(json!({"id": id, "errors": {"__all__": [format!("Unable to delete: {n} dependent object(s) prevent deletion.")]}}));
            }
            Err(other) => {
                tx.rollback();
                return write_error(other).verb("bulk_delete");
            }
        }
    }
    if !errors.is_empty() {
        tx.rollback();
        return Reply::json(
            StatusCode::CONFLICT,
            json!({"detail": format!("{} of {} objects could not be deleted.", errors.len(), ids.len()), "errors": errors}),
        )
        .verb("bulk_delete");
    }
    tx.commit();
    Reply::empty(StatusCode::NO_CONTENT).verb("bulk_delete")
}

fn options(m: Model, detail: bool) -> Reply {
    let mut fields = Map::new();
    for f in m.fields() {
        if !f.is(FULL) && !f.is(WRITABLE) {
            continue;
        }
        let label = {
            let s = f.name.trim_start_matches('_').replace('_', " ");
            let mut c = s.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        };
        let label = if f.name == "id" {
            "ID".to_string()
        } else {
            label
        };
        let ty = match f.kind {
            FieldKind::Id | FieldKind::Int { .. } | FieldKind::ObjectId { .. } => "integer",
            FieldKind::Str(_)
            | FieldKind::Name(_)
            | FieldKind::NullStr(_)
            | FieldKind::Text
            | FieldKind::Slug(_)
            | FieldKind::Color(_)
            | FieldKind::Mac
            | FieldKind::Network
            | FieldKind::Address => "string",
            FieldKind::Bool(_) => "boolean",
            FieldKind::Dec { .. } => "decimal",
            FieldKind::Created | FieldKind::LastUpdated => "datetime",
            FieldKind::Date => "date",
            FieldKind::Fk(..) | FieldKind::ReqFk(..) | FieldKind::Absent => "nested object",
            _ => "field",
        };
        let mut e = Map::new();
        e.insert("type".into(), json!(ty));
        e.insert("required".into(), json!(f.is(crate::model::REQUIRED)));
        e.insert("read_only".into(), json!(!f.is(WRITABLE)));
        e.insert("label".into(), json!(label));
        match f.kind {
            FieldKind::Str(n) | FieldKind::Name(n) | FieldKind::NullStr(n) | FieldKind::Slug(n)
                if n < usize::MAX =>
            {
                e.insert("max_length".into(), json!(n));
            }
            FieldKind::Int { min, max, .. } => {
                e.insert("min_value".into(), json!(min));
                e.insert("max_value".into(), json!(max));
            }
            FieldKind::Choice { set, .. } => {
                e.insert(
                    "choices".into(),
                    Value::Array(
                        set.choices
                            .iter()
                            .map(|(v, l)| json!({"value": v, "display_name": l}))
                            .collect(),
                    ),
                );
            }
            _ => {}
        }
        fields.insert(f.name.into(), Value::Object(e));
    }
    let class = m.meta().class;
    let name = if detail {
        format!("{class} Instance")
    } else {
        format!("{class} List")
    };
    let mut actions = Map::new();
    actions.insert("PUT".into(), Value::Object(fields.clone()));
    if !detail {
        actions.insert("POST".into(), Value::Object(fields));
    }
    let mut body = json!({
        "name": name,
        "description": "",
        "renders": ["application/json", "text/html"],
        "parses": ["application/json", "multipart/form-data"],
    });
    if m.meta().writable {
        body["actions"] = Value::Object(actions);
    }
    Reply::json(StatusCode::OK, body).verb("options")
}

fn root(req: &Req) -> Reply {
    let mut map = Map::new();
    for app in APPS {
        map.insert(app.to_string(), json!(format!("{}/api/{app}/", req.base)));
    }
    Reply::json(StatusCode::OK, Value::Object(map))
}

fn app_root(app: &str, req: &Req) -> Reply {
    let mut endpoints: Vec<(String, String)> = Model::ALL
        .iter()
        .filter(|m| m.meta().app == app)
        .map(|m| {
            (
                m.meta().endpoint.to_string(),
                format!("{}/api/{app}/{}/", req.base, m.meta().endpoint),
            )
        })
        .collect();
    if app == "core" {
        endpoints.push((
            "object-changes".into(),
            format!("{}/api/core/object-changes/", req.base),
        ));
    }
    endpoints.sort();
    Reply::json(
        StatusCode::OK,
        Value::Object(endpoints.into_iter().map(|(k, v)| (k, json!(v))).collect()),
    )
}

fn status() -> Reply {
    Reply::json(
        StatusCode::OK,
        json!({
            "django-version": crate::DJANGO_VERSION,
            "hostname": "fake-netbox",
            "installed_apps": {
                "django_filters": "26.2",
                "django_prometheus": "2.4.0",
                "django_rq": "4.2.0",
                "django_tables2": "3.0.1",
                "drf_spectacular": "0.30.0",
                "drf_spectacular_sidecar": "2026.10.1",
                "mptt": "0.18.0",
                "rest_framework": "3.18.0",
                "social_django": "6.1.0",
                "taggit": "6.1.0",
                "timezone_field": "7.2.2",
            },
            "netbox-version": NETBOX_VERSION,
            "netbox-full-version": NETBOX_VERSION,
            "plugins": {},
            "python-version": PYTHON_VERSION,
            "rq-workers-running": 1,
        }),
    )
}

fn changes_list(inner: &Inner, req: &Req) -> Reply {
    let page = match query::page_req(&req.params) {
        Ok(p) => p,
        Err(bare) => return Reply::json(StatusCode::BAD_REQUEST, json!(bare)),
    };
    let preds = match changes::parse_filters(&req.params) {
        Ok(p) => p,
        Err(e) => return Reply::json(StatusCode::BAD_REQUEST, Value::Object(e)),
    };
    let store = inner.read();
    let ordering = if page.start.is_some() {
        Some("id")
    } else {
        req.param("ordering")
    };
    let ids = changes::select(&store, &preds, ordering);
    let page = query::paginate(&ids, page, &req.url(), &req.params);
    let ctx = Ctx::new(&store, req.base.clone());
    let filter = fields_filter(req);
    let results: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| store.change(*id))
        .map(|c| shape(changes::render(&ctx, c), &filter))
        .collect();
    Reply::json(
        StatusCode::OK,
        json!({"count": page.count, "next": page.next, "previous": page.previous, "results": results}),
    )
    .verb("list")
}

fn change_detail(inner: &Inner, id: Option<Id>, req: &Req) -> Reply {
    let store = inner.read();
    match id.and_then(|id| store.change(id)) {
        Some(c) => {
            let ctx = Ctx::new(&store, req.base.clone());
            Reply::json(
                StatusCode::OK,
                shape(changes::render(&ctx, c), &fields_filter(req)),
            )
        }
        None if id.is_some() => Reply::detail(
            StatusCode::NOT_FOUND,
            "No ObjectChange matches the given query.",
        ),
        None => Reply::detail(StatusCode::NOT_FOUND, "Not found."),
    }
}

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
    if let Some(ct) = content_type {
        hdrs.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    hdrs.insert(
        header::VARY,
        HeaderValue::from_static("HX-Request, Accept-Language, Cookie, origin"),
    );
    if let Some(a) = allow(&route).filter(|_| reply.status != StatusCode::INTERNAL_SERVER_ERROR) {
        hdrs.insert(header::ALLOW, HeaderValue::from_static(a));
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
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

/// The resource name of a request path (for transport-level fault matching).
pub(crate) fn resource_for_path(path: &str) -> String {
    resource_of(&route(path, "")).unwrap_or_default()
}
