//! Property tests of the plan: total (never panics) and deterministic on arbitrary snapshots,
//! and independent of the order NetBox lists objects in.

use fabsync::netbox::model::*;
use fabsync::plan::{PlanConfig, plan};
use proptest::prelude::*;
use serde_json::json;

const ROLES: &[&str] = &[
    "spine",
    "server-leaf",
    "leaf",
    "border-leaf",
    "server",
    "external",
    "gateway",
    "pdu",
    "",
    "mixed-leaf",
];
const NAMES: &[&str] = &[
    "spine-01",
    "spine-02",
    "leaf-01",
    "leaf-02",
    "leaf-03",
    "Leaf_01",
    "server-01",
    "server-02",
    "ext-1",
    "a-very-long-external-name",
    "",
    "leaf-01",
];
const PORTS: &[&str] = &[
    "E1/1", "E1/2", "E1/10", "E1/1/1", "enp2s1", "enp2s2", "bond0", "M1", "",
];

fn arb_snapshot() -> impl Strategy<Value = Snapshot> {
    let devices = prop::collection::vec(
        (
            0..NAMES.len(),
            0..ROLES.len(),
            any::<bool>(),
            0u8..4,
            prop::option::of(0u64..70000),
        ),
        0..10,
    );
    let ifaces = prop::collection::vec(
        (
            0usize..12,
            0..PORTS.len(),
            prop::option::of(0usize..30),
            any::<bool>(),
        ),
        0..30,
    );
    let cables = prop::collection::vec(
        (0usize..32, 0usize..32, any::<bool>(), any::<bool>()),
        0..20,
    );
    let vrfs = prop::collection::vec((0usize..4, 0u16..5, any::<bool>()), 0..6);
    (devices, ifaces, cables, vrfs).prop_map(|(devs, ifs, cabs, vrfs)| {
        let mut s = Snapshot {
            site: Site {
                id: 1,
                name: "Fab".into(),
                slug: "fab".into(),
                custom_fields: CustomFields::new(),
            },
            ..Snapshot::default()
        };
        for (i, (n, r, other_site, group, asn)) in devs.iter().enumerate() {
            let mut cf = CustomFields::new();
            if *group > 0 {
                cf.insert(
                    "hedgehog_redundancy_group".into(),
                    json!(format!("g{group}")),
                );
            }
            if *group == 3 {
                cf.insert("hedgehog_redundancy_type".into(), json!("mclag"));
            }
            if let Some(a) = asn {
                cf.insert("hedgehog_asn".into(), json!(a));
            }
            s.devices.push(Device {
                id: i as u64 + 1,
                name: Some(NAMES[*n].to_string()),
                device_type: Brief {
                    id: 1,
                    slug: Some("vs".into()),
                    ..Brief::default()
                },
                role: Brief {
                    id: 1,
                    slug: Some(ROLES[*r].into()),
                    ..Brief::default()
                },
                site: Some(Brief::id(if *other_site { 2 } else { 1 })),
                custom_fields: cf,
                ..Device::default()
            });
        }
        for (i, (d, p, lag, tagged)) in ifs.iter().enumerate() {
            let id = 100 + i as u64;
            s.interfaces.push(Interface {
                id,
                device: Brief::id(*d as u64 + 1),
                name: PORTS[*p].to_string(),
                type_: Some(Choice::new(if PORTS[*p] == "bond0" {
                    "lag"
                } else {
                    "other"
                })),
                lag: lag.map(|l| Brief::id(100 + l as u64)),
                mode: tagged.then(|| Choice::new("access")),
                untagged_vlan: tagged.then_some(BriefVlan {
                    id: 500,
                    vid: 1001,
                    name: None,
                }),
                ..Interface::default()
            });
        }
        for (i, (a, b, front, session)) in cabs.iter().enumerate() {
            let t = |x: usize, ty: &str| {
                vec![Termination {
                    object_type: ty.into(),
                    object_id: 100 + x as u64,
                    object: None,
                }]
            };
            let mut cf = CustomFields::new();
            if *session {
                cf.insert("hedgehog_link".into(), json!("mclag-session"));
            }
            s.cables.push(Cable {
                id: 1000 + i as u64,
                a_terminations: t(*a, "dcim.interface"),
                b_terminations: t(
                    *b,
                    if *front {
                        "dcim.frontport"
                    } else {
                        "dcim.interface"
                    },
                ),
                custom_fields: cf,
                ..Cable::default()
            });
        }
        s.vlan_groups.push(VlanGroup {
            id: 1,
            name: "default".into(),
            slug: "default".into(),
            scope_type: Some("dcim.site".into()),
            scope_id: Some(1),
            vid_ranges: vec![[1000, 2999]],
            ..VlanGroup::default()
        });
        s.vlans.push(Vlan {
            id: 500,
            vid: 1001,
            group: Some(Brief::id(1)),
            ..Vlan::default()
        });
        for (i, (v, net, container)) in vrfs.iter().enumerate() {
            let vrf_id = *v as u64 + 1;
            if !s.vrfs.iter().any(|x| x.id == vrf_id) {
                s.vrfs.push(Vrf {
                    id: vrf_id,
                    name: ["vpc-1", "vpc-2", "vpc-name-too-long", "VPC 4"][*v].into(),
                    custom_fields: [("hedgehog_peers".to_string(), json!("vpc-1,vpc-2"))].into(),
                    ..Vrf::default()
                });
            }
            s.prefixes.push(Prefix {
                id: 2000 + i as u64,
                prefix: format!("10.{net}.0.0/24"),
                status: Some(Choice::new(if *container { "container" } else { "active" })),
                vrf: (!container).then(|| Brief::id(vrf_id)),
                vlan: Some(BriefVlan {
                    id: 500,
                    vid: 1001,
                    name: None,
                }),
                scope_type: Some("dcim.site".into()),
                scope_id: Some(1),
                custom_fields: if *container {
                    [("hedgehog_ipv4_namespace".to_string(), json!("default"))].into()
                } else {
                    CustomFields::new()
                },
                ..Prefix::default()
            });
        }
        s
    })
}

fn shuffle<T: Clone>(v: &[T], seed: u64) -> Vec<T> {
    // Fisher–Yates with a fixed LCG: deterministic per seed, no global randomness.
    let mut out = v.to_vec();
    let mut x = seed | 1;
    for i in (1..out.len()).rev() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (x >> 33) as usize % (i + 1);
        out.swap(i, j);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn plan_is_total_and_deterministic(s in arb_snapshot()) {
        let cfg = PlanConfig::new("fab");
        let a = plan(&s, &cfg);
        let b = plan(&s, &cfg);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.to_yaml().unwrap(), b.to_yaml().unwrap());
        // every object has a valid name and carries the fabric label and its source
        for o in &a.objects {
            prop_assert!(fabsync::hedgehog::names::check_name(o.kind, &o.name).is_ok(), "{} {:?}", o.kind, o.name);
            prop_assert_eq!(o.labels.get("fabsync.githedgehog.com/fabric").map(String::as_str), Some("fab"));
            prop_assert!(o.annotations.contains_key("fabsync.githedgehog.com/netbox-source"));
        }
    }

    #[test]
    fn input_order_does_not_matter(s in arb_snapshot(), seed in any::<u64>()) {
        let mut t = s.clone();
        t.devices = shuffle(&s.devices, seed);
        t.interfaces = shuffle(&s.interfaces, seed ^ 1);
        t.cables = shuffle(&s.cables, seed ^ 2);
        t.vrfs = shuffle(&s.vrfs, seed ^ 3);
        t.prefixes = shuffle(&s.prefixes, seed ^ 4);
        let cfg = PlanConfig::new("fab");
        prop_assert_eq!(plan(&s, &cfg), plan(&t, &cfg));
    }
}
