//! The web face of fabsync: server-rendered pages (fabric list and detail, Sync Now with live
//! progress, run history and per-run results, preview of changes, settings), the JSON API for the
//! same, `/healthz`, `/readyz`, Prometheus `/metrics`, login with the access token, CSRF
//! protection, and (with `serve --demo`) routes that break and repair the simulated world.
//!
//! It holds no sync logic: runs are requested from the [`Scheduler`], previews come from the
//! [`Engine`], and everything shown is read from the [`Store`]. It never writes a fabric's status.
//! It does not bind sockets or choose addresses (`fabsync serve` does).

mod access;
mod api;
mod demo;
mod error;
mod health;
mod html;
mod pages;
mod settings;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::clock::SharedClock;
use crate::config::Secret;
use crate::engine::Engine;
use crate::scheduler::Scheduler;
use crate::store::Store;

pub use demo::{CLUSTER_PREFIX, DEMO_FAULTS, DemoHooks};
pub use error::WebError;

/// Everything the web layer needs, handed over by `fabsync serve`.
#[derive(Clone)]
pub struct AppState {
    /// Fabrics, tasks, runs and per-object results (read here; status is written by the engine).
    pub store: Store,
    /// Triggers runs and reschedules fabrics after a settings change.
    pub scheduler: Scheduler,
    /// Computes previews (the diff a sync would make).
    pub engine: Engine,
    /// "Now", for relative times.
    pub clock: SharedClock,
    /// The access token; `None` means no login (the server must then listen on loopback only).
    pub auth_token: Option<Secret>,
    /// Signs session cookies and CSRF tokens.
    pub secret_key: [u8; 32],
    /// Present with `serve --demo`: the simulated world the demo routes break and repair.
    pub demo: Option<DemoHooks>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("auth_token", &self.auth_token)
            .field("secret_key", &"<redacted>")
            .field("demo", &self.demo.is_some())
            .finish_non_exhaustive()
    }
}

/// The shared state of every handler.
pub(crate) struct Ctx {
    pub(crate) app: AppState,
    pub(crate) keys: access::Keys,
    pub(crate) metrics: std::sync::Mutex<health::Metrics>,
}

pub(crate) type Shared = Arc<Ctx>;

/// Every page and API route, health and metrics, behind the access layer (sessions, bearer
/// tokens, CSRF, host check when no token is configured).
pub fn router(state: AppState) -> Router {
    let keys = access::Keys::new(&state.secret_key, state.auth_token.as_ref());
    let demo = state.demo.is_some();
    let demo_cluster = state.demo.as_ref().map(|d| d.world().apiserver.router());
    let shared: Shared = Arc::new(Ctx {
        app: state,
        keys,
        metrics: std::sync::Mutex::new(health::Metrics::default()),
    });

    let mut r = Router::new()
        // pages
        .route("/", get(pages::index))
        .route("/fabrics/{name}", get(pages::fabric))
        .route("/fabrics/{name}/sync", post(pages::sync_now))
        .route("/fabrics/{name}/preview", get(pages::preview))
        .route(
            "/fabrics/{name}/settings",
            get(pages::settings_form).post(pages::settings_save),
        )
        .route("/runs/{id}", get(pages::run))
        .route("/tasks/{id}", get(pages::task))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
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
        r = r.nest_service(demo::CLUSTER_PREFIX, cluster);
    }
    r.fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access::layer,
        ))
        .with_state(shared)
}
