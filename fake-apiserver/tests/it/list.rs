//! Lists: label selectors (every operator), field selectors, limit/continue with consistent
//! pages, resourceVersion semantics, 410 on an expired continue token, Table and
//! PartialObjectMetadataList by Accept.

use crate::common::*;
use kube::api::{ListParams, PostParams};
use serde_json::json;

async fn seed(s: &fake_apiserver::FakeApiServer, n: usize) {
    let c = client(s);
    let api = switches(&c);
    for i in 0..n {
        let mut o = switch(
            &format!("sw-{i:02}"),
            if i % 2 == 0 { "spine" } else { "server-leaf" },
        );
        o["metadata"]["labels"] =
            json!({"tier": if i % 2 == 0 { "spine" } else { "leaf" }, "idx": i.to_string()});
        api.create(&PostParams::default(), &dyn_obj(o))
            .await
            .unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn label_and_field_selectors() {
    let s = server();
    seed(&s, 6).await;
    let c = client(&s);
    let api = switches(&c);
    let count = |sel: &'static str| {
        let api = api.clone();
        async move {
            api.list(&ListParams::default().labels(sel))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(count("tier=spine").await, 3);
    assert_eq!(count("tier==leaf").await, 3);
    assert_eq!(count("tier!=leaf").await, 3);
    assert_eq!(count("idx in (1,2,9)").await, 2);
    assert_eq!(count("idx notin (1,2)").await, 4);
    assert_eq!(count("tier,!missing").await, 6);
    assert_eq!(count("missing").await, 0);
    // the label index follows label changes and deletions
    api.patch(
        "sw-00",
        &Default::default(),
        &kube::api::Patch::Merge(json!({"metadata":{"labels":{"tier":"leaf"}}})),
    )
    .await
    .unwrap();
    assert_eq!(count("tier=spine").await, 2);
    assert_eq!(count("tier in (leaf)").await, 4);
    api.delete("sw-01", &Default::default()).await.unwrap();
    assert_eq!(count("tier=leaf").await, 3);
    api.create(
        &PostParams::default(),
        &dyn_obj({
            let mut o = switch("sw-01", "spine");
            o["metadata"]["labels"] = json!({"tier": "spine"});
            o
        }),
    )
    .await
    .unwrap();
    assert_eq!(count("tier=spine").await, 3);
    let l = api
        .list(&ListParams::default().fields("metadata.name=sw-03"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1);
    let l = api
        .list(&ListParams::default().fields("metadata.namespace!=default"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 0);
    let (code, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?fieldSelector=spec.role%3Dspine"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (code, body["message"].as_str()),
        (400, Some("field label not supported: spec.role"))
    );
    let (code, _, _) = req(&s, "GET", &format!("{BASE}?labelSelector=a%20b"), &[], "").await;
    assert_eq!(code, 400);
    // shape of the list
    let (_, _, body) = req(&s, "GET", BASE, &[], "").await;
    assert_eq!(body["kind"], "SwitchList");
    assert_eq!(body["metadata"]["continue"], "");
    assert_eq!(body["items"][0]["kind"], "Switch");
}

#[tokio::test(start_paused = true)]
async fn pages_are_consistent_and_tokens_expire() {
    let s = server();
    seed(&s, 5).await;
    let c = client(&s);
    let api = switches(&c);
    let p1 = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(p1.items.len(), 2);
    assert_eq!(p1.metadata.remaining_item_count, Some(3));
    let tok = p1.metadata.continue_.clone().unwrap();
    // a write between pages does not show up in later pages
    api.create(&PostParams::default(), &dyn_obj(switch("sw-99", "spine")))
        .await
        .unwrap();
    let p2 = api
        .list(&ListParams::default().limit(2).continue_token(&tok))
        .await
        .unwrap();
    assert_eq!(
        p2.items
            .iter()
            .map(|o| o.metadata.name.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["sw-02", "sw-03"]
    );
    assert_eq!(p2.metadata.resource_version, p1.metadata.resource_version);
    let p3 = api
        .list(
            &ListParams::default()
                .limit(2)
                .continue_token(p2.metadata.continue_.as_ref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(p3.items.len(), 1, "sw-99 was created after the snapshot");
    assert_eq!(p3.metadata.continue_.as_deref(), Some(""));
    s.faults().compact();
    let (code, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?limit=2&continue={tok}"),
        &[],
        "",
    )
    .await;
    assert_eq!(code, 410);
    assert_eq!(
        body["message"],
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter."
    );
}

#[tokio::test(start_paused = true)]
async fn resource_version_semantics() {
    let s = server();
    seed(&s, 2).await;
    let old_rv = s.resource_version();
    let c = client(&s);
    switches(&c)
        .create(&PostParams::default(), &dyn_obj(switch("late", "spine")))
        .await
        .unwrap();
    let (_, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?resourceVersion={old_rv}&resourceVersionMatch=Exact"),
        &[],
        "",
    )
    .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    assert_eq!(body["metadata"]["resourceVersion"], old_rv.to_string());
    let (_, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?resourceVersion={old_rv}"),
        &[],
        "",
    )
    .await;
    assert_eq!(body["items"].as_array().unwrap().len(), 3);
    let (code, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?resourceVersion=999999"),
        &[],
        "",
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (504, Some("Timeout")));
    s.faults().compact();
    let (code, _, body) = req(
        &s,
        "GET",
        &format!("{BASE}?resourceVersion={old_rv}&resourceVersionMatch=Exact"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (code, body["message"].as_str()),
        (
            410,
            Some("The resourceVersion for the provided list is too old.")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn table_and_metadata_lists() {
    let s = server();
    seed(&s, 2).await;
    tokio::time::advance(std::time::Duration::from_secs(300)).await;
    let tbl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    let (_, _, t) = req(
        &s,
        "GET",
        &format!("{BASE}?limit=500"),
        &[("accept", tbl)],
        "",
    )
    .await;
    assert_eq!(t["kind"], "Table");
    let cols: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, vec!["Name", "Role", "Age"]);
    assert_eq!(t["rows"][0]["cells"], json!(["sw-00", "spine", "5m"]));
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let c = client(&s);
    let api = switches(&c);
    let pm = api.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(pm.items.len(), 2);
    assert!(pm.items[0].metadata.labels.is_some());
    let one = api.get_metadata("sw-01").await.unwrap();
    assert_eq!(one.metadata.name.as_deref(), Some("sw-01"));
    let (code, _, _) = req(
        &s,
        "GET",
        BASE,
        &[("accept", "application/vnd.kubernetes.protobuf")],
        "",
    )
    .await;
    assert_eq!(code, 406);
}
