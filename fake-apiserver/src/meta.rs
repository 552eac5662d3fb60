//! The `metadata` fields of every object, as lists the server's modules share: all of ObjectMeta
//! in the order the real server writes them, and the fields only the server sets.
//!
//! Names only; the rules that use them live with pruning (`schema.rs`), storage (`crud/`) and
//! field ownership (`ssa/`).

/// Every ObjectMeta field, in the order of the stored representation of built-in types; pruning
/// never removes these from an object's (or an embedded object's) `metadata`.
pub(crate) const FIELDS: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The metadata fields only the server sets: dropped from an applied configuration, and never
/// owned by a field manager.
pub(crate) const SERVER_SET: &[&str] = &[
    "managedFields",
    "creationTimestamp",
    "uid",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "resourceVersion",
];
