//! Request and response plumbing shared by the handlers: the response being built ([`Reply`]),
//! the request as handlers see it ([`Req`]), body parsing with Python's JSON error texts,
//! write errors as responses, `?brief`/`?fields`/`?omit` shaping, ETags and `If-Match`.
//!
//! It does not route or decide what a request does.

use http::{HeaderMap, Method, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::jsonw::JsonWriter;
use crate::model::Model;
use crate::render::{Ctx, Shape};
use crate::store::{Id, Store};
use crate::util::fmt_etag;
use crate::write::WriteError;

/// A response being built, plus what the request log needs to know about it.
pub(super) struct Reply {
    pub(super) status: StatusCode,
    pub(super) headers: Vec<(header::HeaderName, String)>,
    pub(super) body: Option<Value>,
    /// A JSON body already serialized (list pages are written straight to bytes).
    pub(super) bytes: Option<Vec<u8>>,
    pub(super) html: Option<String>,
    pub(super) verb: &'static str,
    pub(super) resource: Option<String>,
    pub(super) name: Option<String>,
}

impl Reply {
    pub(super) fn bytes(status: StatusCode, bytes: Vec<u8>) -> Reply {
        Reply {
            bytes: Some(bytes),
            body: None,
            ..Reply::json(status, Value::Null)
        }
    }

    pub(super) fn json(status: StatusCode, body: Value) -> Reply {
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

    pub(super) fn detail(status: StatusCode, detail: impl Into<String>) -> Reply {
        Reply::json(status, json!({ "detail": detail.into() }))
    }

    pub(super) fn empty(status: StatusCode) -> Reply {
        Reply {
            body: None,
            ..Reply::json(status, Value::Null)
        }
    }

    pub(super) fn header(mut self, name: header::HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    pub(super) fn verb(mut self, verb: &'static str) -> Reply {
        self.verb = verb;
        self
    }
}

pub(super) fn not_found_page() -> Reply {
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

/// Everything a handler needs about the request.
pub(super) struct Req<'a> {
    pub(super) method: Method,
    pub(super) path: &'a str,
    pub(super) params: Vec<(String, String)>,
    pub(super) base: String,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a [u8],
    pub(super) request_id: String,
}

impl Req<'_> {
    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn url(&self) -> String {
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
pub(super) fn body_json(req: &Req) -> Result<Value, Box<Reply>> {
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

pub(super) fn write_error(e: WriteError) -> Reply {
    match e {
        WriteError::Invalid(map) => Reply::json(StatusCode::BAD_REQUEST, Value::Object(map)),
        WriteError::Conflict(detail) => Reply::detail(StatusCode::CONFLICT, detail),
        WriteError::Server(body) => Reply::json(StatusCode::INTERNAL_SERVER_ERROR, body),
    }
}

pub(super) fn fields_filter(req: &Req) -> Option<(Vec<String>, bool)> {
    if let Some(f) = req.param("fields") {
        return Some((f.split(',').map(|s| s.trim().to_string()).collect(), true));
    }
    req.param("omit")
        .map(|o| (o.split(',').map(|s| s.trim().to_string()).collect(), false))
}

pub(super) fn shape(v: Value, filter: &Option<(Vec<String>, bool)>) -> Value {
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
pub(super) fn write_one(
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

pub(super) fn etag_of(store: &Store, m: Model, id: Id) -> Option<String> {
    store.get(m, id).map(|r| fmt_etag(r.last_updated))
}

pub(super) fn if_match_ok(req: &Req, current: Option<String>) -> Result<(), Box<Reply>> {
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
