//! Fault injection, through the programmatic API and the token-guarded admin endpoint, and the
//! request log (shape, verbs, redaction). Paused clock throughout.

use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{self, ADMIN, Client, V1, fake};
use fake_netbox::{FaultKind, FaultRule, Fixture, Mutation};

#[tokio::test(start_paused = true)]
async fn unreachable_refuses_the_connection_in_process() {
    let nb = fake(Fixture::Vlab);
    nb.faults().add(
        FaultRule::new(FaultKind::Unreachable)
            .endpoint("dcim.devices")
            .times(2),
    );
    for _ in 0..2 {
        let req = http::Request::get("/api/dcim/devices/")
            .header("host", "netbox.sim")
            .header("authorization", format!("Token {V1}"))
            .body(axum::body::Body::empty())
            .unwrap();
        let err = nb.client_service().oneshot(req).await.expect_err("refused");
        let io = err.downcast_ref::<std::io::Error>().expect("an io::Error");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
    let c = Client::new(&nb);
    assert_eq!(
        c.get("/api/dcim/devices/").await.status,
        200,
        "the rule retired after 2 requests"
    );
    assert_eq!(c.get("/api/dcim/sites/").await.status, 200);
    let log = nb.log().entries();
    assert_eq!(
        log.iter()
            .filter(|e| e.fault.as_deref() == Some("unreachable"))
            .count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn server_errors_and_rate_limits() {
    let nb = fake(Fixture::Vlab);
    let c = Client::new(&nb);
    nb.faults().add(
        FaultRule::new(FaultKind::Status { status: 500 })
            .method("GET")
            .endpoint("dcim.interfaces")
            .times(1),
    );
    nb.faults().add(
        FaultRule::new(FaultKind::Status { status: 503 })
            .endpoint("/api/ipam/")
            .times(1),
    );
    nb.faults().add(
        FaultRule::new(FaultKind::TooManyRequests {
            retry_after_secs: 7,
        })
        .endpoint("dcim.cables")
        .times(1),
    );
    let r = c.get("/api/dcim/interfaces/").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.json["netbox_version"], "4.7.3");
    assert_eq!(c.get("/api/dcim/interfaces/").await.status, 200);
    let r = c.get("/api/ipam/vlans/").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let r = c.get("/api/dcim/cables/").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(
        r.json,
        json!({"detail": "Request was throttled. Expected available in 7 seconds."})
    );
    assert_eq!(c.get("/api/dcim/cables/").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn writes_are_not_applied_when_a_fault_answers_first() {
    let nb = fake(Fixture::Empty);
    let c = Client::new(&nb);
    nb.faults().add(
        FaultRule::new(FaultKind::Status { status: 502 })
            .method("POST")
            .times(1),
    );
    assert_eq!(
        c.post("/api/dcim/sites/", json!({"name": "a", "slug": "a"}))
            .await
            .status,
        502
    );
    assert_eq!(c.get("/api/dcim/sites/").await.json["count"], 0);
    assert_eq!(
        c.post("/api/dcim/sites/", json!({"name": "a", "slug": "a"}))
            .await
            .status,
        201
    );
}

#[tokio::test(start_paused = true)]
async fn latency_delays_on_tokio_time() {
    let nb = fake(Fixture::Empty);
    let c = Client::new(&nb);
    nb.faults()
        .add(FaultRule::new(FaultKind::Latency { millis: 2500 }).endpoint("dcim.sites"));
    let before = tokio::time::Instant::now();
    assert_eq!(c.get("/api/dcim/sites/").await.status, 200);
    assert_eq!(
        before.elapsed().as_millis(),
        2500,
        "virtual time advanced by exactly the latency"
    );
    let entry = nb.log().entries().pop().unwrap();
    assert_eq!(entry.fault.as_deref(), Some("latency"));
    assert_eq!(entry.duration_ms, 2500.0);
    assert_eq!(entry.time, "2026-01-01T00:00:02.500000Z");
}

#[tokio::test(start_paused = true)]
async fn bad_token_refuses_every_token_as_netbox_does() {
    let nb = fake(Fixture::Empty);
    let c = Client::new(&nb);
    nb.faults()
        .add(FaultRule::new(FaultKind::BadToken).times(2));
    assert_eq!(
        c.get("/api/").await.json,
        json!({"detail": "Invalid v1 token"})
    );
    let r = c
        .with_auth(Some(&format!("Bearer {}", common::V2)))
        .get("/api/dcim/sites/")
        .await;
    assert_eq!(
        (r.status, r.json),
        (403, json!({"detail": "Invalid v2 token"}))
    );
    assert_eq!(c.get("/api/").await.status, 200);
}

#[tokio::test(start_paused = true)]
async fn truncated_and_malformed_bodies_are_not_json() {
    let nb = fake(Fixture::Vlab);
    let c = Client::new(&nb);
    nb.faults().add(
        FaultRule::new(FaultKind::Truncated)
            .endpoint("dcim.devices")
            .times(1),
    );
    nb.faults().add(
        FaultRule::new(FaultKind::Malformed)
            .endpoint("dcim.sites")
            .times(1),
    );
    let r = c.get("/api/dcim/devices/").await;
    assert_eq!(r.status, 200);
    assert!(
        serde_json::from_str::<Value>(&r.text).is_err(),
        "truncated: {}",
        &r.text[r.text.len() - 20..]
    );
    assert!(r.text.starts_with("{\"count\":12"));
    let r = c.get("/api/dcim/sites/").await;
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    assert!(c.get("/api/dcim/devices/").await.json.is_object());
}

#[tokio::test(start_paused = true)]
async fn data_changes_between_two_pages_of_one_listing() {
    let nb = fake(Fixture::Vlab);
    let c = Client::new(&nb);
    let all = c.get("/api/dcim/devices/?limit=1000").await.names();
    nb.faults().add(
        FaultRule::new(FaultKind::ChangeBetweenPages {
            mutation: Mutation::DeleteFirst,
        })
        .endpoint("dcim.devices")
        .times(1),
    );
    let p1 = c.get("/api/dcim/devices/?limit=4").await;
    assert_eq!(p1.json["count"], 12, "the first page is served untouched");
    let p2 = c
        .get(
            p1.json["next"]
                .as_str()
                .unwrap()
                .trim_start_matches("http://netbox.sim"),
        )
        .await;
    assert_eq!(
        p2.json["count"], 11,
        "an object of page 1 was deleted before page 2"
    );
    let mut seen = p1.names();
    seen.extend(p2.names());
    assert_eq!(seen[..4], all[..4]);
    assert_eq!(seen[4..], all[5..9], "the client skipped one object");
    let deleted = c
        .get("/api/core/object-changes/?action=delete&changed_object_type=dcim.device")
        .await;
    assert_eq!(deleted.json["count"], 1);
    assert_eq!(deleted.results()[0]["object_repr"], all[0].as_str());

    nb.faults().add(
        FaultRule::new(FaultKind::ChangeBetweenPages {
            mutation: Mutation::Create {
                body: json!({"name": "a-new-site", "slug": "a-new-site"}),
            },
        })
        .endpoint("dcim.sites")
        .times(1),
    );
    let r = c.get("/api/dcim/sites/?limit=1&offset=1").await;
    assert_eq!(r.json["count"], 2);
}

#[tokio::test(start_paused = true)]
async fn rules_match_method_endpoint_and_seeded_probability() {
    let run = |seed: u64| async move {
        let nb = fake_netbox::FakeNetBox::builder()
            .token(V1)
            .seed(seed)
            .build()
            .unwrap();
        nb.faults().add(
            FaultRule::new(FaultKind::Status { status: 500 })
                .method("GET")
                .probability(0.3),
        );
        let c = Client::new(&nb);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(c.get("/api/dcim/sites/").await.status);
        }
        assert_eq!(
            c.post("/api/dcim/sites/", json!({"name": "x", "slug": "x"}))
                .await
                .status,
            201,
            "POST does not match"
        );
        statuses
    };
    let a = run(9).await;
    assert_eq!(a, run(9).await, "same seed, same faults");
    let failures = a.iter().filter(|s| **s == 500).count();
    assert!((4..=20).contains(&failures), "{failures} of 40");
}

#[tokio::test(start_paused = true)]
async fn the_admin_endpoint_needs_the_admin_token() {
    let nb = fake(Fixture::Vlab);
    let admin = Client::new(&nb).with_auth(Some(&format!("Token {ADMIN}")));
    let user = Client::new(&nb);
    let rule = json!({"kind": "status", "status": 503, "endpoint": "dcim.sites", "times": 1});
    let r = user.post("/__fake/faults", rule.clone()).await;
    assert_eq!(r.status, 403, "an API token is not the admin token");
    let r = admin.post("/__fake/faults", rule).await;
    assert_eq!(r.status, 201);
    let listed = admin.get("/__fake/faults").await;
    assert_eq!(listed.json[0]["kind"], "status");
    assert_eq!(user.get("/api/dcim/sites/").await.status, 503);
    let r = admin
        .post("/__fake/faults", json!({"kind": "latency", "millis": 5}))
        .await;
    let id = r.json["id"].as_u64().unwrap();
    assert_eq!(
        admin.delete(&format!("/__fake/faults/{id}")).await.status,
        204
    );
    assert_eq!(
        admin
            .post("/__fake/faults", json!({"kind": "nope"}))
            .await
            .status,
        400
    );
    admin
        .post("/__fake/faults", json!({"kind": "unreachable"}))
        .await;
    assert_eq!(admin.delete("/__fake/faults").await.status, 204);
    assert_eq!(admin.get("/__fake/faults").await.json, json!([]));
    let stats = admin.get("/__fake/stats").await;
    assert_eq!(stats.json["objects"], nb.object_count());
    let export = admin.get("/__fake/export").await;
    assert_eq!(export.json["format"], "fake-netbox-fixture/1");
    let log = admin.get("/__fake/log").await;
    assert_eq!(log.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        log.text.lines().count(),
        1,
        "API requests only: {}",
        log.text
    );
    let no_admin = fake_netbox::FakeNetBox::builder()
        .token(V1)
        .build()
        .unwrap();
    assert_eq!(
        Client::new(&no_admin).get("/__fake/faults").await.status,
        404
    );
}

#[tokio::test(start_paused = true)]
async fn the_request_log_records_every_request_without_secrets() {
    let nb = fake_netbox::FakeNetBox::builder()
        .token(V1)
        .token(common::V2)
        .log_bodies(true)
        .fixture(Fixture::Vlab)
        .build()
        .unwrap();
    let c = Client::new(&nb);
    c.get("/api/dcim/devices/?site=vlab&limit=2").await;
    c.get("/api/dcim/devices/3/").await;
    c.with_auth(Some(&format!("Bearer {}", common::V2)))
        .post("/api/extras/journal-entries/", json!({"assigned_object_type": "dcim.site", "assigned_object_id": 1, "comments": "sync ok", "token": "supersecret"}))
        .await;
    c.with_auth(Some("Token 9999999999999999999999999999999999999999"))
        .get("/api/")
        .await;
    let entries = nb.log().entries();
    assert_eq!(entries.len(), 4);
    let e = serde_json::to_value(&entries[0]).unwrap();
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys[..19],
        [
            "seq",
            "server",
            "time",
            "method",
            "path",
            "query",
            "status",
            "request_bytes",
            "response_bytes",
            "duration_ms",
            "user_agent",
            "auth",
            "verb",
            "resource",
            "namespace",
            "name",
            "dry_run",
            "write",
            "fault"
        ]
    );
    assert_eq!(
        (
            e["server"].clone(),
            e["verb"].clone(),
            e["resource"].clone()
        ),
        (json!("netbox"), json!("list"), json!("dcim.devices"))
    );
    assert_eq!(e["query"], "site=vlab&limit=2");
    assert_eq!(e["auth"], "token");
    assert_eq!(serde_json::to_value(&entries[1]).unwrap()["name"], "3");
    let w = serde_json::to_value(&entries[2]).unwrap();
    assert_eq!(
        (
            w["verb"].clone(),
            w["write"].clone(),
            w["auth"].clone(),
            w["status"].clone()
        ),
        (json!("create"), json!(true), json!("bearer"), json!(201))
    );
    assert_eq!(w["request_body"]["token"], "<redacted>");
    assert_eq!(
        serde_json::to_value(&entries[3]).unwrap()["auth"],
        "invalid"
    );
    let jsonl = nb.log().to_jsonl();
    assert_eq!(jsonl.lines().count(), 4);
    for secret in [
        V1,
        common::V2,
        "supersecret",
        "9999999999999999999999999999999999999999",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCD",
    ] {
        assert!(!jsonl.contains(secret), "the log must not contain {secret}");
    }
    assert!(!format!("{nb:?}").contains(V1));
    nb.log().clear();
    c.get("/api/").await;
    assert_eq!(
        nb.log().entries()[0].seq,
        5,
        "sequence numbers continue after clear()"
    );
}

#[tokio::test(start_paused = true)]
async fn the_binary_drops_connections_when_unreachable() {
    // On a socket, an unreachable fault accepts and drops the connection without answering.
    let nb = fake(Fixture::Empty);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = nb.clone();
    tokio::spawn(async move { served.serve(listener).await });
    nb.faults()
        .add(FaultRule::new(FaultKind::Unreachable).times(1));
    let send = || async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let req = http::Request::get("/api/status/")
            .header("host", addr.to_string())
            .header("authorization", format!("Token {V1}"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        sender.send_request(req).await
    };
    assert!(
        send().await.is_err(),
        "the first request's connection is dropped"
    );
    let resp = send().await.expect("then the server answers");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("4.7.3"));
}
