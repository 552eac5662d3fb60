//! Field sets (`FieldsV1`): trees of path elements (`f:spec`, `k:{"name":"a"}`, `v:"x"`, `i:0`),
//! their set algebra, the FieldsV1 encoding, and paths as conflict messages print them.
//!
//! It knows nothing of objects or schemas; `topology.rs` builds sets from objects.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// A set of field paths, as a tree keyed by path-element strings (`f:spec`, `k:{"name":"a"}`,
/// `v:"x"`, `i:0`). `member` says whether the path ending at this node is in the set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub member: bool,
    pub children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    pub(crate) fn child(&mut self, pe: &str) -> &mut FieldSet {
        self.children.entry(pe.to_string()).or_default()
    }

    pub(crate) fn prune_empty(&mut self) {
        self.children.retain(|_, c| {
            c.prune_empty();
            !c.is_empty()
        });
    }

    /// Set union.
    pub fn union(&self, o: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in(o);
        out
    }

    pub(crate) fn union_in(&mut self, o: &FieldSet) {
        self.member |= o.member;
        for (k, c) in &o.children {
            self.child(k).union_in(c);
        }
    }

    /// Set difference (members of self not in o).
    pub fn difference(&self, o: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !o.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            let d = match o.children.get(k) {
                Some(oc) => c.difference(oc),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    /// Set intersection.
    pub fn intersection(&self, o: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && o.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            if let Some(oc) = o.children.get(k) {
                let i = c.intersection(oc);
                if !i.is_empty() {
                    out.children.insert(k.clone(), i);
                }
            }
        }
        out
    }

    /// Makes every named field that has members below it a member itself.
    pub fn ensure_named_fields_are_members(&self) -> FieldSet {
        let mut out = FieldSet {
            member: self.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            let mut e = c.ensure_named_fields_are_members();
            if k.starts_with("f:") && !e.is_empty() {
                e.member = true;
            }
            if !e.is_empty() {
                out.children.insert(k.clone(), e);
            }
        }
        out
    }

    /// All member paths, each as a list of path elements (sorted).
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = vec![];
        self.collect_paths(&mut vec![], &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for (k, c) in &self.children {
            prefix.push(k.clone());
            if c.member {
                out.push(prefix.clone());
            }
            c.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Encodes as `fieldsV1`.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        for (k, c) in &self.children {
            m.insert(k.clone(), c.encode_node());
        }
        Value::Object(m)
    }

    fn encode_node(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.encode_node());
        }
        Value::Object(m)
    }

    /// Decodes `fieldsV1`.
    pub fn from_fields_v1(v: &Value) -> FieldSet {
        let mut s = FieldSet::default();
        if let Value::Object(m) = v {
            for (k, c) in m {
                if k == "." {
                    continue;
                }
                let mut node = FieldSet::from_fields_v1(c);
                let has_dot = c.get(".").is_some();
                let empty = c.as_object().is_none_or(Map::is_empty);
                node.member = has_dot || empty;
                s.children.insert(k.clone(), node);
            }
        }
        s
    }
}

/// Renders one path as the apiserver does in conflict messages (`.spec.ports[name="a"].port`).
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let v: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            let parts: Vec<String> = v
                .as_object()
                .map(|m| m.iter().map(|(a, b)| format!("{a}={b}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = pe.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        } else if let Some(i) = pe.strip_prefix("i:") {
            s.push_str(&format!("[{i}]"));
        }
    }
    s
}

/// Canonical JSON (sorted object keys) used inside `k:` and `v:` elements.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap_or_default(),
                        canonical(&m[*k])
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

pub(crate) fn key_pe(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    for k in sorted {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", canonical(&Value::Object(m)))
}

pub(crate) fn value_pe(item: &Value) -> String {
    format!("v:{}", canonical(item))
}
