//! One test per mapping rule of `docs/mapping.md` and per finding, on small hand-built
//! snapshots.

use fabsync::hedgehog::Kind;
use fabsync::netbox::model::*;
use fabsync::plan::{Finding, Plan, PlanConfig, Severity, plan};
use serde_json::{Value, json};

#[derive(Default)]
struct B {
    s: Snapshot,
    next: u64,
}

impl B {
    fn new() -> B {
        let mut b = B::default();
        b.s.site = Site {
            id: 1,
            name: "Fab".into(),
            slug: "fab".into(),
            custom_fields: CustomFields::new(),
        };
        b.next = 100;
        b
    }
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }
    fn device(&mut self, name: &str, role: &str, dtype: &str) -> u64 {
        let id = self.id();
        self.s.devices.push(Device {
            id,
            name: Some(name.into()),
            device_type: Brief {
                id: 1,
                slug: Some(dtype.into()),
                ..Brief::default()
            },
            role: Brief {
                id: 1,
                slug: Some(role.into()),
                ..Brief::default()
            },
            site: Some(Brief::id(1)),
            ..Device::default()
        });
        id
    }
    fn cf(&mut self, dev: u64, k: &str, v: Value) {
        self.s
            .devices
            .iter_mut()
            .find(|d| d.id == dev)
            .unwrap()
            .custom_fields
            .insert(k.into(), v);
    }
    fn iface(&mut self, dev: u64, name: &str) -> u64 {
        if let Some(i) = self
            .s
            .interfaces
            .iter()
            .find(|i| i.device.id == dev && i.name == name)
        {
            return i.id;
        }
        let id = self.id();
        self.s.interfaces.push(Interface {
            id,
            device: Brief::id(dev),
            name: name.into(),
            type_: Some(Choice::new(if name.starts_with("bond") {
                "lag"
            } else {
                "other"
            })),
            ..Interface::default()
        });
        id
    }
    fn lag(&mut self, member: u64, lag: u64) {
        self.s
            .interfaces
            .iter_mut()
            .find(|i| i.id == member)
            .unwrap()
            .lag = Some(Brief::id(lag));
    }
    fn cable(&mut self, a: u64, b: u64) -> u64 {
        let id = self.id();
        let t = |i| {
            vec![Termination {
                object_type: "dcim.interface".into(),
                object_id: i,
                object: None,
            }]
        };
        self.s.cables.push(Cable {
            id,
            a_terminations: t(a),
            b_terminations: t(b),
            ..Cable::default()
        });
        id
    }
    fn link(&mut self, a: (u64, &str), b: (u64, &str)) -> u64 {
        let x = self.iface(a.0, a.1);
        let y = self.iface(b.0, b.1);
        self.cable(x, y)
    }
    fn plan(&self) -> Plan {
        plan(&self.s, &PlanConfig::new("fab"))
    }
}

fn fatal<'a>(p: &'a Plan, code: &str) -> Vec<&'a Finding> {
    p.findings
        .iter()
        .filter(|f| f.severity == Severity::Fatal && f.code == code)
        .collect()
}

fn spine_leaf() -> (B, u64, u64, u64) {
    let mut b = B::new();
    let s = b.device("spine-01", "spine", "vs");
    let l1 = b.device("leaf-01", "server-leaf", "vs");
    let l2 = b.device("leaf-02", "leaf", "vs");
    (b, s, l1, l2)
}

#[test]
fn roles_become_switches_and_servers_with_profile_from_device_type() {
    let (mut b, s, l1, _) = spine_leaf();
    let srv = b.device("server-01", "server", "generic");
    b.cf(l1, "hedgehog_role", json!("border-leaf"));
    b.s.device_types.push(DeviceType {
        id: 1,
        slug: "vs".into(),
        custom_fields: [("hedgehog_profile".to_string(), json!("vs-clsp"))].into(),
        ..DeviceType::default()
    });
    let p = b.plan();
    assert_eq!(
        p.get(Kind::Switch, "spine-01").unwrap().spec["role"],
        "spine"
    );
    assert_eq!(
        p.get(Kind::Switch, "leaf-01").unwrap().spec["role"],
        "border-leaf",
        "custom field overrides the role"
    );
    assert_eq!(
        p.get(Kind::Switch, "leaf-02").unwrap().spec["role"],
        "server-leaf",
        "leaf is an alias"
    );
    // brief slug 'vs' wins for the device type; the list entry with id 1 carries the override
    assert_eq!(
        p.get(Kind::Switch, "spine-01").unwrap().spec["profile"],
        "vs-clsp"
    );
    let server = p.get(Kind::Server, "server-01").unwrap();
    assert!(
        server.spec.get("profile").is_some(),
        "device type 1 has hedgehog_profile"
    );
    assert_eq!(
        server.annotations["fabsync.githedgehog.com/netbox-source"],
        format!("dcim.device/{srv}")
    );
    assert_eq!(server.labels["fabsync.githedgehog.com/fabric"], "fab");
    assert_eq!(server.labels["app.kubernetes.io/managed-by"], "fabsync");
    let _ = s;
}

#[test]
fn unknown_role_is_a_warning_and_a_cable_to_it_is_fatal() {
    let (mut b, _, l1, _) = spine_leaf();
    let pdu = b.device("pdu-1", "pdu", "apc");
    let p = b.plan();
    assert!(p.findings.iter().any(|f| f.code == "unknown-role"
        && f.severity == Severity::Warning
        && f.object_id == pdu
        && f.field == "role"));
    assert!(!p.has_fatal());
    let c = b.link((l1, "E1/20"), (pdu, "eth0"));
    let p = b.plan();
    let f = fatal(&p, "cable-outside-fabric");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].object_type.as_str(), f[0].object_id),
        ("dcim.cable", c)
    );
}

#[test]
fn hydrated_values_come_from_netbox_or_stay_absent() {
    let (mut b, s, l1, _) = spine_leaf();
    b.cf(l1, "hedgehog_asn", json!(65101));
    b.cf(l1, "hedgehog_vtep_ip", json!("172.30.12.1/32"));
    b.s.devices
        .iter_mut()
        .find(|d| d.id == l1)
        .unwrap()
        .primary_ip4 = Some(BriefIp {
        id: 1,
        address: "172.30.0.5/21".into(),
    });
    let p = b.plan();
    let leaf = &p.get(Kind::Switch, "leaf-01").unwrap().spec;
    assert_eq!(leaf["asn"], 65101);
    assert_eq!(leaf["vtepIP"], "172.30.12.1/32");
    assert_eq!(leaf["ip"], "172.30.0.5/21");
    let spine = &p.get(Kind::Switch, "spine-01").unwrap().spec;
    for k in [
        "asn",
        "ip",
        "vtepIP",
        "protocolIP",
        "redundancy",
        "groups",
        "boot",
    ] {
        assert!(spine.get(k).is_none(), "{k} must be absent: {spine}");
    }
    let _ = s;
}

#[test]
fn boot_mac_serial_and_breakouts() {
    let (mut b, s, _, _) = spine_leaf();
    let m1 = b.iface(s, "M1");
    b.s.interfaces
        .iter_mut()
        .find(|i| i.id == m1)
        .unwrap()
        .primary_mac_address = Some(BriefMac {
        id: 1,
        // NetBox shows MAC addresses uppercase; Hedgehog writes them lowercase
        mac_address: "0C:20:12:FF:05:0A".into(),
    });
    let e1 = b.iface(s, "E1/1");
    b.s.interfaces
        .iter_mut()
        .find(|i| i.id == e1)
        .unwrap()
        .custom_fields
        .insert("hedgehog_breakout".into(), json!("4x100G"));
    b.s.devices.iter_mut().find(|d| d.id == s).unwrap().serial = "SN1".into();
    let spec = &b.plan().get(Kind::Switch, "spine-01").unwrap().spec.clone();
    assert_eq!(
        spec["boot"],
        json!({"mac": "0c:20:12:ff:05:0a", "serial": "SN1"})
    );
    assert_eq!(spec["portBreakouts"], json!({"E1/1": "4x100G"}));
}

#[test]
fn spine_leaf_cables_group_into_one_fabric_connection_per_pair() {
    let (mut b, s, l1, l2) = spine_leaf();
    let c2 = b.link((s, "E1/2"), (l1, "E1/9"));
    let c1 = b.link((l1, "E1/8"), (s, "E1/1")); // reversed direction
    b.link((s, "E1/3"), (l2, "E1/8"));
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let c = p
        .get(Kind::Connection, "spine-01--fabric--leaf-01")
        .unwrap();
    assert_eq!(
        c.spec,
        json!({"fabric": {"links": [
        {"spine": {"port": "spine-01/E1/1"}, "leaf": {"port": "leaf-01/E1/8"}},
        {"spine": {"port": "spine-01/E1/2"}, "leaf": {"port": "leaf-01/E1/9"}}]}})
    );
    assert_eq!(
        c.annotations["fabsync.githedgehog.com/netbox-source"],
        format!("dcim.cable/{},{}", c2.min(c1), c2.max(c1))
    );
    assert!(
        p.get(Kind::Connection, "spine-01--fabric--leaf-02")
            .is_some()
    );
}

#[test]
fn leaf_to_leaf_is_mesh_without_spines_and_fatal_with_spines() {
    let mut b = B::new();
    let l1 = b.device("leaf-01", "server-leaf", "vs");
    let l2 = b.device("leaf-02", "server-leaf", "vs");
    b.link((l2, "E1/1"), (l1, "E1/2"));
    let p = b.plan();
    assert_eq!(
        p.get(Kind::Connection, "leaf-01--mesh--leaf-02")
            .unwrap()
            .spec,
        json!({"mesh": {"links": [{"leaf1": {"port": "leaf-01/E1/2"}, "leaf2": {"port": "leaf-02/E1/1"}}]}})
    );
    b.device("spine-01", "spine", "vs");
    assert_eq!(fatal(&b.plan(), "unsupported-cable").len(), 1);
}

#[test]
fn same_switch_cables_are_one_vpc_loopback() {
    let (mut b, _, l1, _) = spine_leaf();
    b.link((l1, "E1/13"), (l1, "E1/12"));
    b.link((l1, "E1/14"), (l1, "E1/15"));
    let p = b.plan();
    assert_eq!(
        p.get(Kind::Connection, "leaf-01--vpc-loopback")
            .unwrap()
            .spec,
        json!({"vpcLoopback": {"links": [
        {"switch1": {"port": "leaf-01/E1/12"}, "switch2": {"port": "leaf-01/E1/13"}},
        {"switch1": {"port": "leaf-01/E1/14"}, "switch2": {"port": "leaf-01/E1/15"}}]}})
    );
}

#[test]
fn server_cables_unbundled_bundled_and_eslag_by_lag_intent() {
    let (mut b, _, l1, l2) = spine_leaf();
    for l in [l1, l2] {
        b.cf(l, "hedgehog_redundancy_group", json!("eslag-1"));
    }
    let s1 = b.device("server-01", "server", "srv");
    let s2 = b.device("server-02", "server", "srv");
    let s3 = b.device("server-03", "server", "srv");
    // server-01: LAG across leaf-01 and leaf-02 → eslag
    let bond = b.iface(s1, "bond0");
    let n1 = b.iface(s1, "enp2s1");
    let n2 = b.iface(s1, "enp2s2");
    b.lag(n1, bond);
    b.lag(n2, bond);
    b.link((s1, "enp2s2"), (l2, "E1/1"));
    b.link((s1, "enp2s1"), (l1, "E1/1"));
    // server-02: LAG with both members to leaf-02 → bundled
    let bond2 = b.iface(s2, "bond0");
    for (n, p) in [("enp2s1", "E1/2"), ("enp2s2", "E1/3")] {
        let i = b.iface(s2, n);
        b.lag(i, bond2);
        b.link((s2, n), (l2, p));
    }
    // server-03: plain NIC → unbundled
    b.link((s3, "enp2s1"), (l1, "E1/7"));
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(p.get(Kind::SwitchGroup, "eslag-1").unwrap().spec, json!({}));
    assert_eq!(
        p.get(Kind::Switch, "leaf-01").unwrap().spec["redundancy"],
        json!({"group": "eslag-1", "type": "eslag"})
    );
    assert_eq!(
        p.get(Kind::Switch, "leaf-01").unwrap().spec["groups"],
        json!(["eslag-1"])
    );
    assert_eq!(
        p.get(Kind::Connection, "server-01--eslag--leaf-01--leaf-02")
            .unwrap()
            .spec,
        json!({"eslag": {"links": [
        {"server": {"port": "server-01/enp2s1"}, "switch": {"port": "leaf-01/E1/1"}},
        {"server": {"port": "server-01/enp2s2"}, "switch": {"port": "leaf-02/E1/1"}}]}})
    );
    assert_eq!(
        p.get(Kind::Connection, "server-02--bundled--leaf-02")
            .unwrap()
            .spec["bundled"]["links"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        p.get(Kind::Connection, "server-03--unbundled--leaf-01")
            .unwrap()
            .spec,
        json!({"unbundled": {"link": {"server": {"port": "server-03/enp2s1"}, "switch": {"port": "leaf-01/E1/7"}}}})
    );
}

#[test]
fn redundancy_group_from_virtual_chassis_and_mclag() {
    let (mut b, _, l1, l2) = spine_leaf();
    for l in [l1, l2] {
        b.s.devices
            .iter_mut()
            .find(|d| d.id == l)
            .unwrap()
            .virtual_chassis = Some(Brief::id(7));
        b.cf(l, "hedgehog_redundancy_type", json!("mclag"));
    }
    b.s.virtual_chassis.push(VirtualChassis {
        id: 7,
        name: "mclag-1".into(),
        master: None,
    });
    let c = b.link((l1, "E1/3"), (l2, "E1/3"));
    b.s.cables
        .iter_mut()
        .find(|x| x.id == c)
        .unwrap()
        .custom_fields
        .insert("hedgehog_link".into(), json!("mclag-peer"));
    let c = b.link((l1, "E1/1"), (l2, "E1/1"));
    b.s.cables
        .iter_mut()
        .find(|x| x.id == c)
        .unwrap()
        .custom_fields
        .insert("hedgehog_link".into(), json!("mclag-session"));
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    let sg = p.get(Kind::SwitchGroup, "mclag-1").unwrap();
    assert_eq!(
        sg.annotations["fabsync.githedgehog.com/netbox-source"],
        "dcim.virtualchassis/7"
    );
    assert_eq!(
        p.get(Kind::Connection, "leaf-01--mclag-domain--leaf-02")
            .unwrap()
            .spec,
        json!({"mclagDomain": {
        "peerLinks": [{"switch1": {"port": "leaf-01/E1/3"}, "switch2": {"port": "leaf-02/E1/3"}}],
        "sessionLinks": [{"switch1": {"port": "leaf-01/E1/1"}, "switch2": {"port": "leaf-02/E1/1"}}]}})
    );
}

#[test]
fn eslag_limits_and_lag_ownership_are_fatal() {
    let mut b = B::new();
    let leaves: Vec<u64> = (1..=5)
        .map(|i| b.device(&format!("leaf-0{i}"), "server-leaf", "vs"))
        .collect();
    for l in &leaves {
        b.cf(*l, "hedgehog_redundancy_group", json!("g1"));
    }
    let s = b.device("server-01", "server", "srv");
    let bond = b.iface(s, "bond0");
    for (i, l) in leaves.iter().enumerate() {
        let n = format!("enp2s{}", i + 1);
        let nic = b.iface(s, &n);
        b.lag(nic, bond);
        b.link((s, &n), (*l, "E1/1"));
    }
    let p = b.plan();
    let f = fatal(&p, "eslag-too-many-switches");
    assert_eq!(f.len(), 1);
    assert_eq!(
        (
            f[0].object_type.as_str(),
            f[0].object_id,
            f[0].field.as_str()
        ),
        ("dcim.interface", bond, "lag")
    );
    assert!(p.objects.iter().all(|o| !o.name.contains("eslag")));

    // different groups
    let mut b = B::new();
    let l1 = b.device("leaf-01", "server-leaf", "vs");
    let l2 = b.device("leaf-02", "server-leaf", "vs");
    b.cf(l1, "hedgehog_redundancy_group", json!("g1"));
    b.cf(l2, "hedgehog_redundancy_group", json!("g2"));
    let s = b.device("server-01", "server", "srv");
    let bond = b.iface(s, "bond0");
    for (n, l) in [("enp2s1", l1), ("enp2s2", l2)] {
        let nic = b.iface(s, n);
        b.lag(nic, bond);
        b.link((s, n), (l, "E1/1"));
    }
    assert_eq!(fatal(&b.plan(), "eslag-redundancy-group").len(), 1);

    // LAG members on different servers
    let mut b = B::new();
    let l1 = b.device("leaf-01", "server-leaf", "vs");
    let s1 = b.device("server-01", "server", "srv");
    let s2 = b.device("server-02", "server", "srv");
    let bond = b.iface(s1, "bond0");
    let n1 = b.iface(s1, "enp2s1");
    let n2 = b.iface(s2, "enp2s1");
    b.lag(n1, bond);
    b.lag(n2, bond);
    b.link((s1, "enp2s1"), (l1, "E1/1"));
    b.link((s2, "enp2s1"), (l1, "E1/2"));
    let p = b.plan();
    let f = fatal(&p, "lag-members-on-different-servers");
    assert_eq!(f.len(), 1, "{:#?}", p.findings);
    assert!(
        f[0].to_string().starts_with("fatal: NetBox dcim.interface"),
        "{}",
        f[0]
    );
}

#[test]
fn invalid_names_and_normalised_collisions_are_fatal() {
    let mut b = B::new();
    let bad = b.device("Leaf_01", "server-leaf", "vs");
    b.device("leaf-01", "server-leaf", "vs");
    let p = b.plan();
    assert!(
        fatal(&p, "invalid-name")
            .iter()
            .any(|f| f.object_id == bad && f.field == "name")
    );
    assert_eq!(fatal(&p, "name-collision").len(), 2, "{:#?}", p.findings);
    assert!(p.get(Kind::Switch, "Leaf_01").is_none());
}

#[test]
fn names_follow_kubernetes_not_dns_label_length() {
    // Kubernetes object names are RFC 1123 subdomains of at most 253 characters; a name
    // without dots may be longer than a 63-character DNS label (4-leaf ESLAG attachments are).
    let mut b = B::new();
    let long = format!("leaf-{}", "a".repeat(70));
    let dotted = format!("rack-1.{}", "b".repeat(70));
    let too_long = format!("leaf-{}", "c".repeat(249));
    b.device(&long, "server-leaf", "vs");
    b.device(&dotted, "server-leaf", "vs");
    let bad = b.device(&too_long, "server-leaf", "vs");
    let trailing = b.device("leaf-01.", "server-leaf", "vs");
    let p = b.plan();
    assert!(p.get(Kind::Switch, &long).is_some(), "{:#?}", p.findings);
    assert!(p.get(Kind::Switch, &dotted).is_some(), "{:#?}", p.findings);
    let f = fatal(&p, "invalid-name");
    assert!(
        f.iter()
            .any(|f| f.object_id == bad
                && f.reason.contains("254 characters long, the limit is 253")),
        "{f:#?}"
    );
    assert!(f.iter().any(|f| f.object_id == trailing), "{f:#?}");
    assert_eq!(f.len(), 2, "{f:#?}");
}

#[test]
fn port_in_two_connections_is_fatal() {
    let (mut b, s, l1, _) = spine_leaf();
    let a = b.iface(s, "E1/1");
    let x = b.iface(l1, "E1/8");
    let y = b.iface(l1, "E1/9");
    b.cable(a, x);
    b.cable(a, y);
    let p = b.plan();
    assert!(
        !fatal(&p, "port-in-two-connections").is_empty(),
        "{:#?}",
        p.findings
    );
}

#[test]
fn cable_terminations_must_be_single_interfaces() {
    let (mut b, s, _, _) = spine_leaf();
    let a = b.iface(s, "E1/1");
    let id = b.id();
    b.s.cables.push(Cable {
        id,
        a_terminations: vec![Termination {
            object_type: "dcim.interface".into(),
            object_id: a,
            object: None,
        }],
        b_terminations: vec![Termination {
            object_type: "dcim.frontport".into(),
            object_id: 3,
            object: None,
        }],
        ..Cable::default()
    });
    let id2 = b.id();
    b.s.cables.push(Cable {
        id: id2,
        a_terminations: vec![Termination {
            object_type: "dcim.interface".into(),
            object_id: 9999,
            object: Some(TerminationObject {
                id: 9999,
                name: Some("E1/1".into()),
                device: Some(Brief {
                    id: 555,
                    name: Some("elsewhere".into()),
                    ..Brief::default()
                }),
            }),
        }],
        b_terminations: vec![Termination {
            object_type: "dcim.interface".into(),
            object_id: a,
            object: None,
        }],
        ..Cable::default()
    });
    let p = b.plan();
    assert!(
        fatal(&p, "cable-termination")
            .iter()
            .any(|f| f.object_id == id && f.field == "b_terminations")
    );
    assert!(
        fatal(&p, "cable-outside-fabric")
            .iter()
            .any(|f| f.object_id == id2 && f.reason.contains("elsewhere"))
    );
}

#[test]
fn ipam_becomes_namespaces_vpcs_attachments_and_peerings() {
    let (mut b, _, l1, _) = spine_leaf();
    let site_scope = (Some("dcim.site".to_string()), Some(1));
    b.s.vlan_groups.push(VlanGroup {
        id: 1,
        name: "Default".into(),
        slug: "default".into(),
        scope_type: site_scope.0.clone(),
        scope_id: site_scope.1,
        vid_ranges: vec![[1000, 2999]],
        ..VlanGroup::default()
    });
    b.s.vlans.push(Vlan {
        id: 11,
        vid: 1001,
        group: Some(Brief::id(1)),
        ..Vlan::default()
    });
    b.s.vlans.push(Vlan {
        id: 12,
        vid: 1002,
        group: Some(Brief::id(1)),
        ..Vlan::default()
    });
    let ns = |v: &str| {
        [("hedgehog_ipv4_namespace".to_string(), json!(v))]
            .into_iter()
            .collect::<CustomFields>()
    };
    b.s.prefixes.push(Prefix {
        id: 1,
        prefix: "10.0.0.0/16".into(),
        status: Some(Choice::new("container")),
        scope_type: site_scope.0.clone(),
        scope_id: site_scope.1,
        custom_fields: ns("default"),
        ..Prefix::default()
    });
    b.s.vrfs.push(Vrf {
        id: 1,
        name: "vpc-1".into(),
        custom_fields: [("hedgehog_peers".to_string(), json!("vpc-2"))].into(),
        ..Vrf::default()
    });
    b.s.vrfs.push(Vrf {
        id: 2,
        name: "vpc-2".into(),
        ..Vrf::default()
    });
    let mut dhcp = CustomFields::new();
    dhcp.insert("hedgehog_dhcp".into(), json!(true));
    dhcp.insert("hedgehog_dhcp_start".into(), json!("10.0.1.10"));
    b.s.prefixes.push(Prefix {
        id: 2,
        prefix: "10.0.1.0/24".into(),
        status: Some(Choice::new("active")),
        vrf: Some(Brief::id(1)),
        vlan: Some(BriefVlan {
            id: 11,
            vid: 1001,
            name: None,
        }),
        scope_type: site_scope.0.clone(),
        scope_id: site_scope.1,
        custom_fields: dhcp,
        ..Prefix::default()
    });
    b.s.prefixes.push(Prefix {
        id: 3,
        prefix: "10.0.2.0/24".into(),
        status: Some(Choice::new("active")),
        vrf: Some(Brief::id(2)),
        vlan: Some(BriefVlan {
            id: 12,
            vid: 1002,
            name: None,
        }),
        scope_type: site_scope.0.clone(),
        scope_id: site_scope.1,
        ..Prefix::default()
    });
    let srv = b.device("server-01", "server", "srv");
    b.link((srv, "enp2s1"), (l1, "E1/5"));
    let nic =
        b.s.interfaces
            .iter_mut()
            .find(|i| i.device.id == srv)
            .unwrap();
    nic.mode = Some(Choice::new("access"));
    nic.untagged_vlan = Some(BriefVlan {
        id: 11,
        vid: 1001,
        name: None,
    });
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        p.get(Kind::VLANNamespace, "default").unwrap().spec,
        json!({"ranges": [{"from": 1000, "to": 2999}]})
    );
    assert_eq!(
        p.get(Kind::IPv4Namespace, "default").unwrap().spec,
        json!({"subnets": ["10.0.0.0/16"]})
    );
    assert_eq!(
        p.get(Kind::VPC, "vpc-1").unwrap().spec,
        json!({"ipv4Namespace": "default", "vlanNamespace": "default",
        "subnets": {"subnet-01": {"subnet": "10.0.1.0/24", "vlan": 1001, "dhcp": {"enable": true, "range": {"start": "10.0.1.10"}}}}})
    );
    assert_eq!(
        p.get(
            Kind::VPCAttachment,
            "vpc-1--subnet-01--server-01--unbundled--leaf-01"
        )
        .unwrap()
        .spec,
        json!({"subnet": "vpc-1/subnet-01", "connection": "server-01--unbundled--leaf-01", "nativeVLAN": true})
    );
    assert_eq!(
        p.get(Kind::VPCPeering, "vpc-1--vpc-2").unwrap().spec,
        json!({"permit": [{"vpc-1": {}, "vpc-2": {}}]})
    );
    // objects come out in reference order
    let ranks: Vec<u8> = p.objects.iter().map(|o| o.kind.rank()).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn vpc_and_external_names_over_11_characters_are_fatal() {
    let (mut b, _, l1, _) = spine_leaf();
    b.s.vrfs.push(Vrf {
        id: 1,
        name: "vpc-too-long-name".into(),
        ..Vrf::default()
    });
    b.s.prefixes.push(Prefix {
        id: 2,
        prefix: "10.0.1.0/24".into(),
        vrf: Some(Brief::id(1)),
        vlan: Some(BriefVlan {
            id: 11,
            vid: 1001,
            name: None,
        }),
        scope_type: Some("dcim.site".into()),
        scope_id: Some(1),
        ..Prefix::default()
    });
    let ext = b.device("external-router", "external", "router");
    b.link((l1, "E1/30"), (ext, "eth0"));
    let p = b.plan();
    let f = fatal(&p, "name-too-long");
    assert!(
        f.iter()
            .any(|f| f.object_type == "ipam.vrf" && f.object_id == 1),
        "{:#?}",
        p.findings
    );
    assert!(
        f.iter()
            .any(|f| f.object_type == "dcim.device" && f.object_id == ext)
    );
    assert!(
        p.get(Kind::Connection, "leaf-01--external--external-router")
            .is_some()
    );
}

#[test]
fn external_attachment_from_ips() {
    let (mut b, _, l1, _) = spine_leaf();
    let ext = b.device("ext-1", "external", "router");
    b.cf(ext, "hedgehog_asn", json!(64102));
    b.cf(ext, "hedgehog_inbound_community", json!("65102:5000"));
    b.link((l1, "E1/30"), (ext, "eth0"));
    let sw_if = b.iface(l1, "E1/30");
    let ext_if = b.iface(ext, "eth0");
    b.s.interfaces
        .iter_mut()
        .find(|i| i.id == sw_if)
        .unwrap()
        .untagged_vlan = Some(BriefVlan {
        id: 50,
        vid: 100,
        name: None,
    });
    b.s.ip_addresses.push(IpAddress {
        id: 1,
        address: "100.100.0.1/24".into(),
        assigned_object_type: Some("dcim.interface".into()),
        assigned_object_id: Some(sw_if),
        ..IpAddress::default()
    });
    b.s.ip_addresses.push(IpAddress {
        id: 2,
        address: "100.100.0.6/24".into(),
        assigned_object_type: Some("dcim.interface".into()),
        assigned_object_id: Some(ext_if),
        ..IpAddress::default()
    });
    let p = b.plan();
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    assert_eq!(
        p.get(Kind::External, "ext-1").unwrap().spec,
        json!({"ipv4Namespace": "default", "inboundCommunity": "65102:5000"})
    );
    assert_eq!(
        p.get(Kind::ExternalAttachment, "leaf-01--ext-1")
            .unwrap()
            .spec,
        json!({"external": "ext-1", "connection": "leaf-01--external--ext-1",
        "switch": {"vlan": 100, "ip": "100.100.0.1/24"}, "neighbor": {"asn": 64102, "ip": "100.100.0.6"}})
    );
}

#[test]
fn finding_display_is_one_sentence_naming_object_field_and_reason() {
    let mut b = B::new();
    let d = b.device("Bad Name", "spine", "vs");
    let p = b.plan();
    let f = fatal(&p, "invalid-name")[0].to_string();
    assert_eq!(f.lines().count(), 1);
    assert!(
        f.contains(&format!("dcim.device {d}"))
            && f.contains("\"Bad Name\"")
            && f.contains("field name")
            && f.contains("RFC 1123"),
        "{f}"
    );
}

mod invalid_ipam;
mod invalid_wiring;
