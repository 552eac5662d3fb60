//! `ValidateError`: every way setting up, driving, observing or cleaning up a validation can fail —
//! a system's own error kept as the source (NetBox, the cluster, the store, the scheduler, files,
//! the fakes, HTTP), what was being done when it happened ([`Context`]), and the validation's own
//! findings (something missing, an unexpected answer, a wait that ran out, a fault a target cannot
//! be given).
//!
//! The messages are what reports, the API log's workflow failures and the terminal show; they name
//! the object and the step. This module only defines errors; it decides nothing.

use crate::cluster::ClusterError;
use crate::config::ConfigError;
use crate::netbox::NetboxError;
use crate::netbox::import::ImportError;
use crate::scheduler::SchedulerError;
use crate::store::StoreError;

/// Any error, boxed with its own chain (the fakes' and HTTP plumbing's many error types).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A failed validation step, setup or cleanup.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// A NetBox call failed (the person's edits, the fixture, the cleanup).
    #[error("{0}")]
    Netbox(#[from] NetboxError),
    /// Writing a fixture into NetBox with the importer failed.
    #[error("{0}")]
    Import(#[from] ImportError),
    /// A Kubernetes API call of the person's client failed.
    #[error("{0}")]
    Kube(#[from] kube::Error),
    /// A kubeconfig could not be read or used.
    #[error("{0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// fabsync's cluster connection failed.
    #[error("{0}")]
    Cluster(#[from] ClusterError),
    /// fabsync's store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// fabsync's scheduler refused.
    #[error("{0}")]
    Scheduler(#[from] SchedulerError),
    /// A fabric's settings are invalid or a secret cannot be read.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A file, folder or socket operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// JSON could not be written or read.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A screenshot was not base64.
    #[error("{0}")]
    Base64(#[from] base64::DecodeError),
    /// A fake server (the `local` target's, or the fixture generator) could not be built or given a
    /// fault.
    #[error("{0}")]
    Fake(#[source] BoxError),
    /// An HTTP exchange failed below the answer: building the request, the connection, the body
    /// (the web router in process, chromedriver).
    #[error("{0}")]
    Http(#[source] BoxError),
    /// What was being done when `source` happened (`reading site fabsync-validate-42-1 back`).
    #[error("{context}: {source}")]
    Context {
        /// The step and the object.
        context: String,
        /// What failed.
        #[source]
        source: Box<ValidateError>,
    },
    /// Something a step looks for is not there (a device, a form, a task id, a kubeconfig context).
    #[error("{0}")]
    Missing(String),
    /// A system answered with something the step cannot go on with.
    #[error("{request} answered {answer}")]
    Unexpected {
        /// The request (`POST /api/fabrics/vlab/sync`, `the fabric page`).
        request: String,
        /// The answer: status and what came with it.
        answer: String,
    },
    /// A page kept redirecting (more than five times).
    #[error("too many redirects from {from}")]
    Redirects {
        /// The last path asked for.
        from: String,
    },
    /// A bounded wait ran out.
    #[error("{0}")]
    Timeout(String),
    /// chromedriver or Chromium refused or failed a command.
    #[error("{0}")]
    Browser(String),
    /// The systems are not as the validation can start from (a site left over from an earlier
    /// run, a fixture copy that plans differently, flags that do not fit).
    #[error("{0}")]
    Setup(String),
    /// The cluster cannot be asked for SwitchProfiles (most likely Hedgehog is not installed).
    #[error("reading SwitchProfile {name}: {source} (are the Hedgehog CRDs installed?)")]
    NoHedgehogCrds {
        /// The SwitchProfile looked for.
        name: String,
        /// What the cluster answered.
        #[source]
        source: kube::Error,
    },
    /// A fault the target cannot be given (a real cluster answers 429 only under real load).
    #[error(
        "a real cluster cannot be made to {what} on demand; the {target} target has no fault endpoint to ask"
    )]
    Unsupported {
        /// `real` or `local`.
        target: &'static str,
        /// What the cluster would have to do.
        what: String,
    },
    /// Ctrl-C: the workflows stopped and the cleanup ran.
    #[error("{}", interrupted(.cleanup_failures))]
    Interrupted {
        /// What the cleanup could not remove (empty: everything was removed).
        cleanup_failures: Vec<String>,
    },
}

fn interrupted(failures: &[String]) -> String {
    if failures.is_empty() {
        "interrupted; everything the validation created was removed".into()
    } else {
        format!("interrupted; cleanup: {}", failures.join("; "))
    }
}

impl ValidateError {
    /// A fake server's error.
    pub fn fake(e: impl Into<BoxError>) -> Self {
        Self::Fake(e.into())
    }

    /// An HTTP plumbing error.
    pub fn http(e: impl Into<BoxError>) -> Self {
        Self::Http(e.into())
    }

    /// This error with what was being done when it happened.
    pub fn context(self, context: impl Into<String>) -> Self {
        Self::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// Adds what was being done to the error of a `Result`.
pub trait Context<T> {
    /// The error, converted, with `context` (`creating SwitchProfile leaf`).
    fn context(self, context: impl Into<String>) -> Result<T, ValidateError>;
    /// Like [`Context::context`], the text made only on error.
    fn with_context(self, context: impl FnOnce() -> String) -> Result<T, ValidateError>;
}

impl<T, E: Into<ValidateError>> Context<T> for Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T, ValidateError> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context(self, context: impl FnOnce() -> String) -> Result<T, ValidateError> {
        self.map_err(|e| e.into().context(context()))
    }
}

/// An action's outcome in words: "done", or "failed: " and why.
pub fn shown(r: &Result<(), ValidateError>) -> String {
    match r {
        Ok(()) => "done".into(),
        Err(e) => format!("failed: {e}"),
    }
}
