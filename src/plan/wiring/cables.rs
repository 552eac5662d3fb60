//! The cable stage of the wiring pass: each cable's ends resolved to fabric interfaces with
//! usable port names (or a finding why not), then sorted by the classes of the devices it joins
//! into the connection it belongs to (fabric, mesh, MCLAG domain, VPC loopback, gateway, server
//! LAG, unbundled). An external cable is its own connection and is planned at once. Before
//! that, LAG chains are checked: a LAG in a LAG, or a cycle of LAGs, is fatal.
//!
//! Pure; the other connections are built from the sorted cables in `connections.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::connections::Conns;
use super::{DevClass, Devices, End};
use crate::hedgehog::wiring::{
    BasePortName, ConnExternal, ConnExternalLink, ConnectionSpec, SwitchRole,
};
use crate::netbox::model::{Cable, Termination, cf_str};
use crate::plan::finding::show;
use crate::plan::index::natural_key;
use crate::plan::values::{self, Owner};
use crate::plan::{Builder, SourceRef};

/// The cables of one future connection.
#[derive(Default)]
pub(super) struct Pending<'a> {
    pub(super) cables: Vec<u64>,
    pub(super) links: Vec<(End<'a>, End<'a>)>,
}

impl<'a> Pending<'a> {
    fn push(&mut self, cable: u64, x: End<'a>, y: End<'a>) {
        self.cables.push(cable);
        self.links.push((x, y));
    }
}

/// The usable cables, sorted into the connections they make.
#[derive(Default)]
pub(super) struct Sorted<'a> {
    /// (spine, leaf) → spine-to-leaf links.
    pub(super) fabric: BTreeMap<(u64, u64), Pending<'a>>,
    /// (leaf1, leaf2), in name order → leaf-to-leaf links of a spine-less fabric.
    pub(super) mesh: BTreeMap<(u64, u64), Pending<'a>>,
    /// (leaf1, leaf2), in name order → (peer links, session links) of an MCLAG pair.
    pub(super) mclag_domain: BTreeMap<(u64, u64), (Pending<'a>, Pending<'a>)>,
    /// Switch → port pairs on itself.
    pub(super) loopback: BTreeMap<u64, Pending<'a>>,
    /// (switch, gateway) → links.
    pub(super) gateway: BTreeMap<(u64, u64), Pending<'a>>,
    /// Server LAG interface → (server, switch) links of its members.
    pub(super) lags: BTreeMap<u64, Pending<'a>>,
    /// (cable, server end, switch end) of server NICs outside a LAG.
    pub(super) unbundled: Vec<(u64, End<'a>, End<'a>)>,
}

/// Cables → connections: every cable resolved and sorted; external connections are added to
/// `conns` right away.
pub(super) fn sort_cables<'a>(
    b: &mut Builder<'a>,
    devs: &Devices,
    conns: &mut Conns,
) -> Sorted<'a> {
    let idx = b.idx;
    let mut sorted = Sorted::default();
    for cable in idx.cables.values() {
        let Some((a, b_end)) = resolve_cable(b, cable, &devs.class) else {
            continue;
        };
        let (ca, cb) = (devs.class[&a.device], devs.class[&b_end.device]);
        use DevClass::*;
        match (ca, cb) {
            (Switch(_), Switch(_)) if a.device == b_end.device => {
                let (x, y) = if natural_key(a.port) <= natural_key(b_end.port) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                sorted
                    .loopback
                    .entry(x.device)
                    .or_default()
                    .push(cable.id, x, y);
            }
            (Switch(ra), Switch(rb)) if (ra == SwitchRole::Spine) != (rb == SwitchRole::Spine) => {
                let (s, l) = if ra == SwitchRole::Spine {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                sorted
                    .fabric
                    .entry((s.device, l.device))
                    .or_default()
                    .push(cable.id, s, l);
            }
            (Switch(ra), Switch(rb)) if ra.is_leaf() && rb.is_leaf() => {
                sorted.leaf_pair(b, devs, cable, a, b_end);
            }
            (Switch(_), Server) | (Server, Switch(_)) => {
                let (srv, sw) = if ca == Server { (a, b_end) } else { (b_end, a) };
                match &idx.interfaces[&srv.iface].lag {
                    Some(lag) => sorted
                        .lags
                        .entry(lag.id)
                        .or_default()
                        .push(cable.id, srv, sw),
                    None => sorted.unbundled.push((cable.id, srv, sw)),
                }
            }
            (Switch(_), Gateway) | (Gateway, Switch(_)) => {
                let (sw, gw) = if matches!(ca, Switch(_)) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                sorted
                    .gateway
                    .entry((sw.device, gw.device))
                    .or_default()
                    .push(cable.id, sw, gw);
            }
            (Switch(_), External) | (External, Switch(_)) => {
                let (sw, ext) = if matches!(ca, Switch(_)) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                plan_external(b, devs, conns, cable, sw, ext);
            }
            (x, y) => {
                b.f.fatal(
                    "unsupported-cable",
                    "dcim.cable",
                    cable.id,
                    &cable_label(cable),
                    "terminations",
                    format!(
                        "a cable between {} ({}) and {} ({}) has no Hedgehog connection type",
                        devs.name_of(a.device),
                        class_name(x),
                        devs.name_of(b_end.device),
                        class_name(y)
                    ),
                );
            }
        }
    }
    sorted
}

impl<'a> Sorted<'a> {
    /// A leaf-to-leaf cable: an MCLAG peer or session link inside one MCLAG group, a mesh link
    /// in a fabric without spines, else a fatal finding.
    fn leaf_pair(
        &mut self,
        b: &mut Builder<'a>,
        devs: &Devices,
        cable: &Cable,
        a: End<'a>,
        b_end: End<'a>,
    ) {
        let (x, y) = if devs.name_of(a.device) <= devs.name_of(b_end.device) {
            (a, b_end)
        } else {
            (b_end, a)
        };
        if devs.same_mclag(x.device, y.device) {
            // The domain exists once the pair has a cable, even one with a bad link type.
            let e = self.mclag_domain.entry((x.device, y.device)).or_default();
            let session = match cf_str(&cable.custom_fields, "hedgehog_link") {
                None | Some("mclag-peer") => false,
                Some("mclag-session") => true,
                Some(other) => {
                    b.f.fatal(
                        "invalid-value",
                        "dcim.cable",
                        cable.id,
                        &cable_label(cable),
                        "custom_fields.hedgehog_link",
                        format!("{} is not mclag-peer or mclag-session", show(other)),
                    );
                    return;
                }
            };
            let p = if session { &mut e.1 } else { &mut e.0 };
            p.push(cable.id, x, y);
        } else if !devs.has_spines {
            self.mesh
                .entry((x.device, y.device))
                .or_default()
                .push(cable.id, x, y);
        } else {
            b.f.fatal(
                "unsupported-cable",
                "dcim.cable",
                cable.id,
                &cable_label(cable),
                "terminations",
                format!(
                    "cable joins leaves {} and {} in a fabric with spines; leaf-to-leaf links are only mesh (no spines) or MCLAG peer/session links inside one mclag redundancy group",
                    devs.name_of(x.device),
                    devs.name_of(y.device)
                ),
            );
        }
    }
}

/// The external connection of one switch-to-external cable.
fn plan_external(
    b: &mut Builder<'_>,
    devs: &Devices,
    conns: &mut Conns,
    cable: &Cable,
    sw: End<'_>,
    ext: End<'_>,
) {
    let name = format!(
        "{}--external--{}",
        devs.name_of(sw.device),
        devs.name_of(ext.device)
    );
    let spec = ConnectionSpec {
        external: Some(ConnExternal {
            link: ConnExternalLink {
                switch: BasePortName::new(devs.name_of(sw.device), sw.port),
            },
        }),
        ..Default::default()
    };
    if conns.add(
        b,
        &name,
        &spec,
        SourceRef::one("dcim.cable", cable.id),
        &cable_label(cable),
    ) {
        conns
            .external
            .push((name, sw.iface, ext.iface, ext.device, cable.id));
    }
}

fn class_name(c: DevClass) -> &'static str {
    match c {
        DevClass::Switch(_) => "switch",
        DevClass::Server => "server",
        DevClass::External => "external",
        DevClass::Gateway => "gateway",
    }
}

/// A cable's label, or `#id` when it has none.
fn cable_label(c: &Cable) -> String {
    if c.label.trim().is_empty() {
        format!("#{}", c.id)
    } else {
        c.label.clone()
    }
}

/// Resolves both ends of a cable to fabric interfaces, or records why it cannot be used.
fn resolve_cable<'a>(
    b: &mut Builder<'a>,
    cable: &Cable,
    class: &BTreeMap<u64, DevClass>,
) -> Option<(End<'a>, End<'a>)> {
    let a = resolve_end(b, cable, "a_terminations", &cable.a_terminations, class)?;
    let b_end = resolve_end(b, cable, "b_terminations", &cable.b_terminations, class)?;
    if a.iface == b_end.iface {
        b.f.fatal(
            "cable-termination",
            "dcim.cable",
            cable.id,
            &cable_label(cable),
            "b_terminations",
            "both ends are the same interface",
        );
        return None;
    }
    Some((a, b_end))
}

/// Resolves one end (`side`) of a cable to a fabric interface, or records why it cannot be
/// used.
fn resolve_end<'a>(
    b: &mut Builder<'a>,
    cable: &Cable,
    side: &str,
    terms: &[Termination],
    class: &BTreeMap<u64, DevClass>,
) -> Option<End<'a>> {
    let idx = b.idx;
    // Every refusal below is a fatal finding on this end of the cable.
    let reject = |b: &mut Builder<'a>, code: &'static str, reason: String| {
        b.f.fatal(
            code,
            "dcim.cable",
            cable.id,
            &cable_label(cable),
            side,
            reason,
        );
        None
    };
    if terms.is_empty() {
        // What NetBox leaves when a device or interface at one end is deleted: the cable is
        // no longer a link.
        b.f.warn(
            "cable-dangling",
            "dcim.cable",
            cable.id,
            &cable_label(cable),
            side,
            "has no termination at this end (its device or interface was removed); the cable is ignored"
                .to_string(),
        );
        return None;
    }
    if terms.len() != 1 {
        return reject(
            b,
            "cable-termination",
            format!(
                "has {} terminations; fabsync needs exactly one interface per cable end",
                terms.len()
            ),
        );
    }
    let t = &terms[0];
    if t.object_type != "dcim.interface" {
        return reject(
            b,
            "cable-termination",
            format!(
                "ends on a {} (#{}), not on a device interface",
                t.object_type, t.object_id
            ),
        );
    }
    let Some(&iface) = idx.interfaces.get(&t.object_id) else {
        let dev = t
            .object
            .as_ref()
            .and_then(|o| o.device.as_ref())
            .map(|d| d.name.clone().unwrap_or_else(|| format!("#{}", d.id)))
            .unwrap_or_else(|| "an unknown device".into());
        return reject(
            b,
            "cable-outside-fabric",
            format!(
                "ends on interface #{} of {dev}, which is not in fabric site {:?}",
                t.object_id, idx.site.slug
            ),
        );
    };
    if !class.contains_key(&iface.device.id) {
        let dev = idx.device_label(iface.device.id);
        let why = if idx.devices.contains_key(&iface.device.id) {
            "which is not a fabric device (no Hedgehog role or no usable name)"
        } else {
            "which is not in the fabric"
        };
        return reject(
            b,
            "cable-outside-fabric",
            format!("ends on {}/{} of device {dev}, {why}", dev, iface.name),
        );
    }
    if iface.name.trim().is_empty() {
        b.f.fatal(
            "invalid-port",
            "dcim.interface",
            iface.id,
            &iface.name,
            "name",
            "interface has no name; interface names are Hedgehog port names",
        );
        return None;
    }
    let o = Owner {
        ty: "dcim.interface",
        id: iface.id,
        name: &iface.name,
    };
    if !values::port_name(&mut b.f, o, &iface.name) {
        return None;
    }
    Some(End {
        iface: iface.id,
        device: iface.device.id,
        port: &iface.name,
    })
}

/// LAG chains of the fabric devices' interfaces: an interface whose `lag` leads back to itself
/// (through LAGs that are members of LAGs) is fatal `lag-cycle`, each interface of the cycle
/// once; a LAG interface that is itself a member of a LAG, without a cycle, is fatal
/// `nested-lag` (Hedgehog bundles server NICs into one level of LAG).
pub(super) fn check_lags(b: &mut Builder<'_>, class: &BTreeMap<u64, DevClass>) {
    let idx = b.idx;
    let parent = |id: u64| {
        idx.interfaces
            .get(&id)
            .and_then(|i| i.lag.as_ref())
            .map(|l| l.id)
    };
    let mut done: BTreeSet<u64> = BTreeSet::new();
    let mut in_cycle: BTreeSet<u64> = BTreeSet::new();
    for i in idx.interfaces.values() {
        if i.lag.is_none() || !class.contains_key(&i.device.id) || done.contains(&i.id) {
            continue;
        }
        let mut path: Vec<u64> = vec![i.id];
        let mut cur = i.id;
        while let Some(next) = parent(cur) {
            if let Some(pos) = path.iter().position(|p| *p == next) {
                in_cycle.extend(&path[pos..]);
                break;
            }
            if done.contains(&next) {
                break;
            }
            path.push(next);
            cur = next;
        }
        done.extend(path);
    }
    let lag_name = |id: u64| {
        parent(id)
            .and_then(|p| idx.interfaces.get(&p))
            .map_or("", |l| l.name.as_str())
    };
    for &id in &in_cycle {
        let iface = idx.interfaces[&id];
        b.f.fatal(
            "lag-cycle",
            "dcim.interface",
            id,
            &iface.name,
            "lag",
            format!(
                "its LAG {} leads back to it through the LAGs' own lag fields; a LAG cannot contain itself",
                show(lag_name(id))
            ),
        );
    }
    for i in idx.interfaces.values() {
        if i.is_lag()
            && i.lag.is_some()
            && class.contains_key(&i.device.id)
            && !in_cycle.contains(&i.id)
        {
            b.f.fatal(
                "nested-lag",
                "dcim.interface",
                i.id,
                &i.name,
                "lag",
                format!(
                    "LAG interface is a member of LAG #{}; Hedgehog has no LAG of LAGs",
                    i.lag.as_ref().map_or(0, |l| l.id)
                ),
            );
        }
    }
}
