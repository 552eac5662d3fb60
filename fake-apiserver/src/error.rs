//! The error type of the library API (building the server, loading and registering CRDs).
//!
//! Request-level failures are not here: they are Kubernetes `Status` answers (`status.rs`).

use crate::tls;

/// Errors of the library API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading CRD directory {path}: {source}")]
    CrdDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: document {index}: {source}")]
    CrdParse {
        path: String,
        index: usize,
        #[source]
        source: Box<serde_saphyr::Error>,
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

#[cfg(test)]
mod tests {
    /// The library's errors cross threads and tasks (`anyhow`, `tokio::spawn`).
    #[test]
    fn errors_are_send_sync() {
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<super::Error>();
    }
}
