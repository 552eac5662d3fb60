//! The request log: one JSON object per request (method, path, query, status, sizes, virtual
//! duration, verb/resource/name, which fault fired), tokens never included; exportable as JSON lines.
//!
//! It only records; it never changes how a request is answered.

use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

/// One logged request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LogEntry {
    pub seq: u64,
    pub server: String,
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub duration_ms: f64,
    pub user_agent: Option<String>,
    pub auth: String,
    pub verb: Option<String>,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub dry_run: bool,
    pub write: bool,
    pub fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub response_body: Option<String>,
}

/// Shared, cheaply clonable request log.
#[derive(Clone, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Vec<LogEntry>>>,
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog")
            .field("entries", &self.len())
            .finish()
    }
}

impl RequestLog {
    /// Appends an entry, assigning its sequence number; returns the index.
    pub(crate) fn push(&self, mut e: LogEntry) -> usize {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        e.seq = g.last().map(|l| l.seq + 1).unwrap_or(1);
        g.push(e);
        g.len() - 1
    }

    /// Updates the response size of an entry (for watch streams, known only at the end).
    pub(crate) fn set_response_bytes(&self, seq: u64, bytes: u64) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = g.iter_mut().rev().find(|e| e.seq == seq) {
            e.response_bytes = bytes;
        }
    }

    /// A copy of all entries, in order.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets all entries (sequence numbers restart at 1).
    pub fn clear(&self) {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// All entries as JSON lines.
    pub fn to_jsonl(&self) -> String {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut s = String::new();
        for e in g.iter() {
            s.push_str(&serde_json::to_string(e).unwrap_or_default());
            s.push('\n');
        }
        s
    }
}

/// Replaces values of keys that may hold secrets (`token`, `password`, ...) in a JSON body.
pub fn redact_body(body: &[u8]) -> String {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            redact_value(&mut v);
            v.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

fn redact_value(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m.iter_mut() {
                let lk = k.to_ascii_lowercase();
                if [
                    "token",
                    "password",
                    "secret",
                    "client-key-data",
                    "key_pem",
                    "authorization",
                ]
                .iter()
                .any(|s| lk.contains(s))
                    && c.is_string()
                {
                    *c = serde_json::Value::String("<redacted>".into());
                } else {
                    redact_value(c);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_value),
        _ => {}
    }
}
