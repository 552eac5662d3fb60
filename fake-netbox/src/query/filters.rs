//! Parsing the filter parameters of a list request into predicates, with django-filter's
//! validation and error texts, and narrowing the search through the store's indexes.
//!
//! Model-specific filters that fit no table are in [`super::special`]; matching is in
//! [`super::predicate`].

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::predicate::{Lookup, Pred, follow, lookup_of};
use super::special::special;
use super::tables::{bool_filters, choice_filters, relation_filters, text_filters};
use crate::model::{FieldKind, Model};
use crate::render::cf_defs;
use crate::store::{Id, Rec, Store};
use crate::util::parse_datetime;

/// Query parameters that are not filters.
pub const CONTROL_PARAMS: &[&str] = &[
    "limit", "offset", "start", "ordering", "brief", "fields", "omit", "format", "exclude",
];

/// A 400 raised while parsing filters: `{param: [messages]}`.
pub type FilterErrors = Map<String, Value>;

pub(super) fn err(param: &str, msg: impl Into<String>) -> FilterErrors {
    let mut m = Map::new();
    m.insert(
        param.to_string(),
        Value::Array(vec![Value::String(msg.into())]),
    );
    m
}

pub(super) fn select_err(param: &str, v: &str) -> FilterErrors {
    err(
        param,
        format!("Select a valid choice. {v} is not one of the available choices."),
    )
}

/// Resolves slug/name filter values to ids on `target`, 400 when one does not exist.
pub(super) fn resolve_values(
    store: &Store,
    target: Model,
    attr: &str,
    param: &str,
    values: &[&str],
) -> Result<BTreeSet<Id>, FilterErrors> {
    let mut out = BTreeSet::new();
    for v in values {
        let hits: Vec<Id> = store
            .iter(target)
            .filter(|r| match attr {
                "id" => v.parse::<u64>().ok() == Some(r.id),
                _ => r.get(target, attr).as_str() == Some(v),
            })
            .map(|r| r.id)
            .collect();
        if hits.is_empty() {
            return Err(select_err(param, v));
        }
        out.extend(hits);
    }
    Ok(out)
}

pub(super) fn resolve_ids(
    store: &Store,
    target: Model,
    param: &str,
    values: &[&str],
) -> Result<BTreeSet<Id>, FilterErrors> {
    let mut out = BTreeSet::new();
    for v in values {
        if *v == "null" {
            continue;
        }
        let Ok(id) = v.trim().parse::<u64>() else {
            return Err(err(
                param,
                format!("\u{201c}{v}\u{201d} is not a valid value."),
            ));
        };
        if store.get(target, id).is_none() {
            return Err(select_err(param, v));
        }
        out.insert(id);
    }
    Ok(out)
}

pub(super) fn parse_ids(param: &str, values: &[&str]) -> Result<Vec<Id>, FilterErrors> {
    values
        .iter()
        .map(|v| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| err(param, "Enter a whole number."))
        })
        .collect()
}

pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// A parsed set of filters for one model.
pub struct Filters {
    preds: Vec<Pred>,
    /// Parameters that shaped the result (for the query cache key), sorted.
    pub key: Vec<(String, String)>,
}

impl Filters {
    pub fn matches(&self, store: &Store, m: Model, rec: &Rec) -> bool {
        self.preds.iter().all(|p| p.matches(store, m, rec))
    }
}

/// Groups query pairs by name, keeping value order.
pub fn grouped(params: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (k, v) in params {
        match out.iter_mut().find(|(n, _)| n == k) {
            Some((_, vals)) => vals.push(v.clone()),
            None => out.push((k.clone(), vec![v.clone()])),
        }
    }
    out
}

fn split_lookup(name: &str) -> (&str, &str) {
    match name.rsplit_once("__") {
        Some((base, suffix)) => (base, suffix),
        None => (name, ""),
    }
}

/// Parses the filter parameters of a list request on `m`.
pub fn parse_filters(
    store: &Store,
    m: Model,
    params: &[(String, String)],
) -> Result<Filters, FilterErrors> {
    let mut preds = Vec::new();
    let mut key: Vec<(String, String)> = Vec::new();
    let cfs = cf_defs(store, m);
    for (name, values) in grouped(params) {
        if CONTROL_PARAMS.contains(&name.as_str()) {
            continue;
        }
        let vals: Vec<&str> = values.iter().map(String::as_str).collect();
        let before = preds.len();
        parse_one(store, m, &name, &vals, &cfs, &mut preds)?;
        if preds.len() != before {
            for v in &values {
                key.push((name.clone(), v.clone()));
            }
        }
    }
    key.sort();
    Ok(Filters { preds, key })
}

#[allow(clippy::too_many_lines)]
fn parse_one(
    store: &Store,
    m: Model,
    name: &str,
    vals: &[&str],
    cfs: &[crate::render::CfDef],
    preds: &mut Vec<Pred>,
) -> Result<(), FilterErrors> {
    let (base, suffix) = split_lookup(name);
    // id, id__n, id__gt, ...
    if base == "id" && matches!(suffix, "" | "n" | "gt" | "gte" | "lt" | "lte") {
        let ids = parse_ids(name, vals)?;
        match suffix {
            "" => preds.push(Pred::Ids(ids.into_iter().collect(), false)),
            "n" => preds.push(Pred::Ids(ids.into_iter().collect(), true)),
            "gt" | "gte" | "lt" | "lte" => {
                let v = *ids.last().unwrap_or(&0);
                let (ord, eq) = match suffix {
                    "gt" => (Ordering::Greater, false),
                    "gte" => (Ordering::Greater, true),
                    "lt" => (Ordering::Less, false),
                    _ => (Ordering::Less, true),
                };
                preds.push(Pred::IdCmp(ord, eq, v));
            }
            _ => {}
        }
        return Ok(());
    }
    if name == "q" {
        if let Some(q) = vals.last().filter(|q| !q.trim().is_empty()) {
            let q = q.trim().to_string();
            match m {
                Model::Prefix | Model::IpAddress => {
                    let field = if m == Model::Prefix {
                        "prefix"
                    } else {
                        "address"
                    };
                    let qq = q.clone();
                    preds.push(Pred::Custom(Box::new(move |_, rec| {
                        rec.str(m, field).starts_with(&qq)
                            || rec
                                .str(m, "description")
                                .to_lowercase()
                                .contains(&qq.to_lowercase())
                    })));
                }
                _ => preds.push(Pred::Q(q)),
            }
        }
        return Ok(());
    }
    if matches!(base, "created" | "last_updated") {
        let field = if base == "created" {
            "created"
        } else {
            "last_updated"
        };
        let (ord, eq) = match suffix {
            "" => (Ordering::Equal, true),
            "gte" => (Ordering::Greater, true),
            "gt" => (Ordering::Greater, false),
            "lte" => (Ordering::Less, true),
            "lt" => (Ordering::Less, false),
            _ => return Ok(()),
        };
        for v in vals {
            let Some(ts) = parse_datetime(v) else {
                return Err(err(name, "Enter a valid date/time."));
            };
            preds.push(Pred::Time(field, ord, eq, ts));
        }
        return Ok(());
    }
    if base == "tag" || base == "tag_id" {
        let ids: Vec<Id> = if base == "tag" {
            let mut out = Vec::new();
            for v in vals {
                let id = store
                    .iter(Model::Tag)
                    .find(|t| t.str(Model::Tag, "slug") == *v)
                    .map(|t| t.id)
                    .ok_or_else(|| select_err(name, v))?;
                out.push(id);
            }
            out
        } else {
            resolve_ids(store, Model::Tag, name, vals)?
                .into_iter()
                .collect()
        };
        if !m.has_tags() {
            return Ok(());
        }
        match suffix {
            "" | "id" => preds.push(Pred::Tags(ids)),
            "n" => preds.push(Pred::TagsNot(ids)),
            _ => {}
        }
        return Ok(());
    }
    if let Some(cf_name) = base.strip_prefix("cf_") {
        let Some(def) = cfs.iter().find(|d| d.name == cf_name) else {
            return Ok(());
        };
        if def.filter_logic == "disabled" {
            return Ok(());
        }
        if suffix == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::CfEmpty(def.name.clone(), b));
            }
            return Ok(());
        }
        let mut values = Vec::new();
        for v in vals {
            let parsed = match def.ty.as_str() {
                "integer" => match v.trim().parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) => return Err(err(name, "Enter a whole number.")),
                },
                "decimal" => match v.trim().parse::<f64>() {
                    Ok(f) => Value::from(f),
                    Err(_) => return Err(err(name, "Enter a number.")),
                },
                "boolean" => match parse_bool(v) {
                    Some(b) => Value::Bool(b),
                    None => return Ok(()),
                },
                _ => Value::String(v.to_string()),
            };
            values.push(parsed);
        }
        let loose = def.filter_logic == "loose";
        let lookup = match (def.ty.as_str(), suffix) {
            ("integer" | "decimal", "gte") => Lookup::Regex,
            ("integer" | "decimal", "lte") => Lookup::IRegex,
            ("text" | "longtext" | "url", "") if loose => Lookup::IContains,
            (_, "ic") => Lookup::IContains,
            (_, "isw") => Lookup::IStartsWith,
            (_, "iew") => Lookup::IEndsWith,
            (_, "ie") => Lookup::IExact,
            (_, "") => Lookup::Exact,
            _ => return Ok(()),
        };
        preds.push(Pred::Cf {
            name: def.name.clone(),
            ty: def.ty.clone(),
            values,
            lookup,
        });
        return Ok(());
    }
    for r in relation_filters(m) {
        let (rbase, rsuffix) = split_lookup(name);
        let negate = if r.name == name {
            false
        } else if r.name == rbase && rsuffix == "n" {
            true
        } else {
            continue;
        };
        let wants_null = vals.contains(&"null");
        let ids = if r.attr == "id" {
            resolve_ids(store, r.target, name, vals)?
        } else {
            let non_null: Vec<&str> = vals.iter().copied().filter(|v| *v != "null").collect();
            resolve_values(store, r.target, r.attr, name, &non_null)?
        };
        if wants_null && ids.is_empty() {
            preds.push(Pred::RefNull(r.path, !negate));
        } else if wants_null {
            let path = r.path;
            let set = ids.clone();
            preds.push(Pred::Custom(Box::new(move |s, rec| {
                let v = follow(s, m, rec, path);
                (v.is_none() || v.is_some_and(|i| set.contains(&i))) != negate
            })));
        } else {
            preds.push(Pred::RefIn {
                path: r.path,
                ids,
                negate,
            });
        }
        return Ok(());
    }
    for (field, lookup) in text_filters(m) {
        if base != *field && name != *field {
            continue;
        }
        let sfx = if name == *field { "" } else { suffix };
        if sfx == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Empty(field, b));
            }
            return Ok(());
        }
        let Some((lk, negate)) = lookup_of(sfx) else {
            return Ok(());
        };
        let lk = if sfx.is_empty() || sfx == "n" {
            *lookup
        } else {
            lk
        };
        preds.push(Pred::Text {
            field,
            values: vals.iter().map(|s| s.to_string()).collect(),
            lookup: lk,
            negate,
        });
        return Ok(());
    }
    for field in choice_filters(m) {
        if base != *field && name != *field {
            continue;
        }
        let Some(f) = m.field(field) else { continue };
        let FieldKind::Choice { set, .. } = f.kind else {
            continue;
        };
        let sfx = if name == *field { "" } else { suffix };
        if sfx == "empty" {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Empty(field, b));
            }
            return Ok(());
        }
        if !matches!(sfx, "" | "n") {
            return Ok(());
        }
        for v in vals {
            if *v != "null" && set.label(v).is_none() {
                return Err(select_err(name, v));
            }
        }
        preds.push(Pred::Text {
            field,
            values: vals.iter().map(|s| s.to_string()).collect(),
            lookup: Lookup::Exact,
            negate: sfx == "n",
        });
        return Ok(());
    }
    for field in bool_filters(m) {
        if name == *field {
            if let Some(b) = vals.last().and_then(|v| parse_bool(v)) {
                preds.push(Pred::Bool(field, b));
            }
            return Ok(());
        }
    }
    special(store, m, name, vals, preds)
}

/// The models along a foreign key path starting at `m` (`[m, target of path[0], …]`).
fn path_models(m: Model, path: &[&str]) -> Option<Vec<Model>> {
    let mut models = vec![m];
    for field in path {
        let f = models.last()?.field(field)?;
        match f.kind {
            FieldKind::Fk(t, _) | FieldKind::ReqFk(t, _) => models.push(t),
            _ => return None,
        }
    }
    Some(models)
}

impl Filters {
    /// The smallest candidate set the store's indexes give for these filters (reverse foreign
    /// keys for relation filters, explicit ids, tags), or `None` when no index applies.
    pub(super) fn candidates(&self, store: &Store, m: Model) -> Option<BTreeSet<Id>> {
        let mut best: Option<BTreeSet<Id>> = None;
        for p in &self.preds {
            let set = match p {
                Pred::Ids(ids, false) => ids.clone(),
                Pred::Tags(tags) if !tags.is_empty() => {
                    let mut sets = tags.iter().map(|t| {
                        store
                            .tagged(*t)
                            .filter(|(mm, _)| *mm == m)
                            .map(|(_, id)| id)
                            .collect::<BTreeSet<Id>>()
                    });
                    let first = sets.next().unwrap_or_default();
                    sets.fold(first, |acc, s| acc.intersection(&s).copied().collect())
                }
                Pred::RefIn {
                    path,
                    ids,
                    negate: false,
                } => {
                    let Some(models) = path_models(m, path) else {
                        continue;
                    };
                    // Walk the path backwards: objects of models[i] whose path[i] is in `cur`.
                    let mut cur = ids.clone();
                    for i in (0..path.len()).rev() {
                        cur = cur
                            .iter()
                            .flat_map(|t| {
                                store.referrers(models[i], path[i], *t).collect::<Vec<_>>()
                            })
                            .collect();
                    }
                    cur
                }
                _ => continue,
            };
            if best.as_ref().is_none_or(|b| set.len() < b.len()) {
                best = Some(set);
            }
        }
        best
    }
}
