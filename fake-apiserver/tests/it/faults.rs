//! Faults, programmatic and over the admin endpoint: unreachable, 500/503/504, 429 (plain and
//! Status) with Retry-After, matching and counts, seeded probability, virtual latency, Nth write,
//! concurrent writer, compaction; the request log records which fault fired.

use crate::common::*;
use fake_apiserver::{FakeApiServer, Fault, ObjectRef, RejectForm, When, WriterPatch};
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use std::time::Duration;

#[tokio::test(start_paused = true)]
async fn unreachable_is_connection_refused() {
    let s = server();
    let c = client(&s);
    s.faults().set_unreachable(true);
    let err = switches(&c).get_opt("a").await.unwrap_err();
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    let mut refused = false;
    while let Some(e) = src {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        src = e.source();
    }
    assert!(refused, "{err:?}");
    s.faults().set_unreachable(false);
    assert!(switches(&c).get_opt("a").await.unwrap().is_none());
    assert_eq!(s.log().entries()[0].fault.as_deref(), Some("unreachable"));
}

#[tokio::test(start_paused = true)]
async fn status_faults_match_and_count() {
    let s = server();
    s.faults()
        .add(Fault::Status {
            code: 503,
            retry_after_seconds: Some(2),
            when: When::always().verb("create").resource("switches").times(2),
        })
        .unwrap();
    let (code, h, body) = req(&s, "POST", BASE, &[JSON], &switch("a", "spine").to_string()).await;
    assert_eq!(
        (code, body["reason"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    assert_eq!(h.get("retry-after").unwrap(), "2");
    let (code, _, _) = req(&s, "GET", BASE, &[], "").await;
    assert_eq!(code, 200, "other verbs untouched");
    let (code, _, _) = req(&s, "POST", BASE, &[JSON], &switch("a", "spine").to_string()).await;
    assert_eq!(code, 503);
    let (code, _, _) = req(&s, "POST", BASE, &[JSON], &switch("a", "spine").to_string()).await;
    assert_eq!(code, 201, "fault exhausted after 2");
    s.faults()
        .add(Fault::TooManyRequests {
            retry_after_seconds: 1,
            form: RejectForm::Plain,
            when: When::always().name("a").times(1),
        })
        .unwrap();
    let (code, h, body) = req_raw(&s, "GET", &format!("{BASE}/a"), &[], "").await;
    assert_eq!(code, 429);
    assert_eq!(h.get("retry-after").unwrap(), "1");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "Too many requests, please try again later.\n"
    );
    s.faults()
        .add(Fault::TooManyRequests {
            retry_after_seconds: 3,
            form: RejectForm::Status,
            when: When::always().times(1),
        })
        .unwrap();
    let (code, _, body) = req(&s, "GET", &format!("{BASE}/a"), &[], "").await;
    assert_eq!(
        (code, body["details"]["retryAfterSeconds"].as_u64()),
        (429, Some(3))
    );
    s.faults()
        .add(Fault::Status {
            code: 504,
            retry_after_seconds: None,
            when: When::always().times(1),
        })
        .unwrap();
    let (code, _, body) = req(&s, "GET", &format!("{BASE}/a"), &[], "").await;
    assert_eq!((code, body["reason"].as_str()), (504, Some("Timeout")));
    let faults: Vec<Option<String>> = s.log().entries().iter().map(|e| e.fault.clone()).collect();
    assert!(
        faults.contains(&Some("status:503".into())) && faults.contains(&Some("429:plain".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn probability_is_seeded() {
    let run = |seed| async move {
        let s = FakeApiServer::builder()
            .seed(seed)
            .crd(switch_crd())
            .build();
        s.faults()
            .add(Fault::Status {
                code: 500,
                retry_after_seconds: None,
                when: When::always().probability(0.5),
            })
            .unwrap();
        let mut codes = vec![];
        for _ in 0..32 {
            codes.push(req(&s, "GET", BASE, &[], "").await.0);
        }
        codes
    };
    let a = run(42).await;
    assert_eq!(a, run(42).await);
    let fails = a.iter().filter(|c| **c == 500).count();
    assert!(fails > 4 && fails < 28, "{fails}");
}

#[tokio::test(start_paused = true)]
async fn latency_nth_write_and_concurrent_writer() {
    let s = server();
    s.faults()
        .add(Fault::Latency {
            millis: 30_000,
            when: When::always().verb("list"),
        })
        .unwrap();
    let t = tokio::time::Instant::now();
    req(&s, "GET", BASE, &[], "").await;
    assert!(t.elapsed() >= Duration::from_secs(30), "virtual latency");
    s.faults()
        .add(Fault::FailNthWrite { n: 2, code: None })
        .unwrap();
    let c = client(&s);
    let api = switches(&c);
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let kube::Error::Api(ae) = api
        .create(&PostParams::default(), &dyn_obj(switch("b", "spine")))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(ae.code, 500);
    api.create(&PostParams::default(), &dyn_obj(switch("b", "spine")))
        .await
        .unwrap();
    // our manager applies, then an intruder changes the same field before our next write
    let pp = PatchParams::apply("fabsync");
    api.patch("a", &pp, &Patch::Apply(switch("a", "spine")))
        .await
        .unwrap();
    s.faults()
        .add(Fault::ConcurrentWriter {
            target: ObjectRef {
                group: G.into(),
                resource: "switches".into(),
                namespace: "default".into(),
                name: "a".into(),
            },
            field_manager: "intruder".into(),
            patch: json!({"spec":{"role":"border-leaf"}}),
            patch_type: WriterPatch::Apply,
            on_nth_write: Some(1),
        })
        .unwrap();
    let kube::Error::Api(ae) = api
        .patch("a", &pp, &Patch::Apply(switch("a", "mixed-leaf")))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(ae.code, 409);
    assert!(
        ae.message.contains("conflict with \"intruder\""),
        "{}",
        ae.message
    );
}

#[tokio::test(start_paused = true)]
async fn admin_endpoint() {
    let s = FakeApiServer::builder()
        .crd(switch_crd())
        .admin_token("adm")
        .log_bodies(true)
        .build();
    let (code, _, _) = req(&s, "GET", "/__fake/faults", &[], "").await;
    assert_eq!(code, 401);
    let (code, _, body) = req(
        &s,
        "POST",
        "/__fake/faults",
        &[("authorization", "Bearer adm"), JSON],
        r#"{"kind":"status","code":500,"verb":"get","times":1}"#,
    )
    .await;
    assert_eq!(code, 201, "{body}");
    let (_, _, list) = req(
        &s,
        "GET",
        "/__fake/faults",
        &[("authorization", "Bearer adm")],
        "",
    )
    .await;
    assert_eq!(list["faults"][0]["fault"]["code"], 500);
    let (code, _, _) = req(&s, "GET", &format!("{BASE}/x"), &[], "").await;
    assert_eq!(code, 500);
    let (code, _, _) = req(
        &s,
        "POST",
        "/__fake/faults",
        &[("authorization", "Bearer adm"), JSON],
        r#"{"kind":"status","code":418}"#,
    )
    .await;
    assert_eq!(code, 400);
    let (_, _, log) = req_raw(
        &s,
        "GET",
        "/__fake/log",
        &[("authorization", "Bearer adm")],
        "",
    )
    .await;
    let text = String::from_utf8(log).unwrap();
    let line: serde_json::Value = serde_json::from_str(
        text.lines()
            .find(|l| l.contains("\"fault\":\"status:500\""))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(line["server"], "apiserver");
    assert_eq!(line["verb"], "get");
    assert!(
        text.lines().all(|l| !l.contains("Bearer adm")),
        "admin token leaked into the log"
    );
    assert!(
        text.lines().any(|l| l.contains("\"request_body\"")),
        "bodies are logged when log_bodies is on"
    );
    let (code, _, _) = req(
        &s,
        "DELETE",
        "/__fake/faults",
        &[("authorization", "Bearer adm")],
        "",
    )
    .await;
    assert_eq!(code, 200);
    assert!(s.faults().list().is_empty());
}
