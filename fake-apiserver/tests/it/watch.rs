//! Watches: initial ADDED, from a resourceVersion, BOOKMARKs, streaming lists with the
//! initial-events-end bookmark, timeoutSeconds, ERROR 410, selectors, dropped streams.

use crate::common::*;
use futures::{StreamExt, TryStreamExt};
use kube::api::{PostParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::time::Duration;

async fn read_lines(s: &fake_apiserver::FakeApiServer, path: &str) -> Vec<Value> {
    let (_, _, bytes) = req_raw(s, "GET", path, &[], "").await;
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn initial_events_live_events_and_timeout() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let rv = s.resource_version();
    let s2 = s.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let c = client(&s2);
        let api = switches(&c);
        api.create(&PostParams::default(), &dyn_obj(switch("b", "spine")))
            .await
            .unwrap();
        api.delete("a", &Default::default()).await.unwrap();
    });
    let ev = read_lines(&s, &format!("{BASE}?watch=true&timeoutSeconds=5")).await;
    writer.await.unwrap();
    let types: Vec<&str> = ev.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["ADDED", "ADDED", "DELETED"]);
    assert!(
        ev[2]["object"]["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > rv
    );
    // from a resourceVersion: only later events
    let ev = read_lines(
        &s,
        &format!("{BASE}?watch=1&resourceVersion={rv}&timeoutSeconds=1"),
    )
    .await;
    assert_eq!(
        ev.iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["ADDED", "DELETED"]
    );
}

#[tokio::test(start_paused = true)]
async fn bookmarks_and_streaming_list() {
    let s = fake_apiserver::FakeApiServer::builder()
        .crd(switch_crd())
        .bookmark_interval(Duration::from_secs(10))
        .build();
    let c = client(&s);
    switches(&c)
        .create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let ev = read_lines(
        &s,
        &format!(
            "{BASE}?&watch=true&timeoutSeconds=25&allowWatchBookmarks=true&resourceVersion={}",
            s.resource_version()
        ),
    )
    .await;
    assert_eq!(ev.iter().filter(|e| e["type"] == "BOOKMARK").count(), 2);
    let ev = read_lines(&s, &format!("{BASE}?&watch=true&timeoutSeconds=1&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0")).await;
    assert_eq!(ev[0]["type"], "ADDED");
    assert_eq!(ev[1]["type"], "BOOKMARK");
    assert_eq!(
        ev[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    // kube-rs watcher with streaming lists becomes ready and sees the object
    let api = switches(&c);
    let stream = watcher(api, watcher::Config::default().streaming_lists()).applied_objects();
    futures::pin_mut!(stream);
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("a"));
}

#[tokio::test(start_paused = true)]
async fn compacted_rv_gives_error_410_and_watcher_relists() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let old = s.resource_version();
    api.create(&PostParams::default(), &dyn_obj(switch("b", "spine")))
        .await
        .unwrap();
    s.faults().compact();
    let ev = read_lines(
        &s,
        &format!("{BASE}?watch=true&resourceVersion={}", old - 1),
    )
    .await;
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0]["type"], "ERROR");
    assert_eq!(ev[0]["object"]["code"], 410);
    assert!(
        ev[0]["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version:")
    );
    // kube's raw watch surfaces it as an error event
    let mut w = api
        .watch(&WatchParams::default().timeout(5), &(old - 1).to_string())
        .await
        .unwrap()
        .boxed();
    match w.next().await {
        Some(Ok(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn selectors_turn_leaving_objects_into_deleted() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let mut o = switch("a", "spine");
    o["metadata"]["labels"] = json!({"fabric":"f1"});
    api.create(&PostParams::default(), &dyn_obj(o))
        .await
        .unwrap();
    let rv = s.resource_version();
    api.patch(
        "a",
        &Default::default(),
        &kube::api::Patch::Merge(json!({"metadata":{"labels":{"fabric":"f2"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "a",
        &Default::default(),
        &kube::api::Patch::Merge(json!({"metadata":{"labels":{"fabric":"f1"}}})),
    )
    .await
    .unwrap();
    let ev = read_lines(
        &s,
        &format!(
            "{BASE}?watch=true&labelSelector=fabric%3Df1&resourceVersion={rv}&timeoutSeconds=1"
        ),
    )
    .await;
    assert_eq!(
        ev.iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec!["DELETED", "ADDED"]
    );
    // Table watch: first event has columns, later ones none
    let tbl = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    let (_, _, bytes) = req_raw(
        &s,
        "GET",
        &format!("{BASE}?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        &[("accept", tbl)],
        "",
    )
    .await;
    let lines: Vec<Value> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["object"]["kind"], "Table");
    assert!(lines[0]["object"]["columnDefinitions"].is_array());
    assert!(lines[1]["object"]["columnDefinitions"].is_null());
    // PartialObjectMetadata watch (kube-rs metadata watcher)
    let pom = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
    let (_, _, bytes) = req_raw(
        &s,
        "GET",
        &format!("{BASE}?watch=true&resourceVersion={rv}&timeoutSeconds=1"),
        &[("accept", pom)],
        "",
    )
    .await;
    let lines: Vec<Value> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["object"]["kind"], "PartialObjectMetadata");
    assert!(lines[0]["object"].get("spec").is_none());
    assert_eq!(lines[0]["object"]["metadata"]["name"], "a");
}

#[tokio::test(start_paused = true)]
async fn dropped_watch_ends_stream() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let mut w = api
        .watch(&WatchParams::default().timeout(290), "0")
        .await
        .unwrap()
        .boxed();
    let f = s.faults();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        f.drop_watches();
    });
    let start = tokio::time::Instant::now();
    assert!(w.next().await.is_none());
    assert!(start.elapsed() < Duration::from_secs(10));
}
