//! The device stages of the wiring pass: which devices are fabric members (class by role, name,
//! name collisions), their redundancy groups (→ SwitchGroup) and the Switch and Server objects.
//!
//! Pure; cables are `cables.rs` and `connections.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::{DevClass, Devices};
use crate::hedgehog::Kind;
use crate::hedgehog::names::normalised;
use crate::hedgehog::wiring::*;
use crate::netbox::model::{Device, cf_int, cf_str};
use crate::plan::index::Index;
use crate::plan::{Builder, SourceRef};

/// A redundancy group named by its switches.
pub(super) struct Group {
    name: String,
    pub(super) type_: RedundancyType,
    /// (source object type, id) of the first member that named it.
    source: SourceRef,
}

/// Maps a role slug (or `hedgehog_role` value) to a class.
fn class_of_role(slug: &str) -> Option<DevClass> {
    Some(match slug {
        "spine" => DevClass::Switch(SwitchRole::Spine),
        "server-leaf" | "leaf" => DevClass::Switch(SwitchRole::ServerLeaf),
        "border-leaf" => DevClass::Switch(SwitchRole::BorderLeaf),
        "mixed-leaf" => DevClass::Switch(SwitchRole::MixedLeaf),
        "virtual-edge" => DevClass::Switch(SwitchRole::VirtualEdge),
        "server" => DevClass::Server,
        "external" => DevClass::External,
        "gateway" => DevClass::Gateway,
        _ => return None,
    })
}

/// Devices: classes and names. A device of the site with a Hedgehog role and a name is a
/// fabric member; names that normalise alike are fatal.
pub(super) fn classify(b: &mut Builder<'_>) -> Devices {
    let idx = b.idx;
    let mut devs = Devices::default();
    let mut by_normalised: BTreeMap<String, BTreeSet<(&str, u64)>> = BTreeMap::new();
    for d in idx.devices.values() {
        if d.site.as_ref().is_some_and(|s| s.id != idx.site.id) {
            continue; // another site: never a fabric member
        }
        let (role, field) = match cf_str(&d.custom_fields, "hedgehog_role") {
            Some(r) => (Some(r), "custom_fields.hedgehog_role"),
            None => (idx.role_slug(d), "role"),
        };
        let Some(c) = role.and_then(class_of_role) else {
            b.f.warn(
                "unknown-role",
                "dcim.device",
                d.id,
                &idx.device_label(d.id),
                field,
                format!(
                    "role {:?} is not a Hedgehog role (spine, server-leaf, leaf, border-leaf, mixed-leaf, virtual-edge, server, external, gateway); the device is not part of the fabric",
                    role.unwrap_or_default()
                ),
            );
            continue;
        };
        let Some(name) = d.name.as_deref().filter(|n| !n.is_empty()) else {
            b.f.fatal(
                "invalid-name",
                "dcim.device",
                d.id,
                &idx.device_label(d.id),
                "name",
                "the device has no name; Hedgehog objects are named after devices",
            );
            continue;
        };
        by_normalised
            .entry(normalised(name))
            .or_default()
            .insert((name, d.id));
        devs.class.insert(d.id, c);
        devs.names.insert(d.id, name.to_string());
    }
    devs.has_spines = devs
        .class
        .values()
        .any(|c| *c == DevClass::Switch(SwitchRole::Spine));
    for (norm, set) in &by_normalised {
        if set.len() > 1 {
            let all: Vec<String> = set.iter().map(|(n, id)| format!("{n:?} (#{id})")).collect();
            for (n, id) in set {
                b.f.fatal(
                    "name-collision",
                    "dcim.device",
                    *id,
                    n,
                    "name",
                    format!("device names {} all normalise to {norm:?}; rename them so they differ as Kubernetes names", all.join(", ")),
                );
            }
        }
    }
    devs
}

/// Redundancy groups: from each switch's `hedgehog_redundancy_group` (else its virtual
/// chassis) and `hedgehog_redundancy_type`, into `devs.groups` / `devs.group_of`; one
/// SwitchGroup each.
pub(super) fn redundancy_groups(b: &mut Builder<'_>, devs: &mut Devices) {
    let idx = b.idx;
    for (&id, c) in &devs.class {
        let DevClass::Switch(_) = c else { continue };
        let d = idx.devices[&id];
        let Some((gname, source)) = group_name(idx, id, d) else {
            continue;
        };
        let Some(type_) = redundancy_type(b, id, d) else {
            continue;
        };
        let g = devs.groups.entry(gname.clone()).or_insert_with(|| Group {
            name: gname.clone(),
            type_,
            source,
        });
        if g.type_ != type_ {
            b.f.fatal(
                "redundancy-type-conflict",
                "dcim.device",
                id,
                &idx.device_label(id),
                "custom_fields.hedgehog_redundancy_type",
                format!(
                    "redundancy group {gname:?} is {} on other members but {} here",
                    g.type_.as_str(),
                    type_.as_str()
                ),
            );
            continue;
        }
        devs.group_of.insert(id, gname);
    }
    for g in devs.groups.values() {
        let src_name = match g.source.object_type.as_str() {
            "dcim.device" => idx.device_label(g.source.ids[0]),
            _ => g.name.clone(),
        };
        b.add(
            Kind::SwitchGroup,
            &g.name,
            &SwitchGroupSpec {},
            g.source.clone(),
            "custom_fields.hedgehog_redundancy_group",
            &src_name,
        );
    }
}

/// The redundancy group switch `d` names, and the object that names it: its
/// `hedgehog_redundancy_group`, else its virtual chassis.
fn group_name(idx: &Index<'_>, id: u64, d: &Device) -> Option<(String, SourceRef)> {
    match cf_str(&d.custom_fields, "hedgehog_redundancy_group") {
        Some(g) => Some((g.to_string(), SourceRef::one("dcim.device", id))),
        None => {
            let vc = d.virtual_chassis.as_ref()?;
            let name = idx
                .virtual_chassis
                .get(&vc.id)
                .map(|v| v.name.clone())
                .or_else(|| vc.name.clone())?;
            Some((name, SourceRef::one("dcim.virtualchassis", vc.id)))
        }
    }
}

/// The redundancy type switch `d` declares (ESLAG when unset); `None` with a fatal finding when
/// it is not one.
fn redundancy_type(b: &mut Builder<'_>, id: u64, d: &Device) -> Option<RedundancyType> {
    let Some(t) = cf_str(&d.custom_fields, "hedgehog_redundancy_type") else {
        return Some(RedundancyType::Eslag);
    };
    let parsed = RedundancyType::parse(t);
    if parsed.is_none() {
        b.f.fatal(
            "invalid-value",
            "dcim.device",
            id,
            &b.idx.device_label(id),
            "custom_fields.hedgehog_redundancy_type",
            format!("{t:?} is not a redundancy type (eslag or mclag)"),
        );
    }
    parsed
}

/// Switches and servers: one object per fabric device of those classes.
pub(super) fn plan_devices(b: &mut Builder<'_>, devs: &Devices) {
    for (&id, c) in &devs.class {
        match c {
            DevClass::Switch(role) => plan_switch(b, devs, id, *role),
            DevClass::Server => plan_server(b, devs, id),
            DevClass::External | DevClass::Gateway => {}
        }
    }
}

/// The device type's slug and its `hedgehog_profile`, and the trimmed description of `d`.
fn profile_and_description<'a>(
    idx: &Index<'a>,
    d: &Device,
) -> (Option<String>, Option<&'a str>, Option<String>) {
    let (dt_slug, dt) = idx.device_type(d);
    let profile_cf = dt.and_then(|t| cf_str(&t.custom_fields, "hedgehog_profile"));
    let description = Some(d.description.trim().to_string()).filter(|s| !s.is_empty());
    (dt_slug, profile_cf, description)
}

fn plan_switch(b: &mut Builder<'_>, devs: &Devices, id: u64, role: SwitchRole) {
    let idx = b.idx;
    let d = idx.devices[&id];
    let name = &devs.names[&id];
    let (dt_slug, profile_cf, description) = profile_and_description(idx, d);
    let profile = profile_cf.map(str::to_string).or(dt_slug);
    let mut spec = SwitchSpec {
        role,
        description,
        profile,
        groups: Vec::new(),
        redundancy: None,
        vlan_namespaces: Vec::new(),
        asn: None,
        ip: d.primary_ip4.as_ref().map(|ip| ip.address.clone()),
        vtep_ip: cf_str(&d.custom_fields, "hedgehog_vtep_ip").map(str::to_string),
        protocol_ip: cf_str(&d.custom_fields, "hedgehog_protocol_ip").map(str::to_string),
        port_group_speeds: BTreeMap::new(),
        port_speeds: BTreeMap::new(),
        port_breakouts: BTreeMap::new(),
        port_auto_negs: BTreeMap::new(),
        port_fecs: BTreeMap::new(),
        boot: None,
        enable_all_ports: None,
        roce: None,
        ecmp: None,
        link_flap_err_disable: None,
    };
    spec.asn = switch_asn(b, id, name, d);
    if let Some(g) = devs.group_of.get(&id) {
        spec.groups = vec![g.clone()];
        spec.redundancy = Some(SwitchRedundancy {
            group: Some(g.clone()),
            type_: Some(devs.groups[g].type_),
        });
    }
    let mut boot = SwitchBoot {
        mac: None,
        serial: Some(d.serial.trim().to_string()).filter(|s| !s.is_empty()),
    };
    for iface in idx
        .interfaces_by_device
        .get(&id)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if iface.name == "M1" && boot.mac.is_none() {
            boot.mac = idx.mac_of_interface(iface);
        }
        if let Some(bo) = cf_str(&iface.custom_fields, "hedgehog_breakout") {
            spec.port_breakouts
                .insert(iface.name.clone(), bo.to_string());
        }
    }
    if !boot.is_empty() {
        spec.boot = Some(boot);
    }
    b.add(
        Kind::Switch,
        name,
        &spec,
        SourceRef::one("dcim.device", id),
        "name",
        name,
    );
}

/// The switch's `hedgehog_asn`; a fatal finding when it is set but not an ASN.
fn switch_asn(b: &mut Builder<'_>, id: u64, name: &str, d: &Device) -> Option<u32> {
    if d.custom_fields
        .get("hedgehog_asn")
        .is_none_or(|v| v.is_null())
    {
        return None;
    }
    let asn = cf_int(&d.custom_fields, "hedgehog_asn").and_then(|a| u32::try_from(a).ok());
    if asn.is_none() {
        b.f.fatal(
            "invalid-value",
            "dcim.device",
            id,
            name,
            "custom_fields.hedgehog_asn",
            format!(
                "{} is not an ASN (0–4294967295)",
                d.custom_fields["hedgehog_asn"]
            ),
        );
    }
    asn
}

fn plan_server(b: &mut Builder<'_>, devs: &Devices, id: u64) {
    let d = b.idx.devices[&id];
    let name = &devs.names[&id];
    let (_, profile_cf, description) = profile_and_description(b.idx, d);
    let spec = ServerSpec {
        description,
        profile: profile_cf.map(str::to_string),
    };
    b.add(
        Kind::Server,
        name,
        &spec,
        SourceRef::one("dcim.device", id),
        "name",
        name,
    );
}
