//! JSON schemas for the fields whose upstream CRD schema is not what schemars derives from the
//! Rust type (Go's integer kinds and kubebuilder markers): plain `integer` without a format,
//! `int32`, and the bounds and defaults upstream declares. Used through
//! `#[schemars(schema_with = "…")]` on the fields, so `fabsync crds` and the simulated cluster
//! validate exactly what a real Hedgehog cluster validates.
//!
//! Schemas only; no logic.

use schemars::{Schema, SchemaGenerator, json_schema};

/// `{type: integer}` — Go `int`/`uint16`-style fields upstream declares without a format.
pub fn integer(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer"})
}

/// `{type: integer, format: int32}`.
pub fn int32(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "format": "int32"})
}

/// Switch `linkFlapErrDisable.flapThreshold`.
pub fn flap_threshold(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "default": 3, "minimum": 1, "maximum": 50})
}

/// Switch `linkFlapErrDisable.recoveryInterval`.
pub fn recovery_interval(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "format": "int32", "default": 300, "minimum": 0, "maximum": 65534})
}

/// Switch `linkFlapErrDisable.samplingInterval`.
pub fn sampling_interval(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "integer", "format": "int32", "default": 30, "minimum": 1, "maximum": 65535})
}
