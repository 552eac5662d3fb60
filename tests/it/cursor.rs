//! The periodic change check must not trust a stale cursor: after NetBox is restored from a
//! backup (its change ids go backwards, or the same ids name other records), the next periodic
//! run reads NetBox in full and repairs the cluster instead of saying "no changes" and
//! `in_sync` while the cluster differs. Regression test for exactly that.

use fabsync::hedgehog::Kind;
use fabsync::store::{FabricStatus, Phase};
use serde_json::json;

use crate::common::{self, device, netbox_patch, objects, periodic, sync};

async fn description(w: &fabsync::sim::World, switch: &str) -> Option<String> {
    objects(w, Kind::Switch).await[switch]
        .pointer("/spec/description")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[tokio::test(start_paused = true)]
async fn a_restored_netbox_is_read_in_full_not_trusted() {
    let w = common::world().await;
    assert_eq!(sync(&w).await.phase, Phase::Success);
    let original = description(&w, "leaf-01").await;
    let leaf1 = device(&w, "leaf-01").await;
    let leaf2 = device(&w, "leaf-02").await;

    // A backup, then an edit the periodic run syncs (the cursor moves past the backup).
    let backup = w.netbox.backup();
    netbox_patch(
        &w,
        "dcim/devices",
        leaf1.id,
        json!({"description": "edited"}),
    )
    .await;
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    assert_eq!(description(&w, "leaf-01").await.as_deref(), Some("edited"));

    // NetBox restored, then two edits: the change ids reach past the cursor again, but the
    // record at the cursor is another one, and the first edit lies before it.
    w.netbox.restore(&backup);
    netbox_patch(
        &w,
        "dcim/devices",
        leaf1.id,
        json!({"description": "second"}),
    )
    .await;
    netbox_patch(
        &w,
        "dcim/devices",
        leaf2.id,
        json!({"description": "other"}),
    )
    .await;
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    let msg = r.end.message.clone().unwrap_or_default();
    assert!(msg.contains("is not the one seen before"), "{msg}");
    assert_eq!(description(&w, "leaf-01").await.as_deref(), Some("second"));
    assert_eq!(description(&w, "leaf-02").await.as_deref(), Some("other"));

    // Restored again: the change ids go backwards behind the cursor.
    w.netbox.restore(&backup);
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    let msg = r.end.message.clone().unwrap_or_default();
    assert!(msg.contains("change ids went backwards"), "{msg}");
    assert_eq!(
        description(&w, "leaf-01").await,
        original,
        "the cluster follows NetBox"
    );
    assert_eq!(w.store.fabric("vlab").unwrap().status, FabricStatus::InSync);

    // The changelog retention removes the record at the cursor while later changes exist.
    let cursor = w.store.cursor("vlab").unwrap().unwrap();
    netbox_patch(&w, "dcim/devices", leaf2.id, json!({"description": "kept"})).await;
    w.netbox.prune_changes_before(cursor.id as u64 + 1);
    let r = periodic(&w).await;
    assert_eq!(r.phase, Phase::Success, "{:?}", r.error);
    let msg = r.end.message.clone().unwrap_or_default();
    assert!(msg.contains("is gone"), "{msg}");
    assert_eq!(description(&w, "leaf-02").await.as_deref(), Some("kept"));

    // A quiet period afterwards: no changes, no full read.
    let r = periodic(&w).await;
    assert_eq!(r.end.message.as_deref(), Some("no changes"));
}
