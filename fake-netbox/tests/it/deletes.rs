//! Deletes as NetBox 4.7.3 performs them: what cascades, what blocks, the order of the delete
//! records and the update records written along the way. Every expected sequence below was
//! recorded from a real NetBox 4.7.3 running the same requests (ids and names included).

use serde_json::{Value, json};

use crate::common::{Client, fake};
use fake_netbox::Fixture;

/// One change record as "model action repr", updates with the keys that changed (`{}` when the
/// record has no prechange snapshot), journal entries without their time-based repr, and the
/// changelog message in parentheses.
fn row(r: &Value) -> String {
    let ty = r["changed_object_type"].as_str().unwrap_or("");
    let ty = ty.split('.').nth(1).unwrap_or(ty);
    let action = r["action"]["value"].as_str().unwrap_or("");
    let repr = if ty == "journalentry" {
        "-"
    } else {
        r["object_repr"].as_str().unwrap_or("")
    };
    let mut s = format!("{ty} {action} {repr}");
    if action == "update" {
        let empty = serde_json::Map::new();
        let pre = r["prechange_data"].as_object();
        let post = r["postchange_data"].as_object().unwrap_or(&empty);
        match pre {
            Some(p) if p.is_empty() => s.push_str(" {}"),
            _ => {
                let pre = pre.unwrap_or(&empty);
                let mut keys: Vec<&String> = pre
                    .keys()
                    .chain(post.keys())
                    .filter(|k| pre.get(*k) != post.get(*k))
                    .collect();
                keys.sort();
                keys.dedup();
                let keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
                s.push_str(&format!(" [{}]", keys.join(",")));
            }
        }
    }
    if let Some(m) = r["message"].as_str().filter(|m| !m.is_empty()) {
        s.push_str(&format!(" ({m})"));
    }
    s
}

/// Change records written since record `after`, as [`row`]s.
async fn rows_since(c: &Client, after: u64) -> Vec<String> {
    let r = c
        .get(&format!(
            "/api/core/object-changes/?limit=1000&ordering=id&id__gt={after}"
        ))
        .await;
    r.results().iter().map(row).collect()
}

async fn last_change(c: &Client) -> u64 {
    let r = c
        .get("/api/core/object-changes/?limit=1&ordering=-id")
        .await;
    r.results()
        .first()
        .and_then(|r| r["id"].as_u64())
        .unwrap_or(0)
}

/// Runs `DELETE path` (with an optional body), expects 204 and returns the records it wrote.
async fn delete_rows(c: &Client, path: &str, body: Option<Value>) -> Vec<String> {
    let before = last_change(c).await;
    let r = match body {
        Some(b) => c.delete_body(path, b).await,
        None => c.delete(path).await,
    };
    assert_eq!(r.status, 204, "DELETE {path}: {}", r.text);
    rows_since(c, before).await
}

fn iface_ref(id: u64) -> Value {
    json!({"object_type": "dcim.interface", "object_id": id})
}

/// Devices p, q, r, s with a LAG (ae1, members e1 and e2) and e3; q also has e1.10 (child of
/// e1). ae1/e1/e2 of each carry a MAC, an IP and a journal entry; each device a journal entry;
/// cables p.e1–q.e1, p.e2–r.e2, q.e2–s.e2, r.e1–s.e1.
async fn lag_world(c: &Client) -> std::collections::HashMap<String, u64> {
    let mut ids = std::collections::HashMap::new();
    let site = c
        .create("/api/dcim/sites/", json!({"name": "S", "slug": "s"}))
        .await;
    let mfr = c
        .create(
            "/api/dcim/manufacturers/",
            json!({"name": "M", "slug": "m"}),
        )
        .await;
    let dt = c
        .create(
            "/api/dcim/device-types/",
            json!({"manufacturer": mfr, "model": "T", "slug": "t"}),
        )
        .await;
    let role = c
        .create("/api/dcim/device-roles/", json!({"name": "R", "slug": "r"}))
        .await;
    for n in ["p", "q", "r", "s"] {
        let d = c
            .create(
                "/api/dcim/devices/",
                json!({"name": n, "device_type": dt, "role": role, "site": site}),
            )
            .await;
        ids.insert(n.to_string(), d);
        let mut names = vec!["ae1", "e1", "e2", "e3"];
        if n == "q" {
            names.push("e1.10");
        }
        for nm in names {
            let mut body = json!({"device": d, "name": nm, "type": match nm {
                "ae1" => "lag",
                "e1.10" => "virtual",
                _ => "10gbase-t",
            }});
            if nm == "e1" || nm == "e2" {
                body["lag"] = json!(ids[&format!("{n}.ae1")]);
            }
            if nm == "e1.10" {
                body["parent"] = json!(ids[&format!("{n}.e1")]);
            }
            let i = c.create("/api/dcim/interfaces/", body).await;
            ids.insert(format!("{n}.{nm}"), i);
        }
    }
    let mut k = 0;
    for n in ["p", "q", "r", "s"] {
        for nm in ["ae1", "e1", "e2"] {
            k += 1;
            let iface = ids[&format!("{n}.{nm}")];
            let mac = c
                .create(
                    "/api/dcim/mac-addresses/",
                    json!({"mac_address": format!("02:00:00:00:00:{k:02x}"),
                           "assigned_object_type": "dcim.interface", "assigned_object_id": iface}),
                )
                .await;
            if nm != "e2" {
                c.patch(
                    &format!("/api/dcim/interfaces/{iface}/"),
                    json!({"primary_mac_address": mac}),
                )
                .await;
            }
            let ip = c
                .create(
                    "/api/ipam/ip-addresses/",
                    json!({"address": format!("10.0.{k}.1/24"),
                           "assigned_object_type": "dcim.interface", "assigned_object_id": iface}),
                )
                .await;
            if nm == "e1" {
                c.patch(
                    &format!("/api/dcim/devices/{}/", ids[n]),
                    json!({"primary_ip4": ip}),
                )
                .await;
            }
            c.create(
                "/api/extras/journal-entries/",
                json!({"assigned_object_type": "dcim.interface", "assigned_object_id": iface, "comments": "j"}),
            )
            .await;
        }
        c.create(
            "/api/extras/journal-entries/",
            json!({"assigned_object_type": "dcim.device", "assigned_object_id": ids[n], "comments": "j"}),
        )
        .await;
    }
    for (a, b) in [
        ("p.e1", "q.e1"),
        ("p.e2", "r.e2"),
        ("q.e2", "s.e2"),
        ("r.e1", "s.e1"),
    ] {
        c.create(
            "/api/dcim/cables/",
            json!({"a_terminations": [iface_ref(ids[a])], "b_terminations": [iface_ref(ids[b])]}),
        )
        .await;
    }
    ids
}

#[tokio::test(start_paused = true)]
async fn interface_and_device_deletes_follow_netbox_cascade_order() {
    let c = Client::new(&fake(Fixture::Empty));
    let ids = lag_world(&c).await;
    // An interface: its termination, journal, IPs (the device loses its primary IP), MACs, itself.
    assert_eq!(
        delete_rows(&c, &format!("/api/dcim/interfaces/{}/", ids["r.e1"]), None).await,
        [
            "cabletermination delete Cable #4 to e1",
            "journalentry delete -",
            "ipaddress delete 10.0.8.1/24",
            "device update r [primary_ip4]",
            "macaddress delete 02:00:00:00:00:08",
            "interface delete e1"
        ]
    );
    // A LAG: its members are saved without it after its own record.
    assert_eq!(
        delete_rows(&c, &format!("/api/dcim/interfaces/{}/", ids["r.ae1"]), None).await,
        [
            "journalentry delete -",
            "ipaddress delete 10.0.7.1/24",
            "macaddress delete 02:00:00:00:00:07",
            "interface delete ae1",
            "interface update e2 [lag]"
        ]
    );
    // A device: dependents first, grouped by model, each group by id.
    assert_eq!(
        delete_rows(&c, &format!("/api/dcim/devices/{}/", ids["p"]), None).await,
        [
            "cabletermination delete Cable #1 to e1",
            "cabletermination delete Cable #2 to e2",
            "journalentry delete -",
            "journalentry delete -",
            "journalentry delete -",
            "journalentry delete -",
            "macaddress delete 02:00:00:00:00:01",
            "macaddress delete 02:00:00:00:00:02",
            "macaddress delete 02:00:00:00:00:03",
            "ipaddress delete 10.0.1.1/24",
            "ipaddress delete 10.0.2.1/24",
            "device update p [primary_ip4]",
            "ipaddress delete 10.0.3.1/24",
            "interface delete ae1",
            "interface update e1 [lag]",
            "interface update e2 [lag]",
            "interface delete e1",
            "interface delete e2",
            "interface delete e3",
            "device delete p"
        ]
    );
    // A device whose interfaces have child interfaces: Django's dependency sort meets a cycle
    // and keeps the collection order (the device's own record comes first).
    assert_eq!(
        delete_rows(&c, &format!("/api/dcim/devices/{}/", ids["q"]), None).await,
        [
            "device delete q",
            "interface delete ae1",
            "interface update e1 [lag]",
            "interface update e2 [lag]",
            "interface delete e1",
            "interface delete e2",
            "interface delete e3",
            "interface delete e1.10",
            "ipaddress delete 10.0.4.1/24",
            "ipaddress delete 10.0.5.1/24",
            "device update q [primary_ip4]",
            "ipaddress delete 10.0.6.1/24",
            "journalentry delete -",
            "journalentry delete -",
            "journalentry delete -",
            "journalentry delete -",
            "macaddress delete 02:00:00:00:00:04",
            "macaddress delete 02:00:00:00:00:05",
            "macaddress delete 02:00:00:00:00:06",
            "cabletermination delete Cable #1 to e1",
            "cabletermination delete Cable #3 to e2"
        ]
    );
    // The changelog message goes on the object's own record only.
    let before = last_change(&c).await;
    let r = c
        .post(
            "/api/dcim/cables/",
            json!({"a_terminations": [iface_ref(ids["s.e3"])], "b_terminations": [iface_ref(ids["r.e3"])],
                   "changelog_message": "cm2"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        rows_since(&c, before).await,
        [
            "cable create #5 (cm2)",
            "cabletermination create Cable #5 to e3",
            "interface update e3 [cable,cable_end]",
            "cabletermination create Cable #5 to e3",
            "interface update e3 [cable,cable_end]",
            "cable update #5 {} (cm2)"
        ]
    );
    let rows = delete_rows(
        &c,
        &format!("/api/dcim/devices/{}/", ids["s"]),
        Some(json!({"changelog_message": "cm4"})),
    )
    .await;
    assert_eq!(
        rows.last().map(String::as_str),
        Some("device delete s (cm4)")
    );
    assert!(rows[..rows.len() - 1].iter().all(|r| !r.contains("(cm4)")));
    // Cables stay when their terminations go with a device.
    let cables = c.get("/api/dcim/cables/").await;
    assert_eq!(cables.json["count"], 5);
}

/// Records of one DELETE in the second test, as recorded from NetBox 4.7.3.
const RELATIONS_EXPECTED: [(&str, &[&str]); 15] = [
    (
        "x.ae1",
        &[
            "ipaddress delete 10.1.120.1/24",
            "ipaddress update 10.2.120.1/24 [nat_inside]",
            "device update x [primary_ip4]",
            "interface delete ae1",
            "interface update e1 [lag]",
            "interface update e2 [lag]",
        ],
    ),
    (
        "x.br0",
        &["interface delete br0", "interface update e3 [bridge]"],
    ),
    (
        "ip3",
        &[
            "ipaddress delete 10.1.121.1/24",
            "ipaddress update 10.2.121.1/24 [nat_inside]",
            "device update y [primary_ip4]",
        ],
    ),
    (
        "v10",
        &[
            "vlan delete v10 (10)",
            "interface update e3 [untagged_vlan]",
            "interface update ae1 [untagged_vlan]",
            "interface update e3 [untagged_vlan]",
            "interface update ae1 [untagged_vlan]",
            "interface update e3 [untagged_vlan]",
        ],
    ),
    (
        "v20",
        &[
            "vlan delete v20 (20)",
            "interface update ae1 [tagged_vlans]",
            "interface update ae1 [tagged_vlans]",
        ],
    ),
    (
        "vrf",
        &[
            "vrf delete V",
            "interface update ae1 [vrf]",
            "interface update ae1 [vrf]",
        ],
    ),
    (
        "vrf2",
        &[
            "vrf delete V2",
            "interface update e3 [vrf]",
            "interface update e3 [vrf]",
            "interface update e3 [vrf]",
        ],
    ),
    ("cf", &["customfield delete C1"]),
    (
        "vc",
        &[
            "device update y {}",
            "device update z {}",
            "virtualchassis delete vc1",
            "device update y [virtual_chassis]",
            "device update z [virtual_chassis]",
        ],
    ),
    (
        "y",
        &[
            "device delete y",
            "interface delete ae1",
            "interface update e1 [lag]",
            "interface update e2 [lag]",
            "interface delete br0",
            "interface update e3 [bridge]",
            "interface delete e1",
            "interface delete e2",
            "interface delete e3",
            "interface delete e1.10",
            "ipaddress delete 10.2.121.1/24",
            "device update y [oob_ip]",
            "macaddress delete 02:00:00:00:79:02",
            "macaddress delete 02:00:00:00:79:03",
            "cabletermination delete Cable #1 to e3",
            "cabletermination delete Cable #2 to e2",
            "cabletermination delete Cable #2 to e1",
        ],
    ),
    (
        "plat",
        &[
            "platform delete P",
            "platform delete PC",
            "device update x [platform]",
            "device update z [platform]",
        ],
    ),
    ("rc2", &["devicerole delete RC2"]),
    (
        "site2",
        &[
            "prefix delete 10.0.0.0/24",
            "vlangroup delete G",
            "site delete S2",
        ],
    ),
    (
        "tag",
        &[
            "tag delete T1",
            "interface update ae1 [tags]",
            "cable update #1 [tags]",
            "device update x [tags]",
            "device update z [tags]",
            "macaddress update 02:00:00:00:78:02 [tags]",
            "macaddress update 02:00:00:00:78:03 [tags]",
            "macaddress update 02:00:00:00:7A:02 [tags]",
            "macaddress update 02:00:00:00:7A:03 [tags]",
            "ipaddress update 10.1.122.1/24 [tags]",
            "journalentry update - [tags]",
        ],
    ),
    (
        "z",
        &[
            "device delete z",
            "interface delete ae1",
            "interface update e1 [lag]",
            "interface update e2 [lag]",
            "interface delete br0",
            "interface update e3 [bridge]",
            "interface delete e1",
            "interface delete e2",
            "interface delete e3",
            "interface delete e1.10",
            "ipaddress delete 10.1.122.1/24",
            "ipaddress update 10.2.122.1/24 [nat_inside]",
            "device update z [primary_ip4]",
            "ipaddress delete 10.2.122.1/24",
            "device update z [oob_ip]",
            "journalentry delete -",
            "macaddress delete 02:00:00:00:7A:02",
            "macaddress delete 02:00:00:00:7A:03",
            "cabletermination delete Cable #2 to e2",
        ],
    ),
];

#[tokio::test(start_paused = true)]
async fn deletes_clear_relations_with_records_and_refuse_dependents() {
    let c = Client::new(&fake(Fixture::Empty));
    let mut ids: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    macro_rules! add {
        ($k:expr, $v:expr $(,)?) => {{
            let v = $v;
            ids.insert($k.to_string(), v);
            v
        }};
    }
    let site = add!(
        "site",
        c.create("/api/dcim/sites/", json!({"name": "S", "slug": "s"}))
            .await,
    );
    let site2 = add!(
        "site2",
        c.create("/api/dcim/sites/", json!({"name": "S2", "slug": "s2"}))
            .await,
    );
    let mfr = c
        .create(
            "/api/dcim/manufacturers/",
            json!({"name": "M", "slug": "m"}),
        )
        .await;
    let plat = add!(
        "plat",
        c.create("/api/dcim/platforms/", json!({"name": "P", "slug": "p"}))
            .await,
    );
    let plat_child = c
        .create(
            "/api/dcim/platforms/",
            json!({"name": "PC", "slug": "pc", "parent": plat}),
        )
        .await;
    let dt = c
        .create(
            "/api/dcim/device-types/",
            json!({"manufacturer": mfr, "model": "T", "slug": "t", "default_platform": plat_child}),
        )
        .await;
    let role = add!(
        "role",
        c.create("/api/dcim/device-roles/", json!({"name": "R", "slug": "r"}))
            .await,
    );
    let role_child = c
        .create(
            "/api/dcim/device-roles/",
            json!({"name": "RC", "slug": "rc", "parent": role}),
        )
        .await;
    add!(
        "rc2",
        c.create(
            "/api/dcim/device-roles/",
            json!({"name": "RC2", "slug": "rc2", "parent": role}),
        )
        .await,
    );
    let tag = add!(
        "tag",
        c.create("/api/extras/tags/", json!({"name": "T1", "slug": "t1"}))
            .await,
    );
    let vrf = add!(
        "vrf",
        c.create("/api/ipam/vrfs/", json!({"name": "V"})).await,
    );
    let vrf2 = add!(
        "vrf2",
        c.create("/api/ipam/vrfs/", json!({"name": "V2"})).await,
    );
    c.create(
        "/api/ipam/vlan-groups/",
        json!({"name": "G", "slug": "g", "scope_type": "dcim.site", "scope_id": site2}),
    )
    .await;
    c.create(
        "/api/ipam/prefixes/",
        json!({"prefix": "10.0.0.0/24", "scope_type": "dcim.site", "scope_id": site2}),
    )
    .await;
    let v10 = add!(
        "v10",
        c.create("/api/ipam/vlans/", json!({"vid": 10, "name": "v10"}))
            .await,
    );
    let v20 = add!(
        "v20",
        c.create("/api/ipam/vlans/", json!({"vid": 20, "name": "v20"}))
            .await,
    );
    for n in ["x", "y", "z"] {
        let d = c
            .create(
                "/api/dcim/devices/",
                json!({"name": n, "device_type": dt, "role": role_child, "site": site,
                       "tags": [tag], "platform": plat_child}),
            )
            .await;
        add!(n, d);
        for nm in ["ae1", "br0", "e1", "e2", "e3", "e1.10"] {
            let ty = match nm {
                "ae1" => "lag",
                "br0" => "bridge",
                "e1.10" => "virtual",
                _ => "10gbase-t",
            };
            let mut body = json!({"device": d, "name": nm, "type": ty});
            let key = |x: &str| format!("{n}.{x}");
            match nm {
                "ae1" => {
                    body["mode"] = json!("tagged");
                    body["untagged_vlan"] = json!(v10);
                    body["tagged_vlans"] = json!([v20]);
                    body["vrf"] = json!(vrf);
                    body["tags"] = json!([tag]);
                }
                "e1" | "e2" => body["lag"] = json!(ids[&key("ae1")]),
                "e3" => {
                    body["bridge"] = json!(ids[&key("br0")]);
                    body["mode"] = json!("access");
                    body["untagged_vlan"] = json!(v10);
                    body["vrf"] = json!(vrf2);
                }
                "e1.10" => body["parent"] = json!(ids[&key("e1")]),
                _ => {}
            }
            let i = c.create("/api/dcim/interfaces/", body).await;
            ids.insert(key(nm), i);
        }
    }
    let octet = |n: &str| u32::from(n.as_bytes()[0]);
    for n in ["x", "y", "z"] {
        for (nm, last) in [("e1", 2), ("e2", 3)] {
            let iface = ids[&format!("{n}.{nm}")];
            let mac = c
                .create(
                    "/api/dcim/mac-addresses/",
                    json!({"mac_address": format!("02:00:00:00:{:02x}:{last:02x}", octet(n)),
                           "assigned_object_type": "dcim.interface", "assigned_object_id": iface,
                           "tags": [tag]}),
                )
                .await;
            if nm == "e1" {
                c.patch(
                    &format!("/api/dcim/interfaces/{iface}/"),
                    json!({"primary_mac_address": mac}),
                )
                .await;
            }
        }
        let ip = c
            .create(
                "/api/ipam/ip-addresses/",
                json!({"address": format!("10.1.{}.1/24", octet(n)),
                       "assigned_object_type": "dcim.interface",
                       "assigned_object_id": ids[&format!("{n}.ae1")], "tags": [tag]}),
            )
            .await;
        let oob = c
            .create(
                "/api/ipam/ip-addresses/",
                json!({"address": format!("10.2.{}.1/24", octet(n)),
                       "assigned_object_type": "dcim.interface",
                       "assigned_object_id": ids[&format!("{n}.e2")], "nat_inside": ip}),
            )
            .await;
        let r = c
            .patch(
                &format!("/api/dcim/devices/{}/", ids[n]),
                json!({"primary_ip4": ip, "oob_ip": oob}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        ids.insert(format!("ip-{n}"), ip);
    }
    ids.insert("ip3".into(), ids["ip-y"]);
    c.create(
        "/api/dcim/cables/",
        json!({"a_terminations": [iface_ref(ids["x.e3"])], "b_terminations": [iface_ref(ids["y.e3"])],
               "tags": [tag]}),
    )
    .await;
    c.create(
        "/api/dcim/cables/",
        json!({"a_terminations": [iface_ref(ids["y.e2"]), iface_ref(ids["y.e1"])],
               "b_terminations": [iface_ref(ids["z.e2"])]}),
    )
    .await;
    let vc = c
        .create("/api/dcim/virtual-chassis/", json!({"name": "vc1"}))
        .await;
    ids.insert("vc".into(), vc);
    c.patch(
        &format!("/api/dcim/devices/{}/", ids["y"]),
        json!({"virtual_chassis": vc, "vc_position": 1, "vc_priority": 5}),
    )
    .await;
    c.patch(
        &format!("/api/dcim/devices/{}/", ids["z"]),
        json!({"virtual_chassis": vc, "vc_position": 2}),
    )
    .await;
    c.create(
        "/api/extras/custom-field-choice-sets/",
        json!({"name": "CS", "extra_choices": [["a", "A"], ["b", "B"]]}),
    )
    .await;
    let cf = c
        .create(
            "/api/extras/custom-fields/",
            json!({"name": "c1", "type": "text", "object_types": ["dcim.device", "dcim.interface"]}),
        )
        .await;
    ids.insert("cf".into(), cf);
    c.patch(
        &format!("/api/dcim/devices/{}/", ids["x"]),
        json!({"custom_fields": {"c1": "hello"}}),
    )
    .await;
    c.create(
        "/api/extras/journal-entries/",
        json!({"assigned_object_type": "dcim.device", "assigned_object_id": ids["z"],
               "comments": "j", "tags": [tag]}),
    )
    .await;

    // RESTRICT: an interface with child interfaces cannot go on its own.
    let r = c
        .delete(&format!("/api/dcim/interfaces/{}/", ids["x.e1"]))
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json["detail"],
        "Unable to delete object. 1 dependent objects were found: e1.10 (6)"
    );
    for (what, expected) in RELATIONS_EXPECTED {
        let path = match what {
            "x.ae1" | "x.br0" => format!("/api/dcim/interfaces/{}/", ids[what]),
            "ip3" => format!("/api/ipam/ip-addresses/{}/", ids[what]),
            "v10" | "v20" => format!("/api/ipam/vlans/{}/", ids[what]),
            "vrf" | "vrf2" => format!("/api/ipam/vrfs/{}/", ids[what]),
            "cf" => format!("/api/extras/custom-fields/{}/", ids[what]),
            "vc" => format!("/api/dcim/virtual-chassis/{}/", ids[what]),
            "y" | "z" => format!("/api/dcim/devices/{}/", ids[what]),
            "plat" => format!("/api/dcim/platforms/{}/", ids[what]),
            "rc2" => format!("/api/dcim/device-roles/{}/", ids[what]),
            "site2" => format!("/api/dcim/sites/{}/", ids[what]),
            "tag" => format!("/api/extras/tags/{}/", ids[what]),
            _ => unreachable!(),
        };
        if what == "rc2" {
            // A role's child roles go with it, so their devices block it.
            let r = c
                .delete(&format!("/api/dcim/device-roles/{}/", ids["role"]))
                .await;
            assert_eq!(r.status, 409);
            assert_eq!(
                r.json["detail"],
                "Unable to delete object. 2 dependent objects were found: x (1), z (3)"
            );
        }
        assert_eq!(
            delete_rows(&c, &path, None).await,
            expected,
            "DELETE {what}"
        );
        if what == "cf" {
            let x = c.get(&format!("/api/dcim/devices/{}/", ids["x"])).await;
            assert_eq!(x.json["custom_fields"], json!({}));
        }
    }
    let r = c.get(&format!("/api/dcim/device-types/{dt}/")).await;
    assert_eq!(r.json["default_platform"], Value::Null);
    assert_eq!(c.get("/api/ipam/prefixes/").await.json["count"], 0);
    assert_eq!(c.get("/api/dcim/interfaces/").await.json["count"], 4);
}
