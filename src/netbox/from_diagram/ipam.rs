//! IPAM objects of the diagram: VLAN namespaces → VLAN groups, IPv4 namespaces → container
//! prefixes, VPCs → VRFs (peerings as VRF custom fields) with a prefix and a VLAN per subnet,
//! VPC attachments → VLANs on server interfaces, external attachments → IPs and the
//! switch-side VLAN.
//!
//! The devices and cables these refer to are made by `devices.rs` and `connections.rs` first.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::build::Build;
use crate::hedgehog::diagram::Diagram;
use crate::hedgehog::vpc::{VPC, VpcSubnet};
use crate::netbox::model::*;

/// VLAN namespaces → VLAN groups of the site; returns namespace name → VLAN group id.
pub(super) fn vlan_groups(b: &mut Build, d: &Diagram) -> BTreeMap<String, u64> {
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
    group_by_ns
}

/// IPv4 namespaces → one container prefix per subnet, marked with the namespace.
pub(super) fn container_prefixes(b: &mut Build, d: &Diagram) {
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
}

/// VPC name → the VPCs it peers with (each pair under the first name of its permit).
fn vpc_peers(d: &Diagram) -> BTreeMap<String, BTreeSet<String>> {
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
    peers
}

/// VPC name → the Externals it peers with.
fn external_peers(d: &Diagram) -> BTreeMap<String, BTreeSet<String>> {
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
    ext_peers
}

/// A VPC made into a VRF: where its subnets go.
struct VpcVrf<'n> {
    name: &'n str,
    vrf_id: u64,
    /// The VLAN group of its VLAN namespace, when the diagram has it.
    group: Option<u64>,
}

/// VPCs → a VRF each (IPv4 namespace, peers and externals as custom fields) with a prefix and
/// a VLAN per subnet; returns `"<vpc>/<subnet>"` → that subnet's VLAN.
pub(super) fn vpcs(
    b: &mut Build,
    d: &Diagram,
    group_by_ns: &BTreeMap<String, u64>,
) -> BTreeMap<String, BriefVlan> {
    let peers = vpc_peers(d);
    let ext_peers = external_peers(d);
    let mut vlan_of_subnet: BTreeMap<String, BriefVlan> = BTreeMap::new();
    for v in &d.vpcs {
        let name = v.metadata.name.clone().unwrap_or_default();
        let vrf_id = vrf(b, v, &name, peers.get(&name), ext_peers.get(&name));
        let ns = v
            .spec
            .vlan_namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let group = group_by_ns.get(&ns).copied();
        if group.is_none() {
            b.warnings.push(format!("VPC {name:?}: VLANNamespace {ns:?} is not in the diagram; its VLANs are created without a VLAN group"));
        }
        let vpc = VpcVrf {
            name: &name,
            vrf_id,
            group,
        };
        for (sname, s) in &v.spec.subnets {
            if let Some(vlan) = subnet(b, &vpc, sname, s) {
                vlan_of_subnet.insert(format!("{name}/{sname}"), vlan);
            }
        }
    }
    vlan_of_subnet
}

/// The VRF of VPC `v` (named `name`); returns its id.
fn vrf(
    b: &mut Build,
    v: &VPC,
    name: &str,
    peers: Option<&BTreeSet<String>>,
    externals: Option<&BTreeSet<String>>,
) -> u64 {
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
    if let Some(p) = peers {
        cf.insert(
            "hedgehog_peers".into(),
            json!(p.iter().cloned().collect::<Vec<_>>().join(",")),
        );
    }
    if let Some(p) = externals {
        cf.insert(
            "hedgehog_externals".into(),
            json!(p.iter().cloned().collect::<Vec<_>>().join(",")),
        );
    }
    b.snap.vrfs.push(Vrf {
        id: vrf_id,
        name: name.to_string(),
        rd: None,
        tags: Vec::new(),
        custom_fields: cf,
    });
    vrf_id
}

/// Subnet `sname` of a VPC → its VLAN (made once per vid and group) and an active prefix in the
/// VPC's VRF; `None`, with a warning, when it has no subnet or no VLAN.
fn subnet(b: &mut Build, vpc: &VpcVrf<'_>, sname: &str, s: &VpcSubnet) -> Option<BriefVlan> {
    let (Some(subnet), Some(vid)) = (s.subnet.clone(), s.vlan) else {
        b.warnings.push(format!(
            "VPC {:?} subnet {sname:?} has no subnet or VLAN; not imported",
            vpc.name
        ));
        return None;
    };
    let vlan = b.vlan(vid, vpc.group);
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
            id: vpc.vrf_id,
            name: Some(vpc.name.to_string()),
            ..Brief::default()
        }),
        vlan: Some(vlan.clone()),
        scope_type: Some("dcim.site".into()),
        scope_id: Some(b.snap.site.id),
        tags: Vec::new(),
        custom_fields: cf,
    });
    Some(vlan)
}

/// VPC attachments → the subnet's VLAN on the server-side interface of the connection
/// (untagged for a native VLAN, else tagged).
pub(super) fn vpc_attachments(
    b: &mut Build,
    d: &Diagram,
    server_iface: &BTreeMap<String, u64>,
    vlan_of_subnet: &BTreeMap<String, BriefVlan>,
) {
    for a in &d.vpc_attachments {
        let aname = a.metadata.name.clone().unwrap_or_default();
        let (Some(conn), Some(subnet)) = (&a.spec.connection, &a.spec.subnet) else {
            continue;
        };
        let (Some(iface), Some(vlan)) = (
            server_iface.get(conn).copied(),
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
}

/// External attachments → the switch IP on the switch interface, the neighbour IP (with the
/// switch IP's prefix length) on the external interface, and the switch-side VLAN untagged.
pub(super) fn external_attachments(
    b: &mut Build,
    d: &Diagram,
    ext_ifaces: &BTreeMap<String, (u64, u64)>,
) {
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
}
