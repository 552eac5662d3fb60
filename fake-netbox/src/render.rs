//! Turns stored records into NetBox's JSON: the full representation, the brief one (`?brief=1`),
//! the nested shapes used inside other objects, and the raw "serialized object" NetBox writes into
//! change records.
//!
//! Read-only over the store; never validates or mutates anything.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::model::{C, K, M, Nest, NestedCount};
use crate::net;
use crate::store::{Id, Rec, Store};
use crate::util::{fmt_decimal, fmt_minute, fmt_ts, jsonb_order, py_float};

/// A custom field definition, read from the store's `extras.customfield` table.
#[derive(Clone, Debug)]
pub struct CfDef {
    pub name: String,
    pub ty: String,
    pub default: Value,
    pub required: bool,
    pub unique: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub regex: String,
    pub choice_set_name: String,
    pub choices: Vec<(String, String)>,
    pub filter_logic: String,
}

/// Custom fields assigned to `m`, in NetBox's order (group name, weight, name).
pub fn cf_defs(store: &Store, m: M) -> Vec<CfDef> {
    let label = m.label();
    let cf = M::CustomField;
    let mut defs: Vec<(String, i64, CfDef)> = store
        .iter(cf)
        .filter(|r| {
            r.get(cf, "object_types")
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(&label)))
        })
        .map(|r| {
            let (choice_set_name, choices) = match r.id_of(cf, "choice_set") {
                Some(cs) => match store.get(M::CustomFieldChoiceSet, cs) {
                    Some(set) => (
                        set.str(M::CustomFieldChoiceSet, "name").to_string(),
                        set.get(M::CustomFieldChoiceSet, "extra_choices")
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|pair| {
                                let pair = pair.as_array()?;
                                Some((
                                    pair.first()?.as_str()?.to_string(),
                                    pair.get(1)?.as_str()?.to_string(),
                                ))
                            })
                            .collect(),
                    ),
                    None => (String::new(), Vec::new()),
                },
                None => (String::new(), Vec::new()),
            };
            let def = CfDef {
                name: r.str(cf, "name").to_string(),
                ty: r.str(cf, "type").to_string(),
                default: r.get(cf, "default").clone(),
                required: r.get(cf, "required").as_bool().unwrap_or(false),
                unique: r.get(cf, "unique").as_bool().unwrap_or(false),
                min: r.get(cf, "validation_minimum").as_f64(),
                max: r.get(cf, "validation_maximum").as_f64(),
                regex: r.str(cf, "validation_regex").to_string(),
                choice_set_name,
                choices,
                filter_logic: r.str(cf, "filter_logic").to_string(),
            };
            (
                r.str(cf, "group_name").to_string(),
                r.get(cf, "weight").as_i64().unwrap_or(100),
                def,
            )
        })
        .collect();
    defs.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.name.cmp(&b.2.name))
    });
    defs.into_iter().map(|(_, _, d)| d).collect()
}

/// Rendering context for one request: the store, the absolute base URL built from the request's
/// Host, and per-request caches.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub base: String,
    cfs: RefCell<HashMap<M, std::rc::Rc<Vec<CfDef>>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Brief,
    Nested,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, base: impl Into<String>) -> Ctx<'a> {
        Ctx {
            store,
            base: base.into(),
            cfs: RefCell::new(HashMap::new()),
        }
    }

    pub fn cf_defs(&self, m: M) -> std::rc::Rc<Vec<CfDef>> {
        self.cfs
            .borrow_mut()
            .entry(m)
            .or_insert_with(|| std::rc::Rc::new(cf_defs(self.store, m)))
            .clone()
    }

    pub fn url(&self, m: M, id: Id) -> String {
        let meta = m.meta();
        format!("{}/api/{}/{}/{}/", self.base, meta.app, meta.endpoint, id)
    }

    pub fn display_url(&self, m: M, id: Id) -> String {
        format!("{}/{}/{}/", self.base, m.meta().ui_path, id)
    }

    /// The full representation (`GET /api/<app>/<endpoint>/<id>/`).
    pub fn full(&self, m: M, rec: &Rec) -> Value {
        Value::Object(self.render(m, rec, Mode::Full))
    }

    /// The full representation restricted to fields `keep` accepts (`?fields=` / `?omit=`), without
    /// computing the others.
    pub fn full_only(&self, m: M, rec: &Rec, keep: &dyn Fn(&str) -> bool) -> Map<String, Value> {
        let mut out = Map::new();
        for (i, f) in m.fields().iter().enumerate() {
            if !f.is(crate::model::O) || !keep(f.name) {
                continue;
            }
            if let Some(v) = self.field(m, rec, i, Mode::Full) {
                out.insert(f.name.to_string(), v);
            }
        }
        out
    }

    /// The brief representation (`?brief=1`).
    pub fn brief(&self, m: M, rec: &Rec) -> Value {
        Value::Object(self.render(m, rec, Mode::Brief))
    }

    /// The representation used when `m` is nested inside another object.
    pub fn nested(&self, m: M, rec: &Rec, style: Nest) -> Value {
        match style {
            Nest::Id => Value::from(rec.id),
            Nest::Brief => Value::Object(self.render(m, rec, Mode::Nested)),
            Nest::Legacy => self.legacy(m, rec),
        }
    }

    /// A related object behind a foreign key field. IP addresses nested this way carry
    /// `nat_inside`/`nat_outside`/`dns_name` as well (NetBox's nested IP serializer).
    pub fn nested_fk(&self, m: M, id: Option<Id>, style: Nest) -> Value {
        let Some(rec) = id.and_then(|id| self.store.get(m, id)) else {
            return self.nested_id(m, id, style);
        };
        if m != M::IpAddress || style != Nest::Brief {
            return self.nested(m, rec, style);
        }
        let mut out = self.render(m, rec, Mode::Nested);
        let desc = out
            .remove("description")
            .unwrap_or(Value::String(String::new()));
        let nat = rec.id_of(m, "nat_inside");
        out.insert("nat_inside".into(), self.nested_id(m, nat, Nest::Brief));
        out.insert(
            "nat_outside".into(),
            self.computed(m, rec, C::NatOutside, Mode::Nested)
                .unwrap_or(Value::Null),
        );
        out.insert("dns_name".into(), rec.get(m, "dns_name").clone());
        out.insert("description".into(), desc);
        Value::Object(out)
    }

    pub fn nested_id(&self, m: M, id: Option<Id>, style: Nest) -> Value {
        match id.and_then(|id| self.store.get(m, id)) {
            Some(rec) => self.nested(m, rec, style),
            None => match (style, id) {
                (Nest::Id, Some(id)) => Value::from(id),
                _ => Value::Null,
            },
        }
    }

    /// The `Nested*Serializer` shapes NetBox still uses for a few relations.
    fn legacy(&self, m: M, rec: &Rec) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), Value::from(rec.id));
        out.insert("url".into(), Value::String(self.url(m, rec.id)));
        out.insert(
            "display_url".into(),
            Value::String(self.display_url(m, rec.id)),
        );
        out.insert("display".into(), Value::String(self.display(m, rec)));
        match m {
            M::Interface => {
                let dev = rec.id_of(m, "device");
                out.insert(
                    "device".into(),
                    self.nested_id(M::Device, dev, Nest::Legacy),
                );
                out.insert("name".into(), rec.get(m, "name").clone());
                out.insert("cable".into(), rec.get(m, "cable").clone());
                out.insert("_occupied".into(), Value::Bool(occupied(m, rec)));
            }
            _ => {
                out.insert("name".into(), rec.get(m, "name").clone());
            }
        }
        Value::Object(out)
    }

    /// The nested tag shape (`NestedTagSerializer`).
    fn nested_tag(&self, rec: &Rec) -> Value {
        let t = M::Tag;
        json!({
            "id": rec.id,
            "url": self.url(t, rec.id),
            "display_url": self.display_url(t, rec.id),
            "display": self.display(t, rec),
            "name": rec.get(t, "name"),
            "slug": rec.get(t, "slug"),
            "color": rec.get(t, "color"),
        })
    }

    /// `str(obj)` of a record.
    pub fn display(&self, m: M, rec: &Rec) -> String {
        match m {
            M::DeviceType => rec.str(m, "model").to_string(),
            M::Device => device_display(self.store, rec),
            M::Cable => cable_display(rec),
            M::CableTermination => {
                let cable = rec
                    .id_of(m, "cable")
                    .and_then(|c| self.store.get(M::Cable, c))
                    .map(cable_display)
                    .unwrap_or_default();
                let term = rec
                    .id_of(m, "termination_id")
                    .and_then(|t| self.store.get(M::Interface, t))
                    .map(|i| i.str(M::Interface, "name").to_string())
                    .unwrap_or_default();
                format!("Cable {cable} to {term}")
            }
            M::MacAddress => rec.str(m, "mac_address").to_string(),
            M::Vrf => match rec.get(m, "rd").as_str() {
                Some(rd) => format!("{} ({rd})", rec.str(m, "name")),
                None => rec.str(m, "name").to_string(),
            },
            M::Prefix => rec.str(m, "prefix").to_string(),
            M::IpAddress => rec.str(m, "address").to_string(),
            M::Vlan => format!("{} ({})", rec.str(m, "name"), rec.get(m, "vid")),
            M::CustomField => {
                let label = rec.str(m, "label");
                if label.is_empty() {
                    capitalize(&rec.str(m, "name").replace('_', " "))
                } else {
                    label.to_string()
                }
            }
            M::JournalEntry => {
                let kind = rec.str(m, "kind");
                let label = crate::choices::JOURNAL_KIND.label(kind).unwrap_or(kind);
                format!("{} ({label})", fmt_minute(rec.created))
            }
            _ => rec.str(m, "name").to_string(),
        }
    }

    fn render(&self, m: M, rec: &Rec, mode: Mode) -> Map<String, Value> {
        let mut out = Map::new();
        for (i, f) in m.fields().iter().enumerate() {
            let wanted = match mode {
                Mode::Full => f.is(crate::model::O),
                Mode::Brief | Mode::Nested => f.is(crate::model::B),
            };
            if !wanted {
                continue;
            }
            if let Some(v) = self.field(m, rec, i, mode) {
                out.insert(f.name.to_string(), v);
            }
        }
        out
    }

    fn field(&self, m: M, rec: &Rec, i: usize, mode: Mode) -> Option<Value> {
        let f = &m.fields()[i];
        let raw = rec.val(i);
        Some(match f.kind {
            K::Id => Value::from(rec.id),
            K::Url => Value::String(self.url(m, rec.id)),
            K::DisplayUrl => Value::String(self.display_url(m, rec.id)),
            K::Display => Value::String(self.display(m, rec)),
            K::Created => Value::String(fmt_ts(rec.created)),
            K::LastUpdated => Value::String(fmt_ts(rec.last_updated)),
            K::Choice { set, plain, .. } => match raw.as_str() {
                Some(v) if !v.is_empty() => {
                    if plain {
                        Value::String(v.to_string())
                    } else {
                        json!({"value": v, "label": set.label(v).unwrap_or(v)})
                    }
                }
                _ => Value::Null,
            },
            K::Fk(target, style) | K::ReqFk(target, style) => {
                self.nested_fk(target, raw.as_u64(), style)
            }
            K::Absent | K::Null | K::Image => Value::Null,
            K::AbsentList | K::EmptyList => Value::Array(Vec::new()),
            K::EmptyObj => Value::Object(Map::new()),
            K::Zero => Value::from(0),
            K::M2m(target) => {
                let mut ids: Vec<Id> = raw
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                ids.sort_unstable();
                Value::Array(
                    ids.into_iter()
                        .filter_map(|id| self.store.get(target, id))
                        .map(|r| self.nested(target, r, Nest::Brief))
                        .collect(),
                )
            }
            K::Tags => {
                let mut tags: Vec<&Rec> = rec
                    .tags
                    .iter()
                    .filter_map(|t| self.store.get(M::Tag, *t))
                    .collect();
                tags.sort_by(|a, b| a.str(M::Tag, "name").cmp(b.str(M::Tag, "name")));
                Value::Array(tags.into_iter().map(|t| self.nested_tag(t)).collect())
            }
            K::CustomFields => Value::Object(self.custom_fields(m, rec)),
            K::Computed(c) => return self.computed(m, rec, c, mode),
            _ => raw.clone(),
        })
    }

    /// The `custom_fields` object: every field assigned to the model, null when unset.
    pub fn custom_fields(&self, m: M, rec: &Rec) -> Map<String, Value> {
        let mut out = Map::new();
        for def in self.cf_defs(m).iter() {
            let v = rec.cf.get(&def.name).cloned().unwrap_or(Value::Null);
            let v = match (def.ty.as_str(), v) {
                (_, Value::Null) => Value::Null,
                ("select", Value::String(s)) => {
                    let label = def
                        .choices
                        .iter()
                        .find(|(c, _)| *c == s)
                        .map(|(_, l)| l.clone())
                        .unwrap_or_else(|| s.clone());
                    json!({"value": s, "label": label})
                }
                ("multiselect", Value::Array(items)) => Value::Array(
                    items
                        .into_iter()
                        .map(|s| {
                            let label = s
                                .as_str()
                                .and_then(|s| def.choices.iter().find(|(c, _)| c == s))
                                .map(|(_, l)| Value::String(l.clone()))
                                .unwrap_or_else(|| s.clone());
                            json!({"value": s, "label": label})
                        })
                        .collect(),
                ),
                (_, v) => v,
            };
            out.insert(def.name.clone(), v);
        }
        out
    }

    fn count(&self, n: usize, nested: NestedCount, mode: Mode) -> Option<Value> {
        match (mode, nested) {
            (Mode::Nested, NestedCount::Zero) => Some(Value::from(0)),
            (Mode::Nested, NestedCount::Omit) => None,
            _ => Some(Value::from(n)),
        }
    }

    fn peers(&self, rec: &Rec) -> Vec<&'a Rec> {
        let i = M::Interface;
        let Some(cable) = rec.id_of(i, "cable") else {
            return Vec::new();
        };
        let my_end = rec.str(i, "cable_end");
        let mut peers: Vec<(Id, &Rec)> = self
            .store
            .referrers(M::CableTermination, "cable", cable)
            .filter_map(|t| self.store.get(M::CableTermination, t))
            .filter(|t| t.str(M::CableTermination, "cable_end") != my_end)
            .filter_map(|t| {
                let iface = t.id_of(M::CableTermination, "termination_id")?;
                Some((t.id, self.store.get(i, iface)?))
            })
            .collect();
        peers.sort_by_key(|(t, _)| *t);
        peers.into_iter().map(|(_, r)| r).collect()
    }

    fn computed(&self, m: M, rec: &Rec, c: C, mode: Mode) -> Option<Value> {
        let s = self.store;
        Some(match c {
            C::Count(src, field, nested) => {
                return self.count(s.referrer_count(src, field, rec.id), nested, mode);
            }
            C::ScopeCount(src, nested) => {
                let n = s.gfk_referrers(src, "scope_type", m, rec.id).count();
                return self.count(n, nested, mode);
            }
            C::PrimaryIp => {
                let v6 = rec.id_of(m, "primary_ip6");
                let v4 = rec.id_of(m, "primary_ip4");
                self.nested_fk(M::IpAddress, v6.or(v4), Nest::Brief)
            }
            C::IfaceMacAddress => rec
                .id_of(m, "primary_mac_address")
                .and_then(|id| s.get(M::MacAddress, id))
                .map(|r| r.get(M::MacAddress, "mac_address").clone())
                .unwrap_or(Value::Null),
            C::IfaceMacAddresses => {
                let mut macs: Vec<&Rec> = s
                    .gfk_referrers(M::MacAddress, "assigned_object_type", M::Interface, rec.id)
                    .filter_map(|id| s.get(M::MacAddress, id))
                    .collect();
                macs.sort_by(|a, b| {
                    a.str(M::MacAddress, "mac_address")
                        .cmp(b.str(M::MacAddress, "mac_address"))
                        .then(a.id.cmp(&b.id))
                });
                Value::Array(
                    macs.into_iter()
                        .map(|r| self.nested(M::MacAddress, r, Nest::Brief))
                        .collect(),
                )
            }
            C::IfaceBridgeInterfaces => Value::Array(
                s.referrers(M::Interface, "bridge", rec.id)
                    .filter_map(|id| s.get(M::Interface, id))
                    .map(|r| self.nested(M::Interface, r, Nest::Legacy))
                    .collect(),
            ),
            C::IfaceLinkPeers => Value::Array(
                self.peers(rec)
                    .into_iter()
                    .map(|p| self.nested(M::Interface, p, Nest::Brief))
                    .collect(),
            ),
            C::IfaceLinkPeersType | C::IfaceConnectedEndpointsType => {
                if rec.id_of(m, "cable").is_some() {
                    Value::String("dcim.interface".into())
                } else {
                    Value::Null
                }
            }
            C::IfaceConnectedEndpoints => {
                if rec.id_of(m, "cable").is_some() {
                    Value::Array(
                        self.peers(rec)
                            .into_iter()
                            .map(|p| self.nested(M::Interface, p, Nest::Brief))
                            .collect(),
                    )
                } else {
                    Value::Null
                }
            }
            C::IfaceReachable => Value::Bool(
                rec.id_of(m, "cable")
                    .and_then(|c| s.get(M::Cable, c))
                    .is_some_and(|c| c.str(M::Cable, "status") == "connected"),
            ),
            C::IfaceCountIpAddresses => Value::from(
                s.gfk_referrers(M::IpAddress, "assigned_object_type", M::Interface, rec.id)
                    .count(),
            ),
            C::Occupied => Value::Bool(occupied(m, rec)),
            C::CableTerminations(end) => {
                let end = end.to_string();
                let mut terms: Vec<&Rec> = s
                    .referrers(M::CableTermination, "cable", rec.id)
                    .filter_map(|t| s.get(M::CableTermination, t))
                    .filter(|t| t.str(M::CableTermination, "cable_end") == end)
                    .collect();
                terms.sort_by_key(|t| t.id);
                Value::Array(
                    terms
                        .into_iter()
                        .map(|t| {
                            let ct = M::CableTermination;
                            let obj_id = t.id_of(ct, "termination_id");
                            json!({
                                "object_type": t.get(ct, "termination_type"),
                                "object_id": t.get(ct, "termination_id"),
                                "object": self.nested_id(M::Interface, obj_id, Nest::Brief),
                            })
                        })
                        .collect(),
                )
            }
            C::Termination => {
                let id = rec.id_of(m, "termination_id");
                self.nested_id(M::Interface, id, Nest::Brief)
            }
            C::VcMembers => {
                let mut members: Vec<&Rec> = s
                    .referrers(M::Device, "virtual_chassis", rec.id)
                    .filter_map(|id| s.get(M::Device, id))
                    .collect();
                members.sort_by(|a, b| a.sort.cmp(&b.sort).then(a.id.cmp(&b.id)));
                Value::Array(
                    members
                        .into_iter()
                        .map(|d| self.nested(M::Device, d, Nest::Legacy))
                        .collect(),
                )
            }
            C::Gfk(type_field, id_field) => {
                let target = rec.get(m, type_field).as_str().and_then(M::from_label);
                match (target, rec.id_of(m, id_field)) {
                    (Some(t), Some(id)) => self.nested_id(t, Some(id), Nest::Brief),
                    _ => Value::Null,
                }
            }
            C::MacIsPrimary => {
                let iface = rec
                    .id_of(m, "assigned_object_id")
                    .filter(|_| rec.str(m, "assigned_object_type") == "dcim.interface")
                    .and_then(|id| s.get(M::Interface, id));
                Value::Bool(
                    iface.is_some_and(|i| {
                        i.id_of(M::Interface, "primary_mac_address") == Some(rec.id)
                    }),
                )
            }
            C::Family(field) => match net::parse_any(rec.str(m, field)) {
                Some(n) if n.family() == 6 => json!({"value": 6, "label": "IPv6"}),
                Some(_) => json!({"value": 4, "label": "IPv4"}),
                None => Value::Null,
            },
            C::NatOutside => Value::Array(
                s.referrers(M::IpAddress, "nat_inside", rec.id)
                    .filter_map(|id| s.get(M::IpAddress, id))
                    .map(|r| self.nested(M::IpAddress, r, Nest::Brief))
                    .collect(),
            ),
            C::PrefixChildren => Value::from(prefix_children(s, rec)),
            C::Depth => Value::from(depth(s, m, rec)),
            C::TotalVlanIds => Value::from(total_vlan_ids(rec.get(m, "vid_ranges"))),
            C::Utilization => {
                let total = total_vlan_ids(rec.get(m, "vid_ranges"));
                let used = s.referrer_count(M::Vlan, "group", rec.id);
                let pct = if total == 0 {
                    0.0
                } else {
                    used as f64 / total as f64 * 100.0
                };
                Value::String(py_float(pct))
            }
            C::TaggedItems => Value::from(s.tagged(rec.id).count()),
            C::DataType => Value::String(
                match rec.str(m, "type") {
                    "integer" => "integer",
                    "decimal" => "decimal",
                    "boolean" => "boolean",
                    "json" | "object" => "object",
                    "multiselect" | "multiobject" => "array",
                    _ => "string",
                }
                .into(),
            ),
            C::ChoicesCount => Value::from(
                rec.get(m, "extra_choices")
                    .as_array()
                    .map_or(0, |a| a.len()),
            ),
        })
    }

    /// NetBox's `serialize_object()` as shown in change records (`prechange_data` /
    /// `postchange_data`): raw model field values, FK ids, tag names, content type ids, ordered
    /// like PostgreSQL `jsonb`.
    pub fn log_data(&self, m: M, rec: &Rec) -> Value {
        let mut out = Map::new();
        for (i, f) in m.fields().iter().enumerate() {
            if !f.is(crate::model::L) {
                continue;
            }
            let raw = rec.val(i);
            let v = match f.kind {
                K::Choice { log_blank, .. } => match raw {
                    Value::Null if log_blank => Value::String(String::new()),
                    v => v.clone(),
                },
                K::Dec { places, .. } => match raw.as_f64() {
                    Some(x) => Value::String(fmt_decimal(x, places)),
                    None => Value::Null,
                },
                K::Image => Value::String(String::new()),
                K::Absent | K::Null => Value::Null,
                K::AbsentList => Value::Array(Vec::new()),
                K::Zero => Value::from(0),
                K::ContentType { .. } => match raw.as_str().and_then(crate::model::content_type_id)
                {
                    Some(ct) => Value::from(ct),
                    None => Value::Null,
                },
                K::ContentTypes => {
                    let mut ids: Vec<u64> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().and_then(crate::model::content_type_id))
                        .collect();
                    ids.sort_unstable();
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                K::M2m(_) => {
                    let mut ids: Vec<Id> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect();
                    ids.sort_unstable();
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                K::Tags => {
                    let mut names: Vec<String> = rec
                        .tags
                        .iter()
                        .filter_map(|t| self.store.get(M::Tag, *t))
                        .map(|t| t.str(M::Tag, "name").to_string())
                        .collect();
                    names.sort();
                    Value::Array(names.into_iter().map(Value::String).collect())
                }
                K::CustomFields => Value::Object(rec.cf.clone()),
                K::VidRanges => Value::String(vid_ranges_log(raw)),
                K::ExtraChoices => Value::String(extra_choices_log(raw)),
                K::Computed(c) => self.computed(m, rec, c, Mode::Full).unwrap_or(Value::Null),
                _ => raw.clone(),
            };
            out.insert(f.name.to_string(), v);
        }
        if m == M::Cable {
            for (key, end) in [("a_terminations", "A"), ("b_terminations", "B")] {
                let mut ids: Vec<Id> = self
                    .store
                    .referrers(M::CableTermination, "cable", rec.id)
                    .filter(|t| {
                        self.store
                            .get(M::CableTermination, *t)
                            .is_some_and(|t| t.str(M::CableTermination, "cable_end") == end)
                    })
                    .collect();
                ids.sort_unstable();
                out.insert(
                    key.into(),
                    Value::Array(ids.into_iter().map(Value::from).collect()),
                );
            }
        }
        jsonb_order(Value::Object(out))
    }
}

fn capitalize(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn occupied(m: M, rec: &Rec) -> bool {
    rec.id_of(m, "cable").is_some() || rec.get(m, "mark_connected").as_bool() == Some(true)
}

/// `str(device)`.
pub fn device_display(store: &Store, rec: &Rec) -> String {
    let m = M::Device;
    let asset = rec.get(m, "asset_tag").as_str();
    if let Some(name) = rec.get(m, "name").as_str().filter(|n| !n.is_empty()) {
        return match asset {
            Some(a) => format!("{name} ({a})"),
            None => name.to_string(),
        };
    }
    if let Some(vc) = rec
        .id_of(m, "virtual_chassis")
        .and_then(|v| store.get(M::VirtualChassis, v))
    {
        let pos = rec.get(m, "vc_position");
        let pos = if pos.is_null() {
            "None".to_string()
        } else {
            pos.to_string()
        };
        return match asset {
            Some(a) => format!("{}:{pos} ({a})", vc.str(M::VirtualChassis, "name")),
            None => format!("{}:{pos} ({})", vc.str(M::VirtualChassis, "name"), rec.id),
        };
    }
    let dt = rec
        .id_of(m, "device_type")
        .and_then(|d| store.get(M::DeviceType, d));
    let (mfr, model) = match dt {
        Some(dt) => (
            dt.id_of(M::DeviceType, "manufacturer")
                .and_then(|id| store.get(M::Manufacturer, id))
                .map(|r| r.str(M::Manufacturer, "name").to_string())
                .unwrap_or_default(),
            dt.str(M::DeviceType, "model").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    match asset {
        Some(a) => format!("{mfr} {model} ({a})"),
        None => format!("{mfr} {model} ({})", rec.id),
    }
}

fn cable_display(rec: &Rec) -> String {
    let label = rec.str(M::Cable, "label");
    if label.is_empty() {
        format!("#{}", rec.id)
    } else {
        label.to_string()
    }
}

/// Sum of the sizes of inclusive `[lo, hi]` VLAN id ranges.
pub fn total_vlan_ids(ranges: &Value) -> u64 {
    ranges
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let r = r.as_array()?;
            let lo = r.first()?.as_u64()?;
            let hi = r.get(1)?.as_u64()?;
            Some(hi.saturating_sub(lo) + 1)
        })
        .sum()
}

/// The `vid_ranges` value as Django serializes an `ArrayField` of integer ranges.
fn vid_ranges_log(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let r = r.as_array()?;
            let lo = r.first()?.as_u64()?;
            let hi = r.get(1)?.as_u64()?;
            let inner = format!(
                "{{\"bounds\": \"[)\", \"lower\": \"{lo}\", \"upper\": \"{}\"}}",
                hi + 1
            );
            Some(serde_json::to_string(&inner).unwrap_or_default())
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// The `extra_choices` value as Django serializes a nested `ArrayField`.
fn extra_choices_log(v: &Value) -> String {
    let items: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .map(|pair| {
            let parts: Vec<String> = pair
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| serde_json::to_string(s).unwrap_or_default())
                .collect();
            let inner = format!("[{}]", parts.join(", "));
            serde_json::to_string(&inner).unwrap_or_default()
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn prefix_key(s: &Store, rec: &Rec) -> Option<(Option<Id>, net::Net)> {
    let p = M::Prefix;
    let n = net::parse_any(rec.str(p, "prefix"))?;
    let _ = s;
    Some((rec.id_of(p, "vrf"), n))
}

/// Number of prefixes strictly inside `rec` in the same VRF (NetBox's `_children`).
fn prefix_children(s: &Store, rec: &Rec) -> usize {
    let Some((vrf, net)) = prefix_key(s, rec) else {
        return 0;
    };
    s.iter(M::Prefix)
        .filter(|o| o.id != rec.id)
        .filter_map(|o| prefix_key(s, o))
        .filter(|(v, n)| *v == vrf && net.strictly_contains(n))
        .count()
}

/// Nesting depth: parents of a role/platform, containing prefixes of a prefix (NetBox `_depth`).
fn depth(s: &Store, m: M, rec: &Rec) -> usize {
    match m {
        M::Prefix => {
            let Some((vrf, net)) = prefix_key(s, rec) else {
                return 0;
            };
            s.iter(M::Prefix)
                .filter(|o| o.id != rec.id)
                .filter_map(|o| {
                    let (v, n) = prefix_key(s, o)?;
                    (v == vrf && n.strictly_contains(&net)).then_some(())
                })
                .count()
        }
        _ => {
            let mut d = 0;
            let mut cur = rec.id_of(m, "parent");
            while let Some(p) = cur {
                d += 1;
                if d > 64 {
                    break;
                }
                cur = s.get(m, p).and_then(|r| r.id_of(m, "parent"));
            }
            d
        }
    }
}
