//! The device, interface and cable data that Hedgehog refuses or cannot use, each caught by the
//! plan as a fatal finding naming the NetBox object and field: IP custom fields that are not
//! IPv4 prefixes, MCLAG groups without their domain, LAG cycles, breakout modes a switch profile
//! does not support, profile names that are no Kubernetes names, markup and control characters
//! in port names, and megabyte-sized values (with short messages).

use std::collections::BTreeMap;

use fabsync::hedgehog::wiring::{
    SwitchProfilePort, SwitchProfilePortProfile, SwitchProfilePortProfileBreakout,
    SwitchProfilePortProfileBreakoutMode, SwitchProfileSpec,
};
use fabsync::plan::plan_with_profiles;

use super::*;

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

fn iface_cf(b: &mut B, iface: u64, k: &str, v: Value) {
    b.s.interfaces
        .iter_mut()
        .find(|i| i.id == iface)
        .unwrap()
        .custom_fields
        .insert(k.into(), v);
}

#[test]
fn ip_custom_fields_must_be_ipv4_prefixes() {
    let (mut b, _, l1, l2) = spine_leaf();
    b.cf(l1, "hedgehog_protocol_ip", json!("999.1.1.1/77"));
    b.cf(l1, "hedgehog_vtep_ip", json!("banana"));
    // Hedgehog wants both as /32
    b.cf(l2, "hedgehog_protocol_ip", json!("172.30.8.2/24"));
    b.s.devices
        .iter_mut()
        .find(|d| d.id == l2)
        .unwrap()
        .primary_ip4 = Some(BriefIp {
        id: 9,
        address: "10.0.0.300/24".into(),
    });
    // an external attachment's addresses, and an External's community
    let ext = b.device("ext-1", "external", "router");
    b.cf(ext, "hedgehog_asn", json!(64102));
    b.cf(ext, "hedgehog_inbound_community", json!("65102:999999"));
    b.link((l1, "E1/30"), (ext, "eth0"));
    let sw_if = b.iface(l1, "E1/30");
    let ext_if = b.iface(ext, "eth0");
    for (id, address, iface) in [(1, "100.100.0.1/24", sw_if), (2, "banana", ext_if)] {
        b.s.ip_addresses.push(IpAddress {
            id,
            address: address.into(),
            assigned_object_type: Some("dcim.interface".into()),
            assigned_object_id: Some(iface),
            ..IpAddress::default()
        });
    }
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-ip"),
        vec![
            on("dcim.device", l1, "custom_fields.hedgehog_protocol_ip"),
            on("dcim.device", l1, "custom_fields.hedgehog_vtep_ip"),
            on("dcim.device", l2, "custom_fields.hedgehog_protocol_ip"),
            on("dcim.device", l2, "primary_ip4"),
            on("ipam.ipaddress", 2, "address"),
        ],
        "{:#?}",
        p.findings
    );
    assert_eq!(
        hits(&p, "invalid-value"),
        vec![on(
            "dcim.device",
            ext,
            "custom_fields.hedgehog_inbound_community"
        )]
    );
}

#[test]
fn mclag_group_without_its_domain_is_fatal() {
    let (mut b, _, l1, l2) = spine_leaf();
    for l in [l1, l2] {
        b.cf(l, "hedgehog_redundancy_group", json!("mclag-1"));
        b.cf(l, "hedgehog_redundancy_type", json!("mclag"));
    }
    // a server MCLAG to the pair, but no peer or session link between the leaves
    let s = b.device("server-01", "server", "srv");
    let bond = b.iface(s, "bond0");
    for (n, l) in [("enp2s1", l1), ("enp2s2", l2)] {
        let nic = b.iface(s, n);
        b.lag(nic, bond);
        b.link((s, n), (l, "E1/1"));
    }
    // and a lone switch in an MCLAG group of its own
    let l3 = b.device("leaf-03", "server-leaf", "vs");
    b.cf(l3, "hedgehog_redundancy_group", json!("mclag-2"));
    b.cf(l3, "hedgehog_redundancy_type", json!("mclag"));
    let p = b.plan();
    assert_eq!(
        hits(&p, "mclag-without-domain"),
        vec![
            on("dcim.device", l1, "custom_fields.hedgehog_redundancy_group"),
            on("dcim.device", l2, "custom_fields.hedgehog_redundancy_group"),
            on("dcim.device", l3, "custom_fields.hedgehog_redundancy_group"),
        ],
        "{:#?}",
        p.findings
    );
}

#[test]
fn lag_member_cycles_and_nested_lags_are_fatal() {
    let (mut b, _, l1, _) = spine_leaf();
    let s = b.device("server-01", "server", "srv");
    let bond0 = b.iface(s, "bond0");
    let bond1 = b.iface(s, "bond1");
    let bond2 = b.iface(s, "bond2");
    let bond3 = b.iface(s, "bond3");
    let bond4 = b.iface(s, "bond4");
    // bond0 → bond1 → bond0, bond2 → bond2, and bond3 → bond4 (nested, no cycle)
    b.lag(bond0, bond1);
    b.lag(bond1, bond0);
    b.lag(bond2, bond2);
    b.lag(bond3, bond4);
    let nic = b.iface(s, "enp2s1");
    b.lag(nic, bond0);
    b.link((s, "enp2s1"), (l1, "E1/1"));
    let p = b.plan();
    assert_eq!(
        hits(&p, "lag-cycle"),
        vec![
            on("dcim.interface", bond0, "lag"),
            on("dcim.interface", bond1, "lag"),
            on("dcim.interface", bond2, "lag"),
        ],
        "{:#?}",
        p.findings
    );
    assert_eq!(
        hits(&p, "nested-lag"),
        vec![on("dcim.interface", bond3, "lag")]
    );
}

/// A switch profile whose ports E1/49 and E1/50 break out 1x100G or 4x25G and whose E1/1 is a
/// 25G port without breakouts.
fn profile() -> SwitchProfileSpec {
    let qsfp = SwitchProfilePortProfile {
        breakout: Some(SwitchProfilePortProfileBreakout {
            default: Some("1x100G".into()),
            supported: [("1x100G", 1), ("4x25G", 4)]
                .into_iter()
                .map(|(m, n)| {
                    let offsets = (0..n).map(|i| i.to_string()).collect();
                    (
                        m.to_string(),
                        SwitchProfilePortProfileBreakoutMode { offsets },
                    )
                })
                .collect(),
        }),
        ..SwitchProfilePortProfile::default()
    };
    let port = |profile: Option<&str>| SwitchProfilePort {
        profile: profile.map(str::to_string),
        group: profile.is_none().then(|| "1".to_string()),
        ..SwitchProfilePort::default()
    };
    SwitchProfileSpec {
        ports: [
            ("E1/1".to_string(), port(None)),
            ("E1/49".to_string(), port(Some("QSFP28-100G"))),
            ("E1/50".to_string(), port(Some("QSFP28-100G"))),
        ]
        .into(),
        port_profiles: [("QSFP28-100G".to_string(), qsfp)].into(),
        ..SwitchProfileSpec::default()
    }
}

#[test]
fn breakout_modes_must_be_modes_the_switch_profile_supports() {
    let (mut b, _, l1, l2) = spine_leaf();
    // no profile known: only the form of a mode is checked
    let bad = b.iface(l1, "E1/49");
    iface_cf(&mut b, bad, "hedgehog_breakout", json!("banana"));
    let markup = b.iface(l1, "E1/50");
    iface_cf(&mut b, markup, "hedgehog_breakout", json!("<b>4x25G</b>"));
    let fine = b.iface(l2, "E1/49");
    iface_cf(&mut b, fine, "hedgehog_breakout", json!("4x25G"));
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-breakout"),
        vec![
            on("dcim.interface", bad, "custom_fields.hedgehog_breakout"),
            on("dcim.interface", markup, "custom_fields.hedgehog_breakout"),
        ],
        "{:#?}",
        p.findings
    );
    // with the switch profile (`vs`, the device type slug): modes and ports it supports
    let (mut b, _, l1, _) = spine_leaf();
    let ok = b.iface(l1, "E1/49");
    iface_cf(&mut b, ok, "hedgehog_breakout", json!("4x25G"));
    let unsupported = b.iface(l1, "E1/50");
    iface_cf(&mut b, unsupported, "hedgehog_breakout", json!("2x50G"));
    let no_breakout = b.iface(l1, "E1/1");
    iface_cf(&mut b, no_breakout, "hedgehog_breakout", json!("4x25G"));
    let unknown_port = b.iface(l1, "E1/77");
    iface_cf(&mut b, unknown_port, "hedgehog_breakout", json!("4x25G"));
    let profiles: BTreeMap<String, SwitchProfileSpec> = [("vs".to_string(), profile())].into();
    let p = plan_with_profiles(&b.s, &PlanConfig::new("fab"), &profiles);
    assert_eq!(
        hits(&p, "invalid-breakout"),
        vec![
            on(
                "dcim.interface",
                unsupported,
                "custom_fields.hedgehog_breakout"
            ),
            on(
                "dcim.interface",
                no_breakout,
                "custom_fields.hedgehog_breakout"
            ),
            on(
                "dcim.interface",
                unknown_port,
                "custom_fields.hedgehog_breakout"
            ),
        ],
        "{:#?}",
        p.findings
    );
    assert!(
        fatal(&p, "invalid-breakout")
            .iter()
            .any(|f| f.reason.contains("1x100G, 4x25G")),
        "{:#?}",
        p.findings
    );
}

#[test]
fn profile_names_must_be_kubernetes_names() {
    let (mut b, _, _, _) = spine_leaf();
    b.s.device_types.push(DeviceType {
        id: 1,
        slug: "vs".into(),
        custom_fields: [("hedgehog_profile".to_string(), json!("../../etc/passwd"))].into(),
        ..DeviceType::default()
    });
    let odd = b.device("spine-02", "spine", "Celestica DS4000");
    b.s.devices
        .iter_mut()
        .find(|d| d.id == odd)
        .unwrap()
        .device_type
        .id = 2;
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-profile"),
        vec![
            on("dcim.devicetype", 1, "custom_fields.hedgehog_profile"),
            on("dcim.devicetype", 2, "slug"),
        ],
        "{:#?}",
        p.findings
    );
}

#[test]
fn markup_and_control_characters_in_port_names_are_fatal() {
    let (mut b, s, l1, l2) = spine_leaf();
    let names = [
        "<script>alert(1)</script>",
        "E1/\u{0}2",
        "E1/3\u{1b}[31m",
        "E1/4 ",
        "/E1/5",
    ];
    let mut ids = Vec::new();
    for (i, n) in names.iter().enumerate() {
        ids.push(b.iface(l1, n));
        b.link((l1, n), (s, &format!("E1/{}", i + 1)));
    }
    // a breakout on a port whose name carries markup
    let bo = b.iface(l2, "E1/<i>9</i>");
    iface_cf(&mut b, bo, "hedgehog_breakout", json!("4x25G"));
    ids.push(bo);
    let p = b.plan();
    let mut want: Vec<(String, u64, String)> = ids
        .iter()
        .map(|i| on("dcim.interface", *i, "name"))
        .collect();
    want.sort();
    assert_eq!(hits(&p, "invalid-port"), want, "{:#?}", p.findings);
    assert!(
        p.objects_of(Kind::Connection).next().is_none(),
        "no connection from a bad port"
    );
    assert!(
        p.findings
            .iter()
            .all(|f| !f.to_string().contains('\0') && !f.to_string().contains('\u{1b}'))
    );
}

#[test]
fn megabyte_fields_are_fatal_with_short_messages() {
    let (mut b, s, l1, l2) = spine_leaf();
    let huge = "x".repeat(3 << 20);
    fn dev(b: &mut B, id: u64) -> &mut Device {
        b.s.devices.iter_mut().find(|d| d.id == id).unwrap()
    }
    dev(&mut b, s).description = huge.clone();
    dev(&mut b, l1).serial = huge.clone();
    b.cf(l2, "hedgehog_redundancy_group", json!(huge.clone()));
    let big_port = b.iface(l1, &huge);
    b.link((l1, &huge), (s, "E1/1"));
    b.device(&huge, "server", "srv");
    let pdu = b.device("pdu-1", "pdu", "apc");
    b.cf(pdu, "hedgehog_role", json!(huge.clone()));
    let p = b.plan();
    assert_eq!(
        hits(&p, "field-too-long"),
        vec![
            on("dcim.device", s, "description"),
            on("dcim.device", l1, "serial"),
            on("dcim.interface", big_port, "name"),
        ],
        "{:#?}",
        p.findings
            .iter()
            .map(|f| (f.code, f.object_id, &f.field))
            .collect::<Vec<_>>()
    );
    assert!(p.has_fatal());
    assert!(p.findings.len() >= 5);
    for f in &p.findings {
        let shown = f.to_string();
        assert!(
            shown.len() < 1000,
            "{} bytes: {}",
            shown.len(),
            &shown[..200]
        );
    }
    assert!(p.findings.iter().any(|f| f.reason.contains('…')));
}

/// Hedgehog's CRDs hold a switch's ASN as a 32-bit signed integer: NetBox accepts ASNs up to
/// 4294967295 (the 4-byte private range starts at 4200000000), the cluster refuses every one
/// above 2147483647. Found by `fabsync simulate` (a fabric numbered in the 4-byte private range
/// failed at apply, every run, instead of being reported as invalid data).
#[test]
fn asn_above_int32_is_fatal() {
    let (mut b, _, l1, l2) = spine_leaf();
    b.cf(l1, "hedgehog_asn", json!(4_200_065_101u64));
    b.cf(l2, "hedgehog_asn", json!(2_147_483_647u64));
    let p = b.plan();
    assert_eq!(
        hits(&p, "invalid-value"),
        vec![on("dcim.device", l1, "custom_fields.hedgehog_asn")],
        "{:#?}",
        p.findings
    );
}
