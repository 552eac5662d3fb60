//! Several fabrics in one fake NetBox (`Fixture::Specs`): each site holds what the same spec
//! alone gives, catalog objects exist once, no address, prefix, VRF name, RD, ASN or MAC is
//! shared between fabrics, one spec gives the single-fabric document, bad combinations are
//! refused with the field named, and `FabricSpec::small_random` specs validate and load.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::{Client, fake};
use fake_netbox::{FabricSpec, FakeNetBox, Fixture, MAX_FABRICS, ServerSpec};

/// Every object of a list endpoint, page by page.
async fn all(c: &Client, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{sep}limit=1000");
    let mut out = Vec::new();
    loop {
        let r = c.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text);
        out.extend(r.results().iter().cloned());
        match r.json["next"].as_str().and_then(|n| n.split_once("/api/")) {
            Some((_, rest)) => url = format!("/api/{rest}"),
            None => return out,
        }
    }
}

fn strs(objs: &[Value], field: &str) -> Vec<String> {
    objs.iter()
        .map(|o| o[field].as_str().unwrap_or("").to_string())
        .collect()
}

/// A spineless fabric smaller than `mesh()`: an ESLAG pair and an orphan, one VPC.
fn small_mesh() -> FabricSpec {
    FabricSpec {
        site: "mesh".into(),
        servers: ServerSpec {
            eslag: 1,
            mclag: 0,
            bundled: 0,
            unbundled: 1,
        },
        vpcs: 1,
        subnets_per_vpc: 2,
        vpc_peerings: 0,
        ..FabricSpec::mesh()
    }
}

/// What one site holds, in terms a second NetBox can compare: device names, the number of
/// interfaces, cable labels, VLAN ids (VLAN names carry the fabric's VPC numbers) and the number
/// of prefixes.
async fn site_view(
    c: &Client,
    site: &str,
) -> (Vec<String>, usize, BTreeSet<String>, BTreeSet<u64>, usize) {
    let id = all(c, &format!("/api/dcim/sites/?slug={site}")).await[0]["id"].clone();
    let devices = strs(
        &all(c, &format!("/api/dcim/devices/?site_id={id}")).await,
        "name",
    );
    let interfaces = all(c, &format!("/api/dcim/interfaces/?site_id={id}&brief=1"))
        .await
        .len();
    let cables = strs(
        &all(c, &format!("/api/dcim/cables/?site_id={id}")).await,
        "label",
    );
    let groups = all(
        c,
        &format!("/api/ipam/vlan-groups/?scope_type=dcim.site&scope_id={id}"),
    )
    .await;
    assert_eq!(strs(&groups, "slug"), ["default"], "{site}: one VLAN group");
    let group_vlans = all(c, &format!("/api/ipam/vlans/?group_id={}", groups[0]["id"])).await;
    let site_vlans = all(c, &format!("/api/ipam/vlans/?site_id={id}")).await;
    let vlans: BTreeSet<u64> = group_vlans
        .iter()
        .chain(&site_vlans)
        .map(|v| v["vid"].as_u64().unwrap())
        .collect();
    let prefixes = all(c, &format!("/api/ipam/prefixes/?site_id={id}"))
        .await
        .len();
    (
        devices,
        interfaces,
        cables.into_iter().collect(),
        vlans,
        prefixes,
    )
}

#[tokio::test(start_paused = true)]
async fn three_fabrics_share_one_catalog_and_nothing_else() {
    let specs = vec![
        FabricSpec::vlab(),
        small_mesh(),
        FabricSpec::small_random("r1", 7),
    ];
    let nb = fake(Fixture::Specs(specs.clone()));
    let c = Client::new(&nb);
    assert_eq!(
        strs(&all(&c, "/api/dcim/sites/").await, "slug"),
        ["mesh", "r1", "vlab"]
    );

    // Each site holds what its spec alone gives, under the same names.
    for spec in &specs {
        let alone = Client::new(&fake(Fixture::Spec(spec.clone())));
        let view = site_view(&c, &spec.site).await;
        assert_eq!(view, site_view(&alone, &spec.site).await, "{}", spec.site);
        let (devices, _, cables, _, _) = view;
        assert!(!devices.is_empty(), "{} has devices", spec.site);
        if spec.site != "r1" {
            assert!(!cables.is_empty(), "{} has cables", spec.site);
        }
    }

    // Catalog objects exist once.
    let one_each = |objs: &[Value], field: &str| {
        let v = strs(objs, field);
        let set: BTreeSet<&String> = v.iter().collect();
        assert_eq!(set.len(), v.len(), "{field}: {v:?}");
        v
    };
    assert_eq!(
        one_each(&all(&c, "/api/dcim/manufacturers/").await, "slug"),
        ["generic", "hedgehog"]
    );
    assert_eq!(
        one_each(&all(&c, "/api/dcim/device-types/").await, "slug"),
        ["external-router", "server", "vs"]
    );
    assert_eq!(
        one_each(&all(&c, "/api/dcim/device-roles/").await, "slug"),
        ["external", "server", "server-leaf", "spine"]
    );
    assert_eq!(
        one_each(&all(&c, "/api/dcim/platforms/").await, "slug"),
        ["sonic"]
    );
    assert_eq!(
        one_each(&all(&c, "/api/extras/tags/").await, "slug"),
        ["hedgehog"]
    );
    assert_eq!(
        one_each(&all(&c, "/api/extras/custom-fields/").await, "name").len(),
        18
    );

    // No address, prefix, VRF name, RD or MAC appears twice in the whole NetBox (each fabric's
    // own are distinct too), and no ASN is used by two sites.
    one_each(&all(&c, "/api/ipam/ip-addresses/").await, "address");
    one_each(&all(&c, "/api/ipam/prefixes/").await, "prefix");
    let vrfs = all(&c, "/api/ipam/vrfs/").await;
    one_each(&vrfs, "name");
    one_each(&vrfs, "rd");
    one_each(&all(&c, "/api/dcim/mac-addresses/").await, "mac_address");
    let mut asn_site: BTreeMap<u64, String> = BTreeMap::new();
    for d in all(&c, "/api/dcim/devices/").await {
        let Some(asn) = d["custom_fields"]["hedgehog_asn"].as_u64() else {
            continue;
        };
        let site = d["site"]["slug"].as_str().unwrap().to_string();
        let first = asn_site.entry(asn).or_insert_with(|| site.clone());
        assert_eq!(*first, site, "ASN {asn}");
    }
    assert!(asn_site.len() >= 5, "{asn_site:?}");

    // The first fabric keeps a single fabric's numbers; the second moves by its index.
    let vrf_names = |site: &'static str| {
        let c = c.clone();
        async move {
            let id = all(&c, &format!("/api/dcim/sites/?slug={site}")).await[0]["id"].clone();
            all(&c, &format!("/api/ipam/prefixes/?site_id={id}"))
                .await
                .iter()
                .filter_map(|p| p["vrf"]["name"].as_str().map(String::from))
                .collect::<BTreeSet<String>>()
        }
    };
    assert_eq!(
        vrf_names("vlab").await,
        BTreeSet::from(["vpc-1".to_string(), "vpc-2".to_string()])
    );
    assert_eq!(
        vrf_names("mesh").await,
        BTreeSet::from(["vpc-1001".to_string()])
    );
    let leaf = &all(&c, "/api/dcim/devices/?site=mesh&name=leaf-01").await[0];
    assert_eq!(leaf["primary_ip4"]["address"], "172.30.16.11/21");
    assert_eq!(leaf["custom_fields"]["hedgehog_asn"], 165_101u64);
    assert_eq!(
        leaf["custom_fields"]["hedgehog_vtep_ip"], "172.30.28.1/32",
        "VTEP IPs of fabric 1 count from 172.30.28.0"
    );
    let peers = &vrfs.iter().find(|v| v["name"] == "vpc-1").unwrap()["custom_fields"];
    assert_eq!(peers["hedgehog_peers"], "vpc-2");
}

#[tokio::test(start_paused = true)]
async fn one_spec_is_the_single_fabric_document() {
    for spec in [
        FabricSpec::vlab(),
        FabricSpec::mesh(),
        FabricSpec::small_random("r1", 7),
    ] {
        let single = Fixture::Spec(spec.clone()).document(11).unwrap();
        let many = Fixture::Specs(vec![spec.clone()]).document(11).unwrap();
        assert_eq!(single, many, "{}", spec.site);
    }
    let two = Fixture::Specs(vec![FabricSpec::vlab(), small_mesh()])
        .document(11)
        .unwrap()
        .unwrap();
    assert!(two.get("spec").is_none());
    assert_eq!(two["specs"][1]["site"], "mesh");
}

#[tokio::test(start_paused = true)]
async fn bad_combinations_name_the_fabric_and_field() {
    let err = |specs: Vec<FabricSpec>| {
        FakeNetBox::builder()
            .fixture(Fixture::Specs(specs))
            .build()
            .unwrap_err()
            .to_string()
    };
    assert!(err(vec![]).contains("at least one"));
    let e = err(vec![FabricSpec::vlab(), FabricSpec::vlab()]);
    assert!(e.contains("site:") && e.contains("\"vlab\""), "{e}");
    let bad = FabricSpec {
        eslag_groups: vec![5],
        ..small_mesh()
    };
    let e = err(vec![FabricSpec::vlab(), bad]);
    assert!(
        e.contains("fabric mesh: eslag_groups") && e.contains("2 to 4"),
        "{e}"
    );
    let sites: Vec<FabricSpec> = (0..=MAX_FABRICS)
        .map(|i| FabricSpec::small_random(&format!("r{i}"), i as u64))
        .collect();
    assert!(err(sites).contains("at most 16"));
}

#[tokio::test(start_paused = true)]
async fn small_random_fabrics_validate_and_load() {
    assert_eq!(
        FabricSpec::small_random("a", 5),
        FabricSpec::small_random("a", 5)
    );
    let specs: Vec<FabricSpec> = (0..200u64)
        .map(|seed| FabricSpec::small_random(&format!("r{seed}"), seed))
        .collect();
    let distinct: BTreeSet<String> = specs
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.site.clear();
            serde_json::to_string(&s).unwrap()
        })
        .collect();
    assert!(distinct.len() > 100, "{} distinct shapes", distinct.len());
    let seen = |f: &dyn Fn(&FabricSpec) -> bool| specs.iter().any(f);
    for (what, any) in [
        ("no spines", seen(&|s| s.spines == 0)),
        ("2 spines", seen(&|s| s.spines == 2)),
        ("MCLAG", seen(&|s| s.mclag_groups > 0)),
        ("ESLAG", seen(&|s| !s.eslag_groups.is_empty())),
        ("3 orphans", seen(&|s| s.orphan_leaves == 3)),
        ("no VPC", seen(&|s| s.vpcs == 0)),
        ("peering", seen(&|s| s.vpc_peerings > 0)),
        ("external", seen(&|s| s.externals > 0)),
        (
            "3 servers",
            seen(&|s| {
                let v = &s.servers;
                v.eslag + v.mclag + v.bundled + v.unbundled == 3
            }),
        ),
    ] {
        assert!(any, "some seed gives {what}");
    }
    for spec in &specs {
        spec.validate()
            .unwrap_or_else(|e| panic!("{}: {e}", spec.site));
        let leaves = spec.leaf_count();
        assert!((1..=3).contains(&leaves), "{}", spec.site);
        assert!(spec.spines <= 2 && spec.vpcs <= 2, "{}", spec.site);
        assert!(
            spec.mclag_groups == 0 || spec.spines > 0,
            "{}: MCLAG only with spines",
            spec.site
        );
    }
    // Alone, and as documents of several fabrics.
    for spec in specs.iter().take(20) {
        let nb = fake(Fixture::Spec(spec.clone()));
        assert!(nb.object_count() > 0, "{}", spec.site);
    }
    for group in specs.chunks(MAX_FABRICS) {
        let nb = fake(Fixture::Specs(group.to_vec()));
        let sites = nb.object_counts()["dcim.sites"];
        assert_eq!(sites, group.len());
    }
}

#[tokio::test(start_paused = true)]
async fn building_vlab_and_two_random_fabrics() {
    // Prints the time one NetBox of three fabrics takes to build (the simulator builds one per
    // seed); run with `--release --nocapture` to see a meaningful number.
    let specs = vec![
        FabricSpec::vlab(),
        FabricSpec::small_random("r1", 1),
        FabricSpec::small_random("r2", 2),
    ];
    let rounds = 10u32;
    let start = std::time::Instant::now();
    let mut objects = 0;
    for seed in 0..rounds {
        let nb = FakeNetBox::builder()
            .seed(u64::from(seed))
            .fixture(Fixture::Specs(specs.clone()))
            .build()
            .unwrap();
        objects = nb.object_count();
    }
    let each = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for seed in 0..rounds {
        Fixture::Specs(specs.clone())
            .document(u64::from(seed))
            .unwrap();
    }
    let generating = start.elapsed() / rounds;
    println!(
        "Fixture::Specs([vlab, small_random x2]): {objects} objects, {each:?} per build \
         ({generating:?} of it generating the document)"
    );
    assert_eq!(
        objects,
        {
            let nb = fake(Fixture::Specs(specs));
            nb.object_count()
        },
        "the seed moves serial numbers, not objects"
    );
}
