//! The state every handler shares: what `fabsync serve` hands over ([`AppState`]: store,
//! scheduler, engine, clock, access token, signing key, demo controls) plus what the web layer
//! derives from it once (session keys, the metrics kept between scrapes).
//!
//! It holds no routes and no logic.

use std::sync::Arc;

use super::controls::DemoHooks;
use super::metrics::Metrics;
use super::session::Keys;
use crate::clock::SharedClock;
use crate::config::Secret;
use crate::engine::Engine;
use crate::scheduler::Scheduler;
use crate::store::Store;

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
    pub(crate) keys: Keys,
    pub(crate) metrics: std::sync::Mutex<Metrics>,
    pub(crate) logins: super::throttle::LoginThrottle,
}

pub(crate) type Shared = Arc<Ctx>;
