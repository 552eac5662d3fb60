//! Helpers on stored objects as JSON: metadata accessors, the stored key order, the served
//! version of an object, zero values of typed objects, body parsing and the type-meta check.
//!
//! Pure functions on values (a bad body is a `Status` error); they never touch the store.

use super::context::Ctx;
use crate::meta;
use crate::status::{self, ApiError};
use crate::types::{self, ResourceType, Strategy};
use serde_json::{Map, Value, json};
use std::sync::Arc;

pub(crate) fn meta_str<'a>(o: &'a Value, k: &str) -> &'a str {
    o.get("metadata")
        .and_then(|m| m.get(k))
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub(crate) fn meta_mut(o: &mut Value) -> &mut Map<String, Value> {
    if !o.get("metadata").is_some_and(Value::is_object) {
        o["metadata"] = json!({});
    }
    o["metadata"]
        .as_object_mut()
        .expect("metadata is an object")
}

pub(crate) fn finalizers(o: &Value) -> Vec<String> {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Sorts every object key (the real server writes custom resources with sorted keys).
fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if !m.keys().is_sorted() {
                m.sort_keys();
            }
            m.values_mut().for_each(sort_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Key order of the stored representation.
pub(crate) fn canonical_order(rt: &ResourceType, v: &mut Value) {
    match rt.strategy {
        Strategy::Custom => sort_keys(v),
        _ => {
            types::reorder(v, &["kind", "apiVersion", "metadata", "spec", "status"]);
            if let Some(m) = v.get_mut("metadata") {
                types::reorder(m, meta::FIELDS);
            }
            if rt.strategy == Strategy::Crd {
                types::order_crd(v);
            }
        }
    }
}

/// A served version of an object (only `apiVersion` differs between versions: conversion None).
pub(crate) fn at_version(obj: &Arc<Value>, api_version: &str) -> Arc<Value> {
    if obj.get("apiVersion").and_then(Value::as_str) == Some(api_version) {
        obj.clone()
    } else {
        let mut o = (**obj).clone();
        o["apiVersion"] = json!(api_version);
        Arc::new(o)
    }
}

pub(crate) fn new_namespace_object(name: &str, uid: &str, now: &str) -> Value {
    json!({"kind":"Namespace","apiVersion":"v1","metadata":{"name":name,"uid":uid,"creationTimestamp":now,
        "labels":{"kubernetes.io/metadata.name":name}},
        "spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}})
}

/// The zero value of a typed object: fields the Go type always carries.
pub(crate) fn zero_object(rt: &ResourceType) -> Value {
    match rt.strategy {
        Strategy::Crd => json!({"spec":{"names":{}}}),
        Strategy::Lease => json!({"spec":{}}),
        Strategy::Namespace => json!({"spec":{},"status":{}}),
        Strategy::Custom => json!({}),
    }
}

pub(crate) fn parse_json_body(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice::<Value>(body)
        .map_err(|e| status::bad_request(format!("the object provided is unrecognized: {e}")))
}

pub(crate) fn parse_apply_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| status::bad_request(format!("error decoding YAML: {e}")))
}

pub(crate) fn check_type_meta(ctx: &Ctx<'_>, obj: &Value) -> Result<(), ApiError> {
    let Some(o) = obj.as_object() else {
        return Err(status::bad_request(
            "the object provided is unrecognized: expected a JSON object",
        ));
    };
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    let av = o.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() {
        return Err(status::bad_request(format!(
            "Object 'Kind' is missing in '{}'",
            truncate(&obj.to_string(), 512)
        )));
    }
    if av.is_empty() {
        return Err(status::bad_request(format!(
            "Object 'apiVersion' is missing in '{}'",
            truncate(&obj.to_string(), 512)
        )));
    }
    if kind != ctx.rt.kind {
        return Err(status::bad_request(format!(
            "the object provided is unrecognized: kind {kind:?} does not match the expected kind {:?}",
            ctx.rt.kind
        )));
    }
    if av != ctx.api_version()
        && !ctx
            .rt
            .versions
            .iter()
            .any(|v| ctx.rt.api_version(&v.name) == av)
    {
        return Err(status::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            ctx.api_version()
        )));
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.len() <= n {
        s.to_string()
    } else {
        format!(
            "{}...",
            &s[..s.char_indices().nth(n).map(|x| x.0).unwrap_or(s.len())]
        )
    }
}
