//! Every object the plan produces for the upstream sample wirings and for the fake NetBox's
//! `vlab` and `large` fixtures (read through the real NetBox client) is accepted by a cluster
//! serving the *upstream* Hedgehog CRDs (structural schema validation in fake-apiserver) with
//! Hedgehog admission, applied with kube-rs server-side apply in plan order; and the admission
//! rules refuse what Hedgehog's webhooks refuse.

use std::path::PathBuf;
use std::sync::Arc;

use fabsync::hedgehog::Kind;
use fabsync::hedgehog::admission::HedgehogAdmission;
use fabsync::hedgehog::diagram::Diagram;
use fabsync::netbox::from_diagram::diagram_to_snapshot;
use fabsync::netbox::{NetboxClient, Token, into_http_service};
use fabsync::plan::{DesiredObject, PlanConfig, plan};
use fake_apiserver::FakeApiServer;
use fake_netbox::{FabricSpec, FakeNetBox, Fixture};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

fn shared() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/crds/hedgehog");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{} is missing under CI=true", dir.display());
    }
    println!(
        "skipped: {} not found, upstream validation not run",
        dir.display()
    );
    None
}

fn api(client: &kube::Client, kind: Kind) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(kind.group(), kind.version(), kind.kind());
    Api::namespaced_with(
        client.clone(),
        "default",
        &ApiResource::from_gvk_with_plural(&gvk, kind.plural()),
    )
}

async fn cluster(dir: &std::path::Path) -> (FakeApiServer, kube::Client) {
    let server = FakeApiServer::builder()
        .crds_from_dir(dir)
        .unwrap()
        .admission(Arc::new(HedgehogAdmission))
        .build();
    let client = kube::Client::new(server.client_service(), "default");
    // SwitchProfiles are shipped by Hedgehog: the simulated cluster has the ones the samples
    // and the fixtures use.
    for p in [
        "vs",
        "celestica-ds3000",
        "celestica-ds4000",
        "celestica-ds5000",
        "dell-s5248f-on",
    ] {
        let obj: DynamicObject = serde_json::from_value(json!({"apiVersion": "wiring.githedgehog.com/v1beta1", "kind": "SwitchProfile", "metadata": {"name": p}, "spec": {}})).unwrap();
        api(&client, Kind::SwitchProfile)
            .patch(
                p,
                &PatchParams::apply("hedgehog").force(),
                &Patch::Apply(&obj),
            )
            .await
            .unwrap();
    }
    (server, client)
}

async fn apply(client: &kube::Client, o: &DesiredObject) -> Result<DynamicObject, kube::Error> {
    let obj: DynamicObject = serde_json::from_value(o.manifest()).unwrap();
    api(client, o.kind)
        .patch(
            &o.name,
            &PatchParams::apply("fabsync").force(),
            &Patch::Apply(&obj),
        )
        .await
}

fn planned(dir: &std::path::Path, file: &str) -> Vec<DesiredObject> {
    let text = std::fs::read_to_string(dir.join("samples").join(file)).unwrap();
    let (snap, _) = diagram_to_snapshot(&Diagram::parse(&text).unwrap(), "sample").unwrap();
    let p = plan(&snap, &PlanConfig::new("sample"));
    assert!(!p.has_fatal(), "{:#?}", p.findings);
    p.objects
}

#[tokio::test]
async fn every_planned_object_of_both_samples_passes_upstream_validation_and_admission() {
    let Some(dir) = shared() else { return };
    for file in [
        "docs-spine-leaf-2spine-4leaf.yaml",
        "vlab-mclag-eslag-7sw-10srv.yaml",
    ] {
        let (_server, client) = cluster(&dir).await;
        let objects = planned(&dir, file);
        assert!(objects.len() > 10);
        for o in &objects {
            let got = apply(&client, o)
                .await
                .unwrap_or_else(|e| panic!("{file}: {} {} rejected: {e}", o.kind, o.name));
            assert_eq!(
                got.data["spec"], o.spec,
                "{file}: {} {} stored spec differs",
                o.kind, o.name
            );
        }
        // reverse reference order deletes everything without admission refusals
        for o in objects.iter().rev() {
            api(&client, o.kind)
                .delete(&o.name, &DeleteParams::default())
                .await
                .unwrap_or_else(|e| panic!("{file}: delete {} {}: {e}", o.kind, o.name));
        }
    }
}

/// Plans a fake NetBox fixture read over the fake's REST API by the NetBox client.
async fn planned_fixture(fixture: Fixture, site: &str) -> Vec<DesiredObject> {
    const TOKEN: &str = "nbt_upstreamcrd1.0123456789abcdef0123456789abcdef01234567";
    let nb = FakeNetBox::builder()
        .token(TOKEN)
        .fixture(fixture)
        .build()
        .unwrap();
    let client = NetboxClient::new(
        into_http_service(nb.client_service()),
        "http://netbox.test",
        Token::new(TOKEN),
    )
    .unwrap();
    let snap = client.read_fabric(site, None).await.unwrap();
    let p = plan(&snap, &PlanConfig::new(site));
    assert!(p.findings.is_empty(), "{site}: {:#?}", p.findings);
    p.objects
}

/// Applies every object in plan order, checks the stored spec, then deletes them in reverse.
async fn apply_all_and_delete(client: &kube::Client, what: &str, objects: &[DesiredObject]) {
    for o in objects {
        let got = apply(client, o)
            .await
            .unwrap_or_else(|e| panic!("{what}: {} {} rejected: {e}", o.kind, o.name));
        assert_eq!(
            got.data["spec"], o.spec,
            "{what}: {} {} stored spec differs",
            o.kind, o.name
        );
    }
    for o in objects.iter().rev() {
        api(client, o.kind)
            .delete(&o.name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("{what}: delete {} {}: {e}", o.kind, o.name));
    }
}

#[tokio::test(start_paused = true)]
async fn every_planned_object_of_the_vlab_and_large_fixtures_passes_upstream_validation() {
    let Some(dir) = shared() else { return };
    for (fixture, spec) in [
        (Fixture::Vlab, FabricSpec::vlab()),
        (Fixture::Large, FabricSpec::large()),
    ] {
        let objects = planned_fixture(fixture, &spec.site).await;
        let kinds: std::collections::BTreeSet<Kind> = objects.iter().map(|o| o.kind).collect();
        // every kind the plan makes is exercised (gateway kinds and profiles are not planned)
        assert_eq!(kinds.len(), 12, "{}: {kinds:?}", spec.site);
        let (server, client) = cluster(&dir).await;
        apply_all_and_delete(&client, &spec.site, &objects).await;
        // every object went through the upstream schema and admission as a real apply
        let applies = server
            .log()
            .entries()
            .iter()
            .filter(|e| e.verb.as_deref() == Some("apply") && e.write && e.status < 300)
            .count();
        assert_eq!(
            applies,
            objects.len() + 5,
            "{}: 5 SwitchProfiles + the plan",
            spec.site
        );
    }
}

#[tokio::test]
async fn admission_enforces_hedgehog_rules() {
    let Some(dir) = shared() else { return };
    let (_server, client) = cluster(&dir).await;
    let objects = planned(&dir, "vlab-mclag-eslag-7sw-10srv.yaml");
    let conn = objects
        .iter()
        .find(|o| o.kind == Kind::Connection && o.name == "server-03--unbundled--leaf-01")
        .unwrap();
    // referenced objects must exist: a connection before its switch and server is refused
    let err = apply(&client, conn).await.unwrap_err().to_string();
    assert!(err.contains("not found"), "{err}");
    for o in objects
        .iter()
        .filter(|o| o.kind.rank() < Kind::Connection.rank())
    {
        apply(&client, o).await.unwrap();
    }
    apply(&client, conn).await.unwrap();
    // a port belongs to one connection
    let mut dup = conn.clone();
    dup.name = "server-03--unbundled--leaf-01-copy".into();
    let err = apply(&client, &dup).await.unwrap_err().to_string();
    assert!(err.contains("already used by other connection"), "{err}");
    // connection type is immutable
    let mut changed = conn.clone();
    changed.spec = json!({"bundled": {"links": [conn.spec["unbundled"]["link"].clone()]}});
    let err = apply(&client, &changed).await.unwrap_err().to_string();
    assert!(err.contains("connection type can't be changed"), "{err}");
    // no delete while referenced
    let err = api(&client, Kind::Switch)
        .delete("leaf-01", &DeleteParams::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("still used by Connection"), "{err}");
    // 11-character names
    let mut vpc = conn.clone();
    vpc.kind = Kind::IPv4Namespace;
    vpc.name = "namespace-too-long".into();
    vpc.spec = json!({"subnets": ["10.0.0.0/16"]});
    let err = apply(&client, &vpc).await.unwrap_err().to_string();
    assert!(err.contains("limit is 11"), "{err}");
}
