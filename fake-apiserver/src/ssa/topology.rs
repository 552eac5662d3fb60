//! JSON objects seen through the schema's list and map topology (granular maps, sets, list-maps
//! keyed by fields, atomics): the field set of an object, the comparison of two objects, the merge
//! of an applied configuration into a live object, and the removal of a field set.
//!
//! It does not track owners; `mod.rs` decides who owns what.

use super::fieldset::{FieldSet, key_pe, value_pe};
use crate::schema::{ListType, Schema};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};

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
