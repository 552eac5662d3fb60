//! The answer to a request: the HTTP response plus what the request log needs, and the builders
//! every handler uses (JSON, raw bytes, a `Status` error) with the headers a real apiserver sends.
//!
//! It shapes responses; it does not decide what they say.

use crate::state::Inner;
use crate::status::ApiError;
use axum::body::Body;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::Value;

/// A response ready to be sent, plus what the log needs.
pub(crate) struct Reply {
    pub resp: Response<Body>,
    pub bytes: u64,
    pub body_text: Option<String>,
}

/// Headers every response carries (`Audit-Id`, priority-and-fairness uids, no caching).
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

/// A response with a body that is already bytes.
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

/// A `Status` answer (or the plain-text body some errors have).
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
