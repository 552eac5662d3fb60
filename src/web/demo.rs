//! Demo mode (`fabsync serve --demo`): a page and routes that break and repair the in-process
//! simulated world — the cluster or NetBox unreachable, or refusing fabsync's token — so a person
//! or a browser test can watch Sync Now fail with the cause and recover.
//!
//! It also serves the simulated cluster's own Kubernetes API under [`CLUSTER_PREFIX`], so a
//! person with kubectl (or a test with kube-rs) can see what the demo wrote.
//!
//! These routes exist only when [`super::AppState::demo`] is set. They act through
//! [`super::DemoControls`] only (on the simulated systems); they never touch fabsync's store or a
//! real system.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::controls::{CLUSTER_PREFIX, DemoFault, DemoHooks};
use super::error::WebError;
use super::html::{Frame, csrf_field, layout};
use super::respond::PageError;
use super::session::Access;
use super::state::Shared;

fn hooks(ctx: &Shared) -> Result<&DemoHooks, WebError> {
    ctx.app
        .demo
        .as_ref()
        .ok_or_else(|| WebError::NotFound("demo mode is off".into()))
}

/// Where a form asks to go back to (a local path only).
fn back_to(body: &[u8]) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'))
        .unwrap_or_else(|| "/demo".into())
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

pub(crate) async fn page(
    State(ctx): State<Shared>,
    Extension(access): Extension<Access>,
) -> Result<Response, PageError> {
    let h = hooks(&ctx)?;
    let active = h.active_faults();
    let about = h.controls().about();
    let (api_faults, nb_faults) = h.controls().fault_rules();
    let body = html! {
        p {
            "This fabsync syncs fabric " strong { (about.fabric) }
            " from an in-process simulated NetBox (" code { (about.netbox_url) } ") into an in-process simulated Kubernetes cluster ("
            code { (about.cluster_url) } "), seed " (about.seed) ". Nothing here reaches a real system."
        }
        table.faults {
            thead { tr { th { "Fault" } th { "What it does" } th { "State" } th {} } }
            tbody {
                @for fault in DemoFault::ALL {
                    @let (name, what) = (fault.name(), fault.description());
                    @let on = active.contains(&fault);
                    tr id={ "fault-" (name) } {
                        td { code { (name) } }
                        td { (what) }
                        td { @if on { span.badge.conn-unreachable { "on" } } @else { span.badge.conn-connected { "off" } } }
                        td {
                            @if on {
                                form method="post" action={ "/demo/faults/" (name) "/clear" } {
                                    (csrf_field(&access))
                                    button type="submit" id={ "repair-" (name) } { "Repair" }
                                }
                            } @else {
                                form method="post" action={ "/demo/faults/" (name) } {
                                    (csrf_field(&access))
                                    button.danger type="submit" id={ "break-" (name) } { "Break" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Look at the simulated cluster" }
        p {
            "Its Kubernetes API is served at " code { (CLUSTER_PREFIX) } " on this server, with the simulated cluster's own bearer token (defined in fabsync's "
            code { "sim" } " module), for example "
            code { "kubectl --server http://HOST:PORT" (CLUSTER_PREFIX) " --token … get switches.wiring.githedgehog.com" } "."
        }
        h2 { "Fault rules in the simulated servers" }
        p { "Cluster: " (api_faults) " rule(s); NetBox: " (nb_faults) " rule(s)." }
        p { a href={ "/fabrics/" (about.fabric) } { "Go to fabric " (about.fabric) } }
    };
    Ok(layout(
        &Frame {
            title: "Demo controls".into(),
            access: Some(&access),
            demo: true,
            refresh_without_js: false,
        },
        body,
    )
    .into_response())
}

fn answer(headers: &HeaderMap, body: &[u8], name: &str, on: bool, changed: bool) -> Response {
    if is_form(headers) {
        Redirect::to(&back_to(body)).into_response()
    } else {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "fault": name, "active": on, "changed": changed })),
        )
            .into_response()
    }
}

pub(crate) async fn add_fault(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let changed = hooks(&ctx)?.enable(&name)?;
    Ok(answer(&headers, &body, &name, true, changed))
}

pub(crate) async fn remove_fault(
    State(ctx): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let changed = hooks(&ctx)?.disable(&name)?;
    Ok(answer(&headers, &body, &name, false, changed))
}
