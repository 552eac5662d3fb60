//! Server-side apply through kube-rs: managedFields, per-manager ownership, 409 conflicts with
//! causes, force, removal of fields dropped by their only owner, list-map/set/atomic lists.

use crate::common::*;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

fn cfg(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": format!("{G}/{V}"), "kind": "Switch", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test(start_paused = true)]
async fn apply_creates_and_records_managed_fields() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let o = api
        .patch(
            "a",
            &PatchParams::apply("fabsync"),
            &Patch::Apply(cfg(
                "a",
                json!({"role":"spine","ports":[{"name":"E1/1","speed":"25G"}]}),
            )),
        )
        .await
        .unwrap();
    let mf = o.metadata.managed_fields.unwrap();
    assert_eq!(mf.len(), 1);
    assert_eq!(mf[0].manager.as_deref(), Some("fabsync"));
    assert_eq!(mf[0].operation.as_deref(), Some("Apply"));
    assert_eq!(
        serde_json::to_value(&mf[0].fields_v1).unwrap(),
        json!({"f:spec":{"f:ports":{"k:{\"name\":\"E1/1\"}":{".":{},"f:name":{},"f:speed":{}}},"f:role":{}}})
    );
    // The log shows the apply verb and a 201.
    let last = s.log().entries().pop().unwrap();
    assert_eq!((last.verb.as_deref(), last.status), (Some("apply"), 201));
}

#[tokio::test(start_paused = true)]
async fn conflicts_force_and_shared_ownership() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    api.patch(
        "a",
        &PatchParams::apply("one"),
        &Patch::Apply(cfg("a", json!({"role":"spine","description":"first"}))),
    )
    .await
    .unwrap();
    let err = api
        .patch(
            "a",
            &PatchParams::apply("two"),
            &Patch::Apply(cfg(
                "a",
                json!({"role":"server-leaf","description":"second"}),
            )),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(ae) = err else { panic!() };
    assert_eq!((ae.code, ae.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        ae.message,
        "Apply failed with 2 conflicts: conflicts with \"one\":\n- .spec.description\n- .spec.role"
    );
    let (_, _, body) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a?fieldManager=two"),
        &[APPLY],
        &cfg("a", json!({"role":"server-leaf"})).to_string(),
    )
    .await;
    assert_eq!(
        body["message"],
        "Apply failed with 1 conflict: conflict with \"one\": .spec.role"
    );
    assert_eq!(
        body["details"],
        json!({"causes":[{"reason":"FieldManagerConflict","message":"conflict with \"one\"","field":".spec.role"}]})
    );
    // An Update manager is printed with its apiVersion.
    api.patch(
        "a",
        &PatchParams {
            field_manager: Some("editor".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"spec":{"profile":"p1"}})),
    )
    .await
    .unwrap();
    let (_, _, body) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a?fieldManager=two"),
        &[APPLY],
        &cfg("a", json!({"role":"spine","profile":"p2"})).to_string(),
    )
    .await;
    assert_eq!(
        body["message"],
        "Apply failed with 1 conflict: conflict with \"editor\" using wiring.githedgehog.com/v1beta1: .spec.profile"
    );
    // Same value: shared ownership, no conflict.
    api.patch(
        "a",
        &PatchParams::apply("two"),
        &Patch::Apply(cfg("a", json!({"role":"spine"}))),
    )
    .await
    .unwrap();
    // force takes ownership.
    let o = api
        .patch(
            "a",
            &PatchParams::apply("two").force(),
            &Patch::Apply(cfg(
                "a",
                json!({"role":"border-leaf","description":"second"}),
            )),
        )
        .await
        .unwrap();
    assert_eq!(o.data["spec"]["role"], "border-leaf");
    let mf = o.metadata.managed_fields.unwrap();
    let one = mf.iter().find(|e| e.manager.as_deref() == Some("one"));
    assert!(one.is_none(), "manager one lost every field: {mf:?}");
}

#[tokio::test(start_paused = true)]
async fn dropped_fields_are_removed_only_when_unowned() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let pp = PatchParams::apply("fabsync");
    api.patch(
        "a",
        &pp,
        &Patch::Apply(cfg(
            "a",
            json!({"role":"spine","description":"d","profile":"p","groups":["g1","g2"]}),
        )),
    )
    .await
    .unwrap();
    // another manager co-owns profile (same value)
    api.patch(
        "a",
        &PatchParams::apply("other"),
        &Patch::Apply(cfg("a", json!({"role":"spine","profile":"p"}))),
    )
    .await
    .unwrap();
    let o = api
        .patch(
            "a",
            &pp,
            &Patch::Apply(cfg("a", json!({"role":"spine","groups":["g2"]}))),
        )
        .await
        .unwrap();
    assert!(
        o.data["spec"].get("description").is_none(),
        "only owner dropped it"
    );
    assert_eq!(o.data["spec"]["profile"], "p", "co-owned field stays");
    assert_eq!(o.data["spec"]["groups"], json!(["g2"]));
}

#[tokio::test(start_paused = true)]
async fn list_map_and_set_merge_per_item() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    api.patch("a", &PatchParams::apply("ports-a"), &Patch::Apply(cfg("a", json!({"role":"spine","ports":[{"name":"E1/1","speed":"10G"}],"groups":["x"],"vlanNamespaces":["v1"]})))).await.unwrap();
    let o = api
        .patch(
            "a",
            &PatchParams::apply("ports-b"),
            &Patch::Apply(cfg(
                "a",
                json!({"role":"spine","ports":[{"name":"E1/2","speed":100}],"groups":["y"]}),
            )),
        )
        .await
        .unwrap();
    let names: Vec<&str> = o.data["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["E1/1", "E1/2"]);
    assert_eq!(o.data["spec"]["groups"], json!(["x", "y"]));
    // atomic list: a second manager replacing it conflicts
    let e = api
        .patch(
            "a",
            &PatchParams::apply("ports-b"),
            &Patch::Apply(cfg("a", json!({"role":"spine","vlanNamespaces":["v2"]}))),
        )
        .await
        .unwrap_err();
    let kube::Error::Api(ae) = e else { panic!() };
    assert!(
        ae.message.ends_with(".spec.vlanNamespaces"),
        "{}",
        ae.message
    );
}

#[tokio::test(start_paused = true)]
async fn apply_needs_field_manager_and_handles_status() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let (code, _, body) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a"),
        &[APPLY],
        &cfg("a", json!({"role":"spine"})).to_string(),
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        body["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let st = api
        .patch_status("a", &PatchParams::apply("agent"), &Patch::Apply(json!({"apiVersion": format!("{G}/{V}"), "kind":"Switch","metadata":{"name":"a"},"status":{"ok":true}})))
        .await
        .unwrap();
    assert_eq!(st.data["status"]["ok"], true);
    let mf = st.metadata.managed_fields.unwrap();
    let agent = mf
        .iter()
        .find(|e| e.manager.as_deref() == Some("agent"))
        .unwrap();
    assert_eq!(agent.subresource.as_deref(), Some("status"));
    // YAML body
    let yaml = format!(
        "apiVersion: {G}/{V}\nkind: Switch\nmetadata:\n  name: yml-1\nspec:\n  role: spine\n"
    );
    let (code, _, body) = req(
        &s,
        "PATCH",
        &format!("{BASE}/yml-1?fieldManager=yaml"),
        &[APPLY],
        &yaml,
    )
    .await;
    assert_eq!(code, 201, "{body}");
}
