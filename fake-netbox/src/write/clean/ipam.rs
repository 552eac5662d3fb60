//! The validation rules of the ipam models: IP addresses (assignment, primary/OOB IP moves,
//! SLAAC), the scope of prefixes and VLAN groups, and VLAN IDs within their group's ranges.
//!
//! It does not parse network values (`net` and `write::field` do).

use serde_json::Value;

use crate::model::Model;
use crate::net;
use crate::store::{Id, Rec, Store};
use crate::write::{Errs, add_err};

/// `IPAddress.clean()`.
pub(super) fn ip_address(store: &Store, rec: &Rec, old: Option<&Rec>) -> Errs {
    let m = Model::IpAddress;
    let mut e = Errs::new();
    if let Some(id) = rec.id_of(m, "assigned_object_id")
        && rec.get(m, "assigned_object_type").is_string()
        && store.get(Model::Interface, id).is_none()
    {
        add_err(
            &mut e,
            "__all__",
            format!("Invalid assigned_object: DCIM > Interface ID {id}"),
        );
    }
    if let Some(old) = old
        && let Some(dev) = old
            .id_of(m, "assigned_object_id")
            .and_then(|i| iface_device(store, i))
    {
        // Only moving the address away from its device is refused.
        let new_dev = rec
            .id_of(m, "assigned_object_id")
            .and_then(|i| iface_device(store, i))
            .map(|d| d.id);
        if new_dev != Some(dev.id) {
            let family = net::parse_any(rec.str(m, "address")).map(|n| n.family());
            let field = if family == Some(6) {
                "primary_ip6"
            } else {
                "primary_ip4"
            };
            if dev.id_of(Model::Device, field) == Some(rec.id) {
                add_err(
                    &mut e,
                    "__all__",
                    "Cannot reassign IP address while it is designated as the primary IP for the parent object",
                );
            } else if dev.id_of(Model::Device, "oob_ip") == Some(rec.id) {
                add_err(
                    &mut e,
                    "__all__",
                    "Cannot reassign IP address while it is designated as the OOB IP for the parent object",
                );
            }
        }
    }
    if rec.str(m, "status") == "slaac"
        && net::parse_any(rec.str(m, "address")).is_some_and(|n| n.family() == 4)
    {
        add_err(
            &mut e,
            "status",
            "Only IPv6 addresses can be assigned SLAAC status",
        );
    }
    e
}

fn iface_device(store: &Store, iface: Id) -> Option<&Rec> {
    let i = store.get(Model::Interface, iface)?;
    store.get(Model::Device, i.id_of(Model::Interface, "device")?)
}

/// The scope check of `CachedScopeMixin.clean()` (prefixes and VLAN groups).
pub(super) fn scope(store: &Store, m: Model, rec: &Rec) -> Errs {
    let mut e = Errs::new();
    let ty = rec.get(m, "scope_type").as_str();
    let id = rec.id_of(m, "scope_id");
    match (ty, id) {
        (Some(t), None) => {
            let model = t.split('.').nth(1).unwrap_or(t);
            add_err(&mut e, "__all__", format!("Please select a {model}."));
        }
        (None, Some(_)) => add_err(&mut e, "scope_type", "Please select a scope type."),
        (Some(t), Some(id)) => {
            if Model::from_label(t)
                .and_then(|mm| store.get(mm, id))
                .is_none()
            {
                add_err(
                    &mut e,
                    "scope",
                    format!("Related object not found using the provided numeric ID: {id}"),
                );
            }
        }
        (None, None) => {}
    }
    e
}

/// `VLAN.clean()`: the VLAN ID must lie in its group's ranges.
pub(super) fn vlan(store: &Store, rec: &Rec) -> Errs {
    let m = Model::Vlan;
    let mut e = Errs::new();
    if let Some(g) = rec
        .id_of(m, "group")
        .and_then(|g| store.get(Model::VlanGroup, g))
    {
        let vid = rec.get(m, "vid").as_i64().unwrap_or(0);
        let ranges = g.get(Model::VlanGroup, "vid_ranges");
        let inside = ranges.as_array().into_iter().flatten().any(|r| {
            let lo = r.get(0).and_then(Value::as_i64).unwrap_or(0);
            let hi = r.get(1).and_then(Value::as_i64).unwrap_or(0);
            (lo..=hi).contains(&vid)
        });
        if !inside {
            let text: Vec<String> = ranges
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| {
                    let lo = r.get(0).and_then(Value::as_i64).unwrap_or(0);
                    let hi = r.get(1).and_then(Value::as_i64).unwrap_or(0);
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect();
            add_err(
                &mut e,
                "vid",
                format!(
                    "VID must be in ranges {} for VLANs in group {}",
                    text.join(","),
                    g.str(Model::VlanGroup, "name")
                ),
            );
        }
    }
    e
}
