//! insta snapshots of the plan (multi-document YAML exactly as `fabsync plan` prints it) for the
//! upstream docs sample and the legacy VLAB sample wiring, imported into the NetBox model, and
//! for the fake NetBox's VLAB fixture read through the real NetBox client.

use std::path::PathBuf;

use fabsync::hedgehog::diagram::Diagram;
use fabsync::netbox::from_diagram::diagram_to_snapshot;
use fabsync::netbox::{NetboxClient, Token, into_http_service};
use fabsync::plan::{PlanConfig, plan};
use fake_netbox::{FakeNetBox, Fixture};

fn sample(name: &str) -> Option<String> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/crds/hedgehog/samples")
        .join(name);
    match std::fs::read_to_string(&p) {
        Ok(t) => Some(t),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{} is missing under CI=true", p.display())
        }
        Err(_) => {
            println!(
                "skipped: {} not found, plan snapshot not checked",
                p.display()
            );
            None
        }
    }
}

fn planned_yaml(file: &str, fabric: &str) -> Option<String> {
    let text = sample(file)?;
    let d = Diagram::parse(&text).unwrap();
    let (snap, _) = diagram_to_snapshot(&d, fabric).unwrap();
    let p = plan(&snap, &PlanConfig::new(fabric));
    assert!(!p.has_fatal(), "{:#?}", p.findings);
    Some(p.to_yaml().unwrap())
}

#[test]
fn docs_sample_plan() {
    if let Some(y) = planned_yaml("docs-spine-leaf-2spine-4leaf.yaml", "docs") {
        insta::assert_snapshot!("docs_sample_plan", y);
    }
}

#[test]
fn vlab_sample_plan() {
    if let Some(y) = planned_yaml("vlab-mclag-eslag-7sw-10srv.yaml", "vlab") {
        insta::assert_snapshot!("vlab_sample_plan", y);
    }
}

#[test]
fn plan_yaml_parses_back_to_the_same_manifests() {
    let Some(text) = sample("vlab-mclag-eslag-7sw-10srv.yaml") else {
        return;
    };
    let d = Diagram::parse(&text).unwrap();
    let (snap, _) = diagram_to_snapshot(&d, "vlab").unwrap();
    let p = plan(&snap, &PlanConfig::new("vlab"));
    let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&p.to_yaml().unwrap()).unwrap();
    let docs: Vec<_> = docs.into_iter().filter(|d| !d.is_null()).collect();
    let manifests: Vec<_> = p.objects.iter().map(|o| o.manifest()).collect();
    assert_eq!(docs, manifests);
}

/// `fabsync plan --fixture vlab` (seed 0): the fixture in an in-process fake NetBox, read over
/// its REST API by the NetBox client, then planned.
#[tokio::test(start_paused = true)]
async fn vlab_fixture_plan() {
    const TOKEN: &str = "nbt_snapshots001.0123456789abcdef0123456789abcdef01234567";
    let nb = FakeNetBox::builder()
        .token(TOKEN)
        .seed(0)
        .fixture(Fixture::Vlab)
        .build()
        .unwrap();
    let client = NetboxClient::new(
        into_http_service(nb.client_service()),
        "http://netbox.test",
        Token::new(TOKEN),
    )
    .unwrap();
    let snap = client.read_fabric("vlab", None).await.unwrap();
    let p = plan(&snap, &PlanConfig::new("vlab"));
    assert!(p.findings.is_empty(), "{:#?}", p.findings);
    insta::assert_snapshot!("vlab_fixture_plan", p.to_yaml().unwrap());
}
