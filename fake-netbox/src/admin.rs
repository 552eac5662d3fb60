//! The admin endpoint `/__fake/…`, guarded by the admin token: fault rules
//! (`GET/POST/DELETE /__fake/faults`, `DELETE /__fake/faults/<id>`), the request log
//! (`GET/DELETE /__fake/log`, JSON lines), the data as a fixture (`GET /__fake/export`) and object
//! counts (`GET /__fake/stats`).
//!
//! Admin requests are not NetBox API requests: they are neither logged nor subject to faults.

use axum::body::{Body, Bytes};
use http::{Method, Response, StatusCode, header, request::Parts};
use serde_json::{Value, json};

use crate::Inner;
use crate::faults::FaultRule;

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn json_reply(status: StatusCode, v: Value) -> Response<Body> {
    reply(
        status,
        "application/json",
        serde_json::to_vec(&v).unwrap_or_default(),
    )
}

pub(crate) fn handle(inner: &Inner, parts: &Parts, body: &Bytes) -> Response<Body> {
    let Some(admin) = &inner.admin else {
        return json_reply(
            StatusCode::NOT_FOUND,
            json!({"detail": "The admin endpoint is disabled (no admin token configured)."}),
        );
    };
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !crate::auth::matches_admin(header, admin) {
        return json_reply(
            StatusCode::FORBIDDEN,
            json!({"detail": "A valid admin token is required."}),
        );
    }
    let path = parts.uri.path().trim_end_matches('/');
    match (&parts.method, path) {
        (&Method::GET, "/__fake/faults") => json_reply(StatusCode::OK, json!(inner.faults.list())),
        (&Method::POST, "/__fake/faults") => match serde_json::from_slice::<FaultRule>(body) {
            Ok(rule) => {
                let id = inner.faults.add(rule);
                json_reply(StatusCode::CREATED, json!({"id": id}))
            }
            Err(e) => json_reply(
                StatusCode::BAD_REQUEST,
                json!({"detail": format!("invalid fault rule: {e}")}),
            ),
        },
        (&Method::DELETE, "/__fake/faults") => {
            inner.faults.clear();
            reply(StatusCode::NO_CONTENT, "application/json", Vec::new())
        }
        (&Method::DELETE, p) if p.starts_with("/__fake/faults/") => {
            match p.trim_start_matches("/__fake/faults/").parse::<u64>() {
                Ok(id) if inner.faults.remove(id) => {
                    reply(StatusCode::NO_CONTENT, "application/json", Vec::new())
                }
                _ => json_reply(StatusCode::NOT_FOUND, json!({"detail": "No such fault."})),
            }
        }
        (&Method::GET, "/__fake/log") => reply(
            StatusCode::OK,
            "application/x-ndjson",
            inner.log.to_jsonl().into_bytes(),
        ),
        (&Method::DELETE, "/__fake/log") => {
            inner.log.clear();
            reply(StatusCode::NO_CONTENT, "application/json", Vec::new())
        }
        (&Method::GET, "/__fake/export") => {
            json_reply(StatusCode::OK, crate::fixture::export(&inner.read()))
        }
        (&Method::GET, "/__fake/stats") => {
            let store = inner.read();
            let mut counts = serde_json::Map::new();
            for m in crate::model::Model::ALL {
                counts.insert(m.resource(), json!(store.count(m)));
            }
            json_reply(
                StatusCode::OK,
                json!({"objects": store.total_objects(), "object_changes": store.changes.len(), "endpoints": counts}),
            )
        }
        _ => json_reply(
            StatusCode::NOT_FOUND,
            json!({"detail": "Unknown admin endpoint."}),
        ),
    }
}
