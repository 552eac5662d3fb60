//! Turns stored records into NetBox's JSON: the full representation, the brief one (`?brief=1`),
//! the nested shapes used inside other objects, and the raw "serialized object" NetBox writes into
//! change records.
//!
//! Read-only over the store; never validates or mutates anything.

use std::cell::RefCell;
use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::jsonw::W;
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

/// Which representation of an object to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The full representation.
    Full,
    /// `?brief=1`.
    Brief,
}

/// Counts read through a plain `IntegerField` are left out when their object is nested.
fn omitted(kind: K, mode: Mode) -> bool {
    matches!(
        (kind, mode),
        (
            K::Computed(C::Count(_, _, NestedCount::Omit) | C::ScopeCount(_, NestedCount::Omit)),
            Mode::Nested
        )
    )
}

fn parse(w: &W) -> Value {
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

    /// The full representation (`GET /api/<app>/<endpoint>/<id>/`).
    pub fn full(&self, m: M, rec: &Rec) -> Value {
        let mut w = W::with_capacity(2048);
        self.write(&mut w, m, rec, Shape::Full, None);
        parse(&w)
    }

    pub fn nested_id(&self, m: M, id: Option<Id>, style: Nest) -> Value {
        let mut w = W::with_capacity(256);
        self.write_nested_id(&mut w, m, id, style);
        parse(&w)
    }

    /// Writes one object: full (optionally restricted to fields `keep` accepts, as `?fields=` and
    /// `?omit=` do) or brief.
    pub fn write(
        &self,
        w: &mut W,
        m: M,
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
        w: &mut W,
        m: M,
        rec: &Rec,
        mode: Mode,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) {
        let mut o = w.obj();
        for (i, f) in m.fields().iter().enumerate() {
            let wanted = match mode {
                Mode::Full => f.is(crate::model::O),
                Mode::Brief | Mode::Nested => f.is(crate::model::B),
            };
            if !wanted || keep.is_some_and(|k| !k(f.name)) || omitted(f.kind, mode) {
                continue;
            }
            let v = o.key(f.name);
            self.write_field(v, m, rec, i, mode);
        }
        o.end();
    }

    fn write_url(&self, w: &mut W, m: M, id: Id) {
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

    fn write_display_url(&self, w: &mut W, m: M, id: Id) {
        w.byte(b'"');
        w.escaped(&self.base);
        w.byte(b'/');
        w.raw(m.meta().ui_path);
        w.byte(b'/');
        w.u64(id);
        w.raw("/\"");
    }

    /// Writes `m` nested inside another object.
    pub fn write_nested(&self, w: &mut W, m: M, rec: &Rec, style: Nest) {
        match style {
            Nest::Id => w.u64(rec.id),
            Nest::Brief => self.write_mode(w, m, rec, Mode::Nested, None),
            Nest::Legacy => self.write_legacy(w, m, rec),
        }
    }

    pub fn write_nested_id(&self, w: &mut W, m: M, id: Option<Id>, style: Nest) {
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
    fn write_nested_fk(&self, w: &mut W, m: M, id: Option<Id>, style: Nest) {
        let Some(rec) = id.and_then(|id| self.store.get(m, id)) else {
            return self.write_nested_id(w, m, id, style);
        };
        if m != M::IpAddress || style != Nest::Brief {
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
        self.write_computed(o.key("nat_outside"), m, rec, C::NatOutside, Mode::Nested);
        o.key("dns_name").val(rec.get(m, "dns_name"));
        o.key("description").val(rec.get(m, "description"));
        o.end();
    }

    /// The `Nested*Serializer` shapes NetBox still uses for a few relations.
    fn write_legacy(&self, w: &mut W, m: M, rec: &Rec) {
        let mut o = w.obj();
        o.key("id").u64(rec.id);
        self.write_url(o.key("url"), m, rec.id);
        self.write_display_url(o.key("display_url"), m, rec.id);
        o.key("display").str(&self.display(m, rec));
        if m == M::Interface {
            let dev = rec.id_of(m, "device");
            self.write_nested_id(o.key("device"), M::Device, dev, Nest::Legacy);
            o.key("name").val(rec.get(m, "name"));
            o.key("cable").val(rec.get(m, "cable"));
            o.key("_occupied").bool(occupied(m, rec));
        } else if m == M::IpAddress {
            let family = net::parse_any(rec.str(m, "address")).map_or(4, |n| n.family());
            o.key("family").u64(u64::from(family));
            o.key("address").val(rec.get(m, "address"));
        } else {
            o.key("name").val(rec.get(m, "name"));
        }
        o.end();
    }

    /// The nested tag shape (`NestedTagSerializer`).
    fn write_tag(&self, w: &mut W, rec: &Rec) {
        let t = M::Tag;
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

    fn write_field(&self, w: &mut W, m: M, rec: &Rec, i: usize, mode: Mode) {
        let f = &m.fields()[i];
        let raw = rec.val(i);
        match f.kind {
            K::Id => w.u64(rec.id),
            K::Url => self.write_url(w, m, rec.id),
            K::DisplayUrl => self.write_display_url(w, m, rec.id),
            K::Display => w.str(&self.display(m, rec)),
            K::Created => w.str(&fmt_ts(rec.created)),
            K::LastUpdated => w.str(&fmt_ts(rec.last_updated)),
            K::Choice { set, plain, .. } => match raw.as_str() {
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
            K::Fk(target, style) | K::ReqFk(target, style) => {
                self.write_nested_fk(w, target, raw.as_u64(), style)
            }
            K::Absent | K::Null | K::Image => w.null(),
            K::AbsentList | K::EmptyList => w.raw("[]"),
            K::EmptyObj => w.raw("{}"),
            K::Zero => w.raw("0"),
            K::M2m(target) => {
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
            K::Tags => {
                let mut tags: Vec<&Rec> = rec
                    .tags
                    .iter()
                    .filter_map(|t| self.store.get(M::Tag, *t))
                    .collect();
                tags.sort_by(|a, b| a.str(M::Tag, "name").cmp(b.str(M::Tag, "name")));
                let mut a = w.arr();
                for t in tags {
                    self.write_tag(a.item(), t);
                }
                a.end();
            }
            K::CustomFields => self.write_custom_fields(w, m, rec),
            K::Computed(c) => self.write_computed(w, m, rec, c, mode),
            _ => w.val(raw),
        }
    }

    /// The `custom_fields` object: every field assigned to the model, null when unset.
    fn write_custom_fields(&self, w: &mut W, m: M, rec: &Rec) {
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

    fn write_brief_list<'r>(
        &self,
        w: &mut W,
        m: M,
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
    fn count_value(&self, m: M, rec: &Rec, c: C, mode: Mode) -> Option<usize> {
        let s = self.store;
        let (n, nested) = match c {
            C::Count(src, field, nested) => (s.referrer_count(src, field, rec.id), nested),
            C::ScopeCount(src, nested) => (
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

    fn write_computed(&self, w: &mut W, m: M, rec: &Rec, c: C, mode: Mode) {
        let s = self.store;
        match c {
            C::Count(..) | C::ScopeCount(..) => {
                w.u64(self.count_value(m, rec, c, mode).unwrap_or(0) as u64)
            }
            C::PrimaryIp => {
                let v6 = rec.id_of(m, "primary_ip6");
                let v4 = rec.id_of(m, "primary_ip4");
                self.write_nested_fk(w, M::IpAddress, v6.or(v4), Nest::Brief);
            }
            C::IfaceMacAddress => match rec
                .id_of(m, "primary_mac_address")
                .and_then(|id| s.get(M::MacAddress, id))
            {
                Some(r) => w.val(r.get(M::MacAddress, "mac_address")),
                None => w.null(),
            },
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
                self.write_brief_list(w, M::MacAddress, macs, Nest::Brief);
            }
            C::IfaceBridgeInterfaces => {
                let recs: Vec<&Rec> = s
                    .referrers(M::Interface, "bridge", rec.id)
                    .filter_map(|id| s.get(M::Interface, id))
                    .collect();
                self.write_brief_list(w, M::Interface, recs, Nest::Legacy);
            }
            C::IfaceLinkPeers => {
                self.write_brief_list(w, M::Interface, self.peers(rec), Nest::Brief)
            }
            // A cable whose far end is gone has no peers, so no (complete) path either.
            C::IfaceLinkPeersType | C::IfaceConnectedEndpointsType => {
                if self.peers(rec).is_empty() {
                    w.null();
                } else {
                    w.str("dcim.interface");
                }
            }
            C::IfaceConnectedEndpoints => {
                let peers = self.peers(rec);
                if peers.is_empty() {
                    w.null();
                } else {
                    self.write_brief_list(w, M::Interface, peers, Nest::Brief);
                }
            }
            C::IfaceReachable => w.bool(
                rec.id_of(m, "cable")
                    .and_then(|c| s.get(M::Cable, c))
                    .is_some_and(|c| c.str(M::Cable, "status") == "connected")
                    && !self.peers(rec).is_empty(),
            ),
            C::IfaceCountIpAddresses => w.u64(
                s.gfk_referrers(M::IpAddress, "assigned_object_type", M::Interface, rec.id)
                    .count() as u64,
            ),
            C::Occupied => w.bool(occupied(m, rec)),
            C::CableTerminations(end) => {
                let end = end.to_string();
                let mut terms: Vec<&Rec> = s
                    .referrers(M::CableTermination, "cable", rec.id)
                    .filter_map(|t| s.get(M::CableTermination, t))
                    .filter(|t| t.str(M::CableTermination, "cable_end") == end)
                    .collect();
                terms.sort_by_key(|t| t.id);
                let ct = M::CableTermination;
                let mut a = w.arr();
                for t in terms {
                    let mut o = a.item().obj();
                    o.key("object_type").val(t.get(ct, "termination_type"));
                    o.key("object_id").val(t.get(ct, "termination_id"));
                    let obj = t.id_of(ct, "termination_id");
                    self.write_nested_id(o.key("object"), M::Interface, obj, Nest::Brief);
                    o.end();
                }
                a.end();
            }
            C::Termination => {
                let id = rec.id_of(m, "termination_id");
                self.write_nested_id(w, M::Interface, id, Nest::Brief);
            }
            C::VcMembers => {
                let mut members: Vec<&Rec> = s
                    .referrers(M::Device, "virtual_chassis", rec.id)
                    .filter_map(|id| s.get(M::Device, id))
                    .collect();
                members.sort_by(|a, b| a.sort.cmp(&b.sort).then(a.id.cmp(&b.id)));
                self.write_brief_list(w, M::Device, members, Nest::Legacy);
            }
            C::Gfk(type_field, id_field) => {
                let target = rec.get(m, type_field).as_str().and_then(M::from_label);
                match (target, rec.id_of(m, id_field)) {
                    (Some(t), Some(id)) => self.write_nested_id(w, t, Some(id), Nest::Brief),
                    _ => w.null(),
                }
            }
            C::MacIsPrimary => {
                let iface = rec
                    .id_of(m, "assigned_object_id")
                    .filter(|_| rec.str(m, "assigned_object_type") == "dcim.interface")
                    .and_then(|id| s.get(M::Interface, id));
                w.bool(
                    iface.is_some_and(|i| {
                        i.id_of(M::Interface, "primary_mac_address") == Some(rec.id)
                    }),
                );
            }
            C::Family(field) => match net::parse_any(rec.str(m, field)) {
                Some(n) if n.family() == 6 => w.raw(r#"{"value":6,"label":"IPv6"}"#),
                Some(_) => w.raw(r#"{"value":4,"label":"IPv4"}"#),
                None => w.null(),
            },
            C::NatOutside => {
                let recs: Vec<&Rec> = s
                    .referrers(M::IpAddress, "nat_inside", rec.id)
                    .filter_map(|id| s.get(M::IpAddress, id))
                    .collect();
                self.write_brief_list(w, M::IpAddress, recs, Nest::Legacy);
            }
            C::PrefixChildren => w.u64(prefix_children(s, rec) as u64),
            C::Depth => w.u64(depth(s, m, rec) as u64),
            C::TotalVlanIds => w.u64(total_vlan_ids(rec.get(m, "vid_ranges"))),
            C::Utilization => {
                let total = total_vlan_ids(rec.get(m, "vid_ranges"));
                let used = s.referrer_count(M::Vlan, "group", rec.id);
                let pct = if total == 0 {
                    0.0
                } else {
                    used as f64 / total as f64 * 100.0
                };
                w.str(&py_float(pct));
            }
            C::TaggedItems => w.u64(s.tagged(rec.id).count() as u64),
            C::DataType => w.str(match rec.str(m, "type") {
                "integer" => "integer",
                "decimal" => "decimal",
                "boolean" => "boolean",
                "json" | "object" => "object",
                "multiselect" | "multiobject" => "array",
                _ => "string",
            }),
            C::ChoicesCount => w.u64(
                rec.get(m, "extra_choices")
                    .as_array()
                    .map_or(0, |a| a.len()) as u64,
            ),
        }
    }

    /// A computed value as a JSON value (for change log data).
    fn computed_value(&self, m: M, rec: &Rec, c: C) -> Value {
        let mut w = W::with_capacity(32);
        self.write_computed(&mut w, m, rec, c, Mode::Full);
        parse(&w)
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
                K::M2m(target) => {
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
                K::Computed(c) => self.computed_value(m, rec, c),
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
