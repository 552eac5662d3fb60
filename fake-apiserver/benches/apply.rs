//! In-process throughput at 10 000 objects: server-side applies (each a real change) and lists
//! (full, label-selected, and PartialObjectMetadataList) through kube-rs and the tower service.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fake_apiserver::FakeApiServer;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};

const N: usize = 10_000;

fn crd() -> serde_json::Value {
    json!({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"switches.wiring.githedgehog.com"},
      "spec":{"group":"wiring.githedgehog.com","names":{"kind":"Switch","plural":"switches"},"scope":"Namespaced",
        "versions":[{"name":"v1beta1","served":true,"storage":true,"subresources":{"status":{}},"schema":{"openAPIV3Schema":{"type":"object","properties":{
          "spec":{"type":"object","properties":{"role":{"type":"string","enum":["spine","server-leaf"]},"description":{"type":"string"},
            "ports":{"type":"array","x-kubernetes-list-type":"map","x-kubernetes-list-map-keys":["name"],"items":{"type":"object","properties":{"name":{"type":"string"},"speed":{"type":"string"}}}}}}}}}}]}})
}

fn obj(i: usize, rev: u64) -> serde_json::Value {
    json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch",
        "metadata":{"name":format!("sw-{i:05}"),"labels":{"fabsync.githedgehog.com/fabric":"f1","group":format!("g{}", i % 100)}},
        "spec":{"role": if i.is_multiple_of(2) {"spine"} else {"server-leaf"},"description":format!("rev {rev}"),
          "ports":[{"name":"E1/1","speed":"25G"},{"name":"E1/2","speed":"25G"}]}})
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(async {
        FakeApiServer::builder()
            .crd(crd())
            .history_limit(20_000)
            .build()
    });
    let client = rt.block_on(async { kube::Client::new(server.client_service(), "default") });
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("wiring.githedgehog.com", "v1beta1", "Switch"),
        "switches",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let pp = PatchParams::apply("fabsync").force();
    rt.block_on(async {
        for i in 0..N {
            api.patch(&format!("sw-{i:05}"), &pp, &Patch::Apply(obj(i, 0)))
                .await
                .unwrap();
        }
    });
    let counter = AtomicU64::new(1);
    let mut g = c.benchmark_group("fake_apiserver_10k");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(5));
    g.throughput(Throughput::Elements(1));
    g.bench_function("server_side_apply_change", |b| {
        b.to_async(&rt).iter(|| {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let i = (n as usize * 7919) % N;
            let api = api.clone();
            let pp = pp.clone();
            async move {
                api.patch(&format!("sw-{i:05}"), &pp, &Patch::Apply(obj(i, n)))
                    .await
                    .unwrap();
            }
        })
    });
    g.bench_function("list_label_selector_100_of_10k", |b| {
        b.to_async(&rt).iter(|| {
            let api = api.clone();
            async move {
                let l = api
                    .list(&ListParams::default().labels("group=g7"))
                    .await
                    .unwrap();
                assert_eq!(l.items.len(), N / 100);
            }
        })
    });
    g.bench_function("list_metadata_all_10k", |b| {
        b.to_async(&rt).iter(|| {
            let api = api.clone();
            async move {
                let l = api
                    .list_metadata(
                        &ListParams::default().labels("fabsync.githedgehog.com/fabric=f1"),
                    )
                    .await
                    .unwrap();
                assert_eq!(l.items.len(), N);
            }
        })
    });
    g.bench_function("list_full_10k", |b| {
        b.to_async(&rt).iter(|| {
            let api = api.clone();
            async move {
                let l = api.list(&ListParams::default()).await.unwrap();
                assert_eq!(l.items.len(), N);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
