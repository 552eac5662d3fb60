//! `managedFields` entries: decoding and encoding in the real server's order, how a manager is
//! named in conflict messages, and the 409 message and causes of a list of conflicts.
//!
//! It does not decide ownership; `mod.rs` does.

use super::fieldset::FieldSet;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub set: FieldSet,
}

impl ManagedEntry {
    pub(crate) fn same_identity(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    /// How conflict messages name the manager.
    pub fn printed(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {:?}", self.subresource);
        }
        if self.operation == "Update" {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }

    /// The identity string the real server sorts conflicts by.
    pub(crate) fn identity(&self) -> String {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        if self.operation != "Apply" {
            m.insert("apiVersion".into(), json!(self.api_version));
        }
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m).to_string()
    }
}

/// Why a `managedFields` value could not be decoded.
#[derive(Debug, Clone)]
pub struct ManagedFieldsError(pub String);

/// Decodes `metadata.managedFields` of an object.
pub fn decode_managed(obj: &Value) -> Result<Vec<ManagedEntry>, ManagedFieldsError> {
    let Some(list) = obj.pointer("/metadata/managedFields") else {
        return Ok(vec![]);
    };
    let Value::Array(items) = list else {
        if list.is_null() {
            return Ok(vec![]);
        }
        return Err(ManagedFieldsError(
            "metadata.managedFields must be a list".into(),
        ));
    };
    let mut out = vec![];
    for (i, it) in items.iter().enumerate() {
        let Value::Object(m) = it else {
            return Err(ManagedFieldsError(format!(
                "metadata.managedFields[{i}] must be an object"
            )));
        };
        if m.is_empty() {
            continue;
        }
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let operation = s("operation");
        if operation != "Apply" && operation != "Update" {
            return Err(ManagedFieldsError(format!(
                "metadata.managedFields[{i}].operation: Unsupported value: {operation:?}: supported values: \"Apply\", \"Update\""
            )));
        }
        out.push(ManagedEntry {
            manager: s("manager"),
            operation,
            api_version: s("apiVersion"),
            time: m.get("time").and_then(Value::as_str).map(str::to_string),
            subresource: s("subresource"),
            set: FieldSet::from_fields_v1(m.get("fieldsV1").unwrap_or(&Value::Null)),
        });
    }
    Ok(out)
}

fn time_secs(t: &Option<String>) -> i64 {
    t.as_deref()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .unwrap_or(0)
}

/// Encodes entries in the real server's order (operation, time, manager, subresource, apiVersion).
pub fn encode_managed(entries: &[ManagedEntry]) -> Value {
    let mut sorted: Vec<&ManagedEntry> = entries.iter().filter(|e| !e.set.is_empty()).collect();
    sorted.sort_by(|a, b| {
        a.operation
            .cmp(&b.operation)
            .then(time_secs(&a.time).cmp(&time_secs(&b.time)))
            .then(a.manager.cmp(&b.manager))
            .then(a.subresource.cmp(&b.subresource))
            .then(a.api_version.cmp(&b.api_version))
    });
    Value::Array(
        sorted
            .into_iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("manager".into(), json!(e.manager));
                m.insert("operation".into(), json!(e.operation));
                m.insert("apiVersion".into(), json!(e.api_version));
                if let Some(t) = &e.time {
                    m.insert("time".into(), json!(t));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                m.insert("fieldsV1".into(), e.set.to_fields_v1());
                if !e.subresource.is_empty() {
                    m.insert("subresource".into(), json!(e.subresource));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// A field ownership conflict.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub printed_manager: String,
    pub identity: String,
    pub path: String,
}

/// The 409 message and causes for a list of conflicts.
pub fn conflict_message(conflicts: &[Conflict]) -> (String, Vec<Value>) {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", c.printed_manager), "field": c.path})
        })
        .collect();
    if conflicts.len() == 1 {
        let c = &conflicts[0];
        return (
            format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                c.printed_manager, c.path
            ),
            causes,
        );
    }
    let mut by: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
    for c in conflicts {
        by.entry(c.identity.as_str())
            .or_insert((c.printed_manager.as_str(), vec![]))
            .1
            .push(c.path.as_str());
    }
    let mut lines = vec![];
    for (_, (printed, paths)) in by {
        lines.push(format!("conflicts with {printed}:"));
        for p in paths {
            lines.push(format!("- {p}"));
        }
    }
    (
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        ),
        causes,
    )
}
