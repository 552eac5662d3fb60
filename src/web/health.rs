//! `/healthz` (the process answers), `/readyz` (the store answers and the scheduler takes work)
//! and `/metrics` (Prometheus text format 0.0.4, or OpenMetrics when the scraper asks for it).
//!
//! The series themselves are `metrics.rs`; fabric rows and the scheduler are read at every
//! scrape. It does not change anything.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::registry::Registry;
use serde_json::json;

use super::respond::ApiError;
use super::state::Shared;

pub(crate) async fn healthz() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
}

pub(crate) async fn readyz(State(ctx): State<Shared>) -> Response {
    let store = ctx.app.store.schema_version();
    let scheduler = ctx.app.scheduler.is_alive();
    let ready = store.is_ok() && scheduler;
    // A run that panicked was stopped and failed and its fabric freed, so the replica still
    // takes work; the panics are reported here and in the run records.
    let errors = ctx.app.scheduler.internal_errors();
    let body = json!({
        "ready": ready,
        "store": match &store { Ok(_) => "ok".to_string(), Err(e) => e.to_string() },
        "scheduler": if scheduler { "running" } else { "stopped" },
        "internal_errors": errors.len(),
        "last_internal_error": errors.last(),
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"))
}

pub(crate) async fn metrics(
    State(ctx): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scrape = {
        let mut m = ctx.metrics.lock().unwrap_or_else(|p| p.into_inner());
        m.scrape(&ctx.app.store, &ctx.app.scheduler)?
    };
    let mut registry = Registry::with_prefix("fabsync");
    registry.register_collector(Box::new(scrape));
    let mut out = String::new();
    let ctype = if wants_openmetrics(&headers) {
        text::encode(&mut out, &registry).expect("writing to a String does not fail");
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        prometheus_text::encode(&mut out, &registry).expect("writing to a String does not fail");
        prometheus_text::CONTENT_TYPE
    };
    Ok(([(header::CONTENT_TYPE, ctype)], out).into_response())
}
