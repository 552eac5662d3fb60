//! Wiring rules: NetBox devices → Switch / Server / SwitchGroup, cables → Connections grouped by
//! explicit intent (LAG interfaces, roles, redundancy groups), with the findings for bad input
//! (unknown roles, bad names, cables leaving the fabric, ports in two connections, ESLAG
//! limits, LAG members on different servers).
//!
//! Pure; IPAM-derived kinds (VLANNamespace, VPC, External …) are `ipam.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::index::natural_key;
use super::{Builder, SourceRef};
use crate::hedgehog::Kind;
use crate::hedgehog::names::normalised;
use crate::hedgehog::wiring::*;
use crate::netbox::model::{Cable, Interface, Termination, cf_int, cf_str};

/// What a fabric device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevClass {
    Switch(SwitchRole),
    Server,
    External,
    Gateway,
}

/// Results of the wiring pass that the IPAM pass needs.
#[derive(Debug, Default)]
pub(crate) struct Wiring {
    /// Device id → class, for fabric devices with usable names.
    pub class: BTreeMap<u64, DevClass>,
    /// Device id → object name (valid names only).
    pub names: BTreeMap<u64, String>,
    /// Server-side interface id (NIC or LAG) → connection name.
    pub conn_of_server_iface: BTreeMap<u64, String>,
    /// External connections: (connection name, switch interface id, external interface id,
    /// external device id, cable id).
    pub external_conns: Vec<(String, u64, u64, u64, u64)>,
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

struct Group {
    name: String,
    type_: RedundancyType,
    /// (source object type, id) of the first member that named it.
    source: SourceRef,
    members: BTreeSet<u64>,
}

/// One end of a cable resolved to a fabric device's interface.
#[derive(Clone, Copy)]
struct End<'a> {
    iface: u64,
    device: u64,
    port: &'a str,
}

#[derive(Default)]
struct Pending<'a> {
    cables: Vec<u64>,
    links: Vec<(End<'a>, End<'a>)>,
}

/// The connections planned so far.
#[derive(Default)]
struct Conns {
    /// In the order they were added: (connection name, first cable id, ports as
    /// `Endpoints()` lists them), for the one-port-one-connection rule, checked once all are
    /// planned.
    ports: Vec<(String, u64, Vec<String>)>,
    /// Server-side interface id (NIC or LAG) → connection name.
    of_server_iface: BTreeMap<u64, String>,
    /// See [`Wiring::external_conns`].
    external: Vec<(String, u64, u64, u64, u64)>,
}

impl Conns {
    /// Adds a Connection object (see [`Builder::add`]) and remembers its ports when it was
    /// added.
    fn add(
        &mut self,
        b: &mut Builder<'_>,
        name: &str,
        spec: &ConnectionSpec,
        source: SourceRef,
        source_name: &str,
    ) -> bool {
        let cable = source.ids.first().copied().unwrap_or(0);
        let added = b.add(
            Kind::Connection,
            name,
            spec,
            source,
            "terminations",
            source_name,
        );
        if added {
            self.ports
                .push((name.to_string(), cable, spec.endpoints().ports));
        }
        added
    }

    /// One port, one connection: a fatal finding for every port a connection shares with an
    /// earlier one (or lists twice).
    fn check_ports(&self, b: &mut Builder<'_>) {
        let mut port_owner: HashMap<&str, &str> =
            HashMap::with_capacity(self.ports.iter().map(|(_, _, p)| p.len()).sum());
        for (name, cable, ports) in &self.ports {
            for p in ports {
                if let Some(other) = port_owner.get(p.as_str()) {
                    let reason = if other != name {
                        format!(
                            "port {p} is used by connection {other:?} and by {name:?}; a port belongs to one connection"
                        )
                    } else {
                        format!("port {p} appears twice in connection {name:?}")
                    };
                    b.f.fatal(
                        "port-in-two-connections",
                        "dcim.cable",
                        *cable,
                        name,
                        "terminations",
                        reason,
                    );
                } else {
                    port_owner.insert(p, name);
                }
            }
        }
    }
}

pub(crate) fn plan_wiring<'a>(b: &mut Builder<'a>) -> Wiring {
    let idx = b.idx;
    let mut class: BTreeMap<u64, DevClass> = BTreeMap::new();
    let mut names: BTreeMap<u64, String> = BTreeMap::new();

    // --- devices: classes and names ---------------------------------------------------------
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
        class.insert(d.id, c);
        names.insert(d.id, name.to_string());
    }
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

    // --- redundancy groups ------------------------------------------------------------------
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut group_of: BTreeMap<u64, String> = BTreeMap::new();
    for (&id, c) in &class {
        let DevClass::Switch(_) = c else { continue };
        let d = idx.devices[&id];
        let (gname, source) = match cf_str(&d.custom_fields, "hedgehog_redundancy_group") {
            Some(g) => (g.to_string(), SourceRef::one("dcim.device", id)),
            None => match &d.virtual_chassis {
                Some(vc) => {
                    let name = idx
                        .virtual_chassis
                        .get(&vc.id)
                        .map(|v| v.name.clone())
                        .or_else(|| vc.name.clone());
                    match name {
                        Some(n) => (n, SourceRef::one("dcim.virtualchassis", vc.id)),
                        None => continue,
                    }
                }
                None => continue,
            },
        };
        let type_ = match cf_str(&d.custom_fields, "hedgehog_redundancy_type") {
            None => RedundancyType::Eslag,
            Some(t) => match RedundancyType::parse(t) {
                Some(t) => t,
                None => {
                    b.f.fatal(
                        "invalid-value",
                        "dcim.device",
                        id,
                        &idx.device_label(id),
                        "custom_fields.hedgehog_redundancy_type",
                        format!("{t:?} is not a redundancy type (eslag or mclag)"),
                    );
                    continue;
                }
            },
        };
        let g = groups.entry(gname.clone()).or_insert_with(|| Group {
            name: gname.clone(),
            type_,
            source,
            members: BTreeSet::new(),
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
        g.members.insert(id);
        group_of.insert(id, gname);
    }
    for g in groups.values() {
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

    // --- switches and servers ---------------------------------------------------------------
    for (&id, c) in &class {
        let d = idx.devices[&id];
        let name = &names[&id];
        let (dt_slug, dt) = idx.device_type(d);
        let profile_cf = dt.and_then(|t| cf_str(&t.custom_fields, "hedgehog_profile"));
        let description = Some(d.description.trim().to_string()).filter(|s| !s.is_empty());
        match c {
            DevClass::Switch(role) => {
                let profile = profile_cf.map(str::to_string).or(dt_slug);
                let mut spec = SwitchSpec {
                    role: *role,
                    description,
                    profile,
                    groups: Vec::new(),
                    redundancy: None,
                    vlan_namespaces: Vec::new(),
                    asn: None,
                    ip: d.primary_ip4.as_ref().map(|ip| ip.address.clone()),
                    vtep_ip: cf_str(&d.custom_fields, "hedgehog_vtep_ip").map(str::to_string),
                    protocol_ip: cf_str(&d.custom_fields, "hedgehog_protocol_ip")
                        .map(str::to_string),
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
                if d.custom_fields
                    .get("hedgehog_asn")
                    .is_some_and(|v| !v.is_null())
                {
                    match cf_int(&d.custom_fields, "hedgehog_asn")
                        .and_then(|a| u32::try_from(a).ok())
                    {
                        Some(asn) => spec.asn = Some(asn),
                        None => b.f.fatal(
                            "invalid-value",
                            "dcim.device",
                            id,
                            name,
                            "custom_fields.hedgehog_asn",
                            format!(
                                "{} is not an ASN (0–4294967295)",
                                d.custom_fields["hedgehog_asn"]
                            ),
                        ),
                    }
                }
                if let Some(g) = group_of.get(&id) {
                    spec.groups = vec![g.clone()];
                    spec.redundancy = Some(SwitchRedundancy {
                        group: Some(g.clone()),
                        type_: Some(groups[g].type_),
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
            DevClass::Server => {
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
            DevClass::External | DevClass::Gateway => {}
        }
    }

    // --- cables → connections ---------------------------------------------------------------
    let has_spines = class
        .values()
        .any(|c| *c == DevClass::Switch(SwitchRole::Spine));
    let mut fabric: BTreeMap<(u64, u64), Pending> = BTreeMap::new(); // (spine, leaf)
    let mut mesh: BTreeMap<(u64, u64), Pending> = BTreeMap::new(); // (leaf1, leaf2) by name
    let mut mclag_domain: BTreeMap<(u64, u64), (Pending, Pending)> = BTreeMap::new(); // (peer, session)
    let mut loopback: BTreeMap<u64, Pending> = BTreeMap::new();
    let mut gateway: BTreeMap<(u64, u64), Pending> = BTreeMap::new(); // (switch, gateway)
    let mut lags: BTreeMap<u64, Pending> = BTreeMap::new(); // server LAG iface → (server, switch) links
    let mut unbundled: Vec<(u64, End, End)> = Vec::new(); // (cable, server, switch)
    let mut conns = Conns::default();

    let name_of = |id: u64| names.get(&id).map_or("", String::as_str);
    for cable in idx.cables.values() {
        let Some((a, b_end)) = resolve_cable(b, cable, &class) else {
            continue;
        };
        let (ca, cb) = (class[&a.device], class[&b_end.device]);
        use DevClass::*;
        match (ca, cb) {
            (Switch(_), Switch(_)) if a.device == b_end.device => {
                let (x, y) = if natural_key(a.port) <= natural_key(b_end.port) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                let p = loopback.entry(x.device).or_default();
                p.cables.push(cable.id);
                p.links.push((x, y));
            }
            (Switch(ra), Switch(rb)) if (ra == SwitchRole::Spine) != (rb == SwitchRole::Spine) => {
                let (s, l) = if ra == SwitchRole::Spine {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                let p = fabric.entry((s.device, l.device)).or_default();
                p.cables.push(cable.id);
                p.links.push((s, l));
            }
            (Switch(ra), Switch(rb)) if ra.is_leaf() && rb.is_leaf() => {
                let (x, y) = if name_of(a.device) <= name_of(b_end.device) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                let same_mclag = group_of.get(&x.device).is_some_and(|g| {
                    group_of.get(&y.device) == Some(g) && groups[g].type_ == RedundancyType::Mclag
                });
                if same_mclag {
                    let e = mclag_domain.entry((x.device, y.device)).or_default();
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
                                format!("{other:?} is not mclag-peer or mclag-session"),
                            );
                            continue;
                        }
                    };
                    let p = if session { &mut e.1 } else { &mut e.0 };
                    p.cables.push(cable.id);
                    p.links.push((x, y));
                } else if !has_spines {
                    let p = mesh.entry((x.device, y.device)).or_default();
                    p.cables.push(cable.id);
                    p.links.push((x, y));
                } else {
                    b.f.fatal(
                        "unsupported-cable",
                        "dcim.cable",
                        cable.id,
                        &cable_label(cable),
                        "terminations",
                        format!(
                            "cable joins leaves {} and {} in a fabric with spines; leaf-to-leaf links are only mesh (no spines) or MCLAG peer/session links inside one mclag redundancy group",
                            name_of(x.device),
                            name_of(y.device)
                        ),
                    );
                }
            }
            (Switch(_), Server) | (Server, Switch(_)) => {
                let (srv, sw) = if ca == Server { (a, b_end) } else { (b_end, a) };
                let iface = idx.interfaces[&srv.iface];
                match &iface.lag {
                    Some(lag) => {
                        let p = lags.entry(lag.id).or_default();
                        p.cables.push(cable.id);
                        p.links.push((srv, sw));
                    }
                    None => unbundled.push((cable.id, srv, sw)),
                }
            }
            (Switch(_), Gateway) | (Gateway, Switch(_)) => {
                let (sw, gw) = if matches!(ca, Switch(_)) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                let p = gateway.entry((sw.device, gw.device)).or_default();
                p.cables.push(cable.id);
                p.links.push((sw, gw));
            }
            (Switch(_), External) | (External, Switch(_)) => {
                let (sw, ext) = if matches!(ca, Switch(_)) {
                    (a, b_end)
                } else {
                    (b_end, a)
                };
                let name = format!("{}--external--{}", name_of(sw.device), name_of(ext.device));
                let spec = ConnectionSpec {
                    external: Some(ConnExternal {
                        link: ConnExternalLink {
                            switch: BasePortName::new(name_of(sw.device), sw.port),
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
            (x, y) => {
                b.f.fatal(
                    "unsupported-cable",
                    "dcim.cable",
                    cable.id,
                    &cable_label(cable),
                    "terminations",
                    format!(
                        "a cable between {} ({}) and {} ({}) has no Hedgehog connection type",
                        name_of(a.device),
                        class_name(x),
                        name_of(b_end.device),
                        class_name(y)
                    ),
                );
            }
        }
    }

    let port = |e: &End| BasePortName::new(name_of(e.device), e.port);
    let ip_port = |e: &End| IpPort {
        port: format!("{}/{}", name_of(e.device), e.port),
        ip: None,
    };

    for ((s, l), p) in fabric {
        let mut links: Vec<FabricLink> = p
            .links
            .iter()
            .map(|(sp, lf)| FabricLink {
                spine: ip_port(sp),
                leaf: ip_port(lf),
            })
            .collect();
        links.sort_by_key(|x| natural_key(&x.spine.port));
        let spec = ConnectionSpec {
            fabric: Some(ConnFabric { links }),
            ..Default::default()
        };
        let name = format!("{}--fabric--{}", name_of(s), name_of(l));
        conns.add(
            b,
            &name,
            &spec,
            SourceRef::many("dcim.cable", p.cables),
            &name,
        );
    }
    for ((x, y), p) in mesh {
        let mut links: Vec<MeshLink> = p
            .links
            .iter()
            .map(|(a, c)| MeshLink {
                leaf1: ip_port(a),
                leaf2: ip_port(c),
            })
            .collect();
        links.sort_by_key(|m| natural_key(&m.leaf1.port));
        let spec = ConnectionSpec {
            mesh: Some(ConnMesh { links }),
            ..Default::default()
        };
        let name = format!("{}--mesh--{}", name_of(x), name_of(y));
        conns.add(
            b,
            &name,
            &spec,
            SourceRef::many("dcim.cable", p.cables),
            &name,
        );
    }
    for ((x, y), (peer, session)) in mclag_domain {
        let name = format!("{}--mclag-domain--{}", name_of(x), name_of(y));
        let to_links = |p: &Pending| {
            let mut l: Vec<SwitchToSwitchLink> = p
                .links
                .iter()
                .map(|(a, c)| SwitchToSwitchLink {
                    switch1: port(a),
                    switch2: port(c),
                })
                .collect();
            l.sort_by_key(|m| natural_key(&m.switch1.port));
            l
        };
        let mut cables = peer.cables.clone();
        cables.extend(&session.cables);
        if peer.links.is_empty() || session.links.is_empty() {
            let first = cables.iter().min().copied().unwrap_or(0);
            b.f.fatal(
                "incomplete-mclag-domain",
                "dcim.cable",
                first,
                &name,
                "custom_fields.hedgehog_link",
                format!(
                    "MCLAG pair {} / {} needs at least one mclag-peer and one mclag-session cable",
                    name_of(x),
                    name_of(y)
                ),
            );
            continue;
        }
        let spec = ConnectionSpec {
            mclag_domain: Some(ConnMclagDomain {
                peer_links: to_links(&peer),
                session_links: to_links(&session),
            }),
            ..Default::default()
        };
        conns.add(
            b,
            &name,
            &spec,
            SourceRef::many("dcim.cable", cables),
            &name,
        );
    }
    for (sw, p) in loopback {
        let mut links: Vec<SwitchToSwitchLink> = p
            .links
            .iter()
            .map(|(a, c)| SwitchToSwitchLink {
                switch1: port(a),
                switch2: port(c),
            })
            .collect();
        links.sort_by_key(|m| natural_key(&m.switch1.port));
        let spec = ConnectionSpec {
            vpc_loopback: Some(ConnVpcLoopback { links }),
            ..Default::default()
        };
        let name = format!("{}--vpc-loopback", name_of(sw));
        conns.add(
            b,
            &name,
            &spec,
            SourceRef::many("dcim.cable", p.cables),
            &name,
        );
    }
    for ((sw, gw), p) in gateway {
        let mut links: Vec<GatewayLink> = p
            .links
            .iter()
            .map(|(s, g)| GatewayLink {
                switch: ip_port(s),
                gateway: ip_port(g),
            })
            .collect();
        links.sort_by_key(|m| natural_key(&m.switch.port));
        let spec = ConnectionSpec {
            gateway: Some(ConnGateway { links }),
            ..Default::default()
        };
        let name = format!("{}--gateway--{}", name_of(sw), name_of(gw));
        conns.add(
            b,
            &name,
            &spec,
            SourceRef::many("dcim.cable", p.cables),
            &name,
        );
    }
    for (cable_id, srv, sw) in unbundled {
        let name = format!("{}--unbundled--{}", name_of(srv.device), name_of(sw.device));
        let spec = ConnectionSpec {
            unbundled: Some(ConnUnbundled {
                link: ServerToSwitchLink {
                    server: port(&srv),
                    switch: port(&sw),
                },
                mtu: None,
            }),
            ..Default::default()
        };
        if conns.add(
            b,
            &name,
            &spec,
            SourceRef::one("dcim.cable", cable_id),
            &name,
        ) {
            conns.of_server_iface.insert(srv.iface, name);
        }
    }
    for (lag_id, p) in lags {
        plan_lag(b, &mut conns, &names, &groups, &group_of, lag_id, p);
    }

    // --- one port, one connection -----------------------------------------------------------
    conns.check_ports(b);
    Wiring {
        class,
        names,
        conn_of_server_iface: conns.of_server_iface,
        external_conns: conns.external,
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
    Some(End {
        iface: iface.id,
        device: iface.device.id,
        port: &iface.name,
    })
}

fn plan_lag(
    b: &mut Builder<'_>,
    conns: &mut Conns,
    names: &BTreeMap<u64, String>,
    groups: &BTreeMap<String, Group>,
    group_of: &BTreeMap<u64, String>,
    lag_id: u64,
    p: Pending,
) {
    let idx = b.idx;
    let name_of = |id: u64| names.get(&id).map_or("", String::as_str);
    let port = |e: &End| BasePortName::new(name_of(e.device), e.port);
    let lag: Option<&Interface> = idx.interfaces.get(&lag_id).copied();
    let lag_label = || lag.map_or_else(|| format!("#{lag_id}"), |l| l.name.clone());
    // All members must sit on the LAG's own server.
    let servers: BTreeSet<u64> = p.links.iter().map(|(s, _)| s.device).collect();
    let lag_dev = lag.map(|l| l.device.id);
    if servers.len() > 1 || lag_dev.is_some_and(|d| !servers.contains(&d)) {
        let mut owners: Vec<String> = servers.iter().map(|d| name_of(*d).to_string()).collect();
        if let Some(d) = lag_dev {
            owners.push(format!("{} (LAG owner)", idx.device_label(d)));
        }
        b.f.fatal(
            "lag-members-on-different-servers",
            "dcim.interface",
            lag_id,
            &lag_label(),
            "lag",
            format!(
                "LAG members are cabled from different servers: {}; a LAG belongs to one server",
                owners.join(", ")
            ),
        );
        return;
    }
    if lag.is_none_or(|l| !l.is_lag()) {
        b.f.fatal(
            "invalid-lag",
            "dcim.interface",
            lag_id,
            &lag_label(),
            "lag",
            "member interfaces point at an interface that is not a LAG (type lag) in the fabric",
        );
        return;
    }
    let server = *servers.iter().next().unwrap_or(&0);
    let switches: BTreeSet<u64> = p.links.iter().map(|(_, s)| s.device).collect();
    let mut links: Vec<ServerToSwitchLink> = p
        .links
        .iter()
        .map(|(s, sw)| ServerToSwitchLink {
            server: port(s),
            switch: port(sw),
        })
        .collect();
    links.sort_by(|x, y| {
        natural_key(&x.server.port)
            .cmp(&natural_key(&y.server.port))
            .then_with(|| natural_key(&x.switch.port).cmp(&natural_key(&y.switch.port)))
    });
    let mut sw_names: Vec<&str> = switches.iter().map(|d| name_of(*d)).collect();
    sw_names.sort();
    let (name, spec) = if switches.len() == 1 {
        (
            format!("{}--bundled--{}", name_of(server), sw_names[0]),
            ConnectionSpec {
                bundled: Some(ConnBundled {
                    links,
                    mtu: None,
                    fallback: None,
                }),
                ..Default::default()
            },
        )
    } else {
        if switches.len() > 4 {
            b.f.fatal(
                "eslag-too-many-switches",
                "dcim.interface",
                lag_id,
                &lag_label(),
                "lag",
                format!(
                    "LAG of {} spans {} switches ({}); ESLAG allows 2 to 4",
                    name_of(server),
                    switches.len(),
                    sw_names.join(", ")
                ),
            );
            return;
        }
        let gs: BTreeSet<Option<&String>> = switches.iter().map(|d| group_of.get(d)).collect();
        let group = match gs.iter().next() {
            Some(Some(g)) if gs.len() == 1 => *g,
            _ => {
                let desc: Vec<String> = switches
                    .iter()
                    .map(|d| {
                        format!(
                            "{} in {}",
                            name_of(*d),
                            group_of
                                .get(d)
                                .map_or("no group".to_string(), |g| format!("group {g:?}"))
                        )
                    })
                    .collect();
                b.f.fatal("eslag-redundancy-group", "dcim.interface", lag_id, &lag_label(), "lag", format!("LAG of {} spans switches of different redundancy groups ({}); a multi-homed LAG needs all its switches in one group", name_of(server), desc.join(", ")));
                return;
            }
        };
        match groups[group].type_ {
            RedundancyType::Eslag => (
                format!("{}--eslag--{}", name_of(server), sw_names.join("--")),
                ConnectionSpec {
                    eslag: Some(ConnMultihomed {
                        links,
                        mtu: None,
                        fallback: None,
                    }),
                    ..Default::default()
                },
            ),
            RedundancyType::Mclag => {
                if switches.len() != 2 {
                    b.f.fatal(
                        "mclag-switch-count",
                        "dcim.interface",
                        lag_id,
                        &lag_label(),
                        "lag",
                        format!(
                            "MCLAG connects a server to exactly 2 switches, this LAG spans {}",
                            switches.len()
                        ),
                    );
                    return;
                }
                (
                    format!("{}--mclag--{}", name_of(server), sw_names.join("--")),
                    ConnectionSpec {
                        mclag: Some(ConnMultihomed {
                            links,
                            mtu: None,
                            fallback: None,
                        }),
                        ..Default::default()
                    },
                )
            }
        }
    };
    if conns.add(
        b,
        &name,
        &spec,
        SourceRef::many("dcim.cable", p.cables),
        &name,
    ) {
        conns.of_server_iface.insert(lag_id, name.clone());
        for (s, _) in &p.links {
            conns.of_server_iface.insert(s.iface, name.clone());
        }
    }
}
