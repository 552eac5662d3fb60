//! The HTML forms that change something other than a sync: a fabric's settings (shown with the
//! current values, saved through the same validation as the JSON API, errors next to the field)
//! and login/logout with the access token.
//!
//! It never writes a fabric's status; settings are stored and the scheduler reloads the fabric.

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::error::WebError;
use super::html::{csrf_field, layout};
use super::pages::{frame, query_param};
use super::respond::PageError;
use super::session::{self, Access};
use super::settings;
use super::state::Shared;
use crate::config::FabricConfig;

// ----- settings ------------------------------------------------------------------------------

fn form_values(c: &FabricConfig) -> Vec<(&'static str, String)> {
    let p = |o: &Option<std::path::PathBuf>| {
        o.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    vec![
        ("namespace", c.namespace.clone()),
        ("interval_secs", c.interval_secs.to_string()),
        (
            "enabled",
            if c.enabled {
                "on".into()
            } else {
                String::new()
            },
        ),
        ("conflict_policy", c.conflict_policy.as_str().into()),
        ("tag", s(&c.tag)),
        ("prune", c.prune.as_str().into()),
        ("max_deletes", c.max_deletes.to_string()),
        ("max_delete_percent", c.max_delete_percent.to_string()),
        ("cluster_server", s(&c.cluster.server)),
        ("cluster_kubeconfig", p(&c.cluster.kubeconfig)),
        ("cluster_context", s(&c.cluster.context)),
        ("cluster_token_file", p(&c.cluster.token_file)),
        ("cluster_token_env", s(&c.cluster.token_env)),
        ("cluster_ca_file", p(&c.cluster.ca_file)),
        ("limits_qps", c.limits.qps.to_string()),
        ("limits_burst", c.limits.burst.to_string()),
        ("limits_concurrency", c.limits.concurrency.to_string()),
        ("limits_deadline_secs", c.limits.deadline_secs.to_string()),
    ]
}

/// The form field a settings error is about.
fn form_field_of(field: &str) -> String {
    match field {
        "cluster" => "cluster_server".into(),
        f => f.replace('.', "_"),
    }
}

fn settings_page(
    ctx: &Shared,
    access: &Access,
    name: &str,
    values: &[(&'static str, String)],
    error: Option<&WebError>,
) -> Markup {
    let v = |k: &str| {
        values
            .iter()
            .rev()
            .find(|(f, _)| *f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let bad_field = match error {
        Some(WebError::Invalid { field, .. }) => Some(form_field_of(field)),
        _ => None,
    };
    let field_error = |k: &str| -> Markup {
        match (&bad_field, error) {
            (Some(f), Some(e)) if f == k => {
                html! { span.field-error id={ (k) "-error" } { (e.to_string()) } }
            }
            _ => html! {},
        }
    };
    let invalid = |k: &str| {
        if bad_field.as_deref() == Some(k) {
            "true"
        } else {
            "false"
        }
    };
    let text = |k: &'static str, label: &str, help: &str| -> Markup {
        html! {
            div.field {
                label for=(k) { (label) }
                input type="text" id=(k) name=(k) value=(v(k)) aria-invalid=(invalid(k));
                @if !help.is_empty() { span.help { (help) } }
                (field_error(k))
            }
        }
    };
    let policy = v("conflict_policy");
    let prune = v("prune");
    html! {
        @if let Some(e) = error {
            div.form-error role="alert" { strong { "Not saved. " } (e.to_string()) }
        }
        form.settings method="post" action={ "/fabrics/" (name) "/settings" } novalidate {
            (csrf_field(access))
            fieldset {
                legend { "Sync" }
                (text("namespace", "Namespace", "Kubernetes namespace of the Hedgehog objects"))
                (text("interval_secs", "Interval (seconds)", "periodic sync interval; at least 10, or 0 for none"))
                div.field {
                    input type="hidden" name="enabled" value="off";
                    label for="enabled" {
                        input type="checkbox" id="enabled" name="enabled" value="on" checked[v("enabled") == "on"];
                        " Periodic sync enabled"
                    }
                    (field_error("enabled"))
                }
                div.field {
                    label for="conflict_policy" { "Conflict policy" }
                    select id="conflict_policy" name="conflict_policy" aria-invalid=(invalid("conflict_policy")) {
                        @for (p, what) in [("fail", "fail: stop, write nothing, name the field and its manager"), ("force", "force: take the fields over"), ("skip", "skip: leave those objects, sync the rest")] {
                            option value=(p) selected[policy == p] { (what) }
                        }
                    }
                    (field_error("conflict_policy"))
                }
                (text("tag", "NetBox tag", "optional: only devices with this tag belong to the fabric"))
            }
            fieldset {
                legend { "Deletions" }
                p.help { "A run that would delete more than this budget, or that finds no device in NetBox while the cluster holds the fabric's objects, is held: it writes nothing until someone approves the deletions (Preview changes → approve, or fabsync sync --allow-deletes N). Periodic runs never approve." }
                div.field {
                    label for="prune" { "Prune" }
                    select id="prune" name="prune" aria-invalid=(invalid("prune")) {
                        @for (p, what) in [("auto", "auto: delete within the budget, hold the rest"), ("confirm", "confirm: every deletion waits for approval"), ("off", "off: never delete, report them")] {
                            option value=(p) selected[prune == p] { (what) }
                        }
                    }
                    (field_error("prune"))
                }
                (text("max_deletes", "Deletions without approval", "per run"))
                (text("max_delete_percent", "… as a percentage", "of the fabric's objects in the cluster, per run"))
            }
            fieldset {
                legend { "Cluster" }
                p.help { "Give a kubeconfig (and context), or a server URL with a token source. Tokens are never entered here: name a file or an environment variable that holds one." }
                (text("cluster_server", "API server URL", "https://…; leave empty to use a kubeconfig"))
                (text("cluster_kubeconfig", "Kubeconfig file", ""))
                (text("cluster_context", "Kubeconfig context", "empty: the kubeconfig's current context"))
                (text("cluster_token_file", "Token file", "with a server URL"))
                (text("cluster_token_env", "Token environment variable", "with a server URL"))
                (text("cluster_ca_file", "CA bundle file", "PEM; empty: system roots"))
            }
            fieldset {
                legend { "Limits" }
                (text("limits_qps", "Requests per second", "to the cluster"))
                (text("limits_burst", "Burst", ""))
                (text("limits_concurrency", "Writes at once", "1–64"))
                (text("limits_deadline_secs", "Run deadline (seconds)", "a run taking longer fails"))
            }
            div.actions {
                button #save-settings type="submit" { "Save settings" }
                a.button href={ "/fabrics/" (name) } { "Cancel" }
            }
        }
        p.help { "Fabric " (name) " is read from " (ctx.app.store.fabric(name).map(|f| f.config.netbox.url).unwrap_or_default()) "; NetBox settings come from the config file." }
    }
}

pub(crate) async fn settings_form(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let f = ctx.app.store.fabric(&name)?;
    let body = settings_page(&ctx, &access, &name, &form_values(&f.config), None);
    Ok(layout(
        &frame(&ctx, &access, format!("Settings · {name}"), false),
        body,
    )
    .into_response())
}

pub(crate) async fn settings_save(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = ctx.app.store.fabric(&name)?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let result = settings::form_to_patch(&name, &form).and_then(|p| settings::apply(&f.config, &p));
    match result {
        Ok(new) => {
            if new != f.config {
                ctx.app.store.update_fabric_config(&new)?;
                ctx.app.scheduler.reload(&name)?;
                tracing::info!(fabric = %name, "settings changed in the UI");
            }
            Ok(Redirect::to(&format!("/fabrics/{name}?saved=1")).into_response())
        }
        Err(e) => {
            // Show what was typed, with the message next to the field.
            let mut values = form_values(&f.config);
            for (k, v) in &form {
                if let Some(key) = settings::FORM_FIELDS.iter().find(|f| **f == k.as_str()) {
                    values.push((key, v.clone()));
                }
            }
            let page = settings_page(&ctx, &access, &name, &values, Some(&e));
            Ok((
                e.status(),
                layout(
                    &frame(&ctx, &access, format!("Settings · {name}"), false),
                    page,
                ),
            )
                .into_response())
        }
    }
}

// ----- login ---------------------------------------------------------------------------------

fn safe_next(next: Option<String>) -> String {
    next.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/".into())
}

fn login_page(ctx: &Shared, access: &Access, next: &str, error: Option<&str>) -> Markup {
    layout(
        &frame(ctx, access, "Log in".into(), false),
        html! {
            @if let Some(e) = error { div.form-error role="alert" { (e) } }
            form.login method="post" action="/login" {
                (csrf_field(access))
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="token" { "Access token" }
                    input type="password" id="token" name="token" autocomplete="current-password" required;
                    span.help { "The content of the file given to " code { "fabsync serve --auth-token-file" } "." }
                }
                button #login-button type="submit" { "Log in" }
            }
        },
    )
}

pub(crate) async fn login_form(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    RawQuery(q): RawQuery,
) -> Response {
    let next = safe_next(query_param(q.as_deref(), "next"));
    if !access.auth_required || access.session.authenticated {
        return Redirect::to(&next).into_response();
    }
    login_page(&ctx, &access, &next, None).into_response()
}

pub(crate) async fn login(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
    body: Bytes,
) -> Response {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
    let next = safe_next(field("next"));
    if !access.auth_required {
        return Redirect::to(&next).into_response();
    }
    if let Some(wait) = ctx.logins.refused() {
        return throttled(wait);
    }
    let token = field("token").unwrap_or_default();
    if !ctx.keys.token_matches(token.trim()) {
        ctx.logins.failed();
        tracing::warn!("failed login: wrong access token");
        return (
            StatusCode::UNAUTHORIZED,
            login_page(
                &ctx,
                &access,
                &next,
                Some("That is not fabsync's access token. Use the content of the file given to --auth-token-file."),
            ),
        )
            .into_response();
    }
    // A new session id on login (no fixation of the pre-login one).
    let session = ctx.keys.new_session(ctx.app.clock.now().as_second(), true);
    let mut resp = Redirect::to(&next).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        session::session_cookie(&ctx.keys, &session, access.https),
    );
    resp
}

/// 429 with `Retry-After` for a throttled login.
pub(crate) fn throttled(wait: std::time::Duration) -> Response {
    let secs = wait.as_secs().max(1);
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, secs.to_string())],
        format!(
            "too many failed logins: try again in {secs} s (at most {} failures per {} s)",
            super::throttle::MAX_FAILURES,
            super::throttle::WINDOW.as_secs()
        ),
    )
        .into_response()
}

pub(crate) async fn logout(Extension(access): Extension<Access>) -> Response {
    let mut resp = Redirect::to(if access.auth_required { "/login" } else { "/" }).into_response();
    let cookie: HeaderValue = session::clear_cookie(access.https);
    resp.headers_mut().append(header::SET_COOKIE, cookie);
    resp
}
