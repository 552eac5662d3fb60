//! Fault injection: rules that make the fake misbehave on purpose (unreachable, 5xx, 429 with
//! `Retry-After`, latency, every token refused, truncated or malformed JSON, data changing between
//! two pages of one listing), matched by method and endpoint, for N requests or with a seeded
//! probability.
//!
//! This module only decides which faults fire; `http` and `client` carry them out.

use std::sync::{Arc, Mutex};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// The connection is refused (in-process: `io::ErrorKind::ConnectionRefused`; on a socket the
    /// connection is dropped without a response).
    Unreachable,
    /// A server error with this status (500 gets NetBox's JSON error body, others a proxy page).
    Status { status: u16 },
    /// 429 with `Retry-After: <seconds>`.
    TooManyRequests { retry_after_secs: u64 },
    /// The response is delayed by this many milliseconds (`tokio::time::sleep`).
    Latency { millis: u64 },
    /// Every token is refused as NetBox refuses unknown tokens.
    BadToken,
    /// The JSON body is cut in half.
    Truncated,
    /// The JSON body is replaced by invalid JSON.
    Malformed,
    /// Before a list page other than the first is served, the data changes.
    ChangeBetweenPages { mutation: Mutation },
}

/// How the data changes between two pages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Mutation {
    /// The first object of the listing (already served) is deleted: the client skips one.
    DeleteFirst,
    /// An object is created on the listed endpoint from this body (as a `POST` would).
    Create { body: Value },
}

impl FaultKind {
    /// Short name for the request log's `fault` field.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Unreachable => "unreachable",
            FaultKind::Status { .. } => "status",
            FaultKind::TooManyRequests { .. } => "too_many_requests",
            FaultKind::Latency { .. } => "latency",
            FaultKind::BadToken => "bad_token",
            FaultKind::Truncated => "truncated",
            FaultKind::Malformed => "malformed",
            FaultKind::ChangeBetweenPages { .. } => "change_between_pages",
        }
    }
}

/// A fault and when it applies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// HTTP method to match (`GET`); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Endpoint to match: a resource (`dcim.interfaces`, `core.object-changes`), a path prefix
    /// (`/api/dcim/`) or `*`; every API request when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Fire for this many matching requests, then retire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire with this probability per matching request (drawn from the seeded generator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

impl FaultRule {
    pub fn new(kind: FaultKind) -> FaultRule {
        FaultRule {
            kind,
            method: None,
            endpoint: None,
            times: None,
            probability: None,
        }
    }

    pub fn method(mut self, method: &str) -> FaultRule {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    pub fn endpoint(mut self, endpoint: &str) -> FaultRule {
        self.endpoint = Some(endpoint.to_string());
        self
    }

    pub fn times(mut self, n: u32) -> FaultRule {
        self.times = Some(n);
        self
    }

    pub fn probability(mut self, p: f64) -> FaultRule {
        self.probability = Some(p);
        self
    }

    fn matches(&self, method: &str, resource: &str, path: &str) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(method)
        {
            return false;
        }
        match self.endpoint.as_deref() {
            None | Some("*") => true,
            Some(e) if e.starts_with('/') => path.starts_with(e),
            Some(e) => e == resource,
        }
    }
}

/// A rule as listed by [`Faults::list`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveFault {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRule,
    /// How many times it has fired.
    pub fired: u64,
}

#[derive(Debug)]
struct State {
    rules: Vec<ActiveFault>,
    next_id: u64,
    rng: ChaCha8Rng,
}

/// When in a request a fault is considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the request reaches the server (only `Unreachable`).
    Transport,
    /// While handling the request (everything else).
    Request,
}

/// The fault rules of one fake NetBox. Cloning shares them.
#[derive(Clone, Debug)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults {
            state: Arc::new(Mutex::new(State {
                rules: Vec::new(),
                next_id: 1,
                rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6661_756c_7473),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a rule; returns its id.
    pub fn add(&self, rule: FaultRule) -> u64 {
        let mut s = self.lock();
        let id = s.next_id;
        s.next_id += 1;
        s.rules.push(ActiveFault { id, rule, fired: 0 });
        id
    }

    /// Removes one rule. Returns whether it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut s = self.lock();
        let before = s.rules.len();
        s.rules.retain(|r| r.id != id);
        before != s.rules.len()
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    pub fn list(&self) -> Vec<ActiveFault> {
        self.lock().rules.clone()
    }

    /// Decides which rules fire for one request, consuming `times` and drawing probabilities.
    /// `applicable` filters kinds (e.g. page-change faults only fire on later pages).
    pub(crate) fn fire(
        &self,
        phase: Phase,
        method: &str,
        resource: &str,
        path: &str,
        applicable: &dyn Fn(&FaultKind) -> bool,
    ) -> Vec<FaultKind> {
        let mut s = self.lock();
        let State { rules, rng, .. } = &mut *s;
        let mut fired = Vec::new();
        for r in rules.iter_mut() {
            let transport = r.rule.kind == FaultKind::Unreachable;
            if transport != (phase == Phase::Transport) {
                continue;
            }
            if !applicable(&r.rule.kind) || !r.rule.matches(method, resource, path) {
                continue;
            }
            if r.rule.times.is_some_and(|t| r.fired >= u64::from(t)) {
                continue;
            }
            if let Some(p) = r.rule.probability
                && rng.random::<f64>() >= p
            {
                continue;
            }
            r.fired += 1;
            fired.push(r.rule.kind.clone());
        }
        rules.retain(|r| r.rule.times.is_none_or(|t| r.fired < u64::from(t)));
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_fire_n_times_then_retire() {
        let f = Faults::new(1);
        f.add(
            FaultRule::new(FaultKind::Status { status: 503 })
                .endpoint("dcim.devices")
                .times(2),
        );
        let all = |_: &FaultKind| true;
        assert_eq!(
            f.fire(
                Phase::Request,
                "GET",
                "dcim.sites",
                "/api/dcim/sites/",
                &all
            )
            .len(),
            0
        );
        assert_eq!(
            f.fire(
                Phase::Request,
                "GET",
                "dcim.devices",
                "/api/dcim/devices/",
                &all
            )
            .len(),
            1
        );
        assert_eq!(
            f.fire(
                Phase::Request,
                "GET",
                "dcim.devices",
                "/api/dcim/devices/",
                &all
            )
            .len(),
            1
        );
        assert_eq!(
            f.fire(
                Phase::Request,
                "GET",
                "dcim.devices",
                "/api/dcim/devices/",
                &all
            )
            .len(),
            0
        );
        assert!(f.list().is_empty());
    }

    #[test]
    fn probabilities_are_reproducible_from_the_seed() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.add(FaultRule::new(FaultKind::Truncated).probability(0.5));
            (0..64)
                .map(|_| {
                    !f.fire(Phase::Request, "GET", "x", "/api/", &|_| true)
                        .is_empty()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7).iter().filter(|b| **b).count();
        assert!((16..48).contains(&hits), "{hits}");
    }

    #[test]
    fn rules_round_trip_through_json() {
        let rule = FaultRule::new(FaultKind::ChangeBetweenPages {
            mutation: Mutation::DeleteFirst,
        })
        .method("GET")
        .endpoint("dcim.interfaces")
        .times(1);
        let text = serde_json::to_string(&rule).unwrap();
        assert_eq!(
            text,
            r#"{"kind":"change_between_pages","mutation":{"action":"delete_first"},"method":"GET","endpoint":"dcim.interfaces","times":1}"#
        );
        assert_eq!(serde_json::from_str::<FaultRule>(&text).unwrap(), rule);
    }
}
