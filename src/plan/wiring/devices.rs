//! The device stages of the wiring pass: which devices are fabric members (class by role, name,
//! name collisions), their redundancy groups (→ SwitchGroup) and the Switch and Server objects,
//! with the checks of the device values that go into them (description and serial lengths,
//! profile names, IPv4 custom fields, breakout ports and modes).
//!
//! Pure; cables are `cables.rs` and `connections.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::{DevClass, Devices};
use crate::hedgehog::Kind;
use crate::hedgehog::names::{check_name, normalised};
use crate::hedgehog::wiring::*;
use crate::netbox::model::{Device, Interface, cf_int, cf_str};
use crate::plan::finding::{cut, show};
use crate::plan::index::Index;
use crate::plan::values::{self, DESCRIPTION_MAX, Owner, SERIAL_MAX};
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
                    "role {} is not a Hedgehog role (spine, server-leaf, leaf, border-leaf, mixed-leaf, virtual-edge, server, external, gateway); the device is not part of the fabric",
                    show(role.unwrap_or_default())
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
            let all: Vec<String> = set
                .iter()
                .map(|(n, id)| format!("{} (#{id})", show(n)))
                .collect();
            for (n, id) in set {
                b.f.fatal(
                    "name-collision",
                    "dcim.device",
                    *id,
                    n,
                    "name",
                    format!("device names {} all normalise to {}; rename them so they differ as Kubernetes names", all.join(", "), show(norm)),
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
            format!("{} is not a redundancy type (eslag or mclag)", show(t)),
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

/// The profile of device `d`: the device type's `hedgehog_profile`, else (for switches, with
/// `slug_fallback`) the device type slug; `None` when there is none or it is not a profile name
/// (a fatal finding on the device type).
fn profile(b: &mut Builder<'_>, d: &Device, slug_fallback: bool) -> Option<String> {
    let (dt_slug, dt) = b.idx.device_type(d);
    let (value, field) = match dt.and_then(|t| cf_str(&t.custom_fields, "hedgehog_profile")) {
        Some(p) => (p.to_string(), "custom_fields.hedgehog_profile"),
        None if slug_fallback => (dt_slug?, "slug"),
        None => return None,
    };
    let brief = &d.device_type;
    let label = match dt {
        Some(t) if !t.model.is_empty() => t.model.clone(),
        Some(t) => t.slug.clone(),
        None => brief
            .name
            .clone()
            .or_else(|| brief.slug.clone())
            .unwrap_or_else(|| format!("#{}", brief.id)),
    };
    let owner = Owner {
        ty: "dcim.devicetype",
        id: d.device_type.id,
        name: &label,
    };
    values::profile_name(&mut b.f, owner, field, &value).then_some(value)
}

/// The trimmed description of device `d` (`None` when empty, or too long: a fatal finding).
fn description(b: &mut Builder<'_>, o: Owner<'_>, d: &Device) -> Option<String> {
    let text = d.description.trim();
    (!text.is_empty() && values::within(&mut b.f, o, "description", text, DESCRIPTION_MAX))
        .then(|| text.to_string())
}

/// An IPv4 prefix of switch `d` for the spec (`/32` only when `host`): the value when it is
/// one, else `None` after a fatal finding on `field`.
fn switch_ip(
    b: &mut Builder<'_>,
    o: Owner<'_>,
    field: &str,
    value: Option<&str>,
    host: bool,
) -> Option<String> {
    let v = value?;
    values::ipv4_prefix(&mut b.f, o, field, v, host).map(|_| v.to_string())
}

/// The breakout of switch port `iface` when it has one and both the port name and the mode
/// are usable (and, when the switch profile `profile` is known with its ports, the profile
/// supports the mode on that port); `None` otherwise, after a fatal finding for a bad one.
fn breakout(b: &mut Builder<'_>, iface: &Interface, profile: Option<&str>) -> Option<String> {
    let mode = cf_str(&iface.custom_fields, "hedgehog_breakout")?;
    let o = Owner {
        ty: "dcim.interface",
        id: iface.id,
        name: &iface.name,
    };
    const FIELD: &str = "custom_fields.hedgehog_breakout";
    if !values::port_name(&mut b.f, o, &iface.name)
        || !values::breakout_form(&mut b.f, o, FIELD, mode)
    {
        return None;
    }
    let known = profile.and_then(|p| b.profiles.get(p).map(|spec| (p, spec)));
    if let Some((name, spec)) = known.filter(|(_, spec)| spec.has_ports())
        && let Some(problem) = spec.breakout_problem(&iface.name, mode)
    {
        o.fatal(
            &mut b.f,
            "invalid-breakout",
            FIELD,
            format!(
                "breakout {} of port {}: {problem} (switch profile {})",
                show(mode),
                show(&iface.name),
                show(name)
            ),
        );
        return None;
    }
    Some(mode.to_string())
}

fn plan_switch(b: &mut Builder<'_>, devs: &Devices, id: u64, role: SwitchRole) {
    let idx = b.idx;
    let d = idx.devices[&id];
    let name = &devs.names[&id];
    let o = Owner {
        ty: "dcim.device",
        id,
        name,
    };
    let profile = profile(b, d, true);
    let description = description(b, o, d);
    let ip = d.primary_ip4.as_ref().map(|ip| ip.address.as_str());
    let vtep = cf_str(&d.custom_fields, "hedgehog_vtep_ip");
    let protocol = cf_str(&d.custom_fields, "hedgehog_protocol_ip");
    let mut spec = SwitchSpec {
        role,
        description,
        profile,
        groups: Vec::new(),
        redundancy: None,
        vlan_namespaces: Vec::new(),
        asn: None,
        ip: switch_ip(b, o, "primary_ip4", ip, false),
        vtep_ip: switch_ip(b, o, "custom_fields.hedgehog_vtep_ip", vtep, true),
        protocol_ip: switch_ip(b, o, "custom_fields.hedgehog_protocol_ip", protocol, true),
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
    // A group without a usable name has its finding from the SwitchGroup; the switch does not
    // name it.
    if let Some(g) = devs
        .group_of
        .get(&id)
        .filter(|g| check_name(Kind::SwitchGroup, g).is_ok())
    {
        spec.groups = vec![g.clone()];
        spec.redundancy = Some(SwitchRedundancy {
            group: Some(g.clone()),
            type_: Some(devs.groups[g].type_),
        });
    }
    let serial = d.serial.trim();
    let mut boot = SwitchBoot {
        mac: None,
        serial: (!serial.is_empty() && values::within(&mut b.f, o, "serial", serial, SERIAL_MAX))
            .then(|| serial.to_string()),
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
        if let Some(bo) = breakout(b, iface, spec.profile.as_deref()) {
            spec.port_breakouts.insert(iface.name.clone(), bo);
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
    if let Some(a) = asn
        && a > i32::MAX as u32
    {
        b.f.fatal(
            "invalid-value",
            "dcim.device",
            id,
            name,
            "custom_fields.hedgehog_asn",
            format!("{a} is above 2147483647: Hedgehog holds ASNs as 32-bit signed integers"),
        );
        return None;
    }
    if asn.is_none() {
        b.f.fatal(
            "invalid-value",
            "dcim.device",
            id,
            name,
            "custom_fields.hedgehog_asn",
            format!(
                "{} is not an ASN (0–4294967295)",
                cut(&d.custom_fields["hedgehog_asn"].to_string(), 60)
            ),
        );
    }
    asn
}

fn plan_server(b: &mut Builder<'_>, devs: &Devices, id: u64) {
    let d = b.idx.devices[&id];
    let name = &devs.names[&id];
    let o = Owner {
        ty: "dcim.device",
        id,
        name,
    };
    let spec = ServerSpec {
        description: description(b, o, d),
        profile: profile(b, d, false),
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
