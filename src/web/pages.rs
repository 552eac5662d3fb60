//! The HTML pages: fabric list, fabric detail (status, connections, last error, configuration,
//! Sync Now with live progress, run history), one run's per-object results, and the preview of
//! changes. The settings form and login/logout are `forms.rs`.
//!
//! Every page works without JavaScript: Sync Now is a form POST that redirects to the fabric page
//! showing the task, which reloads itself until the task ends (the script polls the task API
//! instead). Messages shown about a run come from its records. Pages never write a fabric's status.

use axum::extract::{Extension, Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::Timestamp;
use maud::{Markup, html};

use super::api::{paging, parse_run_id, preview as run_preview, runs_page};
use super::error::WebError;
use super::html::{
    Frame, conn_badge, csrf_field, duration, layout, phase_badge, result_badge, short,
    status_badge, time_cell,
};
use super::respond::PageError;
use super::session::Access;
use super::state::Shared;
use crate::clock::format_ts;
use crate::config::FabricConfig;
use crate::store::{Action, FabricRecord, Phase, RunRecord, TaskRecord, Trigger};

const HISTORY_PER_PAGE: usize = 20;

pub(crate) fn frame<'a>(
    ctx: &Shared,
    access: &'a Access,
    title: String,
    refresh: bool,
) -> Frame<'a> {
    Frame {
        title,
        access: Some(access),
        demo: ctx.app.demo.is_some(),
        refresh_without_js: refresh,
    }
}

fn now(ctx: &Shared) -> Timestamp {
    ctx.app.clock.now()
}

pub(crate) fn query_param(q: Option<&str>, key: &str) -> Option<String> {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn token_source(file: Option<&std::path::Path>, env: Option<&str>) -> String {
    match (file, env) {
        (Some(f), _) => format!("file {}", f.display()),
        (None, Some(e)) => format!("environment variable {e}"),
        (None, None) => "none".into(),
    }
}

fn next_run_cell(ctx: &Shared, f: &FabricRecord) -> Markup {
    if !f.config.enabled || f.config.interval_secs == 0 {
        return html! { span.none { "periodic sync off" } };
    }
    time_cell(now(ctx), f.next_run_at, "not scheduled")
}

// ----- fabric list ---------------------------------------------------------------------------

pub(crate) async fn index(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
) -> Result<Response, PageError> {
    let fabrics = ctx.app.store.fabrics()?;
    let now = now(&ctx);
    let body = html! {
        @if fabrics.is_empty() {
            p { "No fabrics are configured. Add a " code { "[[fabric]]" } " section to fabsync.toml and restart." }
        } @else {
            table.fabrics {
                thead { tr {
                    th { "Fabric" } th { "Status" } th { "Last sync" } th { "Next scheduled run" }
                    th { "Objects" } th { "Last error" }
                } }
                tbody {
                    @for f in &fabrics {
                        @let last_run = match f.last_run_id { Some(id) => ctx.app.store.run(id).ok(), None => None };
                        tr id={ "fabric-" (f.name) } {
                            td { a href={ "/fabrics/" (f.name) } { (f.name) } }
                            td {
                                (status_badge(f.status))
                                @if ctx.app.scheduler.is_running(&f.name) { " " span.running { "running" } }
                            }
                            td {
                                (time_cell(now, f.last_finished_at, "never"))
                                @if let Some(r) = &last_run {
                                    @if r.end.phase.is_final() { " " (phase_badge(r.end.phase)) }
                                }
                            }
                            td { (next_run_cell(&ctx, f)) }
                            td.num {
                                @match f.object_count { Some(n) => (n), None => span.none { "—" } }
                                @if let Some(r) = &last_run {
                                    @if r.end.phase == Phase::Success {
                                        div.sub { "last run: +" (r.end.counts.created) " ~" (r.end.counts.updated) " −" (r.end.counts.deleted) " =" (r.end.counts.unchanged) }
                                    }
                                }
                            }
                            td.error-short {
                                @match &f.last_error {
                                    Some(e) => span title=(e) { (short(e, 100)) },
                                    None => span.none { "—" },
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout(&frame(&ctx, &access, "Fabrics".into(), false), body).into_response())
}

// ----- fabric detail -------------------------------------------------------------------------

/// The live progress panel of a task (server-rendered; the script keeps it current).
fn progress_panel(ctx: &Shared, task: &TaskRecord, run: Option<&RunRecord>) -> Markup {
    let now = now(ctx);
    let outcome = match task.state {
        Phase::Success => Some(true),
        Phase::Failure | Phase::Retry => Some(false),
        _ => None,
    };
    html! {
        section #sync-progress .progress data-task-id=(task.id) data-fabric=(task.fabric)
            data-done=(if task.state.is_final() { "true" } else { "false" }) aria-live="polite" {
            h2 { "Sync task" }
            p {
                "Task " a href={ "/tasks/" (task.id) } { code { (task.id) } }
                " (" (task.trigger.as_str()) ", requested " (time_cell(now, Some(task.created_at), "")) "): "
                span.progress-state { (phase_badge(task.state)) }
                " "
                span.progress-step {
                    @match (task.state, run) {
                        (Phase::Pending, _) => "waiting for its turn",
                        (Phase::Started, Some(r)) => { "step: " (r.end.step) }
                        (Phase::Started, None) => "starting",
                        (Phase::Retry, _) => "waiting to retry",
                        _ => "",
                    }
                }
            }
            div.progress-result {
                @if let Some(ok) = outcome {
                    (result_message(task, run, ok))
                }
            }
        }
    }
}

/// The success or error message of a task, from its records.
fn result_message(task: &TaskRecord, run: Option<&RunRecord>, ok: bool) -> Markup {
    if ok {
        let text = run
            .and_then(|r| r.end.message.clone())
            .or_else(|| task.message.clone())
            .unwrap_or_default();
        html! {
            div.sync-success-message role="status" {
                strong { "Sync succeeded: " }
                span.message-text { (text) }
                @if let Some(r) = run {
                    " " a href={ "/runs/" (r.id) } { "Run " (r.id) " details" }
                }
            }
        }
    } else {
        let error = run
            .and_then(|r| r.end.error.clone())
            .or_else(|| task.message.clone())
            .unwrap_or_default();
        html! {
            div.sync-error-message role="alert" {
                strong { "Sync failed" }
                @if let Some(r) = run {
                    " (run " a href={ "/runs/" (r.id) } { (r.id) } ", step " (r.end.step)
                    @if let Some(k) = &r.end.error_kind { ", " code { (k) } }
                    ")"
                }
                ": "
                pre.message-text { (error) }
                @if task.state == Phase::Retry {
                    p.retry {
                        "fabsync retries on its own: attempt " (task.attempts + 1)
                        @if let Some(at) = task.retry_at { " at " span.retry-at { (format_ts(at)) } }
                        "."
                    }
                }
            }
        }
    }
}

fn summary_section(ctx: &Shared, f: &FabricRecord) -> Markup {
    let now = now(ctx);
    let running = ctx.app.scheduler.is_running(&f.name);
    html! {
        section #fabric-summary {
            h2 { "Status" }
            dl.summary {
                dt { "Status" }
                dd {
                    span #fabric-status-wrap { (status_badge(f.status)) }
                    @if running { " " span.running { "a run is in progress" } }
                }
                dt { "NetBox connection" } dd { (conn_badge(f.netbox_state)) }
                dt { "Cluster connection" } dd { (conn_badge(f.cluster_state)) }
                dt { "Last sync" } dd { (time_cell(now, f.last_finished_at, "never")) }
                dt { "Last successful sync" } dd { (time_cell(now, f.last_success_at, "never")) }
                dt { "Next scheduled run" } dd { (next_run_cell(ctx, f)) }
                dt { "Objects owned in the cluster" }
                dd { @match f.object_count { Some(n) => (n), None => span.none { "unknown until the first successful run" } } }
                dt { "Last run" }
                dd { @match f.last_run_id { Some(id) => a href={ "/runs/" (id) } { "Run " (id) }, None => span.none { "none yet" } } }
            }
            h2 { "Last error" }
            div #last-error {
                @match &f.last_error {
                    Some(e) => pre.error-text { (e) },
                    None => p.none { "No error: the last run succeeded, or none has run." },
                }
            }
        }
    }
}

fn config_section(f: &FabricConfig) -> Markup {
    let c = &f.cluster;
    html! {
        section #configuration {
            h2 { "Configuration" }
            table.config { tbody {
                tr { th { "NetBox" } td { code { (f.netbox.url) } } }
                tr { th { "NetBox token" } td { (token_source(f.netbox.token_file.as_deref(), f.netbox.token_env.as_deref())) } }
                tr { th { "NetBox site" } td { code { (f.site_slug()) } @if let Some(t) = &f.tag { " tag " code { (t) } } } }
                tr { th { "Cluster" } td { code { (c.describe()) } } }
                @if c.server.is_some() {
                    tr { th { "Cluster token" } td { (token_source(c.token_file.as_deref(), c.token_env.as_deref())) } }
                    tr { th { "Cluster CA" } td { @match &c.ca_file { Some(p) => code { (p.display()) }, None => "system roots" } } }
                }
                tr { th { "Namespace" } td { code { (f.namespace) } } }
                tr { th { "Periodic sync" } td {
                    @if !f.enabled || f.interval_secs == 0 { "off" }
                    @else { "every " (f.interval_secs) " s" }
                    @if !f.enabled { " (disabled)" }
                } }
                tr { th { "Conflict policy" } td { code { (f.conflict_policy.as_str()) } } }
                tr { th { "Deletions" } td {
                    "prune " code { (f.prune.as_str()) }
                    @if f.prune == crate::config::PruneMode::Auto {
                        ", without approval at most " (f.max_deletes) " and " (f.max_delete_percent) "% of the fabric's objects per run"
                    }
                } }
                tr { th { "Limits" } td {
                    (f.limits.qps) " requests/s, burst " (f.limits.burst) ", " (f.limits.concurrency)
                    " writes at once, run deadline " (f.limits.deadline_secs) " s"
                } }
            } }
        }
    }
}

fn history_section(
    ctx: &Shared,
    name: &str,
    runs: &[RunRecord],
    page: usize,
    more: bool,
) -> Markup {
    let now = now(ctx);
    html! {
        section #run-history {
            h2 { "Run history" }
            @if runs.is_empty() {
                p.none { @if page == 1 { "No runs yet." } @else { "No runs on this page." } }
            } @else {
                table.runs {
                    thead { tr {
                        th { "Run" } th { "Trigger" } th { "Started" } th { "Duration" } th { "Result" }
                        th.num { "Created" } th.num { "Updated" } th.num { "Deleted" } th.num { "Unchanged" }
                        th.num { "API calls" } th { "Message" }
                    } }
                    tbody {
                        @for r in runs {
                            tr id={ "run-" (r.id) } {
                                td { a href={ "/runs/" (r.id) } { (r.id) } }
                                td { (r.trigger.as_str()) @if r.attempt > 1 { " #" (r.attempt) } }
                                td { (time_cell(now, Some(r.started_at), "")) }
                                td { (duration(r.end.duration_ms)) }
                                td { (phase_badge(r.end.phase)) @if !r.end.phase.is_final() { " " (r.end.step) } }
                                td.num { (r.end.counts.created) } td.num { (r.end.counts.updated) }
                                td.num { (r.end.counts.deleted) } td.num { (r.end.counts.unchanged) }
                                td.num title={ "cluster " (r.end.cluster_calls) ", NetBox " (r.end.netbox_calls) } {
                                    (r.end.cluster_calls + r.end.netbox_calls)
                                }
                                td {
                                    @if let Some(e) = &r.end.error { span.error-short title=(e) { (short(e, 80)) } }
                                    @else { (r.end.message.clone().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
                nav.pager {
                    @if page > 1 { a href={ "/fabrics/" (name) "?page=" (page - 1) "#run-history" } { "← Newer runs" } }
                    " page " (page) " "
                    @if more { a href={ "/fabrics/" (name) "?page=" (page + 1) "#run-history" } { "Older runs →" } }
                }
            }
        }
    }
}

pub(crate) async fn fabric(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, PageError> {
    let f = ctx.app.store.fabric(&name)?;
    let (page, _) = paging(
        query_param(q.as_deref(), "page")
            .map(|p| format!("page={p}"))
            .as_deref(),
        HISTORY_PER_PAGE,
    )?;
    // The task to show: the one asked for, or the fabric's latest while it is not over.
    let task = match query_param(q.as_deref(), "task") {
        Some(id) => match ctx.app.store.task(&id) {
            Ok(t) if t.fabric == name => Some(t),
            Ok(_) => None,
            Err(e) => return Err(e.into()),
        },
        None => ctx
            .app
            .store
            .tasks(&name, 1)?
            .into_iter()
            .next()
            .filter(|t| !t.state.is_final()),
    };
    let run = match task.as_ref().and_then(|t| t.run_id) {
        Some(id) => Some(ctx.app.store.run(id)?),
        None => None,
    };
    let live = task.as_ref().is_some_and(|t| !t.state.is_final());
    let (runs, more) = runs_page(&ctx, &name, page, HISTORY_PER_PAGE)?;
    let saved = query_param(q.as_deref(), "saved").is_some();
    let running = ctx.app.scheduler.is_running(&name);
    let insecure_tls = crate::cluster::skips_tls_verification(&f.config.cluster, &name).await;
    let panicked = ctx
        .app
        .scheduler
        .internal_errors()
        .into_iter()
        .rfind(|e| e.fabric == name);
    let body = html! {
        @if insecure_tls {
            p.sync-error-message #insecure-tls {
                "This fabric's kubeconfig turns TLS verification off (insecure-skip-tls-verify): anyone on the path to the cluster can read and change what fabsync sends. Give the cluster's CA instead."
            }
        }
        @if let Some(e) = &panicked {
            p.sync-error-message #internal-error {
                "A run of this fabric hit an internal error at " (e.at) " and was stopped: " (e.message)
            }
        }
        @if saved { p.notice role="status" { "Settings saved; they take effect now." } }
        div.actions {
            form #sync-now-form method="post" action={ "/fabrics/" (name) "/sync" } {
                (csrf_field(&access))
                button #sync-now-button type="submit" { "Sync Now" }
            }
            a.button #preview-link href={ "/fabrics/" (name) "/preview" } { "Preview changes" }
            a.button #settings-link href={ "/fabrics/" (name) "/settings" } { "Settings" }
        }
        @if running { p.hint { "A run is in progress; Sync Now queues one more right after it." } }
        @if f.status == crate::store::FabricStatus::Held {
            p.sync-error-message #held-notice {
                (f.last_error.clone().unwrap_or_default()) " "
                a href={ "/fabrics/" (name) "/preview#sync-dialog" } { "Review the deletions and approve them" }
            }
        }
        @if let Some(t) = &task { (progress_panel(&ctx, t, run.as_ref())) }
        (summary_section(&ctx, &f))
        (config_section(&f.config))
        (history_section(&ctx, &name, &runs, page, more))
    };
    Ok(layout(&frame(&ctx, &access, format!("Fabric {name}"), live), body).into_response())
}

pub(crate) async fn sync_now(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    // The Sync dialog (the preview page) may approve the deletions it listed.
    let approve = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "allow_deletes")
        .map(|(_, v)| {
            v.parse::<u64>().map_err(|_| WebError::Invalid {
                field: "allow_deletes".into(),
                message: format!("allow_deletes: {v:?} is not a number of deletions"),
            })
        })
        .transpose()?;
    let task = ctx
        .app
        .scheduler
        .trigger_approving(&name, Trigger::Manual, approve)?;
    tracing::info!(fabric = %name, task = %task.id, approved_deletes = ?approve, "Sync Now from the UI");
    Ok(Redirect::to(&format!("/fabrics/{name}?task={}#sync-progress", task.id)).into_response())
}

pub(crate) async fn task(
    State(ctx): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let t = ctx.app.store.task(&id)?;
    Ok(Redirect::to(&format!(
        "/fabrics/{}?task={}#sync-progress",
        t.fabric, t.id
    ))
    .into_response())
}

// ----- one run -------------------------------------------------------------------------------

pub(crate) async fn run(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_run_id(&id)?;
    let r = ctx.app.store.run(id)?;
    let objects = ctx.app.store.run_objects(id)?;
    let now = now(&ctx);
    let c = &r.end.counts;
    let body = html! {
        dl.summary {
            dt { "Fabric" } dd { a href={ "/fabrics/" (r.fabric) } { (r.fabric) } }
            dt { "Task" } dd { @match &r.task_id { Some(t) => a href={ "/tasks/" (t) } { code { (t) } }, None => span.none { "none (run from the command line)" } } }
            dt { "Trigger" } dd { (r.trigger.as_str()) ", attempt " (r.attempt) }
            dt { "Result" } dd { (phase_badge(r.end.phase)) }
            dt { "Step" } dd { (r.end.step) }
            dt { "Started" } dd { (time_cell(now, Some(r.started_at), "")) }
            dt { "Finished" } dd { (time_cell(now, r.end.finished_at, "still running")) }
            dt { "Duration" } dd { (duration(r.end.duration_ms)) }
            dt { "Objects" } dd {
                (c.created) " created, " (c.updated) " updated, " (c.deleted) " deleted, "
                (c.unchanged) " unchanged, " (c.failed) " failed, " (c.skipped) " skipped"
            }
            dt { "API calls" } dd { (r.end.cluster_calls + r.end.netbox_calls) " (cluster " (r.end.cluster_calls) ", NetBox " (r.end.netbox_calls) ")" }
            dt { "Cluster writes" } dd { (r.end.writes) }
            dt { "Drift repaired" } dd { (r.end.drift) }
            @if let Some(h) = &r.holder { dt { "Replica" } dd { (h) } }
            dt { "Outcome" } dd.run-message { (r.end.message.clone().unwrap_or_default()) }
        }
        @if let Some(e) = &r.end.error {
            h2 { "Error" }
            @if let Some(k) = &r.end.error_kind { p { "Class: " code { (k) } } }
            pre.error-text #run-error { (e) }
        }
        h2 { "Objects" }
        @if objects.is_empty() {
            p.none {
                "No object needed a write"
                @if c.unchanged > 0 { " (" (c.unchanged) " unchanged)" }
                "."
            }
        } @else {
            table.objects #run-objects {
                thead { tr { th { "Kind" } th { "Namespace" } th { "Name" } th { "Action" } th { "Result" } th { "Detail" } } }
                tbody {
                    @for o in &objects {
                        tr {
                            td { (o.kind) } td { (o.namespace) } td { code { (o.name) } }
                            td { (o.action.as_str()) } td { (result_badge(o.result)) }
                            td { @if let Some(m) = &o.message { span.detail { (m) } } }
                        }
                    }
                }
            }
            @if c.unchanged > 0 {
                p.note { (c.unchanged) " unchanged object(s) needed no write and are counted, not listed." }
            }
        }
    };
    let live = !r.end.phase.is_final();
    Ok(layout(
        &frame(&ctx, &access, format!("Run {} · {}", r.id, r.fabric), live),
        body,
    )
    .into_response())
}

// ----- preview -------------------------------------------------------------------------------

pub(crate) async fn preview(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    ctx.app.store.fabric(&name)?;
    let p = run_preview(&ctx, &name).await?;
    let count = |a: Action| p.changes.iter().filter(|c| c.action == a).count();
    let fatal = p.findings.iter().any(|f| f.severity == "fatal");
    let body = html! {
        p {
            "What a sync of " a href={ "/fabrics/" (name) } { (name) } " would change now, computed from NetBox with server-side dry runs in the cluster. Nothing was written."
        }
        @if !p.findings.is_empty() {
            h2 { "Findings" }
            ul.findings {
                @for f in &p.findings {
                    li class={ "finding finding-" (f.severity) } {
                        span class={ "badge sev-" (f.severity) } { (f.severity) } " " code { (f.code) } " " (f.message)
                    }
                }
            }
        }
        @if fatal {
            p.sync-error-message { "A sync would stop before writing anything: fix the fatal findings in NetBox first." }
        }
        p #preview-summary {
            (count(Action::Create)) " to create, " (count(Action::Update)) " to update, "
            (count(Action::Delete)) " to delete, " (p.unchanged) " unchanged."
        }
        @if p.changes.is_empty() && !fatal {
            p.notice { "No changes: the cluster already holds what NetBox says." }
        } @else if !p.changes.is_empty() {
            table.changes #preview-changes {
                thead { tr { th { "Action" } th { "Kind" } th { "Name" } th { "Why" } th { "Diff" } } }
                tbody {
                    @for c in &p.changes {
                        tr class={ "change action-" (c.action.as_str()) } {
                            td { (c.action.as_str()) }
                            td { (c.kind) }
                            td { code { (c.name) } }
                            td {
                                (c.reason)
                                @if let Some(r) = &c.refused { div.sync-error-message { "The cluster would refuse it: " (r) } }
                            }
                            td {
                                details {
                                    summary { (c.fields.len()) " field(s)" }
                                    pre.diff { (c.unified) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(h) = &p.held {
            p.sync-error-message #held-deletions {
                "A sync would hold " (h.total) " deletion(s) for approval (" (h.per_kind()) "): " (h.cause_text()) "."
            }
        }
        section #sync-dialog {
            h2 { "Sync" }
            p { (count(Action::Create)) " create(s), " (count(Action::Update)) " update(s), " (count(Action::Delete)) " deletion(s)." }
            form #sync-dialog-form method="post" action={ "/fabrics/" (name) "/sync" } {
                (csrf_field(&access))
                @let deletes = count(Action::Delete);
                @if deletes > 0 {
                    label.approve {
                        input #approve-deletions type="checkbox" name="allow_deletes" value=(deletes);
                        " Approve these " (deletes) " deletion(s)"
                        @if p.held.is_some() { " (without approval the sync is held and writes nothing)" }
                    }
                }
                button #sync-dialog-button type="submit" { "Sync Now" }
            }
        }
    };
    Ok(layout(
        &frame(&ctx, &access, format!("Preview of changes · {name}"), false),
        body,
    )
    .into_response())
}
