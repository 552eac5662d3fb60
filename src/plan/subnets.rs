//! The subnet rules of Hedgehog's VPC and IPv4Namespace webhooks, as findings: a VPC subnet is
//! an IPv4 prefix of at most /30 with a DHCP range inside it; the subnets of an IPv4 namespace
//! do not overlap; every VPC subnet lies inside a subnet of its IPv4 namespace and overlaps no
//! other VPC subnet of that namespace; every VLAN lies in its VLAN namespace's ranges and is the
//! VLAN of one subnet only.
//!
//! Pure; plans no object (VPCs and namespaces are planned in `ipam.rs`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::Builder;
use super::finding::show;
use super::values::{self, Owner};
use crate::hedgehog::formats::{Ipv4Prefix, dhcp_bound_problem};
use crate::hedgehog::wiring::VlanRange;
use crate::netbox::model::{Prefix, cf_str};

/// Longest VPC subnet prefix Hedgehog accepts.
const MAX_VPC_SUBNET_LEN: u8 = 30;

/// One subnet of a planned VPC, for the checks across VPCs.
pub(super) struct VpcNet {
    pub prefix_id: u64,
    pub net: Ipv4Prefix,
    /// The VLAN namespace (VLAN group slug) and VLAN id of the subnet.
    pub vlan_ns: String,
    pub vid: u16,
}

/// A planned VPC's subnets with its name and IPv4 namespace.
pub(super) struct VpcNets<'v> {
    pub vpc: &'v str,
    pub ipv4_namespace: &'v str,
    pub nets: &'v [VpcNet],
}

fn owner(p: &Prefix) -> Owner<'_> {
    Owner {
        ty: "ipam.prefix",
        id: p.id,
        name: &p.prefix,
    }
}

/// The prefix of a VPC subnet: an IPv4 prefix (fatal `invalid-ip`) of at most /30 (fatal
/// `invalid-subnet`).
pub(super) fn vpc_subnet(b: &mut Builder<'_>, p: &Prefix) -> Option<Ipv4Prefix> {
    let net = values::ipv4_prefix(&mut b.f, owner(p), "prefix", &p.prefix, false)?;
    if net.len > MAX_VPC_SUBNET_LEN {
        owner(p).fatal(
            &mut b.f,
            "invalid-subnet",
            "prefix",
            format!(
                "a VPC subnet of /{} has no room for gateway and hosts; Hedgehog allows at most /{MAX_VPC_SUBNET_LEN}",
                net.len
            ),
        );
        return None;
    }
    Some(net)
}

/// The DHCP range of subnet prefix `p` (`hedgehog_dhcp_start` / `_end`, either may be unset):
/// each bound an address inside the subnet that is neither the subnet's address nor its gateway
/// (the first address, which Hedgehog defaults it to), and start before end; fatal
/// `invalid-dhcp-range` otherwise.
pub(super) fn dhcp_range(b: &mut Builder<'_>, p: &Prefix, net: Ipv4Prefix) {
    const START: &str = "hedgehog_dhcp_start";
    const END: &str = "hedgehog_dhcp_end";
    let start = dhcp_bound(b, p, net, START);
    let end = dhcp_bound(b, p, net, END);
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        owner(p).fatal(
            &mut b.f,
            "invalid-dhcp-range",
            "custom_fields.hedgehog_dhcp_start",
            format!("DHCP range start {s} does not come before its end {e}"),
        );
    }
}

/// One bound (custom field `cf`) of the DHCP range of subnet prefix `p`, when it is set and
/// usable; a fatal `invalid-dhcp-range` when it is set but not.
fn dhcp_bound(b: &mut Builder<'_>, p: &Prefix, net: Ipv4Prefix, cf: &str) -> Option<Ipv4Addr> {
    let v = cf_str(&p.custom_fields, cf)?;
    match dhcp_bound_problem(net, net.default_gateway(), v) {
        Ok(a) => Some(a),
        Err(why) => {
            owner(p).fatal(
                &mut b.f,
                "invalid-dhcp-range",
                &format!("custom_fields.{cf}"),
                format!("DHCP range bound {} {why} {}", show(v), p.prefix),
            );
            None
        }
    }
}

/// Pairs `(i, j)` of indexes into `nets` where `nets[i]` overlaps the earlier `nets[j]` (in
/// address order, then length, then index); each overlapping prefix is named once, against the
/// earlier prefix that reaches furthest.
fn overlapping(nets: &[Ipv4Prefix]) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..nets.len()).collect();
    order.sort_by_key(|&i| (nets[i].first(), nets[i].len, i));
    let mut out = Vec::new();
    let mut reach: Option<usize> = None;
    for i in order {
        if let Some(r) = reach
            && nets[i].first() <= nets[r].last()
        {
            out.push((i, r));
        }
        if reach.is_none_or(|r| nets[i].last() > nets[r].last()) {
            reach = Some(i);
        }
    }
    out
}

/// The subnets of IPv4 namespace `ns` from its container prefixes: each an IPv4 prefix (fatal
/// `invalid-ip`), none overlapping another (fatal `subnet-overlap`); `None` after a finding.
pub(super) fn namespace_subnets(
    b: &mut Builder<'_>,
    ns: &str,
    pfx: &[&Prefix],
) -> Option<Vec<Ipv4Prefix>> {
    let mut nets = Vec::with_capacity(pfx.len());
    for p in pfx {
        nets.push(values::ipv4_prefix(
            &mut b.f,
            owner(p),
            "prefix",
            &p.prefix,
            false,
        ));
    }
    let nets: Vec<Ipv4Prefix> = nets.into_iter().collect::<Option<_>>()?;
    let clashes = overlapping(&nets);
    for &(i, j) in &clashes {
        owner(pfx[i]).fatal(
            &mut b.f,
            "subnet-overlap",
            "prefix",
            format!(
                "overlaps {} (prefix #{}) in IPv4Namespace {}; its subnets must not overlap",
                pfx[j].prefix,
                pfx[j].id,
                show(ns)
            ),
        );
    }
    clashes.is_empty().then_some(nets)
}

/// The checks across planned VPCs: subnets inside their IPv4 namespace (when fabsync plans it)
/// and not overlapping another subnet of it, VLANs inside their VLAN namespace (when planned)
/// and on one subnet only.
pub(super) fn check_vpcs(
    b: &mut Builder<'_>,
    vpcs: &[VpcNets<'_>],
    ipv4_namespaces: &BTreeMap<String, Vec<Ipv4Prefix>>,
    vlan_namespaces: &BTreeMap<String, Vec<VlanRange>>,
) {
    let idx = b.idx;
    // (VPC, subnet) per IPv4 namespace, VPCs in VRF order and subnets in address order
    let mut by_ns: BTreeMap<&str, Vec<(&str, &VpcNet)>> = BTreeMap::new();
    let mut vlan_owner: BTreeMap<(&str, u16), (&str, &VpcNet)> = BTreeMap::new();
    for v in vpcs {
        for n in v.nets {
            let p = idx.prefixes[&n.prefix_id];
            by_ns.entry(v.ipv4_namespace).or_default().push((v.vpc, n));
            if let Some(ns_nets) = ipv4_namespaces.get(v.ipv4_namespace)
                && !ns_nets.iter().any(|outer| n.net.is_subset_of(*outer))
            {
                let list: Vec<String> = ns_nets.iter().map(ToString::to_string).collect();
                owner(p).fatal(
                    &mut b.f,
                    "subnet-outside-namespace",
                    "prefix",
                    format!(
                        "VPC {} subnet is not inside IPv4Namespace {} ({})",
                        show(v.vpc),
                        show(v.ipv4_namespace),
                        list.join(", ")
                    ),
                );
            }
            if let Some(ranges) = vlan_namespaces.get(&n.vlan_ns)
                && !ranges.iter().any(|r| r.from <= n.vid && n.vid <= r.to)
            {
                let list: Vec<String> = ranges
                    .iter()
                    .map(|r| format!("{}-{}", r.from, r.to))
                    .collect();
                owner(p).fatal(
                    &mut b.f,
                    "vlan-outside-namespace",
                    "vlan",
                    format!(
                        "VLAN {} is outside VLANNamespace {} ({})",
                        n.vid,
                        show(&n.vlan_ns),
                        list.join(", ")
                    ),
                );
            }
            match vlan_owner.get(&(n.vlan_ns.as_str(), n.vid)) {
                Some((other_vpc, other)) => owner(p).fatal(
                    &mut b.f,
                    "vlan-in-two-subnets",
                    "vlan",
                    format!(
                        "VLAN {} of VLANNamespace {} is already the VLAN of {} (prefix #{}, VPC {}); a VLAN carries one subnet",
                        n.vid,
                        show(&n.vlan_ns),
                        other.net,
                        other.prefix_id,
                        show(other_vpc)
                    ),
                ),
                None => {
                    vlan_owner.insert((n.vlan_ns.as_str(), n.vid), (v.vpc, n));
                }
            }
        }
    }
    for (ns, nets) in by_ns {
        let prefixes: Vec<Ipv4Prefix> = nets.iter().map(|(_, n)| n.net).collect();
        for (i, j) in overlapping(&prefixes) {
            let (vpc, n) = nets[i];
            let (other_vpc, other) = nets[j];
            let what = if vpc == other_vpc {
                "another subnet of the same VPC"
            } else {
                "a subnet of another VPC"
            };
            owner(idx.prefixes[&n.prefix_id]).fatal(
                &mut b.f,
                "subnet-overlap",
                "prefix",
                format!(
                    "overlaps {} (prefix #{}, VPC {}), {what} in IPv4Namespace {}",
                    other.net,
                    other.prefix_id,
                    show(other_vpc),
                    show(ns)
                ),
            );
        }
    }
}
