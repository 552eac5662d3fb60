//! Fault injection: refuse traffic, HTTP status faults (500/503/504, 429 in APF plain-text and
//! Status forms with `Retry-After`), latency, failing the Nth write, a concurrent writer with
//! another field manager, forced compaction, and dropping watch streams. Rules match on
//! verb/resource/namespace/name and fire N times or with a seeded probability.
//!
//! It decides *whether* a fault fires; the server carries the fault out and logs it.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Which requests a fault applies to, and how often it fires.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct When {
    /// Kubernetes verb (get, list, watch, create, update, patch, apply, delete, deletecollection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    /// Plural (`switches`) or `plural.group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fire this many times, then disappear (unset: forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// Fire with this probability (seeded), 0.0–1.0 (unset: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Only writes that take effect (`false`: not dry runs) or only dry runs (`true`); unset:
    /// both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

impl When {
    /// Matches every request.
    pub fn always() -> Self {
        When::default()
    }
    pub fn verb(mut self, v: &str) -> Self {
        self.verb = Some(v.into());
        self
    }
    pub fn resource(mut self, r: &str) -> Self {
        self.resource = Some(r.into());
        self
    }
    pub fn namespace(mut self, n: &str) -> Self {
        self.namespace = Some(n.into());
        self
    }
    pub fn name(mut self, n: &str) -> Self {
        self.name = Some(n.into());
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }
    /// Only dry runs (`true`) or only writes that take effect (`false`).
    pub fn dry_run(mut self, d: bool) -> Self {
        self.dry_run = Some(d);
        self
    }
}

/// The 429 body form.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum RejectForm {
    /// API Priority and Fairness: `text/plain` "Too many requests, please try again later."
    #[default]
    Plain,
    /// A `Status` body with `details.retryAfterSeconds`.
    Status,
}

/// How the concurrent writer changes the object.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum WriterPatch {
    /// Server-side apply (forced) under the writer's field manager.
    #[default]
    Apply,
    /// JSON merge patch, recorded as an Update by the writer's field manager.
    Merge,
}

/// The object a concurrent writer changes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub group: String,
    /// Plural resource name.
    pub resource: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
}

/// One fault.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Fault {
    /// Answer 500, 503 or 504 with the real Status body.
    Status {
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_seconds: Option<u32>,
        #[serde(flatten)]
        when: When,
    },
    /// Answer 429 with `Retry-After`.
    TooManyRequests {
        #[serde(default = "one")]
        retry_after_seconds: u32,
        #[serde(default)]
        form: RejectForm,
        #[serde(flatten)]
        when: When,
    },
    /// Delay the request (tokio time: virtual in-process).
    Latency {
        millis: u64,
        #[serde(flatten)]
        when: When,
    },
    /// Refuse the connection (in-process: `io::ErrorKind::ConnectionRefused`; on a socket: the
    /// connection is closed without an answer).
    Unreachable {
        #[serde(flatten)]
        when: When,
    },
    /// The Nth non-dry-run write from now fails with `code` (default 500).
    FailNthWrite {
        n: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<u16>,
    },
    /// Another field manager changes an object: right away, or just before the Nth write from now.
    ConcurrentWriter {
        target: ObjectRef,
        field_manager: String,
        patch: Value,
        #[serde(default)]
        patch_type: WriterPatch,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_nth_write: Option<u64>,
    },
    /// Compact the history now: every older resourceVersion answers 410.
    Compact,
    /// Close every open watch stream now.
    DropWatches,
}

fn one() -> u32 {
    1
}

/// A fault that fired for one request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fired {
    Latency(Duration),
    Unreachable,
    Status(u16, Option<u32>),
    TooMany(u32, RejectForm),
    FailWrite(u16),
}

impl Fired {
    pub(crate) fn label(&self) -> String {
        match self {
            Fired::Latency(d) => format!("latency:{}ms", d.as_millis()),
            Fired::Unreachable => "unreachable".into(),
            Fired::Status(c, _) => format!("status:{c}"),
            Fired::TooMany(_, RejectForm::Plain) => "429:plain".into(),
            Fired::TooMany(_, RejectForm::Status) => "429:status".into(),
            Fired::FailWrite(c) => format!("failNthWrite:{c}"),
        }
    }
}

/// A listed fault with its id and how often it fired.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActiveFault {
    pub id: u64,
    pub fault: Fault,
    pub fired: u32,
}

/// What the request looks like to fault matching.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target<'a> {
    pub verb: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub group: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
    pub write: bool,
    pub dry_run: bool,
}

pub(crate) struct FaultState {
    active: Vec<ActiveFault>,
    next_id: u64,
    writes_seen: u64,
    rng: ChaCha8Rng,
}

/// What the faults that act at once need from the server they belong to (implemented in
/// `crud/internal.rs`, so this module does not depend on the server).
pub(crate) trait Server: Send + Sync {
    /// Forced compaction: every revision up to now.
    fn compact_now(&self);
    /// Closes every open watch.
    fn drop_watches(&self);
    /// A concurrent writer's change, made by the fake itself.
    fn concurrent_write(
        &self,
        target: &ObjectRef,
        manager: &str,
        patch: &Value,
        patch_type: WriterPatch,
    ) -> Result<(), String>;
}

/// Programmatic fault control; cheap to clone.
#[derive(Clone)]
pub struct Faults {
    pub(crate) state: Arc<Mutex<FaultState>>,
    pub(crate) server: Weak<dyn Server>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("active", &self.list().len())
            .finish()
    }
}

/// Why a fault was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("fault.code: Unsupported value: {0}: supported values: 500, 503, 504")]
    Code(u16),
    #[error("fault.probability: Invalid value: {0}: must be between 0 and 1")]
    Probability(f64),
    #[error("fault.n: Invalid value: 0: must be at least 1")]
    Nth,
    #[error("concurrent writer on {0}: {1}")]
    Writer(String, String),
    #[error("the fake apiserver was dropped")]
    Gone,
}

impl FaultState {
    pub(crate) fn new(seed: u64) -> Self {
        FaultState {
            active: vec![],
            next_id: 1,
            writes_seen: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15),
        }
    }
}

fn when_of(f: &Fault) -> Option<&When> {
    match f {
        Fault::Status { when, .. }
        | Fault::TooManyRequests { when, .. }
        | Fault::Latency { when, .. }
        | Fault::Unreachable { when } => Some(when),
        _ => None,
    }
}

fn when_of_mut(f: &mut Fault) -> Option<&mut When> {
    match f {
        Fault::Status { when, .. }
        | Fault::TooManyRequests { when, .. }
        | Fault::Latency { when, .. }
        | Fault::Unreachable { when } => Some(when),
        _ => None,
    }
}

fn matches(w: &When, t: &Target<'_>) -> bool {
    let eq =
        |want: &Option<String>, have: Option<&str>| want.as_deref().is_none_or(|x| Some(x) == have);
    let res_ok = match (&w.resource, t.resource) {
        (None, _) => true,
        (Some(want), Some(have)) => {
            want == have
                || t.group.is_some_and(|g| {
                    *want == format!("{have}.{g}") || (g.is_empty() && want == have)
                })
        }
        (Some(_), None) => false,
    };
    let dry_ok = w.dry_run.is_none_or(|d| d == t.dry_run);
    eq(&w.verb, t.verb) && res_ok && eq(&w.namespace, t.namespace) && eq(&w.name, t.name) && dry_ok
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a fault. One-shot faults (`Compact`, `DropWatches`, a `ConcurrentWriter` without
    /// `on_nth_write`) act at once and are not listed. Returns the id of a listed fault.
    pub fn add(&self, fault: Fault) -> Result<Option<u64>, FaultError> {
        if let Some(w) = when_of(&fault)
            && let Some(p) = w.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(FaultError::Probability(p));
        }
        match &fault {
            Fault::Status { code, .. } if !matches!(code, 500 | 503 | 504) => {
                return Err(FaultError::Code(*code));
            }
            Fault::FailNthWrite { n: 0, .. } => return Err(FaultError::Nth),
            Fault::ConcurrentWriter {
                on_nth_write: Some(0),
                ..
            } => return Err(FaultError::Nth),
            Fault::Compact => {
                let s = self.server.upgrade().ok_or(FaultError::Gone)?;
                s.compact_now();
                return Ok(None);
            }
            Fault::DropWatches => {
                let s = self.server.upgrade().ok_or(FaultError::Gone)?;
                s.drop_watches();
                return Ok(None);
            }
            Fault::ConcurrentWriter {
                target,
                field_manager,
                patch,
                patch_type,
                on_nth_write: None,
            } => {
                let s = self.server.upgrade().ok_or(FaultError::Gone)?;
                s.concurrent_write(target, field_manager, patch, *patch_type)
                    .map_err(|e| {
                        FaultError::Writer(format!("{}/{}", target.resource, target.name), e)
                    })?;
                return Ok(None);
            }
            _ => {}
        }
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        let mut fault = fault;
        // Nth-write faults count from now.
        let seen = st.writes_seen;
        match &mut fault {
            Fault::FailNthWrite { n, .. } => *n += seen,
            Fault::ConcurrentWriter {
                on_nth_write: Some(n),
                ..
            } => *n += seen,
            _ => {}
        }
        st.active.push(ActiveFault {
            id,
            fault,
            fired: 0,
        });
        Ok(Some(id))
    }

    /// Shorthand: refuse all traffic until `clear()`/`remove()`.
    pub fn set_unreachable(&self, on: bool) {
        if on {
            let _ = self.add(Fault::Unreachable {
                when: When::always(),
            });
        } else {
            self.lock()
                .active
                .retain(|a| !matches!(a.fault, Fault::Unreachable { .. }));
        }
    }

    /// Forces compaction now (older resourceVersions answer 410).
    pub fn compact(&self) {
        if let Some(s) = self.server.upgrade() {
            s.compact_now();
        }
    }

    /// Closes all open watch streams now.
    pub fn drop_watches(&self) {
        if let Some(s) = self.server.upgrade() {
            s.drop_watches();
        }
    }

    /// Removes one fault by id; true if it existed.
    pub fn remove(&self, id: u64) -> bool {
        let mut st = self.lock();
        let before = st.active.len();
        st.active.retain(|a| a.id != id);
        st.active.len() != before
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.lock().active.clear();
    }

    /// Active faults (with ids and fire counts); serialised with field names as over the admin endpoint.
    pub fn list(&self) -> Vec<ActiveFault> {
        self.lock().active.clone()
    }

    /// Connection-level check (unreachable), used by the in-process service and the socket server.
    pub(crate) fn unreachable(&self, t: &Target<'_>) -> bool {
        let mut st = self.lock();
        Self::fire(&mut st, t, |f| matches!(f, Fault::Unreachable { .. })).is_some()
    }

    fn fire(st: &mut FaultState, t: &Target<'_>, pick: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut hit = None;
        let mut i = 0;
        while i < st.active.len() {
            let f = &st.active[i].fault;
            if pick(f)
                && let Some(w) = when_of(f)
                && matches(w, t)
            {
                let p = w.probability;
                let pass = match p {
                    Some(p) => st.rng.random::<f64>() < p,
                    None => true,
                };
                if pass {
                    let a = &mut st.active[i];
                    a.fired += 1;
                    let fault = a.fault.clone();
                    let exhausted = when_of_mut(&mut a.fault).is_some_and(|w| match &mut w.times {
                        Some(n) => {
                            *n = n.saturating_sub(1);
                            *n == 0
                        }
                        None => false,
                    });
                    if exhausted {
                        st.active.remove(i);
                    }
                    hit = Some(fault);
                    break;
                }
            }
            i += 1;
        }
        hit
    }

    /// Request-level checks, in order: latency, status/429, Nth write. Also returns concurrent
    /// writers due before this write.
    pub(crate) fn on_request(&self, t: &Target<'_>) -> (Vec<Fired>, Vec<Fault>) {
        let mut st = self.lock();
        let mut fired = vec![];
        if let Some(Fault::Latency { millis, .. }) =
            Self::fire(&mut st, t, |f| matches!(f, Fault::Latency { .. }))
        {
            fired.push(Fired::Latency(Duration::from_millis(millis)));
        }
        match Self::fire(&mut st, t, |f| {
            matches!(f, Fault::Status { .. } | Fault::TooManyRequests { .. })
        }) {
            Some(Fault::Status {
                code,
                retry_after_seconds,
                ..
            }) => fired.push(Fired::Status(code, retry_after_seconds)),
            Some(Fault::TooManyRequests {
                retry_after_seconds,
                form,
                ..
            }) => fired.push(Fired::TooMany(retry_after_seconds, form)),
            _ => {}
        }
        let mut writers = vec![];
        if t.write
            && !fired
                .iter()
                .any(|f| matches!(f, Fired::Status(..) | Fired::TooMany(..)))
        {
            st.writes_seen += 1;
            let n = st.writes_seen;
            let mut i = 0;
            while i < st.active.len() {
                match &st.active[i].fault {
                    Fault::FailNthWrite { n: at, code } if *at == n => {
                        fired.push(Fired::FailWrite(code.unwrap_or(500)));
                        st.active.remove(i);
                    }
                    Fault::ConcurrentWriter {
                        on_nth_write: Some(at),
                        ..
                    } if *at == n => {
                        writers.push(st.active.remove(i).fault);
                    }
                    _ => i += 1,
                }
            }
        }
        (fired, writers)
    }
}
