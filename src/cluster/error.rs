//! What can go wrong talking to a cluster, as one error type that names the cause, the system and
//! the object: classification of kube-rs errors (apiserver `Status` answers, transport and TLS
//! failures), field-manager conflicts, and which failures are transient.
//!
//! It sends no requests.

use kube::core::ApiResource;

use super::Cluster;

/// One field owned by another manager that fabsync wanted to set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldConflict {
    /// The other field manager.
    pub manager: String,
    /// The field path (`.spec.description`).
    pub field: String,
}

/// What went wrong talking to the cluster.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// No connection (refused, DNS, reset) or a 5xx-free transport failure.
    #[error(
        "Kubernetes API server {server} is unreachable: {detail}. Check the cluster address and that the API server is running."
    )]
    Unreachable {
        /// The server (URL or description).
        server: String,
        /// The transport error.
        detail: String,
        /// Whether the request may have reached the server before the failure (a connection
        /// reset or timed out after it was open), rather than no connection at all.
        maybe_sent: bool,
    },
    /// TLS handshake or certificate verification failed.
    #[error(
        "TLS with Kubernetes API server {server} failed: {detail}. Check the CA certificate in the cluster settings."
    )]
    Tls {
        /// The server.
        server: String,
        /// The TLS error.
        detail: String,
    },
    /// 401, or an RBAC 403.
    #[error(
        "Kubernetes API server {server} refused the credentials (HTTP {code}): {message}. Check the cluster token or kubeconfig user and its RBAC permissions."
    )]
    Unauthorized {
        /// The server.
        server: String,
        /// 401 or 403.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// The resource type is not served (CRD not installed).
    #[error("the cluster does not serve {plural}.{group}: is the Hedgehog CRD installed?")]
    MissingKind {
        /// API group.
        group: String,
        /// Plural.
        plural: String,
    },
    /// 422: the object failed validation.
    #[error("the cluster rejected {kind} {name:?} as invalid: {message}")]
    Invalid {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The server's message (names the field).
        message: String,
    },
    /// An admission webhook denied the write.
    #[error("the cluster's admission denied {verb} of {kind} {name:?}: {message}")]
    Denied {
        /// apply, delete, …
        verb: String,
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The webhook's message.
        message: String,
    },
    /// Server-side apply conflict: fields owned by other managers.
    #[error("{kind} {name:?}: {} owned by another field manager: {}", if conflicts.len() == 1 { "a field is" } else { "fields are" }, conflicts.iter().map(|c| format!("{} (manager {:?})", c.field, c.manager)).collect::<Vec<_>>().join(", "))]
    Conflict {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The conflicting fields.
        conflicts: Vec<FieldConflict>,
    },
    /// 409 on a precondition or stale resourceVersion: someone wrote in between.
    #[error("{kind} {name:?} changed in the cluster while fabsync was writing it: {message}")]
    Stale {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
        /// The server's message.
        message: String,
    },
    /// 404 on one object.
    #[error("{kind} {name:?} does not exist in the cluster")]
    NotFound {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// 409 AlreadyExists.
    #[error("{kind} {name:?} already exists in the cluster")]
    AlreadyExists {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// 429 that retries did not clear.
    #[error(
        "Kubernetes API server {server} kept throttling requests (HTTP 429) after the retries fabsync allows: {message}"
    )]
    Throttled {
        /// The server.
        server: String,
        /// The server's message.
        message: String,
    },
    /// 5xx.
    #[error("Kubernetes API server {server} failed with HTTP {code}: {message}")]
    Server {
        /// The server.
        server: String,
        /// Status code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// A request took longer than allowed.
    #[error("Kubernetes API server {server} did not answer {what} within {secs} s")]
    Timeout {
        /// The server.
        server: String,
        /// What was being done.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// Configuration for the cluster could not be loaded.
    #[error("cluster configuration: {0}")]
    Config(String),
    /// A write held back as it was about to leave: the run's lease fence had closed (another
    /// replica may hold the fabric now). Nothing was sent.
    #[error(
        "the write of {kind} {name:?} was not sent: this replica's lease on the fabric expired"
    )]
    Fenced {
        /// Kind.
        kind: String,
        /// Name.
        name: String,
    },
    /// Anything else, with the server's words.
    #[error("Kubernetes API server {server}: {message}")]
    Other {
        /// The server.
        server: String,
        /// What happened.
        message: String,
    },
}

impl ClusterError {
    /// A short class name for records and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "cluster_unreachable",
            Self::Tls { .. } => "cluster_tls",
            Self::Unauthorized { .. } => "cluster_unauthorized",
            Self::MissingKind { .. } => "crd_missing",
            Self::Invalid { .. } => "invalid_object",
            Self::Denied { .. } => "admission_denied",
            Self::Conflict { .. } => "conflict",
            Self::Stale { .. } => "stale",
            Self::NotFound { .. } => "not_found",
            Self::AlreadyExists { .. } => "already_exists",
            Self::Throttled { .. } => "cluster_throttled",
            Self::Server { .. } => "cluster_server_error",
            Self::Timeout { .. } => "cluster_timeout",
            Self::Config(_) => "cluster_config",
            Self::Fenced { .. } => "lease_lost",
            Self::Other { .. } => "cluster_error",
        }
    }

    /// Whether a write that failed this way may still have taken effect: the request may have
    /// reached the server and its answer was lost (a dropped connection, a timeout, an error
    /// below HTTP). An answer from the server (a refusal, a conflict, a 5xx, a 429) or a
    /// failure before sending (TLS, settings) means nothing changed.
    pub fn may_have_applied(&self) -> bool {
        matches!(
            self,
            Self::Unreachable {
                maybe_sent: true,
                ..
            } | Self::Timeout { .. }
                | Self::Other { .. }
        )
    }

    /// Whether trying again later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Throttled { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Stale { .. }
        )
    }
}

/// What a request was doing, for error messages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Op<'a> {
    pub verb: &'a str,
    pub ar: &'a ApiResource,
    pub name: &'a str,
}

impl Cluster {
    pub(super) fn classify(&self, err: kube::Error, op: Op<'_>) -> ClusterError {
        let server = self.server.clone();
        let kind = op.ar.kind.clone();
        let name = op.name.to_string();
        match err {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                match (status.code, status.reason.as_str()) {
                    (401, _) => ClusterError::Unauthorized {
                        server,
                        code: 401,
                        message,
                    },
                    (403, _) if message.contains("admission webhook") => ClusterError::Denied {
                        verb: op.verb.into(),
                        kind,
                        name,
                        message,
                    },
                    (403, _) => ClusterError::Unauthorized {
                        server,
                        code: 403,
                        message,
                    },
                    (404, _)
                        if status.details.as_ref().is_none_or(|d| d.name.is_empty())
                            && op.name.is_empty()
                            || message == "the server could not find the requested resource" =>
                    {
                        ClusterError::MissingKind {
                            group: op.ar.group.clone(),
                            plural: op.ar.plural.clone(),
                        }
                    }
                    (404, _) => ClusterError::NotFound { kind, name },
                    (409, "AlreadyExists") => ClusterError::AlreadyExists { kind, name },
                    (409, _) if message.starts_with("Apply failed with") => {
                        let conflicts = status
                            .details
                            .as_ref()
                            .map(|d| {
                                d.causes
                                    .iter()
                                    .filter(|c| c.reason == "FieldManagerConflict")
                                    .map(|c| FieldConflict {
                                        manager: manager_of(&c.message),
                                        field: c.field.clone(),
                                    })
                                    .collect::<Vec<_>>()
                            })
                            .unwrap_or_default();
                        ClusterError::Conflict {
                            kind,
                            name,
                            conflicts,
                        }
                    }
                    (409, _) => ClusterError::Stale {
                        kind,
                        name,
                        message,
                    },
                    (400, _) if message.contains("admission webhook") => ClusterError::Denied {
                        verb: op.verb.into(),
                        kind,
                        name,
                        message,
                    },
                    (422, _) => ClusterError::Invalid {
                        kind,
                        name,
                        message,
                    },
                    (429, _) => ClusterError::Throttled { server, message },
                    (code, _) if code >= 500 => ClusterError::Server {
                        server,
                        code,
                        message: if message.is_empty() {
                            status.reason.clone()
                        } else {
                            message
                        },
                    },
                    (code, reason) => ClusterError::Other {
                        server,
                        message: format!("HTTP {code} {reason}: {message}"),
                    },
                }
            }
            other if gate_closed(&other) => ClusterError::Fenced { kind, name },
            other => transport_error(server, &other),
        }
    }
}

/// `conflict with "kubectl" using v1` → `kubectl`.
fn manager_of(message: &str) -> String {
    message
        .split('"')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| message.to_string())
}

/// Whether the write gate held the request back (anywhere in the error's chain).
fn gate_closed(err: &kube::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<super::layers::GateClosed>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Classifies a failure below HTTP (connection, TLS) or an undecodable response.
fn transport_error(server: String, err: &kube::Error) -> ClusterError {
    let mut chain = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut refused = false;
    let mut before_send = false;
    let mut tls = false;
    while let Some(e) = cur {
        let text = e.to_string();
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(
                io.kind(),
                ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
            ) {
                before_send = true;
            }
            if matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | ConnectionAborted
                    | NotConnected
                    | TimedOut
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
            ) {
                refused = true;
            }
        }
        if e.downcast_ref::<rustls::Error>().is_some()
            || text.contains("certificate")
            || text.contains("InvalidCertificate")
            || text.contains("tls handshake")
        {
            tls = true;
        }
        if text.contains("dns error") || text.contains("tcp connect error") {
            refused = true;
            before_send = true;
        }
        if chain.last() != Some(&text) {
            chain.push(text);
        }
        cur = e.source();
    }
    let detail = chain.last().cloned().unwrap_or_default();
    if tls {
        ClusterError::Tls { server, detail }
    } else if refused {
        ClusterError::Unreachable {
            server,
            detail,
            maybe_sent: !before_send,
        }
    } else {
        match err {
            kube::Error::SerdeError(e) => ClusterError::Other {
                server,
                message: format!("the response could not be decoded: {e}"),
            },
            _ => ClusterError::Unreachable {
                server,
                detail,
                maybe_sent: true,
            },
        }
    }
}
