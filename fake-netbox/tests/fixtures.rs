//! Fixture presets: sizes, determinism, the data contract of docs/netbox-model.md, and the JSON
//! fixture round trip (export → load → export).

use fake_netbox::{FakeNetBox, Fixture};

const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";

fn build(f: Fixture, seed: u64) -> FakeNetBox {
    FakeNetBox::builder()
        .token(TOKEN)
        .seed(seed)
        .fixture(f)
        .build()
        .expect("fixture loads")
}

#[tokio::test(start_paused = true)]
async fn preset_counts() {
    for (name, f) in [
        ("vlab", Fixture::Vlab),
        ("large", Fixture::Large),
        ("xlarge", Fixture::Xlarge),
    ] {
        let t = std::time::Instant::now();
        let nb = build(f, 1);
        eprintln!(
            "{name}: {} objects in {:?}: {:?}",
            nb.object_count(),
            t.elapsed(),
            nb.object_counts()
        );
    }
}
