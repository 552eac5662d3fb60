//! `/healthz` (the process answers), `/readyz` (the store answers and the scheduler takes work)
//! and `/metrics` (OpenMetrics text, which Prometheus scrapes natively).
//!
//! Metrics are computed at scrape time from the store's run records (so they survive restarts)
//! and from the scheduler; nothing is counted in memory. It does not change anything.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde_json::json;

use super::Shared;
use super::error::ApiError;
use crate::store::{FabricStatus, Phase};

type Labels = Vec<(&'static str, String)>;

/// Buckets of the run duration histogram, in seconds.
const DURATION_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS.iter().copied())
}

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
    let body = json!({
        "ready": ready,
        "store": match &store { Ok(_) => "ok".to_string(), Err(e) => e.to_string() },
        "scheduler": if scheduler { "running" } else { "stopped" },
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

fn phase_label(p: Phase) -> String {
    p.as_str().to_ascii_lowercase()
}

pub(crate) async fn metrics(State(ctx): State<Shared>) -> Result<Response, ApiError> {
    let store = &ctx.app.store;
    let fabrics = store.fabrics()?;
    let runs = store.all_runs()?;

    let mut reg = Registry::with_prefix("fabsync");
    let runs_total = Family::<Labels, Counter>::default();
    let duration = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
        duration_histogram as fn() -> Histogram,
    );
    let objects = Family::<Labels, Counter>::default();
    let api_calls = Family::<Labels, Counter>::default();
    let writes = Family::<Labels, Counter>::default();
    let drift = Family::<Labels, Counter>::default();
    let last_success = Family::<Labels, Gauge>::default();
    let next_run = Family::<Labels, Gauge>::default();
    let status = Family::<Labels, Gauge>::default();
    let objects_owned = Family::<Labels, Gauge>::default();
    let running = Family::<Labels, Gauge>::default();
    let scheduler_up = Gauge::<i64>::default();

    for r in &runs {
        let fabric = r.fabric.clone();
        if r.phase.is_final() {
            runs_total
                .get_or_create(&vec![
                    ("fabric", fabric.clone()),
                    ("trigger", r.trigger.as_str().to_string()),
                    ("result", phase_label(r.phase)),
                ])
                .inc();
            if let Some(ms) = r.duration_ms {
                duration
                    .get_or_create(&vec![
                        ("fabric", fabric.clone()),
                        ("result", phase_label(r.phase)),
                    ])
                    .observe(ms as f64 / 1000.0);
            }
        }
        // Objects count as written only when their run succeeded (a failed run wrote nothing
        // or rolled back).
        if r.phase == Phase::Success {
            for (action, n) in [
                ("create", r.counts.created),
                ("update", r.counts.updated),
                ("delete", r.counts.deleted),
            ] {
                objects
                    .get_or_create(&vec![("fabric", fabric.clone()), ("action", action.into())])
                    .inc_by(n);
            }
        }
        for (server, n) in [("cluster", r.cluster_calls), ("netbox", r.netbox_calls)] {
            api_calls
                .get_or_create(&vec![("fabric", fabric.clone()), ("server", server.into())])
                .inc_by(n);
        }
        writes
            .get_or_create(&vec![("fabric", fabric.clone())])
            .inc_by(r.writes);
        drift
            .get_or_create(&vec![("fabric", fabric.clone())])
            .inc_by(r.drift);
    }
    for f in &fabrics {
        let name = vec![("fabric", f.name.clone())];
        // Every fabric has its series, even before its first run.
        for action in ["create", "update", "delete"] {
            objects
                .get_or_create(&vec![("fabric", f.name.clone()), ("action", action.into())])
                .inc_by(0);
        }
        writes.get_or_create(&name).inc_by(0);
        if let Some(t) = f
            .last_success_at
            .as_deref()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        {
            last_success.get_or_create(&name).set(t.as_second());
        }
        if let Some(t) = f
            .next_run_at
            .as_deref()
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        {
            next_run.get_or_create(&name).set(t.as_second());
        }
        for &s in FabricStatus::ALL {
            status
                .get_or_create(&vec![
                    ("fabric", f.name.clone()),
                    ("status", s.as_str().into()),
                ])
                .set(i64::from(f.status == s));
        }
        if let Some(n) = f.object_count {
            objects_owned.get_or_create(&name).set(n as i64);
        }
        running
            .get_or_create(&name)
            .set(i64::from(ctx.app.scheduler.is_running(&f.name)));
    }
    scheduler_up.set(i64::from(ctx.app.scheduler.is_alive()));

    reg.register(
        "runs",
        "Finished sync runs by fabric, trigger and result",
        runs_total,
    );
    reg.register(
        "run_duration_seconds",
        "Duration of finished sync runs",
        duration,
    );
    reg.register(
        "objects_written",
        "Objects created, updated or deleted in the cluster by successful runs",
        objects,
    );
    reg.register(
        "api_calls",
        "Requests sent to the cluster and to NetBox by sync runs",
        api_calls,
    );
    reg.register(
        "cluster_writes",
        "Cluster writes that took effect (not dry-run), all runs",
        writes,
    );
    reg.register(
        "drift_repaired",
        "Objects changed in the cluster by hand that runs put back",
        drift,
    );
    reg.register(
        "last_success_timestamp_seconds",
        "When the fabric's last successful run finished (Unix time)",
        last_success,
    );
    reg.register(
        "next_run_timestamp_seconds",
        "When the scheduler runs the fabric next (Unix time)",
        next_run,
    );
    reg.register(
        "fabric_status",
        "The fabric's status (1 for the current one)",
        status,
    );
    reg.register(
        "fabric_objects",
        "Objects fabsync owns in the cluster after the fabric's last successful run",
        objects_owned,
    );
    reg.register(
        "fabric_running",
        "Whether a run of the fabric is in progress",
        running,
    );
    reg.register(
        "scheduler_up",
        "Whether the scheduler takes work",
        scheduler_up,
    );

    let mut text = String::new();
    encode(&mut text, &reg).expect("writing to a String does not fail");
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
