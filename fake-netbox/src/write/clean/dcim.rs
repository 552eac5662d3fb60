//! The validation rules of the dcim models: devices (primary IPs, platform, virtual chassis),
//! interfaces (virtual types, parent/bridge/LAG, 802.1Q mode, primary MAC, and the interface
//! serializer's own checks), virtual chassis and MAC addresses.
//!
//! Cable terminations are checked in `write::cable`.

use serde_json::Value;

use super::display;
use crate::model::Model;
use crate::net;
use crate::render::Ctx;
use crate::store::{Id, Rec, Store};
use crate::write::body::Parsed;
use crate::write::{Errs, WriteError, add_err, one};

/// `Device.clean()`.
pub(super) fn device(store: &Store, rec: &Rec, old: Option<&Rec>) -> Errs {
    let m = Model::Device;
    let mut e = Errs::new();
    let ctx = Ctx::new(store, "");
    let disp = |model: Model, id: Option<Id>| display(&ctx, model, id);
    let ifaces = vc_interfaces(store, rec);
    for (field, family) in [("primary_ip4", 4u8), ("primary_ip6", 6), ("oob_ip", 0)] {
        let Some(ip) = rec
            .id_of(m, field)
            .and_then(|i| store.get(Model::IpAddress, i))
        else {
            continue;
        };
        let text = ip.str(Model::IpAddress, "address");
        let fam = net::parse_any(text).map_or(4, |n| n.family());
        if family != 0 && fam != family {
            add_err(
                &mut e,
                field,
                format!("{text} is not an IPv{family} address."),
            );
            break;
        }
        let assigned = |ip: &Rec| {
            ip.str(Model::IpAddress, "assigned_object_type") == "dcim.interface"
                && ip
                    .id_of(Model::IpAddress, "assigned_object_id")
                    .is_some_and(|i| ifaces.contains(&i))
        };
        let nat_ok = ip
            .id_of(Model::IpAddress, "nat_inside")
            .and_then(|n| store.get(Model::IpAddress, n))
            .is_some_and(assigned);
        if !assigned(ip) && !nat_ok {
            add_err(
                &mut e,
                field,
                format!("The specified IP address ({text}) is not assigned to this device."),
            );
            break;
        }
    }
    if e.is_empty()
        && let (Some(pl), Some(dt)) = (
            rec.id_of(m, "platform")
                .and_then(|p| store.get(Model::Platform, p)),
            rec.id_of(m, "device_type")
                .and_then(|d| store.get(Model::DeviceType, d)),
        )
        && let Some(pm) = pl.id_of(Model::Platform, "manufacturer")
        && Some(pm) != dt.id_of(Model::DeviceType, "manufacturer")
    {
        add_err(
            &mut e,
            "platform",
            format!(
                "The assigned platform is limited to {} device types, but this device's type belongs to {}.",
                disp(Model::Manufacturer, Some(pm)),
                disp(
                    Model::Manufacturer,
                    dt.id_of(Model::DeviceType, "manufacturer")
                )
            ),
        );
    }
    if e.is_empty()
        && rec.id_of(m, "virtual_chassis").is_some()
        && rec.get(m, "vc_position").is_null()
    {
        add_err(
            &mut e,
            "vc_position",
            "A device assigned to a virtual chassis must have its position defined.",
        );
    }
    if e.is_empty()
        && let Some(old) = old
    {
        let master_of: Option<Id> = store
            .referrers(Model::VirtualChassis, "master", old.id)
            .next();
        if let Some(vc) = master_of
            && rec.id_of(m, "virtual_chassis") != Some(vc)
        {
            add_err(
                &mut e,
                "virtual_chassis",
                format!(
                    "Device cannot be removed from virtual chassis {} because it is currently designated as its master.",
                    disp(Model::VirtualChassis, Some(vc))
                ),
            );
        }
    }
    e
}

/// Interfaces of a device and of the other members of its virtual chassis.
fn vc_interfaces(store: &Store, dev: &Rec) -> Vec<Id> {
    let mut devices = vec![dev.id];
    if let Some(vc) = dev.id_of(Model::Device, "virtual_chassis") {
        devices = store
            .referrers(Model::Device, "virtual_chassis", vc)
            .collect();
        if !devices.contains(&dev.id) {
            devices.push(dev.id);
        }
    }
    devices
        .into_iter()
        .flat_map(|d| {
            store
                .referrers(Model::Interface, "device", d)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `Interface.clean()`.
pub(super) fn interface(store: &Store, rec: &Rec, old: Option<&Rec>) -> Errs {
    let m = Model::Interface;
    let mut e = Errs::new();
    let ctx = Ctx::new(store, "");
    let disp = |model: Model, id: Option<Id>| display(&ctx, model, id);
    let dev = rec
        .id_of(m, "device")
        .and_then(|d| store.get(Model::Device, d));
    let dev_vc = dev.and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
    let ty = rec.str(m, "type");
    let is_virtual = matches!(ty, "virtual" | "bridge" | "lag");
    if is_virtual && rec.id_of(m, "cable").is_some() {
        let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
        add_err(
            &mut e,
            "type",
            format!("{label} interfaces cannot have a cable attached."),
        );
        return e;
    }
    if is_virtual && rec.get(m, "mark_connected").as_bool() == Some(true) {
        let label = crate::choices::INTERFACE_TYPE.label(ty).unwrap_or(ty);
        add_err(
            &mut e,
            "mark_connected",
            format!("{label} interfaces cannot be marked as connected."),
        );
        return e;
    }
    for (field, what) in [
        ("parent", "parent interface"),
        ("bridge", "bridge interface"),
        ("lag", "LAG interface"),
    ] {
        let Some(other) = rec.id_of(m, field) else {
            continue;
        };
        if field == "lag" && ty == "virtual" {
            add_err(
                &mut e,
                "lag",
                "Virtual interfaces cannot have a parent LAG interface.",
            );
            return e;
        }
        if other == rec.id && rec.id != 0 {
            let msg = match field {
                "lag" => "A LAG interface cannot be its own parent.",
                "parent" => "An interface cannot be its own parent.",
                _ => "An interface cannot be bridged to itself.",
            };
            add_err(&mut e, field, msg);
            return e;
        }
        let Some(other_rec) = store.get(m, other) else {
            continue;
        };
        let other_dev = other_rec.id_of(m, "device");
        if other_dev == rec.id_of(m, "device") {
            continue;
        }
        let other_name = other_rec.str(m, "name");
        let other_dev_name = disp(Model::Device, other_dev);
        let other_vc = other_dev
            .and_then(|d| store.get(Model::Device, d))
            .and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
        let msg = match dev_vc {
            None => format!(
                "The selected {what} ({other_name}) belongs to a different device ({other_dev_name}){}",
                if field == "parent" { "" } else { "." }
            ),
            Some(vc) if other_vc != Some(vc) => format!(
                "The selected {what} ({other_name}) belongs to {other_dev_name}, which is not part of virtual chassis {}.",
                disp(Model::VirtualChassis, Some(vc))
            ),
            Some(_) => continue,
        };
        add_err(&mut e, field, msg);
        return e;
    }
    let mode = rec.get(m, "mode").as_str().unwrap_or("");
    if mode.is_empty() && rec.id_of(m, "untagged_vlan").is_some() {
        add_err(
            &mut e,
            "untagged_vlan",
            "Interface mode does not support an untagged vlan.",
        );
        return e;
    }
    if let Some(v) = rec
        .id_of(m, "untagged_vlan")
        .and_then(|v| store.get(Model::Vlan, v))
    {
        let vsite = v.id_of(Model::Vlan, "site");
        if vsite.is_some() && vsite != dev.and_then(|d| d.id_of(Model::Device, "site")) {
            add_err(
                &mut e,
                "untagged_vlan",
                format!(
                    "The untagged VLAN ({}) must belong to the same site as the interface's parent device, or it must be global.",
                    ctx.display(Model::Vlan, v)
                ),
            );
            return e;
        }
    }
    if rec.id_of(m, "qinq_svlan").is_some() && mode != "q-in-q" {
        add_err(
            &mut e,
            "qinq_svlan",
            "Only Q-in-Q interfaces may specify a service VLAN.",
        );
        return e;
    }
    if let Some(mac) = rec
        .id_of(m, "primary_mac_address")
        .and_then(|id| store.get(Model::MacAddress, id))
    {
        let assigned = mac.id_of(Model::MacAddress, "assigned_object_id");
        match assigned {
            None if old.is_some() => add_err(
                &mut e,
                "__all__",
                "Only a MAC address assigned to this interface can be its primary MAC address.",
            ),
            Some(other) if other != rec.id => add_err(
                &mut e,
                "__all__",
                format!(
                    "MAC address {} is assigned to a different interface ({}).",
                    mac.str(Model::MacAddress, "mac_address"),
                    disp(Model::Interface, Some(other))
                ),
            ),
            _ => {}
        }
    }
    e
}

/// `VirtualChassis.clean()`.
pub(super) fn virtual_chassis(store: &Store, rec: &Rec) -> Errs {
    let m = Model::VirtualChassis;
    let mut e = Errs::new();
    let ctx = Ctx::new(store, "");
    let disp = |model: Model, id: Option<Id>| display(&ctx, model, id);
    if let Some(master) = rec.id_of(m, "master") {
        let member = store
            .get(Model::Device, master)
            .and_then(|d| d.id_of(Model::Device, "virtual_chassis"));
        if member != Some(rec.id) {
            add_err(
                &mut e,
                "master",
                format!(
                    "The selected master ({}) is not assigned to this virtual chassis.",
                    disp(Model::Device, Some(master))
                ),
            );
        }
    }
    e
}

/// `MACAddress.clean()`.
pub(super) fn mac_address(store: &Store, rec: &Rec, old: Option<&Rec>) -> Errs {
    let m = Model::MacAddress;
    let mut e = Errs::new();
    if let Some(old) = old {
        let was = old.id_of(m, "assigned_object_id");
        let is_primary = was
            .and_then(|i| store.get(Model::Interface, i))
            .is_some_and(|i| i.id_of(Model::Interface, "primary_mac_address") == Some(rec.id));
        let now = rec.id_of(m, "assigned_object_id");
        if is_primary && now != was {
            let msg = if now.is_none() {
                "Cannot unassign MAC Address while it is designated as the primary MAC for an object"
            } else {
                "Cannot reassign MAC Address while it is designated as the primary MAC for an object"
            };
            add_err(&mut e, "__all__", msg);
        }
    }
    if e.is_empty()
        && let Some(id) = rec.id_of(m, "assigned_object_id")
        && rec.get(m, "assigned_object_type").is_string()
        && store.get(Model::Interface, id).is_none()
    {
        add_err(
            &mut e,
            "__all__",
            format!("Invalid assigned_object: DCIM > Interface ID {id}"),
        );
    }
    e
}

/// Interface-specific serializer validation (`InterfaceSerializer.validate`): the 802.1Q mode
/// decides which VLAN fields may be set; values come from the request, else from the instance.
pub(in crate::write) fn serializer_validate(
    store: &Store,
    m: Model,
    parsed: &Parsed,
    existing: Option<&Rec>,
) -> Result<(), WriteError> {
    if m != Model::Interface {
        return Ok(());
    }
    let given = |name: &str| -> Option<&Value> {
        let idx = m.field_index(name)?;
        parsed.vals.iter().find(|(i, _)| *i == idx).map(|(_, v)| v)
    };
    let value = |name: &str| -> Value {
        match (given(name), existing) {
            (Some(v), _) => v.clone(),
            (None, Some(e)) => e.get(m, name).clone(),
            (None, None) => Value::Null,
        }
    };
    let truthy = |v: &Value| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    };
    let mode = value("mode");
    let mode = mode.as_str().unwrap_or("");
    let mut e = Errs::new();
    if mode != "q-in-q" && truthy(&value("qinq_svlan")) {
        add_err(
            &mut e,
            "qinq_svlan",
            "Interface mode does not support q-in-q service vlan",
        );
    }
    let tagged = value("tagged_vlans");
    if mode.is_empty() {
        if truthy(&value("untagged_vlan")) {
            add_err(
                &mut e,
                "untagged_vlan",
                "Interface mode does not support untagged vlan",
            );
        }
        if truthy(&tagged) {
            add_err(
                &mut e,
                "tagged_vlans",
                "Interface mode does not support tagged vlans",
            );
        }
    } else if (mode == "tagged-all" || mode == "access") && truthy(&tagged) {
        add_err(
            &mut e,
            "tagged_vlans",
            "Interface mode does not support tagged vlans",
        );
    }
    if !e.is_empty() {
        return Err(WriteError::Invalid(e));
    }
    let device = match existing {
        Some(r) => r.id_of(m, "device"),
        None => given("device").and_then(Value::as_u64),
    };
    let site = device
        .and_then(|d| store.get(Model::Device, d))
        .and_then(|d| d.id_of(Model::Device, "site"));
    for vid in given("tagged_vlans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_u64)
    {
        let Some(vlan) = store.get(Model::Vlan, vid) else {
            continue;
        };
        let vsite = vlan.id_of(Model::Vlan, "site");
        if vsite.is_some() && vsite != site {
            return Err(one(
                "tagged_vlans",
                format!(
                    "VLAN {} ({}) must belong to the same site as the interface's parent device, or it must be global.",
                    vlan.str(Model::Vlan, "name"),
                    vlan.get(Model::Vlan, "vid")
                ),
            ));
        }
    }
    Ok(())
}
