//! `fabsync import-wiring`: bootstraps NetBox from an existing Hedgehog wiring diagram.
//!
//! Two steps. [`diagram_to_snapshot`] is pure: it turns the diagram into the NetBox objects of
//! `docs/netbox-model.md` (a [`Snapshot`] with local ids), so planning that snapshot gives the
//! diagram back. [`write_snapshot`] creates those objects through the REST API in foreign-key
//! order, skipping what already exists (natural keys), so re-running creates nothing new.
//! It does not delete or rewrite objects it did not create.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::client::NetboxClient;
use super::error::NetboxError;
use super::model::*;
use crate::hedgehog::diagram::Diagram;
use crate::hedgehog::wiring::{ConnectionSpec, RedundancyType, ServerToSwitchLink, device_of};

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Netbox(#[from] NetboxError),
    #[error("wiring diagram: {kind} {name:?}: field {field}: {reason}")]
    Diagram {
        kind: String,
        name: String,
        field: String,
        reason: String,
    },
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// NetBox object type → number created.
    pub created: BTreeMap<String, usize>,
    /// NetBox object type → number already present.
    pub existing: BTreeMap<String, usize>,
    /// Interfaces whose LAG / VLAN settings were updated.
    pub updated: usize,
    /// Things of the diagram NetBox cannot hold, each one sentence.
    pub warnings: Vec<String>,
}

impl ImportReport {
    /// Total objects created.
    pub fn total_created(&self) -> usize {
        self.created.values().sum()
    }

    /// One-line summary.
    pub fn summary(&self) -> String {
        let created: Vec<String> = self
            .created
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        format!(
            "created {} objects ({}), {} already present, {} interfaces updated",
            self.total_created(),
            if created.is_empty() {
                "none".to_string()
            } else {
                created.join(", ")
            },
            self.existing.values().sum::<usize>(),
            self.updated
        )
    }
}

fn role_title(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Default)]
struct Ids {
    next: BTreeMap<&'static str, u64>,
}

impl Ids {
    fn take(&mut self, t: &'static str) -> u64 {
        let n = self.next.entry(t).or_insert(0);
        *n += 1;
        *n
    }
}

struct Build {
    snap: Snapshot,
    ids: Ids,
    warnings: Vec<String>,
    dev_by_name: BTreeMap<String, u64>,
    iface_by_key: BTreeMap<(u64, String), u64>,
    role_by_slug: BTreeMap<String, u64>,
    type_by_slug: BTreeMap<String, u64>,
}

impl Build {
    fn role(&mut self, slug: &str) -> Brief {
        let id = match self.role_by_slug.get(slug) {
            Some(id) => *id,
            None => {
                let id = self.ids.take("role");
                self.snap.roles.push(DeviceRole {
                    id,
                    name: role_title(slug),
                    slug: slug.to_string(),
                });
                self.role_by_slug.insert(slug.to_string(), id);
                id
            }
        };
        Brief {
            id,
            slug: Some(slug.to_string()),
            ..Brief::default()
        }
    }

    fn device_type(&mut self, slug: &str, profile_cf: Option<&str>) -> Brief {
        let id = match self.type_by_slug.get(slug) {
            Some(id) => *id,
            None => {
                let id = self.ids.take("devicetype");
                let mut cf = CustomFields::new();
                if let Some(p) = profile_cf {
                    cf.insert("hedgehog_profile".into(), json!(p));
                }
                self.snap.device_types.push(DeviceType {
                    id,
                    model: slug.to_string(),
                    slug: slug.to_string(),
                    manufacturer: Some(Brief {
                        id: 1,
                        name: Some("Hedgehog".into()),
                        slug: Some("hedgehog".into()),
                        display: None,
                    }),
                    custom_fields: cf,
                });
                self.type_by_slug.insert(slug.to_string(), id);
                id
            }
        };
        Brief {
            id,
            slug: Some(slug.to_string()),
            ..Brief::default()
        }
    }

    fn device(&mut self, name: &str, role: &str, dtype: Brief) -> u64 {
        if let Some(id) = self.dev_by_name.get(name) {
            return *id;
        }
        let id = self.ids.take("device");
        let role = self.role(role);
        self.snap.devices.push(Device {
            id,
            name: Some(name.to_string()),
            device_type: dtype,
            role,
            site: Some(Brief {
                id: self.snap.site.id,
                slug: Some(self.snap.site.slug.clone()),
                ..Brief::default()
            }),
            status: Some(Choice::new("active")),
            ..Device::default()
        });
        self.dev_by_name.insert(name.to_string(), id);
        id
    }

    fn dev_mut(&mut self, id: u64) -> &mut Device {
        self.snap
            .devices
            .iter_mut()
            .find(|d| d.id == id)
            .expect("device created by this builder")
    }

    fn iface(&mut self, device: u64, name: &str, type_: &str) -> u64 {
        if let Some(id) = self.iface_by_key.get(&(device, name.to_string())) {
            return *id;
        }
        let id = self.ids.take("interface");
        let dev_name = self
            .snap
            .devices
            .iter()
            .find(|d| d.id == device)
            .and_then(|d| d.name.clone());
        self.snap.interfaces.push(Interface {
            id,
            device: Brief {
                id: device,
                name: dev_name,
                ..Brief::default()
            },
            name: name.to_string(),
            type_: Some(Choice::new(type_)),
            mgmt_only: name == "M1",
            ..Interface::default()
        });
        self.iface_by_key.insert((device, name.to_string()), id);
        id
    }

    fn if_mut(&mut self, id: u64) -> &mut Interface {
        self.snap
            .interfaces
            .iter_mut()
            .find(|i| i.id == id)
            .expect("interface created by this builder")
    }

    /// The interface of a `"<device>/<port>"` reference on an existing device.
    fn port(&mut self, port_ref: &str, type_: &str) -> Option<u64> {
        let (dev, port) = port_ref.split_once('/')?;
        let d = *self.dev_by_name.get(dev)?;
        Some(self.iface(d, port, type_))
    }

    fn cable(&mut self, a: u64, b: u64, cf: CustomFields) {
        let id = self.ids.take("cable");
        let t = |i: u64| {
            vec![Termination {
                object_type: "dcim.interface".into(),
                object_id: i,
                object: None,
            }]
        };
        self.snap.cables.push(Cable {
            id,
            label: String::new(),
            status: Some(Choice::new("connected")),
            a_terminations: t(a),
            b_terminations: t(b),
            custom_fields: cf,
        });
        for i in [a, b] {
            self.if_mut(i).cable = Some(Brief::id(id));
        }
    }

    fn vlan(&mut self, vid: u16, group: Option<u64>) -> BriefVlan {
        let found = self.snap.vlans.iter().find(|v| {
            v.vid == vid
                && v.group.as_ref().map(|g| g.id) == group
                && (group.is_some() || v.site.is_some())
        });
        let id = match found {
            Some(v) => v.id,
            None => {
                let id = self.ids.take("vlan");
                self.snap.vlans.push(Vlan {
                    id,
                    vid,
                    name: format!("vlan-{vid}"),
                    group: group.map(Brief::id),
                    site: if group.is_none() {
                        Some(Brief::id(self.snap.site.id))
                    } else {
                        None
                    },
                    status: Some(Choice::new("active")),
                    custom_fields: CustomFields::new(),
                });
                id
            }
        };
        BriefVlan {
            id,
            vid,
            name: None,
        }
    }
}

fn link_type(port: &str) -> &'static str {
    if port.starts_with('E') {
        "100gbase-x-qsfp28"
    } else {
        "25gbase-x-sfp28"
    }
}

/// Turns a wiring diagram into the NetBox objects of `docs/netbox-model.md` for site
/// `site_slug` (local ids from 1). Objects NetBox cannot hold are reported as warnings.
pub fn diagram_to_snapshot(
    d: &Diagram,
    site_slug: &str,
) -> Result<(Snapshot, Vec<String>), ImportError> {
    let mut b = Build {
        snap: Snapshot {
            site: Site {
                id: 1,
                name: site_slug.to_string(),
                slug: site_slug.to_string(),
                custom_fields: CustomFields::new(),
            },
            ..Snapshot::default()
        },
        ids: Ids::default(),
        warnings: Vec::new(),
        dev_by_name: BTreeMap::new(),
        iface_by_key: BTreeMap::new(),
        role_by_slug: BTreeMap::new(),
        type_by_slug: BTreeMap::new(),
    };
    for s in &d.skipped {
        b.warnings.push(format!(
            "{} {} {:?} not imported: {}",
            s.api_version, s.kind, s.name, s.reason
        ));
    }
    let diag_err = |kind: &str, name: &str, field: &str, reason: String| ImportError::Diagram {
        kind: kind.into(),
        name: name.into(),
        field: field.into(),
        reason,
    };

    // Switch groups that no switch's redundancy names cannot be represented.
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

    // Switches.
    for s in &d.switches {
        let name = s.metadata.name.clone().unwrap_or_default();
        let Some(profile) = s.spec.profile.clone() else {
            return Err(diag_err(
                "Switch",
                &name,
                "spec.profile",
                "is required (it becomes the NetBox device type)".into(),
            ));
        };
        let dt = b.device_type(&profile, None);
        let id = b.device(&name, s.spec.role.as_str(), dt);
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
        let mac = s.spec.boot.as_ref().and_then(|x| x.mac.clone());
        if mac.is_some() || s.spec.ip.is_some() {
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
        for (port, mode) in &s.spec.port_breakouts {
            let i = b.iface(id, port, link_type(port));
            b.if_mut(i)
                .custom_fields
                .insert("hedgehog_breakout".into(), json!(mode));
        }
        let unsupported: Vec<&str> = [
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
        .collect();
        if !unsupported.is_empty() {
            b.warnings.push(format!(
                "Switch {name:?}: {} have no place in the NetBox model and are not imported",
                unsupported.join(", ")
            ));
        }
    }

    // Servers.
    for s in &d.servers {
        let name = s.metadata.name.clone().unwrap_or_default();
        let dt = match &s.spec.profile {
            Some(p) => b.device_type(p, Some(p)),
            None => b.device_type("server", None),
        };
        let id = b.device(&name, "server", dt);
        b.dev_mut(id).description = s.spec.description.clone().unwrap_or_default();
    }

    // Externals (devices with role external).
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

    // Connections.
    let mut conn_server_iface: BTreeMap<String, u64> = BTreeMap::new();
    let mut lag_count: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ext_ifaces: BTreeMap<String, (u64, u64)> = BTreeMap::new(); // conn → (switch if, ext if)
    for c in &d.connections {
        let cname = c.metadata.name.clone().unwrap_or_default();
        let spec: &ConnectionSpec = &c.spec;
        let missing = |b: &mut Build, r: &str| -> Result<u64, ImportError> {
            b.port(r, link_type(r.split_once('/').map_or("", |x| x.1))).ok_or_else(|| {
                diag_err("Connection", &cname, "spec", format!("port {r:?} names device {:?}, which is not a Switch, Server or gateway of the diagram", device_of(r)))
            })
        };
        let mut server_links =
            |b: &mut Build, links: &[ServerToSwitchLink], lag: bool| -> Result<(), ImportError> {
                let mut lag_id = None;
                for l in links {
                    let si = missing(b, &l.server.port)?;
                    let wi = missing(b, &l.switch.port)?;
                    if lag {
                        let server = b
                            .snap
                            .interfaces
                            .iter()
                            .find(|i| i.id == si)
                            .map(|i| i.device.id)
                            .unwrap_or(0);
                        let lid = match lag_id {
                            Some(x) => x,
                            None => {
                                let n = lag_count.entry(server).or_insert(0);
                                let x = b.iface(server, &format!("bond{n}"), "lag");
                                *n += 1;
                                lag_id = Some(x);
                                x
                            }
                        };
                        b.if_mut(si).lag = Some(Brief::id(lid));
                        conn_server_iface.insert(cname.clone(), lid);
                    } else {
                        conn_server_iface.insert(cname.clone(), si);
                    }
                    b.cable(si, wi, CustomFields::new());
                }
                Ok(())
            };
        if let Some(x) = &spec.unbundled {
            server_links(&mut b, std::slice::from_ref(&x.link), false)?;
        } else if let Some(x) = &spec.bundled {
            server_links(&mut b, &x.links, true)?;
        } else if let Some(x) = &spec.eslag {
            server_links(&mut b, &x.links, true)?;
        } else if let Some(x) = &spec.mclag {
            server_links(&mut b, &x.links, true)?;
        } else if let Some(x) = &spec.mclag_domain {
            for (links, kind) in [
                (&x.peer_links, "mclag-peer"),
                (&x.session_links, "mclag-session"),
            ] {
                for l in links {
                    let a = missing(&mut b, &l.switch1.port)?;
                    let z = missing(&mut b, &l.switch2.port)?;
                    let mut cf = CustomFields::new();
                    cf.insert("hedgehog_link".into(), json!(kind));
                    b.cable(a, z, cf);
                }
            }
        } else if let Some(x) = &spec.fabric {
            for l in &x.links {
                let a = missing(&mut b, &l.spine.port)?;
                let z = missing(&mut b, &l.leaf.port)?;
                b.cable(a, z, CustomFields::new());
            }
        } else if let Some(x) = &spec.mesh {
            for l in &x.links {
                let a = missing(&mut b, &l.leaf1.port)?;
                let z = missing(&mut b, &l.leaf2.port)?;
                b.cable(a, z, CustomFields::new());
            }
        } else if let Some(x) = &spec.vpc_loopback {
            for l in &x.links {
                let a = missing(&mut b, &l.switch1.port)?;
                let z = missing(&mut b, &l.switch2.port)?;
                b.cable(a, z, CustomFields::new());
            }
        } else if let Some(x) = &spec.gateway {
            for l in &x.links {
                let gw = device_of(&l.gateway.port).to_string();
                let dt = b.device_type("gateway", None);
                b.device(&gw, "gateway", dt);
                let a = missing(&mut b, &l.switch.port)?;
                let z = missing(&mut b, &l.gateway.port)?;
                b.cable(a, z, CustomFields::new());
            }
        } else if let Some(x) = &spec.external {
            let ext = d
                .external_attachments
                .iter()
                .find(|a| a.spec.connection.as_deref() == Some(cname.as_str()))
                .and_then(|a| a.spec.external.clone());
            let Some(ext) = ext.filter(|e| b.dev_by_name.contains_key(e)) else {
                b.warnings.push(format!("Connection {cname:?}: no ExternalAttachment names the External behind it, so the external device is unknown; not imported"));
                continue;
            };
            let a = missing(&mut b, &x.link.switch.port)?;
            let ext_dev = b.dev_by_name[&ext];
            let n = b
                .snap
                .interfaces
                .iter()
                .filter(|i| i.device.id == ext_dev)
                .count();
            let z = b.iface(ext_dev, &format!("eth{n}"), "10gbase-x-sfpp");
            b.cable(a, z, CustomFields::new());
            ext_ifaces.insert(cname.clone(), (a, z));
        } else if spec.static_external.is_some() {
            b.warnings.push(format!("Connection {cname:?} is a staticExternal connection, which the NetBox model does not cover; not imported"));
        } else {
            return Err(diag_err(
                "Connection",
                &cname,
                "spec",
                "sets no connection type".into(),
            ));
        }
    }

    // VLAN namespaces → VLAN groups.
    let mut group_by_ns: BTreeMap<String, u64> = BTreeMap::new();
    for ns in &d.vlan_namespaces {
        let name = ns.metadata.name.clone().unwrap_or_default();
        let id = b.ids.take("vlangroup");
        b.snap.vlan_groups.push(VlanGroup {
            id,
            name: name.clone(),
            slug: name.clone(),
            scope_type: Some("dcim.site".into()),
            scope_id: Some(b.snap.site.id),
            vid_ranges: ns.spec.ranges.iter().map(|r| [r.from, r.to]).collect(),
            tags: Vec::new(),
            custom_fields: CustomFields::new(),
        });
        group_by_ns.insert(name, id);
    }
    // IPv4 namespaces → container prefixes.
    for ns in &d.ipv4_namespaces {
        let name = ns.metadata.name.clone().unwrap_or_default();
        for s in &ns.spec.subnets {
            let id = b.ids.take("prefix");
            let mut cf = CustomFields::new();
            cf.insert("hedgehog_ipv4_namespace".into(), json!(name));
            b.snap.prefixes.push(Prefix {
                id,
                prefix: s.clone(),
                status: Some(Choice::new("container")),
                scope_type: Some("dcim.site".into()),
                scope_id: Some(b.snap.site.id),
                custom_fields: cf,
                ..Prefix::default()
            });
        }
    }
    // VPCs → VRFs + prefixes + VLANs.
    let mut peers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &d.vpc_peerings {
        for permit in &p.spec.permit {
            let names: Vec<&String> = permit.keys().collect();
            if names.len() == 2 {
                peers
                    .entry(names[0].clone())
                    .or_default()
                    .insert(names[1].clone());
            }
        }
    }
    let mut ext_peers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &d.external_peerings {
        if let Some(permit) = &p.spec.permit
            && let (Some(v), Some(e)) = (
                permit.vpc.as_ref().and_then(|v| v.name.clone()),
                permit.external.as_ref().and_then(|e| e.name.clone()),
            )
        {
            ext_peers.entry(v).or_default().insert(e);
        }
    }
    let mut vlan_of_subnet: BTreeMap<String, BriefVlan> = BTreeMap::new();
    for v in &d.vpcs {
        let name = v.metadata.name.clone().unwrap_or_default();
        let vrf_id = b.ids.take("vrf");
        let mut cf = CustomFields::new();
        cf.insert(
            "hedgehog_ipv4_namespace".into(),
            json!(
                v.spec
                    .ipv4_namespace
                    .clone()
                    .unwrap_or_else(|| "default".into())
            ),
        );
        if let Some(p) = peers.get(&name) {
            cf.insert(
                "hedgehog_peers".into(),
                json!(p.iter().cloned().collect::<Vec<_>>().join(",")),
            );
        }
        if let Some(p) = ext_peers.get(&name) {
            cf.insert(
                "hedgehog_externals".into(),
                json!(p.iter().cloned().collect::<Vec<_>>().join(",")),
            );
        }
        b.snap.vrfs.push(Vrf {
            id: vrf_id,
            name: name.clone(),
            rd: None,
            tags: Vec::new(),
            custom_fields: cf,
        });
        let ns = v
            .spec
            .vlan_namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let group = group_by_ns.get(&ns).copied();
        if group.is_none() {
            b.warnings.push(format!("VPC {name:?}: VLANNamespace {ns:?} is not in the diagram; its VLANs are created without a VLAN group"));
        }
        for (sname, s) in &v.spec.subnets {
            let (Some(subnet), Some(vid)) = (s.subnet.clone(), s.vlan) else {
                b.warnings.push(format!(
                    "VPC {name:?} subnet {sname:?} has no subnet or VLAN; not imported"
                ));
                continue;
            };
            let vlan = b.vlan(vid, group);
            let pid = b.ids.take("prefix");
            let mut cf = CustomFields::new();
            cf.insert("hedgehog_subnet".into(), json!(sname));
            if let Some(dhcp) = &s.dhcp
                && dhcp.enable == Some(true)
            {
                cf.insert("hedgehog_dhcp".into(), json!(true));
                if let Some(r) = &dhcp.range {
                    if let Some(x) = &r.start {
                        cf.insert("hedgehog_dhcp_start".into(), json!(x));
                    }
                    if let Some(x) = &r.end {
                        cf.insert("hedgehog_dhcp_end".into(), json!(x));
                    }
                }
            }
            b.snap.prefixes.push(Prefix {
                id: pid,
                prefix: subnet,
                status: Some(Choice::new("active")),
                vrf: Some(Brief {
                    id: vrf_id,
                    name: Some(name.clone()),
                    ..Brief::default()
                }),
                vlan: Some(vlan.clone()),
                scope_type: Some("dcim.site".into()),
                scope_id: Some(b.snap.site.id),
                tags: Vec::new(),
                custom_fields: cf,
            });
            vlan_of_subnet.insert(format!("{name}/{sname}"), vlan);
        }
    }
    // VPC attachments → VLANs on the server-side interface of the connection.
    for a in &d.vpc_attachments {
        let aname = a.metadata.name.clone().unwrap_or_default();
        let (Some(conn), Some(subnet)) = (&a.spec.connection, &a.spec.subnet) else {
            continue;
        };
        let (Some(iface), Some(vlan)) = (
            conn_server_iface.get(conn).copied(),
            vlan_of_subnet.get(subnet).cloned(),
        ) else {
            b.warnings.push(format!("VPCAttachment {aname:?}: connection {conn:?} or subnet {subnet:?} is not a server connection / VPC subnet of the diagram; not imported"));
            continue;
        };
        let i = b.if_mut(iface);
        if a.spec.native_vlan == Some(true) {
            i.untagged_vlan = Some(vlan);
            if i.mode.is_none() {
                i.mode = Some(Choice::new("access"));
            }
        } else {
            i.mode = Some(Choice::new("tagged"));
            i.tagged_vlans.push(vlan);
        }
    }
    // External attachments → IPs and the switch-side VLAN.
    for a in &d.external_attachments {
        let aname = a.metadata.name.clone().unwrap_or_default();
        let Some((sw_if, ext_if)) = a
            .spec
            .connection
            .as_ref()
            .and_then(|c| ext_ifaces.get(c))
            .copied()
        else {
            b.warnings.push(format!(
                "ExternalAttachment {aname:?}: its connection was not imported; not imported"
            ));
            continue;
        };
        if let Some(ip) = &a.spec.switch.ip {
            let id = b.ids.take("ip");
            b.snap.ip_addresses.push(IpAddress {
                id,
                address: ip.clone(),
                assigned_object_type: Some("dcim.interface".into()),
                assigned_object_id: Some(sw_if),
                status: Some(Choice::new("active")),
                ..IpAddress::default()
            });
        }
        if let Some(ip) = &a.spec.neighbor.ip {
            let len = a
                .spec
                .switch
                .ip
                .as_ref()
                .and_then(|s| s.split_once('/'))
                .map_or("32", |x| x.1);
            let id = b.ids.take("ip");
            b.snap.ip_addresses.push(IpAddress {
                id,
                address: format!("{ip}/{len}"),
                assigned_object_type: Some("dcim.interface".into()),
                assigned_object_id: Some(ext_if),
                status: Some(Choice::new("active")),
                ..IpAddress::default()
            });
        }
        if let Some(vid) = a.spec.switch.vlan {
            let v = b.vlan(vid, None);
            b.if_mut(sw_if).untagged_vlan = Some(v);
            b.if_mut(sw_if).mode = Some(Choice::new("access"));
        }
    }
    b.snap.sort();
    Ok((b.snap, b.warnings))
}

fn count(r: &mut ImportReport, created: bool, t: &str) {
    let m = if created {
        &mut r.created
    } else {
        &mut r.existing
    };
    *m.entry(t.to_string()).or_insert(0) += 1;
}

/// Writes a snapshot made by [`diagram_to_snapshot`] into NetBox through `client`, creating
/// only what is missing (matched by natural keys: slugs, names, device + interface name,
/// occupied interfaces for cables, prefix + VRF, VLAN group + vid).
pub async fn write_snapshot(
    client: &NetboxClient,
    s: &Snapshot,
) -> Result<ImportReport, ImportError> {
    let mut r = ImportReport::default();
    client.ensure_fabsync_custom_fields().await?;

    // Site.
    let sites: Vec<Site> = client
        .list("dcim/sites", &[("slug", s.site.slug.clone())])
        .await?;
    let site_id = match sites.iter().find(|x| x.slug == s.site.slug) {
        Some(x) => {
            count(&mut r, false, "dcim.site");
            x.id
        }
        None => {
            count(&mut r, true, "dcim.site");
            client
                .create::<Brief>(
                    "dcim/sites",
                    &json!({"name": s.site.name, "slug": s.site.slug, "status": "active"}),
                )
                .await?
                .id
        }
    };
    // Manufacturer.
    let mans: Vec<Brief> = client
        .list("dcim/manufacturers", &[("slug", "hedgehog".to_string())])
        .await?;
    let man_id = match mans.first() {
        Some(m) => m.id,
        None => {
            count(&mut r, true, "dcim.manufacturer");
            client
                .create::<Brief>(
                    "dcim/manufacturers",
                    &json!({"name": "Hedgehog", "slug": "hedgehog"}),
                )
                .await?
                .id
        }
    };
    // Roles and device types by slug.
    let roles: Vec<DeviceRole> = client.list("dcim/device-roles", &[]).await?;
    let mut role_id: BTreeMap<u64, u64> = BTreeMap::new();
    for role in &s.roles {
        let id = match roles.iter().find(|x| x.slug == role.slug) {
            Some(x) => {
                count(&mut r, false, "dcim.devicerole");
                x.id
            }
            None => {
                count(&mut r, true, "dcim.devicerole");
                client
                    .create::<Brief>(
                        "dcim/device-roles",
                        &json!({"name": role.name, "slug": role.slug, "color": "2196f3"}),
                    )
                    .await?
                    .id
            }
        };
        role_id.insert(role.id, id);
    }
    let types: Vec<DeviceType> = client.list("dcim/device-types", &[]).await?;
    let mut type_id: BTreeMap<u64, u64> = BTreeMap::new();
    for t in &s.device_types {
        let id = match types.iter().find(|x| x.slug == t.slug) {
            Some(x) => {
                count(&mut r, false, "dcim.devicetype");
                x.id
            }
            None => {
                count(&mut r, true, "dcim.devicetype");
                client.create::<Brief>("dcim/device-types", &json!({"manufacturer": man_id, "model": t.model, "slug": t.slug, "custom_fields": t.custom_fields})).await?.id
            }
        };
        type_id.insert(t.id, id);
    }
    // Devices.
    let existing: Vec<Device> = client
        .list("dcim/devices", &[("site_id", site_id.to_string())])
        .await?;
    let mut dev_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut to_create: Vec<(u64, Value)> = Vec::new();
    for d in &s.devices {
        let name = d.name.clone().unwrap_or_default();
        match existing.iter().find(|x| x.name.as_deref() == Some(name.as_str())) {
            Some(x) => {
                count(&mut r, false, "dcim.device");
                dev_id.insert(d.id, x.id);
            }
            None => to_create.push((
                d.id,
                json!({"name": name, "site": site_id, "role": role_id[&d.role.id], "device_type": type_id[&d.device_type.id],
                       "status": "active", "serial": d.serial, "description": d.description, "custom_fields": d.custom_fields}),
            )),
        }
    }
    let bodies: Vec<Value> = to_create.iter().map(|(_, v)| v.clone()).collect();
    let created: Vec<Brief> = client.create_bulk("dcim/devices", &bodies).await?;
    for ((local, _), c) in to_create.iter().zip(&created) {
        count(&mut r, true, "dcim.device");
        dev_id.insert(*local, c.id);
    }
    // Interfaces: LAGs first, then the rest (members refer to their LAG).
    let remote_ids: Vec<u64> = dev_id.values().copied().collect();
    let existing_if: Vec<Interface> = client
        .list_chunked("dcim/interfaces", &[], "device_id", &remote_ids, 100)
        .await?;
    let mut if_id: BTreeMap<u64, u64> = BTreeMap::new();
    let mut remote_if: BTreeMap<u64, Interface> = BTreeMap::new();
    for pass_lag in [true, false] {
        let mut to_create: Vec<(u64, Value)> = Vec::new();
        for i in s.interfaces.iter().filter(|i| i.is_lag() == pass_lag) {
            let dev = dev_id[&i.device.id];
            match existing_if.iter().find(|x| x.device.id == dev && x.name == i.name) {
                Some(x) => {
                    count(&mut r, false, "dcim.interface");
                    if_id.insert(i.id, x.id);
                    remote_if.insert(i.id, x.clone());
                }
                None => to_create.push((
                    i.id,
                    json!({"device": dev, "name": i.name, "type": i.type_.as_ref().map_or("other", |t| t.value.as_str()),
                           "mgmt_only": i.mgmt_only, "custom_fields": i.custom_fields}),
                )),
            }
        }
        let bodies: Vec<Value> = to_create.iter().map(|(_, v)| v.clone()).collect();
        let created: Vec<Interface> = client.create_bulk("dcim/interfaces", &bodies).await?;
        for ((local, _), c) in to_create.iter().zip(created) {
            count(&mut r, true, "dcim.interface");
            if_id.insert(*local, c.id);
            remote_if.insert(*local, c);
        }
    }
    // MAC addresses and IPs (primary MAC / primary IPv4 set afterwards).
    for m in &s.mac_addresses {
        let Some(local_if) = m.assigned_object_id else {
            continue;
        };
        let rif = &remote_if[&local_if];
        if rif.primary_mac_address.is_some() {
            count(&mut r, false, "dcim.macaddress");
            continue;
        }
        let created: BriefMac = client.create("dcim/mac-addresses", &json!({"mac_address": m.mac_address, "assigned_object_type": "dcim.interface", "assigned_object_id": if_id[&local_if]})).await?;
        count(&mut r, true, "dcim.macaddress");
        client
            .patch(
                "dcim/interfaces",
                if_id[&local_if],
                &json!({"primary_mac_address": created.id}),
            )
            .await?;
    }
    let existing_ips: Vec<IpAddress> = client
        .list_chunked("ipam/ip-addresses", &[], "device_id", &remote_ids, 100)
        .await?;
    let mut ip_id: BTreeMap<u64, u64> = BTreeMap::new();
    for a in &s.ip_addresses {
        let Some(local_if) = a.assigned_object_id else {
            continue;
        };
        let rid = if_id[&local_if];
        let id = match existing_ips
            .iter()
            .find(|x| x.assigned_object_id == Some(rid) && x.address == a.address)
        {
            Some(x) => {
                count(&mut r, false, "ipam.ipaddress");
                x.id
            }
            None => {
                count(&mut r, true, "ipam.ipaddress");
                client.create::<Brief>("ipam/ip-addresses", &json!({"address": a.address, "status": "active", "assigned_object_type": "dcim.interface", "assigned_object_id": rid})).await?.id
            }
        };
        ip_id.insert(a.id, id);
    }
    for d in &s.devices {
        if let Some(ip) = &d.primary_ip4 {
            let remote = existing.iter().find(|x| x.name == d.name);
            if remote.and_then(|x| x.primary_ip4.as_ref()).is_none() {
                client
                    .patch(
                        "dcim/devices",
                        dev_id[&d.id],
                        &json!({"primary_ip4": ip_id[&ip.id]}),
                    )
                    .await?;
            }
        }
    }
    // Cables: skipped when either end is already cabled.
    let mut bodies = Vec::new();
    for c in &s.cables {
        let (Some(a), Some(z)) = (c.a_terminations.first(), c.b_terminations.first()) else {
            continue;
        };
        let (ra, rz) = (&remote_if[&a.object_id], &remote_if[&z.object_id]);
        if ra.cable.is_some() || rz.cable.is_some() {
            count(&mut r, false, "dcim.cable");
            if ra.cable.is_none()
                || rz.cable.is_none()
                || ra.cable.as_ref().map(|x| x.id) != rz.cable.as_ref().map(|x| x.id)
            {
                r.warnings.push(format!(
                    "cable {} ↔ {} not created: one end is already cabled elsewhere",
                    ra.name, rz.name
                ));
            }
            continue;
        }
        bodies.push(json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": if_id[&a.object_id]}],
                           "b_terminations": [{"object_type": "dcim.interface", "object_id": if_id[&z.object_id]}],
                           "status": "connected", "custom_fields": c.custom_fields}));
    }
    let created: Vec<Brief> = client.create_bulk("dcim/cables", &bodies).await?;
    for _ in &created {
        count(&mut r, true, "dcim.cable");
    }
    // VLAN groups and VLANs.
    let groups: Vec<VlanGroup> = client
        .list(
            "ipam/vlan-groups",
            &[
                ("scope_type", "dcim.site".into()),
                ("scope_id", site_id.to_string()),
            ],
        )
        .await?;
    let mut group_id: BTreeMap<u64, u64> = BTreeMap::new();
    for g in &s.vlan_groups {
        let id = match groups.iter().find(|x| x.slug == g.slug) {
            Some(x) => {
                count(&mut r, false, "ipam.vlangroup");
                x.id
            }
            None => {
                count(&mut r, true, "ipam.vlangroup");
                client.create::<Brief>("ipam/vlan-groups", &json!({"name": g.name, "slug": g.slug, "scope_type": "dcim.site", "scope_id": site_id, "vid_ranges": g.vid_ranges})).await?.id
            }
        };
        group_id.insert(g.id, id);
    }
    let gids: Vec<u64> = group_id.values().copied().collect();
    let mut existing_vlans: Vec<Vlan> = client
        .list_chunked("ipam/vlans", &[], "group_id", &gids, 100)
        .await?;
    existing_vlans.extend(
        client
            .list::<Vlan>("ipam/vlans", &[("site_id", site_id.to_string())])
            .await?,
    );
    let mut vlan_id: BTreeMap<u64, u64> = BTreeMap::new();
    for v in &s.vlans {
        let rg = v.group.as_ref().map(|g| group_id[&g.id]);
        let found = existing_vlans.iter().find(|x| {
            x.vid == v.vid
                && x.group.as_ref().map(|g| g.id) == rg
                && (rg.is_some() || x.site.as_ref().is_some_and(|s| s.id == site_id))
        });
        let id = match found {
            Some(x) => {
                count(&mut r, false, "ipam.vlan");
                x.id
            }
            None => {
                count(&mut r, true, "ipam.vlan");
                let mut body = json!({"vid": v.vid, "name": v.name, "status": "active"});
                match rg {
                    Some(g) => body["group"] = json!(g),
                    None => body["site"] = json!(site_id),
                }
                client.create::<Brief>("ipam/vlans", &body).await?.id
            }
        };
        vlan_id.insert(v.id, id);
    }
    // VRFs and prefixes.
    let vrfs: Vec<Vrf> = client.list("ipam/vrfs", &[]).await?;
    let mut vrf_id: BTreeMap<u64, u64> = BTreeMap::new();
    for v in &s.vrfs {
        let id = match vrfs.iter().find(|x| x.name == v.name) {
            Some(x) => {
                count(&mut r, false, "ipam.vrf");
                x.id
            }
            None => {
                count(&mut r, true, "ipam.vrf");
                client
                    .create::<Brief>(
                        "ipam/vrfs",
                        &json!({"name": v.name, "custom_fields": v.custom_fields}),
                    )
                    .await?
                    .id
            }
        };
        vrf_id.insert(v.id, id);
    }
    let prefixes: Vec<Prefix> = client
        .list("ipam/prefixes", &[("site_id", site_id.to_string())])
        .await?;
    for p in &s.prefixes {
        let rv = p.vrf.as_ref().map(|v| vrf_id[&v.id]);
        if prefixes
            .iter()
            .any(|x| x.prefix == p.prefix && x.vrf.as_ref().map(|v| v.id) == rv)
        {
            count(&mut r, false, "ipam.prefix");
            continue;
        }
        count(&mut r, true, "ipam.prefix");
        let _: Brief = client
            .create(
                "ipam/prefixes",
                &json!({"prefix": p.prefix, "status": p.status.as_ref().map_or("active", |s| s.value.as_str()),
                        "vrf": rv, "vlan": p.vlan.as_ref().map(|v| vlan_id[&v.id]),
                        "scope_type": "dcim.site", "scope_id": site_id, "custom_fields": p.custom_fields}),
            )
            .await?;
    }
    // Interface LAG membership and VLAN modes.
    for i in &s.interfaces {
        let remote = &remote_if[&i.id];
        let mut patch = Map::new();
        if let Some(l) = &i.lag
            && remote.lag.as_ref().map(|x| x.id) != Some(if_id[&l.id])
        {
            patch.insert("lag".into(), json!(if_id[&l.id]));
        }
        let want_mode = i.mode.as_ref().map(|m| m.value.clone());
        if want_mode.is_some() && remote.mode.as_ref().map(|m| m.value.clone()) != want_mode {
            patch.insert("mode".into(), json!(want_mode));
        }
        if let Some(u) = &i.untagged_vlan
            && remote.untagged_vlan.as_ref().map(|x| x.id) != Some(vlan_id[&u.id])
        {
            patch.insert("untagged_vlan".into(), json!(vlan_id[&u.id]));
        }
        let want_tagged: BTreeSet<u64> = i.tagged_vlans.iter().map(|v| vlan_id[&v.id]).collect();
        let have_tagged: BTreeSet<u64> = remote.tagged_vlans.iter().map(|v| v.id).collect();
        if !want_tagged.is_subset(&have_tagged) {
            let all: Vec<u64> = want_tagged.union(&have_tagged).copied().collect();
            patch.insert("tagged_vlans".into(), json!(all));
        }
        if !patch.is_empty() {
            client
                .patch("dcim/interfaces", if_id[&i.id], &Value::Object(patch))
                .await?;
            r.updated += 1;
        }
    }
    Ok(r)
}

/// Imports a wiring diagram into site `site_slug`: [`diagram_to_snapshot`] then
/// [`write_snapshot`]. Idempotent.
pub async fn import_wiring(
    client: &NetboxClient,
    d: &Diagram,
    site_slug: &str,
) -> Result<ImportReport, ImportError> {
    let (snap, warnings) = diagram_to_snapshot(d, site_slug)?;
    let mut r = write_snapshot(client, &snap).await?;
    let mut all = warnings;
    all.append(&mut r.warnings);
    r.warnings = all;
    Ok(r)
}
