//! Smaller behaviours found by replaying scripted sessions against NetBox 4.7.3 and the fake
//! side by side; each expected value here is what the real NetBox answered.

use serde_json::{Value, json};

use crate::common::{self, Client, fake};
use fake_netbox::Fixture;

struct World {
    site: u64,
    dt: u64,
    role: u64,
}

async fn world(c: &Client) -> World {
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
    World { site, dt, role }
}

async fn device(c: &Client, w: &World, name: &str) -> u64 {
    c.create(
        "/api/dcim/devices/",
        json!({"name": name, "device_type": w.dt, "role": w.role, "site": w.site}),
    )
    .await
}

async fn iface(c: &Client, dev: u64, name: &str, extra: Value) -> u64 {
    let mut body = json!({"device": dev, "name": name, "type": "10gbase-t"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    c.create("/api/dcim/interfaces/", body).await
}

async fn changes(c: &Client) -> Vec<Value> {
    c.get("/api/core/object-changes/?limit=1000&ordering=id")
        .await
        .results()
        .clone()
}

#[tokio::test(start_paused = true)]
async fn a_primary_ip_moves_only_within_its_device() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    let (a, b) = (device(&c, &w, "a").await, device(&c, &w, "b").await);
    let a1 = iface(&c, a, "e1", json!({})).await;
    let a2 = iface(&c, a, "e2", json!({})).await;
    let b1 = iface(&c, b, "e1", json!({})).await;
    let ip = c
        .create(
            "/api/ipam/ip-addresses/",
            json!({"address": "10.0.0.1/24", "assigned_object_type": "dcim.interface", "assigned_object_id": a1}),
        )
        .await;
    let path = format!("/api/ipam/ip-addresses/{ip}/");
    c.patch(
        &format!("/api/dcim/devices/{a}/"),
        json!({"primary_ip4": ip, "oob_ip": ip}),
    )
    .await;
    let r = c.patch(&path, json!({"assigned_object_id": a2})).await;
    assert_eq!(r.status, 200, "another interface of the same device");
    let primary =
        "Cannot reassign IP address while it is designated as the primary IP for the parent object";
    let r = c.patch(&path, json!({"assigned_object_id": b1})).await;
    assert_eq!((r.status, &r.json), (400, &json!({"__all__": [primary]})));
    let r = c
        .patch(
            &path,
            json!({"assigned_object_type": null, "assigned_object_id": null}),
        )
        .await;
    assert_eq!(r.json, json!({"__all__": [primary]}));
    c.patch(
        &format!("/api/dcim/devices/{a}/"),
        json!({"primary_ip4": null}),
    )
    .await;
    let r = c.patch(&path, json!({"assigned_object_id": b1})).await;
    assert_eq!(
        r.json,
        json!({"__all__": ["Cannot reassign IP address while it is designated as the OOB IP for the parent object"]})
    );
}

#[tokio::test(start_paused = true)]
async fn interface_vlan_fields_follow_the_802_1q_mode() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    let dev = device(&c, &w, "a").await;
    let v1 = c
        .create("/api/ipam/vlans/", json!({"vid": 1, "name": "v1"}))
        .await;
    let v2 = c
        .create(
            "/api/ipam/vlans/",
            json!({"vid": 2, "name": "v2", "site": w.site}),
        )
        .await;
    let s2 = c
        .create("/api/dcim/sites/", json!({"name": "S2", "slug": "s2"}))
        .await;
    let v3 = c
        .create(
            "/api/ipam/vlans/",
            json!({"vid": 3, "name": "v3", "site": s2}),
        )
        .await;
    let r = c
        .post(
            "/api/dcim/interfaces/",
            json!({"device": dev, "name": "e1", "type": "10gbase-t", "mode": "tagged", "tagged_vlans": [v1, v2]}),
        )
        .await;
    // Tagged VLANs come in VLAN ordering: site (nulls last), group, VID.
    let vids: Vec<&Value> = r.json["tagged_vlans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["vid"])
        .collect();
    assert_eq!(vids, [&json!(2), &json!(1)]);
    let i = r.json["id"].as_u64().unwrap();
    let path = format!("/api/dcim/interfaces/{i}/");
    let r = c
        .patch(&path, json!({"mode": "access", "untagged_vlan": v1}))
        .await;
    assert_eq!(
        (r.status, &r.json),
        (
            400,
            &json!({"tagged_vlans": ["Interface mode does not support tagged vlans"]})
        )
    );
    let r = c.patch(&path, json!({"mode": "q-in-q"})).await;
    assert_eq!(r.json["tagged_vlans"], json!([]));
    let r = c.patch(&path, json!({"tagged_vlans": [v1]})).await;
    assert_eq!(
        r.json["tagged_vlans"][0]["vid"], 1,
        "q-in-q keeps given tagged VLANs"
    );
    let r = c
        .patch(&path, json!({"mode": "tagged", "tagged_vlans": [v3]}))
        .await;
    assert_eq!(
        r.json,
        json!({"tagged_vlans": ["VLAN v3 (3) must belong to the same site as the interface's parent device, or it must be global."]})
    );
    let r = c
        .patch(
            &path,
            json!({"mode": "access", "qinq_svlan": v1, "tagged_vlans": []}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"qinq_svlan": ["Interface mode does not support q-in-q service vlan"]})
    );
    let r = c
        .post(
            "/api/dcim/interfaces/",
            json!({"device": dev, "name": "e2", "type": "10gbase-t", "untagged_vlan": v1}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"untagged_vlan": ["Interface mode does not support untagged vlan"]})
    );
    // Clearing the mode while an untagged VLAN is set is refused too.
    c.patch(
        &path,
        json!({"mode": "access", "tagged_vlans": [], "untagged_vlan": v1}),
    )
    .await;
    let r = c.patch(&path, json!({"mode": null})).await;
    assert_eq!(
        r.json,
        json!({"untagged_vlan": ["Interface mode does not support untagged vlan"]})
    );
}

#[tokio::test(start_paused = true)]
async fn choice_fields_read_null_as_blank_unless_they_allow_null() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    let dev = device(&c, &w, "a").await;
    let blank = json!(["This field may not be blank."]);
    for body in [json!({"status": null}), json!({"status": ""})] {
        let r = c.patch(&format!("/api/dcim/sites/{}/", w.site), body).await;
        assert_eq!(r.json, json!({"status": blank}));
    }
    let r = c
        .post(
            "/api/ipam/vlans/",
            json!({"vid": 1, "name": "v1", "qinq_role": ""}),
        )
        .await;
    assert_eq!(r.json, json!({"qinq_role": blank}));
    let i = iface(
        &c,
        dev,
        "e1",
        json!({"duplex": "", "poe_mode": null, "mode": ""}),
    )
    .await;
    let r = c.get(&format!("/api/dcim/interfaces/{i}/")).await;
    assert_eq!(
        (&r.json["mode"], &r.json["duplex"], &r.json["poe_mode"]),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    let log = changes(&c).await;
    let post = &log.last().unwrap()["postchange_data"];
    assert_eq!(
        (&post["mode"], &post["duplex"], &post["poe_mode"]),
        (&json!(""), &json!(""), &json!(""))
    );
    let n = |q: &str| {
        let c = c.clone();
        let q = q.to_string();
        async move { c.get(&q).await.json["count"].clone() }
    };
    assert_eq!(n("/api/dcim/interfaces/?mode__empty=true").await, 1);
    assert_eq!(n("/api/dcim/interfaces/?mode__empty=false").await, 0);
}

#[tokio::test(start_paused = true)]
async fn vlan_groups_without_scope_may_share_names_and_vid_ranges_are_listed() {
    let c = Client::new(&fake(Fixture::Empty));
    let g = c
        .create(
            "/api/ipam/vlan-groups/",
            json!({"name": "G", "slug": "g", "vid_ranges": [[100, 199], [300, 399]]}),
        )
        .await;
    let r = c
        .post("/api/ipam/vlan-groups/", json!({"name": "G", "slug": "g3"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = c
        .post(
            "/api/ipam/vlans/",
            json!({"vid": 250, "name": "x", "group": g}),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"vid": ["VID must be in ranges 100-199,300-399 for VLANs in group G"]})
    );
}

#[tokio::test(start_paused = true)]
async fn the_peer_of_a_deleted_interface_keeps_its_cable_but_no_path() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    let (a, b) = (device(&c, &w, "a").await, device(&c, &w, "b").await);
    let a1 = iface(&c, a, "e1", json!({})).await;
    let b1 = iface(&c, b, "e1", json!({})).await;
    let cable = c
        .create(
            "/api/dcim/cables/",
            json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": a1}],
                   "b_terminations": [{"object_type": "dcim.interface", "object_id": b1}]}),
        )
        .await;
    assert_eq!(
        c.delete(&format!("/api/dcim/interfaces/{a1}/"))
            .await
            .status,
        204
    );
    let r = c.get(&format!("/api/dcim/interfaces/{b1}/")).await;
    assert_eq!(r.json["cable"]["id"], cable);
    assert_eq!(r.json["link_peers"], json!([]));
    for k in [
        "link_peers_type",
        "connected_endpoints",
        "connected_endpoints_type",
    ] {
        assert_eq!(r.json[k], Value::Null, "{k}");
    }
    assert_eq!(r.json["connected_endpoints_reachable"], false);
    let r = c.get(&format!("/api/dcim/cables/{cable}/")).await;
    assert_eq!(r.json["a_terminations"], json!([]));
}

#[tokio::test(start_paused = true)]
async fn bulk_delete_counts_every_dependent_object() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    for n in ["a", "b", "c"] {
        device(&c, &w, n).await;
    }
    let r = c
        .delete_body("/api/dcim/device-roles/", json!([{"id": w.role}]))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(
        r.json["errors"][0]["errors"]["__all__"][0],
        "Unable to delete: 3 dependent object(s) prevent deletion."
    );
}

#[tokio::test(start_paused = true)]
async fn tree_parents_and_nat_addresses_use_the_legacy_nested_shapes() {
    let c = Client::new(&fake(Fixture::Empty));
    let p = c
        .create("/api/dcim/platforms/", json!({"name": "P", "slug": "p"}))
        .await;
    let r = c
        .post(
            "/api/dcim/platforms/",
            json!({"name": "PC", "slug": "pc", "parent": p}),
        )
        .await;
    assert_eq!(
        r.json["parent"],
        json!({"id": p, "url": format!("http://{}/api/dcim/platforms/{p}/", common::HOST),
               "display_url": format!("http://{}/dcim/platforms/{p}/", common::HOST),
               "display": "P", "name": "P"})
    );
    let inside = c
        .create("/api/ipam/ip-addresses/", json!({"address": "10.0.0.1/24"}))
        .await;
    let r = c
        .post(
            "/api/ipam/ip-addresses/",
            json!({"address": "192.0.2.1/24", "nat_inside": inside}),
        )
        .await;
    assert_eq!(
        r.json["nat_inside"],
        json!({"id": inside, "url": format!("http://{}/api/ipam/ip-addresses/{inside}/", common::HOST),
               "display_url": format!("http://{}/ipam/ip-addresses/{inside}/", common::HOST),
               "display": "10.0.0.1/24", "family": 4, "address": "10.0.0.1/24"})
    );
    let r = c.get(&format!("/api/ipam/ip-addresses/{inside}/")).await;
    assert_eq!(r.json["nat_outside"][0]["family"], 4);
}

#[tokio::test(start_paused = true)]
async fn create_records_keep_model_defaults_and_cable_tags_land_on_the_last_record() {
    let c = Client::new(&fake(Fixture::Empty));
    let w = world(&c).await;
    let log = changes(&c).await;
    // u_height left at its default is the model's float; a given value went through Decimal.
    assert_eq!(log[2]["postchange_data"]["u_height"], json!(1.0));
    let mfr = log[1]["changed_object_id"].as_u64().unwrap();
    c.create(
        "/api/dcim/device-types/",
        json!({"manufacturer": mfr, "model": "T2", "slug": "t2", "u_height": 2}),
    )
    .await;
    let log = changes(&c).await;
    assert_eq!(log.last().unwrap()["postchange_data"]["u_height"], "2.0");
    let tag = c
        .create("/api/extras/tags/", json!({"name": "T1", "slug": "t1"}))
        .await;
    let (a, b) = (device(&c, &w, "a").await, device(&c, &w, "b").await);
    let a1 = iface(&c, a, "e1", json!({})).await;
    let b1 = iface(&c, b, "e1", json!({})).await;
    let before = changes(&c).await.len();
    c.create(
        "/api/dcim/cables/",
        json!({"a_terminations": [{"object_type": "dcim.interface", "object_id": a1}],
               "b_terminations": [{"object_type": "dcim.interface", "object_id": b1}],
               "tags": [tag]}),
    )
    .await;
    let log = changes(&c).await;
    let cable: Vec<&Value> = log[before..]
        .iter()
        .filter(|r| r["changed_object_type"] == "dcim.cable")
        .collect();
    assert_eq!(cable.len(), 2);
    assert_eq!(cable[0]["postchange_data"]["tags"], json!([]));
    assert_eq!(cable[1]["postchange_data"]["tags"], json!(["T1"]));
}
