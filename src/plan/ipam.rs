//! IPAM rules: VLAN groups → VLANNamespace, container prefixes → IPv4Namespace, VRFs with
//! prefixes and VLANs → VPC, server interface VLANs → VPCAttachment, VRF custom fields →
//! VPCPeering / ExternalPeering, external devices → External (+ ExternalAttachment from IPs).
//!
//! Pure; wiring kinds are `wiring/`, the subnet and VLAN checks across VPCs `subnets.rs`.

use std::collections::{BTreeMap, BTreeSet};

use super::finding::show;
use super::index::{cidr_key, natural_key};
use super::subnets::{self, VpcNet, VpcNets};
use super::values::{self, Owner};
use super::wiring::{DevClass, Wiring};
use super::{Builder, SourceRef};
use crate::hedgehog::Kind;
use crate::hedgehog::formats::Ipv4Prefix;
use crate::hedgehog::names::is_rfc1123_label;
use crate::hedgehog::vpc::*;
use crate::hedgehog::wiring::{VLANNamespaceSpec, VlanRange};
use crate::netbox::model::{IpAddress, Prefix, VlanGroup, Vrf, cf_bool, cf_int, cf_str};

/// A VPC that was planned: what its attachments and peerings need.
struct PlannedVpc {
    vrf_id: u64,
    name: String,
    ipv4_namespace: String,
    /// VLAN object id → subnet name.
    subnet_of_vlan: BTreeMap<u64, String>,
    subnets: Vec<String>,
    /// The subnets as prefixes, for the checks across VPCs.
    nets: Vec<VpcNet>,
}

/// External name → (device id, IPv4 namespace), for the Externals planned.
type Externals = BTreeMap<String, (u64, String)>;

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

/// A prefix's status value (`active` when unset).
fn status(p: &Prefix) -> &str {
    p.status.as_ref().map_or("active", |s| s.value.as_str())
}

/// Plans the IPAM kinds from the site's VLAN groups, prefixes, VRFs and the wiring pass's
/// devices and connections.
pub(crate) fn plan_ipam(b: &mut Builder<'_>, w: &Wiring) {
    let idx = b.idx;
    let vlan_namespaces = plan_vlan_namespaces(b);
    let site_prefixes: Vec<&Prefix> = idx
        .prefixes
        .values()
        .filter(|p| idx.scoped_to_site(&p.scope_type, &p.scope_id))
        .copied()
        .collect();
    let ipv4_namespaces = plan_ipv4_namespaces(b, &site_prefixes);
    let vpcs = plan_vpcs(b, &site_prefixes);
    let nets: Vec<VpcNets<'_>> = vpcs
        .iter()
        .map(|v| VpcNets {
            vpc: &v.name,
            ipv4_namespace: &v.ipv4_namespace,
            nets: &v.nets,
        })
        .collect();
    subnets::check_vpcs(b, &nets, &ipv4_namespaces, &vlan_namespaces);
    plan_vpc_attachments(b, w, &vpcs);
    let externals = plan_externals(b, w);
    plan_external_attachments(b, w, &externals);
    plan_peerings(b, &vpcs, &externals);
}

/// VLANNamespace: one per VLAN group of the site with valid VLAN ranges. Returns the ranges of
/// those planned, by name.
fn plan_vlan_namespaces(b: &mut Builder<'_>) -> BTreeMap<String, Vec<VlanRange>> {
    let idx = b.idx;
    let mut planned = BTreeMap::new();
    for g in idx.vlan_groups.values() {
        if !idx.scoped_to_site(&g.scope_type, &g.scope_id) {
            continue;
        }
        if let Some(ranges) = vlan_ranges(b, g) {
            let spec = VLANNamespaceSpec { ranges };
            if b.add(
                Kind::VLANNamespace,
                &g.slug,
                &spec,
                SourceRef::one("ipam.vlangroup", g.id),
                "slug",
                &g.name,
            ) {
                planned.insert(g.slug.clone(), spec.ranges);
            }
        }
    }
    planned
}

/// The sorted VLAN ranges of a VLAN group; `None` after fatal findings (a range outside
/// 1-4094 or reversed, no ranges or more than 20, overlaps).
fn vlan_ranges(b: &mut Builder<'_>, g: &VlanGroup) -> Option<Vec<VlanRange>> {
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
    ok.then_some(ranges)
}

/// IPv4Namespace: the site's container prefixes grouped by `hedgehog_ipv4_namespace`, at most
/// 10 each, not overlapping. Returns the subnets of those planned, by name.
fn plan_ipv4_namespaces(
    b: &mut Builder<'_>,
    site_prefixes: &[&Prefix],
) -> BTreeMap<String, Vec<Ipv4Prefix>> {
    let mut planned = BTreeMap::new();
    let mut namespaces: BTreeMap<String, Vec<&Prefix>> = BTreeMap::new();
    for p in site_prefixes {
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
                    "IPv4Namespace {} would get {} subnets; Hedgehog allows at most 10",
                    show(&ns),
                    pfx.len()
                ),
            );
            continue;
        }
        let Some(nets) = subnets::namespace_subnets(b, &ns, &pfx) else {
            continue;
        };
        let subnets = pfx.iter().map(|p| p.prefix.clone()).collect();
        if b.add(
            Kind::IPv4Namespace,
            &ns,
            &IPv4NamespaceSpec { subnets },
            SourceRef::many("ipam.prefix", pfx.iter().map(|p| p.id).collect()),
            "custom_fields.hedgehog_ipv4_namespace",
            &first.prefix,
        ) {
            planned.insert(ns, nets);
        }
    }
    planned
}

/// VPC: one per VRF whose site prefixes make at least one subnet.
fn plan_vpcs(b: &mut Builder<'_>, site_prefixes: &[&Prefix]) -> Vec<PlannedVpc> {
    let idx = b.idx;
    let mut vpcs: Vec<PlannedVpc> = Vec::new();
    let mut vrf_prefixes: BTreeMap<u64, Vec<&Prefix>> = BTreeMap::new();
    for p in site_prefixes {
        if let Some(v) = &p.vrf {
            vrf_prefixes.entry(v.id).or_default().push(p);
        }
    }
    for (vrf_id, mut pfx) in vrf_prefixes {
        let Some(vrf) = idx.vrfs.get(&vrf_id) else {
            continue;
        };
        pfx.sort_by_key(|p| cidr_key(&p.prefix));
        if let Some(v) = plan_vpc(b, vrf, pfx) {
            vpcs.push(v);
        }
    }
    vpcs
}

/// The subnets of one VRF, as [`vrf_subnets`] found them.
struct VrfSubnets {
    /// Slugs of the VLAN groups of the subnets' VLANs.
    vlan_groups: BTreeSet<String>,
    /// VLAN object id → subnet name.
    subnet_of_vlan: BTreeMap<u64, String>,
    /// False when a subnet name was taken twice.
    ok: bool,
    /// The subnets that are usable prefixes.
    nets: Vec<VpcNet>,
}

/// The VPC of one VRF from its prefixes (sorted); `None` when it has no subnet or after a fatal
/// finding.
fn plan_vpc(b: &mut Builder<'_>, vrf: &Vrf, pfx: Vec<&Prefix>) -> Option<PlannedVpc> {
    let ns = cf_str(&vrf.custom_fields, "hedgehog_ipv4_namespace");
    if let Some(ns) = ns {
        let o = Owner {
            ty: "ipam.vrf",
            id: vrf.id,
            name: &vrf.name,
        };
        const FIELD: &str = "custom_fields.hedgehog_ipv4_namespace";
        values::object_ref(&mut b.f, o, FIELD, Kind::IPv4Namespace, ns);
    }
    let mut spec = VPCSpec {
        ipv4_namespace: Some(ns.unwrap_or("default").to_string()),
        ..Default::default()
    };
    let found = vrf_subnets(b, vrf, pfx, &mut spec);
    if spec.subnets.is_empty() {
        return None;
    }
    if found.vlan_groups.len() > 1 {
        b.f.fatal(
            "vpc-vlan-namespace-conflict",
            "ipam.vrf",
            vrf.id,
            &vrf.name,
            "vlan",
            format!(
                "VPC subnets use VLANs of several VLAN groups ({}); one VPC has one VLANNamespace",
                found
                    .vlan_groups
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return None;
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
        return None;
    }
    if !found.ok {
        return None;
    }
    spec.vlan_namespace = found.vlan_groups.into_iter().next();
    let subnets: Vec<String> = spec.subnets.keys().cloned().collect();
    let ipv4_namespace = spec.ipv4_namespace.clone().unwrap_or_default();
    b.add(
        Kind::VPC,
        &vrf.name,
        &spec,
        SourceRef::one("ipam.vrf", vrf.id),
        "name",
        &vrf.name,
    )
    .then(|| PlannedVpc {
        vrf_id: vrf.id,
        name: vrf.name.clone(),
        ipv4_namespace,
        subnet_of_vlan: found.subnet_of_vlan,
        subnets,
        nets: found.nets,
    })
}

/// Fills `spec.subnets` from the active prefixes of a VRF that have a VLAN (named by
/// `hedgehog_subnet`, else `subnet-NN`); a prefix without a VLAN is a warning, a name taken
/// twice is fatal.
fn vrf_subnets(
    b: &mut Builder<'_>,
    vrf: &Vrf,
    pfx: Vec<&Prefix>,
    spec: &mut VPCSpec,
) -> VrfSubnets {
    let idx = b.idx;
    let mut found = VrfSubnets {
        vlan_groups: BTreeSet::new(),
        subnet_of_vlan: BTreeMap::new(),
        ok: true,
        nets: Vec::new(),
    };
    let mut n = 0usize;
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
                    "prefix in VRF {} has no VLAN, so it is not a VPC subnet",
                    show(&vrf.name)
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
        found.vlan_groups.insert(group.clone());
        let sname = cf_str(&p.custom_fields, "hedgehog_subnet")
            .map_or_else(|| format!("subnet-{n:02}"), str::to_string);
        if !is_rfc1123_label(&sname) {
            b.f.fatal(
                "invalid-name",
                "ipam.prefix",
                p.id,
                &p.prefix,
                "custom_fields.hedgehog_subnet",
                format!(
                    "subnet name {} is not a lowercase RFC 1123 label (a-z, 0-9 and '-', at most 63 characters)",
                    show(&sname)
                ),
            );
        }
        if spec.subnets.contains_key(&sname) {
            b.f.fatal(
                "name-collision",
                "ipam.prefix",
                p.id,
                &p.prefix,
                "custom_fields.hedgehog_subnet",
                format!(
                    "VPC {} already has a subnet named {}",
                    show(&vrf.name),
                    show(&sname)
                ),
            );
            found.ok = false;
            continue;
        }
        let dhcp = dhcp_of(p);
        if let Some(net) = subnets::vpc_subnet(b, p) {
            if dhcp.is_some() {
                subnets::dhcp_range(b, p, net);
            }
            found.nets.push(VpcNet {
                prefix_id: p.id,
                net,
                vlan_ns: group,
                vid,
            });
        }
        spec.subnets.insert(
            sname.clone(),
            VpcSubnet {
                subnet: Some(p.prefix.clone()),
                vlan: Some(vid),
                dhcp,
                ..Default::default()
            },
        );
        found.subnet_of_vlan.insert(vlan_ref.id, sname);
    }
    found
}

/// DHCP of a subnet prefix: enabled by `hedgehog_dhcp`, with the range of
/// `hedgehog_dhcp_start` / `hedgehog_dhcp_end` when either is set.
fn dhcp_of(p: &Prefix) -> Option<VpcDhcp> {
    if cf_bool(&p.custom_fields, "hedgehog_dhcp") != Some(true) {
        return None;
    }
    let start = cf_str(&p.custom_fields, "hedgehog_dhcp_start").map(str::to_string);
    let end = cf_str(&p.custom_fields, "hedgehog_dhcp_end").map(str::to_string);
    Some(VpcDhcp {
        enable: Some(true),
        range: (start.is_some() || end.is_some()).then_some(VpcDhcpRange { start, end }),
        ..Default::default()
    })
}

/// VPCAttachment: one per VLAN of a server connection's interface (untagged = native) that is
/// the VLAN of a planned VPC subnet; other VLANs are a warning.
fn plan_vpc_attachments(b: &mut Builder<'_>, w: &Wiring, vpcs: &[PlannedVpc]) {
    let idx = b.idx;
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
}

/// External: one per external device of the fabric (its IPv4 namespace a usable name, its
/// communities BGP communities).
fn plan_externals(b: &mut Builder<'_>, w: &Wiring) -> Externals {
    let idx = b.idx;
    let mut externals: Externals = BTreeMap::new();
    for (&dev_id, class) in &w.class {
        if *class != DevClass::External {
            continue;
        }
        let d = &idx.devices[&dev_id];
        let name = &w.names[&dev_id];
        let o = Owner {
            ty: "dcim.device",
            id: dev_id,
            name,
        };
        let ns = cf_str(&d.custom_fields, "hedgehog_ipv4_namespace");
        if let Some(ns) = ns {
            const FIELD: &str = "custom_fields.hedgehog_ipv4_namespace";
            values::object_ref(&mut b.f, o, FIELD, Kind::IPv4Namespace, ns);
        }
        let ns = ns.unwrap_or("default").to_string();
        let mut community = |cf: &str| {
            let v = cf_str(&d.custom_fields, cf)?;
            values::community(&mut b.f, o, &format!("custom_fields.{cf}"), v).then(|| v.to_string())
        };
        let spec = ExternalSpec {
            ipv4_namespace: Some(ns.clone()),
            inbound_community: community("hedgehog_inbound_community"),
            outbound_community: community("hedgehog_outbound_community"),
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
    externals
}

/// ExternalAttachment: one per external connection to a planned External whose two ends both
/// have an IP address; without them, a warning.
fn plan_external_attachments(b: &mut Builder<'_>, w: &Wiring, externals: &Externals) {
    let idx = b.idx;
    for (conn, sw_if, ext_if, ext_dev, cable) in &w.external_conns {
        let ext_name = &w.names[ext_dev];
        if !externals.contains_key(ext_name) {
            continue;
        }
        let sw_iface = idx.interfaces[sw_if];
        let (Some(sw_ip), Some(ext_ip)) = (
            idx.ips_of_interface(*sw_if).first(),
            idx.ips_of_interface(*ext_if).first(),
        ) else {
            b.f.warn("external-attachment-incomplete", "dcim.cable", *cable, conn, "ip_addresses", "the switch interface and the external device interface each need an IP address for an ExternalAttachment; none planned");
            continue;
        };
        let mut usable = |a: &IpAddress| {
            let o = Owner {
                ty: "ipam.ipaddress",
                id: a.id,
                name: &a.address,
            };
            values::ipv4_prefix(&mut b.f, o, "address", &a.address, false)
        };
        let (Some(_), Some(neighbor)) = (usable(sw_ip), usable(ext_ip)) else {
            continue;
        };
        let (sw_ip, ext_ip) = (sw_ip.address.clone(), neighbor.addr.to_string());
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
}

/// VPCPeering / ExternalPeering from the VRFs' `hedgehog_peers` and `hedgehog_externals`.
fn plan_peerings(b: &mut Builder<'_>, vpcs: &[PlannedVpc], externals: &Externals) {
    let idx = b.idx;
    let vpc_by_name: BTreeMap<&str, &PlannedVpc> =
        vpcs.iter().map(|v| (v.name.as_str(), v)).collect();
    let mut peer_pairs: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for v in vpcs {
        let vrf = idx.vrfs[&v.vrf_id];
        if let Some(peers) = cf_str(&vrf.custom_fields, "hedgehog_peers") {
            vpc_peer_pairs(b, v, vrf, peers, &vpc_by_name, &mut peer_pairs);
        }
        if let Some(exts) = cf_str(&vrf.custom_fields, "hedgehog_externals") {
            plan_external_peerings(b, v, vrf, exts, externals);
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

/// The VPC pairs `peers` (VPC `v`'s `hedgehog_peers`) names, each under its names in order,
/// with the VRFs that name it; peering with itself or an unknown VPC is fatal.
fn vpc_peer_pairs(
    b: &mut Builder<'_>,
    v: &PlannedVpc,
    vrf: &Vrf,
    peers: &str,
    vpc_by_name: &BTreeMap<&str, &PlannedVpc>,
    peer_pairs: &mut BTreeMap<(String, String), Vec<u64>>,
) {
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
                format!("{} is not a VPC of this fabric", show(&peer)),
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

/// ExternalPeering: one per External that `exts` (VPC `v`'s `hedgehog_externals`) names, all
/// of the VPC's subnets to everything; an unknown External or another IPv4 namespace is fatal.
fn plan_external_peerings(
    b: &mut Builder<'_>,
    v: &PlannedVpc,
    vrf: &Vrf,
    exts: &str,
    externals: &Externals,
) {
    for ext in split_list(exts) {
        let Some((_, ext_ns)) = externals.get(&ext) else {
            b.f.fatal(
                "unknown-external",
                "ipam.vrf",
                vrf.id,
                &vrf.name,
                "custom_fields.hedgehog_externals",
                format!("{} is not an External of this fabric", show(&ext)),
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
                    "VPC is in IPv4Namespace {} but External {} is in {}",
                    show(&v.ipv4_namespace),
                    show(&ext),
                    show(ext_ns)
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
