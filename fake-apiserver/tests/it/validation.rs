//! Structural schema validation (422 with causes), pruning, fieldValidation=Strict/Warn,
//! defaults, metadata name/label validation, admission hooks.

use crate::common::*;
use fake_apiserver::{
    Admission, AdmissionError, AdmissionRequest, ClusterView, FakeApiServer, Operation,
};
use kube::api::PostParams;
use serde_json::json;
use std::sync::Arc;

#[tokio::test(start_paused = true)]
async fn schema_errors_are_422_with_causes() {
    let s = server();
    let cases = [
        (
            json!({"role":"nope"}),
            "spec.role: Unsupported value: \"nope\": supported values: \"spine\", \"server-leaf\", \"border-leaf\", \"mixed-leaf\", \"virtual-edge\"",
            "FieldValueNotSupported",
        ),
        (json!({}), "spec.role: Required value", "FieldValueRequired"),
        (
            json!({"role":"spine","asn":"x"}),
            "spec.asn: Invalid value: \"string\": spec.asn in body must be of type integer: \"string\"",
            "FieldValueTypeInvalid",
        ),
        (
            json!({"role":"spine","asn":0}),
            "spec.asn: Invalid value: 0: spec.asn in body should be greater than or equal to 1",
            "FieldValueInvalid",
        ),
        (
            json!({"role":"spine","profile":"Bad_P"}),
            "spec.profile: Invalid value: \"Bad_P\": spec.profile in body should match '^[a-z0-9-]+$'",
            "FieldValueInvalid",
        ),
        (
            json!({"role":"spine","ports":[{"name":"a","speed":true}]}),
            "spec.ports[0].speed: Invalid value: \"boolean\": spec.ports[0].speed in body must be of type integer,string: \"boolean\"",
            "FieldValueTypeInvalid",
        ),
        (
            json!({"role":"spine","description":"x".repeat(65)}),
            "spec.description: Too long: may not be more than 64 bytes",
            "FieldValueTooLong",
        ),
    ];
    for (spec, msg, reason) in cases {
        let body = json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch","metadata":{"name":"x"},"spec":spec});
        let (code, _, st) = req(&s, "POST", BASE, &[JSON], &body.to_string()).await;
        assert_eq!(code, 422, "{st}");
        assert_eq!(
            st["message"],
            format!("Switch.wiring.githedgehog.com \"x\" is invalid: {msg}")
        );
        assert_eq!(st["details"]["causes"][0]["reason"], reason);
        assert_eq!(st["details"]["kind"], "Switch");
    }
    // two errors: bracketed list
    let body = json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch","metadata":{"name":"x"},"spec":{"role":"nope","asn":0}});
    let (_, _, st) = req(&s, "POST", BASE, &[JSON], &body.to_string()).await;
    assert!(st["message"].as_str().unwrap().contains(": [spec."), "{st}");
    assert!(s.objects(G, "switches").is_empty());
}

#[tokio::test(start_paused = true)]
async fn pruning_strict_warn_and_defaults() {
    let s = server();
    let body = json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch","metadata":{"name":"p"},"spec":{"role":"spine","bogus":1,"redundancy":{"group":"g"},"extra":{"anything":{"goes":true}}}});
    let (code, _, st) = req(
        &s,
        "POST",
        &format!("{BASE}?fieldValidation=Strict"),
        &[JSON],
        &body.to_string(),
    )
    .await;
    assert_eq!(
        (code, st["message"].as_str()),
        (
            400,
            Some("strict decoding error: unknown field \"spec.bogus\"")
        )
    );
    let (code, h, st) = req(&s, "POST", BASE, &[JSON], &body.to_string()).await;
    assert_eq!(code, 201);
    assert_eq!(
        h.get("warning").unwrap(),
        "299 - \"unknown field \\\"spec.bogus\\\"\""
    );
    assert!(st["spec"].get("bogus").is_none());
    assert_eq!(st["spec"]["redundancy"]["type"], "none", "default applied");
    assert_eq!(
        st["spec"]["extra"]["anything"]["goes"], true,
        "preserve-unknown-fields kept"
    );
}

#[tokio::test(start_paused = true)]
async fn metadata_validation() {
    let s = server();
    let body = json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch","metadata":{"name":"Bad_Name","labels":{"ok":"bad value"}},"spec":{"role":"spine"}});
    let (code, _, st) = req(&s, "POST", BASE, &[JSON], &body.to_string()).await;
    assert_eq!(code, 422);
    let causes = st["details"]["causes"].as_array().unwrap();
    assert_eq!(causes[0]["field"], "metadata.name");
    assert!(
        causes[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
    );
    assert_eq!(causes[1]["field"], "metadata.labels");
    // generateName
    let body = json!({"apiVersion":"wiring.githedgehog.com/v1beta1","kind":"Switch","metadata":{"generateName":"leaf-"},"spec":{"role":"spine"}});
    let (code, _, st) = req(&s, "POST", BASE, &[JSON], &body.to_string()).await;
    assert_eq!(code, 201);
    assert_eq!(st["metadata"]["name"].as_str().unwrap().len(), 10);
}

struct NoDeleteWhileReferenced;
impl Admission for NoDeleteWhileReferenced {
    fn name(&self) -> &str {
        "vswitch.kb.io"
    }
    fn mutate(
        &self,
        req: &AdmissionRequest<'_>,
        obj: &mut serde_json::Value,
    ) -> Result<(), AdmissionError> {
        if req.operation == Operation::Create {
            obj["metadata"]["labels"]["mutated"] = json!("yes");
        }
        Ok(())
    }
    fn validate(
        &self,
        req: &AdmissionRequest<'_>,
        cluster: &dyn ClusterView,
    ) -> Result<(), AdmissionError> {
        if req.operation == Operation::Delete {
            let refs = cluster.list(G, "switches", Some(req.namespace));
            if refs
                .iter()
                .any(|o| o["spec"]["description"] == json!(format!("uses {}", req.name)))
            {
                return Err(AdmissionError::denied(format!(
                    "switch {} is referenced",
                    req.name
                )));
            }
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn admission_hooks_mutate_and_deny() {
    let s = FakeApiServer::builder()
        .crd(switch_crd())
        .admission(Arc::new(NoDeleteWhileReferenced))
        .build();
    let c = client(&s);
    let api = switches(&c);
    let mut a = switch("a", "spine");
    a["metadata"]["labels"] = json!({});
    let a = api
        .create(&PostParams::default(), &dyn_obj(a))
        .await
        .unwrap();
    assert_eq!(a.metadata.labels.unwrap()["mutated"], "yes");
    let mut b = switch("b", "spine");
    b["metadata"]["labels"] = json!({});
    b["spec"]["description"] = json!("uses a");
    api.create(&PostParams::default(), &dyn_obj(b))
        .await
        .unwrap();
    let (code, _, st) = req(&s, "DELETE", &format!("{BASE}/a"), &[], "").await;
    assert_eq!(code, 403);
    assert_eq!(
        st["message"],
        "admission webhook \"vswitch.kb.io\" denied the request: switch a is referenced"
    );
    assert_eq!(st["reason"], "Forbidden");
    assert_eq!(s.objects(G, "switches").len(), 2);
}
