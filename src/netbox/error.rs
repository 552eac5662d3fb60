//! `NetboxError`: every way a NetBox call can fail, each naming the endpoint.
//!
//! Messages never contain the API token (the client never puts it anywhere but the
//! `Authorization` header).

use std::collections::BTreeMap;
use std::time::Duration;

/// A failed NetBox call. `endpoint` is `"<METHOD> <path>"` (`GET /api/dcim/devices/`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetboxError {
    /// No HTTP answer: connection refused, DNS, TLS, timeout.
    #[error("NetBox is unreachable ({endpoint}): {reason}")]
    Unreachable { endpoint: String, reason: String },
    /// 401/403: NetBox's `detail` (`Invalid v2 token`).
    #[error("NetBox refused the token ({endpoint}): {detail}")]
    Unauthorized { endpoint: String, detail: String },
    /// 404.
    #[error("NetBox has no such object ({endpoint}): {detail}")]
    NotFound { endpoint: String, detail: String },
    /// 400: field → messages (bulk errors are keyed `[index].field`).
    #[error("NetBox rejected the request ({endpoint}): {}", format_fields(.errors))]
    Invalid {
        endpoint: String,
        errors: BTreeMap<String, Vec<String>>,
    },
    /// 5xx or 429 (with `Retry-After` when NetBox sent one).
    #[error("NetBox failed ({endpoint}): HTTP {status}{}: {detail}", .retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default())]
    Server {
        endpoint: String,
        status: u16,
        retry_after: Option<Duration>,
        detail: String,
    },
    /// Any other unexpected status (405, 409, 412, 415 …).
    #[error("NetBox answered HTTP {status} ({endpoint}): {detail}")]
    Unexpected {
        endpoint: String,
        status: u16,
        detail: String,
    },
    /// The answer was not the JSON we expect.
    #[error("NetBox answer could not be decoded ({endpoint}): {reason}")]
    Decode { endpoint: String, reason: String },
    /// The request could not even be built (bad base URL, bad token characters).
    #[error("invalid NetBox request ({what}): {reason}")]
    Config { what: String, reason: String },
}

fn format_fields(errors: &BTreeMap<String, Vec<String>>) -> String {
    errors
        .iter()
        .map(|(field, msgs)| format!("{field}: {}", msgs.join(" ")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl NetboxError {
    /// The `"<METHOD> <path>"` this error is about.
    pub fn endpoint(&self) -> &str {
        match self {
            NetboxError::Unreachable { endpoint, .. }
            | NetboxError::Unauthorized { endpoint, .. }
            | NetboxError::NotFound { endpoint, .. }
            | NetboxError::Invalid { endpoint, .. }
            | NetboxError::Server { endpoint, .. }
            | NetboxError::Unexpected { endpoint, .. }
            | NetboxError::Decode { endpoint, .. } => endpoint,
            NetboxError::Config { what, .. } => what,
        }
    }

    /// True for errors that may go away by retrying (unreachable, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            NetboxError::Unreachable { .. } | NetboxError::Server { .. }
        )
    }
}
