//! Shared helpers of the integration tests: a Hedgehog-like `Switch` CRD (status subresource,
//! list-map and set lists, enums, patterns, int-or-string), a server and kube client on it, and a
//! raw HTTP helper for exact-body checks.
#![allow(dead_code)]

use fake_apiserver::FakeApiServer;
use http_body_util::BodyExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const G: &str = "wiring.githedgehog.com";
pub const V: &str = "v1beta1";
pub const BASE: &str = "/apis/wiring.githedgehog.com/v1beta1/namespaces/default/switches";

pub fn switch_crd() -> Value {
    json!({
      "apiVersion": "apiextensions.k8s.io/v1",
      "kind": "CustomResourceDefinition",
      "metadata": {"name": "switches.wiring.githedgehog.com"},
      "spec": {
        "group": G,
        "names": {"kind": "Switch", "plural": "switches", "singular": "switch", "shortNames": ["sw"], "categories": ["hedgehog", "wiring", "fabric"]},
        "scope": "Namespaced",
        "versions": [{
          "name": V, "served": true, "storage": true,
          "subresources": {"status": {}},
          "additionalPrinterColumns": [
            {"name": "Role", "type": "string", "jsonPath": ".spec.role"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
          ],
          "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {
              "spec": {
                "type": "object",
                "required": ["role"],
                "properties": {
                  "role": {"type": "string", "enum": ["spine", "server-leaf", "border-leaf", "mixed-leaf", "virtual-edge"], "description": "Role of the switch in the fabric"},
                  "description": {"type": "string", "maxLength": 64},
                  "profile": {"type": "string", "pattern": "^[a-z0-9-]+$"},
                  "asn": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 4294967295_u64},
                  "portSpeeds": {"type": "object", "additionalProperties": {"type": "string"}},
                  "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "speed": {"x-kubernetes-int-or-string": true}}}},
                  "groups": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                  "vlanNamespaces": {"type": "array", "items": {"type": "string"}},
                  "redundancy": {"type": "object", "properties": {"group": {"type": "string"}, "type": {"type": "string", "default": "none"}}},
                  "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }
              },
              "status": {"type": "object", "properties": {"ok": {"type": "boolean"}, "applied": {"type": "object", "properties": {"gen": {"type": "integer"}}}}}
            }
          }}
        }]
      }
    })
}

pub fn server() -> FakeApiServer {
    FakeApiServer::builder().seed(7).crd(switch_crd()).build()
}

pub fn client(s: &FakeApiServer) -> kube::Client {
    kube::Client::new(s.client_service(), "default")
}

pub fn ar() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(G, V, "Switch"), "switches")
}

pub fn switches(c: &kube::Client) -> Api<DynamicObject> {
    Api::namespaced_with(c.clone(), "default", &ar())
}

pub fn switch(name: &str, role: &str) -> Value {
    json!({"apiVersion": format!("{G}/{V}"), "kind": "Switch", "metadata": {"name": name}, "spec": {"role": role}})
}

pub fn dyn_obj(v: Value) -> DynamicObject {
    serde_json::from_value(v).expect("valid object")
}

/// One raw HTTP exchange through the router.
pub async fn req(
    s: &FakeApiServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, Value) {
    let (code, h, bytes) = req_raw(s, method, path, headers, body).await;
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (code, h, v)
}

pub async fn req_raw(
    s: &FakeApiServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut b = http::Request::builder().method(method).uri(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let r = b.body(axum::body::Body::from(body.to_string())).unwrap();
    let resp = s.router().oneshot(r).await.unwrap();
    let code = resp.status().as_u16();
    let h = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (code, h, bytes)
}

pub const JSON: (&str, &str) = ("content-type", "application/json");
pub const MERGE: (&str, &str) = ("content-type", "application/merge-patch+json");
pub const JSONPATCH: (&str, &str) = ("content-type", "application/json-patch+json");
pub const APPLY: (&str, &str) = ("content-type", "application/apply-patch+yaml");
pub const SMP: (&str, &str) = ("content-type", "application/strategic-merge-patch+json");
