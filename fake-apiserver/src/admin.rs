//! The admin endpoint no real client uses: `/__fake/faults` (GET lists, POST adds, DELETE clears
//! all or `?id=N`) and `/__fake/log` (JSON lines), guarded by the admin token.
//!
//! It translates HTTP to the programmatic `Faults` and `RequestLog` APIs; nothing more.

use crate::faults::Fault;
use crate::reply::{Reply, error_reply, json_reply, raw_reply};
use crate::request::Req;
use crate::state::Inner;
use crate::status;
use bytes::Bytes;
use http::Method;
use serde_json::json;

pub(crate) fn handle(inner: &Inner, r: &Req, path: &str) -> Reply {
    let Some(admin) = inner.cfg.admin_token.as_deref() else {
        return error_reply(inner, &status::path_not_found());
    };
    let ok = r
        .authorization
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == admin);
    if !ok {
        return error_reply(inner, &status::unauthorized());
    }
    match (path, &r.method) {
        ("faults", &Method::GET) => json_reply(
            inner,
            200,
            &json!({"faults": inner.faults.list()}),
            "application/json",
            &[],
        ),
        ("faults", &Method::POST) => match serde_json::from_slice::<Fault>(&r.body) {
            Ok(f) => match inner.faults.add(f) {
                Ok(id) => json_reply(inner, 201, &json!({"id": id}), "application/json", &[]),
                Err(e) => error_reply(inner, &status::bad_request(e.to_string())),
            },
            Err(e) => error_reply(inner, &status::bad_request(format!("fault: {e}"))),
        },
        ("faults", &Method::DELETE) => {
            match r.q("id").and_then(|i| i.parse::<u64>().ok()) {
                Some(id) => {
                    if !inner.faults.remove(id) {
                        return error_reply(
                            inner,
                            &status::bad_request(format!("fault {id} not found")),
                        );
                    }
                }
                None => inner.faults.clear(),
            }
            json_reply(
                inner,
                200,
                &json!({"faults": inner.faults.list()}),
                "application/json",
                &[],
            )
        }
        ("log", &Method::GET) => raw_reply(
            inner,
            200,
            Bytes::from(inner.log.to_jsonl()),
            "application/jsonl",
            &[],
        ),
        ("log", &Method::DELETE) => {
            inner.log.clear();
            json_reply(inner, 200, &json!({}), "application/json", &[])
        }
        _ => error_reply(inner, &status::path_not_found()),
    }
}
