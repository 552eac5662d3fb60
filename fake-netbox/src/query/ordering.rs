//! Ordering: each model's default ordering key (Django `Meta.ordering`, natural names included),
//! `?ordering=` parsing, and the sort itself (nulls last).
//!
//! It does not filter or paginate.

use std::cmp::Ordering;

use serde_json::Value;

use crate::model::{FieldKind, Model};
use crate::net::{self, Net};
use crate::store::{Id, Rec, SortName, Store};

/// One component of a sort key. Nulls compare last.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyPart {
    Value(KeyValue),
    Null,
}

/// A non-null sort key value, compared the way the database orders it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyValue {
    Int(i64),
    Float(u64),
    Bytes(Box<str>),
    Net(u8, u128, u8),
    Name(SortName),
}

fn float_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

fn net_val(n: Net) -> KeyValue {
    let bits = match n.addr {
        std::net::IpAddr::V4(a) => u32::from(a) as u128,
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    KeyValue::Net(n.family(), bits, n.len)
}

/// The parts of the sort key of `rec` for one ordering field.
fn field_parts(store: &Store, m: Model, rec: &Rec, field: &str, depth: u8) -> Vec<KeyPart> {
    if field == "id" || field == "pk" {
        return vec![KeyPart::Value(KeyValue::Int(rec.id as i64))];
    }
    if field == "created" {
        return vec![KeyPart::Value(KeyValue::Int(rec.created.as_microsecond()))];
    }
    if field == "last_updated" {
        return vec![KeyPart::Value(KeyValue::Int(
            rec.last_updated.as_microsecond(),
        ))];
    }
    let Some(f) = m.field(field) else {
        return Vec::new();
    };
    let raw = rec.get(m, field);
    match f.kind {
        FieldKind::Fk(target, _) | FieldKind::ReqFk(target, _) => {
            match raw.as_u64().and_then(|id| store.get(target, id)) {
                Some(r) if depth < 2 => default_key(store, target, r, depth + 1),
                Some(r) => vec![KeyPart::Value(KeyValue::Int(r.id as i64))],
                None => vec![KeyPart::Null],
            }
        }
        FieldKind::Network | FieldKind::Address => match net::parse_any(raw.as_str().unwrap_or(""))
        {
            Some(n) => vec![KeyPart::Value(net_val(n))],
            None => vec![KeyPart::Null],
        },
        _ => match raw {
            Value::Null => vec![KeyPart::Null],
            Value::Number(n) => match n.as_i64() {
                Some(i) => vec![KeyPart::Value(KeyValue::Int(i))],
                None => vec![KeyPart::Value(KeyValue::Float(float_key(
                    n.as_f64().unwrap_or(0.0),
                )))],
            },
            Value::Bool(b) => vec![KeyPart::Value(KeyValue::Int(i64::from(*b)))],
            Value::String(s) => {
                if field == "name" && !matches!(rec.sort, SortName::None | SortName::Bytes(_)) {
                    vec![KeyPart::Value(KeyValue::Name(rec.sort.clone()))]
                } else {
                    vec![KeyPart::Value(KeyValue::Bytes(s.as_str().into()))]
                }
            }
            other => vec![KeyPart::Value(KeyValue::Bytes(other.to_string().into()))],
        },
    }
}

/// The model's default ordering key (Django `Meta.ordering`).
pub fn default_key(store: &Store, m: Model, rec: &Rec, depth: u8) -> Vec<KeyPart> {
    let fp = |f: &str| field_parts(store, m, rec, f, depth);
    let id = KeyPart::Value(KeyValue::Int(rec.id as i64));
    let mut k: Vec<KeyPart> = match m {
        Model::Device | Model::Site | Model::Vrf | Model::VlanGroup | Model::VirtualChassis => {
            let mut k = match &rec.sort {
                SortName::None => vec![KeyPart::Null],
                s => vec![KeyPart::Value(KeyValue::Name(s.clone()))],
            };
            if m == Model::Vrf {
                k.extend(fp("rd"));
            }
            k
        }
        Model::Interface => {
            let mut k = fp("device");
            if let Some(d) = rec.id_of(m, "device") {
                k.push(KeyPart::Value(KeyValue::Int(d as i64)));
            }
            k.push(match &rec.sort {
                SortName::Bytes(b) => KeyPart::Value(KeyValue::Bytes(b.clone())),
                _ => KeyPart::Null,
            });
            k
        }
        Model::DeviceType => {
            let mut k = fp("manufacturer");
            k.extend(fp("model"));
            k
        }
        Model::Prefix => {
            let mut k = match rec.id_of(m, "vrf") {
                None => vec![KeyPart::Value(KeyValue::Int(i64::MIN))],
                Some(_) => fp("vrf"),
            };
            k.extend(fp("prefix"));
            k
        }
        Model::IpAddress => fp("address"),
        Model::MacAddress => fp("mac_address"),
        Model::Vlan => {
            let mut k = fp("site");
            k.extend(fp("group"));
            k.extend(fp("vid"));
            k
        }
        Model::Tag => {
            let mut k = fp("weight");
            k.extend(fp("name"));
            k
        }
        Model::CustomField => {
            let mut k = fp("group_name");
            k.extend(fp("weight"));
            k.extend(fp("name"));
            k
        }
        Model::CableTermination => {
            let mut k = fp("cable");
            k.extend(fp("cable_end"));
            k
        }
        Model::Cable => Vec::new(),
        Model::JournalEntry => vec![
            KeyPart::Value(KeyValue::Int(-(rec.created.as_microsecond()))),
            KeyPart::Value(KeyValue::Int(-(rec.id as i64))),
        ],
        _ => fp("name"),
    };
    k.push(id);
    k
}

/// An `?ordering=` clause: fields with direction.
pub fn parse_ordering(m: Model, spec: &str) -> Vec<(String, bool)> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let (desc, name) = match s.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, s),
            };
            let known = matches!(name, "id" | "pk" | "created" | "last_updated")
                || m.field(name).is_some_and(|f| {
                    f.is(crate::model::FULL)
                        && !matches!(
                            f.kind,
                            FieldKind::Computed(_) | FieldKind::CustomFields | FieldKind::Tags
                        )
                });
            known.then(|| (name.to_string(), desc))
        })
        .collect()
}

fn cmp_parts(a: &[KeyPart], b: &[KeyPart], desc: bool) -> Ordering {
    let c = a.cmp(b);
    if desc { c.reverse() } else { c }
}

/// Sorts ids by the default ordering or by an explicit ordering.
pub fn sort(store: &Store, m: Model, ids: &mut Vec<Id>, ordering: &[(String, bool)]) {
    if ordering.is_empty() {
        if m == Model::Cable {
            ids.sort_unstable();
            return;
        }
        let mut keyed: Vec<(Vec<KeyPart>, Id)> = ids
            .iter()
            .filter_map(|id| {
                store
                    .get(m, *id)
                    .map(|r| (default_key(store, m, r, 0), *id))
            })
            .collect();
        keyed.sort();
        *ids = keyed.into_iter().map(|(_, id)| id).collect();
        return;
    }
    let mut keyed: Vec<(Vec<Vec<KeyPart>>, Id)> = ids
        .iter()
        .filter_map(|id| {
            let r = store.get(m, *id)?;
            Some((
                ordering
                    .iter()
                    .map(|(f, _)| field_parts(store, m, r, f, 0))
                    .collect(),
                *id,
            ))
        })
        .collect();
    keyed.sort_by(|a, b| {
        for (i, (_, desc)) in ordering.iter().enumerate() {
            let c = cmp_parts(&a.0[i], &b.0[i], *desc);
            if c != Ordering::Equal {
                return c;
            }
        }
        a.1.cmp(&b.1)
    });
    *ids = keyed.into_iter().map(|(_, id)| id).collect();
}
