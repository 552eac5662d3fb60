//! The IPAM data Hedgehog's VPC and IPv4Namespace webhooks refuse, each caught by the plan as a
//! fatal finding naming the NetBox prefix, VRF or device and the field: overlapping subnets,
//! subnets outside their namespace, one VLAN on two subnets, bad DHCP ranges, subnets that are
//! not prefixes, and names that would go into a spec unchecked.

use super::*;

const SITE_SCOPE: (&str, u64) = ("dcim.site", 1);

/// Spine and two leaves, a site VLAN group `default` (1000-2999) and a container prefix
/// 10.0.0.0/16 (#1) of IPv4 namespace `default`.
fn ipam() -> B {
    let (mut b, _, _, _) = spine_leaf();
    b.s.vlan_groups.push(VlanGroup {
        id: 1,
        name: "Default".into(),
        slug: "default".into(),
        scope_type: Some(SITE_SCOPE.0.into()),
        scope_id: Some(SITE_SCOPE.1),
        vid_ranges: vec![[1000, 2999]],
        ..VlanGroup::default()
    });
    container(&mut b, 1, "10.0.0.0/16", "default");
    b
}

fn container(b: &mut B, id: u64, prefix: &str, ns: &str) {
    b.s.prefixes.push(Prefix {
        id,
        prefix: prefix.into(),
        status: Some(Choice::new("container")),
        scope_type: Some(SITE_SCOPE.0.into()),
        scope_id: Some(SITE_SCOPE.1),
        custom_fields: [("hedgehog_ipv4_namespace".to_string(), json!(ns))].into(),
        ..Prefix::default()
    });
}

fn vrf(b: &mut B, id: u64, name: &str) {
    b.s.vrfs.push(Vrf {
        id,
        name: name.into(),
        ..Vrf::default()
    });
}

/// VLAN `id` with `vid` in group 1 (added once).
fn vlan(b: &mut B, id: u64, vid: u16) {
    if !b.s.vlans.iter().any(|v| v.id == id) {
        b.s.vlans.push(Vlan {
            id,
            vid,
            group: Some(Brief::id(1)),
            ..Vlan::default()
        });
    }
}

/// An active site prefix `id` of VRF `vrf_id` on VLAN `vlan_id` (vid `vid`): a VPC subnet.
fn subnet(b: &mut B, id: u64, prefix: &str, vrf_id: u64, vlan_id: u64, vid: u16) {
    vlan(b, vlan_id, vid);
    b.s.prefixes.push(Prefix {
        id,
        prefix: prefix.into(),
        status: Some(Choice::new("active")),
        vrf: Some(Brief::id(vrf_id)),
        vlan: Some(BriefVlan {
            id: vlan_id,
            vid,
            name: None,
        }),
        scope_type: Some(SITE_SCOPE.0.into()),
        scope_id: Some(SITE_SCOPE.1),
        ..Prefix::default()
    });
}

fn prefix_cf(b: &mut B, id: u64, k: &str, v: Value) {
    b.s.prefixes
        .iter_mut()
        .find(|p| p.id == id)
        .unwrap()
        .custom_fields
        .insert(k.into(), v);
}

/// (object type, id, field) of every fatal finding with `code`, sorted.
fn hits(p: &Plan, code: &str) -> Vec<(String, u64, String)> {
    let mut v: Vec<(String, u64, String)> = fatal(p, code)
        .iter()
        .map(|f| (f.object_type.clone(), f.object_id, f.field.clone()))
        .collect();
    v.sort();
    v
}

fn on(object_type: &str, id: u64, field: &str) -> (String, u64, String) {
    (object_type.to_string(), id, field.to_string())
}

#[test]
fn valid_ipam_base_has_no_findings() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    subnet(&mut b, 10, "10.0.1.0/24", 1, 11, 1001);
    subnet(&mut b, 11, "10.0.2.0/24", 1, 12, 1002);
    prefix_cf(&mut b, 10, "hedgehog_dhcp", json!(true));
    prefix_cf(&mut b, 10, "hedgehog_dhcp_start", json!("10.0.1.10"));
    prefix_cf(&mut b, 10, "hedgehog_dhcp_end", json!("10.0.1.255"));
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert!(p.get(Kind::VPC, "vpc-1").is_some());
}

#[test]
fn overlapping_vpc_subnets_are_fatal_within_a_vpc_and_across_vpcs_of_one_namespace() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    vrf(&mut b, 2, "vpc-2");
    vrf(&mut b, 3, "vpc-3");
    // within vpc-1: 10.0.1.128/25 lies in 10.0.1.0/24
    subnet(&mut b, 10, "10.0.1.0/24", 1, 11, 1001);
    subnet(&mut b, 11, "10.0.1.128/25", 1, 12, 1002);
    // vpc-2 in the same namespace: 10.0.1.64/26 lies in vpc-1's 10.0.1.0/24
    subnet(&mut b, 12, "10.0.1.64/26", 2, 13, 1003);
    // vpc-3 in another namespace may reuse the addresses
    container(&mut b, 2, "10.0.0.0/16", "other");
    b.s.vrfs
        .iter_mut()
        .find(|v| v.id == 3)
        .unwrap()
        .custom_fields
        .insert("hedgehog_ipv4_namespace".into(), json!("other"));
    subnet(&mut b, 13, "10.0.1.0/24", 3, 14, 1004);
    let p = b.plan();
    assert_eq!(
        hits(&p, "subnet-overlap"),
        vec![
            on("ipam.prefix", 11, "prefix"),
            on("ipam.prefix", 12, "prefix")
        ],
        "{:#?}",
        p.findings
    );
    let f = fatal(&p, "subnet-overlap");
    assert!(
        f.iter()
            .all(|f| f.reason.contains("10.0.1.0/24") && f.reason.contains("vpc-1")),
        "{f:#?}"
    );
    // container prefixes of one namespace must not overlap either (IPv4Namespace webhook)
    let mut b = ipam();
    container(&mut b, 2, "10.0.128.0/17", "default");
    assert_eq!(
        hits(&b.plan(), "subnet-overlap"),
        vec![on("ipam.prefix", 2, "prefix")]
    );
}

#[test]
fn vpc_subnet_outside_its_ipv4_namespace_is_fatal() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    subnet(&mut b, 10, "192.168.1.0/24", 1, 11, 1001);
    // starts inside 10.0.0.0/16 but is wider than it
    subnet(&mut b, 11, "10.0.0.0/15", 1, 12, 1002);
    subnet(&mut b, 12, "10.0.3.0/24", 1, 13, 1003);
    let p = b.plan();
    assert_eq!(
        hits(&p, "subnet-outside-namespace"),
        vec![
            on("ipam.prefix", 10, "prefix"),
            on("ipam.prefix", 11, "prefix")
        ],
        "{:#?}",
        p.findings
    );
    assert!(
        fatal(&p, "subnet-outside-namespace")[0]
            .reason
            .contains("\"default\"")
    );
}

#[test]
fn one_vlan_on_two_vpc_subnets_is_fatal() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    vrf(&mut b, 2, "vpc-2");
    subnet(&mut b, 10, "10.0.1.0/24", 1, 11, 1001);
    // the same VLAN again in vpc-1 and in vpc-2 (one VLAN namespace)
    subnet(&mut b, 11, "10.0.2.0/24", 1, 11, 1001);
    subnet(&mut b, 12, "10.0.3.0/24", 2, 11, 1001);
    let p = b.plan();
    assert_eq!(
        hits(&p, "vlan-in-two-subnets"),
        vec![on("ipam.prefix", 11, "vlan"), on("ipam.prefix", 12, "vlan")],
        "{:#?}",
        p.findings
    );
    // a VLAN outside its VLAN namespace's ranges (1000-2999)
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    subnet(&mut b, 10, "10.0.1.0/24", 1, 11, 3500);
    assert_eq!(
        hits(&b.plan(), "vlan-outside-namespace"),
        vec![on("ipam.prefix", 10, "vlan")]
    );
}

#[test]
fn dhcp_range_outside_its_subnet_not_an_ip_or_reversed_is_fatal() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    let cases: [(u64, &str, &str, &str); 5] = [
        (10, "10.0.1.0/24", "10.0.2.10", "10.0.1.99"), // start outside
        (11, "10.0.2.0/24", "10.0.2.10", "banana"),    // end not an IP
        (12, "10.0.3.0/24", "10.0.3.99", "10.0.3.10"), // start after end
        (13, "10.0.4.0/24", "10.0.4.1", "10.0.4.50"),  // start is the gateway
        (14, "10.0.5.0/24", "10.0.5.10", "10.0.5.0"),  // end is the subnet address
    ];
    for (i, (id, prefix, start, end)) in cases.into_iter().enumerate() {
        subnet(&mut b, id, prefix, 1, 20 + id, 1001 + i as u16);
        prefix_cf(&mut b, id, "hedgehog_dhcp", json!(true));
        prefix_cf(&mut b, id, "hedgehog_dhcp_start", json!(start));
        prefix_cf(&mut b, id, "hedgehog_dhcp_end", json!(end));
    }
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-dhcp-range"),
        vec![
            on("ipam.prefix", 10, "custom_fields.hedgehog_dhcp_start"),
            on("ipam.prefix", 11, "custom_fields.hedgehog_dhcp_end"),
            on("ipam.prefix", 12, "custom_fields.hedgehog_dhcp_start"),
            on("ipam.prefix", 13, "custom_fields.hedgehog_dhcp_start"),
            on("ipam.prefix", 14, "custom_fields.hedgehog_dhcp_end"),
        ],
        "{:#?}",
        p.findings
    );
}

#[test]
fn vpc_subnets_must_be_ipv4_prefixes_of_at_most_30_bits() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    subnet(&mut b, 10, "10.0.1.0/31", 1, 11, 1001);
    subnet(&mut b, 11, "10.0.999.0/24", 1, 12, 1002);
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-subnet"),
        vec![on("ipam.prefix", 10, "prefix")],
        "{:#?}",
        p.findings
    );
    assert_eq!(
        hits(&p, "invalid-ip"),
        vec![on("ipam.prefix", 11, "prefix")]
    );
}

#[test]
fn names_that_go_into_ipam_specs_are_checked() {
    let mut b = ipam();
    vrf(&mut b, 1, "vpc-1");
    subnet(&mut b, 10, "10.0.1.0/24", 1, 11, 1001);
    prefix_cf(&mut b, 10, "hedgehog_subnet", json!("<b>Subnet_1</b>"));
    vrf(&mut b, 2, "vpc-2");
    b.s.vrfs
        .iter_mut()
        .find(|v| v.id == 2)
        .unwrap()
        .custom_fields
        .insert("hedgehog_ipv4_namespace".into(), json!("../../etc/passwd"));
    subnet(&mut b, 11, "10.0.2.0/24", 2, 12, 1002);
    let ext = b.device("ext-1", "external", "router");
    b.cf(ext, "hedgehog_ipv4_namespace", json!("ns\u{0}1"));
    let p = b.plan();
    let f = hits(&p, "invalid-name");
    for want in [
        on("ipam.prefix", 10, "custom_fields.hedgehog_subnet"),
        on("ipam.vrf", 2, "custom_fields.hedgehog_ipv4_namespace"),
        on("dcim.device", ext, "custom_fields.hedgehog_ipv4_namespace"),
    ] {
        assert!(f.contains(&want), "{want:?} missing in {:#?}", p.findings);
    }
    // the NUL byte is shown escaped, never raw
    assert!(p.findings.iter().all(|f| !f.reason.contains('\0')));
}
