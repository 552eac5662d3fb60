//! The web face of fabsync: server-rendered pages (fabric list and detail, Sync Now with live
//! progress, run history and per-run results, preview of changes, settings), the JSON API for the
//! same, `/healthz`, `/readyz`, Prometheus `/metrics`, login with the access token, CSRF
//! protection, and (with `serve --demo`) routes that break and repair the simulated systems
//! through [`DemoControls`].
//!
//! It holds no sync logic: runs are requested from the [`Scheduler`](crate::scheduler::Scheduler),
//! previews come from the [`Engine`](crate::engine::Engine), and everything shown is read from the
//! [`Store`](crate::store::Store). It never writes a fabric's status. It does not bind sockets or
//! choose addresses (`fabsync serve` does), and it knows no simulated world.
//!
//! This file only wires routes. The modules use each other in one direction, in this order
//! (each uses only modules before it): `error` → `session` → `html` → `respond` → `controls` →
//! `metrics` → `state` → `settings` → `access` → `api` → `pages` → `forms` → `health` → `demo`.

mod access;
mod api;
mod controls;
mod demo;
mod error;
mod forms;
mod health;
mod html;
mod metrics;
mod pages;
mod respond;
mod session;
mod settings;
mod state;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

pub use controls::{
    CLUSTER_PREFIX, DemoAbout, DemoControlError, DemoControls, DemoFault, DemoHooks,
};
pub use error::WebError;
pub use state::AppState;
use state::{Ctx, Shared};

/// Every page and API route, health and metrics, behind the access layer (sessions, bearer
/// tokens, CSRF, host check when no token is configured).
pub fn router(state: AppState) -> Router {
    let keys = session::Keys::new(&state.secret_key, state.auth_token.as_ref());
    let demo = state.demo.is_some();
    let demo_cluster = state.demo.as_ref().map(|d| d.controls().cluster_api());
    let shared: Shared = Arc::new(Ctx {
        app: state,
        keys,
        metrics: std::sync::Mutex::new(metrics::Metrics::default()),
        logins: throttle::LoginThrottle::default(),
    });

    let mut r = Router::new()
        // pages
        .route("/", get(pages::index))
        .route("/fabrics/{name}", get(pages::fabric))
        .route("/fabrics/{name}/sync", post(pages::sync_now))
        .route("/fabrics/{name}/preview", get(pages::preview))
        .route(
            "/fabrics/{name}/settings",
            get(forms::settings_form).post(forms::settings_save),
        )
        .route("/runs/{id}", get(pages::run))
        .route("/tasks/{id}", get(pages::task))
        .route("/login", get(forms::login_form).post(forms::login))
        .route("/logout", post(forms::logout))
        // JSON API
        .route("/api/fabrics", get(api::fabrics))
        .route(
            "/api/fabrics/{name}",
            get(api::fabric).patch(api::patch_fabric),
        )
        .route("/api/fabrics/{name}/sync", post(api::sync))
        .route("/api/fabrics/{name}/runs", get(api::runs))
        .route("/api/fabrics/{name}/diff", get(api::diff))
        .route("/api/runs/{id}", get(api::run))
        .route("/api/tasks/{id}", get(api::task))
        // operations
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/static/fabsync.css", get(html::stylesheet))
        .route("/static/fabsync.js", get(html::script));
    if demo {
        r = r
            .route("/demo", get(demo::page))
            .route(
                "/demo/faults/{fault}",
                post(demo::add_fault).delete(demo::remove_fault),
            )
            .route("/demo/faults/{fault}/clear", post(demo::remove_fault));
    }
    if let Some(cluster) = demo_cluster {
        // The simulated cluster's own Kubernetes API (its bearer token, not fabsync's), so
        // kubectl or kube-rs can look at what the demo wrote.
        r = r.nest_service(CLUSTER_PREFIX, cluster);
    }
    r.fallback(respond::not_found)
        .method_not_allowed_fallback(respond::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access::layer,
        ))
        .with_state(shared)
}
