//! Turns stored records into NetBox's JSON: the full representation, the brief one (`?brief=1`),
//! the nested shapes used inside other objects, and the raw "serialized object" NetBox writes into
//! change records.
//!
//! Read-only over the store; never validates or mutates anything.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::jsonw::JsonWriter;
use crate::model::{Computed, FieldKind, Model, Nest, NestedCount};
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
pub fn cf_defs(store: &Store, m: Model) -> Vec<CfDef> {
    let label = m.label();
    let cf = Model::CustomField;
    let mut defs: Vec<(String, i64, CfDef)> = store
        .iter(cf)
        .filter(|r| {
            r.get(cf, "object_types")
                .as_array()
                .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(&label)))
        })
        .map(|r| {
            let (choice_set_name, choices) = match r.id_of(cf, "choice_set") {
                Some(cs) => match store.get(Model::CustomFieldChoiceSet, cs) {
                    Some(set) => (
                        set.str(Model::CustomFieldChoiceSet, "name").to_string(),
                        set.get(Model::CustomFieldChoiceSet, "extra_choices")
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
    cfs: RefCell<HashMap<Model, std::rc::Rc<Vec<CfDef>>>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Brief,
    Nested,
}

/// Which representation of an object to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The full representation.
    Full,
    /// `?brief=1`.
    Brief,
}

/// Counts read through a plain `IntegerField` are left out when their object is nested.
fn omitted(kind: FieldKind, mode: Mode) -> bool {
    matches!(
        (kind, mode),
        (
            FieldKind::Computed(
                Computed::Count(_, _, NestedCount::Omit)
                    | Computed::ScopeCount(_, NestedCount::Omit)
            ),
            Mode::Nested
        )
    )
}

fn parse(w: &JsonWriter) -> Value {
    serde_json::from_slice(&w.buf).unwrap_or(Value::Null)
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, base: impl Into<String>) -> Ctx<'a> {
        Ctx {
            store,
            base: base.into(),
            cfs: RefCell::new(HashMap::new()),
        }
    }

    pub fn cf_defs(&self, m: Model) -> std::rc::Rc<Vec<CfDef>> {
        self.cfs
            .borrow_mut()
            .entry(m)
            .or_insert_with(|| std::rc::Rc::new(cf_defs(self.store, m)))
            .clone()
    }

    pub fn url(&self, m: Model, id: Id) -> String {
        let meta = m.meta();
        format!("{}/api/{}/{}/{}/", self.base, meta.app, meta.endpoint, id)
    }

    /// The full representation (`GET /api/<app>/<endpoint>/<id>/`).
    pub fn full(&self, m: Model, rec: &Rec) -> Value {
        let mut w = JsonWriter::with_capacity(2048);
        self.write(&mut w, m, rec, Shape::Full, None);
        parse(&w)
    }

    pub fn nested_id(&self, m: Model, id: Option<Id>, style: Nest) -> Value {
        let mut w = JsonWriter::with_capacity(256);
        self.write_nested_id(&mut w, m, id, style);
        parse(&w)
    }

    /// Writes one object: full (optionally restricted to fields `keep` accepts, as `?fields=` and
    /// `?omit=` do) or brief.
    pub fn write(
        &self,
        w: &mut JsonWriter,
        m: Model,
        rec: &Rec,
        shape: Shape,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) {
        let mode = match shape {
            Shape::Full => Mode::Full,
            Shape::Brief => Mode::Brief,
        };
        self.write_mode(w, m, rec, mode, keep);
    }

    fn write_mode(
        &self,
        w: &mut JsonWriter,
        m: Model,
        rec: &Rec,
        mode: Mode,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) {
        let mut o = w.obj();
        for (i, f) in m.fields().iter().enumerate() {
            let wanted = match mode {
                Mode::Full => f.is(crate::model::FULL),
                Mode::Brief | Mode::Nested => f.is(crate::model::BRIEF),
            };
            if !wanted || keep.is_some_and(|k| !k(f.name)) || omitted(f.kind, mode) {
                continue;
            }
            let v = o.key(f.name);
            self.write_field(v, m, rec, i, mode);
        }
        o.end();
    }

    fn write_url(&self, w: &mut JsonWriter, m: Model, id: Id) {
        let meta = m.meta();
        w.byte(b'"');
        w.escaped(&self.base);
        w.raw("/api/");
        w.raw(meta.app);
        w.byte(b'/');
        w.raw(meta.endpoint);
        w.byte(b'/');
        w.u64(id);
        w.raw("/\"");
    }

    fn write_display_url(&self, w: &mut JsonWriter, m: Model, id: Id) {
        w.byte(b'"');
        w.escaped(&self.base);
        w.byte(b'/');
        w.raw(m.meta().ui_path);
        w.byte(b'/');
        w.u64(id);
        w.raw("/\"");
    }

    /// Writes `m` nested inside another object.
    pub fn write_nested(&self, w: &mut JsonWriter, m: Model, rec: &Rec, style: Nest) {
        match style {
            Nest::Id => w.u64(rec.id),
            Nest::Brief => self.write_mode(w, m, rec, Mode::Nested, None),
            Nest::Legacy => self.write_legacy(w, m, rec),
        }
    }

    pub fn write_nested_id(&self, w: &mut JsonWriter, m: Model, id: Option<Id>, style: Nest) {
        match id.and_then(|id| self.store.get(m, id)) {
            Some(rec) => self.write_nested(w, m, rec, style),
            None => match (style, id) {
                (Nest::Id, Some(id)) => w.u64(id),
                _ => w.null(),
            },
        }
    }

    /// A related object behind a foreign key field. IP addresses nested this way carry
    /// `nat_inside`/`nat_outside`/`dns_name` as well (NetBox's nested IP serializer).
    fn write_nested_fk(&self, w: &mut JsonWriter, m: Model, id: Option<Id>, style: Nest) {
        let Some(rec) = id.and_then(|id| self.store.get(m, id)) else {
            return self.write_nested_id(w, m, id, style);
        };
        if m != Model::IpAddress || style != Nest::Brief {
            return self.write_nested(w, m, rec, style);
        }
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), m, rec.id);
        o.key("display").str(&self.display(m, rec));
        self.write_field(
            o.key("family"),
            m,
            rec,
            m.field_index("family").unwrap_or(0),
            Mode::Nested,
        );
        o.key("address").val(rec.get(m, "address"));
        let nat = rec.id_of(m, "nat_inside");
        self.write_nested_id(o.key("nat_inside"), m, nat, Nest::Legacy);
        self.write_computed(
            o.key("nat_outside"),
            m,
            rec,
            Computed::NatOutside,
            Mode::Nested,
        );
        o.key("dns_name").val(rec.get(m, "dns_name"));
        o.key("description").val(rec.get(m, "description"));
        o.end();
    }

    /// The `Nested*Serializer` shapes NetBox still uses for a few relations.
    fn write_legacy(&self, w: &mut JsonWriter, m: Model, rec: &Rec) {
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), m, rec.id);
        self.write_display_url(o.key("display_url"), m, rec.id);
        o.key("display").str(&self.display(m, rec));
        if m == Model::Interface {
            let dev = rec.id_of(m, "device");
            self.write_nested_id(o.key("device"), Model::Device, dev, Nest::Legacy);
            o.key("name").val(rec.get(m, "name"));
            o.key("cable").val(rec.get(m, "cable"));
            o.key("_occupied").bool(occupied(m, rec));
        } else if m == Model::IpAddress {
            let family = net::parse_any(rec.str(m, "address")).map_or(4, |n| n.family());
            o.key("family").u64(u64::from(family));
            o.key("address").val(rec.get(m, "address"));
        } else {
            o.key("name").val(rec.get(m, "name"));
        }
        o.end();
    }

    /// The nested tag shape (`NestedTagSerializer`).
    fn write_tag(&self, w: &mut JsonWriter, rec: &Rec) {
        let t = Model::Tag;
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), t, rec.id);
        self.write_display_url(o.key("display_url"), t, rec.id);
        o.key("display").str(&self.display(t, rec));
        o.key("name").val(rec.get(t, "name"));
        o.key("slug").val(rec.get(t, "slug"));
        o.key("color").val(rec.get(t, "color"));
        o.end();
    }

    /// `str(obj)` of a record.
    pub fn display(&self, m: Model, rec: &Rec) -> String {
        match m {
            Model::DeviceType => rec.str(m, "model").to_string(),
            Model::Device => device_display(self.store, rec),
            Model::Cable => cable_display(rec),
            Model::CableTermination => {
                let cable = rec
                    .id_of(m, "cable")
                    .and_then(|c| self.store.get(Model::Cable, c))
                    .map(cable_display)
                    .unwrap_or_default();
                let term = rec
                    .id_of(m, "termination_id")
                    .and_then(|t| self.store.get(Model::Interface, t))
                    .map(|i| i.str(Model::Interface, "name").to_string())
                    .unwrap_or_default();
                format!("Cable {cable} to {term}")
            }
            Model::MacAddress => rec.str(m, "mac_address").to_string(),
            Model::Vrf => match rec.get(m, "rd").as_str() {
                Some(rd) => format!("{} ({rd})", rec.str(m, "name")),
                None => rec.str(m, "name").to_string(),
            },
            Model::Prefix => rec.str(m, "prefix").to_string(),
            Model::IpAddress => rec.str(m, "address").to_string(),
            Model::Vlan => format!("{} ({})", rec.str(m, "name"), rec.get(m, "vid")),
            Model::CustomField => {
                let label = rec.str(m, "label");
                if label.is_empty() {
                    capitalize(&rec.str(m, "name").replace('_', " "))
                } else {
                    label.to_string()
                }
            }
            Model::JournalEntry => {
                let kind = rec.str(m, "kind");
                let label = crate::choices::JOURNAL_KIND.label(kind).unwrap_or(kind);
                format!("{} ({label})", fmt_minute(rec.created))
            }
            _ => rec.str(m, "name").to_string(),
        }
    }

    fn write_field(&self, w: &mut JsonWriter, m: Model, rec: &Rec, i: usize, mode: Mode) {
        let f = &m.fields()[i];
        let raw = rec.val(i);
        match f.kind {
            FieldKind::Id => w.u64(rec.id),
            FieldKind::Url => self.write_url(w, m, rec.id),
            FieldKind::DisplayUrl => self.write_display_url(w, m, rec.id),
            FieldKind::Display => w.str(&self.display(m, rec)),
            FieldKind::Created => w.str(&fmt_ts(rec.created)),
            FieldKind::LastUpdated => w.str(&fmt_ts(rec.last_updated)),
            FieldKind::Choice { set, plain, .. } => match raw.as_str() {
                Some(v) if !v.is_empty() => {
                    if plain {
                        w.str(v);
                    } else {
                        let mut o = w.obj();
                        o.key("value").str(v);
                        o.key("label").str(set.label(v).unwrap_or(v));
                        o.end();
                    }
                }
                _ => w.null(),
            },
            FieldKind::Fk(target, style) | FieldKind::ReqFk(target, style) => {
                self.write_nested_fk(w, target, raw.as_u64(), style)
            }
            FieldKind::Absent | FieldKind::Null | FieldKind::Image => w.null(),
            FieldKind::AbsentList | FieldKind::EmptyList => w.raw("[]"),
            FieldKind::EmptyObj => w.raw("{}"),
            FieldKind::Zero => w.raw("0"),
            FieldKind::M2m(target) => {
                let mut ids: Vec<Id> = raw
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                crate::query::sort(self.store, target, &mut ids, &[]);
                let mut a = w.arr();
                for r in ids.into_iter().filter_map(|id| self.store.get(target, id)) {
                    self.write_nested(a.item(), target, r, Nest::Brief);
                }
                a.end();
            }
            FieldKind::Tags => {
                let mut tags: Vec<&Rec> = rec
                    .tags
                    .iter()
                    .filter_map(|t| self.store.get(Model::Tag, *t))
                    .collect();
                tags.sort_by(|a, b| a.str(Model::Tag, "name").cmp(b.str(Model::Tag, "name")));
                let mut a = w.arr();
                for t in tags {
                    self.write_tag(a.item(), t);
                }
                a.end();
            }
            FieldKind::CustomFields => self.write_custom_fields(w, m, rec),
            FieldKind::Computed(c) => self.write_computed(w, m, rec, c, mode),
            _ => w.val(raw),
        }
    }

    /// The `custom_fields` object: every field assigned to the model, null when unset.
    fn write_custom_fields(&self, w: &mut JsonWriter, m: Model, rec: &Rec) {
        let defs = self.cf_defs(m);
        let mut o = w.obj();
        for def in defs.iter() {
            let v = o.key(&def.name);
            let label = |s: &str| {
                def.choices
                    .iter()
                    .find(|(c, _)| c == s)
                    .map(|(_, l)| l.as_str())
            };
            match (def.ty.as_str(), rec.cf.get(&def.name)) {
                (_, None | Some(Value::Null)) => v.null(),
                ("select", Some(Value::String(s))) => {
                    let mut so = v.obj();
                    so.key("value").str(s);
                    so.key("label").str(label(s).unwrap_or(s));
                    so.end();
                }
                ("multiselect", Some(Value::Array(items))) => {
                    let mut a = v.arr();
                    for item in items {
                        let mut so = a.item().obj();
                        so.key("value").val(item);
                        match item.as_str().and_then(label) {
                            Some(l) => so.key("label").str(l),
                            None => so.key("label").val(item),
                        }
                        so.end();
                    }
                    a.end();
                }
                (_, Some(other)) => v.val(other),
            }
        }
        o.end();
    }

    fn peers(&self, rec: &Rec) -> Vec<&'a Rec> {
        let i = Model::Interface;
        let Some(cable) = rec.id_of(i, "cable") else {
            return Vec::new();
        };
        let my_end = rec.str(i, "cable_end");
        let mut peers: Vec<(Id, &Rec)> = self
            .store
            .referrers(Model::CableTermination, "cable", cable)
            .filter_map(|t| self.store.get(Model::CableTermination, t))
            .filter(|t| t.str(Model::CableTermination, "cable_end") != my_end)
            .filter_map(|t| {
                let iface = t.id_of(Model::CableTermination, "termination_id")?;
                Some((t.id, self.store.get(i, iface)?))
            })
            .collect();
        peers.sort_by_key(|(t, _)| *t);
        peers.into_iter().map(|(_, r)| r).collect()
    }

    fn write_brief_list<'r>(
        &self,
        w: &mut JsonWriter,
        m: Model,
        recs: impl IntoIterator<Item = &'r Rec>,
        style: Nest,
    ) {
        let mut a = w.arr();
        for r in recs {
            self.write_nested(a.item(), m, r, style);
        }
        a.end();
    }

    /// A count rendered where it is not nested (counts omitted when nested are filtered earlier).
    fn count_value(&self, m: Model, rec: &Rec, c: Computed, mode: Mode) -> Option<usize> {
        let s = self.store;
        let (n, nested) = match c {
            Computed::Count(src, field, nested) => (s.referrer_count(src, field, rec.id), nested),
            Computed::ScopeCount(src, nested) => (
                s.gfk_referrers(src, "scope_type", m, rec.id).count(),
                nested,
            ),
            _ => return None,
        };
        Some(match (mode, nested) {
            (Mode::Nested, NestedCount::Zero) => 0,
            _ => n,
        })
    }

    fn write_computed(&self, w: &mut JsonWriter, m: Model, rec: &Rec, c: Computed, mode: Mode) {
        let s = self.store;
        match c {
            Computed::Count(..) | Computed::ScopeCount(..) => {
                w.u64(self.count_value(m, rec, c, mode).unwrap_or(0) as u64)
            }
            Computed::PrimaryIp => {
                let v6 = rec.id_of(m, "primary_ip6");
                let v4 = rec.id_of(m, "primary_ip4");
                self.write_nested_fk(w, Model::IpAddress, v6.or(v4), Nest::Brief);
            }
            Computed::IfaceMacAddress => match rec
                .id_of(m, "primary_mac_address")
                .and_then(|id| s.get(Model::MacAddress, id))
            {
                Some(r) => w.val(r.get(Model::MacAddress, "mac_address")),
                None => w.null(),
            },
            Computed::IfaceMacAddresses => {
                let mut macs: Vec<&Rec> = s
                    .gfk_referrers(
                        Model::MacAddress,
                        "assigned_object_type",
                        Model::Interface,
                        rec.id,
                    )
                    .filter_map(|id| s.get(Model::MacAddress, id))
                    .collect();
                macs.sort_by(|a, b| {
                    a.str(Model::MacAddress, "mac_address")
                        .cmp(b.str(Model::MacAddress, "mac_address"))
                        .then(a.id.cmp(&b.id))
                });
                self.write_brief_list(w, Model::MacAddress, macs, Nest::Brief);
            }
            Computed::IfaceBridgeInterfaces => {
                let recs: Vec<&Rec> = s
                    .referrers(Model::Interface, "bridge", rec.id)
                    .filter_map(|id| s.get(Model::Interface, id))
                    .collect();
                self.write_brief_list(w, Model::Interface, recs, Nest::Legacy);
            }
            Computed::IfaceLinkPeers => {
                self.write_brief_list(w, Model::Interface, self.peers(rec), Nest::Brief)
            }
            // A cable whose far end is gone has no peers, so no (complete) path either.
            Computed::IfaceLinkPeersType | Computed::IfaceConnectedEndpointsType => {
                if self.peers(rec).is_empty() {
                    w.null();
                } else {
                    w.str("dcim.interface");
                }
            }
            Computed::IfaceConnectedEndpoints => {
                let peers = self.peers(rec);
                if peers.is_empty() {
                    w.null();
                } else {
                    self.write_brief_list(w, Model::Interface, peers, Nest::Brief);
                }
            }
            Computed::IfaceReachable => w.bool(
                rec.id_of(m, "cable")
                    .and_then(|c| s.get(Model::Cable, c))
                    .is_some_and(|c| c.str(Model::Cable, "status") == "connected")
                    && !self.peers(rec).is_empty(),
            ),
            Computed::IfaceCountIpAddresses => w.u64(
                s.gfk_referrers(
                    Model::IpAddress,
                    "assigned_object_type",
                    Model::Interface,
                    rec.id,
                )
                .count() as u64,
            ),
            Computed::Occupied => w.bool(occupied(m, rec)),
            Computed::CableTerminations(end) => {
                let end = end.to_string();
                let mut terms: Vec<&Rec> = s
                    .referrers(Model::CableTermination, "cable", rec.id)
                    .filter_map(|t| s.get(Model::CableTermination, t))
                    .filter(|t| t.str(Model::CableTermination, "cable_end") == end)
                    .collect();
                terms.sort_by_key(|t| t.id);
                let ct = Model::CableTermination;
                let mut a = w.arr();
                for t in terms {
                    let mut o = a.item().obj();
                    o.key("object_type").val(t.get(ct, "termination_type"));
                    o.key("object_id").val(t.get(ct, "termination_id"));
                    let obj = t.id_of(ct, "termination_id");
                    self.write_nested_id(o.key("object"), Model::Interface, obj, Nest::Brief);
                    o.end();
                }
                a.end();
            }
            Computed::Termination => {
                let id = rec.id_of(m, "termination_id");
                self.write_nested_id(w, Model::Interface, id, Nest::Brief);
            }
            Computed::VcMembers => {
                let mut members: Vec<&Rec> = s
                    .referrers(Model::Device, "virtual_chassis", rec.id)
                    .filter_map(|id| s.get(Model::Device, id))
                    .collect();
                members.sort_by(|a, b| a.sort.cmp(&b.sort).then(a.id.cmp(&b.id)));
                self.write_brief_list(w, Model::Device, members, Nest::Legacy);
            }
            Computed::Gfk(type_field, id_field) => {
                let target = rec.get(m, type_field).as_str().and_then(Model::from_label);
                match (target, rec.id_of(m, id_field)) {
                    (Some(t), Some(id)) => self.write_nested_id(w, t, Some(id), Nest::Brief),
                    _ => w.null(),
                }
            }
            Computed::MacIsPrimary => {
                let iface = rec
                    .id_of(m, "assigned_object_id")
                    .filter(|_| rec.str(m, "assigned_object_type") == "dcim.interface")
                    .and_then(|id| s.get(Model::Interface, id));
                w.bool(iface.is_some_and(|i| {
                    i.id_of(Model::Interface, "primary_mac_address") == Some(rec.id)
                }));
            }
            Computed::Family(field) => match net::parse_any(rec.str(m, field)) {
                Some(n) if n.family() == 6 => w.raw(r#"{"value":6,"label":"IPv6"}"#),
                Some(_) => w.raw(r#"{"value":4,"label":"IPv4"}"#),
                None => w.null(),
            },
            Computed::NatOutside => {
                let recs: Vec<&Rec> = s
                    .referrers(Model::IpAddress, "nat_inside", rec.id)
                    .filter_map(|id| s.get(Model::IpAddress, id))
                    .collect();
                self.write_brief_list(w, Model::IpAddress, recs, Nest::Legacy);
            }
            Computed::PrefixChildren => w.u64(prefix_children(s, rec) as u64),
            Computed::Depth => w.u64(depth(s, m, rec) as u64),
            Computed::TotalVlanIds => w.u64(total_vlan_ids(rec.get(m, "vid_ranges"))),
            Computed::Utilization => {
                let total = total_vlan_ids(rec.get(m, "vid_ranges"));
                let used = s.referrer_count(Model::Vlan, "group", rec.id);
                let pct = if total == 0 {
                    0.0
                } else {
                    used as f64 / total as f64 * 100.0
                };
                w.str(&py_float(pct));
            }
            Computed::TaggedItems => w.u64(s.tagged(rec.id).count() as u64),
            Computed::DataType => w.str(match rec.str(m, "type") {
                "integer" => "integer",
                "decimal" => "decimal",
                "boolean" => "boolean",
                "json" | "object" => "object",
                "multiselect" | "multiobject" => "array",
                _ => "string",
            }),
            Computed::ChoicesCount => w.u64(
                rec.get(m, "extra_choices")
                    .as_array()
                    .map_or(0, |a| a.len()) as u64,
            ),
        }
    }

    /// A computed value as a JSON value (for change log data).
    fn computed_value(&self, m: Model, rec: &Rec, c: Computed) -> Value {
        let mut w = JsonWriter::with_capacity(32);
        self.write_computed(&mut w, m, rec, c, Mode::Full);
        parse(&w)
    }

    /// NetBox's `serialize_object()` as shown in change records (`prechange_data` /
    /// `postchange_data`): raw model field values, FK ids, tag names, content type ids, ordered
    /// like PostgreSQL `jsonb`.
    pub fn log_data(&self, m: Model, rec: &Rec) -> Value {
        let mut out = Map::new();
        for (i, f) in m.fields().iter().enumerate() {
            if !f.is(crate::model::LOGGED) {
                continue;
            }
            let raw = rec.val(i);
            let v = match f.kind {
                FieldKind::Choice { log_blank, .. } => match raw {
                    Value::Null if log_blank => Value::String(String::new()),
                    v => v.clone(),
                },
                FieldKind::Dec { places, .. } => match raw.as_f64() {
                    Some(x) => Value::String(fmt_decimal(x, places)),
                    None => Value::Null,
                },
                FieldKind::Image => Value::String(String::new()),
                FieldKind::Absent | FieldKind::Null => Value::Null,
                FieldKind::AbsentList => Value::Array(Vec::new()),
                FieldKind::Zero => Value::from(0),
                FieldKind::ContentType { .. } => {
                    match raw.as_str().and_then(crate::model::content_type_id) {
                        Some(ct) => Value::from(ct),
                        None => Value::Null,
                    }
                }
                FieldKind::ContentTypes => {
                    let mut ids: Vec<u64> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().and_then(crate::model::content_type_id))
                        .collect();
                    ids.sort_unstable();
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                FieldKind::M2m(target) => {
                    // Django serializes many-to-many values in the related model's ordering.
                    let mut ids: Vec<Id> = raw
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_u64)
                        .collect();
                    crate::query::sort(self.store, target, &mut ids, &[]);
                    Value::Array(ids.into_iter().map(Value::from).collect())
                }
                FieldKind::Tags => {
                    let mut names: Vec<String> = rec
                        .tags
                        .iter()
                        .filter_map(|t| self.store.get(Model::Tag, *t))
                        .map(|t| t.str(Model::Tag, "name").to_string())
                        .collect();
                    names.sort();
                    Value::Array(names.into_iter().map(Value::String).collect())
                }
                FieldKind::CustomFields => Value::Object(rec.cf.clone()),
                FieldKind::VidRanges => Value::String(vid_ranges_log(raw)),
                FieldKind::ExtraChoices => Value::String(extra_choices_log(raw)),
                FieldKind::Computed(c) => self.computed_value(m, rec, c),
                _ => raw.clone(),
            };
            out.insert(f.name.to_string(), v);
        }
        if m == Model::Cable {
            for (key, end) in [("a_terminations", "A"), ("b_terminations", "B")] {
                let mut ids: Vec<Id> = self
                    .store
                    .referrers(Model::CableTermination, "cable", rec.id)
                    .filter(|t| {
                        self.store
                            .get(Model::CableTermination, *t)
                            .is_some_and(|t| t.str(Model::CableTermination, "cable_end") == end)
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

fn occupied(m: Model, rec: &Rec) -> bool {
    rec.id_of(m, "cable").is_some() || rec.get(m, "mark_connected").as_bool() == Some(true)
}

/// `str(device)`.
pub fn device_display(store: &Store, rec: &Rec) -> String {
    let m = Model::Device;
    let asset = rec.get(m, "asset_tag").as_str();
    if let Some(name) = rec.get(m, "name").as_str().filter(|n| !n.is_empty()) {
        return match asset {
            Some(a) => format!("{name} ({a})"),
            None => name.to_string(),
        };
    }
    if let Some(vc) = rec
        .id_of(m, "virtual_chassis")
        .and_then(|v| store.get(Model::VirtualChassis, v))
    {
        let pos = rec.get(m, "vc_position");
        let pos = if pos.is_null() {
            "None".to_string()
        } else {
            pos.to_string()
        };
        return match asset {
            Some(a) => format!("{}:{pos} ({a})", vc.str(Model::VirtualChassis, "name")),
            None => format!(
                "{}:{pos} ({})",
                vc.str(Model::VirtualChassis, "name"),
                rec.id
            ),
        };
    }
    let dt = rec
        .id_of(m, "device_type")
        .and_then(|d| store.get(Model::DeviceType, d));
    let (mfr, model) = match dt {
        Some(dt) => (
            dt.id_of(Model::DeviceType, "manufacturer")
                .and_then(|id| store.get(Model::Manufacturer, id))
                .map(|r| r.str(Model::Manufacturer, "name").to_string())
                .unwrap_or_default(),
            dt.str(Model::DeviceType, "model").to_string(),
        ),
        None => (String::new(), String::new()),
    };
    match asset {
        Some(a) => format!("{mfr} {model} ({a})"),
        None => format!("{mfr} {model} ({})", rec.id),
    }
}

fn cable_display(rec: &Rec) -> String {
    let label = rec.str(Model::Cable, "label");
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

fn prefix_key(rec: &Rec) -> Option<(Option<Id>, net::Net)> {
    let p = Model::Prefix;
    let n = net::parse_any(rec.str(p, "prefix"))?;
    Some((rec.id_of(p, "vrf"), n))
}

/// Number of prefixes strictly inside `rec` in the same VRF (NetBox's `_children`).
fn prefix_children(s: &Store, rec: &Rec) -> usize {
    let Some((vrf, net)) = prefix_key(rec) else {
        return 0;
    };
    s.iter(Model::Prefix)
        .filter(|o| o.id != rec.id)
        .filter_map(prefix_key)
        .filter(|(v, n)| *v == vrf && net.strictly_contains(n))
        .count()
}

/// Nesting depth: parents of a role/platform, containing prefixes of a prefix (NetBox `_depth`).
fn depth(s: &Store, m: Model, rec: &Rec) -> usize {
    match m {
        Model::Prefix => {
            let Some((vrf, net)) = prefix_key(rec) else {
                return 0;
            };
            s.iter(Model::Prefix)
                .filter(|o| o.id != rec.id)
                .filter_map(|o| {
                    let (v, n) = prefix_key(o)?;
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
