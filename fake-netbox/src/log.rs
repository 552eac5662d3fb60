//! The request log: one JSON object per request in the shape ARCHITECTURE.md fixes for both
//! fakes (`server: "netbox"`), exported as JSON lines. Bodies are included only when body logging
//! is on, with secret-looking keys redacted.
//!
//! It records; it never decides anything.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;

/// One logged request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub server: &'static str,
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub request_bytes: usize,
    pub response_bytes: usize,
    pub duration_ms: f64,
    pub user_agent: Option<String>,
    pub auth: &'static str,
    pub verb: String,
    pub resource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub dry_run: bool,
    pub write: bool,
    pub fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Value>,
}

#[derive(Debug, Default)]
struct Entries {
    items: Vec<LogEntry>,
    next_seq: u64,
}

/// The request log of one fake NetBox. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    inner: Arc<Mutex<Entries>>,
}

impl RequestLog {
    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn push(&self, mut entry: LogEntry) {
        let mut e = self.lock();
        e.next_seq += 1;
        entry.seq = e.next_seq;
        e.items.push(entry);
    }

    /// All entries so far, oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.lock().items.clone()
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// Forgets all entries (sequence numbers continue).
    pub fn clear(&self) {
        self.lock().items.clear();
    }

    /// JSON lines, one entry per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for e in self.lock().items.iter() {
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// Replaces values of secret-looking keys (`token`, `key`, `password`, `secret`) anywhere in a
/// JSON document with `"<redacted>"`.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    let secret = ["token", "password", "secret", "key"]
                        .iter()
                        .any(|s| lower == *s || lower.ends_with(&format!("_{s}")));
                    if secret && !v.is_null() {
                        (k.clone(), Value::String("<redacted>".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}
