//! Create/get/update/patch/delete through kube-rs and raw HTTP: resourceVersion, uid,
//! generation, conflicts, no-op writes, status subresource, finalizers, dry-run, namespaces, leases.

use crate::common::*;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy};
use serde_json::{Value, json};

#[tokio::test(start_paused = true)]
async fn create_get_metadata_rules() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let created = api
        .create(
            &PostParams::default(),
            &dyn_obj(switch("leaf-01", "server-leaf")),
        )
        .await
        .unwrap();
    let m = &created.metadata;
    assert_eq!(m.generation, Some(1));
    assert!(m.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert_eq!(
        m.resource_version.as_deref(),
        Some(s.resource_version().to_string().as_str())
    );
    assert_eq!(
        m.creation_timestamp.as_ref().unwrap().0.to_string(),
        "2026-01-01T00:00:00Z"
    );
    let mf = m.managed_fields.as_ref().unwrap();
    assert_eq!(mf[0].manager.as_deref(), Some("unknown"));
    assert_eq!(mf[0].operation.as_deref(), Some("Update"));
    let got = api.get("leaf-01").await.unwrap();
    assert_eq!(got.metadata.uid, m.uid);
    // AlreadyExists with the real body.
    let err = api
        .create(&PostParams::default(), &dyn_obj(switch("leaf-01", "spine")))
        .await
        .unwrap_err();
    let kube::Error::Api(ae) = err else {
        panic!("{err:?}")
    };
    assert_eq!((ae.code, ae.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(
        ae.message,
        "switches.wiring.githedgehog.com \"leaf-01\" already exists"
    );
    // NotFound, and get_opt
    assert!(api.get_opt("nope").await.unwrap().is_none());
    let (code, _, body) = req(&s, "GET", &format!("{BASE}/nope"), &[], "").await;
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"switches.wiring.githedgehog.com \"nope\" not found","reason":"NotFound","details":{"name":"nope","group":"wiring.githedgehog.com","kind":"switches"},"code":404})
    );
}

#[tokio::test(start_paused = true)]
async fn update_requires_rv_and_detects_conflicts() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let created = api
        .create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    // PUT without resourceVersion → 422 naming the plural.
    let mut body = switch("a", "spine");
    body["spec"]["description"] = json!("x");
    let (code, _, st) = req(&s, "PUT", &format!("{BASE}/a"), &[JSON], &body.to_string()).await;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "switches.wiring.githedgehog.com \"a\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update"
    );
    // Stale RV → 409 Conflict text.
    let mut stale = created.clone();
    stale.data["spec"]["description"] = json!("one");
    api.replace("a", &PostParams::default(), &stale)
        .await
        .unwrap();
    stale.data["spec"]["description"] = json!("two");
    let kube::Error::Api(ae) = api
        .replace("a", &PostParams::default(), &stale)
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(ae.code, 409);
    assert_eq!(
        ae.message,
        "Operation cannot be fulfilled on switches.wiring.githedgehog.com \"a\": the object has been modified; please apply your changes to the latest version and try again"
    );
    // Generation went 1 → 2 for the spec change.
    assert_eq!(api.get("a").await.unwrap().metadata.generation, Some(2));
}

#[tokio::test(start_paused = true)]
async fn noop_writes_change_nothing() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let created = api
        .create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    let rv = s.resource_version();
    api.replace("a", &PostParams::default(), &created)
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec":{"role":"spine"}})),
    )
    .await
    .unwrap();
    let ssa = PatchParams::apply("m").force();
    api.patch("a", &ssa, &Patch::Apply(switch("a", "spine")))
        .await
        .unwrap();
    let rv2 = s.resource_version();
    api.patch("a", &ssa, &Patch::Apply(switch("a", "spine")))
        .await
        .unwrap();
    assert_eq!(
        s.resource_version(),
        rv2,
        "identical re-apply bumped the resourceVersion"
    );
    assert!(rv2 >= rv);
    let after = api.get("a").await.unwrap();
    assert_eq!(after.metadata.generation, Some(1));
}

#[tokio::test(start_paused = true)]
async fn patches_merge_json_and_smp() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let mut o = switch("a", "spine");
    o["spec"]["groups"] = json!(["x", "y"]);
    api.create(&PostParams::default(), &dyn_obj(o))
        .await
        .unwrap();
    // merge: null deletes, arrays replaced
    let p = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec":{"groups":["z"],"description":"d"}})),
        )
        .await
        .unwrap();
    assert_eq!(p.data["spec"]["groups"], json!(["z"]));
    let p = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec":{"description":null}})),
        )
        .await
        .unwrap();
    assert!(p.data["spec"].get("description").is_none());
    // JSON patch with a passing and a failing test
    let jp: json_patch::Patch = serde_json::from_value(json!([{"op":"test","path":"/spec/role","value":"spine"},{"op":"replace","path":"/spec/role","value":"server-leaf"}])).unwrap();
    let p = api
        .patch("a", &PatchParams::default(), &Patch::<Value>::Json(jp))
        .await
        .unwrap();
    assert_eq!(p.data["spec"]["role"], "server-leaf");
    let (code, _, st) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a"),
        &[JSONPATCH],
        r#"[{"op":"test","path":"/spec/role","value":"spine"}]"#,
    )
    .await;
    assert_eq!((code, st["reason"].as_str()), (422, Some("Invalid")));
    // SMP on a custom resource → 415 with the real message
    let (code, _, st) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a"),
        &[SMP],
        r#"{"spec":{"role":"spine"}}"#,
    )
    .await;
    assert_eq!(code, 415);
    assert_eq!(
        st["message"],
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    );
    // A merge patch carrying a stale resourceVersion → 409
    let (code, _, _) = req(
        &s,
        "PATCH",
        &format!("{BASE}/a"),
        &[MERGE],
        r#"{"metadata":{"resourceVersion":"1"},"spec":{"role":"spine"}}"#,
    )
    .await;
    assert_eq!(code, 409);
    // force on a non-apply patch → 422
    let (code, _, st) = req(&s, "PATCH", &format!("{BASE}/a?force=true"), &[MERGE], "{}").await;
    assert_eq!(code, 422);
    assert_eq!(
        st["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch"
    );
}

#[tokio::test(start_paused = true)]
async fn status_subresource_rules() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let mut o = switch("a", "spine");
    o["status"] = json!({"ok": true});
    let created = api
        .create(&PostParams::default(), &dyn_obj(o))
        .await
        .unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status must be dropped on create"
    );
    let p = api.patch_status("a", &PatchParams::default(), &Patch::Merge(json!({"status":{"ok":true},"metadata":{"labels":{"x":"y"}},"spec":{"role":"server-leaf"}}))).await.unwrap();
    assert_eq!(p.data["status"]["ok"], true);
    assert_eq!(
        p.data["spec"]["role"], "spine",
        "status writes must not change spec"
    );
    assert!(
        p.metadata.labels.is_none(),
        "status writes must not change labels"
    );
    assert_eq!(p.metadata.generation, Some(1));
    assert!(p.metadata.resource_version != created.metadata.resource_version);
    let mf = p.metadata.managed_fields.unwrap();
    assert!(
        mf.iter()
            .any(|e| e.subresource.as_deref() == Some("status"))
    );
    // main resource keeps the old status
    let p = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"status":{"ok":false},"spec":{"role":"server-leaf"}})),
        )
        .await
        .unwrap();
    assert_eq!(p.data["status"]["ok"], true);
    assert_eq!(p.metadata.generation, Some(2));
}

#[tokio::test(start_paused = true)]
async fn delete_with_and_without_finalizers() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    api.create(&PostParams::default(), &dyn_obj(switch("plain", "spine")))
        .await
        .unwrap();
    let (code, _, st) = req(&s, "DELETE", &format!("{BASE}/plain"), &[], "").await;
    assert_eq!(code, 200);
    assert_eq!(st["status"], "Success");
    assert_eq!(st["details"]["kind"], "switches");
    let mut f = switch("fin", "spine");
    f["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    api.create(&PostParams::default(), &dyn_obj(f))
        .await
        .unwrap();
    let r = api
        .delete("fin", &DeleteParams::background())
        .await
        .unwrap();
    let obj = r.left().expect("object returned while finalizers remain");
    assert!(obj.metadata.deletion_timestamp.is_some());
    assert_eq!(obj.metadata.deletion_grace_period_seconds, Some(0));
    assert_eq!(obj.metadata.generation, Some(2));
    // Adding a finalizer while deleting is forbidden.
    let (code, _, _) = req(
        &s,
        "PATCH",
        &format!("{BASE}/fin"),
        &[MERGE],
        r#"{"metadata":{"finalizers":["example.com/cleanup","example.com/other"]}}"#,
    )
    .await;
    assert_eq!(code, 422);
    // Removing the last finalizer deletes it.
    api.patch(
        "fin",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata":{"finalizers":null}})),
    )
    .await
    .unwrap();
    assert!(api.get_opt("fin").await.unwrap().is_none());
    // Preconditions.
    api.create(&PostParams::default(), &dyn_obj(switch("pre", "spine")))
        .await
        .unwrap();
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("wrong".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let kube::Error::Api(ae) = api.delete("pre", &dp).await.unwrap_err() else {
        panic!()
    };
    assert_eq!(ae.code, 409);
    assert!(
        ae.message
            .contains("Precondition failed: UID in precondition: wrong")
    );
    // Orphan propagation returns the object with the orphan finalizer, then the fake's GC removes it.
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        ..Default::default()
    };
    let obj = api.delete("pre", &dp).await.unwrap().left().unwrap();
    assert_eq!(obj.metadata.finalizers, Some(vec!["orphan".to_string()]));
    assert!(api.get_opt("pre").await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn dry_run_stores_nothing() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let rv = s.resource_version();
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let o = api
        .create(&pp, &dyn_obj(switch("d", "spine")))
        .await
        .unwrap();
    assert!(o.metadata.uid.is_some() && o.metadata.resource_version.is_none());
    assert_eq!(s.resource_version(), rv);
    assert!(api.get_opt("d").await.unwrap().is_none());
    api.create(&PostParams::default(), &dyn_obj(switch("d", "spine")))
        .await
        .unwrap();
    let rv = s.resource_version();
    let mut ssa = PatchParams::apply("m").force();
    ssa.dry_run = true;
    let out = api
        .patch("d", &ssa, &Patch::Apply(switch("d", "border-leaf")))
        .await
        .unwrap();
    assert_eq!(out.data["spec"]["role"], "border-leaf");
    let del = DeleteParams {
        dry_run: true,
        ..Default::default()
    };
    api.delete("d", &del).await.unwrap();
    assert_eq!(s.resource_version(), rv);
    assert_eq!(api.get("d").await.unwrap().data["spec"]["role"], "spine");
    // dry-run conflicts still 409
    let kube::Error::Api(ae) = api
        .create(&pp, &dyn_obj(switch("d", "spine")))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(ae.code, 409);
}

#[tokio::test(start_paused = true)]
async fn namespaces_and_url_checks() {
    let s = server();
    let c = client(&s);
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(c.clone(), "missing", &ar());
    let kube::Error::Api(ae) = api
        .create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(
        (ae.code, ae.message.as_str()),
        (404, "namespaces \"missing\" not found")
    );
    let nsapi: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(c.clone());
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata":{"name":"missing"}})).unwrap();
    nsapi.create(&PostParams::default(), &ns).await.unwrap();
    api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
        .await
        .unwrap();
    // name mismatch
    let (code, _, st) = req(
        &s,
        "PUT",
        &format!("{BASE}/other"),
        &[JSON],
        &switch("a", "spine").to_string(),
    )
    .await;
    assert_eq!(
        (code, st["message"].as_str()),
        (
            400,
            Some("the name of the object (a) does not match the name on the URL (other)")
        )
    );
    // namespace deletion removes content
    nsapi
        .delete("missing", &DeleteParams::default())
        .await
        .unwrap();
    assert!(nsapi.get_opt("missing").await.unwrap().is_none());
    assert!(s.objects(G, "switches").is_empty());
    // tolerant parsing: ?& and timeout=, POST without content type
    let (code, _, _) = req(
        &s,
        "POST",
        &format!("{BASE}?&timeout=32s"),
        &[],
        &switch("nct", "spine").to_string(),
    )
    .await;
    assert_eq!(code, 201);
    let (code, _, _) = req(&s, "GET", "/unknown/path", &[], "").await;
    assert_eq!(code, 404);
}

#[tokio::test(start_paused = true)]
async fn leases_accept_smp_and_ssa() {
    use k8s_openapi::api::coordination::v1::Lease;
    let s = server();
    let c = client(&s);
    let api: kube::Api<Lease> = kube::Api::namespaced(c, "default");
    let l: Lease = serde_json::from_value(json!({"metadata":{"name":"leader"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15}})).unwrap();
    api.create(&PostParams::default(), &l).await.unwrap();
    let p = api
        .patch(
            "leader",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec":{"holderIdentity":"b"}})),
        )
        .await
        .unwrap();
    assert_eq!(p.spec.unwrap().holder_identity.as_deref(), Some("b"));
    // SSA without force conflicts with the updater on holderIdentity
    let cfg = json!({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"leader"},"spec":{"holderIdentity":"c"}});
    let kube::Error::Api(ae) = api
        .patch(
            "leader",
            &PatchParams::apply("c"),
            &Patch::Apply(cfg.clone()),
        )
        .await
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(ae.code, 409);
    let got = api
        .patch(
            "leader",
            &PatchParams::apply("c").force(),
            &Patch::Apply(cfg),
        )
        .await
        .unwrap();
    assert_eq!(got.spec.unwrap().holder_identity.as_deref(), Some("c"));
    assert!(got.metadata.generation.is_none());
}

#[tokio::test(start_paused = true)]
async fn router_serves_kube_directly_and_same_seed_gives_same_bytes() {
    async fn run() -> (String, Vec<Value>) {
        let s = server();
        let c = kube::Client::new(s.router(), "default");
        let api = switches(&c);
        api.create(&PostParams::default(), &dyn_obj(switch("a", "spine")))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        api.patch(
            "b",
            &PatchParams::apply("m"),
            &Patch::Apply(switch("b", "border-leaf")),
        )
        .await
        .unwrap();
        api.delete("a", &DeleteParams::default()).await.unwrap();
        (s.log().to_jsonl(), s.objects(G, "switches"))
    }
    let first = run().await;
    let second = run().await;
    assert_eq!(first, second);
    assert_eq!(first.0.lines().count(), 3);
    assert_eq!(first.1.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn owner_references_are_garbage_collected() {
    let s = server();
    let c = client(&s);
    let api = switches(&c);
    let owner = api
        .create(&PostParams::default(), &dyn_obj(switch("owner", "spine")))
        .await
        .unwrap();
    let uid = owner.metadata.uid.clone().unwrap();
    let mut dep = switch("dep", "spine");
    dep["metadata"]["ownerReferences"] =
        json!([{"apiVersion": format!("{G}/{V}"), "kind": "Switch", "name": "owner", "uid": uid}]);
    api.create(&PostParams::default(), &dyn_obj(dep))
        .await
        .unwrap();
    let mut keep = switch("keep", "spine");
    keep["metadata"]["ownerReferences"] = json!([
        {"apiVersion": format!("{G}/{V}"), "kind": "Switch", "name": "owner", "uid": uid},
        {"apiVersion": format!("{G}/{V}"), "kind": "Switch", "name": "dep2", "uid": "not-gone"}
    ]);
    api.create(&PostParams::default(), &dyn_obj(keep.clone()))
        .await
        .unwrap();
    api.delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    let names: Vec<String> = s
        .objects(G, "switches")
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    // "keep" still names an owner uid that never existed, so it is collected too; "dep" is gone.
    assert!(!names.contains(&"dep".to_string()), "{names:?}");
    // An object whose other owner exists survives.
    let o2 = api
        .create(&PostParams::default(), &dyn_obj(switch("o2", "spine")))
        .await
        .unwrap();
    let o3 = api
        .create(&PostParams::default(), &dyn_obj(switch("o3", "spine")))
        .await
        .unwrap();
    let mut both = switch("both", "spine");
    both["metadata"]["ownerReferences"] = json!([
        {"apiVersion": format!("{G}/{V}"), "kind": "Switch", "name": "o2", "uid": o2.metadata.uid.unwrap()},
        {"apiVersion": format!("{G}/{V}"), "kind": "Switch", "name": "o3", "uid": o3.metadata.uid.unwrap()}
    ]);
    api.create(&PostParams::default(), &dyn_obj(both))
        .await
        .unwrap();
    api.delete("o2", &DeleteParams::background()).await.unwrap();
    assert!(api.get_opt("both").await.unwrap().is_some());
    api.delete("o3", &DeleteParams::background()).await.unwrap();
    assert!(api.get_opt("both").await.unwrap().is_none());
}
