//! Server-side apply and field ownership: field sets (`FieldsV1`), merge of an applied
//! configuration into the live object following the schema's list/map topology, comparison of two
//! objects, pruning of fields dropped by their only owner, conflicts, and `managedFields` encoding.
//!
//! It works on JSON values and a schema; it does not store objects or decide HTTP answers.

use crate::meta;
use crate::schema::{ListType, Schema};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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

    fn child(&mut self, pe: &str) -> &mut FieldSet {
        self.children.entry(pe.to_string()).or_default()
    }

    fn prune_empty(&mut self) {
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

    fn union_in(&mut self, o: &FieldSet) {
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

    /// Removes every path that has a prefix in `o` that is a member (SMD `RecursiveDifference`).
    pub fn recursive_difference(&self, o: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !o.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            let d = match o.children.get(k) {
                Some(oc) if oc.member => continue,
                Some(oc) => c.recursive_difference(oc),
                None => c.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
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

fn key_pe(item: &Value, keys: &[String]) -> String {
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

fn value_pe(item: &Value) -> String {
    format!("v:{}", canonical(item))
}

/// Topology of one node as SSA sees it.
#[derive(Clone, Copy)]
enum Topo<'a> {
    GranularMap(Option<&'a Schema>),
    ListSet,
    ListMap(&'a [String], Option<&'a Schema>),
    Atomic,
}

fn topo<'a>(v: &Value, s: Option<&'a Schema>) -> Topo<'a> {
    match v {
        Value::Object(_) => match s {
            Some(sc) if sc.map_atomic => Topo::Atomic,
            Some(sc) if sc.int_or_string => Topo::Atomic,
            _ => Topo::GranularMap(s),
        },
        Value::Array(_) => match s.map(|sc| &sc.list_type) {
            Some(ListType::Set) => Topo::ListSet,
            Some(ListType::Map(keys)) => {
                Topo::ListMap(keys.as_slice(), s.and_then(|sc| sc.items.as_deref()))
            }
            _ => Topo::Atomic,
        },
        _ => Topo::Atomic,
    }
}

fn field_schema<'a>(s: Option<&'a Schema>, k: &str) -> Option<&'a Schema> {
    s.and_then(|sc| sc.field(k)).map(|a| a.as_ref())
}

/// All paths present in `v` (the node itself excluded).
pub fn to_field_set(v: &Value, s: Option<&Schema>) -> FieldSet {
    let mut out = FieldSet::default();
    collect(v, s, &mut out);
    out
}

fn is_leaf(v: &Value, s: Option<&Schema>) -> bool {
    match (topo(v, s), v) {
        (Topo::GranularMap(_), Value::Object(m)) => m.is_empty(),
        (Topo::ListSet | Topo::ListMap(..), Value::Array(a)) => a.is_empty(),
        _ => true,
    }
}

/// Leaves and list items only (SMD `ToFieldSet`): what an applied configuration owns.
fn collect(v: &Value, s: Option<&Schema>, node: &mut FieldSet) {
    collect_mode(v, s, node, false)
}

/// Every node below (SMD comparison of an added or removed subtree).
fn collect_all(v: &Value, s: Option<&Schema>, node: &mut FieldSet) {
    collect_mode(v, s, node, true)
}

fn collect_mode(v: &Value, s: Option<&Schema>, node: &mut FieldSet, all: bool) {
    match (topo(v, s), v) {
        (Topo::GranularMap(sc), Value::Object(m)) => {
            for (k, c) in m {
                let fs = field_schema(sc, k);
                let n = node.child(&format!("f:{k}"));
                n.member = all || is_leaf(c, fs);
                collect_mode(c, fs, n, all);
            }
        }
        (Topo::ListSet, Value::Array(items)) => {
            for it in items {
                node.child(&value_pe(it)).member = true;
            }
        }
        (Topo::ListMap(keys, is), Value::Array(items)) => {
            for it in items {
                let n = node.child(&key_pe(it, keys));
                n.member = true;
                collect_mode(it, is, n, all);
            }
        }
        _ => {}
    }
}

/// Result of comparing two objects.
#[derive(Debug, Default, Clone)]
pub struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

impl Comparison {
    pub fn is_same(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// Compares `old` and `new` following the schema topology.
pub fn compare(old: &Value, new: &Value, s: Option<&Schema>) -> Comparison {
    let mut c = Comparison::default();
    cmp_node(old, new, s, &mut c.added, &mut c.modified, &mut c.removed);
    c.added.prune_empty();
    c.modified.prune_empty();
    c.removed.prune_empty();
    c
}

fn cmp_node(
    old: &Value,
    new: &Value,
    s: Option<&Schema>,
    added: &mut FieldSet,
    modified: &mut FieldSet,
    removed: &mut FieldSet,
) {
    match (topo(old, s), topo(new, s), old, new) {
        (Topo::GranularMap(sc), Topo::GranularMap(_), Value::Object(o), Value::Object(n)) => {
            for (k, ov) in o {
                let pe = format!("f:{k}");
                let fs = field_schema(sc, k);
                match n.get(k) {
                    None => {
                        let r = removed.child(&pe);
                        r.member = true;
                        collect_all(ov, fs, r);
                    }
                    Some(nv) => cmp_child(&pe, ov, nv, fs, added, modified, removed),
                }
            }
            for (k, nv) in n {
                if !o.contains_key(k) {
                    let a = added.child(&format!("f:{k}"));
                    a.member = true;
                    collect_all(nv, field_schema(sc, k), a);
                }
            }
        }
        (Topo::ListSet, Topo::ListSet, Value::Array(o), Value::Array(n)) => {
            let os: HashSet<String> = o.iter().map(value_pe).collect();
            let ns: HashSet<String> = n.iter().map(value_pe).collect();
            for pe in os.difference(&ns) {
                removed.child(pe).member = true;
            }
            for pe in ns.difference(&os) {
                added.child(pe).member = true;
            }
        }
        (Topo::ListMap(keys, is), Topo::ListMap(..), Value::Array(o), Value::Array(n)) => {
            let om: HashMap<String, &Value> = o.iter().map(|it| (key_pe(it, keys), it)).collect();
            let nm: HashMap<String, &Value> = n.iter().map(|it| (key_pe(it, keys), it)).collect();
            for (pe, ov) in &om {
                match nm.get(pe) {
                    None => {
                        let r = removed.child(pe);
                        r.member = true;
                        collect_all(ov, is, r);
                    }
                    Some(nv) => cmp_child(pe, ov, nv, is, added, modified, removed),
                }
            }
            for (pe, nv) in &nm {
                if !om.contains_key(pe) {
                    let a = added.child(pe);
                    a.member = true;
                    collect_all(nv, is, a);
                }
            }
        }
        _ => {}
    }
}

fn cmp_child(
    pe: &str,
    ov: &Value,
    nv: &Value,
    s: Option<&Schema>,
    added: &mut FieldSet,
    modified: &mut FieldSet,
    removed: &mut FieldSet,
) {
    let same_shape = matches!(
        (topo(ov, s), topo(nv, s)),
        (Topo::GranularMap(_), Topo::GranularMap(_))
            | (Topo::ListSet, Topo::ListSet)
            | (Topo::ListMap(..), Topo::ListMap(..))
    ) && std::mem::discriminant(ov) == std::mem::discriminant(nv);
    let empty_like = |x: &Value| match x {
        Value::Object(_) => Value::Object(Map::new()),
        Value::Array(_) => Value::Array(vec![]),
        _ => Value::Null,
    };
    if ov.is_null()
        && matches!(
            topo(nv, s),
            Topo::GranularMap(_) | Topo::ListMap(..) | Topo::ListSet
        )
    {
        let e = empty_like(nv);
        cmp_node(
            &e,
            nv,
            s,
            added.child(pe),
            modified.child(pe),
            removed.child(pe),
        );
    } else if same_shape {
        cmp_node(
            ov,
            nv,
            s,
            added.child(pe),
            modified.child(pe),
            removed.child(pe),
        );
    } else if ov != nv {
        modified.child(pe).member = true;
        let mut r = FieldSet::default();
        collect_all(ov, s, &mut r);
        if !r.is_empty() {
            removed.child(pe).union_in(&r);
        }
        let mut a = FieldSet::default();
        collect_all(nv, s, &mut a);
        if !a.is_empty() {
            added.child(pe).union_in(&a);
        }
    }
}

/// Merges an applied configuration into the live object (SMD merge semantics).
pub fn merge(live: &Value, config: &Value, s: Option<&Schema>) -> Value {
    match (topo(live, s), live, config) {
        (Topo::GranularMap(sc), Value::Object(l), Value::Object(c))
            if !matches!(topo(config, s), Topo::Atomic) =>
        {
            let mut out = l.clone();
            for (k, cv) in c {
                let merged = match l.get(k) {
                    Some(lv) => merge(lv, cv, field_schema(sc, k)),
                    None => cv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Topo::ListSet, Value::Array(l), Value::Array(c)) => {
            Value::Array(merge_list(l, c, &|v| value_pe(v), &|lv, cv| {
                lv.unwrap_or(cv).clone()
            }))
        }
        (Topo::ListMap(keys, is), Value::Array(l), Value::Array(c)) => {
            Value::Array(merge_list(l, c, &|v| key_pe(v, keys), &|lv, cv| match lv {
                Some(lv) => merge(lv, cv, is),
                None => cv.clone(),
            }))
        }
        _ => config.clone(),
    }
}

type PeFn<'a> = dyn Fn(&Value) -> String + 'a;
type ItemMerge<'a> = dyn Fn(Option<&Value>, &Value) -> Value + 'a;

fn merge_list(
    lhs: &[Value],
    rhs: &[Value],
    pe: &PeFn<'_>,
    merge_item: &ItemMerge<'_>,
) -> Vec<Value> {
    let lpes: Vec<String> = lhs.iter().map(pe).collect();
    let rpes: Vec<String> = rhs.iter().map(pe).collect();
    let mut lidx: HashMap<&str, usize> = HashMap::new();
    for (i, p) in lpes.iter().enumerate() {
        lidx.entry(p.as_str()).or_insert(i);
    }
    let rset: HashSet<&str> = rpes.iter().map(String::as_str).collect();
    let shared: Vec<&str> = rpes
        .iter()
        .map(String::as_str)
        .filter(|p| lidx.contains_key(p))
        .collect();
    let mut shared_i = 0usize;
    let mut merged_rhs: HashSet<&str> = HashSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let (ll, rl) = (lhs.len(), rhs.len());
    let (mut li, mut ri) = (0, 0);
    while li < ll || ri < rl {
        let next_shared = shared.get(shared_i).copied();
        if li < ll && ri < rl {
            if lpes[li] == rpes[ri] {
                merged_rhs.insert(rpes[ri].as_str());
                out.push(merge_item(Some(&lhs[li]), &rhs[ri]));
                if next_shared == Some(rpes[ri].as_str()) {
                    shared_i += 1;
                }
                li += 1;
                ri += 1;
                continue;
            }
            if rset.contains(lpes[li].as_str()) && next_shared.is_some_and(|n| n != lpes[li]) {
                li += 1;
                continue;
            }
        }
        if li < ll {
            if !rset.contains(lpes[li].as_str()) {
                out.push(lhs[li].clone());
                li += 1;
                continue;
            } else if merged_rhs.contains(lpes[li].as_str()) {
                li += 1;
                continue;
            }
        }
        if ri < rl {
            let p = rpes[ri].as_str();
            merged_rhs.insert(p);
            out.push(merge_item(lidx.get(p).map(|&i| &lhs[i]), &rhs[ri]));
            if next_shared == Some(p) {
                shared_i += 1;
            }
            ri += 1;
        } else if li < ll {
            // Everything left on the left side was already merged.
            li += 1;
        }
    }
    out
}

/// Removes from `v` every path that is a member of `set`.
pub fn remove_items(v: &Value, set: &FieldSet, s: Option<&Schema>) -> Value {
    match (topo(v, s), v) {
        (Topo::GranularMap(sc), Value::Object(m)) => {
            let mut out = Map::new();
            for (k, c) in m {
                match set.children.get(&format!("f:{k}")) {
                    Some(n) if n.member => {}
                    Some(n) => {
                        out.insert(k.clone(), remove_items(c, n, field_schema(sc, k)));
                    }
                    None => {
                        out.insert(k.clone(), c.clone());
                    }
                }
            }
            Value::Object(out)
        }
        (Topo::ListSet, Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter(|it| !set.children.get(&value_pe(it)).is_some_and(|n| n.member))
                .cloned()
                .collect(),
        ),
        (Topo::ListMap(keys, is), Value::Array(items)) => {
            let mut out = vec![];
            for it in items {
                match set.children.get(&key_pe(it, keys)) {
                    Some(n) if n.member => {}
                    Some(n) => out.push(remove_items(it, n, is)),
                    None => out.push(it.clone()),
                }
            }
            Value::Array(out)
        }
        _ => v.clone(),
    }
}

/// Paths that the field manager never tracks (typemeta and server-owned metadata).
pub fn strip(set: &mut FieldSet) {
    set.children.remove("f:apiVersion");
    set.children.remove("f:kind");
    if let Some(m) = set.children.get_mut("f:metadata") {
        m.member = false;
        // The object's identity and the legacy `clusterName` are not owned either.
        for f in meta::SERVER_SET
            .iter()
            .chain(&["name", "namespace", "clusterName"])
        {
            m.children.remove(&format!("f:{f}"));
        }
    }
    set.prune_empty();
}

/// Which fields a write to a (sub)resource may own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reset {
    /// No status subresource: everything counts.
    None,
    /// Main resource of a type with a status subresource: `status` is ignored.
    Status,
    /// The `/status` subresource: only `status` counts.
    AllButStatus,
}

/// Applies the reset rule to a field set.
pub fn reset_set(set: &mut FieldSet, reset: Reset) {
    match reset {
        Reset::None => {}
        Reset::Status => {
            set.children.remove("f:status");
        }
        Reset::AllButStatus => set.children.retain(|k, _| k == "f:status"),
    }
}

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
    fn same_identity(&self, manager: &str, operation: &str, subresource: &str) -> bool {
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
    fn identity(&self) -> String {
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

/// Inputs shared by apply and update.
pub struct Ctx<'a> {
    pub schema: Option<&'a Schema>,
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub reset: Reset,
    pub now: &'a str,
}

fn tracked_set(v: &Value, ctx: &Ctx<'_>) -> FieldSet {
    let mut s = to_field_set(v, ctx.schema);
    strip(&mut s);
    reset_set(&mut s, ctx.reset);
    s
}

fn tracked_compare(old: &Value, new: &Value, ctx: &Ctx<'_>) -> Comparison {
    let mut c = compare(old, new, ctx.schema);
    for s in [&mut c.added, &mut c.modified, &mut c.removed] {
        strip(s);
        reset_set(s, ctx.reset);
    }
    c
}

/// Ownership bookkeeping shared by apply and update: conflicts with other managers, and
/// removal of fields the new object no longer has.
fn update_managers(
    old: &Value,
    new: &Value,
    managers: &mut [ManagedEntry],
    self_idx: Option<usize>,
    force: bool,
    ctx: &Ctx<'_>,
) -> Result<Comparison, Vec<Conflict>> {
    let cmp = tracked_compare(old, new, ctx);
    let changed = cmp.modified.union(&cmp.added);
    let mut conflicts = vec![];
    let mut conflict_sets: Vec<(usize, FieldSet)> = vec![];
    for (i, m) in managers.iter().enumerate() {
        if Some(i) == self_idx {
            continue;
        }
        let c = m.set.intersection(&changed);
        if !c.is_empty() {
            for p in c.paths() {
                conflicts.push(Conflict {
                    printed_manager: m.printed(),
                    identity: m.identity(),
                    path: path_string(&p),
                });
            }
            conflict_sets.push((i, c));
        }
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.identity.cmp(&b.identity).then(a.path.cmp(&b.path)));
        return Err(conflicts);
    }
    for (i, c) in conflict_sets {
        managers[i].set = managers[i].set.difference(&c);
    }
    if !cmp.removed.is_empty() {
        for (i, m) in managers.iter_mut().enumerate() {
            if Some(i) != self_idx {
                m.set = m.set.difference(&cmp.removed);
            }
        }
    }
    Ok(cmp)
}

/// Records a non-apply write (create, update, merge/JSON patch) made by `ctx.manager`.
pub fn record_update(old: &Value, new: &Value, managers: &mut Vec<ManagedEntry>, ctx: &Ctx<'_>) {
    let cmp = match update_managers(old, new, managers, None, true, ctx) {
        Ok(c) => c,
        Err(_) => unreachable_conflict(),
    };
    let own = cmp.modified.union(&cmp.added).difference(&cmp.removed);
    if !own.is_empty() {
        let idx = managers
            .iter()
            .position(|e| e.same_identity(ctx.manager, "Update", ctx.subresource));
        match idx {
            Some(i) => {
                managers[i].set = own.union(&managers[i].set.difference(&cmp.removed));
                managers[i].time = Some(ctx.now.to_string());
                managers[i].api_version = ctx.api_version.to_string();
            }
            None => managers.push(ManagedEntry {
                manager: ctx.manager.to_string(),
                operation: "Update".into(),
                api_version: ctx.api_version.to_string(),
                time: Some(ctx.now.to_string()),
                subresource: ctx.subresource.to_string(),
                set: own,
            }),
        }
    }
    managers.retain(|m| !m.set.is_empty());
}

fn unreachable_conflict() -> Comparison {
    // `update_managers` with force=true never reports conflicts.
    Comparison::default()
}

/// Server-side apply of `config` onto `live`. Returns the new object (without managedFields
/// changes applied to it) and the new manager list; or the conflicts.
pub fn apply(
    live: &Value,
    config: &Value,
    managers: &mut Vec<ManagedEntry>,
    force: bool,
    ctx: &Ctx<'_>,
) -> Result<Value, Vec<Conflict>> {
    let merged = merge(live, config, ctx.schema);
    let new_set = tracked_set(config, ctx);
    let idx = managers
        .iter()
        .position(|e| e.same_identity(ctx.manager, "Apply", ctx.subresource));
    let last_set = idx.map(|i| managers[i].set.clone()).unwrap_or_default();
    let self_idx = match idx {
        Some(i) => {
            managers[i].set = new_set.clone();
            managers[i].api_version = ctx.api_version.to_string();
            i
        }
        None => {
            managers.push(ManagedEntry {
                manager: ctx.manager.to_string(),
                operation: "Apply".into(),
                api_version: ctx.api_version.to_string(),
                time: None,
                subresource: ctx.subresource.to_string(),
                set: new_set.clone(),
            });
            managers.len() - 1
        }
    };
    // Pruning only removes what the applier owned before and no longer sends.
    let result = if last_set.is_empty() || last_set.difference(&new_set).is_empty() {
        merged
    } else {
        let s = ctx.schema;
        let pruned0 = remove_items(&merged, &last_set.ensure_named_fields_are_members(), s);
        let mut managed = FieldSet::default();
        for m in managers.iter() {
            managed.union_in(&m.set);
        }
        let merged_set = to_field_set(&merged, s).ensure_named_fields_are_members();
        let pruned0_set = to_field_set(&pruned0, s).ensure_named_fields_are_members();
        let keep = pruned0_set.union(&managed.ensure_named_fields_are_members());
        let pruned1 = remove_items(&merged, &merged_set.difference(&keep), s);
        let pruned1_set = to_field_set(&pruned1, s).ensure_named_fields_are_members();
        let dangling = merged_set
            .difference(&pruned1_set)
            .intersection(&last_set.ensure_named_fields_are_members());
        remove_items(&merged, &dangling, s)
    };
    let cmp = update_managers(live, &result, managers, Some(self_idx), force, ctx)?;
    if !cmp.is_same() {
        managers[self_idx].time = Some(ctx.now.to_string());
    }
    managers.retain(|m| !m.set.is_empty());
    Ok(result)
}

/// Ownership of a live object that has no managedFields, given to `before-first-apply`.
pub fn before_first_apply(live: &Value, ctx: &Ctx<'_>) -> Option<ManagedEntry> {
    let set = tracked_set(live, ctx);
    if set.is_empty() {
        return None;
    }
    Some(ManagedEntry {
        manager: "before-first-apply".into(),
        operation: "Update".into(),
        api_version: ctx.api_version.to_string(),
        time: Some(ctx.now.to_string()),
        subresource: String::new(),
        set,
    })
}

/// Names of managers (for tests and logs).
pub fn manager_names(entries: &[ManagedEntry]) -> BTreeSet<String> {
    entries.iter().map(|e| e.manager.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::compile(&json!({"type":"object","properties":{"spec":{"type":"object","properties":{
            "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],
                "items":{"type":"object","properties":{"name":{"type":"string"},"speed":{"type":"integer"}}}},
            "tags":{"type":"array","x-kubernetes-list-type":"set","items":{"type":"string"}},
            "a":{"type":"string"},"b":{"type":"string"}}}}}))
        .unwrap()
    }

    fn ctx<'a>(s: &'a Schema, m: &'a str) -> Ctx<'a> {
        Ctx {
            schema: Some(s),
            manager: m,
            api_version: "g/v1",
            subresource: "",
            reset: Reset::None,
            now: "2026-01-01T00:00:00Z",
        }
    }

    #[test]
    fn fields_v1_roundtrip_and_order() {
        let s = schema();
        let set = to_field_set(
            &json!({"spec":{"a":"x","ports":[{"name":"p1","speed":1}],"tags":["t"]}}),
            Some(&s),
        );
        let enc = set.to_fields_v1();
        assert_eq!(
            enc.to_string(),
            r#"{"f:spec":{"f:a":{},"f:ports":{"k:{\"name\":\"p1\"}":{".":{},"f:name":{},"f:speed":{}}},"f:tags":{"v:\"t\"":{}}}}"#
        );
        assert_eq!(FieldSet::from_fields_v1(&enc), set);
    }

    #[test]
    fn yaml_bodies_parse() {
        let v: Value = serde_saphyr::from_str(
            "apiVersion: g/v1\nkind: Switch\nmetadata:\n  name: yml-1\nspec:\n  role: spine\n",
        )
        .unwrap();
        assert_eq!(v["metadata"]["name"], "yml-1");
    }

    #[test]
    fn apply_conflict_and_force_and_prune() {
        let s = schema();
        let mut managers = vec![];
        let live = json!({"spec":{}});
        let a = apply(
            &live,
            &json!({"spec":{"a":"1","b":"2"}}),
            &mut managers,
            false,
            &ctx(&s, "one"),
        )
        .unwrap();
        let err = apply(
            &a,
            &json!({"spec":{"a":"9"}}),
            &mut managers.clone(),
            false,
            &ctx(&s, "two"),
        )
        .unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path, ".spec.a");
        // same value: shared ownership, no conflict
        let b = apply(
            &a,
            &json!({"spec":{"a":"1"}}),
            &mut managers,
            false,
            &ctx(&s, "two"),
        )
        .unwrap();
        assert_eq!(b, a);
        // one drops b (only owner) -> removed; drops a (co-owned) -> kept
        let c = apply(
            &b,
            &json!({"spec":{}}),
            &mut managers,
            false,
            &ctx(&s, "one"),
        )
        .unwrap();
        assert_eq!(c, json!({"spec":{"a":"1"}}));
    }

    #[test]
    fn list_map_merge_keeps_other_items() {
        let s = schema();
        let mut managers = vec![];
        let live = json!({"spec":{"ports":[{"name":"p1","speed":1}]}});
        let out = apply(
            &live,
            &json!({"spec":{"ports":[{"name":"p2","speed":2}]}}),
            &mut managers,
            false,
            &ctx(&s, "m"),
        )
        .unwrap();
        assert_eq!(out["spec"]["ports"].as_array().unwrap().len(), 2);
    }
}
