//! Admission hooks: a trait for mutating and validating admission, called on every write with a
//! consistent read-only view of the cluster, so domain rules can be enforced the way validating
//! webhooks do. Denials are answered in the real apiserver's webhook-denial shape.
//!
//! It defines the contract only; it knows no domain rules itself.

use serde_json::Value;

/// The operation being admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// What a hook is asked to admit.
#[derive(Debug, Clone)]
pub struct AdmissionRequest<'a> {
    pub operation: Operation,
    pub group: &'a str,
    pub version: &'a str,
    pub kind: &'a str,
    /// Plural resource name.
    pub resource: &'a str,
    /// Empty for a write to the main resource, `status` for the status subresource.
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    /// The new object (None on Delete).
    pub object: Option<&'a Value>,
    /// The stored object (None on Create).
    pub old_object: Option<&'a Value>,
    pub dry_run: bool,
}

/// A denial. Defaults match controller-runtime's `admission.Denied` (403 Forbidden).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AdmissionError {
    pub message: String,
    pub code: u16,
    pub reason: String,
}

impl AdmissionError {
    /// A 403 Forbidden denial with a message.
    pub fn denied(message: impl Into<String>) -> Self {
        AdmissionError {
            message: message.into(),
            code: 403,
            reason: "Forbidden".into(),
        }
    }
    /// A denial with another code/reason (e.g. 422 Invalid).
    pub fn with_code(message: impl Into<String>, code: u16, reason: &str) -> Self {
        AdmissionError {
            message: message.into(),
            code,
            reason: reason.into(),
        }
    }
}

/// Consistent read access to stored objects as of the request being admitted.
pub trait ClusterView {
    /// One object (served in its storage version).
    fn get(&self, group: &str, resource: &str, namespace: &str, name: &str) -> Option<Value>;
    /// All objects of a resource, in one namespace or (None) all, sorted by namespace/name.
    fn list(&self, group: &str, resource: &str, namespace: Option<&str>) -> Vec<Value>;
    /// Visits objects of a resource by reference, sorted by namespace/name, until `f` returns
    /// false; with `label = Some((key, value))` only the objects carrying that label (found
    /// through the label index, as a label selector would). No copies: hooks that scan many
    /// objects per request stay cheap.
    fn visit(
        &self,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        label: Option<(&str, &str)>,
        f: &mut dyn FnMut(&Value) -> bool,
    );
}

/// A validating (and optionally mutating) admission hook.
pub trait Admission: Send + Sync + 'static {
    /// The webhook name used in denials: `admission webhook "<name>" denied the request: <msg>`.
    fn name(&self) -> &str;
    /// Mutates the object before validation (Create and Update only).
    fn mutate(&self, _req: &AdmissionRequest<'_>, _obj: &mut Value) -> Result<(), AdmissionError> {
        Ok(())
    }
    /// Validates the request against the cluster state.
    fn validate(
        &self,
        req: &AdmissionRequest<'_>,
        cluster: &dyn ClusterView,
    ) -> Result<(), AdmissionError>;
}
