//! A parsed filter predicate and how it matches one record: ids, text lookups (exact,
//! case-insensitive, regex), foreign-key paths, tags, booleans, custom fields, timestamps and the
//! `?q=` search.
//!
//! It does not parse query parameters (`filters` does) or pick candidates from indexes.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::tables::search_fields;
use crate::model::{FieldKind, Model};
use crate::store::{Id, Rec, Store};

/// A predicate too specific for the other variants.
type Check = Box<dyn Fn(&Store, &Rec) -> bool + Send + Sync>;

/// One parsed filter predicate.
pub(super) enum Pred {
    Ids(BTreeSet<Id>, bool),
    IdCmp(Ordering, bool, Id),
    Text {
        field: &'static str,
        values: Vec<String>,
        lookup: Lookup,
        negate: bool,
    },
    Empty(&'static str, bool),
    RefIn {
        path: &'static [&'static str],
        ids: BTreeSet<Id>,
        negate: bool,
    },
    RefNull(&'static [&'static str], bool),
    Tags(Vec<Id>),
    TagsNot(Vec<Id>),
    Bool(&'static str, bool),
    Cf {
        name: String,
        ty: String,
        values: Vec<Value>,
        lookup: Lookup,
    },
    CfEmpty(String, bool),
    Time(&'static str, Ordering, bool, Timestamp),
    Q(String),
    Custom(Check),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Lookup {
    Exact,
    IExact,
    IContains,
    IStartsWith,
    IEndsWith,
    Regex,
    IRegex,
}

/// Follows a chain of foreign keys from `rec` (e.g. interface → device → site) to an id.
pub(super) fn follow(store: &Store, m: Model, rec: &Rec, path: &[&str]) -> Option<Id> {
    let mut model = m;
    let mut cur = rec;
    let mut id = None;
    for (n, field) in path.iter().enumerate() {
        let f = model.field(field)?;
        let next = cur.get(model, field).as_u64()?;
        id = Some(next);
        if n + 1 < path.len() {
            let target = match f.kind {
                FieldKind::Fk(t, _) | FieldKind::ReqFk(t, _) => t,
                _ => return None,
            };
            cur = store.get(target, next)?;
            model = target;
        }
    }
    id
}

fn text_match(have: &str, want: &str, lookup: Lookup) -> bool {
    match lookup {
        Lookup::Exact => have == want,
        Lookup::IExact => have.to_lowercase() == want.to_lowercase(),
        Lookup::IContains => have.to_lowercase().contains(&want.to_lowercase()),
        Lookup::IStartsWith => have.to_lowercase().starts_with(&want.to_lowercase()),
        Lookup::IEndsWith => have.to_lowercase().ends_with(&want.to_lowercase()),
        Lookup::Regex => regex::Regex::new(want).is_ok_and(|r| r.is_match(have)),
        Lookup::IRegex => regex::Regex::new(&format!("(?i){want}")).is_ok_and(|r| r.is_match(have)),
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

impl Pred {
    pub(super) fn matches(&self, store: &Store, m: Model, rec: &Rec) -> bool {
        match self {
            Pred::Ids(ids, negate) => ids.contains(&rec.id) != *negate,
            Pred::IdCmp(ord, eq, v) => {
                let c = rec.id.cmp(v);
                c == *ord || (*eq && c == Ordering::Equal)
            }
            Pred::Text {
                field,
                values,
                lookup,
                negate,
            } => {
                let have = value_text(rec.get(m, field));
                let hit = match &have {
                    Some(h) => values.iter().any(|w| text_match(h, w, *lookup)),
                    None => false,
                };
                hit != *negate
            }
            Pred::Empty(field, want) => {
                let v = rec.get(m, field);
                let empty = v.is_null() || v.as_str() == Some("");
                empty == *want
            }
            Pred::RefIn { path, ids, negate } => {
                let hit = follow(store, m, rec, path).is_some_and(|id| ids.contains(&id));
                hit != *negate
            }
            Pred::RefNull(path, want_null) => follow(store, m, rec, path).is_none() == *want_null,
            Pred::Tags(tags) => tags.iter().all(|t| rec.tags.contains(t)),
            Pred::TagsNot(tags) => !tags.iter().any(|t| rec.tags.contains(t)),
            Pred::Bool(field, want) => rec.get(m, field).as_bool() == Some(*want),
            Pred::Cf {
                name,
                ty,
                values,
                lookup,
            } => {
                let have = rec.cf.get(name).unwrap_or(&Value::Null);
                if have.is_null() {
                    return false;
                }
                values.iter().any(|want| match ty.as_str() {
                    "text" | "longtext" | "url" | "select" => {
                        match (have.as_str(), want.as_str()) {
                            (Some(h), Some(w)) => text_match(h, w, *lookup),
                            _ => false,
                        }
                    }
                    "multiselect" => have.as_array().is_some_and(|a| a.iter().any(|x| x == want)),
                    "integer" | "decimal" => match (have.as_f64(), want.as_f64()) {
                        (Some(h), Some(w)) => match lookup {
                            Lookup::Regex => h >= w,
                            Lookup::IRegex => h <= w,
                            _ => (h - w).abs() < f64::EPSILON,
                        },
                        _ => false,
                    },
                    _ => have == want,
                })
            }
            Pred::CfEmpty(name, want) => {
                let v = rec.cf.get(name).unwrap_or(&Value::Null);
                let empty = v.is_null() || v.as_str() == Some("");
                empty == *want
            }
            Pred::Time(field, ord, eq, ts) => {
                let have = if *field == "created" {
                    rec.created
                } else {
                    rec.last_updated
                };
                let c = have.cmp(ts);
                c == *ord || (*eq && c == Ordering::Equal)
            }
            Pred::Q(q) => {
                let q = q.to_lowercase();
                search_fields(m).iter().any(|f| {
                    rec.get(m, f)
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&q))
                })
            }
            Pred::Custom(f) => f(store, rec),
        }
    }
}

pub(super) fn lookup_of(suffix: &str) -> Option<(Lookup, bool)> {
    Some(match suffix {
        "" => (Lookup::Exact, false),
        "n" => (Lookup::Exact, true),
        "ie" => (Lookup::IExact, false),
        "nie" => (Lookup::IExact, true),
        "ic" => (Lookup::IContains, false),
        "nic" => (Lookup::IContains, true),
        "isw" => (Lookup::IStartsWith, false),
        "nisw" => (Lookup::IStartsWith, true),
        "iew" => (Lookup::IEndsWith, false),
        "niew" => (Lookup::IEndsWith, true),
        "regex" => (Lookup::Regex, false),
        "iregex" => (Lookup::IRegex, false),
        _ => return None,
    })
}
