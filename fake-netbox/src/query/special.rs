//! The filters NetBox's filter sets define by hand rather than by field, per model: e.g.
//! `has_primary_ip`, `mac_address`, `vc_position`, `cabled`, `connected`, `kind`, `vlan_id`, a
//! cable's `device`/`site`/`termination_a_id`, an address's `interface`/`device`, the generic
//! relations (`assigned_object_*`, `assigned`), `within`/`contains`, `family`, `mask_length`,
//! custom field `object_type`, journal entry creators and dates.
//!
//! Called by `filters` for parameters no table describes; it only pushes predicates.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use super::filters::{
    FilterErrors, err, parse_bool, parse_ids, resolve_ids, resolve_values, select_err,
};
use super::predicate::{Lookup, Pred};
use crate::model::Model;
use crate::net::{self, Net};
use crate::store::{Id, Store};
use crate::util::parse_datetime;

fn iface_device_of(store: &Store, iface: Id) -> Option<Id> {
    store
        .get(Model::Interface, iface)?
        .id_of(Model::Interface, "device")
}

/// Devices with an interface whose primary MAC is one of `macs`.
fn devices_by_mac(store: &Store, macs: &[String]) -> BTreeSet<Id> {
    ifaces_by_mac(store, macs)
        .into_iter()
        .filter_map(|i| iface_device_of(store, i))
        .collect()
}

fn ifaces_by_mac(store: &Store, macs: &[String]) -> BTreeSet<Id> {
    store
        .iter(Model::MacAddress)
        .filter(|r| {
            macs.iter()
                .any(|m| m == r.str(Model::MacAddress, "mac_address"))
        })
        .filter(|r| r.str(Model::MacAddress, "assigned_object_type") == "dcim.interface")
        .filter_map(|r| r.id_of(Model::MacAddress, "assigned_object_id"))
        .collect()
}

#[allow(clippy::too_many_lines)]
pub(super) fn special(
    store: &Store,
    m: Model,
    name: &str,
    vals: &[&str],
    preds: &mut Vec<Pred>,
) -> Result<(), FilterErrors> {
    let first = vals.last().copied().unwrap_or("");
    match (m, name) {
        (Model::Device, "has_primary_ip") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    let has = r.id_of(Model::Device, "primary_ip4").is_some()
                        || r.id_of(Model::Device, "primary_ip6").is_some();
                    has == b
                })));
            }
        }
        (Model::Device | Model::Interface, "mac_address") => {
            let macs: Vec<String> = vals.iter().filter_map(|v| net::parse_mac(v).ok()).collect();
            let set = if m == Model::Device {
                devices_by_mac(store, &macs)
            } else {
                ifaces_by_mac(store, &macs)
            };
            preds.push(Pred::Ids(set, false));
        }
        (Model::Device, "vc_position")
        | (Model::Vlan, "vid")
        | (Model::CableTermination, "termination_id") => {
            let field = match name {
                "vc_position" => "vc_position",
                "vid" => "vid",
                _ => "termination_id",
            };
            let nums = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(m, field).as_u64().is_some_and(|v| nums.contains(&v))
            })));
        }
        (Model::Interface, "cabled") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    r.id_of(Model::Interface, "cable").is_some() == b
                })));
            }
        }
        (Model::Interface, "connected") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |s, r| {
                    let connected = r
                        .id_of(Model::Interface, "cable")
                        .and_then(|c| s.get(Model::Cable, c))
                        .is_some_and(|c| c.str(Model::Cable, "status") == "connected");
                    connected == b
                })));
            }
        }
        (Model::Interface, "kind") => {
            let kind = first.to_string();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let ty = r.str(Model::Interface, "type");
                let virtual_ = matches!(ty, "virtual" | "bridge" | "lag");
                let wireless = ty.starts_with("ieee802.11") || ty.starts_with("other-wireless");
                match kind.as_str() {
                    "virtual" => virtual_,
                    "wireless" => wireless,
                    "physical" => !virtual_ && !wireless,
                    _ => true,
                }
            })));
        }
        (Model::Interface, "vlan_id" | "vlan") => {
            let ids: Vec<Id> = if name == "vlan_id" {
                parse_ids(name, vals)?
            } else {
                let vids: Vec<u64> = parse_ids(name, vals)?;
                store
                    .iter(Model::Vlan)
                    .filter(|v| {
                        v.get(Model::Vlan, "vid")
                            .as_u64()
                            .is_some_and(|x| vids.contains(&x))
                    })
                    .map(|v| v.id)
                    .collect()
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let i = Model::Interface;
                let untagged = r
                    .id_of(i, "untagged_vlan")
                    .is_some_and(|v| ids.contains(&v));
                let tagged = r.get(i, "tagged_vlans").as_array().is_some_and(|a| {
                    a.iter()
                        .any(|v| v.as_u64().is_some_and(|v| ids.contains(&v)))
                });
                untagged || tagged
            })));
        }
        (
            Model::Cable,
            "device_id" | "device" | "site_id" | "site" | "termination_a_id" | "termination_b_id"
            | "interface_id",
        ) => {
            let devices: BTreeSet<Id> = match name {
                "device_id" => resolve_ids(store, Model::Device, name, vals)?,
                "device" => {
                    let mut out = BTreeSet::new();
                    for v in vals {
                        out.extend(
                            store
                                .iter(Model::Device)
                                .filter(|d| d.get(Model::Device, "name").as_str() == Some(v))
                                .map(|d| d.id),
                        );
                    }
                    out
                }
                "site_id" | "site" => {
                    let sites = if name == "site_id" {
                        resolve_ids(store, Model::Site, name, vals)?
                    } else {
                        resolve_values(store, Model::Site, "slug", name, vals)?
                    };
                    sites
                        .iter()
                        .flat_map(|s| {
                            store
                                .referrers(Model::Device, "site", *s)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                _ => BTreeSet::new(),
            };
            let ifaces: Option<BTreeSet<Id>> = match name {
                "termination_a_id" | "termination_b_id" | "interface_id" => {
                    Some(parse_ids(name, vals)?.into_iter().collect())
                }
                _ => None,
            };
            let end = match name {
                "termination_a_id" => Some("A"),
                "termination_b_id" => Some("B"),
                _ => None,
            };
            preds.push(Pred::Custom(Box::new(move |s, r| {
                s.referrers(Model::CableTermination, "cable", r.id)
                    .any(|t| {
                        let Some(t) = s.get(Model::CableTermination, t) else {
                            return false;
                        };
                        if let Some(e) = end
                            && t.str(Model::CableTermination, "cable_end") != e
                        {
                            return false;
                        }
                        let Some(iface) = t.id_of(Model::CableTermination, "termination_id") else {
                            return false;
                        };
                        match &ifaces {
                            Some(set) => set.contains(&iface),
                            None => iface_device_of(s, iface).is_some_and(|d| devices.contains(&d)),
                        }
                    })
            })));
        }
        (Model::MacAddress | Model::IpAddress | Model::JournalEntry, "assigned_object_type")
        | (Model::Prefix | Model::VlanGroup, "scope_type")
        | (Model::CableTermination, "termination_type") => {
            let field = match name {
                "scope_type" => "scope_type",
                "termination_type" => "termination_type",
                _ => "assigned_object_type",
            };
            for v in vals {
                if crate::model::content_type_id(v).is_none() {
                    return Err(select_err(name, v));
                }
            }
            preds.push(Pred::Text {
                field,
                values: vals.iter().map(|s| s.to_string()).collect(),
                lookup: Lookup::Exact,
                negate: false,
            });
        }
        (Model::MacAddress | Model::IpAddress | Model::JournalEntry, "assigned_object_id")
        | (Model::Prefix | Model::VlanGroup, "scope_id") => {
            let field = if name == "scope_id" {
                "scope_id"
            } else {
                "assigned_object_id"
            };
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(m, field).as_u64().is_some_and(|v| ids.contains(&v))
            })));
        }
        (
            Model::MacAddress | Model::IpAddress,
            "interface_id" | "interface" | "device_id" | "device",
        ) => {
            let ifaces: BTreeSet<Id> = match name {
                "interface_id" => parse_ids(name, vals)?.into_iter().collect(),
                "interface" => store
                    .iter(Model::Interface)
                    .filter(|i| vals.contains(&i.str(Model::Interface, "name")))
                    .map(|i| i.id)
                    .collect(),
                "device_id" => {
                    let devs = parse_ids(name, vals)?;
                    devs.iter()
                        .flat_map(|d| {
                            store
                                .referrers(Model::Interface, "device", *d)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
                _ => {
                    let devs: Vec<Id> = store
                        .iter(Model::Device)
                        .filter(|d| {
                            d.get(Model::Device, "name")
                                .as_str()
                                .is_some_and(|n| vals.contains(&n))
                        })
                        .map(|d| d.id)
                        .collect();
                    devs.iter()
                        .flat_map(|d| {
                            store
                                .referrers(Model::Interface, "device", *d)
                                .collect::<Vec<_>>()
                        })
                        .collect()
                }
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "assigned_object_type") == "dcim.interface"
                    && r.get(m, "assigned_object_id")
                        .as_u64()
                        .is_some_and(|i| ifaces.contains(&i))
            })));
        }
        (Model::MacAddress | Model::IpAddress, "assigned") => {
            if let Some(b) = parse_bool(first) {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    r.get(m, "assigned_object_id").is_null() != b
                })));
            }
        }
        (Model::MacAddress, "mac_address") => {
            let macs: Vec<String> = vals.iter().filter_map(|v| net::parse_mac(v).ok()).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                macs.iter()
                    .any(|x| x == r.str(Model::MacAddress, "mac_address"))
            })));
        }
        (Model::Prefix | Model::IpAddress | Model::VlanGroup, "site_id" | "site")
            if m != Model::VlanGroup || name == "site_id" =>
        {
            let sites = if name == "site_id" {
                resolve_ids(store, Model::Site, name, vals)?
            } else {
                resolve_values(store, Model::Site, "slug", name, vals)?
            };
            if m == Model::IpAddress {
                return Ok(());
            }
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "scope_type") == "dcim.site"
                    && r.get(m, "scope_id")
                        .as_u64()
                        .is_some_and(|v| sites.contains(&v))
            })));
        }
        (Model::VlanGroup, "site") => {
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.str(m, "scope_type") == "dcim.site"
                    && r.get(m, "scope_id")
                        .as_u64()
                        .is_some_and(|v| ids.contains(&v))
            })));
        }
        (Model::Prefix, "prefix") | (Model::IpAddress, "address") => {
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            let nets: Vec<Net> = vals.iter().filter_map(|v| net::parse_any(v)).collect();
            let bare: Vec<bool> = vals.iter().map(|v| !v.contains('/')).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let Some(have) = net::parse_any(r.str(m, field)) else {
                    return false;
                };
                nets.iter()
                    .zip(&bare)
                    .any(|(n, b)| if *b { n.addr == have.addr } else { *n == have })
            })));
        }
        (Model::Prefix, "within" | "within_include" | "contains")
        | (Model::IpAddress, "parent") => {
            let Some(target) = net::parse_any(first) else {
                return Ok(());
            };
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            let mode = name.to_string();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                let Some(have) = net::parse_any(r.str(m, field)) else {
                    return false;
                };
                match mode.as_str() {
                    "within" => target.strictly_contains(&have),
                    "contains" => have.contains(&target),
                    _ => target.contains(&Net {
                        addr: have.addr,
                        len: have.len.max(target.len),
                    }),
                }
            })));
        }
        (Model::Prefix | Model::IpAddress, "family") => {
            let fam: Option<u8> = first.parse().ok();
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            if let Some(fam) = fam {
                preds.push(Pred::Custom(Box::new(move |_, r| {
                    net::parse_any(r.str(m, field)).is_some_and(|n| n.family() == fam)
                })));
            }
        }
        (Model::Prefix | Model::IpAddress, "mask_length") => {
            let lens = parse_ids(name, vals)?;
            let field = if m == Model::Prefix {
                "prefix"
            } else {
                "address"
            };
            preds.push(Pred::Custom(Box::new(move |_, r| {
                net::parse_any(r.str(m, field)).is_some_and(|n| lens.contains(&(n.len as u64)))
            })));
        }
        (Model::CustomField, "object_type" | "object_types") => {
            let wanted: Vec<String> = vals.iter().map(|s| s.to_string()).collect();
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(Model::CustomField, "object_types")
                    .as_array()
                    .is_some_and(|a| {
                        a.iter()
                            .any(|t| t.as_str().is_some_and(|t| wanted.iter().any(|w| w == t)))
                    })
            })));
        }
        (Model::Tag, "for_object_type_id" | "content_type_id") => {}
        (Model::JournalEntry, "created_by_id") => {
            let ids = parse_ids(name, vals)?;
            preds.push(Pred::Custom(Box::new(move |_, r| {
                r.get(Model::JournalEntry, "created_by")
                    .as_u64()
                    .is_some_and(|v| ids.contains(&v))
            })));
        }
        (Model::JournalEntry, "created_after" | "created_before") => {
            let Some(ts) = parse_datetime(first) else {
                return Err(err("created", "Enter a valid date/time."));
            };
            let after = name == "created_after";
            preds.push(Pred::Time(
                "created",
                if after {
                    Ordering::Greater
                } else {
                    Ordering::Less
                },
                true,
                ts,
            ));
        }
        _ => {}
    }
    Ok(())
}
