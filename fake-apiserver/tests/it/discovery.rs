//! /version, health, legacy and aggregated discovery by Accept, OpenAPI v3 (root and group-version
//! documents with fieldValidation and x-kubernetes-group-version-kind), /openapi/v2 404, CRD
//! registration over the API (Established, servable, deletion removes the objects), auth.

use crate::common::*;
use fake_apiserver::FakeApiServer;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, PostParams};
use kube::discovery::Discovery;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

const AGG: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

#[tokio::test(start_paused = true)]
async fn version_and_discovery_by_accept() {
    let s = server();
    let c = client(&s);
    let v = c.apiserver_version().await.unwrap();
    assert_eq!((v.major.as_str(), v.minor.as_str()), ("1", "32"));
    let (code, _, _) = req(&s, "GET", "/version/", &[], "").await;
    assert_eq!(code, 200);
    let (_, h, body) = req(&s, "GET", "/apis", &[("accept", AGG)], "").await;
    assert_eq!(
        h.get("content-type").unwrap(),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    );
    let g = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["name"] == G)
        .unwrap();
    let r = &g["versions"][0]["resources"][0];
    assert_eq!(r["resource"], "switches");
    assert_eq!(r["shortNames"], json!(["sw"]));
    assert_eq!(r["subresources"][0]["subresource"], "status");
    let (_, h, body) = req(&s, "GET", "/apis", &[], "").await;
    assert_eq!(h.get("content-type").unwrap(), "application/json");
    assert_eq!(body["kind"], "APIGroupList");
    let (_, _, body) = req(&s, "GET", &format!("/apis/{G}/{V}"), &[], "").await;
    assert_eq!(body["resources"][1]["name"], "switches/status");
    let d = Discovery::new(c.clone()).run().await.unwrap();
    assert!(d.has_group(G) && d.has_group("coordination.k8s.io"));
    let d = Discovery::new(c).run_aggregated().await.unwrap();
    assert!(d.has_group(G));
}

#[tokio::test(start_paused = true)]
async fn openapi_v3_documents() {
    let s = server();
    let (_, _, root) = req(&s, "GET", "/openapi/v3?timeout=32s", &[], "").await;
    let url = root["paths"][format!("apis/{G}/{V}")]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(url.split("hash=").nth(1).unwrap().len(), 128);
    let (code, _, doc) = req(&s, "GET", &url, &[], "").await;
    assert_eq!(code, 200);
    let patch = &doc["paths"]
        [format!("{BASE}/{{name}}").replace("namespaces/default", "namespaces/{namespace}")]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": G, "version": V, "kind": "Switch"})
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert!(
        patch["requestBody"]["content"]
            .get("application/strategic-merge-patch+json")
            .is_none()
    );
    assert!(doc["components"]["schemas"]["com.githedgehog.wiring.v1beta1.Switch"]["x-kubernetes-group-version-kind"].is_array());
    let (code, _, _) = req(
        &s,
        "GET",
        "/openapi/v2?timeout=32s",
        &[(
            "accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
        "",
    )
    .await;
    assert_eq!(code, 404);
}

#[tokio::test(start_paused = true)]
async fn crd_over_the_api_lifecycle() {
    let s = FakeApiServer::builder().build();
    let c = client(&s);
    let crds: Api<CustomResourceDefinition> = Api::all(c.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(switch_crd()).unwrap();
    let created = crds.create(&PostParams::default(), &crd).await.unwrap();
    assert!(
        created.status.unwrap().conditions.is_none(),
        "conditions are null right after the POST"
    );
    let est = await_condition(
        crds.clone(),
        "switches.wiring.githedgehog.com",
        conditions::is_crd_established(),
    );
    tokio::time::timeout(std::time::Duration::from_secs(5), est)
        .await
        .unwrap()
        .unwrap();
    let api = switches(&c);
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let (_, _, body) = req(&s, "GET", "/apis", &[("accept", AGG)], "").await;
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["metadata"]["name"] == G)
    );
    let del = crds
        .delete("switches.wiring.githedgehog.com", &DeleteParams::default())
        .await
        .unwrap();
    let marked = del.left().unwrap();
    assert_eq!(
        marked.metadata.finalizers.unwrap(),
        vec!["customresourcecleanup.apiextensions.k8s.io"]
    );
    assert!(
        crds.get_opt("switches.wiring.githedgehog.com")
            .await
            .unwrap()
            .is_none()
    );
    let (code, _, _) = req(&s, "GET", BASE, &[], "").await;
    assert_eq!(code, 404);
    assert!(s.objects(G, "switches").is_empty());
}

#[tokio::test(start_paused = true)]
async fn bearer_tokens() {
    let s = FakeApiServer::builder()
        .crd(switch_crd())
        .token("t0k")
        .read_only_token("ro")
        .build();
    let (code, _, body) = req(&s, "GET", BASE, &[], "").await;
    assert_eq!(code, 401);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})
    );
    let (code, _, _) = req(&s, "GET", BASE, &[("authorization", "Bearer nope")], "").await;
    assert_eq!(code, 401);
    let (code, _, _) = req(&s, "GET", "/version", &[], "").await;
    assert_eq!(code, 200);
    let (code, _, _) = req(&s, "GET", BASE, &[("authorization", "Bearer ro")], "").await;
    assert_eq!(code, 200);
    let (code, _, body) = req(
        &s,
        "POST",
        BASE,
        &[("authorization", "Bearer ro"), JSON],
        &switch("a", "spine").to_string(),
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "switches.wiring.githedgehog.com is forbidden: User \"read-only\" cannot create resource \"switches\" in API group \"wiring.githedgehog.com\" in the namespace \"default\""
    );
    let (code, _, _) = req(
        &s,
        "POST",
        BASE,
        &[("authorization", "Bearer t0k"), JSON],
        &switch("a", "spine").to_string(),
    )
    .await;
    assert_eq!(code, 201);
    let jsonl = s.log().to_jsonl();
    assert!(
        !jsonl.contains("t0k") && !jsonl.contains("\"ro\""),
        "tokens must not be logged"
    );
    assert!(jsonl.contains("\"auth\":\"invalid\""));
}
