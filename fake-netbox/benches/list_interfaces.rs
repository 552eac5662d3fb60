//! Listing every interface of the xlarge fixture through the HTTP API in pages of 1000 (what the
//! sync does several times per run), plus one filtered page (`?site_id=`), in-process through
//! `client_service()`.

use criterion::{Criterion, criterion_group, criterion_main};
use fake_netbox::{FakeNetBox, Fixture};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

/// The envelope of a list page; objects are skipped without being materialized, so the numbers
/// measure the server, not a client's JSON tree building.
#[derive(serde::Deserialize)]
struct Page {
    next: Option<String>,
    results: Vec<serde::de::IgnoredAny>,
}

async fn get(nb: &FakeNetBox, url: &str) -> Page {
    let req = http::Request::get(url)
        .header("host", "netbox.sim")
        .header("authorization", format!("Token {TOKEN}"))
        .body(axum::body::Body::empty())
        .expect("request");
    let resp = nb.client_service().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&bytes).expect("a list page")
}

/// Follows `next` links from the first page; returns how many objects were read.
async fn list_all(nb: &FakeNetBox, first: &str) -> usize {
    let mut url = first.to_string();
    let mut n = 0;
    loop {
        let page = get(nb, &url).await;
        n += page.results.len();
        match page.next {
            Some(next) => url = next.replace("http://netbox.sim", ""),
            None => return n,
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let nb = rt.block_on(async {
        FakeNetBox::builder()
            .token(TOKEN)
            .fixture(Fixture::Xlarge)
            .build()
            .expect("xlarge builds")
    });
    let total = rt.block_on(list_all(&nb, "/api/dcim/interfaces/?limit=1000"));
    eprintln!("xlarge: {} objects, {total} interfaces", nb.object_count());
    let mut group = c.benchmark_group("xlarge");
    group.sample_size(10);
    group.bench_function("list all interfaces, pages of 1000", |b| {
        b.iter(|| rt.block_on(list_all(&nb, "/api/dcim/interfaces/?limit=1000")));
    });
    group.bench_function("one page of 1000 interfaces (offset 10000)", |b| {
        b.iter(|| rt.block_on(get(&nb, "/api/dcim/interfaces/?limit=1000&offset=10000")));
    });
    group.bench_function("one page of 1000 interfaces filtered by site_id", |b| {
        b.iter(|| {
            rt.block_on(get(
                &nb,
                "/api/dcim/interfaces/?site_id=1&limit=1000&offset=5000",
            ))
        });
    });
    group.bench_function("one brief page of 1000 interfaces", |b| {
        b.iter(|| {
            rt.block_on(get(
                &nb,
                "/api/dcim/interfaces/?brief=1&limit=1000&offset=2000",
            ))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
