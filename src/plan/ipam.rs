//! IPAM rules: VLAN groups → VLANNamespace, container prefixes → IPv4Namespace, VRFs with
//! prefixes and VLANs → VPC, server interface VLANs → VPCAttachment, VRF custom fields →
//! VPCPeering / ExternalPeering, external devices → External (+ ExternalAttachment from IPs).
//!
//! Pure; wiring kinds are `wiring.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::index::{cidr_key, natural_key};
use super::wiring::{DevClass, Wiring};
use super::{Builder, SourceRef};
use crate::hedgehog::Kind;
use crate::hedgehog::vpc::*;
use crate::hedgehog::wiring::{VLANNamespaceSpec, VlanRange};
use crate::netbox::model::{Prefix, cf_bool, cf_int, cf_str};

struct PlannedVpc {
    vrf_id: u64,
    name: String,
    ipv4_namespace: String,
    /// VLAN object id → subnet name.
    subnet_of_vlan: BTreeMap<u64, String>,
    subnets: Vec<String>,
}

fn split_list(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn plan_ipam(b: &mut Builder<'_>, w: &Wiring) {
    let idx = b.idx;

    // --- VLANNamespace ----------------------------------------------------------------------
    for g in idx.vlan_groups.values() {
        if !idx.scoped_to_site(&g.scope_type, &g.scope_id) {
            continue;
        }
        let mut ranges: Vec<VlanRange> = Vec::new();
        let mut ok = true;
        for r in &g.vid_ranges {
            let (from, to) = (r[0], r[1]);
            if from < 1 || to > 4094 || from > to {
                b.f.fatal(
                    "invalid-vlan-range",
                    "ipam.vlangroup",
                    g.id,
                    &g.name,
                    "vid_ranges",
                    format!("range {from}-{to} is not within 1-4094 with from ≤ to"),
                );
                ok = false;
            }
            ranges.push(VlanRange { from, to });
        }
        ranges.sort();
        if ranges.is_empty() || ranges.len() > 20 {
            b.f.fatal(
                "invalid-vlan-range",
                "ipam.vlangroup",
                g.id,
                &g.name,
                "vid_ranges",
                format!(
                    "has {} VLAN ranges; a VLANNamespace needs 1 to 20",
                    ranges.len()
                ),
            );
            ok = false;
        }
        if ranges.windows(2).any(|p| p[1].from <= p[0].to) {
            b.f.fatal(
                "invalid-vlan-range",
                "ipam.vlangroup",
                g.id,
                &g.name,
                "vid_ranges",
                "VLAN ranges overlap",
            );
            ok = false;
        }
        if ok {
            b.add(
                Kind::VLANNamespace,
                &g.slug,
                &VLANNamespaceSpec { ranges },
                SourceRef::one("ipam.vlangroup", g.id),
                "slug",
                &g.name,
            );
        }
    }

    // --- IPv4Namespace ----------------------------------------------------------------------
    let site_prefixes: Vec<&Prefix> = idx
        .prefixes
        .values()
        .filter(|p| idx.scoped_to_site(&p.scope_type, &p.scope_id))
        .copied()
        .collect();
    let status = |p: &Prefix| {
        p.status
            .as_ref()
            .map_or("active".to_string(), |s| s.value.clone())
    };
    let mut namespaces: BTreeMap<String, Vec<&Prefix>> = BTreeMap::new();
    for p in &site_prefixes {
        if status(p) != "container" {
            continue;
        }
        if let Some(ns) = cf_str(&p.custom_fields, "hedgehog_ipv4_namespace") {
            namespaces.entry(ns.to_string()).or_default().push(p);
        }
    }
    for (ns, mut pfx) in namespaces {
        pfx.sort_by_key(|p| cidr_key(&p.prefix));
        let first = pfx[0];
        if pfx.len() > 10 {
            b.f.fatal(
                "too-many-subnets",
                "ipam.prefix",
                first.id,
                &first.prefix,
                "custom_fields.hedgehog_ipv4_namespace",
                format!(
                    "IPv4Namespace {ns:?} would get {} subnets; Hedgehog allows at most 10",
                    pfx.len()
                ),
            );
            continue;
        }
        let subnets = pfx.iter().map(|p| p.prefix.clone()).collect();
        b.add(
            Kind::IPv4Namespace,
            &ns,
            &IPv4NamespaceSpec { subnets },
            SourceRef::many("ipam.prefix", pfx.iter().map(|p| p.id).collect()),
            "custom_fields.hedgehog_ipv4_namespace",
            &first.prefix,
        );
    }

    // --- VPC --------------------------------------------------------------------------------
    let mut vpcs: Vec<PlannedVpc> = Vec::new();
    let mut vrf_prefixes: BTreeMap<u64, Vec<&Prefix>> = BTreeMap::new();
    for p in &site_prefixes {
        if let Some(v) = &p.vrf {
            vrf_prefixes.entry(v.id).or_default().push(p);
        }
    }
    for (vrf_id, mut pfx) in vrf_prefixes {
        let Some(vrf) = idx.vrfs.get(&vrf_id) else {
            continue;
        };
        pfx.sort_by_key(|p| cidr_key(&p.prefix));
        let mut spec = VPCSpec {
            ipv4_namespace: Some(
                cf_str(&vrf.custom_fields, "hedgehog_ipv4_namespace")
                    .unwrap_or("default")
                    .to_string(),
            ),
            ..Default::default()
        };
        let mut vlan_groups: BTreeSet<String> = BTreeSet::new();
        let mut subnet_of_vlan = BTreeMap::new();
        let mut n = 0usize;
        let mut ok = true;
        for p in pfx {
            if status(p) != "active" {
                continue;
            }
            let Some(vlan_ref) = &p.vlan else {
                b.f.warn(
                    "prefix-without-vlan",
                    "ipam.prefix",
                    p.id,
                    &p.prefix,
                    "vlan",
                    format!(
                        "prefix in VRF {:?} has no VLAN, so it is not a VPC subnet",
                        vrf.name
                    ),
                );
                continue;
            };
            n += 1;
            let vlan = idx.vlans.get(&vlan_ref.id);
            let vid = vlan.map_or(vlan_ref.vid, |v| v.vid);
            let group = vlan
                .and_then(|v| v.group.as_ref())
                .and_then(|g| {
                    idx.vlan_groups
                        .get(&g.id)
                        .map(|vg| vg.slug.clone())
                        .or_else(|| g.slug.clone())
                })
                .unwrap_or_else(|| "default".to_string());
            vlan_groups.insert(group);
            let sname = cf_str(&p.custom_fields, "hedgehog_subnet")
                .map_or_else(|| format!("subnet-{n:02}"), str::to_string);
            if spec.subnets.contains_key(&sname) {
                b.f.fatal(
                    "name-collision",
                    "ipam.prefix",
                    p.id,
                    &p.prefix,
                    "custom_fields.hedgehog_subnet",
                    format!("VPC {:?} already has a subnet named {sname:?}", vrf.name),
                );
                ok = false;
                continue;
            }
            let dhcp = match cf_bool(&p.custom_fields, "hedgehog_dhcp") {
                Some(true) => {
                    let start = cf_str(&p.custom_fields, "hedgehog_dhcp_start").map(str::to_string);
                    let end = cf_str(&p.custom_fields, "hedgehog_dhcp_end").map(str::to_string);
                    Some(VpcDhcp {
                        enable: Some(true),
                        range: (start.is_some() || end.is_some())
                            .then_some(VpcDhcpRange { start, end }),
                        ..Default::default()
                    })
                }
                _ => None,
            };
            spec.subnets.insert(
                sname.clone(),
                VpcSubnet {
                    subnet: Some(p.prefix.clone()),
                    vlan: Some(vid),
                    dhcp,
                    ..Default::default()
                },
            );
            subnet_of_vlan.insert(vlan_ref.id, sname);
        }
        if spec.subnets.is_empty() {
            continue;
        }
        if vlan_groups.len() > 1 {
            b.f.fatal("vpc-vlan-namespace-conflict", "ipam.vrf", vrf.id, &vrf.name, "vlan", format!("VPC subnets use VLANs of several VLAN groups ({}); one VPC has one VLANNamespace", vlan_groups.iter().cloned().collect::<Vec<_>>().join(", ")));
            continue;
        }
        if spec.subnets.len() > 20 {
            b.f.fatal(
                "too-many-subnets",
                "ipam.vrf",
                vrf.id,
                &vrf.name,
                "prefixes",
                format!(
                    "VPC would get {} subnets; Hedgehog allows at most 20",
                    spec.subnets.len()
                ),
            );
            continue;
        }
        if !ok {
            continue;
        }
        spec.vlan_namespace = vlan_groups.into_iter().next();
        let subnets: Vec<String> = spec.subnets.keys().cloned().collect();
        let ipv4_namespace = spec.ipv4_namespace.clone().unwrap_or_default();
        if b.add(
            Kind::VPC,
            &vrf.name,
            &spec,
            SourceRef::one("ipam.vrf", vrf.id),
            "name",
            &vrf.name,
        ) {
            vpcs.push(PlannedVpc {
                vrf_id: vrf.id,
                name: vrf.name.clone(),
                ipv4_namespace,
                subnet_of_vlan,
                subnets,
            });
        }
    }

    // --- VPCAttachment ----------------------------------------------------------------------
    let subnet_by_vlan: BTreeMap<u64, (&PlannedVpc, &String)> = vpcs
        .iter()
        .flat_map(|v| {
            v.subnet_of_vlan
                .iter()
                .map(move |(vlan, s)| (*vlan, (v, s)))
        })
        .collect();
    for (&iface_id, conn) in &w.conn_of_server_iface {
        let Some(iface) = idx.interfaces.get(&iface_id) else {
            continue;
        };
        // LAG members carry no VLANs of their own: the LAG does.
        if iface.lag.is_some() {
            continue;
        }
        let mode = iface.mode.as_ref().map(|m| m.value.as_str());
        let mut vlans: Vec<(u64, bool)> = Vec::new();
        if let Some(u) = &iface.untagged_vlan {
            vlans.push((u.id, true));
        }
        if mode == Some("tagged") {
            vlans.extend(iface.tagged_vlans.iter().map(|t| (t.id, false)));
        }
        for (vlan_id, native) in vlans {
            let Some((vpc, subnet)) = subnet_by_vlan.get(&vlan_id) else {
                b.f.warn("vlan-without-subnet", "dcim.interface", iface.id, &iface.name, if native { "untagged_vlan" } else { "tagged_vlans" }, format!("VLAN #{vlan_id} is not the VLAN of any VPC subnet of this fabric; no VPCAttachment"));
                continue;
            };
            let name = format!("{}--{}--{}", vpc.name, subnet, conn);
            let spec = VPCAttachmentSpec {
                subnet: Some(format!("{}/{}", vpc.name, subnet)),
                connection: Some(conn.clone()),
                native_vlan: native.then_some(true),
            };
            b.add(
                Kind::VPCAttachment,
                &name,
                &spec,
                SourceRef::one("dcim.interface", iface.id),
                "untagged_vlan",
                &iface.name,
            );
        }
    }

    // --- External ---------------------------------------------------------------------------
    let mut externals: BTreeMap<String, (u64, String)> = BTreeMap::new(); // name → (device, ipv4ns)
    for (&dev_id, class) in &w.class {
        if *class != DevClass::External {
            continue;
        }
        let d = &idx.devices[&dev_id];
        let name = &w.names[&dev_id];
        let ns = cf_str(&d.custom_fields, "hedgehog_ipv4_namespace")
            .unwrap_or("default")
            .to_string();
        let spec = ExternalSpec {
            ipv4_namespace: Some(ns.clone()),
            inbound_community: cf_str(&d.custom_fields, "hedgehog_inbound_community")
                .map(str::to_string),
            outbound_community: cf_str(&d.custom_fields, "hedgehog_outbound_community")
                .map(str::to_string),
            static_: None,
        };
        if b.add(
            Kind::External,
            name,
            &spec,
            SourceRef::one("dcim.device", dev_id),
            "name",
            name,
        ) {
            externals.insert(name.clone(), (dev_id, ns));
        }
    }

    // --- ExternalAttachment -----------------------------------------------------------------
    for (conn, sw_if, ext_if, ext_dev, cable) in &w.external_conns {
        let ext_name = &w.names[ext_dev];
        if !externals.contains_key(ext_name) {
            continue;
        }
        let sw_iface = idx.interfaces[sw_if];
        let sw_ip = idx
            .ips_of_interface(*sw_if)
            .first()
            .map(|a| a.address.clone());
        let ext_ip = idx
            .ips_of_interface(*ext_if)
            .first()
            .map(|a| a.address.split('/').next().unwrap_or("").to_string());
        let (Some(sw_ip), Some(ext_ip)) = (sw_ip, ext_ip) else {
            b.f.warn("external-attachment-incomplete", "dcim.cable", *cable, conn, "ip_addresses", "the switch interface and the external device interface each need an IP address for an ExternalAttachment; none planned");
            continue;
        };
        let d = &idx.devices[ext_dev];
        let asn = cf_int(&d.custom_fields, "hedgehog_asn").and_then(|a| u32::try_from(a).ok());
        let sw_name = conn.split("--").next().unwrap_or_default();
        let name = format!("{sw_name}--{ext_name}");
        let spec = ExternalAttachmentSpec {
            external: Some(ext_name.clone()),
            connection: Some(conn.clone()),
            switch: ExternalAttachmentSwitch {
                vlan: sw_iface
                    .untagged_vlan
                    .as_ref()
                    .map(|v| idx.vlans.get(&v.id).map_or(v.vid, |x| x.vid)),
                ip: Some(sw_ip),
            },
            neighbor: ExternalAttachmentNeighbor {
                asn,
                ip: Some(ext_ip),
            },
            static_: None,
            inbound_acl: None,
        };
        b.add(
            Kind::ExternalAttachment,
            &name,
            &spec,
            SourceRef::one("dcim.cable", *cable),
            "terminations",
            conn,
        );
    }

    // --- VPCPeering / ExternalPeering -------------------------------------------------------
    let vpc_by_name: BTreeMap<&str, &PlannedVpc> =
        vpcs.iter().map(|v| (v.name.as_str(), v)).collect();
    let mut peer_pairs: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for v in &vpcs {
        let vrf = &idx.vrfs[&v.vrf_id];
        if let Some(peers) = cf_str(&vrf.custom_fields, "hedgehog_peers") {
            for peer in split_list(peers) {
                if peer == v.name {
                    b.f.fatal(
                        "invalid-peer",
                        "ipam.vrf",
                        vrf.id,
                        &vrf.name,
                        "custom_fields.hedgehog_peers",
                        "a VPC cannot peer with itself",
                    );
                    continue;
                }
                if !vpc_by_name.contains_key(peer.as_str()) {
                    b.f.fatal(
                        "unknown-peer",
                        "ipam.vrf",
                        vrf.id,
                        &vrf.name,
                        "custom_fields.hedgehog_peers",
                        format!("{peer:?} is not a VPC of this fabric"),
                    );
                    continue;
                }
                let pair = if v.name < peer {
                    (v.name.clone(), peer)
                } else {
                    (peer, v.name.clone())
                };
                peer_pairs.entry(pair).or_default().push(vrf.id);
            }
        }
        if let Some(exts) = cf_str(&vrf.custom_fields, "hedgehog_externals") {
            for ext in split_list(exts) {
                let Some((_, ext_ns)) = externals.get(&ext) else {
                    b.f.fatal(
                        "unknown-external",
                        "ipam.vrf",
                        vrf.id,
                        &vrf.name,
                        "custom_fields.hedgehog_externals",
                        format!("{ext:?} is not an External of this fabric"),
                    );
                    continue;
                };
                if *ext_ns != v.ipv4_namespace {
                    b.f.fatal(
                        "ipv4-namespace-mismatch",
                        "ipam.vrf",
                        vrf.id,
                        &vrf.name,
                        "custom_fields.hedgehog_externals",
                        format!(
                            "VPC is in IPv4Namespace {:?} but External {ext:?} is in {ext_ns:?}",
                            v.ipv4_namespace
                        ),
                    );
                    continue;
                }
                let mut subnets = v.subnets.clone();
                subnets.sort_by_key(|s| natural_key(s));
                let spec = ExternalPeeringSpec {
                    permit: Some(ExternalPeeringPermit {
                        vpc: Some(ExternalPeeringVpc {
                            name: Some(v.name.clone()),
                            subnets,
                        }),
                        external: Some(ExternalPeeringExternal {
                            name: Some(ext.clone()),
                            prefixes: vec![ExternalPeeringPrefix {
                                prefix: Some("0.0.0.0/0".into()),
                            }],
                        }),
                    }),
                };
                b.add(
                    Kind::ExternalPeering,
                    &format!("{}--{ext}", v.name),
                    &spec,
                    SourceRef::one("ipam.vrf", vrf.id),
                    "custom_fields.hedgehog_externals",
                    &vrf.name,
                );
            }
        }
    }
    for ((x, y), vrf_ids) in peer_pairs {
        let (vx, vy) = (vpc_by_name[x.as_str()], vpc_by_name[y.as_str()]);
        let first = vrf_ids.iter().min().copied().unwrap_or(0);
        if vx.ipv4_namespace != vy.ipv4_namespace {
            b.f.fatal(
                "ipv4-namespace-mismatch",
                "ipam.vrf",
                first,
                &x,
                "custom_fields.hedgehog_peers",
                format!("VPCs {x:?} and {y:?} are in different IPv4Namespaces"),
            );
            continue;
        }
        let mut permit = BTreeMap::new();
        permit.insert(x.clone(), VpcPeer::default());
        permit.insert(y.clone(), VpcPeer::default());
        let spec = VPCPeeringSpec {
            remote: None,
            permit: vec![permit],
        };
        b.add(
            Kind::VPCPeering,
            &format!("{x}--{y}"),
            &spec,
            SourceRef::many("ipam.vrf", vrf_ids),
            "custom_fields.hedgehog_peers",
            &x,
        );
    }
}
