//! Demo mode (`fabsync serve --demo`): a page and routes that break and repair the in-process
//! simulated world — the cluster or NetBox unreachable, or refusing fabsync's token — so a person
//! or a browser test can watch Sync Now fail with the cause and recover.
//!
//! It also serves the simulated cluster's own Kubernetes API under [`CLUSTER_PREFIX`], so a
//! person with kubectl (or a test with kube-rs) can see what the demo wrote.
//!
//! These routes exist only when [`super::AppState::demo`] is set. They act on the simulated fakes
//! only (their fault controls and the simulated connector's tokens); they never touch fabsync's
//! store or a real system.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::Shared;
use super::access::Access;
use super::error::{PageError, WebError};
use super::html::{Frame, csrf_field, layout};
use crate::sim::World;

/// Where demo mode serves the simulated cluster's Kubernetes API (for kubectl and kube-rs, with
/// the simulated cluster's bearer token).
pub const CLUSTER_PREFIX: &str = "/demo/cluster";

/// The faults demo mode offers: name and what it does.
pub const DEMO_FAULTS: &[(&str, &str)] = &[
    (
        "cluster-unreachable",
        "The Kubernetes API server refuses every connection (as if it were down).",
    ),
    (
        "cluster-unauthorized",
        "The Kubernetes API server refuses fabsync's token (HTTP 401).",
    ),
    (
        "netbox-unreachable",
        "NetBox refuses every connection (as if it were down).",
    ),
    (
        "netbox-unauthorized",
        "NetBox refuses fabsync's API token (HTTP 403).",
    ),
];

#[derive(Debug, Clone, Copy)]
enum Active {
    ApiserverFault(u64),
    NetboxFault(u64),
    ClusterToken,
    NetboxToken,
}

/// The simulated world behind `serve --demo`, and the demo faults switched on.
#[derive(Clone)]
pub struct DemoHooks {
    world: World,
    active: Arc<Mutex<BTreeMap<&'static str, Active>>>,
}

impl std::fmt::Debug for DemoHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoHooks")
            .field("world", &self.world)
            .field("active", &self.active_faults())
            .finish()
    }
}

impl DemoHooks {
    /// Hooks over a simulated world (the one `serve --demo` syncs).
    pub fn new(world: World) -> Self {
        Self {
            world,
            active: Arc::new(Mutex::new(BTreeMap::new())),
        }
    }

    /// The world.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The demo faults switched on, by name.
    pub fn active_faults(&self) -> Vec<&'static str> {
        self.lock().keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Active>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn known(name: &str) -> Result<&'static str, WebError> {
        DEMO_FAULTS
            .iter()
            .map(|(n, _)| *n)
            .find(|n| *n == name)
            .ok_or_else(|| {
                WebError::NotFound(format!(
                    "demo fault {name:?} does not exist; known: {}",
                    DEMO_FAULTS
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }

    /// Switches a demo fault on (idempotent). Returns whether it was off before.
    pub fn enable(&self, name: &str) -> Result<bool, WebError> {
        let name = Self::known(name)?;
        let mut active = self.lock();
        if active.contains_key(name) {
            return Ok(false);
        }
        let w = &self.world;
        let handle = match name {
            "cluster-unreachable" => {
                let id = w
                    .apiserver
                    .faults()
                    .add(fake_apiserver::Fault::Unreachable {
                        when: fake_apiserver::When::always(),
                    })
                    .map_err(|e| WebError::Internal(format!("demo fault {name}: {e}")))?
                    .ok_or_else(|| {
                        WebError::Internal(format!("demo fault {name}: the fault was not listed"))
                    })?;
                Active::ApiserverFault(id)
            }
            "cluster-unauthorized" => {
                w.connector.set_cluster_token("demo-wrong-cluster-token");
                Active::ClusterToken
            }
            "netbox-unreachable" => Active::NetboxFault(w.netbox.faults().add(
                fake_netbox::FaultRule::new(fake_netbox::FaultKind::Unreachable),
            )),
            "netbox-unauthorized" => {
                w.connector.set_netbox_token(
                    "nbt_demowrong00001.0000000000000000000000000000000000000000",
                );
                Active::NetboxToken
            }
            _ => unreachable!("known() returned a listed name"),
        };
        active.insert(name, handle);
        tracing::info!(fault = name, "demo fault switched on");
        Ok(true)
    }

    /// Switches a demo fault off (idempotent). Returns whether it was on before.
    pub fn disable(&self, name: &str) -> Result<bool, WebError> {
        let name = Self::known(name)?;
        let Some(handle) = self.lock().remove(name) else {
            return Ok(false);
        };
        let w = &self.world;
        match handle {
            Active::ApiserverFault(id) => {
                w.apiserver.faults().remove(id);
            }
            Active::NetboxFault(id) => {
                w.netbox.faults().remove(id);
            }
            Active::ClusterToken => w.connector.set_cluster_token(crate::sim::CLUSTER_TOKEN),
            Active::NetboxToken => w.connector.set_netbox_token(crate::sim::NETBOX_TOKEN),
        }
        tracing::info!(fault = name, "demo fault switched off");
        Ok(true)
    }
}

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
    let w = h.world();
    let api_faults = w.apiserver.faults().list();
    let nb_faults = w.netbox.faults().list();
    let body = html! {
        p {
            "This fabsync syncs fabric " strong { (w.fabric.name) }
            " from an in-process simulated NetBox (" code { (crate::sim::NETBOX_URL) } ") into an in-process simulated Kubernetes cluster ("
            code { (crate::sim::CLUSTER_URL) } "), seed " (w.seed) ". Nothing here reaches a real system."
        }
        table.faults {
            thead { tr { th { "Fault" } th { "What it does" } th { "State" } th {} } }
            tbody {
                @for (name, what) in DEMO_FAULTS {
                    @let on = active.contains(name);
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
        p { "Cluster: " (api_faults.len()) " rule(s); NetBox: " (nb_faults.len()) " rule(s)." }
        p { a href={ "/fabrics/" (w.fabric.name) } { "Go to fabric " (w.fabric.name) } }
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
