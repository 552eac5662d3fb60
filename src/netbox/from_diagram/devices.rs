//! Devices of the diagram: Switches (with their custom fields, management interface, MAC, IP
//! and breakouts), Servers and Externals become NetBox devices; unused switch groups and
//! switch settings NetBox has no place for become warnings.
//!
//! Cables and IPAM objects are `connections.rs` and `ipam.rs`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::ConversionError;
use super::build::{Build, link_type};
use crate::hedgehog::diagram::Diagram;
use crate::hedgehog::wiring::{RedundancyType, Switch};
use crate::netbox::model::*;

/// Switch groups that no switch's redundancy names cannot be represented: one warning each.
pub(super) fn warn_unused_switch_groups(b: &mut Build, d: &Diagram) {
    let used_groups: BTreeSet<String> = d
        .switches
        .iter()
        .filter_map(|s| s.spec.redundancy.as_ref().and_then(|r| r.group.clone()))
        .collect();
    for g in &d.switch_groups {
        let name = g.metadata.name.clone().unwrap_or_default();
        if !used_groups.contains(&name) {
            b.warnings.push(format!("SwitchGroup {name:?} is not the redundancy group of any switch; NetBox models groups through switches, so it is not imported"));
        }
    }
}

/// Every Switch: a device of its profile's device type and its role.
pub(super) fn switches(b: &mut Build, d: &Diagram) -> Result<(), ConversionError> {
    for s in &d.switches {
        switch(b, s)?;
    }
    Ok(())
}

fn switch(b: &mut Build, s: &Switch) -> Result<(), ConversionError> {
    let name = s.metadata.name.clone().unwrap_or_default();
    let Some(profile) = s.spec.profile.clone() else {
        return Err(ConversionError::new(
            "Switch",
            &name,
            "spec.profile",
            "is required (it becomes the NetBox device type)".into(),
        ));
    };
    let dt = b.device_type(&profile, None);
    let id = b.device(&name, s.spec.role.as_str(), dt);
    let cf = switch_custom_fields(b, s, &name);
    {
        let dev = b.dev_mut(id);
        dev.custom_fields = cf;
        dev.description = s.spec.description.clone().unwrap_or_default();
        dev.serial = s
            .spec
            .boot
            .as_ref()
            .and_then(|x| x.serial.clone())
            .unwrap_or_default();
    }
    management(b, s, id);
    for (port, mode) in &s.spec.port_breakouts {
        let i = b.iface(id, port, link_type(port));
        b.if_mut(i)
            .custom_fields
            .insert("hedgehog_breakout".into(), json!(mode));
    }
    let unsupported = unsupported_fields(s);
    if !unsupported.is_empty() {
        b.warnings.push(format!(
            "Switch {name:?}: {} have no place in the NetBox model and are not imported",
            unsupported.join(", ")
        ));
    }
    Ok(())
}

/// The device custom fields of a switch (redundancy, ASN, protocol and VTEP IPs); groups
/// besides the redundancy group are a warning.
fn switch_custom_fields(b: &mut Build, s: &Switch, name: &str) -> CustomFields {
    let mut cf = CustomFields::new();
    if let Some(r) = &s.spec.redundancy
        && let Some(g) = &r.group
    {
        cf.insert("hedgehog_redundancy_group".into(), json!(g));
        cf.insert(
            "hedgehog_redundancy_type".into(),
            json!(r.type_.unwrap_or(RedundancyType::Eslag).as_str()),
        );
    }
    let extra: Vec<&String> = s
        .spec
        .groups
        .iter()
        .filter(|g| Some(*g) != s.spec.redundancy.as_ref().and_then(|r| r.group.as_ref()))
        .collect();
    if !extra.is_empty() {
        b.warnings.push(format!("Switch {name:?}: groups {extra:?} besides its redundancy group cannot be modelled in NetBox and are not imported"));
    }
    if let Some(asn) = s.spec.asn {
        cf.insert("hedgehog_asn".into(), json!(asn));
    }
    if let Some(v) = &s.spec.protocol_ip {
        cf.insert("hedgehog_protocol_ip".into(), json!(v));
    }
    if let Some(v) = &s.spec.vtep_ip {
        cf.insert("hedgehog_vtep_ip".into(), json!(v));
    }
    cf
}

/// The management interface `M1` of switch device `id` when the switch has a boot MAC or a
/// management IP: the MAC as its primary MAC, the IP as the device's primary IPv4.
fn management(b: &mut Build, s: &Switch, id: u64) {
    let mac = s.spec.boot.as_ref().and_then(|x| x.mac.clone());
    if mac.is_none() && s.spec.ip.is_none() {
        return;
    }
    let m1 = b.iface(id, "M1", "1000base-t");
    if let Some(mac) = mac {
        let mid = b.ids.take("mac");
        b.snap.mac_addresses.push(MacAddress {
            id: mid,
            mac_address: mac.clone(),
            assigned_object_type: Some("dcim.interface".into()),
            assigned_object_id: Some(m1),
        });
        b.if_mut(m1).primary_mac_address = Some(BriefMac {
            id: mid,
            mac_address: mac,
        });
    }
    if let Some(ip) = &s.spec.ip {
        let ipid = b.ids.take("ip");
        b.snap.ip_addresses.push(IpAddress {
            id: ipid,
            address: ip.clone(),
            assigned_object_type: Some("dcim.interface".into()),
            assigned_object_id: Some(m1),
            status: Some(Choice::new("active")),
            ..IpAddress::default()
        });
        b.dev_mut(id).primary_ip4 = Some(BriefIp {
            id: ipid,
            address: ip.clone(),
        });
    }
}

/// The switch settings that are set but have no place in the NetBox model.
fn unsupported_fields(s: &Switch) -> Vec<&'static str> {
    [
        (!s.spec.port_speeds.is_empty(), "portSpeeds"),
        (!s.spec.port_group_speeds.is_empty(), "portGroupSpeeds"),
        (!s.spec.port_auto_negs.is_empty(), "portAutoNegs"),
        (!s.spec.port_fecs.is_empty(), "portFECs"),
        (!s.spec.vlan_namespaces.is_empty(), "vlanNamespaces"),
        (s.spec.roce.is_some(), "roce"),
        (s.spec.enable_all_ports.is_some(), "enableAllPorts"),
        (
            s.spec.ecmp.as_ref().is_some_and(|e| e.roce_qpn.is_some()),
            "ecmp.roceQPN",
        ),
        (s.spec.link_flap_err_disable.is_some(), "linkFlapErrDisable"),
    ]
    .into_iter()
    .filter_map(|(set, f)| set.then_some(f))
    .collect()
}

/// Every Server: a device with role `server`, of its profile's device type (the profile also
/// kept as the type's `hedgehog_profile`) or of type `server`.
pub(super) fn servers(b: &mut Build, d: &Diagram) {
    for s in &d.servers {
        let name = s.metadata.name.clone().unwrap_or_default();
        let dt = match &s.spec.profile {
            Some(p) => b.device_type(p, Some(p)),
            None => b.device_type("server", None),
        };
        let id = b.device(&name, "server", dt);
        b.dev_mut(id).description = s.spec.description.clone().unwrap_or_default();
    }
}

/// Every External that is not static: a device with role `external` whose custom fields hold
/// its IPv4 namespace, communities and (from its ExternalAttachments) its ASN.
pub(super) fn externals(b: &mut Build, d: &Diagram) {
    let ext_asn: BTreeMap<String, u32> = d
        .external_attachments
        .iter()
        .filter_map(|a| Some((a.spec.external.clone()?, a.spec.neighbor.asn?)))
        .collect();
    for e in &d.externals {
        let name = e.metadata.name.clone().unwrap_or_default();
        if e.spec.static_.is_some() {
            b.warnings.push(format!("External {name:?} is a static external, which the NetBox model does not cover; not imported"));
            continue;
        }
        let dt = b.device_type("external", None);
        let id = b.device(&name, "external", dt);
        let mut cf = CustomFields::new();
        cf.insert(
            "hedgehog_ipv4_namespace".into(),
            json!(
                e.spec
                    .ipv4_namespace
                    .clone()
                    .unwrap_or_else(|| "default".into())
            ),
        );
        if let Some(c) = &e.spec.inbound_community {
            cf.insert("hedgehog_inbound_community".into(), json!(c));
        }
        if let Some(c) = &e.spec.outbound_community {
            cf.insert("hedgehog_outbound_community".into(), json!(c));
        }
        if let Some(a) = ext_asn.get(&name) {
            cf.insert("hedgehog_asn".into(), json!(a));
        }
        b.dev_mut(id).custom_fields = cf;
    }
}
