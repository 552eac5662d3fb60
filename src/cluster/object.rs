//! Objects as the apiserver hands them back: the metadata the server sets, the fields a field
//! manager owns (from `managedFields`), and how a pre-image becomes a body that creates,
//! re-applies or replaces it again.
//!
//! Pure functions over JSON; no requests, no decisions about when to restore.

use serde_json::{Map, Value};

/// Metadata the server sets on every object: never sent back when an object is created again.
pub const SERVER_SET_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// A deleted object's pre-image as a body that creates it again: without what the server sets
/// (its metadata and `status`).
pub fn recreatable(pre: &Value) -> Value {
    let mut obj = pre.clone();
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in SERVER_SET_METADATA {
            m.remove(*k);
        }
    }
    if let Some(m) = obj.as_object_mut() {
        m.remove("status");
    }
    obj
}

/// The apply configuration that, applied by `manager`, gives it back exactly the fields it owned
/// in `pre` (`None` when it owned nothing through Apply).
pub fn owned_apply_config(
    pre: &Value,
    manager: &str,
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: &str,
) -> Option<Value> {
    let fields = applied_fields(pre, manager)?;
    let mut cfg = extract_owned(pre, fields);
    if let Value::Object(m) = &mut cfg {
        m.insert("apiVersion".into(), Value::String(api_version.into()));
        m.insert("kind".into(), Value::String(kind.into()));
        let meta = m
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        meta["name"] = Value::String(name.into());
        meta["namespace"] = Value::String(namespace.into());
    }
    Some(cfg)
}

/// A replace body for `now` (the object as it stands) that puts back the spec, labels and
/// annotations of `pre`; the server keeps its metadata (resourceVersion guards the replace).
pub fn replacement(now: &Value, pre: &Value) -> Value {
    let mut obj = now.clone();
    obj["spec"] = pre.get("spec").cloned().unwrap_or(Value::Null);
    obj["metadata"]["labels"] = pre
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(Value::Null);
    obj["metadata"]["annotations"] = pre
        .pointer("/metadata/annotations")
        .cloned()
        .unwrap_or(Value::Null);
    if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    obj
}

/// The part of `obj` that the `fieldsV1` set describes (client-go's "extract"): the apply
/// configuration that, applied by the same manager, restores exactly what it owned.
pub fn extract_owned(obj: &Value, fields_v1: &Value) -> Value {
    fn walk(v: &Value, fields: &Map<String, Value>) -> Value {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, sub) in fields {
                    let Some(name) = k.strip_prefix("f:") else {
                        continue;
                    };
                    let Some(child) = m.get(name) else { continue };
                    let sub = sub.as_object();
                    let owned_children = sub.is_some_and(|s| s.keys().any(|k| k != "."));
                    out.insert(
                        name.to_string(),
                        if owned_children {
                            walk(child, sub.expect("checked"))
                        } else {
                            child.clone()
                        },
                    );
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (k, sub) in fields {
                    if let Some(key) = k.strip_prefix("k:") {
                        let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
                            continue;
                        };
                        if let Some(item) = items
                            .iter()
                            .find(|it| key.iter().all(|(kk, kv)| it.get(kk) == Some(kv)))
                        {
                            let sub = sub.as_object();
                            let deeper = sub.is_some_and(|s| s.keys().any(|k| k != "."));
                            let mut e = if deeper {
                                walk(item, sub.expect("checked"))
                            } else {
                                item.clone()
                            };
                            // The key fields identify the item: always keep them.
                            if let Value::Object(e) = &mut e {
                                for (kk, kv) in &key {
                                    e.insert(kk.clone(), kv.clone());
                                }
                            }
                            out.push(e);
                        }
                    } else if let Some(val) = k.strip_prefix("v:")
                        && let Ok(val) = serde_json::from_str::<Value>(val)
                        && items.contains(&val)
                    {
                        out.push(val);
                    }
                }
                Value::Array(out)
            }
            other => other.clone(),
        }
    }
    match fields_v1.as_object() {
        Some(f) => walk(obj, f),
        None => Value::Object(Map::new()),
    }
}

/// The fields `manager` owns through Apply (its `fieldsV1`), if any.
pub fn applied_fields<'a>(obj: &'a Value, manager: &str) -> Option<&'a Value> {
    obj.pointer("/metadata/managedFields")?
        .as_array()?
        .iter()
        .find(|e| {
            e.get("manager").and_then(Value::as_str) == Some(manager)
                && e.get("operation").and_then(Value::as_str) == Some("Apply")
                && e.get("subresource").is_none()
        })?
        .get("fieldsV1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extract_follows_fields_v1() {
        let obj = json!({"metadata":{"name":"a","labels":{"mine":"1","theirs":"2"}},
                         "spec":{"description":"d","asn":1,"links":[{"n":1},{"n":2}],
                                 "ports":[{"name":"p1","speed":1},{"name":"p2","speed":2}],
                                 "groups":["g1","g2"]}});
        let fields = json!({"f:metadata":{"f:labels":{"f:mine":{}}},
                            "f:spec":{"f:description":{},"f:links":{},
                                      "f:ports":{"k:{\"name\":\"p2\"}":{".":{},"f:speed":{}}},
                                      "f:groups":{"v:\"g2\"":{}}}});
        assert_eq!(
            extract_owned(&obj, &fields),
            json!({"metadata":{"labels":{"mine":"1"}},
                   "spec":{"description":"d","links":[{"n":1},{"n":2}],
                           "ports":[{"name":"p2","speed":2}],"groups":["g2"]}})
        );
    }

    #[test]
    fn recreatable_drops_what_the_server_sets() {
        let pre = json!({"metadata":{"name":"a","uid":"u","resourceVersion":"7",
                                     "managedFields":[],"labels":{"l":"1"}},
                         "spec":{"x":1},"status":{"s":2}});
        assert_eq!(
            recreatable(&pre),
            json!({"metadata":{"name":"a","labels":{"l":"1"}},"spec":{"x":1}})
        );
    }
}
