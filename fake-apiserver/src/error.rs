//! The error type of the library API (building the server, loading and registering CRDs).
//!
//! Request-level failures are not here: they are Kubernetes `Status` answers (`status.rs`).

use crate::tls;

/// Errors of the library API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading CRD directory {path}: {message}")]
    CrdDir { path: String, message: String },
    #[error("parsing {path}: document {index}: {message}")]
    CrdParse {
        path: String,
        index: usize,
        message: String,
    },
    #[error("object {name:?} is not a CustomResourceDefinition (kind {found:?})")]
    NotACrd { name: String, found: String },
    #[error("CustomResourceDefinition {name:?} is invalid: {message}")]
    InvalidCrd { name: String, message: String },
    #[error("CustomResourceDefinition {name:?} already exists")]
    CrdExists { name: String },
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
}
