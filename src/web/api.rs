//! The JSON API: fabrics (list, one, settings PATCH), Sync Now (`202` + task id), tasks, runs with
//! their per-object results, and the preview diff. The views defined here are also what the
//! pages' script polls.
//!
//! Handlers read the store, ask the scheduler for runs and the engine for previews; they never
//! write a fabric's status and never show a secret (settings name token sources only).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::error::WebError;
use super::respond::ApiError;
use super::settings;
use super::state::Shared;
use crate::config::FabricConfig;
use crate::engine::Preview;
use crate::store::model::opt_ts;
use crate::store::{
    ConnectionState, FabricRecord, FabricStatus, Phase, RunObject, RunRecord, TaskRecord,
};

/// Links of a fabric.
#[derive(Debug, Serialize)]
pub(crate) struct FabricLinks {
    #[serde(rename = "self")]
    this: String,
    page: String,
    runs: String,
    diff: String,
    sync: String,
}

/// A fabric as the API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct FabricView {
    pub(crate) name: String,
    pub(crate) status: FabricStatus,
    pub(crate) netbox_state: ConnectionState,
    pub(crate) cluster_state: ConnectionState,
    /// A run is in progress now.
    pub(crate) running: bool,
    pub(crate) last_run_id: Option<i64>,
    #[serde(with = "opt_ts")]
    pub(crate) last_success_at: Option<Timestamp>,
    #[serde(with = "opt_ts")]
    pub(crate) last_finished_at: Option<Timestamp>,
    pub(crate) last_error: Option<String>,
    #[serde(with = "opt_ts")]
    pub(crate) next_run_at: Option<Timestamp>,
    pub(crate) object_count: Option<u64>,
    /// Settings (token sources only, never token values).
    pub(crate) config: FabricConfig,
    links: FabricLinks,
}

pub(crate) fn fabric_view(ctx: &Shared, f: FabricRecord) -> FabricView {
    let n = &f.name;
    FabricView {
        running: ctx.app.scheduler.is_running(n),
        links: FabricLinks {
            this: format!("/api/fabrics/{n}"),
            page: format!("/fabrics/{n}"),
            runs: format!("/api/fabrics/{n}/runs"),
            diff: format!("/api/fabrics/{n}/diff"),
            sync: format!("/api/fabrics/{n}/sync"),
        },
        name: f.name,
        status: f.status,
        netbox_state: f.netbox_state,
        cluster_state: f.cluster_state,
        last_run_id: f.last_run_id,
        last_success_at: f.last_success_at,
        last_finished_at: f.last_finished_at,
        last_error: f.last_error,
        next_run_at: f.next_run_at,
        object_count: f.object_count,
        config: f.config,
    }
}

/// A task with its latest run and its fabric's state: what live progress shows.
#[derive(Debug, Serialize)]
pub(crate) struct TaskView {
    /// The task record's fields but `fabric` (the fabric is the object below: one key, once).
    #[serde(flatten)]
    task: serde_json::Map<String, Value>,
    /// SUCCESS or FAILURE: nothing more will happen.
    pub(crate) done: bool,
    /// `success`, `failure` (final or retrying), or null while queued/running.
    pub(crate) outcome: Option<&'static str>,
    /// The latest run of the task (its step while running; message and error when ended).
    pub(crate) run: Option<RunRecord>,
    /// The fabric as it stands now.
    pub(crate) fabric: FabricBrief,
    links: TaskLinks,
}

/// The parts of a fabric live progress updates.
#[derive(Debug, Serialize)]
pub(crate) struct FabricBrief {
    pub(crate) name: String,
    pub(crate) status: FabricStatus,
    pub(crate) netbox_state: ConnectionState,
    pub(crate) cluster_state: ConnectionState,
    #[serde(with = "opt_ts")]
    pub(crate) last_success_at: Option<Timestamp>,
    #[serde(with = "opt_ts")]
    pub(crate) last_finished_at: Option<Timestamp>,
    pub(crate) last_error: Option<String>,
    pub(crate) object_count: Option<u64>,
}

#[derive(Debug, Serialize)]
struct TaskLinks {
    #[serde(rename = "self")]
    this: String,
    page: String,
    run: Option<String>,
    run_page: Option<String>,
}

/// A task record as JSON fields, without `fabric` (a task view names its fabric as an object).
fn task_fields(task: TaskRecord) -> serde_json::Map<String, Value> {
    let Value::Object(mut m) = serde_json::to_value(task).expect("task records serialize") else {
        unreachable!("a task record serializes to an object")
    };
    m.remove("fabric");
    m
}

pub(crate) fn task_view(ctx: &Shared, task: TaskRecord) -> Result<TaskView, WebError> {
    let run = match task.run_id {
        Some(id) => Some(ctx.app.store.run(id)?),
        None => None,
    };
    let f = ctx.app.store.fabric(&task.fabric)?;
    let outcome = match task.state {
        Phase::Success => Some("success"),
        Phase::Failure | Phase::Retry => Some("failure"),
        Phase::Pending | Phase::Started => None,
    };
    Ok(TaskView {
        done: task.state.is_final(),
        outcome,
        links: TaskLinks {
            this: format!("/api/tasks/{}", task.id),
            page: format!("/tasks/{}", task.id),
            run: task.run_id.map(|r| format!("/api/runs/{r}")),
            run_page: task.run_id.map(|r| format!("/runs/{r}")),
        },
        fabric: FabricBrief {
            name: f.name,
            status: f.status,
            netbox_state: f.netbox_state,
            cluster_state: f.cluster_state,
            last_success_at: f.last_success_at,
            last_finished_at: f.last_finished_at,
            last_error: f.last_error,
            object_count: f.object_count,
        },
        run,
        task: task_fields(task),
    })
}

/// A run with every object's result.
#[derive(Debug, Serialize)]
struct RunView {
    #[serde(flatten)]
    run: RunRecord,
    /// Sum of cluster and NetBox requests.
    api_calls: u64,
    /// Per-object results (objects that were unchanged and fine are counted, not listed).
    objects: Vec<RunObject>,
}

pub(crate) fn parse_run_id(id: &str) -> Result<i64, WebError> {
    id.parse::<i64>()
        .map_err(|_| WebError::NotFound(format!("run {id:?} does not exist (run ids are numbers)")))
}

/// `?page=&per_page=`.
pub(crate) fn paging(
    raw: Option<&str>,
    default_per_page: usize,
) -> Result<(usize, usize), WebError> {
    let (mut page, mut per_page) = (1usize, default_per_page);
    for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let n = || {
            v.parse::<usize>()
                .map_err(|_| WebError::BadRequest(format!("{k}: {v:?} is not a whole number")))
        };
        match k.as_ref() {
            "page" => page = n()?,
            "per_page" => per_page = n()?,
            _ => {}
        }
    }
    if page == 0 || page > 10_000 {
        return Err(WebError::BadRequest(format!(
            "page: {page} must be between 1 and 10000"
        )));
    }
    if per_page == 0 || per_page > 500 {
        return Err(WebError::BadRequest(format!(
            "per_page: {per_page} must be between 1 and 500"
        )));
    }
    Ok((page, per_page))
}

/// One page of a fabric's runs, newest first, and whether older ones exist.
pub(crate) fn runs_page(
    ctx: &Shared,
    fabric: &str,
    page: usize,
    per_page: usize,
) -> Result<(Vec<RunRecord>, bool), WebError> {
    let skip = (page - 1) * per_page;
    let mut runs = ctx.app.store.runs(fabric, skip + per_page + 1)?;
    let more = runs.len() > skip + per_page;
    let page_runs: Vec<RunRecord> = runs.drain(..).skip(skip).take(per_page).collect();
    Ok((page_runs, more))
}

/// Runs the preview within the fabric's run deadline.
pub(crate) async fn preview(ctx: &Shared, fabric: &str) -> Result<Preview, WebError> {
    let rec = ctx.app.store.fabric(fabric)?;
    let limit = Duration::from_secs(rec.config.limits.deadline_secs);
    match tokio::time::timeout(limit, ctx.app.engine.preview(fabric)).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(WebError::Timeout(format!(
            "the preview of fabric {fabric:?} did not finish within {} s (the fabric's run deadline); check that NetBox and the cluster answer",
            limit.as_secs()
        ))),
    }
}

pub(crate) async fn fabrics(State(ctx): State<Shared>) -> Result<Json<Value>, ApiError> {
    let list: Vec<FabricView> = ctx
        .app
        .store
        .fabrics()?
        .into_iter()
        .map(|f| fabric_view(&ctx, f))
        .collect();
    Ok(Json(serde_json::json!({ "fabrics": list })))
}

pub(crate) async fn fabric(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<FabricView>, ApiError> {
    let f = ctx.app.store.fabric(&name)?;
    Ok(Json(fabric_view(&ctx, f)))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| v == "application/json" || v == "application/merge-patch+json")
}

pub(crate) async fn patch_fabric(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<FabricView>, ApiError> {
    let current = ctx.app.store.fabric(&name)?;
    if !is_json(&headers) {
        return Err(ApiError(WebError::UnsupportedMediaType(
            "send the settings as JSON (Content-Type: application/json or application/merge-patch+json)"
                .into(),
        )));
    }
    let patch: Value = serde_json::from_slice(&body)
        .map_err(|e| WebError::BadRequest(format!("malformed JSON: {e}")))?;
    let new = settings::apply(&current.config, &patch)?;
    if new != current.config {
        ctx.app.store.update_fabric_config(&new)?;
        ctx.app.scheduler.reload(&name)?;
        tracing::info!(fabric = %name, "settings changed through the API");
    }
    Ok(Json(fabric_view(&ctx, ctx.app.store.fabric(&name)?)))
}

pub(crate) async fn sync(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let approve = sync_approval(&headers, &body)?;
    let task =
        ctx.app
            .scheduler
            .trigger_approving(&name, crate::store::Trigger::Manual, approve)?;
    let location = format!("/api/tasks/{}", task.id);
    let view = task_view(&ctx, task)?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response())
}

/// The deletions a Sync Now request approves: `{"allow_deletes": N}` or `{"prune": true}` (all);
/// an empty body approves none.
fn sync_approval(headers: &HeaderMap, body: &[u8]) -> Result<Option<u64>, WebError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !is_json {
        return Err(WebError::UnsupportedMediaType(
            "Sync Now takes no body or a JSON object (Content-Type: application/json)".into(),
        ));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| WebError::Invalid {
        field: "body".into(),
        message: format!("the body is not JSON: {e}"),
    })?;
    let obj = v.as_object().ok_or_else(|| WebError::Invalid {
        field: "body".into(),
        message: "the body must be a JSON object".into(),
    })?;
    if let Some(k) = obj.keys().find(|k| *k != "allow_deletes" && *k != "prune") {
        return Err(WebError::Invalid {
            field: k.clone(),
            message: format!("{k}: unknown field (Sync Now takes allow_deletes or prune)"),
        });
    }
    let prune = match obj.get("prune") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(WebError::Invalid {
                field: "prune".into(),
                message: format!("prune: {other} is not true or false"),
            });
        }
    };
    let allow = match obj.get("allow_deletes") {
        None => None,
        Some(n) => Some(n.as_u64().ok_or_else(|| WebError::Invalid {
            field: "allow_deletes".into(),
            message: format!("allow_deletes: {n} is not a number of deletions"),
        })?),
    };
    Ok(if prune { Some(u64::MAX) } else { allow })
}

pub(crate) async fn task(
    State(ctx): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<TaskView>, ApiError> {
    let task = ctx.app.store.task(&id)?;
    Ok(Json(task_view(&ctx, task)?))
}

pub(crate) async fn runs(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    ctx.app.store.fabric(&name)?;
    let (page, per_page) = paging(q.as_deref(), 20)?;
    let (runs, more) = runs_page(&ctx, &name, page, per_page)?;
    Ok(Json(serde_json::json!({
        "fabric": name,
        "page": page,
        "per_page": per_page,
        "has_more": more,
        "runs": runs,
    })))
}

pub(crate) async fn run(
    State(ctx): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_run_id(&id)?;
    let run = ctx.app.store.run(id)?;
    let objects = ctx.app.store.run_objects(id)?;
    let view = RunView {
        api_calls: run.end.cluster_calls + run.end.netbox_calls,
        run,
        objects,
    };
    Ok(Json(
        serde_json::to_value(view).expect("run views serialize"),
    ))
}

pub(crate) async fn diff(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(preview(&ctx, &name).await?))
}
