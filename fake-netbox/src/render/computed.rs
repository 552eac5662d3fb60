//! Computed (read-only, not stored) fields: related-object counts, link peers and connected
//! endpoints, primary IP and MAC, occupied state, generic relations, prefix children and depth,
//! VLAN ID totals and utilization.
//!
//! Reads the store only; stored fields are written by `render` itself.

use serde_json::Value;

use super::{Ctx, Mode, parse};
use crate::jsonw::JsonWriter;
use crate::model::{Computed, Model, Nest, NestedCount};
use crate::net;
use crate::store::{Id, Rec, Store};
use crate::util::py_float;

impl<'a> Ctx<'a> {
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

    pub(super) fn write_computed(
        &self,
        w: &mut JsonWriter,
        m: Model,
        rec: &Rec,
        c: Computed,
        mode: Mode,
    ) {
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
    pub(super) fn computed_value(&self, m: Model, rec: &Rec, c: Computed) -> Value {
        let mut w = JsonWriter::with_capacity(32);
        self.write_computed(&mut w, m, rec, c, Mode::Full);
        parse(&w)
    }
}

pub(super) fn occupied(m: Model, rec: &Rec) -> bool {
    rec.id_of(m, "cable").is_some() || rec.get(m, "mark_connected").as_bool() == Some(true)
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
