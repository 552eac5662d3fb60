//! Fixture presets: the VLAB default in NetBox terms (docs/netbox-model.md), sizes of the large
//! and xlarge presets, determinism from the seed, golden hashes of single-fabric documents and
//! their loads, the JSON fixture round trip, change records of a fixture load, and clear errors
//! for bad fixtures and specs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::common::{self, Client, fake};
use fake_netbox::{FabricSpec, FakeNetBox, Fixture, FixtureError};

async fn all(c: &Client, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let r = c.get(&format!("{path}{sep}limit=1000")).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    assert!(r.json["next"].is_null(), "{path} fits in one page");
    r.results().clone()
}

fn names(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .map(|o| o["name"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn vlab_is_the_hedgehog_vlab_default_in_netbox_terms() {
    let c = Client::new(&fake(Fixture::Vlab));
    let site = all(&c, "/api/dcim/sites/").await;
    assert_eq!(names(&site), ["vlab"]);
    assert_eq!(site[0]["slug"], "vlab");
    let by_role = |role: &'static str| {
        let c = c.clone();
        async move { names(&all(&c, &format!("/api/dcim/devices/?site=vlab&role={role}")).await) }
    };
    assert_eq!(by_role("spine").await, ["spine-01", "spine-02"]);
    assert_eq!(
        by_role("server-leaf").await,
        ["leaf-01", "leaf-02", "leaf-03"]
    );
    assert_eq!(
        by_role("server").await,
        [
            "server-01",
            "server-02",
            "server-03",
            "server-04",
            "server-05",
            "server-06"
        ]
    );
    assert_eq!(by_role("external").await, ["ext-01"]);
    // Switch profile = device type slug; ESLAG group by custom field; leaf-03 is an orphan.
    let leaves = all(&c, "/api/dcim/devices/?role=server-leaf").await;
    for leaf in &leaves {
        assert_eq!(leaf["device_type"]["slug"], "vs");
        assert_eq!(leaf["platform"]["slug"], "sonic");
        assert!(leaf["serial"].as_str().unwrap().starts_with("HH"));
        assert!(leaf["custom_fields"]["hedgehog_asn"].as_u64().unwrap() >= 65101);
        assert!(
            leaf["custom_fields"]["hedgehog_vtep_ip"]
                .as_str()
                .unwrap()
                .ends_with("/32")
        );
        assert!(
            leaf["primary_ip4"]["address"]
                .as_str()
                .unwrap()
                .starts_with("172.30.0.")
        );
    }
    let groups: Vec<Value> = leaves
        .iter()
        .map(|l| l["custom_fields"]["hedgehog_redundancy_group"].clone())
        .collect();
    assert_eq!(groups, [json!("eslag-1"), json!("eslag-1"), Value::Null]);
    let spines = all(&c, "/api/dcim/devices/?role=spine").await;
    assert_eq!(spines[0]["custom_fields"]["hedgehog_asn"], 65100);
    assert_eq!(
        spines[0]["custom_fields"]["hedgehog_vtep_ip"],
        Value::Null,
        "spines have no VTEP IP"
    );
    // Management ports and boot MACs 0c:20:12:ff:NN:00.
    let mgmt = all(&c, "/api/dcim/interfaces/?mgmt_only=true").await;
    let macs: BTreeMap<String, String> = mgmt
        .iter()
        .map(|i| {
            (
                i["device"]["name"].as_str().unwrap().to_string(),
                i["mac_address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(macs["spine-01"], "0C:20:12:FF:01:00");
    assert_eq!(macs["leaf-03"], "0C:20:12:FF:05:00");
    assert!(mgmt.iter().all(|i| i["name"] == "M1"));
    // Fabric: 2 cables per spine-leaf pair on Hedgehog port names.
    let cables = all(&c, "/api/dcim/cables/?site=vlab").await;
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut server_links: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for cable in &cables {
        let a = &cable["a_terminations"][0]["object"];
        let b = &cable["b_terminations"][0]["object"];
        let (ad, bd) = (
            a["device"]["name"].as_str().unwrap(),
            b["device"]["name"].as_str().unwrap(),
        );
        for port in [a["name"].as_str().unwrap(), b["name"].as_str().unwrap()] {
            assert!(
                port.starts_with("E1/") || port.starts_with("enp2s") || port == "eth0",
                "{port}"
            );
        }
        if ad.starts_with("spine") {
            *pairs.entry((ad.into(), bd.into())).or_default() += 1;
        }
        if ad.starts_with("server") {
            server_links.entry(ad.into()).or_default().push((
                a["name"].as_str().unwrap().into(),
                bd.into(),
                b["name"].as_str().unwrap().into(),
            ));
        }
    }
    assert_eq!(pairs.len(), 6);
    assert!(pairs.values().all(|n| *n == 2), "{pairs:?}");
    let leaves_of =
        |s: &str| -> Vec<String> { server_links[s].iter().map(|l| l.1.clone()).collect() };
    assert_eq!(leaves_of("server-01"), ["leaf-01", "leaf-02"], "ESLAG");
    assert_eq!(leaves_of("server-02"), ["leaf-01", "leaf-02"], "ESLAG");
    assert_eq!(leaves_of("server-03"), ["leaf-01"], "unbundled");
    assert_eq!(leaves_of("server-04"), ["leaf-02", "leaf-02"], "bundled");
    assert_eq!(leaves_of("server-05"), ["leaf-03"], "unbundled");
    assert_eq!(leaves_of("server-06"), ["leaf-03", "leaf-03"], "bundled");
    // LAG intent: bundled and ESLAG servers have bond0 (type lag) with their NICs as members.
    for s in ["server-01", "server-02", "server-04", "server-06"] {
        let ifaces = all(&c, &format!("/api/dcim/interfaces/?device={s}")).await;
        let bond = ifaces.iter().find(|i| i["name"] == "bond0").expect("bond0");
        assert_eq!(bond["type"]["value"], "lag");
        let members: Vec<&Value> = ifaces
            .iter()
            .filter(|i| i["lag"]["id"] == bond["id"])
            .collect();
        assert_eq!(members.len(), 2, "{s}");
    }
    for s in ["server-03", "server-05"] {
        let ifaces = all(&c, &format!("/api/dcim/interfaces/?device={s}")).await;
        assert!(
            ifaces.iter().all(|i| i["type"]["value"] != "lag"),
            "{s} is unbundled"
        );
    }
    // IPAM: VLAN namespace, IPv4 namespace, VPCs with subnets, attachments, peering, external.
    let groups = all(&c, "/api/ipam/vlan-groups/").await;
    assert_eq!(
        (groups[0]["slug"].clone(), groups[0]["scope_type"].clone()),
        (json!("default"), json!("dcim.site"))
    );
    assert_eq!(groups[0]["vid_ranges"], json!([[1000, 2999]]));
    let containers = all(&c, "/api/ipam/prefixes/?status=container").await;
    assert_eq!(
        containers[0]["custom_fields"]["hedgehog_ipv4_namespace"],
        "default"
    );
    let vrfs = all(&c, "/api/ipam/vrfs/").await;
    assert_eq!(names(&vrfs), ["vpc-1", "vpc-2"]);
    assert_eq!(vrfs[0]["custom_fields"]["hedgehog_peers"], "vpc-2");
    assert_eq!(vrfs[0]["custom_fields"]["hedgehog_externals"], "ext-01");
    for vrf in &vrfs {
        let subnets = all(&c, &format!("/api/ipam/prefixes/?vrf_id={}", vrf["id"])).await;
        assert_eq!(subnets.len(), 2);
        for p in &subnets {
            assert_eq!(p["status"]["value"], "active");
            assert!(p["vlan"]["vid"].as_u64().unwrap() >= 1001);
            assert_eq!(p["custom_fields"]["hedgehog_dhcp"], true);
        }
        let vids: Vec<u64> = subnets
            .iter()
            .map(|p| p["vlan"]["id"].as_u64().unwrap())
            .collect();
        let attached = all(&c, &format!("/api/dcim/interfaces/?vlan_id={}", vids[0])).await;
        assert!(!attached.is_empty(), "{} has attachments", vrf["name"]);
        assert!(
            attached
                .iter()
                .all(|i| i["device"]["name"].as_str().unwrap().starts_with("server"))
        );
    }
    let ext_port = all(&c, "/api/dcim/interfaces/?device=leaf-03&mode=access").await;
    assert_eq!(ext_port.len(), 1);
    assert_eq!(ext_port[0]["link_peers"][0]["device"]["name"], "ext-01");
    assert_eq!(ext_port[0]["untagged_vlan"]["vid"], 100);
    let ips = all(
        &c,
        &format!("/api/ipam/ip-addresses/?interface_id={}", ext_port[0]["id"]),
    )
    .await;
    assert_eq!(ips[0]["address"], "100.100.0.1/24");
    let ext = all(&c, "/api/dcim/devices/?role=external").await;
    assert_eq!(ext[0]["custom_fields"]["hedgehog_asn"], 64102);
    // Every Hedgehog custom field of the contract exists ...
    let cfs = names(&all(&c, "/api/extras/custom-fields/").await);
    for cf in [
        "hedgehog_role",
        "hedgehog_profile",
        "hedgehog_asn",
        "hedgehog_protocol_ip",
        "hedgehog_vtep_ip",
        "hedgehog_redundancy_group",
        "hedgehog_redundancy_type",
        "hedgehog_inbound_community",
        "hedgehog_outbound_community",
        "hedgehog_ipv4_namespace",
        "hedgehog_breakout",
        "hedgehog_link",
        "hedgehog_subnet",
        "hedgehog_dhcp",
        "hedgehog_dhcp_start",
        "hedgehog_dhcp_end",
        "hedgehog_peers",
        "hedgehog_externals",
    ] {
        assert!(cfs.contains(&cf.to_string()), "{cf}");
    }
    // ... and nothing else: the fake is a plain NetBox, fabsync's own fields are fabsync's to
    // create (`fabsync netbox-setup`).
    assert_eq!(cfs.len(), 18, "{cfs:?}");
    assert!(!cfs.iter().any(|c| c.starts_with("fabsync_")), "{cfs:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fixture_load_is_one_bulk_import_in_the_change_log() {
    let nb = fake(Fixture::Vlab);
    let c = Client::new(&nb);
    let changes = c
        .get("/api/core/object-changes/?ordering=id&limit=1000")
        .await;
    let results = changes.results();
    let rid = &results[0]["request_id"];
    assert!(
        results.iter().all(|r| &r["request_id"] == rid),
        "one request id"
    );
    let counts = nb.object_counts();
    let mut created: BTreeMap<String, u64> = BTreeMap::new();
    for r in results.iter().filter(|r| r["action"]["value"] == "create") {
        *created
            .entry(r["changed_object_type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(created["dcim.device"], counts["dcim.devices"] as u64);
    assert_eq!(created["dcim.interface"], counts["dcim.interfaces"] as u64);
    assert_eq!(created["dcim.cable"], counts["dcim.cables"] as u64);
    assert_eq!(
        created["dcim.cabletermination"],
        counts["dcim.cable-terminations"] as u64
    );
    assert_eq!(
        created.values().sum::<u64>() as usize,
        nb.object_count(),
        "a client starting from change 0 sees every object"
    );
}

#[tokio::test(start_paused = true)]
async fn presets_have_their_sizes() {
    let vlab = fake(Fixture::Vlab);
    let large = fake(Fixture::Large);
    let xlarge = fake(Fixture::Xlarge);
    for (name, nb) in [("vlab", &vlab), ("large", &large), ("xlarge", &xlarge)] {
        println!(
            "{name}: {} objects {:?}",
            nb.object_count(),
            nb.object_counts()
        );
    }
    assert!((300..2000).contains(&vlab.object_count()));
    assert!(
        (5_000..=10_000).contains(&large.object_count()),
        "{}",
        large.object_count()
    );
    assert!(xlarge.object_count() >= 50_000, "{}", xlarge.object_count());
    let c = Client::new(&large);
    for kind in ["mclag", "eslag", "bundled", "unbundled"] {
        let r = c
            .get(&format!("/api/dcim/devices/?role=server&q={kind}&limit=1"))
            .await;
        assert!(r.json["count"].as_u64().unwrap() > 0, "{kind} servers");
    }
    assert_eq!(
        c.get("/api/dcim/virtual-chassis/").await.json["count"],
        2,
        "MCLAG pairs"
    );
    assert!(
        c.get("/api/dcim/interfaces/?cf_hedgehog_breakout=4x100G&limit=1")
            .await
            .json["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(
        c.get("/api/dcim/cables/?cf_hedgehog_link=mclag-session&limit=1")
            .await
            .json["count"],
        4,
        "2 session links per MCLAG pair"
    );
    assert_eq!(
        c.get("/api/dcim/cables/?cf_hedgehog_link=mclag-peer&limit=1")
            .await
            .json["count"],
        4,
        "2 peer links per MCLAG pair"
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_bytes() {
    let a = serde_json::to_string(&fake(Fixture::Large).export()).unwrap();
    let b = serde_json::to_string(&fake(Fixture::Large).export()).unwrap();
    assert_eq!(a, b);
    let other = FakeNetBox::builder()
        .token(common::V1)
        .seed(7)
        .fixture(Fixture::Large)
        .build()
        .unwrap();
    assert_ne!(
        a,
        serde_json::to_string(&other.export()).unwrap(),
        "serial numbers follow the seed"
    );
    let ca = Client::new(&fake(Fixture::Vlab));
    let cb = Client::new(&fake(Fixture::Vlab));
    for path in [
        "/api/dcim/interfaces/?limit=1000",
        "/api/core/object-changes/?limit=1000",
    ] {
        assert_eq!(ca.get(path).await.text, cb.get(path).await.text, "{path}");
    }
}

#[tokio::test(start_paused = true)]
async fn export_then_load_then_export_round_trips() {
    let original = fake(Fixture::Vlab);
    let c = Client::new(&original);
    // Change something through the API first, so the export is not just the generator's output.
    let dev = c.get("/api/dcim/devices/?name=leaf-01").await.results()[0]["id"]
        .as_u64()
        .unwrap();
    c.patch(
        &format!("/api/dcim/devices/{dev}/"),
        json!({"description": "edited", "custom_fields": {"hedgehog_role": "server-leaf"}}),
    )
    .await;
    let doc = original.export();
    let reloaded = fake(Fixture::Json(doc.clone()));
    let again = reloaded.export();
    let (a, b) = (
        serde_json::to_string_pretty(&doc).unwrap(),
        serde_json::to_string_pretty(&again).unwrap(),
    );
    if a != b {
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let ctx: Vec<_> = a
            .lines()
            .zip(b.lines())
            .skip(first.saturating_sub(2))
            .take(8)
            .collect();
        panic!("export → load → export differs at line {first}: {ctx:#?}");
    }
    assert_eq!(reloaded.object_count(), original.object_count());
    let r = Client::new(&reloaded)
        .get(&format!("/api/dcim/devices/{dev}/"))
        .await;
    assert_eq!(r.json["description"], "edited");
    assert_eq!(
        r.json["last_updated"],
        c.get(&format!("/api/dcim/devices/{dev}/")).await.json["last_updated"]
    );
}

#[tokio::test(start_paused = true)]
async fn bad_fixtures_and_specs_name_the_problem() {
    let err = |doc: Value| {
        FakeNetBox::builder()
            .token(common::V1)
            .fixture(Fixture::Json(doc))
            .build()
            .unwrap_err()
            .to_string()
    };
    assert!(err(json!({"objects": []})).contains("format"));
    let doc = json!({"format": "fake-netbox-fixture/1", "objects": [
        {"model": "dcim.site", "id": 1, "data": {"name": "a", "slug": "a"}},
        {"model": "dcim.device", "id": 1, "data": {"name": "d", "site": 1, "role": 9, "device_type": 1}},
    ]});
    let e = err(doc);
    assert!(
        e.contains("dcim.device 1")
            && e.contains("role")
            && e.contains("Related object not found using the provided numeric ID: 9"),
        "{e}"
    );
    let e = err(
        json!({"format": "fake-netbox-fixture/1", "objects": [{"model": "dcim.nosuch", "id": 1}]}),
    );
    assert!(e.contains("dcim.nosuch"), "{e}");
    let bad = FakeNetBox::builder()
        .fixture(Fixture::Spec(FabricSpec {
            eslag_groups: vec![5],
            ..FabricSpec::vlab()
        }))
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("eslag_groups") && bad.contains("2 to 4"),
        "{bad}"
    );
    let doc =
        json!({"format": "fake-netbox-fixture/1", "objects": [{"model": "dcim.site", "id": 1}]});
    let loaded: Result<FakeNetBox, _> = FakeNetBox::builder().fixture(Fixture::Json(doc)).build();
    assert!(matches!(
        loaded,
        Err(fake_netbox::FakeNetBoxError::Fixture(
            FixtureError::Invalid { .. }
        ))
    ));
}

#[tokio::test(start_paused = true)]
async fn mesh_fabrics_have_leaf_to_leaf_cables() {
    let c = Client::new(&fake(Fixture::Spec(FabricSpec::mesh())));
    assert_eq!(
        c.get("/api/dcim/devices/?role=spine&limit=1").await.status,
        400,
        "no spine role exists in a spineless fabric"
    );
    let cables = all(&c, "/api/dcim/cables/?device=leaf-01").await;
    let leaf_to_leaf = cables
        .iter()
        .filter(|cb| {
            cb["a_terminations"][0]["object"]["device"]["name"]
                .as_str()
                .unwrap()
                .starts_with("leaf")
                && cb["b_terminations"][0]["object"]["device"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("leaf")
        })
        .count();
    assert_eq!(
        leaf_to_leaf, 4,
        "2 mesh links to each of the 2 other leaves"
    );
}

/// SHA-256 of a JSON value as compact JSON.
fn sha(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(serde_json::to_string(v).unwrap().as_bytes()))
}

#[tokio::test(start_paused = true)]
async fn single_fabric_documents_keep_their_golden_bytes() {
    // Recorded from the generator before documents could hold several fabrics: a single spec
    // still yields exactly these documents, and loads into exactly the same data and change log.
    let documents = [
        (
            "vlab/0",
            Fixture::Vlab,
            0,
            "25a95265f6e2cdbcbf764a876c19e594f9b922fe82e9bc17475ab3da515cf26b",
        ),
        (
            "vlab/7",
            Fixture::Vlab,
            7,
            "a0fd2bcafaebbcda42d4e2e279eb22b72b5ab07b74da525f508ffe29d0e30a0d",
        ),
        (
            "mesh/3",
            Fixture::Spec(FabricSpec::mesh()),
            3,
            "62559df1a75762b9f82f201cd31b507a008a92948beb5b716179a3a2a7cf7dca",
        ),
        (
            "large/0",
            Fixture::Large,
            0,
            "f8facf4d0efb6d018103c74ab235ea16ea88c44c3a47eff1a2affc9547e35aff",
        ),
        (
            "xlarge/0",
            Fixture::Xlarge,
            0,
            "1d9b2c50d7303cb13b2e6729a4540ebd377723881c4c2f77712a0e7ff20052b3",
        ),
    ];
    for (name, fixture, seed, want) in documents {
        let doc = fixture
            .document(seed)
            .unwrap()
            .expect("a generated document");
        assert_eq!(sha(&doc), want, "document {name}");
    }
    let loaded = [
        (
            "vlab",
            Fixture::Vlab,
            "b7ebee66697d5886a0f250e070f503e7fa16da278f744bb1113c6b2d1a276d78",
            (
                582,
                "6cb004647d1dd4ebf54d4c2f4b4867fa7cddf3c7b987a26ba35f96944cc641a5",
            ),
        ),
        (
            "large",
            Fixture::Large,
            "cadbda43c1dd808322292ca797e8d7f44b90e34bc4826b3a2b876f1c108d63a9",
            (
                7957,
                "3fc386c5e9a702364abe262b3fd055292afc0fe7f7bd9ad4c9ec93b3a923e80a",
            ),
        ),
    ];
    for (name, fixture, want_export, want_changes) in loaded {
        let nb = fake(fixture);
        let c = Client::new(&nb);
        let mut changes = Vec::new();
        let mut url = "/api/core/object-changes/?ordering=id&limit=1000".to_string();
        loop {
            let r = c.get(&url).await;
            assert_eq!(r.status, 200, "{url}");
            changes.extend(r.results().iter().cloned());
            match r.json["next"].as_str().and_then(|n| n.split_once("/api/")) {
                Some((_, rest)) => url = format!("/api/{rest}"),
                None => break,
            }
        }
        assert_eq!(sha(&nb.export()), want_export, "export of {name}");
        let got = (changes.len(), sha(&Value::Array(changes)));
        assert_eq!(
            (got.0, got.1.as_str()),
            want_changes,
            "change log of {name}"
        );
    }
}
